-- When a refresh token is consumed, the issue time (Unix milliseconds) given to its successor
-- pair: the pair's time-ordered prefix, which a replay inside the grace window needs to derive
-- the same pair again. NULL for tokens consumed before successors were time-ordered.
ALTER TABLE refresh_tokens ADD COLUMN successor_at_millis BIGINT;
