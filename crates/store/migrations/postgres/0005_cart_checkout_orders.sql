-- Issue 5: the cart (per shopper session), test-mode payment sources, orders, tax rates.
-- Money in integer minor units; card numbers and CVVs are never stored (only brand, last four
-- digits and expiry).

-- The site's payments (DigitalRiver.js-style) public key: the bearer of POST /payments/sources.
ALTER TABLE sites ADD COLUMN payments_public_key TEXT;
UPDATE sites SET payments_public_key = 'pk_test_' || replace(gen_random_uuid()::text, '-', '')
    WHERE payments_public_key IS NULL;
CREATE UNIQUE INDEX sites_payments_public_key ON sites(payments_public_key);

-- Tax: one rate per site and country, in basis points (725 = 7.25 %). No row = no tax.
CREATE TABLE tax_rates (
    site_id      TEXT NOT NULL REFERENCES sites(id),
    country      TEXT NOT NULL,
    rate_bp      BIGINT NOT NULL CHECK (rate_bp >= 0 AND rate_bp <= 10000),
    PRIMARY KEY (site_id, country)
);

-- The cart's own fields (one row per session that has touched its cart). `version` is bumped
-- first in every submit transaction: on PostgreSQL that row lock serialises two submits of
-- the same cart.
CREATE TABLE carts (
    session_id         TEXT PRIMARY KEY REFERENCES shopper_sessions(id),
    billing_address    TEXT,
    shipping_address   TEXT,
    shipping_option_id BIGINT,
    payment_source_id  TEXT,
    last_order_id      BIGINT,
    version            BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE cart_line_items (
    id          BIGSERIAL PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES shopper_sessions(id),
    product_id  BIGINT NOT NULL REFERENCES products(id),
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    created_at  BIGINT NOT NULL,
    UNIQUE (session_id, product_id)
);

-- Test-mode payment sources. Not tied to a session (created before it is applied); a
-- reusable one applied by a signed-in shopper becomes that shopper's payment option.
CREATE TABLE payment_sources (
    id              TEXT PRIMARY KEY,
    site_id         TEXT NOT NULL REFERENCES sites(id),
    source_type     TEXT NOT NULL,
    state           TEXT NOT NULL,
    reusable        BIGINT NOT NULL,
    owner           TEXT NOT NULL,
    brand           TEXT NOT NULL,
    last_four       TEXT NOT NULL,
    expiration_month BIGINT NOT NULL,
    expiration_year  BIGINT NOT NULL,
    currency        TEXT,
    amount          TEXT,
    -- The test card's verdict when charged: 'approve' or a decline reason.
    test_outcome    TEXT NOT NULL,
    shopper_id      BIGINT REFERENCES shoppers(id),
    created_at      BIGINT NOT NULL
);
CREATE INDEX payment_sources_shopper ON payment_sources(shopper_id);

-- Orders outlive sessions (no FK to shopper_sessions: clean-up deletes dead sessions).
CREATE TABLE orders (
    id                BIGSERIAL PRIMARY KEY,
    site_id           TEXT NOT NULL REFERENCES sites(id),
    session_id        TEXT NOT NULL,
    shopper_id        BIGINT REFERENCES shoppers(id),
    email             TEXT,
    currency          TEXT NOT NULL,
    subtotal_minor    BIGINT NOT NULL,
    discount_minor    BIGINT NOT NULL,
    shipping_minor    BIGINT NOT NULL,
    tax_minor         BIGINT NOT NULL,
    total_minor       BIGINT NOT NULL,
    billing_address   TEXT NOT NULL,
    shipping_address  TEXT,
    payment_source_id TEXT NOT NULL,
    card_brand        TEXT NOT NULL,
    card_last_four    TEXT NOT NULL,
    status            TEXT NOT NULL,
    submitted_at      BIGINT NOT NULL
);
CREATE INDEX orders_session ON orders(session_id);
CREATE INDEX orders_shopper ON orders(shopper_id);

CREATE TABLE order_line_items (
    id               BIGSERIAL PRIMARY KEY,
    order_id         BIGINT NOT NULL REFERENCES orders(id),
    product_id       BIGINT NOT NULL,
    sku              TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    quantity         BIGINT NOT NULL,
    list_price_minor BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL
);
CREATE INDEX order_line_items_order ON order_line_items(order_id);
