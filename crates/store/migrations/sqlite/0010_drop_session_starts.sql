-- The group writer now writes each new session and its pair with cached prepared statements
-- on a connection of its own (src/store/batch/sqlite.rs); the session_starts view and its
-- trigger (0009), which folded a batch into one statement, have no user left.
DROP TRIGGER session_starts_insert;
DROP VIEW session_starts;
