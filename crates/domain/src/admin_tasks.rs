//! The Admin API's asynchronous mode (`general-resources/admin-apis-reference/tasks.md`): an
//! asynchronous call answers at once with a task, which the job runner then works on. This
//! module is the task's rules: its states and the moves between them, the request types, the
//! async error objects a failed task carries, and the task list's query with its documented
//! errors (`error-codes-for-admin-apis/synchronous-response-error-codes.md`).

use serde::{Deserialize, Serialize};

/// The job runner's kind for tasks: one one-off job per task, keyed by the task's id.
pub const JOB_KIND: &str = "admin.task";

/// A task's `taskStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskStatus {
    /// Received and queued on the job runner; nothing done yet.
    Published,
    /// A node is working on it (or was, and died: the runner gives it to another).
    Processing,
    /// Done: its change is made.
    Completed,
    /// Given up: its `errors` say why; nothing was changed.
    Failed,
}

impl TaskStatus {
    /// In the order the docs list them in `searchCriteria` (alphabetical).
    pub const ALL: [TaskStatus; 4] = [
        Self::Completed,
        Self::Failed,
        Self::Processing,
        Self::Published,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Published => "PUBLISHED",
            Self::Processing => "PROCESSING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }

    /// The documented name (letter case aside).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(raw.trim()))
    }

    /// Finished: the task will never change again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }

    /// Whether a task may move from `self` to `next`. `PROCESSING` → `PROCESSING` is a node
    /// taking over the work of one that died (the job runner's lease expired); a finished
    /// task never moves again, so a task runs to completion at most once.
    pub fn may_become(self, next: TaskStatus) -> bool {
        matches!(
            (self, next),
            (Self::Published, Self::Processing)
                | (Self::Processing, Self::Processing)
                | (Self::Processing, Self::Completed)
                | (Self::Processing, Self::Failed)
                // Refused before any work began (its request can no longer be carried out
                // from the start, e.g. its job ran out of attempts before claiming it).
                | (Self::Published, Self::Failed)
        )
    }
}

impl TryFrom<String> for TaskStatus {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| format!("not a task status: {raw:?}"))
    }
}

/// A task's `requestType`. The product-management calls the docs list will be added here as
/// they are served; today's asynchronous call is a return's refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestType {
    /// `POST /v1/orders/{orderId}/returns/{returnId}/refund`.
    RefundReturn,
}

impl RequestType {
    pub const ALL: [RequestType; 1] = [Self::RefundReturn];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RefundReturn => "REFUND_RETURN",
        }
    }

    /// Whether the docs' `/v1/products/tasks` lists it (a product-management call).
    pub fn is_product(self) -> bool {
        match self {
            Self::RefundReturn => false,
        }
    }
}

impl TryFrom<String> for RequestType {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| format!("not a task request type: {raw:?}"))
    }
}

/// What a task is asked to do: its request type and the request's fields, kept as JSON on the
/// task's row and read back by the node that works on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskRequest {
    /// Refund a return of an order (the refund of the return's requested total).
    #[serde(rename_all = "camelCase")]
    RefundReturn { order_id: i64, return_id: i64 },
}

impl TaskRequest {
    pub fn request_type(&self) -> RequestType {
        match self {
            Self::RefundReturn { .. } => RequestType::RefundReturn,
        }
    }

    /// The order it is about, for the audit trail.
    pub fn order_id(&self) -> Option<i64> {
        match self {
            Self::RefundReturn { order_id, .. } => Some(*order_id),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// A stored request, checked against its row's request type.
    pub fn from_json(request_type: RequestType, raw: &str) -> Result<Self, String> {
        let request: Self =
            serde_json::from_str(raw).map_err(|e| format!("a stored task request: {e}"))?;
        if request.request_type() == request_type {
            Ok(request)
        } else {
            Err(format!(
                "a stored {} task holds a {} request",
                request_type.as_str(),
                request.request_type().as_str()
            ))
        }
    }
}

/// An async error object (`error-format-for-admin-apis/async-error-objects.md`): a failed
/// task's `errors[]`, each a `code` and a `description`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    pub code: String,
    pub description: String,
}

impl TaskError {
    pub fn new(code: &str, description: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            description: description.into(),
        }
    }
}

/// The `code` of a failed task whose work stopped for a reason of its own (the database was
/// unreachable on every attempt, a stored request could not be read).
pub const INTERNAL_ERROR: &str = "INTERNAL_SERVER_ERROR";

/// A refund task's error when its return is gone or was moved on meanwhile (refused, or
/// refunded by another call): the return's state then, when there is one.
pub fn return_not_refundable(
    order_id: i64,
    return_id: i64,
    from: Option<crate::returns::ReturnStatus>,
) -> TaskError {
    match from {
        None => TaskError::new(
            "RETURN_NOT_FOUND",
            format!("Cannot find the return [{return_id}] of the order [{order_id}]."),
        ),
        Some(status) => TaskError::new(
            "RETURN_NOT_REFUNDABLE",
            format!(
                "The return [{return_id}] of the order [{order_id}] is [{}]: only a \
                 PendingProductReturn or ReturnAcknowledged return can be refunded.",
                status.as_str()
            ),
        ),
    }
}

/// A task's id: a UUID (the runner makes UUIDv7s, which sort by when they were received).
pub fn parse_task_id(raw: &str) -> Option<String> {
    uuid::Uuid::try_parse(raw.trim())
        .ok()
        .map(|u| u.hyphenated().to_string())
}

// --- the task list's query ---------------------------------------------------------------

/// The widest window of `receivedTime` one list covers, and the window a bound alone opens.
pub const MAX_WINDOW_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;
/// Most tasks on a page, and the default.
pub const MAX_LIMIT: i64 = 50;

/// Which way a page goes from its cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The first page of the window.
    First,
    /// The tasks after this one (`startingAfter`, from `nextPage`).
    After(String),
    /// The tasks before this one (`endingBefore`, from `previousPage`).
    Before(String),
}

/// `GET /v1/tasks`'s query, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    /// `receivedTime` from, inclusive (milliseconds since the epoch).
    pub begin_ms: i64,
    /// `receivedTime` until, inclusive.
    pub end_ms: i64,
    /// The statuses asked for, in the documented order; all four when none was named.
    pub statuses: Vec<TaskStatus>,
    pub limit: i64,
    pub cursor: Cursor,
}

/// A query the docs refuse: always `400 invalid-request` with this `subcode` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQueryError {
    pub subcode: &'static str,
    pub message: String,
}

impl TaskQueryError {
    fn new(subcode: &'static str, message: String) -> Self {
        Self { subcode, message }
    }
}

/// The documented `yyyy-MM-dd'T'HH:mm:ss.SSSZ` format, as the errors name it.
const EXPECTED_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";

/// An ISO-8601 date and time (RFC 3339: `Z` or an offset; fractions of a second optional),
/// in milliseconds since the epoch.
pub fn parse_datetime_ms(raw: &str) -> Option<i64> {
    let at =
        time::OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339)
            .ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// `2022-09-19T17:22:11.415Z`: the docs' `receivedTime` and `finishedTime`.
pub fn datetime_ms(at_ms: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Reads the query's pairs (a name may repeat: `taskStatus` values add up; for the others the
/// last one counts). Unknown names are ignored, as elsewhere in the API. The window: both
/// bounds as given (at most 30 days apart, the end after the beginning); a beginning alone
/// opens 30 days from it, an end alone the 30 days before it, neither the last 30 days.
pub fn parse_task_query(
    pairs: &[(String, String)],
    now_ms: i64,
) -> Result<TaskQuery, TaskQueryError> {
    let last = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let datetime = |name: &'static str| -> Result<Option<i64>, TaskQueryError> {
        match last(name) {
            None => Ok(None),
            Some(raw) => parse_datetime_ms(raw).map(Some).ok_or_else(|| {
                TaskQueryError::new(
                    "invalid-datetime-format",
                    format!(
                        "The [{name}] value [{raw}] is not a valid date and time format. \
                         The expected format is [{EXPECTED_FORMAT}]."
                    ),
                )
            }),
        }
    };
    let begin = datetime("beginReceivedTime")?;
    let end = datetime("endReceivedTime")?;
    let window = MAX_WINDOW_DAYS * DAY_MS;
    if let Some(b) = begin
        && b > now_ms
    {
        return Err(TaskQueryError::new(
            "duration-in-the-future",
            format!(
                "The date and time for the [beginReceivedTime] value [{}] must be in the past.",
                last("beginReceivedTime").unwrap_or_default()
            ),
        ));
    }
    let (begin_ms, end_ms) = match (begin, end) {
        (Some(b), Some(e)) => {
            let (raw_b, raw_e) = (
                last("beginReceivedTime").unwrap_or_default(),
                last("endReceivedTime").unwrap_or_default(),
            );
            if e <= b {
                return Err(TaskQueryError::new(
                    "duration-begin-later-than-end",
                    format!(
                        "The date and time for the [endReceivedTime] value [{raw_e}] must be \
                         later than the [beginReceivedTime] value [{raw_b}]."
                    ),
                ));
            }
            if e - b > window {
                return Err(TaskQueryError::new(
                    "duration-exceeds-max-value",
                    format!(
                        "The duration between [beginReceivedTime] [{raw_b}] and \
                         [endReceivedTime] [{raw_e}] must be equal to or less than \
                         [{MAX_WINDOW_DAYS}] days."
                    ),
                ));
            }
            (b, e)
        }
        (Some(b), None) => (b, b.saturating_add(window)),
        (None, Some(e)) => (e.saturating_sub(window), e),
        (None, None) => (now_ms.saturating_sub(window), now_ms),
    };

    let mut statuses = Vec::new();
    let mut invalid = Vec::new();
    for (_, raw) in pairs.iter().filter(|(n, _)| n == "taskStatus") {
        for value in raw.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            match TaskStatus::parse(value) {
                Some(s) => statuses.push(s),
                None => invalid.push(value),
            }
        }
    }
    if !invalid.is_empty() {
        let expected: Vec<&str> = TaskStatus::ALL.iter().map(|s| s.as_str()).collect();
        return Err(TaskQueryError::new(
            "invalid_task_status",
            format!(
                "The values [{}] for [taskStatus] are invalid. The expected values are [{}].",
                invalid.join(", "),
                expected.join(", ")
            ),
        ));
    }
    if statuses.is_empty() {
        statuses = TaskStatus::ALL.to_vec();
    }
    statuses.sort();
    statuses.dedup();
    // `sort` follows the declaration order; the docs list them alphabetically.
    statuses.sort_by_key(|s| s.as_str());

    let limit = match last("limit") {
        None => MAX_LIMIT,
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(TaskQueryError::new(
                    "invalid_limit",
                    format!(
                        "The [limit] value [{raw}] is invalid. The value must be a number \
                         between [1] and [{MAX_LIMIT}]."
                    ),
                ));
            }
        },
    };

    let cursor = match (last("startingAfter"), last("endingBefore")) {
        (Some(_), Some(_)) => {
            return Err(TaskQueryError::new(
                "startingAfter-and-endingBefore-cannot-be-both-provided",
                "Cannot provide both [startingAfter] and [endingBefore] attributes in the \
                 request."
                    .to_owned(),
            ));
        }
        (Some(after), None) => Cursor::After(after.trim().to_owned()),
        (None, Some(before)) => Cursor::Before(before.trim().to_owned()),
        (None, None) => Cursor::First,
    };
    Ok(TaskQuery {
        begin_ms,
        end_ms,
        statuses,
        limit,
        cursor,
    })
}

/// The documented message of an unknown task (`resource-not-found` / `invalid-task-id`).
pub fn task_not_found(raw: &str) -> String {
    format!("The task cannot be found by id: [{raw}].")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn q(pairs: &[(&str, &str)]) -> Result<TaskQuery, TaskQueryError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        parse_task_query(&pairs, NOW)
    }

    fn subcode(pairs: &[(&str, &str)]) -> &'static str {
        q(pairs).unwrap_err().subcode
    }

    #[test]
    fn states_move_forward_only_and_a_finished_task_never_moves() {
        use TaskStatus::*;
        assert!(Published.may_become(Processing));
        assert!(Processing.may_become(Processing), "a node takes over");
        assert!(Processing.may_become(Completed));
        assert!(Processing.may_become(Failed));
        assert!(Published.may_become(Failed));
        assert!(
            !Published.may_become(Completed),
            "not without working on it"
        );
        for done in [Completed, Failed] {
            assert!(done.is_final());
            for next in TaskStatus::ALL {
                assert!(!done.may_become(next), "{done:?} -> {next:?}");
            }
        }
        assert!(!Processing.may_become(Published));
    }

    #[test]
    fn names_read_back() {
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::try_from(s.as_str().to_owned()), Ok(s));
        }
        assert_eq!(TaskStatus::parse("completed"), Some(TaskStatus::Completed));
        assert!(TaskStatus::try_from("completed".to_owned()).is_err());
        for t in RequestType::ALL {
            assert_eq!(RequestType::try_from(t.as_str().to_owned()), Ok(t));
        }
        let r = TaskRequest::RefundReturn {
            order_id: 7,
            return_id: 9,
        };
        assert_eq!(
            r.to_json(),
            r#"{"refundReturn":{"orderId":7,"returnId":9}}"#
        );
        assert_eq!(
            TaskRequest::from_json(RequestType::RefundReturn, &r.to_json()),
            Ok(r)
        );
        assert!(TaskRequest::from_json(RequestType::RefundReturn, "{}").is_err());
    }

    #[test]
    fn task_ids_are_uuids() {
        let id = crate::events::new_event_id(1);
        assert_eq!(parse_task_id(&id), Some(id.clone()));
        assert_eq!(parse_task_id(&id.to_uppercase()), Some(id));
        assert_eq!(parse_task_id("1234"), None);
        assert_eq!(
            task_not_found("1234"),
            "The task cannot be found by id: [1234]."
        );
    }

    #[test]
    fn times_are_iso_8601_with_milliseconds() {
        assert_eq!(datetime_ms(1_663_608_131_415), "2022-09-19T17:22:11.415Z");
        assert_eq!(
            parse_datetime_ms("2022-09-19T17:22:11.415Z"),
            Some(1_663_608_131_415)
        );
        assert_eq!(
            parse_datetime_ms("2022-09-19T19:22:11+02:00"),
            Some(1_663_608_131_000)
        );
        assert_eq!(parse_datetime_ms("2023-06-01"), None);
    }

    #[test]
    fn the_default_window_is_the_last_thirty_days_fifty_at_a_time() {
        let query = q(&[]).unwrap();
        assert_eq!(query.end_ms, NOW);
        assert_eq!(query.begin_ms, NOW - 30 * DAY_MS);
        assert_eq!(query.limit, 50);
        assert_eq!(query.cursor, Cursor::First);
        assert_eq!(query.statuses, TaskStatus::ALL.to_vec());
    }

    #[test]
    fn one_bound_opens_thirty_days_from_it() {
        let begin = datetime_ms(NOW - 40 * DAY_MS);
        let query = q(&[("beginReceivedTime", &begin)]).unwrap();
        assert_eq!(
            (query.begin_ms, query.end_ms),
            (NOW - 40 * DAY_MS, NOW - 10 * DAY_MS)
        );
        let end = datetime_ms(NOW - DAY_MS);
        let query = q(&[("endReceivedTime", &end)]).unwrap();
        assert_eq!(
            (query.begin_ms, query.end_ms),
            (NOW - 31 * DAY_MS, NOW - DAY_MS)
        );
        let both = q(&[
            ("beginReceivedTime", &datetime_ms(NOW - 30 * DAY_MS)),
            ("endReceivedTime", &datetime_ms(NOW)),
        ])
        .unwrap();
        assert_eq!((both.begin_ms, both.end_ms), (NOW - 30 * DAY_MS, NOW));
    }

    #[test]
    fn the_documented_errors() {
        let e = q(&[("endReceivedTime", "2023-06-01")]).unwrap_err();
        assert_eq!(e.subcode, "invalid-datetime-format");
        assert_eq!(
            e.message,
            "The [endReceivedTime] value [2023-06-01] is not a valid date and time format. \
             The expected format is [yyyy-MM-dd'T'HH:mm:ss.SSSZ]."
        );
        let e = q(&[
            ("beginReceivedTime", "2023-06-01T00:00:00.000Z"),
            ("endReceivedTime", "2023-04-01T00:00:00.000Z"),
        ])
        .unwrap_err();
        assert_eq!(e.subcode, "duration-begin-later-than-end");
        assert_eq!(
            e.message,
            "The date and time for the [endReceivedTime] value [2023-04-01T00:00:00.000Z] \
             must be later than the [beginReceivedTime] value [2023-06-01T00:00:00.000Z]."
        );
        let e = q(&[
            ("beginReceivedTime", "2023-04-01T00:00:00.000Z"),
            ("endReceivedTime", "2023-06-01T00:00:00.000Z"),
        ])
        .unwrap_err();
        assert_eq!(e.subcode, "duration-exceeds-max-value");
        assert_eq!(
            e.message,
            "The duration between [beginReceivedTime] [2023-04-01T00:00:00.000Z] and \
             [endReceivedTime] [2023-06-01T00:00:00.000Z] must be equal to or less than [30] \
             days."
        );
        let future = datetime_ms(NOW + 1);
        let e = q(&[("beginReceivedTime", &future)]).unwrap_err();
        assert_eq!(e.subcode, "duration-in-the-future");
        assert_eq!(
            e.message,
            format!(
                "The date and time for the [beginReceivedTime] value [{future}] must be in the \
                 past."
            )
        );
        for bad in ["0", "51", "ten", "-1", ""] {
            assert_eq!(subcode(&[("limit", bad)]), "invalid_limit", "{bad}");
        }
        assert_eq!(
            q(&[("limit", "51")]).unwrap_err().message,
            "The [limit] value [51] is invalid. The value must be a number between [1] and [50]."
        );
        assert_eq!(q(&[("limit", "1")]).unwrap().limit, 1);
        let e = q(&[("taskStatus", "ABC,COMPLETED"), ("taskStatus", "DEF")]).unwrap_err();
        assert_eq!(e.subcode, "invalid_task_status");
        assert_eq!(
            e.message,
            "The values [ABC, DEF] for [taskStatus] are invalid. The expected values are \
             [COMPLETED, FAILED, PROCESSING, PUBLISHED]."
        );
        let e = q(&[("startingAfter", "a"), ("endingBefore", "b")]).unwrap_err();
        assert_eq!(
            e.subcode,
            "startingAfter-and-endingBefore-cannot-be-both-provided"
        );
        assert_eq!(
            e.message,
            "Cannot provide both [startingAfter] and [endingBefore] attributes in the request."
        );
    }

    #[test]
    fn statuses_add_up_across_values_and_repeats() {
        let query = q(&[
            ("taskStatus", "published, failed"),
            ("taskStatus", "FAILED"),
        ])
        .unwrap();
        assert_eq!(
            query.statuses,
            vec![TaskStatus::Failed, TaskStatus::Published]
        );
        assert_eq!(
            q(&[("startingAfter", " x ")]).unwrap().cursor,
            Cursor::After("x".to_owned())
        );
        assert_eq!(
            q(&[("endingBefore", "y")]).unwrap().cursor,
            Cursor::Before("y".to_owned())
        );
    }
}
