//! `GET /.well-known/oauth-authorization-server` (RFC 8414): where the endpoints are and what
//! they support, so standard client libraries can configure themselves.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ServerMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    grant_types_supported: Vec<&'static str>,
    response_types_supported: Vec<&'static str>,
    code_challenge_methods_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
}

/// The issuer: the configured one, else `http://` + `Host` (local use; see `--issuer`).
fn issuer(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(configured) = &state.operations.issuer {
        return configured.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "operations",
    description = "RFC 8414 authorization server metadata. Access: none.",
    responses((status = 200, description = "The metadata", body = ServerMetadata))
)]
pub async fn metadata(State(state): State<AppState>, headers: HeaderMap) -> Json<ServerMetadata> {
    let issuer = issuer(&state, &headers);
    let at = |path: &str| format!("{issuer}{path}");
    Json(ServerMetadata {
        authorization_endpoint: at("/oauth20/authorize"),
        token_endpoint: at("/oauth20/token"),
        introspection_endpoint: at("/oauth20/introspect"),
        revocation_endpoint: at("/oauth20/revoke"),
        // The documented grants; `implicit` is the authorize page's `response_type=token`.
        grant_types_supported: vec![
            "password",
            "client_credentials",
            "refresh_token",
            "implicit",
        ],
        response_types_supported: vec!["token"],
        code_challenge_methods_supported: vec!["S256"],
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        introspection_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
        ],
        revocation_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        issuer,
    })
}
