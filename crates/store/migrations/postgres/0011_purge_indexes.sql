-- The clean-up pass looks for spent refresh tokens (expired OR consumed) and dead sessions
-- (expired OR ended). With only the expires_at indexes, SQLite and PostgreSQL answer such an
-- OR with a full scan of the table, run once a minute under the write turn: ~100 ms for the
-- refresh tokens and ~130 ms for the sessions at a million rows, during which every write
-- waited. With an index on each side of the OR, both become two index searches.
-- Partial: the rows every grant writes (consumed_at and ended_at NULL) never enter them, so
-- issuing a token touches no more index than before.
CREATE INDEX refresh_tokens_consumed ON refresh_tokens(consumed_at) WHERE consumed_at IS NOT NULL;
CREATE INDEX shopper_sessions_ended ON shopper_sessions(ended_at) WHERE ended_at IS NOT NULL;
