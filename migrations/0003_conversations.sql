-- Where each person is in their conversation with the bot (what it waits for, the
-- search being paged...), so that a restart loses nothing. One small JSON object per
-- person; the conversation package owns its shape.
CREATE TABLE conversation_states (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    state      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state)),
    updated_at TEXT NOT NULL
);
