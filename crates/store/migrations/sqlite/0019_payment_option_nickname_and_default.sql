-- Issue 22: `POST /v1/shoppers/me/payment-options` saves a source as a payment option with the
-- shopper's nickname for it and their default flag (at most one per shopper, kept so by the
-- store). Options saved before have neither: their nickname is derived (brand and last four)
-- and, while no option of the shopper is flagged, the oldest is the default.
ALTER TABLE payment_sources ADD COLUMN nickname TEXT;
ALTER TABLE payment_sources ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0;
