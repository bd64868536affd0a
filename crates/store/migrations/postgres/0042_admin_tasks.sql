-- The Admin API's asynchronous mode (README, "Asynchronous tasks (Admin API)"): an
-- asynchronous call writes its task here and enqueues one `admin.task` job in the same
-- transaction, then answers at once. The job moves the task PUBLISHED → PROCESSING →
-- COMPLETED or FAILED; the work of a task finishes it in the work's own transaction, so a
-- task's change is made once even when a node dies and another takes the job over.
--
-- `id` is a UUIDv7 (the documented `taskId`); `request` is the call's request as JSON
-- (`domain::admin_tasks::TaskRequest`), `result` what a completed task made (JSON), `errors`
-- a failed task's async error objects (a JSON array of {code, description}). Times are
-- milliseconds since the epoch (the docs' receivedTime and finishedTime show them). The actor
-- is who made the call: the API key, and the staff user when there was one; the audit row of
-- the change names them.
CREATE TABLE admin_tasks (
    id             TEXT PRIMARY KEY,
    site_id        TEXT NOT NULL REFERENCES sites(id),
    request_type   TEXT NOT NULL,
    status         TEXT NOT NULL
                   CHECK (status IN ('PUBLISHED', 'PROCESSING', 'COMPLETED', 'FAILED')),
    request        TEXT NOT NULL,
    result         TEXT,
    errors         TEXT,
    received_at_ms BIGINT NOT NULL,
    started_at_ms  BIGINT,
    finished_at_ms BIGINT,
    api_key        TEXT NOT NULL,
    staff_user_id  BIGINT REFERENCES staff_users(id),
    -- The order the task is about, when it is about one (lists per order).
    order_id       BIGINT
);
-- The task list: a site's tasks by received time, within a window.
CREATE INDEX admin_tasks_by_site ON admin_tasks (site_id, received_at_ms, id);
