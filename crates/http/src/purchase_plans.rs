//! Private stores (purchase plans, `product-discovery/private-stores/`): the plan in effect for
//! the session, the search, and the authorize that binds a plan to the session. Also the two
//! things the catalog asks of them: whether a session may browse a private site, and the plan
//! prices a session sees.

use super::access::{Caller, Limited, TokenOptional};
use super::error::{Code, ShopperApiError};
use super::extract::AppJson;
use super::limits;
use super::shopper_api::{ApiQuery, ApiResult, bad_request, not_found};
use super::tolerant::{opt_i64, opt_scalar};
use super::views::purchase_plans::{
    PURCHASE_PLAN, PurchasePlanView, PurchasePlans, PurchasePlansEnvelope,
};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shopkeeper_domain::purchase_plans::{AccessMethod, Claim, PlanPricing};
use shopkeeper_services::purchase_plans::{self, Asker, Authorized};
use shopkeeper_services::state::AppState;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// `GET /v1/shoppers/me/purchase-plan`: the plan the session is authorized into, else the
/// site's own private store (the plan in effect, not yet authorized), else 404.
pub async fn get_purchase_plan(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    let plan = match state
        .store
        .session_purchase_plan(&p.session_id, state.clock.now())
        .await?
    {
        Some((plan, _)) => Some(plan),
        None => state
            .store
            .storefront_plan(&p.site_id)
            .await?
            .filter(|s| s.enabled),
    };
    let plan = plan.ok_or_else(|| not_found("the shopper session has no purchase plan"))?;
    Ok(q.respond_with(&PurchasePlanView::new(&q, &plan)))
}

/// The claims a search's query makes (each access method's parameters).
fn search_claims(q: &ApiQuery) -> ApiResult<Vec<Claim>> {
    let mut claims = Vec::new();
    if let Some(a) = q.get("emailAddress") {
        claims.push(Claim::EmailAddress(a.to_owned()));
    }
    if let Some(d) = q.get("emailDomain") {
        claims.push(Claim::EmailDomain(d.to_owned()));
    }
    match (q.get("emailInvitationAddress"), q.get("emailInvitationPin")) {
        (Some(address), Some(pin)) => claims.push(Claim::EmailInvitation {
            address: address.to_owned(),
            pin: pin.to_owned(),
        }),
        (Some(_), None) => {
            return Err(bad_request(
                "emailInvitationPin is required with emailInvitationAddress",
            ));
        }
        _ => {}
    }
    match (q.get("genericIdentifier"), q.get("genericIdentifierPin")) {
        (Some(name), Some(pin)) => claims.push(Claim::GenericIdentifier {
            name: name.to_owned(),
            pin: pin.to_owned(),
        }),
        (Some(_), None) => {
            return Err(bad_request(
                "genericIdentifierPin is required with genericIdentifier",
            ));
        }
        _ => {}
    }
    if let Some(ip) = q.get("ipAddress") {
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| bad_request(format!("ipAddress: `{ip}` is not an IP address")))?;
        claims.push(Claim::IpAddress(ip));
    }
    if let Some(u) = q.get("referralUrl") {
        claims.push(Claim::ReferralUrl(u.to_owned()));
    }
    Ok(claims)
}

/// `GET /v1/shoppers/me/purchase-plan/search`: the site's open plans one of the query's
/// claims opens (none without a claim).
pub async fn search_purchase_plans(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    TokenOptional(caller): TokenOptional,
    headers: HeaderMap,
    q: ApiQuery,
) -> ApiResult<Response> {
    let claims = search_claims(&q)?;
    let session_id = match &caller {
        Caller::Token(p) => Some(&p.session_id),
        Caller::ApiKey { .. } => None,
    };
    let asker = Asker {
        site_id: caller.site_id(),
        session_id,
        api_key: caller.api_key(),
        address: state.guard.client_ip(peer.ip(), &headers),
    };
    let plans = match purchase_plans::search(&state, &asker, &claims).await {
        Ok(found) => found.map_err(|e| ShopperApiError::from(super::error::internal(e)))?,
        Err(wait) => {
            return Ok(limits::shopper_api_too_many(
                wait,
                "too many failed private store codes: wait before trying again",
            ));
        }
    };
    Ok(q.respond_with(&PurchasePlansEnvelope {
        purchase_plans: PurchasePlans {
            uri: q.uri(&format!("{PURCHASE_PLAN}/search")),
            total_results: plans.len().to_string(),
            purchase_plan: plans.iter().map(|p| PurchasePlanView::new(&q, p)).collect(),
        },
    }))
}

/// `{"purchasePlanAuthorize": {...}}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeBody {
    purchase_plan_authorize: AuthorizeInput,
}

/// The plan and one access method's proof (`submitting-an-order-for-a-private-store.md`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizeInput {
    #[serde(default, deserialize_with = "opt_i64")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    target_market_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_scalar")]
    email_address: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    email_domain: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    email_invitation_address: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    email_invitation_pin: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    generic_identifier: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    generic_identifier_pin: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    ip_address: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    referral_url: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    bypass_access_rule_type: Option<String>,
}

const METHODS: &str = "emailAddress, emailDomain, emailInvitationAddress with \
    emailInvitationPin, genericIdentifier with genericIdentifierPin, ipAddress, referralUrl or \
    bypassAccessRuleType";

impl AuthorizeInput {
    /// The one access method the body proves.
    fn claim(self) -> ApiResult<Claim> {
        let mut claims = Vec::new();
        if let Some(a) = self.email_address {
            claims.push(Claim::EmailAddress(a));
        }
        if let Some(d) = self.email_domain {
            claims.push(Claim::EmailDomain(d));
        }
        match (self.email_invitation_address, self.email_invitation_pin) {
            (Some(address), Some(pin)) => claims.push(Claim::EmailInvitation { address, pin }),
            (None, None) => {}
            _ => {
                return Err(bad_request(
                    "purchasePlanAuthorize: emailInvitationAddress and emailInvitationPin go together",
                ));
            }
        }
        match (self.generic_identifier, self.generic_identifier_pin) {
            (Some(name), Some(pin)) => claims.push(Claim::GenericIdentifier { name, pin }),
            (None, None) => {}
            _ => {
                return Err(bad_request(
                    "purchasePlanAuthorize: genericIdentifier and genericIdentifierPin go together",
                ));
            }
        }
        if let Some(ip) = self.ip_address {
            let parsed: IpAddr = ip.trim().parse().map_err(|_| {
                bad_request(format!(
                    "purchasePlanAuthorize.ipAddress: `{ip}` is not an IP address"
                ))
            })?;
            claims.push(Claim::IpAddress(parsed));
        }
        if let Some(u) = self.referral_url {
            claims.push(Claim::ReferralUrl(u));
        }
        if let Some(kind) = self.bypass_access_rule_type {
            let method = AccessMethod::parse(&kind)
                .filter(|m| m.bypassable())
                .ok_or_else(|| {
                    bad_request(format!(
                        "purchasePlanAuthorize.bypassAccessRuleType: `{kind}` is not one of \
                         EmailAddress, EmailDomain, EmailInvitation, IpAddress"
                    ))
                })?;
            claims.push(Claim::Bypass(method));
        }
        match claims.len() {
            1 => Ok(claims.remove(0)),
            0 => Err(bad_request(format!(
                "purchasePlanAuthorize needs an access method: {METHODS}"
            ))),
            _ => Err(bad_request(format!(
                "purchasePlanAuthorize takes one access method: {METHODS}"
            ))),
        }
    }
}

/// `POST /v1/shoppers/me/purchase-plan/authorize`: 204 when the proof satisfies one of the
/// plan's rules (the session is then in the plan); 403 when it does not; 404 for a plan the
/// site does not have open; 429 after too many failures from the session or the address.
pub async fn authorize_purchase_plan(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Limited(p): Limited,
    headers: HeaderMap,
    AppJson(body): AppJson<AuthorizeBody>,
) -> ApiResult<Response> {
    let input = body.purchase_plan_authorize;
    let plan_id = input
        .id
        .ok_or_else(|| bad_request("purchasePlanAuthorize.id is required"))?;
    let target_market_id = input.target_market_id;
    let claim = input.claim()?;
    let asker = Asker {
        site_id: &p.site_id,
        session_id: Some(&p.session_id),
        api_key: &p.api_key,
        address: state.guard.client_ip(peer.ip(), &headers),
    };
    let outcome = purchase_plans::authorize(&state, &asker, plan_id, target_market_id, &claim)
        .await
        .map_err(|e| ShopperApiError::from(super::error::internal(e)))?;
    match outcome {
        Authorized::Yes => Ok(StatusCode::NO_CONTENT.into_response()),
        Authorized::NoSuchPlan => Err(not_found(format!(
            "purchase plan {plan_id}{}",
            target_market_id.map_or(String::new(), |m| format!(" of target market {m}"))
        ))),
        Authorized::Refused => Err(ShopperApiError::new(
            Code::Forbidden,
            format!("the shopper session could not be authorized for purchase plan {plan_id}"),
        )),
        Authorized::Throttled(wait) => Ok(limits::shopper_api_too_many(
            wait,
            "too many failed private store authorizations: wait before trying again",
        )),
    }
}

/// The plan prices the caller sees: those of the plan its session is authorized into, while
/// the plan is open. A key alone, or a session in no plan, sees the public prices.
pub(crate) async fn plan_pricing(
    state: &AppState,
    caller: &Caller,
) -> ApiResult<Option<Arc<PlanPricing>>> {
    let Caller::Token(p) = caller else {
        return Ok(None);
    };
    let snapshot = state
        .store
        .session_snapshot(&p.session_id, state.clock.now_millis())
        .await?;
    if snapshot.and_then(|s| s.purchase_plan_id).is_none() {
        return Ok(None);
    }
    let Some((plan, _)) = state
        .store
        .session_purchase_plan(&p.session_id, state.clock.now())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Arc::new(
        state.store.purchase_plan_pricing(&plan).await?,
    )))
}
