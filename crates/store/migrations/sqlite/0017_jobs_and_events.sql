-- The job runner's durable jobs and the event outbox.

-- One row per job. A recurring job (the clean-up) keeps one row under its unique_key and is
-- queued again for its next run when it completes; a one-off job ends 'done' or 'dead'.
-- Times are milliseconds since the Unix epoch: leases and the first backoff steps last
-- about a second.
CREATE TABLE jobs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL,
    -- Enqueueing again under a key that exists adds nothing (singletons, idempotent enqueue).
    unique_key          TEXT UNIQUE,
    -- JSON, kept as text: both engines bind it the same way through the Any driver.
    payload             TEXT NOT NULL DEFAULT '{}',
    state               TEXT NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued', 'running', 'done', 'dead')),
    run_at_ms           INTEGER NOT NULL,
    -- Claims of the current occurrence; also the lease's fencing token.
    attempts            INTEGER NOT NULL DEFAULT 0,
    max_attempts        INTEGER NOT NULL CHECK (max_attempts >= 1),
    -- Completed runs (each occurrence of a recurring job counts once).
    runs                INTEGER NOT NULL DEFAULT 0,
    lease_owner         TEXT,
    lease_expires_at_ms INTEGER,
    last_error          TEXT,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL
);
-- The claim's two searches: queued jobs that are due, running jobs whose lease expired.
CREATE INDEX jobs_due ON jobs (kind, state, run_at_ms);
CREATE INDEX jobs_leases ON jobs (kind, state, lease_expires_at_ms);

-- The outbox: written in the transaction of the change it records. 'seq' numbers a site's
-- events without gaps (a rolled-back change takes its number back with it).
CREATE TABLE events (
    -- A UUIDv7: stable, unique across nodes, sorts by creation time.
    id          TEXT PRIMARY KEY,
    site_id     TEXT NOT NULL REFERENCES sites(id),
    seq         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (site_id, seq)
);

-- The last sequence number handed out per site: incrementing it is the first write of an
-- event, and on PostgreSQL its row lock orders concurrent writers of one site until commit.
CREATE TABLE event_sequences (
    site_id     TEXT PRIMARY KEY REFERENCES sites(id),
    last_seq    INTEGER NOT NULL
);
