-- Order returns (seed 003's `shoppers/me/orders/{id}/returns`; README, "Returns"). A return
-- asks for units of an order's lines back; its lines say how many of each and what they give
-- back (minor units, the line's cost shared exactly). `status` is the docs' state
-- (PendingProductReturn, ReturnAcknowledged, RefundedWithoutReturn, Refused). A request takes
-- turns on the order's row (a no-op update in its transaction) before it counts the earlier
-- returns, so concurrent requests never return more units than were bought. Each refund is a
-- row of `refunds`, the ledger (the order's payment source: simulated here). Every return and
-- every change of its state appends its event in the same transaction.
ALTER TABLE sites ADD COLUMN return_period_days INTEGER NOT NULL DEFAULT 30;

CREATE TABLE order_returns (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id        TEXT NOT NULL REFERENCES sites(id),
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    shopper_id     INTEGER NOT NULL REFERENCES shoppers(id),
    reason         TEXT NOT NULL,
    comments       TEXT NOT NULL,
    status         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    requested_minor INTEGER NOT NULL,
    refunded_minor INTEGER NOT NULL DEFAULT 0,
    due_at         INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    refunded_at    INTEGER
);
CREATE INDEX order_returns_by_order ON order_returns (order_id, id);
CREATE INDEX order_returns_by_site ON order_returns (site_id, id);

CREATE TABLE order_return_lines (
    return_id     INTEGER NOT NULL REFERENCES order_returns(id),
    line_item_id  INTEGER NOT NULL REFERENCES order_line_items(id),
    position      INTEGER NOT NULL,
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    amount_minor  INTEGER NOT NULL,
    PRIMARY KEY (return_id, line_item_id)
);

CREATE TABLE refunds (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id           TEXT NOT NULL REFERENCES sites(id),
    return_id         INTEGER NOT NULL UNIQUE REFERENCES order_returns(id),
    order_id          INTEGER NOT NULL REFERENCES orders(id),
    amount_minor      INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    payment_source_id TEXT NOT NULL,
    created_at        INTEGER NOT NULL
);
