-- Issue 22: what a storefront sets on a cart and its lines, as the docs' requests send it: the
-- cart's and each line's custom attributes (JSON lists of {name, type, value}), the cart's
-- termsOfSalesAcceptance, chargeType and organizationId. A submit copies the attributes and
-- the charge type to the order and its lines.
ALTER TABLE carts ADD COLUMN custom_attributes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE carts ADD COLUMN terms_of_sales_acceptance INTEGER;
ALTER TABLE carts ADD COLUMN charge_type TEXT;
ALTER TABLE carts ADD COLUMN organization_id TEXT;
ALTER TABLE cart_line_items ADD COLUMN custom_attributes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE orders ADD COLUMN custom_attributes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE orders ADD COLUMN charge_type TEXT NOT NULL DEFAULT 'customer_initiated';
ALTER TABLE order_line_items ADD COLUMN custom_attributes TEXT NOT NULL DEFAULT '[]';
