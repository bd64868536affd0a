-- Issue 24: what offers took off an order: each line's item offer (its id and amount) and the
-- order offer's amount, so the order's lines and tax shares show what the cart showed.
ALTER TABLE order_line_items ADD COLUMN offer_id INTEGER;
ALTER TABLE order_line_items ADD COLUMN offer_discount_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN order_offer_discount_minor INTEGER NOT NULL DEFAULT 0;
