//! `GET /.well-known/oauth-authorization-server` (RFC 8414): where the endpoints are and what
//! they support, so standard client libraries can configure themselves.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use shopkeeper_domain::authorize::Profile;
use shopkeeper_services::state::AppState;
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

#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "operations",
    description = "RFC 8414 authorization server metadata. Access: none.",
    responses((status = 200, description = "The metadata", body = ServerMetadata))
)]
pub async fn metadata(State(state): State<AppState>) -> Json<ServerMetadata> {
    // The issuer is the public URL (`--public-url`), the same `iss` the authorize flow sends.
    let issuer = state.web.public_url.clone();
    let strict = state.web.profile == Profile::Strict;
    let at = |path: &str| format!("{issuer}{path}");
    Json(ServerMetadata {
        authorization_endpoint: at("/oauth20/authorize"),
        token_endpoint: at("/oauth20/token"),
        introspection_endpoint: at("/oauth20/introspect"),
        revocation_endpoint: at("/oauth20/revoke"),
        // Per profile: strict drops the implicit flow (`response_type=token`). The password
        // grant stays listed in both: strict still issues guest tokens through it.
        grant_types_supported: if strict {
            vec![
                "authorization_code",
                "password",
                "client_credentials",
                "refresh_token",
            ]
        } else {
            vec![
                "authorization_code",
                "password",
                "client_credentials",
                "refresh_token",
                "implicit",
            ]
        },
        response_types_supported: if strict {
            vec!["code"]
        } else {
            vec!["code", "token"]
        },
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
