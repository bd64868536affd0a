-- Issue 27: the hosted web checkout. `web-checkout` hands the browser a one-time handle (never
-- the token) that, redeemed once before it expires, links a fresh browser handle to the token's
-- session; only its hash is stored. A browser link acts for the session's shopper only when it
-- came from a full token or from the shopper signing in in that browser.
CREATE TABLE checkout_handles (
    handle_hash BLOB PRIMARY KEY,
    site_id     TEXT NOT NULL REFERENCES sites(id),
    session_id  TEXT NOT NULL REFERENCES shopper_sessions(id),
    full_access INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER
);
CREATE INDEX checkout_handles_session ON checkout_handles(session_id);

ALTER TABLE browser_sessions ADD COLUMN full_access INTEGER NOT NULL DEFAULT 0;
