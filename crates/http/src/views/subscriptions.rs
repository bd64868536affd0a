//! A shopper's subscriptions: every key of the docs' subscription resource
//! (`common-shopper-and-admin-apis/subscriptions/`, unrenamed: `id` a string, `state`,
//! `autoRenewal` a boolean, the dates, `term`, `product`, `shipToAddress`, `paymentOption`,
//! `addOns`), in the Shopper API's envelopes (`{"subscriptions": {"uri", "subscription": []}}`,
//! `{"subscription": {}}`), plus the keys the WordPress plugin reads that do not collide
//! (`uri`, `status`, `nextRenewalQuantity`, `orders.order[]`).

use super::Link;
use super::address::AddressView;
use super::order::PaymentOption;
use crate::shopper_api::ApiQuery;
use serde::Serialize;
use serde_json::Value;
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_domain::catalog::amount_value;
use shopkeeper_domain::subscriptions::{SubscriptionState, iso8601_millis};
use shopkeeper_store::{PaymentSourceRecord, SubscriptionRecord};
use utoipa::ToSchema;

pub const SUBSCRIPTIONS: &str = "/v1/shoppers/me/subscriptions";

/// `{"subscriptions": {"uri", "subscription": [...]}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionsEnvelope<'a> {
    pub subscriptions: Subscriptions<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Subscriptions<'a> {
    pub uri: String,
    pub subscription: Vec<SubscriptionView<'a>>,
}

/// `{"subscription": {...}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionEnvelope<'a> {
    pub subscription: SubscriptionView<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView<'a> {
    pub uri: String,
    pub id: String,
    pub creation_date: String,
    pub activation_date: String,
    pub next_renewal_date: String,
    pub expiration_date: String,
    pub grace_date: String,
    pub cancellation_date: Option<String>,
    pub current_quantity: i64,
    pub renewal_quantity: i64,
    /// The plugin's name for `renewalQuantity`.
    pub next_renewal_quantity: i64,
    pub auto_renewal: bool,
    /// The locale of the order that bought it (`en_US`).
    pub locale: &'a str,
    /// One of the docs' five: `Subscribed`, `PendingActivation`, `Cancelled`,
    /// `PendingRenewal`, `FreeTrial`.
    pub state: &'static str,
    /// The Shopper API's older `status` (`Active`, `Free Trial`, `Pending Activation`,
    /// `Cancelled`), which storefronts still compare against.
    pub status: &'static str,
    /// The term's length in days (`duration` and `frequency` are equal without commitment
    /// billing).
    pub duration: i64,
    pub frequency: i64,
    pub site_id: &'a str,
    pub term: TermView,
    pub product: SubscribedProduct<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ship_to_address: Option<AddressView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_option: Option<PaymentOption<'a>>,
    pub renewal_price: RenewalPrice<'a>,
    /// No add-ons are sold: always empty.
    #[schema(value_type = Vec<Object>)]
    pub add_ons: Vec<Value>,
    pub orders: SubscriptionOrders,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TermView {
    pub term_unit: &'static str,
    pub term_length: u32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscribedProduct<'a> {
    pub uri: String,
    pub id: String,
    pub name: &'a str,
    pub display_name: &'a str,
    pub sku: &'a str,
}

/// What a renewal charges a unit (the events' `renewalPrice`): an exact decimal number.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenewalPrice<'a> {
    #[schema(value_type = f64)]
    pub unit_price: Value,
    pub currency: &'a str,
    pub locked: bool,
}

/// `{"order": [{"uri", "id"}]}`: the orders that bought and renewed it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionOrders {
    pub order: Vec<OrderLink>,
}

impl SubscriptionOrders {
    pub fn new(q: &ApiQuery, ids: &[i64]) -> Self {
        SubscriptionOrders {
            order: ids
                .iter()
                .map(|id| OrderLink {
                    link: Link {
                        uri: q.uri(&format!("/v1/shoppers/me/orders/{id}")),
                    },
                    id: id.to_string(),
                })
                .collect(),
        }
    }
}

/// `{"orders": {"order": [...]}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionOrdersEnvelope {
    pub orders: SubscriptionOrders,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLink {
    #[serde(flatten)]
    pub link: Link,
    pub id: String,
}

impl<'a> SubscriptionView<'a> {
    pub fn new(
        q: &ApiQuery,
        s: &'a SubscriptionRecord,
        ship_to: Option<&'a PostalAddress>,
        payment: Option<(&'a PaymentSourceRecord, bool)>,
        order_ids: &[i64],
    ) -> Self {
        let anchor = s.activation_at;
        let term_days = s.plan.term.days_from(anchor);
        SubscriptionView {
            uri: q.uri(&format!("{SUBSCRIPTIONS}/{}", s.id)),
            id: s.id.to_string(),
            creation_date: iso8601_millis(s.created_at),
            activation_date: iso8601_millis(s.activation_at),
            next_renewal_date: iso8601_millis(s.next_renewal_at),
            expiration_date: iso8601_millis(s.expiration_at),
            grace_date: iso8601_millis(s.grace_at),
            cancellation_date: s.cancelled_at.map(iso8601_millis),
            current_quantity: s.current_quantity,
            renewal_quantity: s.renewal_quantity,
            next_renewal_quantity: s.renewal_quantity,
            auto_renewal: s.auto_renewal,
            locale: s.locale.as_deref().unwrap_or("en_US"),
            state: s.state.as_str(),
            status: match s.state {
                SubscriptionState::Subscribed | SubscriptionState::PendingRenewal => "Active",
                SubscriptionState::FreeTrial => "Free Trial",
                SubscriptionState::PendingActivation => "Pending Activation",
                SubscriptionState::Cancelled => "Cancelled",
            },
            duration: term_days,
            frequency: term_days,
            site_id: s.site_id.as_str(),
            term: TermView {
                term_unit: s.plan.term.unit.as_str(),
                term_length: s.plan.term.length,
            },
            product: SubscribedProduct {
                uri: q.uri(&format!("/v1/shoppers/me/products/{}", s.product_id)),
                id: s.product_id.to_string(),
                name: &s.display_name,
                display_name: &s.display_name,
                sku: &s.sku,
            },
            ship_to_address: ship_to.map(|a| {
                AddressView::new(
                    q.uri(&format!("{SUBSCRIPTIONS}/{}/ship-to-address", s.id)),
                    "shipToAddress",
                    a,
                )
            }),
            payment_option: payment
                .map(|(source, is_default)| PaymentOption::new(q, source, is_default)),
            renewal_price: RenewalPrice {
                unit_price: amount_value(s.renewal_unit_price_minor, &s.currency),
                currency: &s.currency,
                locked: false,
            },
            add_ons: Vec::new(),
            orders: SubscriptionOrders::new(q, order_ids),
        }
    }
}
