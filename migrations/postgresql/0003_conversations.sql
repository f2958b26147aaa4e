-- Where each person is in their conversation with the bot (what it waits for, the
-- search being paged...), so that a restart loses nothing. One small JSON object per
-- person; the conversation package owns its shape.
--
-- json_valid: SQLite's function of that name (true for valid JSON text, NULL for NULL),
-- so that the CHECK constraints read and fail as they do there.
CREATE FUNCTION json_valid(document TEXT) RETURNS BOOLEAN
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    PERFORM document::json;
    RETURN TRUE;
EXCEPTION WHEN others THEN
    RETURN FALSE;
END;
$$;

CREATE TABLE conversation_states (
    user_id    BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    state      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state)),
    updated_at TEXT NOT NULL
);
