//! The token service: runs the grants of `POST /oauth20/token` (and the older
//! `GET /v1/shoppers/token`) against the store. HTTP parsing and error rendering live in
//! `http`; the pure rules in `domain::grant`.

pub mod authorize;
mod grants;
mod issue;
pub mod password;

pub use grants::exchange;
pub use issue::{TokenResponse, issue_anonymous};

use shopkeeper_domain::grant::GrantError;
use shopkeeper_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0:?}")]
    Grant(GrantError),
    /// 400 `unauthorized_client`: this client may not use this grant.
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    /// 400 `unauthorized_client`, with a reason built at run time.
    #[error("{0}")]
    UnauthorizedClientOwned(String),
    /// 401 `invalid_client`.
    #[error("{0}")]
    InvalidClient(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
    /// 429: too many failed password checks for this username or address; retry later.
    #[error("too many failed sign-ins")]
    Throttled(crate::guard::RetryAfter),
}

impl From<GrantError> for TokenError {
    fn from(e: GrantError) -> Self {
        TokenError::Grant(e)
    }
}
