//! The Admin API's asynchronous tasks and the merchant's side of returns, over real HTTP: a
//! return's refund answers `202` with a `PUBLISHED` task, which the job runner (driven here
//! by hand, `run_due`, as `jobs.rs` does) takes to `COMPLETED` once, with one ledger row, one
//! audit row and one `return.refunded` event; a task whose return was rejected meanwhile
//! ends `FAILED` with its async error; the task list's window, statuses and pages, and each
//! of its documented errors; accept and reject with their audit rows; the refusals of a
//! Shopper-only key, a shopper token and a staff user without a customer-service role; and a
//! real node killed between the task's `PROCESSING` and its work, whose restart completes
//! the task once.

use crate::admin_access::{AdminKey, admin_key, assert_admin_error, shopper_only_key, staff_token};
use crate::helpers::*;
use crate::returns::{ask, catalog, order_of};
use serde_json::Value;
use shopkeeper::admin_tasks;
use shopkeeper::jobs::JobRunner;
use std::time::{Duration, Instant};

const CS: &[&str] = &["customer-service-representative"];

/// The app, its runner never looking on its own after its first look (the test drives it).
async fn quiet_app() -> TestApp {
    let app = spawn_app_with(|s| s.operations.job_poll_interval_ms = 3_600_000).await;
    // Its first look (at start, before any task exists) is over once the clean-up ran.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let cleanup = app.state.store.job_by_key("cleanup").await.unwrap();
        if cleanup.is_some_and(|j| j.runs >= 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the runner's first look never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app
}

/// An order of `units` of the demo download and one return per unit.
struct Setup {
    key: AdminKey,
    staff: String,
    order: i64,
    returns: Vec<i64>,
}

async fn setup(app: &TestApp, units: i64) -> Setup {
    let (product, _) = catalog(app).await;
    let shopper = app.shopper_pair().await.access;
    let (order, line) = order_of(app, &shopper, product, units).await;
    let mut returns = Vec::new();
    for _ in 0..units {
        let body = ok_json(ask(app, &shopper, order, "DUPLICATE_ORDER", line, 1).await).await;
        returns.push(body["returns"][0]["return"][0]["id"].as_i64().unwrap());
    }
    let key = admin_key(app).await;
    let staff = staff_token(app, &key, CS).await;
    Setup {
        key,
        staff,
        order,
        returns,
    }
}

async fn staff_post(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn key_get(app: &TestApp, key: &AdminKey, path: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .header("Authorization", key.basic())
        .send()
        .await
        .unwrap()
}

fn action(order: i64, id: i64, verb: &str) -> String {
    format!("/v1/orders/{order}/returns/{id}/{verb}")
}

/// The documented Admin API error: `status`, and the first error's code and subcode.
async fn admin_error(response: reqwest::Response, status: u16, code: &str, subcode: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], code, "{body}");
    assert_eq!(body["errors"][0]["subcode"], subcode, "{body}");
    body
}

async fn task(app: &TestApp, key: &AdminKey, id: &str) -> Value {
    ok_json(key_get(app, key, &format!("/v1/tasks/{id}")).await).await
}

/// One look of a runner for the tasks' kind alone (the clean-up may be due too once the
/// clock moved): how many tasks' jobs it claimed.
async fn run_tasks(app: &TestApp) -> usize {
    JobRunner::new(&app.state)
        .handle(admin_tasks::JOB_KIND, |ctx| {
            admin_tasks::run(ctx.state, ctx.lease.job)
        })
        .run_due()
        .await
        .unwrap()
}

/// The site's events of `kind`.
async fn events(app: &TestApp, kind: &str) -> usize {
    let events = app
        .state
        .store
        .events_after(&site_id(), 0, 500)
        .await
        .unwrap();
    events.iter().filter(|e| e.event_type == kind).count()
}

fn is_datetime_ms(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.' && s.contains('T')
    })
}

#[tokio::test]
async fn a_refund_is_a_task_published_then_completed_once_with_its_audit_row() {
    let app = quiet_app().await;
    let s = setup(&app, 1).await;
    let id = s.returns[0];
    let answer = staff_post(&app, &s.staff, &action(s.order, id, "refund")).await;
    assert_eq!(answer.status(), 202);
    let published: Value = answer.json().await.unwrap();
    let task_id = published["taskId"].as_str().unwrap().to_owned();
    assert_eq!(published["requestType"], "REFUND_RETURN", "{published}");
    assert_eq!(published["taskStatus"], "PUBLISHED", "{published}");
    assert_eq!(published["products"], serde_json::json!([]));
    assert!(is_datetime_ms(&published["receivedTime"]), "{published}");
    assert!(published.get("finishedTime").is_none(), "{published}");
    assert_eq!(
        published["uri"],
        format!("{}/v1/tasks/{task_id}", app.state.web.public_url)
    );
    // Observed before the runner looks: published, nothing refunded.
    assert_eq!(task(&app, &s.key, &task_id).await, published);
    assert!(
        app.state
            .store
            .refunds_of_return(id)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(run_tasks(&app).await, 1);
    let completed = task(&app, &s.key, &task_id).await;
    assert_eq!(completed["taskStatus"], "COMPLETED", "{completed}");
    assert!(is_datetime_ms(&completed["finishedTime"]), "{completed}");
    assert!(completed.get("errors").is_none(), "{completed}");
    let refunds = app.state.store.refunds_of_return(id).await.unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (refunds[0].amount_minor, refunds[0].currency.as_str()),
        (3999, "USD")
    );
    let listed = ok_json(
        app.http
            .get(app.url(&format!("/v1/orders/{}/returns", s.order)))
            .bearer_auth(&s.staff)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let r = &listed["returns"]["return"][0];
    assert_eq!(r["status"], "RefundedWithoutReturn", "{listed}");
    assert_eq!(r["refundTotal"]["value"], 39.99, "{listed}");

    // Looking again runs nothing: the job is done, the task finished.
    assert_eq!(run_tasks(&app).await, 0);
    assert_eq!(
        app.state.store.refunds_of_return(id).await.unwrap().len(),
        1
    );
    assert_eq!(events(&app, "return.refunded").await, 1);
    let audit = app
        .state
        .store
        .audit_for_order(&site_id(), s.order)
        .await
        .unwrap();
    let refunded: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "return.refunded")
        .collect();
    assert_eq!(refunded.len(), 1, "{audit:?}");
    assert_eq!(refunded[0].api_key, s.key.key, "{audit:?}");
    assert!(refunded[0].staff_user_id.is_some(), "{audit:?}");
    assert_eq!(refunded[0].subject_id, id.to_string());
    assert!(
        refunded[0]
            .before_state
            .as_deref()
            .is_some_and(|b| b.contains("PendingProductReturn")),
        "{audit:?}"
    );
    assert!(
        refunded[0]
            .after_state
            .as_deref()
            .is_some_and(|a| a.contains("RefundedWithoutReturn")),
        "{audit:?}"
    );
    // A return refunded already is refused at once.
    admin_error(
        staff_post(&app, &s.staff, &action(s.order, id, "refund")).await,
        409,
        "concurrent_process_conflict",
        "cannot_change_return_state",
    )
    .await;
}

#[tokio::test]
async fn a_task_whose_return_was_rejected_meanwhile_fails_with_its_error() {
    let app = quiet_app().await;
    let s = setup(&app, 1).await;
    let id = s.returns[0];
    let answer = staff_post(&app, &s.staff, &action(s.order, id, "refund")).await;
    assert_eq!(answer.status(), 202);
    let task_id = answer.json::<Value>().await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let rejected = ok_json(staff_post(&app, &s.staff, &action(s.order, id, "reject")).await).await;
    assert_eq!(rejected["returns"]["return"][0]["status"], "Refused");

    assert_eq!(run_tasks(&app).await, 1);
    let failed = task(&app, &s.key, &task_id).await;
    assert_eq!(failed["taskStatus"], "FAILED", "{failed}");
    assert!(is_datetime_ms(&failed["finishedTime"]), "{failed}");
    let errors = failed["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{failed}");
    assert_eq!(errors[0]["code"], "RETURN_NOT_REFUNDABLE");
    let description = errors[0]["description"].as_str().unwrap();
    assert!(description.contains("Refused"), "{description}");
    // Nothing refunded, no refund audited: only the rejection.
    assert!(
        app.state
            .store
            .refunds_of_return(id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(events(&app, "return.refunded").await, 0);
    let audit = app
        .state
        .store
        .audit_for_order(&site_id(), s.order)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["return.rejected"], "{audit:?}");
    assert_eq!(run_tasks(&app).await, 0);
}

#[tokio::test]
async fn accept_and_reject_answer_the_return_and_write_their_audit_rows() {
    let app = quiet_app().await;
    let s = setup(&app, 2).await;
    let (first, second) = (s.returns[0], s.returns[1]);
    let accepted =
        ok_json(staff_post(&app, &s.staff, &action(s.order, first, "accept")).await).await;
    let r = &accepted["returns"]["return"];
    assert_eq!(r.as_array().unwrap().len(), 1, "{accepted}");
    assert_eq!(
        (r[0]["id"].as_i64(), &r[0]["status"]),
        (Some(first), &Value::from("ReturnAcknowledged"))
    );
    // Only a pending return may be accepted or rejected.
    for verb in ["accept", "reject"] {
        admin_error(
            staff_post(&app, &s.staff, &action(s.order, first, verb)).await,
            409,
            "concurrent_process_conflict",
            "cannot_change_return_state",
        )
        .await;
    }
    let rejected =
        ok_json(staff_post(&app, &s.staff, &action(s.order, second, "reject")).await).await;
    assert_eq!(rejected["returns"]["return"][0]["status"], "Refused");
    // Unknown orders and returns, and a return of another order.
    admin_error(
        staff_post(&app, &s.staff, &action(s.order + 1000, first, "accept")).await,
        404,
        "resource-not-found",
        "invalid-order-id",
    )
    .await;
    admin_error(
        staff_post(&app, &s.staff, &action(s.order, 999_999, "accept")).await,
        404,
        "resource-not-found",
        "invalid-return-id",
    )
    .await;
    admin_error(
        staff_post(&app, &s.staff, &action(s.order, 0, "refund")).await,
        404,
        "resource-not-found",
        "invalid-return-id",
    )
    .await;

    let audit = app
        .state
        .store
        .audit_for_order(&site_id(), s.order)
        .await
        .unwrap();
    let rows: Vec<(&str, String)> = audit
        .iter()
        .map(|a| (a.action.as_str(), a.subject_id.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            ("return.accepted", first.to_string()),
            ("return.rejected", second.to_string())
        ],
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .all(|a| a.api_key == s.key.key && a.staff_user_id.is_some())
    );
    assert_eq!(events(&app, "return.acknowledged").await, 1);
    assert_eq!(events(&app, "return.refused").await, 1);
}

#[tokio::test]
async fn the_task_list_filters_and_pages_and_refuses_as_documented() {
    let app = quiet_app().await;
    let s = setup(&app, 3).await;
    let mut ids = Vec::new();
    for (n, id) in s.returns.iter().enumerate() {
        if n > 0 {
            app.advance_clock(60).await;
        }
        let answer = staff_post(&app, &s.staff, &action(s.order, *id, "refund")).await;
        assert_eq!(answer.status(), 202);
        ids.push(
            answer.json::<Value>().await.unwrap()["taskId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Only the first is carried out: reject the others' returns first.
    for id in &s.returns[1..] {
        ok_json(staff_post(&app, &s.staff, &action(s.order, *id, "reject")).await).await;
    }
    assert_eq!(run_tasks(&app).await, 3);
    let list = |query: &str| {
        let path = format!("/v1/tasks{query}");
        let (app, key) = (&app, &s.key);
        async move { key_get(app, key, &path).await }
    };
    let ids_of = |page: &Value| -> Vec<String> {
        page["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["taskId"].as_str().unwrap().to_owned())
            .collect()
    };

    let all = ok_json(list("").await).await;
    assert_eq!(ids_of(&all), ids, "{all}");
    assert_eq!(all["totalSize"], 3);
    assert_eq!(all["pagination"]["limit"], 50);
    assert_eq!(
        all["searchCriteria"]["taskStatus"],
        serde_json::json!(["COMPLETED", "FAILED", "PROCESSING", "PUBLISHED"])
    );
    assert!(
        is_datetime_ms(&all["searchCriteria"]["beginReceivedTime"]),
        "{all}"
    );
    assert!(
        all.get("nextPage").is_none() && all.get("previousPage").is_none(),
        "{all}"
    );
    let statuses: Vec<&str> = all["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["taskStatus"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["COMPLETED", "FAILED", "FAILED"]);

    let completed = ok_json(list("?taskStatus=COMPLETED").await).await;
    assert_eq!(ids_of(&completed), ids[..1]);
    let some = ok_json(list("?taskStatus=FAILED,PUBLISHED").await).await;
    assert_eq!(ids_of(&some), ids[1..]);
    assert_eq!(some["totalSize"], 2);

    // Pages of one, forwards and back.
    let first = ok_json(list("?limit=1").await).await;
    assert_eq!(ids_of(&first), ids[..1]);
    assert_eq!(first["nextPage"]["startingAfter"], ids[0].as_str());
    assert!(first.get("previousPage").is_none(), "{first}");
    let second = ok_json(list(&format!("?limit=1&startingAfter={}", ids[0])).await).await;
    assert_eq!(ids_of(&second), ids[1..2]);
    assert_eq!(second["previousPage"]["endingBefore"], ids[1].as_str());
    assert_eq!(second["nextPage"]["startingAfter"], ids[1].as_str());
    let back = ok_json(list(&format!("?limit=1&endingBefore={}", ids[1])).await).await;
    assert_eq!(ids_of(&back), ids[..1]);

    // The window: from the second task's receipt on.
    let second_at = second["tasks"][0]["receivedTime"]
        .as_str()
        .unwrap()
        .to_owned();
    let later = ok_json(list(&format!("?beginReceivedTime={second_at}")).await).await;
    assert_eq!(ids_of(&later), ids[1..]);
    let earlier = ok_json(list(&format!("?endReceivedTime={second_at}")).await).await;
    assert_eq!(ids_of(&earlier), ids[..2]);

    // The documented refusals.
    for (query, subcode) in [
        ("?endReceivedTime=2023-06-01", "invalid-datetime-format"),
        (
            "?beginReceivedTime=2023-06-01T00:00:00.000Z&endReceivedTime=2023-04-01T00:00:00.000Z",
            "duration-begin-later-than-end",
        ),
        (
            "?beginReceivedTime=2023-04-01T00:00:00.000Z&endReceivedTime=2023-06-01T00:00:00.000Z",
            "duration-exceeds-max-value",
        ),
        (
            "?beginReceivedTime=2999-01-01T00:00:00.000Z",
            "duration-in-the-future",
        ),
        ("?limit=51", "invalid_limit"),
        ("?limit=0", "invalid_limit"),
        ("?taskStatus=ABC,DEF", "invalid_task_status"),
        (
            "?startingAfter=a&endingBefore=b",
            "startingAfter-and-endingBefore-cannot-be-both-provided",
        ),
    ] {
        let body = admin_error(list(query).await, 400, "invalid-request", subcode).await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    let body = admin_error(
        list("?limit=51").await,
        400,
        "invalid-request",
        "invalid_limit",
    )
    .await;
    assert_eq!(
        body["errors"][0]["message"],
        "The [limit] value [51] is invalid. The value must be a number between [1] and [50]."
    );
    let body = admin_error(
        key_get(&app, &s.key, "/v1/tasks/1234").await,
        404,
        "resource-not-found",
        "invalid-task-id",
    )
    .await;
    assert_eq!(
        body["errors"][0]["message"],
        "The task cannot be found by id: [1234]."
    );
    admin_error(
        list("?startingAfter=0190a5e4-0000-7000-8000-000000000000").await,
        404,
        "resource-not-found",
        "invalid-task-id",
    )
    .await;
}

#[tokio::test]
async fn shopper_credentials_and_staff_without_the_role_are_refused() {
    let app = quiet_app().await;
    let s = setup(&app, 1).await;
    let id = s.returns[0];
    let shopper_key = shopper_only_key(&app).basic();
    let shopper = format!("Bearer {}", app.shopper_pair().await.access);
    let manager = format!(
        "Bearer {}",
        staff_token(&app, &s.key, &["site-manager"]).await
    );
    let send = |method: &str, path: &str, authorization: &str| {
        let request = if method == "GET" {
            app.http.get(app.url(path))
        } else {
            app.http.post(app.url(path))
        };
        request.header("Authorization", authorization).send()
    };
    let returns_paths = [
        ("GET", format!("/v1/orders/{}/returns", s.order)),
        ("POST", action(s.order, id, "accept")),
        ("POST", action(s.order, id, "reject")),
        ("POST", action(s.order, id, "refund")),
    ];
    for (method, path) in &returns_paths {
        // A Shopper-only key: 403, no Admin APIs permission.
        let error = assert_admin_error(
            send(method, path, &shopper_key).await.unwrap(),
            403,
            "forbidden",
        )
        .await;
        assert_eq!(
            error["subcode"], "missing-admin-permission",
            "{method} {path}"
        );
        // A shopper's token, and the Admin key without a staff user: 401.
        assert_admin_error(
            send(method, path, &shopper).await.unwrap(),
            401,
            "unauthorized",
        )
        .await;
        assert_admin_error(
            send(method, path, &s.key.basic()).await.unwrap(),
            401,
            "unauthorized",
        )
        .await;
        // A site manager: 403 in the docs' words.
        let error = assert_admin_error(
            send(method, path, &manager).await.unwrap(),
            403,
            "forbidden",
        )
        .await;
        assert_eq!(
            error["message"],
            "The user is not a Customer Service Director / Customer Service Supervisor / \
             Customer Service Representative.",
            "{method} {path}"
        );
    }
    // The task routes need an Admin API key (or a staff token made with one): a Shopper-only
    // key and a shopper token are refused; the site manager's token is accepted.
    for path in [
        "/v1/tasks",
        "/v1/tasks/0190a5e4-0000-7000-8000-000000000000",
    ] {
        let error = assert_admin_error(
            send("GET", path, &shopper_key).await.unwrap(),
            403,
            "forbidden",
        )
        .await;
        assert_eq!(error["subcode"], "missing-admin-permission", "{path}");
        assert_admin_error(
            send("GET", path, &shopper).await.unwrap(),
            401,
            "unauthorized",
        )
        .await;
    }
    assert_eq!(
        send("GET", "/v1/tasks", &manager).await.unwrap().status(),
        200
    );
    // Nothing changed.
    assert!(
        app.state
            .store
            .refunds_of_return(id)
            .await
            .unwrap()
            .is_empty()
    );
    let audit = app
        .state
        .store
        .audit_for_order(&site_id(), s.order)
        .await
        .unwrap();
    assert!(audit.is_empty(), "{audit:?}");
    let listed = ok_json(
        app.http
            .get(app.url("/v1/tasks?taskStatus=PUBLISHED"))
            .header("Authorization", s.key.basic())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["totalSize"], 0, "{listed}");
}

// --- a real node killed between PROCESSING and the work ----------------------------------

#[tokio::test]
async fn a_refund_task_killed_mid_step_completes_once_after_a_restart() {
    let app = quiet_app().await;
    let s = setup(&app, 1).await;
    let id = s.returns[0];
    let answer = staff_post(&app, &s.staff, &action(s.order, id, "refund")).await;
    assert_eq!(answer.status(), 202);
    let task_id = answer.json::<Value>().await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let port = free_port();
    let mut crashed = crate::jobs::serve_with(
        &app.database_url,
        port,
        Some(shopkeeper::admin_tasks::MID_STEP),
        &["--test-clock"],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = crashed.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the failpoint never fired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGABRT), "{status:?}");
    let store = &app.state.store;
    let processing = task(&app, &s.key, &task_id).await;
    assert_eq!(processing["taskStatus"], "PROCESSING", "{processing}");
    assert!(store.refunds_of_return(id).await.unwrap().is_empty());

    // Restarted, the node takes the job over once the dead node's lease expired.
    let mut restarted = crate::jobs::serve_with(&app.database_url, port, None, &["--test-clock"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let job = store
            .job_by_key(&shopkeeper::store::task_job_key(&task_id))
            .await
            .unwrap()
            .unwrap();
        if job.runs > 0 {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "the task never completed: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((job.runs, job.attempts), (1, 2), "{job:?}");
    let completed = task(&app, &s.key, &task_id).await;
    assert_eq!(completed["taskStatus"], "COMPLETED", "{completed}");
    assert_eq!(store.refunds_of_return(id).await.unwrap().len(), 1);
    assert_eq!(events(&app, "return.refunded").await, 1);
    let audit = store.audit_for_order(&site_id(), s.order).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "return.refunded")
            .count(),
        1,
        "{audit:?}"
    );
    // A further look of this process changes nothing.
    assert_eq!(run_tasks(&app).await, 0);
    assert_eq!(store.refunds_of_return(id).await.unwrap().len(), 1);
    restarted.kill().ok();
    restarted.wait().ok();
}
