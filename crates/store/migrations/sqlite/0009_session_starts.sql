-- A write-only entry point for the group-commit writer (src/store/batch.rs): one row inserted
-- here starts a session with its first token pair. A whole batch of new sessions becomes one
-- multi-row INSERT, a single statement that commits on its own, instead of BEGIN, three
-- INSERTs and COMMIT, each a round trip to the database thread, with a statement journal
-- kept for every page the INSERTs touch. Reading the view returns nothing.
CREATE VIEW session_starts AS
SELECT s.id AS session_id, s.site_id, s.api_key, s.shopper_id, s.cart_id, s.session_tag,
       s.locale, s.currency, s.client_ip, a.full_access, a.issued_at,
       a.token_hash AS access_hash, a.expires_at AS access_expires_at,
       r.token_hash AS refresh_hash, r.expires_at AS refresh_expires_at
FROM shopper_sessions s, access_tokens a, refresh_tokens r
WHERE 0;

CREATE TRIGGER session_starts_insert INSTEAD OF INSERT ON session_starts
BEGIN
    INSERT INTO shopper_sessions (id, site_id, api_key, shopper_id, cart_id, session_tag,
                                  locale, currency, client_ip, created_at, last_accessed,
                                  expires_at)
    VALUES (NEW.session_id, NEW.site_id, NEW.api_key, NEW.shopper_id, NEW.cart_id,
            NEW.session_tag, NEW.locale, NEW.currency, NEW.client_ip, NEW.issued_at,
            NEW.issued_at, NEW.refresh_expires_at);
    INSERT INTO access_tokens (token_hash, session_id, api_key, full_access, issued_at,
                               expires_at)
    VALUES (NEW.access_hash, NEW.session_id, NEW.api_key, NEW.full_access, NEW.issued_at,
            NEW.access_expires_at);
    INSERT INTO refresh_tokens (token_hash, session_id, api_key, full_access, issued_at,
                                expires_at)
    VALUES (NEW.refresh_hash, NEW.session_id, NEW.api_key, NEW.full_access, NEW.issued_at,
            NEW.refresh_expires_at);
END;
