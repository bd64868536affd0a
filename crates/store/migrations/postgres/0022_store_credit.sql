-- Issue 22: store credit, the docs' secondary `customerCredit` source. A merchant's backend
-- creates it with its confidential key (the bearer is the key's secret, found by its hash);
-- a cart holds at most one beside its primary source, and an order records what each paid.
CREATE INDEX api_clients_secret_hash ON api_clients(secret_hash);
ALTER TABLE payment_sources ADD COLUMN upstream_id TEXT;
ALTER TABLE payment_sources ADD COLUMN payment_session_id TEXT;
ALTER TABLE carts ADD COLUMN credit_source_id TEXT;
ALTER TABLE orders ADD COLUMN credit_source_id TEXT;
ALTER TABLE orders ADD COLUMN credit_minor BIGINT NOT NULL DEFAULT 0;
