-- Issue 24: what a cart did to its offers. A trigger is an offer the cart brought in by a
-- coupon code (`promoCode`, the code it came by) or by naming it (`offerId`); an exclusion is
-- an always-triggered offer the shopper removed (DELETE applied-offers/{id}); `offers_reset`
-- is DELETE eligible-offers (no always-triggered offer until the cart is submitted).
CREATE TABLE cart_offer_triggers (
    session_id   TEXT NOT NULL REFERENCES shopper_sessions(id),
    offer_id     INTEGER NOT NULL REFERENCES offers(id),
    coupon_code  TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (session_id, offer_id)
);

CREATE TABLE cart_offer_exclusions (
    session_id  TEXT NOT NULL REFERENCES shopper_sessions(id),
    offer_id    INTEGER NOT NULL REFERENCES offers(id),
    PRIMARY KEY (session_id, offer_id)
);

ALTER TABLE carts ADD COLUMN offers_reset INTEGER NOT NULL DEFAULT 0;
