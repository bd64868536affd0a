//! The Admin API's orders and files (`admin-apis/order-management/`, `file-management/`): an
//! order's details, its invoices and their download, and a file's content. Every route takes
//! a confidential key with Admin APIs permission (`AdminAccess::Key`, checked by the `Admin`
//! extractor) and sees only the key's site: another site's order or file, or an id that names
//! none, is the documented 404.

use super::admin::Admin;
use super::admin_error::{AdminError, AdminErrors};
use super::views::admin_orders::{AdminOrderView, FileView, InvoicesView, PdfBytes};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use shopkeeper_domain::invoices::CUSTOMER_INVOICE;
use shopkeeper_services::state::AppState;
use shopkeeper_store::{FileRecord, OrderRecord};

/// The order the path names, of the caller's site.
async fn site_order(state: &AppState, admin: &Admin, raw: &str) -> Result<OrderRecord, AdminError> {
    let missing = || AdminError::not_found("order-not-found", format!("Order {raw} not found."));
    let id: i64 = raw.parse().map_err(|_| missing())?;
    state
        .store
        .order_on_site(&admin.site_id, id)
        .await?
        .ok_or_else(missing)
}

/// `GET /v1/orders/{orderId}`: the order's details, whoever placed it.
#[utoipa::path(
    get,
    path = "/v1/orders/{orderId}",
    tag = "admin",
    description = "The details of an order of the key's site (`getting-the-orders-details.md`), \
                   placed by an anonymous or a signed-in shopper. Access: `Authorization: Basic \
                   base64(key:secret)` of a confidential key with Admin APIs permission.",
    params(("orderId" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = AdminOrderView),
        (status = 401, description = "No or wrong credentials", body = AdminErrors),
        (status = 403, description = "A key without Admin APIs permission", body = AdminErrors),
        (status = 404, description = "No such order on the key's site", body = AdminErrors),
    ),
    security(("api_key_basic" = []))
)]
pub async fn get_order(
    admin: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, AdminError> {
    let order = site_order(&state, &admin, &raw).await?;
    let lines = state.store.order_lines(order.id).await?;
    let mut sources = Vec::new();
    for id in [
        Some(&order.payment_source_id),
        order.credit_source_id.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(s) = state.store.payment_source(&order.site_id, id).await? {
            sources.push(s);
        }
    }
    Ok(Json(AdminOrderView::new(&order, &lines, &sources)).into_response())
}

/// `GET /v1/orders/{orderId}/invoices`: where to download the order's invoices.
#[utoipa::path(
    get,
    path = "/v1/orders/{orderId}/invoices",
    tag = "admin",
    description = "The order's invoices (`downloading-the-invoice.md`): `{\"invoices\": [{\"type\": \
                   \"vat_invoice\", \"invoiceURL\"}]}`. The invoice is a PDF rendered by a \
                   background job after the submit: the list is empty until it ran. Access: a \
                   confidential key with Admin APIs permission (Basic).",
    params(("orderId" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order's invoices", body = InvoicesView),
        (status = 401, description = "No or wrong credentials", body = AdminErrors),
        (status = 403, description = "A key without Admin APIs permission", body = AdminErrors),
        (status = 404, description = "No such order on the key's site", body = AdminErrors),
    ),
    security(("api_key_basic" = []))
)]
pub async fn list_invoices(
    admin: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, AdminError> {
    let order = site_order(&state, &admin, &raw).await?;
    let files = state.store.order_invoices(&admin.site_id, order.id).await?;
    Ok(Json(InvoicesView::new(&state.web.public_url, order.id, &files)).into_response())
}

/// `GET /v1/orders/{orderId}/invoices/{receiptId}`: the invoice's PDF.
#[utoipa::path(
    get,
    path = "/v1/orders/{orderId}/invoices/{receiptId}",
    tag = "admin",
    description = "The invoice's PDF (`application/pdf`); the receipt id is the one its \
                   `invoiceURL` ends with. Access: a confidential key with Admin APIs \
                   permission (Basic).",
    params(
        ("orderId" = String, Path, description = "The order's id"),
        ("receiptId" = String, Path, description = "The invoice's id"),
    ),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = PdfBytes),
        (status = 401, description = "No or wrong credentials", body = AdminErrors),
        (status = 403, description = "A key without Admin APIs permission", body = AdminErrors),
        (status = 404, description = "No such order or invoice on the key's site", body = AdminErrors),
    ),
    security(("api_key_basic" = []))
)]
pub async fn get_invoice(
    admin: Admin,
    State(state): State<AppState>,
    Path((raw, receipt)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let order = site_order(&state, &admin, &raw).await?;
    let file = state
        .store
        .file_of_site(&admin.site_id, &receipt)
        .await?
        .filter(|f| f.meta.order_id == Some(order.id) && f.meta.purpose == CUSTOMER_INVOICE)
        .ok_or_else(|| {
            AdminError::not_found(
                "invoice-not-found",
                format!("Invoice {receipt} of order {raw} not found."),
            )
        })?;
    Ok(file_bytes(file))
}

/// `GET /files/{fileId}/content`: the file's bytes, or its id and name as JSON.
#[utoipa::path(
    get,
    path = "/files/{fileId}/content",
    tag = "admin",
    description = "A file of the key's site (`downloading-a-file.md`; the `fileId` of \
                   `order.invoice.created`): its bytes (the invoice's PDF) by default; the docs' \
                   JSON `{\"id\", \"fileName\"}` when `Accept` names only `application/json`. \
                   Access: a confidential key with Admin APIs permission (Basic).",
    params(("fileId" = String, Path, description = "The file's id")),
    responses(
        (status = 200, description = "The file's bytes, or (Accept: application/json) its id and name",
         content((PdfBytes = "application/pdf"), (FileView = "application/json"))),
        (status = 401, description = "No or wrong credentials", body = AdminErrors),
        (status = 403, description = "A key without Admin APIs permission", body = AdminErrors),
        (status = 404, description = "No such file on the key's site", body = AdminErrors),
    ),
    security(("api_key_basic" = []))
)]
pub async fn file_content(
    admin: Admin,
    State(state): State<AppState>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    let file = state
        .store
        .file_of_site(&admin.site_id, &file_id)
        .await?
        .ok_or_else(|| {
            AdminError::not_found("file-not-found", format!("File {file_id} not found."))
        })?;
    if json_only(headers.get(header::ACCEPT)) {
        return Ok(Json(FileView {
            id: &file.meta.id,
            file_name: &file.meta.file_name,
        })
        .into_response());
    }
    Ok(file_bytes(file))
}

/// The file as its own content type, named for a download.
fn file_bytes(file: FileRecord) -> Response {
    let disposition = format!(
        "inline; filename=\"{}\"",
        file.meta.file_name.replace(['"', '\\'], "_")
    );
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.meta.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Whether `Accept` asks for JSON and nothing else (`application/json`, with parameters or a
/// non-zero `q`): the docs' 200 example of `/files/{fileId}/content` is JSON, yet a download
/// link's client (a browser, `curl -O`) wants the file; an absent, wildcard or mixed `Accept`
/// gets the bytes.
pub fn json_only(accept: Option<&HeaderValue>) -> bool {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut any = false;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        if media.is_empty() || refused {
            continue;
        }
        if media != "application/json" {
            return false;
        }
        any = true;
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(accept: &str) -> bool {
        json_only(Some(&HeaderValue::from_str(accept).unwrap()))
    }

    #[test]
    fn json_only_when_nothing_but_json_is_asked_for() {
        assert!(!json_only(None));
        assert!(only("application/json"));
        assert!(only("Application/JSON; charset=utf-8"));
        assert!(only("application/json, application/pdf;q=0"));
        assert!(!only("*/*"));
        assert!(!only("application/pdf"));
        assert!(!only("application/json, */*;q=0.1"));
        assert!(!only("application/pdf, application/json"));
        assert!(!only(""));
    }
}
