//! Pure types and rules: no I/O lives here.

/// What every checked text id (`ApiKey`, `SiteId`, `SessionId`) offers beside its own `parse`
/// and `valid(&str) -> bool`: its text (`as_str`, `AsRef<str>`, `Display`) and
/// `TryFrom<String>` for a stored value, kept only if `valid` (a row holding anything else is
/// refused as it is read).
macro_rules! text_id {
    ($id:ident, $what:literal) => {
        impl $id {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $id {
            type Error = String;

            fn try_from(raw: String) -> Result<Self, String> {
                if Self::valid(&raw) {
                    Ok(Self(raw))
                } else {
                    Err(format!("not {}: {raw:?}", $what))
                }
            }
        }

        impl AsRef<str> for $id {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $id {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub mod authorize;
pub mod client;
pub mod client_address;
pub mod csrf;
pub mod events;
pub mod jobs;
pub mod secret;
pub mod session;
pub mod site;
pub mod staff;
pub mod throttle;
pub mod time;

pub use client::{ApiKey, ClientKind, Permissions};
pub use secret::{SecretHash, SessionToken, TokenValue};
pub use session::SessionId;
pub use site::{SessionTtl, SiteId};
pub mod access_policy;
pub mod address;
pub mod address_check;
pub mod admin_policy;
pub mod admin_tasks;
pub mod authorized_countries;
pub mod catalog;
pub mod checkout;
pub mod financing;
pub mod grant;
pub mod invoices;
pub mod offer_import;
pub mod offers;
pub mod payment_methods;
pub mod plan_import;
pub mod purchase_plans;
pub mod refunds;
pub mod returns;
pub mod shopper;
pub mod sign_in;
pub mod subscriptions;
pub mod tax_registrations;
pub mod wish_lists;
