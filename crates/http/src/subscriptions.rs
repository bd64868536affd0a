//! A shopper's subscriptions (full token; a shopper sees only their own: another's id is a
//! 404): the list and one by id under `/v1/shoppers/me/subscriptions` (seed 003), the common
//! resource `GET /v1/subscriptions/{id}` and its shopper action `cancel`
//! (`common-shopper-and-admin-apis/subscriptions/`).

use super::access::Full;
use super::extract::OptionalJson;
use super::shopper_api::{ApiQuery, ApiResult, not_found, path_id};
use super::tolerant::opt_bool;
use super::views::order::default_option;
use super::views::subscriptions::{
    SUBSCRIPTIONS, SubscriptionEnvelope, SubscriptionView, Subscriptions, SubscriptionsEnvelope,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_services::state::AppState;
use shopkeeper_store::{PaymentSourceRecord, SubscriptionRecord};

/// What a subscription's view needs besides its record: its ship-to address, its payment
/// option (the shopper's, with whether it is their default) and its orders.
struct Loaded {
    ship_to: Option<PostalAddress>,
    orders: Vec<i64>,
}

async fn load(state: &AppState, s: &SubscriptionRecord) -> ApiResult<Loaded> {
    Ok(Loaded {
        ship_to: s.ship_to(),
        orders: state.store.subscription_order_ids(s.id).await?,
    })
}

/// The shopper's payment options and which is the default (the first saved, as the payment
/// options' own route says).
async fn options(state: &AppState, full: &Full) -> ApiResult<Vec<PaymentSourceRecord>> {
    Ok(state.store.payment_options(full.shopper_id()).await?)
}

fn payment<'a>(
    options: &'a [PaymentSourceRecord],
    s: &SubscriptionRecord,
) -> Option<(&'a PaymentSourceRecord, bool)> {
    let default = default_option(options);
    options
        .iter()
        .find(|o| o.id == s.payment_source_id)
        .map(|o| (o, Some(o.id.as_str()) == default))
}

/// `GET /v1/shoppers/me/subscriptions`: the signed-in shopper's, newest first.
pub async fn list_subscriptions(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
) -> ApiResult<Response> {
    let records = state
        .store
        .subscriptions_of(&full.0.site_id, full.shopper_id())
        .await?;
    let options = options(&state, &full).await?;
    let mut loaded = Vec::with_capacity(records.len());
    for s in &records {
        loaded.push(load(&state, s).await?);
    }
    let subscription = records
        .iter()
        .zip(&loaded)
        .map(|(s, l)| {
            SubscriptionView::new(&q, s, l.ship_to.as_ref(), payment(&options, s), &l.orders)
        })
        .collect();
    Ok(q.respond_with(&SubscriptionsEnvelope {
        subscriptions: Subscriptions {
            uri: q.uri(SUBSCRIPTIONS),
            subscription,
        },
    }))
}

/// One of the caller's subscriptions, else the route's 404.
async fn own(state: &AppState, full: &Full, raw: &str) -> ApiResult<SubscriptionRecord> {
    let id = path_id(raw, "subscription")?;
    state
        .store
        .subscription_of(&full.0.site_id, full.shopper_id(), id)
        .await?
        .ok_or_else(|| not_found(format!("subscription {id}")))
}

/// `GET /v1/shoppers/me/subscriptions/{id}` → `{"subscription": {...}}`.
pub async fn get_subscription(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let s = own(&state, &full, &raw).await?;
    let l = load(&state, &s).await?;
    let options = options(&state, &full).await?;
    let subscription =
        SubscriptionView::new(&q, &s, l.ship_to.as_ref(), payment(&options, &s), &l.orders);
    Ok(q.respond_with(&SubscriptionEnvelope { subscription }))
}

/// `GET /v1/subscriptions/{id}`: the common resource, bare as the docs' sample shows it
/// (`getting-a-subscription-by-identifier.md`).
pub async fn get_subscription_resource(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let s = own(&state, &full, &raw).await?;
    let l = load(&state, &s).await?;
    let options = options(&state, &full).await?;
    let view = SubscriptionView::new(&q, &s, l.ship_to.as_ref(), payment(&options, &s), &l.orders);
    Ok(q.respond_with(&view))
}

/// `{"suppressCancelNotification": true}` (Shopkeeper sends no e-mails: taken and ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object {\"suppressCancelNotification\"}"
)]
pub struct CancelBody {
    #[serde(default, deserialize_with = "opt_bool")]
    #[allow(dead_code)]
    suppress_cancel_notification: Option<bool>,
}

/// `POST /v1/subscriptions/{id}/cancel` → `202 Accepted`, no body (`cancelling-a-subscription.md`):
/// `Cancelled` at once, no renewal after it, the service already paid for kept until its
/// expiration. Cancelling a cancelled subscription changes nothing (202 again).
pub async fn cancel_subscription(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    OptionalJson(_body): OptionalJson<CancelBody>,
) -> ApiResult<StatusCode> {
    let s = own(&state, &full, &raw).await?;
    state
        .store
        .cancel_subscription(&full.0.site_id, full.shopper_id(), s.id, state.clock.now())
        .await?
        .ok_or_else(|| not_found(format!("subscription {}", s.id)))?;
    Ok(StatusCode::ACCEPTED)
}
