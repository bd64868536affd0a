//! Verifying credentials: client authentication, shopper passwords, bearer tokens.

pub mod client;
pub mod password;
pub mod principal;

pub use client::{AuthenticatedClient, ClientAuthError, PresentedClient};
pub use password::PasswordHasher;
pub use principal::{AccessLevel, Principal, TokenVerifier, VerifyError};
