-- Issue 25: subscription products and the subscriptions shoppers buy. A product's plan (term,
-- auto or manual renewal, trial, grace, billing attempts, renewal price) is JSON on the
-- product (NULL: not a subscription product); a subscription keeps the plan it was sold on.
ALTER TABLE products ADD COLUMN subscription_plan TEXT;

CREATE TABLE subscriptions (
    id                        BIGSERIAL PRIMARY KEY,
    site_id                   TEXT NOT NULL REFERENCES sites(id),
    shopper_id                BIGINT NOT NULL REFERENCES shoppers(id),
    product_id                BIGINT NOT NULL REFERENCES products(id),
    -- The order that bought it.
    order_id                  BIGINT NOT NULL REFERENCES orders(id),
    -- The docs' state: Subscribed, PendingActivation, Cancelled, PendingRenewal, FreeTrial.
    state                     TEXT NOT NULL,
    auto_renewal              BIGINT NOT NULL,
    plan                      TEXT NOT NULL,
    current_quantity          BIGINT NOT NULL,
    renewal_quantity          BIGINT NOT NULL,
    currency                  TEXT NOT NULL,
    renewal_unit_price_minor  BIGINT NOT NULL,
    -- The reusable source renewals charge.
    payment_source_id         TEXT NOT NULL,
    ship_to_address           TEXT,
    billing_agreement_id      TEXT NOT NULL,
    -- The term being served (1: the one bought with the order).
    period                    BIGINT NOT NULL DEFAULT 1,
    activation_at             BIGINT NOT NULL,
    next_renewal_at           BIGINT NOT NULL,
    expiration_at             BIGINT NOT NULL,
    grace_at                  BIGINT NOT NULL,
    cancelled_at              BIGINT,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);
CREATE INDEX subscriptions_by_shopper ON subscriptions (shopper_id, id);
CREATE INDEX subscriptions_by_order ON subscriptions (order_id);
CREATE INDEX subscriptions_due ON subscriptions (next_renewal_at) WHERE state <> 'Cancelled';
