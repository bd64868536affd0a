//! Admin API tasks as the docs show them (`general-resources/admin-apis-reference/tasks.md`):
//! a task (`taskId`, `products`, `requestType`, `taskStatus`, `receivedTime`,
//! `finishedTime`, `uri`; a failed one's async error objects in `errors`), and a page of them
//! (`tasks`, `totalSize`, `nextPage`, `previousPage`, `searchCriteria`, `pagination`).

use serde::Serialize;
use shopkeeper_domain::admin_tasks::{TaskQuery, datetime_ms};
use shopkeeper_store::{AdminTaskRecord, TaskPage};
use utoipa::ToSchema;

/// The path tasks are served under.
pub const TASKS: &str = "/v1/tasks";

/// One task.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    /// A UUID.
    pub task_id: String,
    /// The products a product-management task made or changed; empty for other tasks.
    pub products: Vec<TaskProductView>,
    /// What was asked for: `REFUND_RETURN` (a return's refund) today; the product calls'
    /// types (`CREATE_PRODUCT` ...) as they come.
    pub request_type: &'static str,
    /// `PUBLISHED`, `PROCESSING`, `COMPLETED` or `FAILED`.
    pub task_status: &'static str,
    /// When the call was received (ISO 8601, milliseconds, UTC).
    pub received_time: String,
    /// When it finished; absent until it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_time: Option<String>,
    /// The task's own address.
    pub uri: String,
    /// A failed task's async error objects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<TaskErrorView>,
}

/// A product of a product-management task.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskProductView {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_reference_id: Option<String>,
    /// `INDIVIDUAL`, `BASE` or `VARIATION`.
    pub product_type: &'static str,
}

/// An async error object (`async-error-objects.md`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskErrorView {
    pub code: String,
    pub description: String,
}

impl TaskView {
    /// The task, its `uri` under the configured public URL.
    pub fn new(base: &str, t: &AdminTaskRecord) -> Self {
        TaskView {
            task_id: t.id.clone(),
            products: Vec::new(),
            request_type: t.request_type.as_str(),
            task_status: t.status.as_str(),
            received_time: datetime_ms(t.received_at_ms),
            finished_time: t.finished_at_ms.map(datetime_ms),
            uri: format!("{base}{TASKS}/{}", t.id),
            errors: t
                .task_errors()
                .into_iter()
                .map(|e| TaskErrorView {
                    code: e.code,
                    description: e.description,
                })
                .collect(),
        }
    }
}

/// A page of tasks.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskPageView {
    pub tasks: Vec<TaskView>,
    /// Every task the search matched, on all pages.
    pub total_size: i64,
    /// Present when tasks come after this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<NextPage>,
    /// Present when tasks come before this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_page: Option<PreviousPage>,
    pub search_criteria: SearchCriteria,
    pub pagination: Pagination,
}

/// `{"startingAfter": taskId}`: the query of the next page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NextPage {
    pub starting_after: String,
}

/// `{"endingBefore": taskId}`: the query of the previous page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviousPage {
    pub ending_before: String,
}

/// The window and statuses searched.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchCriteria {
    pub begin_received_time: String,
    pub end_received_time: String,
    pub task_status: Vec<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    pub limit: i64,
}

impl TaskPageView {
    pub fn new(base: &str, query: &TaskQuery, page: &TaskPage) -> Self {
        TaskPageView {
            tasks: page.tasks.iter().map(|t| TaskView::new(base, t)).collect(),
            total_size: page.total,
            next_page: page
                .tasks
                .last()
                .filter(|_| page.has_after)
                .map(|t| NextPage {
                    starting_after: t.id.clone(),
                }),
            previous_page: page
                .tasks
                .first()
                .filter(|_| page.has_before)
                .map(|t| PreviousPage {
                    ending_before: t.id.clone(),
                }),
            search_criteria: SearchCriteria {
                begin_received_time: datetime_ms(query.begin_ms),
                end_received_time: datetime_ms(query.end_ms),
                task_status: query.statuses.iter().map(|s| s.as_str()).collect(),
            },
            pagination: Pagination { limit: query.limit },
        }
    }
}
