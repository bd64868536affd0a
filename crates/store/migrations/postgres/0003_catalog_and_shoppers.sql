-- Issue 4: the catalog (products, categories, volume prices), shopper profiles and addresses.
-- Money is stored in integer minor units of the product's currency (never floats).

CREATE TABLE categories (
    id            BIGSERIAL PRIMARY KEY,
    site_id       TEXT NOT NULL REFERENCES sites(id),
    parent_id     BIGINT REFERENCES categories(id),
    name          TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (site_id, name)
);

CREATE TABLE products (
    id                 BIGSERIAL PRIMARY KEY,
    site_id            TEXT NOT NULL REFERENCES sites(id),
    base_product_id    BIGINT REFERENCES products(id),
    sku                TEXT NOT NULL,
    name               TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    short_description  TEXT NOT NULL DEFAULT '',
    long_description   TEXT NOT NULL DEFAULT '',
    product_type       TEXT NOT NULL CHECK (product_type IN ('DIGITAL', 'PHYSICAL')),
    keywords           TEXT NOT NULL DEFAULT '',
    thumbnail_image    TEXT,
    product_image      TEXT,
    currency           TEXT NOT NULL,
    list_price_minor   BIGINT NOT NULL CHECK (list_price_minor >= 0),
    sale_price_minor   BIGINT NOT NULL CHECK (sale_price_minor >= 0),
    available_quantity BIGINT,
    variation_attributes TEXT NOT NULL DEFAULT '{}',
    created_at         BIGINT NOT NULL,
    UNIQUE (site_id, sku)
);
CREATE INDEX products_site ON products(site_id, id);
CREATE INDEX products_base ON products(base_product_id);

CREATE TABLE product_categories (
    product_id  BIGINT NOT NULL REFERENCES products(id),
    category_id BIGINT NOT NULL REFERENCES categories(id),
    PRIMARY KEY (product_id, category_id)
);
CREATE INDEX product_categories_category ON product_categories(category_id);

CREATE TABLE product_volume_prices (
    product_id       BIGINT NOT NULL REFERENCES products(id),
    min_quantity     BIGINT NOT NULL CHECK (min_quantity > 1),
    unit_price_minor BIGINT NOT NULL CHECK (unit_price_minor >= 0),
    PRIMARY KEY (product_id, min_quantity)
);

-- The shopper object's profile fields, beside the login columns of 0001.
ALTER TABLE shoppers ADD COLUMN first_name TEXT;
ALTER TABLE shoppers ADD COLUMN last_name TEXT;
ALTER TABLE shoppers ADD COLUMN locale TEXT;
ALTER TABLE shoppers ADD COLUMN currency TEXT;
ALTER TABLE shoppers ADD COLUMN send_email BIGINT NOT NULL DEFAULT 0;

CREATE TABLE shopper_addresses (
    id                  BIGSERIAL PRIMARY KEY,
    shopper_id          BIGINT NOT NULL REFERENCES shoppers(id),
    nickname            TEXT,
    first_name          TEXT,
    last_name           TEXT,
    company_name        TEXT,
    line1               TEXT NOT NULL,
    line2               TEXT,
    line3               TEXT,
    city                TEXT NOT NULL,
    country_subdivision TEXT,
    postal_code         TEXT,
    country             TEXT NOT NULL,
    phone_number        TEXT,
    email_address       TEXT,
    is_default_billing  BIGINT NOT NULL DEFAULT 0,
    is_default_shipping BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL
);
CREATE INDEX shopper_addresses_shopper ON shopper_addresses(shopper_id);
