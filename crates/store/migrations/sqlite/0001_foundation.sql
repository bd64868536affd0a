-- Timestamps are Unix seconds (INTEGER); secrets are stored only as SHA-256 hashes (BLOB).
CREATE TABLE sites (
    id          TEXT PRIMARY KEY,
    session_ttl INTEGER NOT NULL,
    locale      TEXT NOT NULL DEFAULT 'en_US',
    currency    TEXT NOT NULL DEFAULT 'USD',
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_clients (
    api_key         TEXT PRIMARY KEY,
    site_id         TEXT NOT NULL REFERENCES sites(id),
    kind            TEXT NOT NULL CHECK (kind IN ('public', 'confidential')),
    secret_hash     BLOB,
    password_base64 INTEGER NOT NULL DEFAULT 0,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE TABLE client_redirect_uris (
    api_key TEXT NOT NULL REFERENCES api_clients(api_key),
    uri     TEXT NOT NULL,
    PRIMARY KEY (api_key, uri)
);

CREATE TABLE shoppers (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id               TEXT NOT NULL REFERENCES sites(id),
    username              TEXT,
    password_hash         TEXT,
    email                 TEXT,
    external_reference_id TEXT,
    created_at            INTEGER NOT NULL,
    UNIQUE (site_id, username),
    UNIQUE (site_id, external_reference_id)
);

CREATE TABLE shopper_sessions (
    id            TEXT PRIMARY KEY,
    site_id       TEXT NOT NULL REFERENCES sites(id),
    api_key       TEXT NOT NULL,
    shopper_id    INTEGER REFERENCES shoppers(id),
    cart_id       TEXT NOT NULL,
    session_tag   TEXT NOT NULL,
    locale        TEXT NOT NULL,
    currency      TEXT NOT NULL,
    client_ip     TEXT,
    created_at    INTEGER NOT NULL,
    last_accessed INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    ended_at      INTEGER
);
CREATE INDEX shopper_sessions_expires ON shopper_sessions(expires_at);

CREATE TABLE access_tokens (
    token_hash  BLOB PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES shopper_sessions(id),
    api_key     TEXT NOT NULL,
    full_access INTEGER NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX access_tokens_session ON access_tokens(session_id);
CREATE INDEX access_tokens_expires ON access_tokens(expires_at);

CREATE TABLE refresh_tokens (
    token_hash  BLOB PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES shopper_sessions(id),
    api_key     TEXT NOT NULL,
    full_access INTEGER NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_at);

CREATE TABLE session_tokens (
    token_hash BLOB PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES shopper_sessions(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX session_tokens_session ON session_tokens(session_id);

-- Server-wide values that every node must share (e.g. the HMAC key of the refresh grace pair).
CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
