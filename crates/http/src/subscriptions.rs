//! A shopper's subscriptions (full token; a shopper sees only their own: another's id is a
//! 404): the list and one by id under `/v1/shoppers/me/subscriptions` (seed 003), the common
//! resource `GET /v1/subscriptions/{id}` and its shopper action `cancel`
//! (`common-shopper-and-admin-apis/subscriptions/`).

use super::access::Full;
use super::error::Code;
use super::extract::{AppJson, OptionalJson};
use super::shopper_api::{ApiQuery, ApiResult, bad_request, cart_conflict, not_found, path_id};
use super::shoppers::AddressWire;
use super::tolerant::{opt_bool, opt_i64, opt_scalar};
use super::views::order::default_option;
use super::views::subscriptions::{
    SUBSCRIPTIONS, SubscriptionEnvelope, SubscriptionOrders, SubscriptionOrdersEnvelope,
    SubscriptionView, Subscriptions, SubscriptionsEnvelope,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_domain::checkout::MAX_LINE_QUANTITY;
use shopkeeper_domain::shopper::AddressInput;
use shopkeeper_services::checkout;
use shopkeeper_services::state::AppState;
use shopkeeper_store::{
    PaymentOptionFields, PaymentSourceRecord, SubscriptionChange, SubscriptionRecord, Updated,
};

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

// --- the shopper's actions (`common-shopper-and-admin-apis/subscriptions/`) -----------------
//
// Each answers `202 Accepted` with no body, as documented; Shopkeeper applies the change at
// once (in one transaction, with its `subscription.updated` event), so no action is ever left
// pending.

/// Applies `change` to one of the caller's live subscriptions.
async fn change_subscription(
    state: &AppState,
    full: &Full,
    raw: &str,
    change: SubscriptionChange,
) -> ApiResult<StatusCode> {
    let s = own(state, full, raw).await?;
    let updated = state
        .store
        .update_subscription(
            &full.0.site_id,
            full.shopper_id(),
            s.id,
            &change,
            state.clock.now(),
        )
        .await?
        .ok_or_else(|| not_found(format!("subscription {}", s.id)))?;
    match updated {
        Updated::Now => Ok(StatusCode::ACCEPTED),
        // No subscription-specific code is documented: the docs' generic precondition one.
        Updated::Cancelled => Err(cart_conflict(
            Code::PreconditionFailure,
            format!(
                "subscription {} is Cancelled: it takes no more changes",
                s.id
            ),
        )),
    }
}

/// `{"autoRenewal": false}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an object {\"autoRenewal\"}")]
pub struct RenewalTypeBody {
    #[serde(default, deserialize_with = "opt_bool")]
    auto_renewal: Option<bool>,
}

/// `POST /v1/subscriptions/{id}/renewal-type` (`changing-the-subscription-renewal-type.md`).
pub async fn change_renewal_type(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    AppJson(body): AppJson<RenewalTypeBody>,
) -> ApiResult<StatusCode> {
    let on = body
        .auto_renewal
        .ok_or_else(|| bad_request("autoRenewal (true or false) is required"))?;
    change_subscription(&state, &full, &raw, SubscriptionChange::AutoRenewal(on)).await
}

/// `{"renewalQuantity": 2}`
#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object {\"renewalQuantity\"}"
)]
pub struct RenewalQuantityBody {
    #[serde(default, deserialize_with = "opt_i64")]
    renewal_quantity: Option<i64>,
}

/// `POST /v1/subscriptions/{id}/renewal-quantity`: what the next renewals charge for.
pub async fn change_renewal_quantity(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    AppJson(body): AppJson<RenewalQuantityBody>,
) -> ApiResult<StatusCode> {
    let quantity = body
        .renewal_quantity
        .filter(|q| (1..=MAX_LINE_QUANTITY).contains(q))
        .ok_or_else(|| {
            bad_request(format!(
                "renewalQuantity must be a whole number from 1 to {MAX_LINE_QUANTITY}"
            ))
        })?;
    change_subscription(
        &state,
        &full,
        &raw,
        SubscriptionChange::RenewalQuantity(quantity),
    )
    .await
}

/// `{"paymentOptionId" | "sourceId", "isShippingSameAsBilling"}` (the flag is taken and
/// ignored: the ship-to address has its own action).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an object {\"sourceId\"}")]
pub struct PaymentBody {
    #[serde(default, deserialize_with = "opt_scalar")]
    payment_option_id: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    source_id: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    #[allow(dead_code)]
    is_shipping_same_as_billing: Option<bool>,
}

/// `POST /v1/subscriptions/{id}/payment-option`: one of the shopper's payment options.
pub async fn change_payment_option(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    AppJson(body): AppJson<PaymentBody>,
) -> ApiResult<StatusCode> {
    let id = body
        .payment_option_id
        .ok_or_else(|| bad_request("paymentOptionId is required"))?;
    let options = options(&state, &full).await?;
    if !options.iter().any(|o| o.id == id) {
        return Err(not_found(format!("payment option {id:?}")));
    }
    change_subscription(&state, &full, &raw, SubscriptionChange::PaymentSource(id)).await
}

/// `POST /v1/subscriptions/{id}/payment-source`: a reusable source; one that is not yet the
/// shopper's payment option becomes one (`associating-a-new-billing-option-to-an-existing-
/// subscription.md`).
pub async fn change_payment_source(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    AppJson(body): AppJson<PaymentBody>,
) -> ApiResult<StatusCode> {
    let id = body
        .source_id
        .ok_or_else(|| bad_request("sourceId is required"))?;
    own(&state, &full, &raw).await?;
    let options = options(&state, &full).await?;
    if !options.iter().any(|o| o.id == id) {
        // Unknown, spent or someone else's: the documented 409 `apply-payment-failure`.
        checkout::save_payment_option(&state.store, &full.0, &id, PaymentOptionFields::default())
            .await?;
    }
    change_subscription(&state, &full, &raw, SubscriptionChange::PaymentSource(id)).await
}

/// `POST /v1/subscriptions/{id}/ship-to-address`: the address as the docs send it (flat).
pub async fn change_ship_to_address(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    AppJson(body): AppJson<AddressWire>,
) -> ApiResult<StatusCode> {
    let address = AddressInput::from(body).validate()?.address;
    change_subscription(
        &state,
        &full,
        &raw,
        SubscriptionChange::ShipTo(Box::new(address)),
    )
    .await
}

/// `GET /v1/subscriptions/{id}/orders` → `202 Accepted` as `getting-subscription-orders.md`
/// documents it, with the orders that bought and renewed it,
/// `{"orders": {"order": [{"uri", "id"}]}}`.
pub async fn list_subscription_orders(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let s = own(&state, &full, &raw).await?;
    let ids = state.store.subscription_order_ids(s.id).await?;
    let mut response = q.respond_with(&SubscriptionOrdersEnvelope {
        orders: SubscriptionOrders::new(&q, &ids),
    });
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}

/// `{"pendingActions": [...]}` (no docs sample: a list named after the resource).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingActionsEnvelope {
    /// Always empty here: every action is applied in the request that asks for it, so none
    /// is ever waiting (the docs' actions are asynchronous, `202 Accepted`).
    #[schema(value_type = Vec<Object>)]
    pub pending_actions: Vec<serde_json::Value>,
}

/// `GET /v1/subscriptions/{id}/pending-actions` → `202 Accepted` as
/// `getting-a-subscriptions-pending-actions.md` documents it: the actions requested and not
/// yet processed, of which Shopkeeper never has any (see [`PendingActionsEnvelope`]).
pub async fn list_pending_actions(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    own(&state, &full, &raw).await?;
    let mut response = q.respond_with(&PendingActionsEnvelope {
        pending_actions: Vec::new(),
    });
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}
