-- Satisfaction refunds over the Admin API (`admin-apis/refunds/`; README, "Refunds (Admin
-- API)"), and the `refunds` table of 0038 made the one charge ledger of every amount given
-- back for an order: a return's refund or a satisfaction refund, exactly one of the two per
-- row (the CHECK). A satisfaction refund names the lines it gives back for (line-item level)
-- or none (order level), who made it (the staff user's name as the docs' `generatedBy`, their
-- id and the API key, as the audit trail has them) and its reason, category and comments.
-- A write takes turns on the order's row (a no-op update in its transaction), counts the
-- ledger and the returns holding units, and writes the refund, its lines and its ledger row
-- in that transaction, so concurrent refunds never give back more than was charged.
--
-- SQLite cannot drop the NOT NULL of `refunds.return_id`, so the table is rebuilt (same ids,
-- so the AUTOINCREMENT sequence carries on; no table references it). A sibling table plus a
-- view would leave two ledgers to count and lock; one table keeps the sum one query.
-- Whether the site accepts satisfaction refunds (`shopkeeper site set-satisfaction-refunds`;
-- on by default): off, a refund is the documented "The site is not allowed to accept a
-- satisfaction refund for the requisition."
ALTER TABLE sites ADD COLUMN satisfaction_refunds INTEGER NOT NULL DEFAULT 1;

CREATE TABLE satisfaction_refunds (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id        TEXT NOT NULL REFERENCES sites(id),
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    type           TEXT NOT NULL,
    category       TEXT NOT NULL,
    reason         TEXT NOT NULL,
    comments       TEXT NOT NULL,
    currency       TEXT NOT NULL,
    amount_minor   INTEGER NOT NULL CHECK (amount_minor > 0),
    generated_by   TEXT NOT NULL,
    staff_user_id  INTEGER,
    api_key        TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX satisfaction_refunds_by_order ON satisfaction_refunds (order_id, id);

CREATE TABLE satisfaction_refund_lines (
    refund_id     INTEGER NOT NULL REFERENCES satisfaction_refunds(id),
    line_item_id  INTEGER NOT NULL REFERENCES order_line_items(id),
    position      INTEGER NOT NULL,
    amount_minor  INTEGER NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (refund_id, line_item_id)
);
CREATE INDEX satisfaction_refund_lines_by_line ON satisfaction_refund_lines (line_item_id);

CREATE TABLE refunds_ledger (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id                TEXT NOT NULL REFERENCES sites(id),
    return_id              INTEGER UNIQUE REFERENCES order_returns(id),
    satisfaction_refund_id INTEGER UNIQUE REFERENCES satisfaction_refunds(id),
    order_id               INTEGER NOT NULL REFERENCES orders(id),
    amount_minor           INTEGER NOT NULL,
    currency               TEXT NOT NULL,
    payment_source_id      TEXT NOT NULL,
    created_at             INTEGER NOT NULL,
    CHECK ((return_id IS NULL) <> (satisfaction_refund_id IS NULL))
);
INSERT INTO refunds_ledger (id, site_id, return_id, satisfaction_refund_id, order_id,
    amount_minor, currency, payment_source_id, created_at)
SELECT id, site_id, return_id, NULL, order_id, amount_minor, currency, payment_source_id,
    created_at FROM refunds;
DROP TABLE refunds;
ALTER TABLE refunds_ledger RENAME TO refunds;
CREATE INDEX refunds_by_order ON refunds (order_id, id);
