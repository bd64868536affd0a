-- Tax identifiers on the cart (`carts/active/tax-registrations`, domain::tax_registrations):
-- the customer's type (`I`, `B`; NULL: `I`) and its registrations, a JSON array of
-- `{"key", "value"}` as posted and checked; the order copies both at submit.
ALTER TABLE carts ADD COLUMN customer_type TEXT;
ALTER TABLE carts ADD COLUMN tax_registrations TEXT NOT NULL DEFAULT '[]';
ALTER TABLE orders ADD COLUMN customer_type TEXT;
ALTER TABLE orders ADD COLUMN tax_registrations TEXT NOT NULL DEFAULT '[]';

-- The site setting "Global Tax ID Management": off, posting or removing tax identifiers
-- answers 409 `vat-exemption-failure` (`shopkeeper site set-tax-id-management`).
ALTER TABLE sites ADD COLUMN tax_id_management INTEGER NOT NULL DEFAULT 1;
