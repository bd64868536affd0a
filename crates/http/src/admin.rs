//! The Admin API's access check, as one extractor: [`Admin`] finds the matched route's row in
//! `domain::admin_policy::ADMIN_ROUTES` and enforces it, so the table is the only place that
//! says who may call what.
//!
//! Credentials: `Authorization: Basic base64(key:secret)` — a confidential key with Admin APIs
//! permission — or `Authorization: Bearer <token>` from `POST /auth` (a staff user signed in
//! through such a key). Answers, in the Admin error shape: nothing usable, a wrong secret, an
//! unknown or expired token (a shopper's token included) → 401; a key without Admin APIs
//! permission, or a staff user without one of the row's roles → 403; a bare key where the row
//! needs a staff user → 401 (sign in through `/auth`).

use super::admin_error::AdminError;
use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use shopkeeper_domain::admin_policy::{self, AdminAccess, AdminRoute};
use shopkeeper_domain::staff::{Role, Roles};
use shopkeeper_domain::{ApiKey, SiteId};
use shopkeeper_services::auth::ClientAuthError;
use shopkeeper_services::auth::client::PresentedClient;
use shopkeeper_services::staff;
use shopkeeper_services::state::AppState;
use shopkeeper_store::Actor;

/// The signed-in staff user behind a request.
#[derive(Debug, Clone)]
pub struct StaffIdentity {
    pub id: i64,
    pub username: String,
    pub roles: Roles,
}

/// An Admin API caller, checked against its route's row.
#[derive(Debug, Clone)]
pub struct Admin {
    pub site_id: SiteId,
    pub api_key: ApiKey,
    pub staff: Option<StaffIdentity>,
    pub route: &'static AdminRoute,
}

impl Admin {
    /// Who to record in the audit trail.
    pub fn actor(&self) -> Actor {
        Actor {
            api_key: self.api_key.clone(),
            staff_user_id: self.staff.as_ref().map(|s| s.id),
        }
    }

    /// The name shown as who made a change (`generatedBy`): the staff user, else the key.
    pub fn display_name(&self) -> String {
        match &self.staff {
            Some(staff) => staff.username.clone(),
            None => self.api_key.to_string(),
        }
    }
}

/// "The user is not a Customer Service Representative/ Director/Supervisor." in the docs'
/// words (`refund-error-scenarios.md`), for any list of roles.
pub fn wrong_role_message(roles: &[Role]) -> String {
    let names: Vec<&str> = roles.iter().map(|r| r.display_name()).collect();
    format!("The user is not a {}.", names.join(" / "))
}

/// The `Authorization` header's text, trimmed (empty when absent or not text).
pub fn authorization(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default()
}

/// The token of `Bearer <token>` (the header only: the Admin API never reads one from the URL).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    authorization
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdminError> {
        let matched = parts
            .extensions
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        let Some(route) = admin_policy::admin_route(parts.method.as_str(), &matched) else {
            tracing::error!(path = %matched, "an admin handler without its row");
            return Err(AdminError::internal());
        };
        let authorization = authorization(&parts.headers);
        let admin = match bearer_token(authorization) {
            Some(token) => staff_caller(state, token, route).await?,
            None => key_caller(state, authorization, route).await?,
        };
        if let Err(wait) = state.guard.api_quota_check(admin.api_key.as_str()) {
            let mut refused = AdminError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate-limit-quota-exceeded",
                None,
                "The API key's request quota is used up; try again later.",
            );
            refused.retry_after = Some(wait.0);
            return Err(refused);
        }
        Ok(admin)
    }
}

async fn staff_caller(
    state: &AppState,
    token: &str,
    route: &'static AdminRoute,
) -> Result<Admin, AdminError> {
    let Some((record, client)) = staff::verify_staff_token(state, token).await? else {
        return Err(AdminError::unauthorized(
            "The token is invalid or expired: sign in through /auth with a confidential key \
             that has Admin APIs permission.",
        ));
    };
    if let AdminAccess::Staff(roles) = route.access {
        if !record.roles.any_of(roles) {
            return Err(AdminError::forbidden(
                "invalid-user-role",
                wrong_role_message(roles),
            ));
        }
    }
    Ok(Admin {
        site_id: client.site_id.clone(),
        api_key: client.api_key.clone(),
        staff: Some(StaffIdentity {
            id: record.staff_user_id,
            username: record.username,
            roles: record.roles,
        }),
        route,
    })
}

async fn key_caller(
    state: &AppState,
    authorization: &str,
    route: &'static AdminRoute,
) -> Result<Admin, AdminError> {
    let presented = PresentedClient::parse(
        (!authorization.is_empty()).then_some(authorization),
        None,
        None,
    )
    .map_err(|_| AdminError::unauthorized("Malformed credentials."))?;
    let client = presented
        .authenticate_admin(&state.store, state.clock.now_millis())
        .await
        .map_err(|e| match e {
            ClientAuthError::Forbidden(why) => {
                AdminError::forbidden("missing-admin-permission", why)
            }
            ClientAuthError::Store(s) => s.into(),
            _ => AdminError::unauthorized(
                "Authenticate with a confidential API key with Admin APIs permission and its \
                 secret (Basic).",
            ),
        })?;
    if let AdminAccess::Staff(roles) = route.access {
        let mut refused = AdminError::unauthorized(format!(
            "This request needs a Global Commerce user: sign in through /auth and send its \
             access token. {}",
            wrong_role_message(roles)
        ));
        refused.www_authenticate = Some("Bearer realm=\"admin\"");
        return Err(refused);
    }
    Ok(Admin {
        site_id: client.site_id.clone(),
        api_key: client.api_key.clone(),
        staff: None,
        route,
    })
}
