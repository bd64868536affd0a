-- Issue 26: private stores (the v1 API's purchase plans). A plan belongs to a site and sells to
-- a target market; shoppers prove eligibility against its access rules (PINs stored only as
-- Argon2id hashes); its prices and limits apply to the sessions authorized into it.
CREATE TABLE target_markets (
    id          BIGSERIAL PRIMARY KEY,
    site_id     TEXT NOT NULL REFERENCES sites(id),
    name        TEXT NOT NULL,
    UNIQUE (site_id, name)
);

CREATE TABLE purchase_plans (
    id                          BIGSERIAL PRIMARY KEY,
    site_id                     TEXT NOT NULL REFERENCES sites(id),
    name                        TEXT NOT NULL,
    brand_display_name          TEXT NOT NULL DEFAULT '',
    brand_logo_image            TEXT NOT NULL DEFAULT '',
    target_market_id            BIGINT NOT NULL REFERENCES target_markets(id),
    auth_required_to_browse     BIGINT NOT NULL DEFAULT 0,
    -- Off every product's public sale price unless the plan prices it (basis points).
    discount_bp                 BIGINT,
    -- Most units of one product a shopper may buy in the plan, over all their orders.
    max_quantity_per_shopper    BIGINT,
    starts_at                   BIGINT,
    ends_at                     BIGINT,
    enabled                     BIGINT NOT NULL DEFAULT 1,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    UNIQUE (site_id, name)
);

CREATE TABLE purchase_plan_rules (
    id          BIGSERIAL PRIMARY KEY,
    plan_id     BIGINT NOT NULL REFERENCES purchase_plans(id),
    -- EmailAddress, EmailDomain, EmailInvitation, GenericIdentifier, IpAddress, ReferralUrl.
    method      TEXT NOT NULL,
    -- Normalized (domain::purchase_plans::normalize_rule_value).
    value       TEXT NOT NULL,
    -- Argon2id PHC string of the PIN, for the methods that have one.
    pin_hash    TEXT,
    UNIQUE (plan_id, method, value)
);
CREATE INDEX purchase_plan_rules_value ON purchase_plan_rules (method, value);

CREATE TABLE purchase_plan_prices (
    plan_id         BIGINT NOT NULL REFERENCES purchase_plans(id),
    product_id      BIGINT NOT NULL REFERENCES products(id),
    -- The plan's unit price in the product's currency (NULL: the plan's discount applies).
    unit_price_minor BIGINT,
    -- The product's own per-shopper limit in the plan.
    max_quantity    BIGINT,
    PRIMARY KEY (plan_id, product_id)
);

-- Units each purchaser bought in a plan, raised in the submit's transaction only while the
-- limit allows (the conditional update is what holds the limit under concurrent submits).
CREATE TABLE purchase_plan_purchases (
    plan_id     BIGINT NOT NULL REFERENCES purchase_plans(id),
    purchaser   TEXT NOT NULL,
    product_id  BIGINT NOT NULL,
    quantity    BIGINT NOT NULL,
    PRIMARY KEY (plan_id, purchaser, product_id)
);

-- The site is itself a private store: sessions outside its plans browse only if this plan
-- lets them, and never submit.
ALTER TABLE sites ADD COLUMN storefront_plan_id BIGINT REFERENCES purchase_plans(id);

-- The plan a session was authorized into, and the e-mail address (or domain) it proved.
ALTER TABLE shopper_sessions ADD COLUMN purchase_plan_id BIGINT REFERENCES purchase_plans(id);
ALTER TABLE shopper_sessions ADD COLUMN purchase_plan_email TEXT;

ALTER TABLE orders ADD COLUMN purchase_plan_id BIGINT REFERENCES purchase_plans(id);
