//! The Admin API's asynchronous tasks (`domain::admin_tasks` has the rules). A task and the
//! one job that works on it are written in one transaction, so a call answered with a task
//! always has its job. Moving a task is a conditional update on its status: a finished task
//! never moves again. The work of a task ends it with [`finish_task_on`] in the work's own
//! transaction, so the change and the task's `COMPLETED` commit together (a node that dies
//! after the commit leaves a finished task, which the next node leaves alone).

use super::{Store, StoreError, StoreResult};
use shopkeeper_domain::admin_tasks::{
    Cursor, JOB_KIND, RequestType, TaskError, TaskQuery, TaskRequest, TaskStatus,
};
use shopkeeper_domain::events::new_event_id;
use shopkeeper_domain::{ApiKey, SiteId};
use sqlx::AnyConnection;

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AdminTaskRecord {
    /// A UUIDv7: the documented `taskId`.
    pub id: String,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    #[sqlx(try_from = "String")]
    pub request_type: RequestType,
    #[sqlx(try_from = "String")]
    pub status: TaskStatus,
    /// JSON: the call's `TaskRequest`.
    pub request: String,
    /// JSON: what a completed task made.
    pub result: Option<String>,
    /// JSON: a failed task's async error objects.
    pub errors: Option<String>,
    pub received_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    /// Who asked: the API key, and the staff user when there was one.
    #[sqlx(try_from = "String")]
    pub api_key: ApiKey,
    pub staff_user_id: Option<i64>,
    pub order_id: Option<i64>,
}

impl AdminTaskRecord {
    /// The stored request, read back.
    pub fn task_request(&self) -> Result<TaskRequest, String> {
        TaskRequest::from_json(self.request_type, &self.request)
    }

    /// A failed task's errors (none for any other).
    pub fn task_errors(&self) -> Vec<TaskError> {
        self.errors
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw).ok())
            .unwrap_or_default()
    }
}

/// A task to create: what it asks for and who asked.
#[derive(Debug, Clone)]
pub struct NewAdminTask<'a> {
    pub site_id: &'a SiteId,
    pub request: &'a TaskRequest,
    pub api_key: &'a ApiKey,
    pub staff_user_id: Option<i64>,
    /// The job's attempts (the runner's `--job-max-attempts`).
    pub max_attempts: u32,
}

/// How a task ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Its change is made; the JSON says what it made.
    Completed(serde_json::Value),
    /// Nothing was changed; the errors say why.
    Failed(Vec<TaskError>),
}

/// A page of a site's tasks.
#[derive(Debug, Clone)]
pub struct TaskPage {
    pub tasks: Vec<AdminTaskRecord>,
    /// Every task the query's window and statuses match (all pages).
    pub total: i64,
    /// Whether tasks come before this page's first (a `previousPage`).
    pub has_before: bool,
    /// Whether tasks come after this page's last (a `nextPage`).
    pub has_after: bool,
}

const TASK_COLUMNS: &str = "id, site_id, request_type, status, request, result, errors, \
     received_at_ms, started_at_ms, finished_at_ms, api_key, staff_user_id, order_id";

/// The job key of a task: enqueueing it again adds nothing.
pub fn task_job_key(task_id: &str) -> String {
    format!("{JOB_KIND}:{task_id}")
}

/// Ends a task that is being worked on (`PROCESSING`; a failure may also end a `PUBLISHED`
/// one, `TaskStatus::may_become`), on the caller's connection: inside the
/// transaction of the task's change. False (and nothing written) when the task is not being
/// worked on: it finished already, so the caller's change must not be made (roll back).
pub(crate) async fn finish_task_on(
    conn: &mut AnyConnection,
    task_id: &str,
    outcome: &TaskOutcome,
    now_ms: i64,
) -> StoreResult<bool> {
    let (status, result, errors) = match outcome {
        TaskOutcome::Completed(result) => (TaskStatus::Completed, Some(result.to_string()), None),
        TaskOutcome::Failed(errors) => (
            TaskStatus::Failed,
            None,
            Some(serde_json::to_string(errors).unwrap_or_else(|_| "[]".to_owned())),
        ),
    };
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE admin_tasks SET status = $1, result = $2, errors = $3, finished_at_ms = $4 \
         WHERE id = $5 AND status IN ({})",
        may_become(status)
    )))
    .bind(status.as_str())
    .bind(result)
    .bind(errors)
    .bind(now_ms)
    .bind(task_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the task's row for the rest of the caller's transaction and says whether it is being
/// worked on (`PROCESSING`): the work that follows may then be done, and ends it.
pub(crate) async fn hold_processing_task(
    conn: &mut AnyConnection,
    task_id: &str,
) -> StoreResult<bool> {
    let held = sqlx::query("UPDATE admin_tasks SET status = status WHERE id = $1 AND status = $2")
        .bind(task_id)
        .bind(TaskStatus::Processing.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(held.rows_affected() == 1)
}

/// The statuses a task may move to `next` from (`TaskStatus::may_become`), as SQL: the
/// conditional update of a move is the domain's rule.
fn may_become(next: TaskStatus) -> String {
    let from: Vec<TaskStatus> = TaskStatus::ALL
        .into_iter()
        .filter(|s| s.may_become(next))
        .collect();
    statuses_sql(&from)
}

/// The status list of a query, as SQL: the names are the domain's constants, never input.
fn statuses_sql(statuses: &[TaskStatus]) -> String {
    statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Writes a `PUBLISHED` task and its job in one transaction; the task as written.
    pub async fn create_admin_task(
        &self,
        new: &NewAdminTask<'_>,
        now_ms: i64,
    ) -> StoreResult<AdminTaskRecord> {
        let id = new_event_id(u64::try_from(now_ms).unwrap_or(0));
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let task: AdminTaskRecord = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO admin_tasks (id, site_id, request_type, status, request, \
             received_at_ms, api_key, staff_user_id, order_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {TASK_COLUMNS}"
        )))
        .bind(&id)
        .bind(new.site_id.as_str())
        .bind(new.request.request_type().as_str())
        .bind(TaskStatus::Published.as_str())
        .bind(new.request.to_json())
        .bind(now_ms)
        .bind(new.api_key.as_str())
        .bind(new.staff_user_id)
        .bind(new.request.order_id())
        .fetch_one(&mut *tx)
        .await?;
        let key = task_job_key(&id);
        let payload = serde_json::json!({ "taskId": id }).to_string();
        crate::jobs::enqueue_job_on(
            &mut tx,
            &crate::NewJob {
                kind: JOB_KIND,
                unique_key: Some(&key),
                payload: &payload,
                run_at_ms: now_ms,
                max_attempts: new.max_attempts,
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(task)
    }

    /// A task of any site (the node working on it).
    pub async fn admin_task(&self, id: &str) -> StoreResult<Option<AdminTaskRecord>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM admin_tasks WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// A site's task.
    pub async fn site_admin_task(
        &self,
        site_id: &SiteId,
        id: &str,
    ) -> StoreResult<Option<AdminTaskRecord>> {
        Ok(self.admin_task(id).await?.filter(|t| &t.site_id == site_id))
    }

    /// Starts (or, after a node died, resumes) the work on a task: `PUBLISHED` or
    /// `PROCESSING` becomes `PROCESSING` (its first start time kept). The task as it is now:
    /// a finished one is returned unchanged, and must not be worked on again.
    pub async fn start_admin_task(
        &self,
        id: &str,
        now_ms: i64,
    ) -> StoreResult<Option<AdminTaskRecord>> {
        let started: Option<AdminTaskRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE admin_tasks SET status = $1, \
             started_at_ms = COALESCE(started_at_ms, $2) \
             WHERE id = $3 AND status IN ({}) RETURNING {TASK_COLUMNS}",
            may_become(TaskStatus::Processing)
        )))
        .bind(TaskStatus::Processing.as_str())
        .bind(now_ms)
        .bind(id)
        .fetch_optional(&mut *self.writer().await?)
        .await?;
        match started {
            Some(task) => Ok(Some(task)),
            None => self.admin_task(id).await,
        }
    }

    /// Ends a task being worked on, outside any change (its work failed for good, or was
    /// refused before it changed anything). False when it was not being worked on.
    pub async fn finish_admin_task(
        &self,
        id: &str,
        outcome: &TaskOutcome,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let mut writer = self.writer().await?;
        finish_task_on(&mut writer, id, outcome, now_ms).await
    }

    /// A page of a site's tasks received in the query's window, in the statuses it names,
    /// oldest first (by received time, then id), from its cursor. A cursor that names no
    /// task of the site is `NotFound`.
    pub async fn admin_tasks_page(
        &self,
        site_id: &SiteId,
        query: &TaskQuery,
    ) -> StoreResult<TaskPage> {
        let filter = format!(
            "site_id = $1 AND received_at_ms >= $2 AND received_at_ms <= $3 \
             AND status IN ({})",
            statuses_sql(&query.statuses)
        );
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM admin_tasks WHERE {filter}"
        )))
        .bind(site_id.as_str())
        .bind(query.begin_ms)
        .bind(query.end_ms)
        .fetch_one(&self.read)
        .await?;
        let cursor = match &query.cursor {
            Cursor::First => None,
            Cursor::After(raw) | Cursor::Before(raw) => {
                let task = match shopkeeper_domain::admin_tasks::parse_task_id(raw) {
                    Some(id) => self.site_admin_task(site_id, &id).await?,
                    None => None,
                };
                let task = task.ok_or_else(|| StoreError::NotFound(raw.clone()))?;
                Some((task.received_at_ms, task.id))
            }
        };
        let limit = query.limit.max(1);
        let mut tasks: Vec<AdminTaskRecord> = match (&query.cursor, &cursor) {
            (Cursor::Before(_), Some((at, id))) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {TASK_COLUMNS} FROM admin_tasks WHERE {filter} \
                     AND (received_at_ms < $4 OR (received_at_ms = $4 AND id < $5)) \
                     ORDER BY received_at_ms DESC, id DESC LIMIT $6"
                )))
                .bind(site_id.as_str())
                .bind(query.begin_ms)
                .bind(query.end_ms)
                .bind(*at)
                .bind(id)
                .bind(limit)
                .fetch_all(&self.read)
                .await?
            }
            (_, Some((at, id))) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {TASK_COLUMNS} FROM admin_tasks WHERE {filter} \
                     AND (received_at_ms > $4 OR (received_at_ms = $4 AND id > $5)) \
                     ORDER BY received_at_ms, id LIMIT $6"
                )))
                .bind(site_id.as_str())
                .bind(query.begin_ms)
                .bind(query.end_ms)
                .bind(*at)
                .bind(id)
                .bind(limit)
                .fetch_all(&self.read)
                .await?
            }
            (_, None) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {TASK_COLUMNS} FROM admin_tasks WHERE {filter} \
                     ORDER BY received_at_ms, id LIMIT $4"
                )))
                .bind(site_id.as_str())
                .bind(query.begin_ms)
                .bind(query.end_ms)
                .bind(limit)
                .fetch_all(&self.read)
                .await?
            }
        };
        tasks.sort_by(|a, b| (a.received_at_ms, &a.id).cmp(&(b.received_at_ms, &b.id)));
        // How many matching tasks come before the page: it says whether pages lie before and
        // after it.
        let before = match tasks.first() {
            None => match &cursor {
                // An empty page after (before) its cursor: everything up to it lies before
                // (nothing does).
                Some(_) if matches!(query.cursor, Cursor::After(_)) => total,
                _ => 0,
            },
            Some(first) => {
                let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM admin_tasks WHERE {filter} \
                     AND (received_at_ms < $4 OR (received_at_ms = $4 AND id < $5))"
                )))
                .bind(site_id.as_str())
                .bind(query.begin_ms)
                .bind(query.end_ms)
                .bind(first.received_at_ms)
                .bind(&first.id)
                .fetch_one(&self.read)
                .await?;
                n
            }
        };
        let shown = i64::try_from(tasks.len()).unwrap_or(i64::MAX);
        Ok(TaskPage {
            has_before: before > 0,
            has_after: before + shown < total,
            tasks,
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopkeeper_domain::admin_tasks::{TaskQuery, TaskStatus};
    use shopkeeper_domain::jobs::JobState;

    async fn site(store: &Store) -> SiteId {
        let site = SiteId::parse("tasks").unwrap();
        store
            .create_site(&site, shopkeeper_domain::SessionTtl::DEFAULT, 0)
            .await
            .unwrap();
        site
    }

    fn key() -> ApiKey {
        ApiKey::parse("0123456789abcdef0123456789abcdef").unwrap()
    }

    fn request(n: i64) -> TaskRequest {
        TaskRequest::RefundReturn {
            order_id: n,
            return_id: n,
        }
    }

    fn query(statuses: &[TaskStatus], limit: i64, cursor: Cursor) -> TaskQuery {
        TaskQuery {
            begin_ms: 0,
            end_ms: 1_000_000,
            statuses: statuses.to_vec(),
            limit,
            cursor,
        }
    }

    #[tokio::test]
    async fn a_task_is_written_with_its_job_and_finishes_once() {
        let (_dir, store) = crate::scratch_store().await;
        let site = site(&store).await;
        let key = key();
        let r = request(1);
        let new = NewAdminTask {
            site_id: &site,
            request: &r,
            api_key: &key,
            staff_user_id: None,
            max_attempts: 3,
        };
        let task = store.create_admin_task(&new, 1_000).await.unwrap();
        assert_eq!(task.status, TaskStatus::Published);
        assert_eq!(task.task_request(), Ok(r));
        assert_eq!(task.order_id, Some(1));
        let job = store
            .job_by_key(&task_job_key(&task.id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((job.kind.as_str(), job.state), (JOB_KIND, JobState::Queued));
        assert!(job.payload.contains(&task.id));

        let started = store.start_admin_task(&task.id, 2_000).await.unwrap();
        let started = started.unwrap();
        assert_eq!(
            (started.status, started.started_at_ms),
            (TaskStatus::Processing, Some(2_000))
        );
        // A node taking over keeps the first start.
        let again = store.start_admin_task(&task.id, 3_000).await.unwrap();
        assert_eq!(again.unwrap().started_at_ms, Some(2_000));
        let done = TaskOutcome::Completed(serde_json::json!({"ok": true}));
        assert!(
            store
                .finish_admin_task(&task.id, &done, 4_000)
                .await
                .unwrap()
        );
        assert!(
            !store
                .finish_admin_task(&task.id, &TaskOutcome::Failed(vec![]), 5_000)
                .await
                .unwrap(),
            "a finished task never moves again"
        );
        let finished = store.start_admin_task(&task.id, 6_000).await.unwrap();
        let finished = finished.unwrap();
        assert_eq!(finished.status, TaskStatus::Completed, "not started again");
        assert_eq!(finished.finished_at_ms, Some(4_000));
        assert_eq!(finished.result.as_deref(), Some(r#"{"ok":true}"#));
        assert!(store.start_admin_task("nope", 0).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn pages_go_both_ways_within_the_filters() {
        let (_dir, store) = crate::scratch_store().await;
        let site = site(&store).await;
        let key = key();
        let mut ids = Vec::new();
        for n in 0..5 {
            let r = request(n);
            let new = NewAdminTask {
                site_id: &site,
                request: &r,
                api_key: &key,
                staff_user_id: None,
                max_attempts: 1,
            };
            ids.push(store.create_admin_task(&new, 100 + n).await.unwrap().id);
        }
        store.start_admin_task(&ids[1], 200).await.unwrap();
        let failed = TaskOutcome::Failed(vec![TaskError::new("X", "why")]);
        assert!(
            store
                .finish_admin_task(&ids[1], &failed, 300)
                .await
                .unwrap()
        );
        let all = TaskStatus::ALL;
        let ids_of = |p: &TaskPage| p.tasks.iter().map(|t| t.id.clone()).collect::<Vec<_>>();

        let first = store
            .admin_tasks_page(&site, &query(&all, 2, Cursor::First))
            .await
            .unwrap();
        assert_eq!(ids_of(&first), ids[0..2]);
        assert_eq!(
            (first.total, first.has_before, first.has_after),
            (5, false, true)
        );
        let next = store
            .admin_tasks_page(&site, &query(&all, 2, Cursor::After(ids[1].clone())))
            .await
            .unwrap();
        assert_eq!(ids_of(&next), ids[2..4]);
        assert_eq!((next.has_before, next.has_after), (true, true));
        let last = store
            .admin_tasks_page(&site, &query(&all, 2, Cursor::After(ids[3].clone())))
            .await
            .unwrap();
        assert_eq!(ids_of(&last), ids[4..5]);
        assert_eq!((last.has_before, last.has_after), (true, false));
        let back = store
            .admin_tasks_page(&site, &query(&all, 2, Cursor::Before(ids[4].clone())))
            .await
            .unwrap();
        assert_eq!(ids_of(&back), ids[2..4]);
        assert_eq!((back.has_before, back.has_after), (true, true));

        let failed_only = store
            .admin_tasks_page(&site, &query(&[TaskStatus::Failed], 50, Cursor::First))
            .await
            .unwrap();
        assert_eq!(ids_of(&failed_only), vec![ids[1].clone()]);
        assert_eq!(
            failed_only.tasks[0].task_errors(),
            vec![TaskError::new("X", "why")]
        );
        let mut window = query(&all, 50, Cursor::First);
        (window.begin_ms, window.end_ms) = (102, 103);
        let windowed = store.admin_tasks_page(&site, &window).await.unwrap();
        assert_eq!(ids_of(&windowed), ids[2..4]);

        let unknown = store
            .admin_tasks_page(&site, &query(&all, 2, Cursor::After("nope".to_owned())))
            .await;
        assert!(
            matches!(unknown, Err(StoreError::NotFound(_))),
            "{unknown:?}"
        );
        let other = SiteId::parse("other").unwrap();
        store
            .create_site(&other, shopkeeper_domain::SessionTtl::DEFAULT, 0)
            .await
            .unwrap();
        let theirs = store
            .admin_tasks_page(&other, &query(&all, 50, Cursor::First))
            .await
            .unwrap();
        assert_eq!(theirs.total, 0);
        assert!(
            store
                .site_admin_task(&other, &ids[0])
                .await
                .unwrap()
                .is_none()
        );
    }
}
