-- Issue 25: renewals. A subscription knows when its next billing attempt is due and how many
-- the coming term has had; every attempt is a row of the charge ledger, and at most one
-- attempt a term is approved (the unique index is what makes a renewal happen exactly once,
-- whichever node or retry runs it).
ALTER TABLE subscriptions ADD COLUMN next_attempt_at BIGINT;
ALTER TABLE subscriptions ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
UPDATE subscriptions SET next_attempt_at = next_renewal_at;

CREATE TABLE subscription_charges (
    id               BIGSERIAL PRIMARY KEY,
    subscription_id  BIGINT NOT NULL REFERENCES subscriptions(id),
    -- The term the attempt pays for (2: the first renewal) and its attempt number.
    period           BIGINT NOT NULL,
    attempt          BIGINT NOT NULL,
    amount_minor     BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    payment_source_id TEXT NOT NULL,
    -- approved or declined.
    outcome          TEXT NOT NULL,
    decline_reason   TEXT,
    -- The renewal order an approved attempt wrote.
    order_id         BIGINT REFERENCES orders(id),
    created_at       BIGINT NOT NULL,
    UNIQUE (subscription_id, period, attempt)
);
CREATE UNIQUE INDEX subscription_charges_one_approved
    ON subscription_charges (subscription_id, period) WHERE outcome = 'approved';
CREATE INDEX subscriptions_next_attempt ON subscriptions (next_attempt_at)
    WHERE state <> 'Cancelled';
