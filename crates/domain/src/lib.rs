//! Pure types and rules: no I/O lives here.

pub mod authorize;
pub mod client;
pub mod client_address;
pub mod csrf;
pub mod events;
pub mod jobs;
pub mod rate;
pub mod secret;
pub mod session;
pub mod site;
pub mod throttle;
pub mod time;

pub use client::{ApiKey, ClientKind};
pub use secret::{SecretHash, SessionToken, TokenValue};
pub use session::SessionId;
pub use site::{SessionTtl, SiteId};
pub mod access_policy;
pub mod address;
pub mod catalog;
pub mod checkout;
pub mod grant;
pub mod shopper;
pub mod sign_in;
