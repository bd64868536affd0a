-- Files the Admin API serves (`GET /files/{fileId}/content`): for now the orders' invoices,
-- rendered as PDFs by the `invoice.render` job. One invoice per order and purpose: the job may
-- run again after a crash, and its insert then adds nothing.
CREATE TABLE files (
    -- A UUID.
    id           TEXT PRIMARY KEY,
    site_id      TEXT NOT NULL REFERENCES sites(id),
    order_id     INTEGER REFERENCES orders(id),
    purpose      TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX files_order_purpose ON files (order_id, purpose);

-- Orders placed before invoices existed get theirs too: one job each, as the submit enqueues.
INSERT INTO jobs (kind, unique_key, payload, state, run_at_ms, max_attempts, created_at_ms,
                  updated_at_ms)
SELECT 'invoice.render', 'invoice.render:' || id, '{"orderId":' || id || '}', 'queued',
       CAST(strftime('%s', 'now') AS INTEGER) * 1000, 8,
       CAST(strftime('%s', 'now') AS INTEGER) * 1000,
       CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM orders WHERE true
ON CONFLICT (unique_key) DO NOTHING;
