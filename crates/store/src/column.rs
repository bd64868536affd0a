//! Column types of the store's edge: how a stored value becomes a domain one as a row is
//! read (`#[sqlx(try_from = "...")]` on a record's field). Checked newtypes come through
//! their own `TryFrom<String>`; these are the columns whose reading is the store's choice.
//!
//! A flag column is an integer (0 or 1) on both engines, which sqlx's `Any` driver will not
//! decode as `bool`, so a flag is read through [`StoredFlag`] rather than carried as `i64`.

use crate::{StoreError, StoreResult};
use shopkeeper_domain::{ApiKey, ClientKind};
use sqlx::any::AnyTypeInfo;
use sqlx::decode::Decode;
use sqlx::error::BoxDynError;
use sqlx::types::Type;
use sqlx::{Any, Database};

/// An integer flag column: any value but 0 is set, as the code reading the integers did.
pub struct StoredFlag(bool);

impl Type<Any> for StoredFlag {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for StoredFlag {
    fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(<i64 as Decode<Any>>::decode(value)? != 0))
    }
}

impl From<StoredFlag> for bool {
    fn from(flag: StoredFlag) -> bool {
        flag.0
    }
}

/// The value a flag column stores.
pub fn flag(on: bool) -> i64 {
    i64::from(on)
}

/// A client's `kind` column. The column has a CHECK constraint; anything else would be a
/// corrupted row, and reading it as confidential (which needs a secret) fails closed.
pub struct StoredKind(ClientKind);

impl Type<Any> for StoredKind {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for StoredKind {
    fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let raw = <String as Decode<Any>>::decode(value)?;
        Ok(Self(
            ClientKind::try_from(raw).unwrap_or(ClientKind::Confidential),
        ))
    }
}

impl From<StoredKind> for ClientKind {
    fn from(kind: StoredKind) -> ClientKind {
        kind.0
    }
}

/// A session's `api_key` column: empty for a session no key has used yet (one started by
/// the `SessionToken` action without a key), else a key, checked as it is read.
pub struct StoredOptionalKey(Option<ApiKey>);

impl Type<Any> for StoredOptionalKey {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for StoredOptionalKey {
    fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let raw = <String as Decode<Any>>::decode(value)?;
        if raw.is_empty() {
            return Ok(Self(None));
        }
        Ok(Self(Some(ApiKey::try_from(raw)?)))
    }
}

impl From<StoredOptionalKey> for Option<ApiKey> {
    fn from(key: StoredOptionalKey) -> Option<ApiKey> {
        key.0
    }
}

/// The value a session's `api_key` column stores.
pub fn optional_key(key: Option<&ApiKey>) -> &str {
    key.map(ApiKey::as_str).unwrap_or_default()
}

/// A value read outside a record (a one-column query), checked as a record's field would be.
pub(crate) fn checked<T: TryFrom<String, Error = String>>(raw: String) -> StoreResult<T> {
    T::try_from(raw).map_err(|e| StoreError::Database(e.into()))
}
