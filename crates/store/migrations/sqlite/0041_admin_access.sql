-- The merchant's side (README, "Admin API"): what each API key may call, the merchant's staff
-- and their tokens, and the audit trail of every Admin API change.
--
-- `permissions`: space-separated `shopper` (the Shopper API and the token service) and `admin`
-- (the Admin API; confidential keys only). Every existing key keeps the Shopper API alone.
ALTER TABLE api_clients ADD COLUMN permissions TEXT NOT NULL DEFAULT 'shopper';

-- Staff sign in through `POST /auth` with a confidential Admin key of their site. Passwords are
-- Argon2id hashes; roles are the documented Global Commerce role names, space-separated.
CREATE TABLE staff_users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id       TEXT NOT NULL REFERENCES sites(id),
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX staff_users_username ON staff_users (site_id, lower(username));

-- Only the token's hash is kept; revoking is deleting the row.
CREATE TABLE staff_tokens (
    token_hash    BLOB PRIMARY KEY,
    staff_user_id INTEGER NOT NULL REFERENCES staff_users(id),
    api_key       TEXT NOT NULL REFERENCES api_clients(api_key),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX staff_tokens_user ON staff_tokens (staff_user_id);
CREATE INDEX staff_tokens_expiry ON staff_tokens (expires_at);

-- Append-only: who (the key, and the staff user when there is one), what, when, before → after.
-- Written in the transaction of the change it records; the triggers refuse any edit.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id       TEXT NOT NULL REFERENCES sites(id),
    at            INTEGER NOT NULL,
    api_key       TEXT NOT NULL,
    staff_user_id INTEGER REFERENCES staff_users(id),
    action        TEXT NOT NULL,
    subject_type  TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    order_id      INTEGER,
    before_state  TEXT,
    after_state   TEXT
);
CREATE INDEX audit_log_order ON audit_log (order_id, id);
CREATE INDEX audit_log_staff ON audit_log (staff_user_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
