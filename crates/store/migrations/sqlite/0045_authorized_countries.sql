-- A site's authorized billing and shipping countries ("Allow Billing From", "Allow Shipping
-- To"): one row per site, kind (`billing` | `shipping`) and locale, the empty locale being the
-- site's default locale, which every locale without a row of its own inherits. No row: any
-- country, so every site keeps today's behaviour until someone restricts it. `mode` is
-- `all` | `allow` | `deny` | `billing` (shipping only: what billing allows); `countries` the
-- ISO 3166-1 alpha-2 codes it allows or denies, sorted and joined by commas.
CREATE TABLE site_authorized_countries (
    site_id    TEXT NOT NULL REFERENCES sites(id),
    kind       TEXT NOT NULL,
    locale     TEXT NOT NULL,
    mode       TEXT NOT NULL,
    countries  TEXT NOT NULL DEFAULT '',
    comments   TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (site_id, kind, locale)
);
