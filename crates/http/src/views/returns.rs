//! Returns as the docs show them (`orders-1/returns/retrieving-returns-for-a-specified-order.md`):
//! `GET` answers `{"returns": {"return": [...]}}` and `POST` `{"returns": [{"return": [...]}]}`,
//! the two wrappers the docs' two samples show (README, "Returns"). Each return has its
//! `id`, `reason`, `comments`, `type`, `status`, dates, `origin`, `policy`, the three totals
//! with their formatted strings, and `returnLineItems.returnLineItem[]`.

use super::money::Money;
use super::order::ORDERS;
use crate::shopper_api::ApiQuery;
use serde::Serialize;
use shopkeeper_domain::catalog::formatted;
use shopkeeper_domain::returns::ReturnStatus;
use shopkeeper_domain::time::iso8601;
use shopkeeper_store::{OrderLineRecord, ReturnLineRecord, ReturnRecord};
use utoipa::ToSchema;

/// `{"returns": {"return": [...]}}` (`GET`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnsEnvelope<'a> {
    pub returns: ReturnList<'a>,
}

/// `{"returns": [{"return": [...]}]}` (`POST`: the new return).
#[derive(Debug, Serialize, ToSchema)]
pub struct NewReturnEnvelope<'a> {
    pub returns: Vec<ReturnList<'a>>,
}

/// `{"return": [...]}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnList<'a> {
    #[serde(rename = "return")]
    pub items: Vec<ReturnView<'a>>,
}

/// One return.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReturnView<'a> {
    pub id: i64,
    pub reason: &'a str,
    pub comments: &'a str,
    /// Always `LineItemLevelReturnProduct`: returns name line items.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `PendingProductReturn`, `ReturnAcknowledged`, `RefundedWithoutReturn` or `Refused`.
    pub status: &'static str,
    pub generation_date: String,
    /// The shopper who asked for it (their id).
    pub generated_by: String,
    /// Always `SHOPPER`: returns are asked for through the Shopper API.
    pub origin: &'static str,
    /// `LOD`, as the docs show.
    pub policy: &'static str,
    /// `In Process` until refunded, then the refund's date.
    pub date_refunded: String,
    pub refund_total: Money<'a>,
    pub formatted_refund_total: String,
    pub outstanding_total: Money<'a>,
    pub formatted_outstanding_total: String,
    pub requested_total: Money<'a>,
    pub formatted_requested_total: String,
    pub return_line_items: ReturnLineItems<'a>,
}

/// `{"returnLineItem": [...]}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReturnLineItems<'a> {
    pub return_line_item: Vec<ReturnLineView<'a>>,
}

/// One line of a return.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReturnLineView<'a> {
    /// The end of the order's return period.
    pub due_date: String,
    pub expected_qty: i64,
    /// The units refunded (digital goods come back by being refunded).
    pub returned_qty: i64,
    /// `Download` or `Physical`: the product's kind.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub date: String,
    pub status: &'static str,
    #[serde(rename = "returnLITotal")]
    pub return_li_total: Money<'a>,
    #[serde(rename = "formattedReturnLITotal")]
    pub formatted_return_li_total: String,
    pub line_item: super::Link,
}

impl<'a> ReturnView<'a> {
    pub fn new(
        q: &ApiQuery,
        r: &'a ReturnRecord,
        lines: &[ReturnLineRecord],
        order_lines: &[OrderLineRecord],
    ) -> Self {
        let currency = r.currency.as_str();
        let outstanding = if r.status == ReturnStatus::Refused {
            0
        } else {
            r.requested_minor - r.refunded_minor
        };
        let refunded = r.status == ReturnStatus::RefundedWithoutReturn;
        let return_line_item = lines
            .iter()
            .filter(|l| l.return_id == r.id)
            .map(|l| {
                let physical = order_lines
                    .iter()
                    .find(|o| o.id == l.line_item_id)
                    .is_some_and(|o| o.product_type == "PHYSICAL");
                ReturnLineView {
                    due_date: iso8601(r.due_at),
                    expected_qty: l.quantity,
                    returned_qty: if refunded { l.quantity } else { 0 },
                    kind: if physical { "Physical" } else { "Download" },
                    date: iso8601(r.created_at),
                    status: r.status.as_str(),
                    return_li_total: Money::new(l.amount_minor, currency),
                    formatted_return_li_total: formatted(l.amount_minor, currency),
                    line_item: super::Link {
                        uri: q.uri(&format!(
                            "{ORDERS}/{}/line-items/{}",
                            r.order_id, l.line_item_id
                        )),
                    },
                }
            })
            .collect();
        ReturnView {
            id: r.id,
            reason: &r.reason,
            comments: &r.comments,
            kind: "LineItemLevelReturnProduct",
            status: r.status.as_str(),
            generation_date: iso8601(r.created_at),
            generated_by: r.shopper_id.to_string(),
            origin: "SHOPPER",
            policy: "LOD",
            date_refunded: r
                .refunded_at
                .map_or_else(|| "In Process".to_owned(), iso8601),
            refund_total: Money::new(r.refunded_minor, currency),
            formatted_refund_total: formatted(r.refunded_minor, currency),
            outstanding_total: Money::new(outstanding, currency),
            formatted_outstanding_total: formatted(outstanding, currency),
            requested_total: Money::new(r.requested_minor, currency),
            formatted_requested_total: formatted(r.requested_minor, currency),
            return_line_items: ReturnLineItems { return_line_item },
        }
    }
}
