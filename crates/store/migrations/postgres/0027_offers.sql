-- Issue 24: a site's offers (what they take off, when, how they are triggered), the products
-- and categories they cover, their coupon codes, the points of promotion that show them, and
-- every use of one by an order (the use limits count these rows).
CREATE TABLE offers (
    id                      BIGSERIAL PRIMARY KEY,
    site_id                 TEXT NOT NULL REFERENCES sites(id),
    name                    TEXT NOT NULL,
    offer_type              TEXT NOT NULL,
    discount_level          TEXT NOT NULL,
    trigger_kind            TEXT NOT NULL,
    percent_off_bp          BIGINT,
    amount_off_currency     TEXT,
    amount_off_minor        BIGINT,
    minimum_order_currency  TEXT,
    minimum_order_minor     BIGINT,
    -- JSON array of shipping option ids (empty: any option).
    shipping_option_ids     TEXT NOT NULL DEFAULT '[]',
    starts_at               BIGINT,
    ends_at                 BIGINT,
    enabled                 BIGINT NOT NULL DEFAULT 1,
    total_limit             BIGINT,
    per_shopper_limit       BIGINT,
    -- Uses so far, raised in the submit's transaction only while below total_limit.
    uses                    BIGINT NOT NULL DEFAULT 0,
    external_reference_id   TEXT,
    sales_pitch             TEXT NOT NULL DEFAULT '',
    image                   TEXT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);
CREATE INDEX offers_by_site ON offers (site_id, id);
CREATE UNIQUE INDEX offers_by_external_reference ON offers (site_id, external_reference_id)
    WHERE external_reference_id IS NOT NULL;

CREATE TABLE offer_products (
    offer_id    BIGINT NOT NULL REFERENCES offers(id) ON DELETE CASCADE,
    product_id  BIGINT NOT NULL REFERENCES products(id),
    PRIMARY KEY (offer_id, product_id)
);
CREATE INDEX offer_products_by_product ON offer_products (product_id);

CREATE TABLE offer_categories (
    offer_id     BIGINT NOT NULL REFERENCES offers(id) ON DELETE CASCADE,
    category_id  BIGINT NOT NULL REFERENCES categories(id),
    PRIMARY KEY (offer_id, category_id)
);

-- A code triggers its offer and, optionally, a second one (the docs' secondary offer,
-- typically a shipping discount). Codes are kept upper-case.
CREATE TABLE coupon_codes (
    site_id             TEXT NOT NULL REFERENCES sites(id),
    code                TEXT NOT NULL,
    offer_id            BIGINT NOT NULL REFERENCES offers(id),
    secondary_offer_id  BIGINT REFERENCES offers(id),
    created_at          BIGINT NOT NULL,
    PRIMARY KEY (site_id, code)
);

CREATE TABLE points_of_promotion (
    site_id     TEXT NOT NULL REFERENCES sites(id),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (site_id, name)
);

CREATE TABLE pop_offers (
    site_id   TEXT NOT NULL,
    pop_name  TEXT NOT NULL,
    offer_id  BIGINT NOT NULL REFERENCES offers(id),
    rank      BIGINT NOT NULL,
    PRIMARY KEY (site_id, pop_name, offer_id),
    FOREIGN KEY (site_id, pop_name) REFERENCES points_of_promotion(site_id, name)
);

-- One row per offer an order used: the per-shopper limit counts a shopper's rows (a guest's
-- by the order's e-mail address, lower-case).
CREATE TABLE offer_redemptions (
    id              BIGSERIAL PRIMARY KEY,
    site_id         TEXT NOT NULL REFERENCES sites(id),
    offer_id        BIGINT NOT NULL REFERENCES offers(id),
    order_id        BIGINT NOT NULL,
    shopper_key     TEXT NOT NULL,
    coupon_code     TEXT,
    discount_minor  BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX offer_redemptions_by_shopper ON offer_redemptions (offer_id, shopper_key);
