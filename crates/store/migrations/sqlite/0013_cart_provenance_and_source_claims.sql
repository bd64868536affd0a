-- Security review, findings 1 and 5.
--
-- Finding 1: a limited token of a signed-in session (the browser's SessionToken hands one to
-- any page) could change a cart that apply-shopper had filled from the shopper's account and
-- submit it on the shopper's saved card. The cart now records which addresses came from the
-- account; a limited write drops them and any source that belongs to a shopper.
ALTER TABLE carts ADD COLUMN billing_from_account INTEGER NOT NULL DEFAULT 0;
ALTER TABLE carts ADD COLUMN shipping_from_account INTEGER NOT NULL DEFAULT 0;
-- Set when a limited write dropped the shopper's source: the next submit says so.
ALTER TABLE carts ADD COLUMN source_dropped INTEGER NOT NULL DEFAULT 0;

-- Finding 5: a source is bound to the session that first applies it (a source created by
-- POST /payments/sources has none), and to the shopper whose full token applied it; only
-- they may apply or charge it afterwards.
ALTER TABLE payment_sources ADD COLUMN claimed_session_id TEXT;
ALTER TABLE payment_sources ADD COLUMN claimed_shopper_id INTEGER REFERENCES shoppers(id);

-- Existing sources: a saved payment option is its shopper's; one already applied or paid
-- with belongs to the first session that did so; one in the cart of a signed-in session
-- belongs to that session's shopper.
UPDATE payment_sources SET claimed_shopper_id = shopper_id WHERE shopper_id IS NOT NULL;
UPDATE payment_sources SET claimed_session_id = (
    SELECT o.session_id FROM orders o WHERE o.payment_source_id = payment_sources.id
    ORDER BY o.id LIMIT 1)
    WHERE claimed_session_id IS NULL;
UPDATE payment_sources SET claimed_session_id = (
    SELECT c.session_id FROM carts c WHERE c.payment_source_id = payment_sources.id
    ORDER BY c.session_id LIMIT 1)
    WHERE claimed_session_id IS NULL;
UPDATE payment_sources SET claimed_shopper_id = (
    SELECT s.shopper_id FROM carts c JOIN shopper_sessions s ON s.id = c.session_id
    WHERE c.payment_source_id = payment_sources.id AND s.shopper_id IS NOT NULL
    ORDER BY c.session_id LIMIT 1)
    WHERE claimed_shopper_id IS NULL;
