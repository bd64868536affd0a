-- Issue 3: per-key flows, site branding, browser sessions (SessionToken cookie) and
-- authorization codes. Secrets (cookie handles, codes) are stored only as SHA-256 hashes.

-- Space-separated flows the key may use: password, token (implicit), code, client_credentials.
-- The default keeps existing Global Commerce integrations working.
ALTER TABLE api_clients ADD COLUMN flows TEXT NOT NULL DEFAULT 'password token code client_credentials';

-- The hosted sign-in page's title and brand colour (#rrggbb, checked when set).
ALTER TABLE sites ADD COLUMN display_name TEXT;
ALTER TABLE sites ADD COLUMN brand_color TEXT NOT NULL DEFAULT '#1f4fbf';

-- A browser's anonymous session: the cookie holds only a random handle; its hash maps here.
CREATE TABLE browser_sessions (
    handle_hash BYTEA PRIMARY KEY,
    site_id     TEXT NOT NULL REFERENCES sites(id),
    session_id  TEXT NOT NULL REFERENCES shopper_sessions(id),
    created_at  BIGINT NOT NULL
);
CREATE INDEX browser_sessions_session ON browser_sessions(session_id);

-- Authorization codes: single use, short-lived, bound to key, redirect URI and PKCE challenge.
CREATE TABLE authorization_codes (
    code_hash      BYTEA PRIMARY KEY,
    api_key        TEXT NOT NULL REFERENCES api_clients(api_key),
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT,
    session_id     TEXT NOT NULL REFERENCES shopper_sessions(id),
    shopper_id     BIGINT NOT NULL REFERENCES shoppers(id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    consumed_at    BIGINT
);
CREATE INDEX authorization_codes_expires ON authorization_codes(expires_at);
