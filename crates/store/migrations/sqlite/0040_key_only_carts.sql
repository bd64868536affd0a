-- Seed 003's "Access Carts with API Key Only": a per-site option, off by default
-- (`shopkeeper site set-key-only-carts`). When on, the cart's rows run on an API key alone and
-- each browser has an anonymous session of its own behind a cookie; only the cookie's hash is
-- kept, with the key it was issued for. A table of its own, not `browser_sessions`: those
-- handles are the hosted checkout pages' credential (which submit), and a key-only cookie must
-- never open them.
ALTER TABLE sites ADD COLUMN key_only_carts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE key_cart_handles (
    handle_hash BLOB PRIMARY KEY,
    api_key     TEXT NOT NULL REFERENCES api_clients(api_key),
    session_id  TEXT NOT NULL REFERENCES shopper_sessions(id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX key_cart_handles_session ON key_cart_handles(session_id);
