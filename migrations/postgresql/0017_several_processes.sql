-- Several bot processes on one database (issue #14): which process holds what.
--
-- Each process holds a lease for its whole life (chatshop.storage.leases: a file lock
-- beside an SQLite file, an advisory lock on PostgreSQL), which dies with it. A message
-- of the outbox is claimed by the process sending it (claimed_by, its lease's token):
-- another process leaves it alone while that lease lives, and takes it over once it is
-- dead. An event written down by a process that then died is taken over the same way
-- (received_by), by a live one, at once instead of at the next start.
--
-- A platform's overall rate (Telegram's 30 messages a second) is the bot's, whatever
-- the number of processes: on PostgreSQL each message takes the next slot of
-- send_budgets (the time from which the next message may go, in seconds since 1970 by
-- the server's clock). One process on SQLite keeps the rate alone: the table stays
-- empty there.

ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE inbound_events ADD COLUMN received_by TEXT;

CREATE TABLE send_budgets (
    channel TEXT NOT NULL PRIMARY KEY,
    next_at DOUBLE PRECISION NOT NULL
);
