//! Client (API key) authentication for the token endpoint.
//!
//! What existing clients send, all accepted: `Basic base64(key:secret)` (confidential),
//! `Basic base64(key:)`, `Basic base64(key)` or `client_id=KEY` (public; a public key's secret
//! is never used), and — as seeds 002 and 004 show — `Bearer <access token>`, which names the
//! key the token was issued to. A bearer proves only what a public key proves: it may be held
//! by a browser, so it never stands in for a confidential key's secret.

use super::principal::{Principal, TokenVerifier, VerifyError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use shopkeeper_domain::{ApiKey, ClientKind, SecretHash};
use shopkeeper_store::{ClientRecord, Store, StoreError};
use std::sync::Arc;

/// What the request presented, parsed but not yet checked.
#[derive(Debug)]
pub enum PresentedClient {
    Basic { key: ApiKey, secret: Option<String> },
    Bearer(String),
    Params { key: ApiKey, secret: Option<String> },
    Nothing,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// 401 `invalid_client`.
    #[error("{0}")]
    InvalidClient(&'static str),
    /// 400 `invalid_request`.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// An authenticated key without the permission the API needs.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub record: Arc<ClientRecord>,
    /// True when a confidential key proved its secret (client_credentials needs it).
    pub secret_verified: bool,
    /// The access token that identified the client, when it came as `Authorization: Bearer`.
    pub bearer: Option<Arc<Principal>>,
}

impl AuthenticatedClient {
    pub fn kind(&self) -> ClientKind {
        self.record.kind
    }
}

impl PresentedClient {
    /// Reads the `Authorization` header and the `client_id`/`client_secret` parameters.
    pub fn parse(
        authorization: Option<&str>,
        client_id: Option<&str>,
        client_secret: Option<&str>,
    ) -> Result<Self, ClientAuthError> {
        let from_header = match authorization {
            None => None,
            Some(value) => Some(parse_authorization(value)?),
        };
        let from_params = match client_id {
            None if client_secret.is_some() => {
                return Err(ClientAuthError::InvalidRequest(
                    "client_secret given without client_id",
                ));
            }
            None => None,
            Some(id) => Some((
                ApiKey::parse(id).ok_or(ClientAuthError::InvalidClient("unknown client"))?,
                client_secret.map(str::to_owned),
            )),
        };
        match (from_header, from_params) {
            (None, None) => Ok(PresentedClient::Nothing),
            (Some(h), None) => Ok(h),
            (None, Some((key, secret))) => Ok(PresentedClient::Params { key, secret }),
            (Some(PresentedClient::Basic { key, secret }), Some((pkey, psecret))) => {
                // Both forms at once must name the same client; a secret in both is ambiguous.
                if key != pkey || (secret.is_some() && psecret.is_some()) {
                    return Err(ClientAuthError::InvalidRequest(
                        "client identified more than once, inconsistently",
                    ));
                }
                Ok(PresentedClient::Basic {
                    key,
                    secret: secret.or(psecret),
                })
            }
            (Some(PresentedClient::Bearer(_)), Some((key, secret))) => {
                // A bearer header with client_id: the client_id authenticates the client; the
                // bearer is then only the token's own claim, checked by the grant.
                Ok(PresentedClient::Params { key, secret })
            }
            (Some(other), Some(_)) => Ok(other),
        }
    }

    pub async fn authenticate(
        self,
        store: &Store,
        verifier: &TokenVerifier,
    ) -> Result<AuthenticatedClient, ClientAuthError> {
        let (key, secret, bearer) = match self {
            PresentedClient::Nothing => {
                return Err(ClientAuthError::InvalidClient(
                    "client authentication required",
                ));
            }
            PresentedClient::Basic { key, secret } | PresentedClient::Params { key, secret } => {
                (key, secret, None)
            }
            PresentedClient::Bearer(token) => {
                let principal = verifier.verify(&token).await.map_err(|e| match e {
                    VerifyError::Invalid => {
                        ClientAuthError::InvalidClient("the bearer token is invalid or expired")
                    }
                    VerifyError::Store(s) => ClientAuthError::Store(s),
                })?;
                (principal.api_key.clone(), None, Some(principal))
            }
        };
        let record = store
            .client(&key, verifier.clock().now_millis())
            .await?
            .filter(|c| !c.disabled && c.permissions.shopper)
            .ok_or(ClientAuthError::InvalidClient("unknown or disabled client"))?;
        let secret_verified = match (record.kind, secret, &bearer) {
            (ClientKind::Public, _, _) => false,
            (ClientKind::Confidential, Some(secret), _) => {
                let presented = SecretHash::of(&secret);
                let ok = record
                    .secret_hash()
                    .map(|stored| stored.ct_eq(&presented))
                    .unwrap_or(false);
                if !ok {
                    return Err(ClientAuthError::InvalidClient(
                        "client authentication failed",
                    ));
                }
                true
            }
            (ClientKind::Confidential, None, Some(_)) => false,
            (ClientKind::Confidential, None, None) => {
                return Err(ClientAuthError::InvalidClient(
                    "a confidential client must authenticate with its secret",
                ));
            }
        };
        Ok(AuthenticatedClient {
            record,
            secret_verified,
            bearer,
        })
    }
}

impl PresentedClient {
    /// The Admin API's key check: a confidential key with Admin APIs permission, enabled,
    /// presented with its secret (`Basic base64(key:secret)`); a bearer token or a key alone
    /// proves nothing here.
    pub async fn authenticate_admin(
        self,
        store: &Store,
        now_millis: u64,
    ) -> Result<Arc<ClientRecord>, ClientAuthError> {
        let (key, secret) = match self {
            PresentedClient::Basic { key, secret } | PresentedClient::Params { key, secret } => {
                (key, secret)
            }
            PresentedClient::Bearer(_) | PresentedClient::Nothing => {
                return Err(ClientAuthError::InvalidClient(
                    "authenticate with a confidential API key and its secret",
                ));
            }
        };
        let record = store
            .client(&key, now_millis)
            .await?
            .filter(|c| !c.disabled)
            .ok_or(ClientAuthError::InvalidClient("unknown or disabled client"))?;
        let presented = secret.map(|s| SecretHash::of(&s));
        let secret_ok = match (record.secret_hash(), presented) {
            (Some(stored), Some(presented)) => stored.ct_eq(&presented),
            _ => false,
        };
        if record.kind != ClientKind::Confidential || !secret_ok {
            return Err(ClientAuthError::InvalidClient(
                "client authentication failed",
            ));
        }
        if !record.permissions.admin {
            return Err(ClientAuthError::Forbidden(
                "the API key has no Admin APIs permission",
            ));
        }
        Ok(record)
    }
}

fn parse_authorization(value: &str) -> Result<PresentedClient, ClientAuthError> {
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(ClientAuthError::InvalidClient(
                "malformed Basic credentials",
            ))?;
        let (key, secret) = match decoded.split_once(':') {
            Some((k, s)) => (k, (!s.is_empty()).then(|| s.to_owned())),
            None => (decoded.as_str(), None),
        };
        let key = ApiKey::parse(key).ok_or(ClientAuthError::InvalidClient("unknown client"))?;
        Ok(PresentedClient::Basic { key, secret })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err(ClientAuthError::InvalidClient("empty bearer token"));
        }
        Ok(PresentedClient::Bearer(rest.to_owned()))
    } else {
        Err(ClientAuthError::InvalidClient(
            "unsupported Authorization scheme (use Basic)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn basic_forms_of_a_public_key() {
        for raw in ["key1:", "key1"] {
            match PresentedClient::parse(Some(&basic(raw)), None, None).unwrap() {
                PresentedClient::Basic { key, secret } => {
                    assert_eq!(key.as_str(), "key1");
                    assert!(secret.is_none());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn basic_with_secret_keeps_colons_in_the_secret() {
        match PresentedClient::parse(Some(&basic("k:a:b")), None, None).unwrap() {
            PresentedClient::Basic { secret, .. } => assert_eq!(secret.as_deref(), Some("a:b")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn malformed_headers_are_invalid_client() {
        for h in ["Basic !!!", "Digest abc", "Bearer ", "Basic"] {
            assert!(matches!(
                PresentedClient::parse(Some(h), None, None),
                Err(ClientAuthError::InvalidClient(_))
            ));
        }
    }

    #[test]
    fn header_and_client_id_must_agree() {
        assert!(PresentedClient::parse(Some(&basic("a:")), Some("a"), None).is_ok());
        assert!(matches!(
            PresentedClient::parse(Some(&basic("a:")), Some("b"), None),
            Err(ClientAuthError::InvalidRequest(_))
        ));
    }
}
