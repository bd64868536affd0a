//! Column types of the store's edge: how a stored value becomes a domain one as a row is
//! read (`#[sqlx(try_from = "...")]` on a record's field). Checked newtypes come through
//! their own `TryFrom<String>`; these are the columns whose reading is the store's choice.
//!
//! A flag column is an integer (0 or 1) on both engines, which sqlx's `Any` driver will not
//! decode as `bool`, so a flag is read through [`StoredFlag`] rather than carried as `i64`.

use crate::{StoreError, StoreResult};
use shopkeeper_domain::subscriptions::{Plan, SubscriptionState};
use shopkeeper_domain::{ApiKey, ClientKind};
use sqlx::any::AnyTypeInfo;
use sqlx::decode::Decode;
use sqlx::error::BoxDynError;
use sqlx::types::Type;
use sqlx::{Any, Database};

/// A column read as `$raw` and turned into `$value` by `$read` as the row is read; a record's
/// field names it in `#[sqlx(try_from = "...")]`.
macro_rules! column {
    ($(#[$doc:meta])* $name:ident($value:ty) from $raw:ty, $read:expr) => {
        $(#[$doc])*
        pub struct $name($value);

        impl Type<Any> for $name {
            fn type_info() -> AnyTypeInfo {
                <$raw as Type<Any>>::type_info()
            }

            fn compatible(ty: &AnyTypeInfo) -> bool {
                <$raw as Type<Any>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Any> for $name {
            fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let read: fn($raw) -> Result<$value, BoxDynError> = $read;
                Ok(Self(read(<$raw as Decode<Any>>::decode(value)?)?))
            }
        }

        impl From<$name> for $value {
            fn from(column: $name) -> $value {
                column.0
            }
        }
    };
}

column!(
    /// An integer flag column: any value but 0 is set, as the code reading the integers did.
    StoredFlag(bool) from i64,
    |raw| Ok(raw != 0)
);

column!(
    /// A subscription's `state` column, one of the docs' five.
    StoredSubscriptionState(SubscriptionState) from String,
    |raw| SubscriptionState::parse(&raw).ok_or_else(|| format!("{raw:?} is not a subscription state").into())
);

column!(
    /// A subscription's `plan` column (JSON), the plan it was sold on.
    StoredSubscriptionPlan(Plan) from String,
    |raw| Ok(serde_json::from_str(&raw)?)
);

/// The value a flag column stores.
pub fn flag(on: bool) -> i64 {
    i64::from(on)
}

column!(
    /// A client's `kind` column. The column has a CHECK constraint; anything else would be a
    /// corrupted row, and reading it as confidential (which needs a secret) fails closed.
    StoredKind(ClientKind) from String,
    |raw| Ok(ClientKind::try_from(raw).unwrap_or(ClientKind::Confidential))
);

column!(
    /// A session's `api_key` column: empty for a session no key has used yet (one started by
    /// the `SessionToken` action without a key), else a key, checked as it is read.
    StoredOptionalKey(Option<ApiKey>) from String,
    |raw| match raw.is_empty() {
        true => Ok(None),
        false => Ok(Some(ApiKey::try_from(raw)?)),
    }
);

/// The value a session's `api_key` column stores.
pub fn optional_key(key: Option<&ApiKey>) -> &str {
    key.map(ApiKey::as_str).unwrap_or_default()
}

/// A value read outside a record (a one-column query), checked as a record's field would be.
pub(crate) fn checked<T: TryFrom<String, Error = String>>(raw: String) -> StoreResult<T> {
    T::try_from(raw).map_err(|e| StoreError::Database(e.into()))
}
