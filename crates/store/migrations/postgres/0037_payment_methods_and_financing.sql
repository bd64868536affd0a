-- Seed 003's `GET carts/active/payment-methods` and `GET products/{id}/financing`: per site, the
-- payment methods its carts offer and the financing terms its products show.

-- The methods, in the order the answer lists them (`position`). `currencies` and `countries`
-- are comma-separated ISO codes; empty puts no limit (domain::payment_methods::MethodRule).
CREATE TABLE site_payment_methods (
    site_id      TEXT NOT NULL REFERENCES sites(id),
    method_type  TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description  TEXT NOT NULL,
    currencies   TEXT NOT NULL DEFAULT '',
    countries    TEXT NOT NULL DEFAULT '',
    position     BIGINT NOT NULL,
    PRIMARY KEY (site_id, method_type)
);

-- Every existing site offers what a new one does (domain::payment_methods::DEFAULT_METHODS):
-- the card brands the test-mode source takes.
INSERT INTO site_payment_methods (site_id, method_type, display_name, description, position)
    SELECT id, 'visa', 'Visa', 'Visa', 1 FROM sites
    UNION ALL SELECT id, 'mastercard', 'MasterCard', 'MasterCard', 2 FROM sites
    UNION ALL SELECT id, 'americanExpress', 'American Express', 'American Express', 3 FROM sites
    UNION ALL SELECT id, 'discover', 'Discover', 'Discover', 4 FROM sites;

-- Financing terms (domain::financing): a number of months at an annual rate in basis points
-- (990 = 9.9 %); `description` NULL: "9.9% for 12 months".
CREATE TABLE financing_terms (
    id          BIGSERIAL PRIMARY KEY,
    site_id     TEXT NOT NULL REFERENCES sites(id),
    months      BIGINT NOT NULL CHECK (months >= 1 AND months <= 600),
    rate_bp     BIGINT NOT NULL CHECK (rate_bp >= 0 AND rate_bp <= 10000),
    description TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX financing_terms_site ON financing_terms(site_id);
