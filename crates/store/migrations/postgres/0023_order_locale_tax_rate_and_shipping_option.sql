-- Issue 22: what an order keeps of its cart beyond the totals, as the docs' order answers show
-- it: the session's locale, the tax rate its lines were taxed at (basis points), and the
-- shipping option chosen (read back instead of inferred from the cost).
ALTER TABLE orders ADD COLUMN locale TEXT;
ALTER TABLE orders ADD COLUMN tax_rate_bp BIGINT;
ALTER TABLE orders ADD COLUMN shipping_option_id BIGINT;
-- Orders placed before this take their site's locale (their session's was not kept).
UPDATE orders SET locale = (SELECT s.locale FROM sites s WHERE s.id = orders.site_id);
