//! Private stores as shoppers meet them: proving eligibility binds a plan to the shopper
//! session (`purchase-plan/authorize`), and the search finds the plans a claim opens. Both
//! guesses at codes and addresses are throttled as sign-ins are: by session and by client
//! address, each attempt counted before its check.

use crate::guard::RetryAfter;
use crate::state::AppState;
use shopkeeper_domain::purchase_plans::{AccessMethod, Claim};
use shopkeeper_domain::{ClientKind, SessionId, SiteId};
use shopkeeper_store::{PlanRuleRecord, PurchasePlanRecord};
use std::net::IpAddr;

/// Who asks: the session (none for a key alone), its client, and where from.
pub struct Asker<'a> {
    pub site_id: &'a SiteId,
    pub session_id: Option<&'a SessionId>,
    pub api_key: &'a shopkeeper_domain::ApiKey,
    pub address: IpAddr,
}

/// What an authorize came to.
pub enum Authorized {
    /// The session is now in the plan.
    Yes,
    /// No open plan of the site has that id (and target market).
    NoSuchPlan,
    /// The claim does not satisfy the plan's rules.
    Refused,
    /// Too many failed attempts from the session or the address: wait.
    Throttled(RetryAfter),
}

/// Whether the caller's key is confidential: only a server-side client may vouch for a
/// shopper (`bypassAccessRuleType`) or assert an address other than the request's own.
async fn trusted(state: &AppState, asker: &Asker<'_>) -> anyhow::Result<bool> {
    let client = state
        .store
        .client(asker.api_key, state.clock.now_millis())
        .await?;
    Ok(client.is_some_and(|c| c.kind == ClientKind::Confidential))
}

/// The claim as this caller may make it: a public client's address claim must be its own
/// address, and it may not vouch.
fn admissible(claim: &Claim, trusted: bool, address: IpAddr) -> bool {
    match claim {
        Claim::Bypass(_) => trusted,
        Claim::IpAddress(ip) => trusted || *ip == address,
        _ => true,
    }
}

/// Whether `claim` satisfies one of `rules` (a PIN checked against its hash; a claim with a
/// PIN and no rule to check it against is checked against the dummy hash, for equal timing).
async fn satisfies(
    state: &AppState,
    claim: &Claim,
    rules: &[&PlanRuleRecord],
    api_key: &shopkeeper_domain::ApiKey,
) -> anyhow::Result<bool> {
    let matching: Vec<&&PlanRuleRecord> = rules
        .iter()
        .filter(|r| r.rule().is_some_and(|rule| claim.matches(&rule)))
        .collect();
    let Some(pin) = claim.pin() else {
        return Ok(!matching.is_empty());
    };
    if matching.is_empty() {
        state.hasher.verify(pin.to_owned(), None, api_key).await?;
        return Ok(false);
    }
    for rule in matching {
        if state
            .hasher
            .verify(pin.to_owned(), rule.pin_hash.clone(), api_key)
            .await?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The throttle's key for a session's (or a key-only caller's) attempts.
fn throttle_identity(asker: &Asker<'_>) -> String {
    match asker.session_id {
        Some(s) => format!("purchase-plan\n{s}"),
        None => format!("purchase-plan\n{}", asker.address),
    }
}

/// `POST purchase-plan/authorize`: binds the session to the plan when the claim satisfies one
/// of its rules.
pub async fn authorize(
    state: &AppState,
    asker: &Asker<'_>,
    plan_id: i64,
    target_market_id: Option<i64>,
    claim: &Claim,
) -> anyhow::Result<Authorized> {
    let now = state.clock.now();
    let plan = state.store.purchase_plan(asker.site_id, plan_id).await?;
    let Some(plan) =
        plan.filter(|p| p.is_open(now) && target_market_id.is_none_or(|m| m == p.target_market_id))
    else {
        return Ok(Authorized::NoSuchPlan);
    };
    let Some(session_id) = asker.session_id else {
        return Ok(Authorized::Refused);
    };
    let reservation = match state.guard.reserve_sign_in(
        asker.site_id,
        None,
        &throttle_identity(asker),
        asker.address,
    ) {
        Ok(r) => r,
        Err(wait) => return Ok(Authorized::Throttled(wait)),
    };
    let rules = state
        .store
        .purchase_plan_rules(asker.site_id, Some(plan.id))
        .await?;
    let rules: Vec<&PlanRuleRecord> = rules.iter().collect();
    let ok = admissible(claim, trusted(state, asker).await?, asker.address)
        && satisfies(state, claim, &rules, asker.api_key).await?;
    if !ok {
        reservation.failed();
        return Ok(Authorized::Refused);
    }
    reservation.succeeded();
    let proven = match claim {
        Claim::EmailDomain(d) => {
            shopkeeper_domain::purchase_plans::normalize_rule_value(AccessMethod::EmailDomain, d)
                .ok()
        }
        other => other.email(),
    };
    state
        .store
        .authorize_session_plan(session_id, plan.id, proven.as_deref())
        .await?;
    Ok(Authorized::Yes)
}

/// `GET purchase-plan/search`: the site's open plans one of the claims opens (OR logic, as
/// the docs say). Claims with a PIN count as attempts against the throttle.
pub async fn search(
    state: &AppState,
    asker: &Asker<'_>,
    claims: &[Claim],
) -> Result<anyhow::Result<Vec<PurchasePlanRecord>>, RetryAfter> {
    let reservation = if claims.iter().any(|c| c.pin().is_some()) {
        Some(state.guard.reserve_sign_in(
            asker.site_id,
            None,
            &throttle_identity(asker),
            asker.address,
        )?)
    } else {
        None
    };
    let found = search_plans(state, asker, claims).await;
    if let Some(r) = reservation {
        match &found {
            Ok(plans) if !plans.is_empty() => r.succeeded(),
            Ok(_) => r.failed(),
            Err(_) => drop(r),
        }
    }
    Ok(found)
}

async fn search_plans(
    state: &AppState,
    asker: &Asker<'_>,
    claims: &[Claim],
) -> anyhow::Result<Vec<PurchasePlanRecord>> {
    let now = state.clock.now();
    let trusted = trusted(state, asker).await?;
    let rules = state.store.purchase_plan_rules(asker.site_id, None).await?;
    let mut found = Vec::new();
    for plan in state.store.purchase_plans(asker.site_id).await? {
        if !plan.is_open(now) {
            continue;
        }
        let own: Vec<&PlanRuleRecord> = rules.iter().filter(|r| r.plan_id == plan.id).collect();
        for claim in claims {
            if admissible(claim, trusted, asker.address)
                && satisfies(state, claim, &own, asker.api_key).await?
            {
                found.push(plan);
                break;
            }
        }
    }
    Ok(found)
}
