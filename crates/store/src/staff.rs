//! The merchant's staff users and their tokens (migration 0041). A token is kept only as its
//! hash, bound to the API key it was issued through; disabling a user, changing its password
//! or its roles deletes its tokens in the same transaction.

use super::column::{StoredFlag, flag};
use super::{Store, StoreError, StoreResult};
use shopkeeper_domain::staff::Roles;
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{ApiKey, SecretHash, SiteId};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct StaffUserRecord {
    pub id: i64,
    #[sqlx(try_from = "String")]
    #[serde(serialize_with = "serialize_display")]
    pub site_id: SiteId,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    #[serde(serialize_with = "serialize_roles")]
    pub roles: Roles,
    #[sqlx(try_from = "StoredFlag")]
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

fn serialize_display<S: serde::Serializer>(
    value: &SiteId,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.as_str())
}

fn serialize_roles<S: serde::Serializer>(roles: &Roles, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(roles.iter().map(|r| r.as_str()))
}

/// A live staff token: its user (enabled) and the key it was issued through.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffTokenRecord {
    pub staff_user_id: i64,
    pub username: String,
    #[sqlx(try_from = "String")]
    pub roles: Roles,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    #[sqlx(try_from = "String")]
    pub api_key: ApiKey,
    pub expires_at: i64,
}

/// `SELECT <columns> FROM staff_users` followed by the given literal tail.
macro_rules! select_staff {
    ($tail:literal) => {
        concat!(
            "SELECT id, site_id, username, password_hash, roles, disabled, created_at, \
             updated_at FROM staff_users ",
            $tail
        )
    };
}

impl Store {
    pub async fn create_staff_user(
        &self,
        site_id: &SiteId,
        username: &str,
        password_hash: &str,
        roles: &Roles,
        now: UnixSeconds,
    ) -> StoreResult<StaffUserRecord> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let taken: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM staff_users WHERE site_id = $1 AND lower(username) = lower($2)",
        )
        .bind(site_id.as_str())
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "a staff user named {username:?} already exists on site {site_id}"
            )));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO staff_users (site_id, username, password_hash, roles, disabled, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id",
        )
        .bind(site_id.as_str())
        .bind(username)
        .bind(password_hash)
        .bind(roles.to_stored())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.staff_user_by_id(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("staff user {id}")))
    }

    pub async fn staff_user_by_id(&self, id: i64) -> StoreResult<Option<StaffUserRecord>> {
        Ok(sqlx::query_as(select_staff!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }

    /// The user a name names on a site, without regard to case.
    pub async fn staff_user(
        &self,
        site_id: &SiteId,
        username: &str,
    ) -> StoreResult<Option<StaffUserRecord>> {
        Ok(sqlx::query_as(select_staff!(
            "WHERE site_id = $1 AND lower(username) = lower($2)"
        ))
        .bind(site_id.as_str())
        .bind(username)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn staff_users(&self, site_id: &SiteId) -> StoreResult<Vec<StaffUserRecord>> {
        Ok(
            sqlx::query_as(select_staff!("WHERE site_id = $1 ORDER BY id"))
                .bind(site_id.as_str())
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// Changes a user (any of: roles, password hash, disabled) and deletes its tokens in the
    /// same transaction: whoever held one signs in again under the new terms.
    pub async fn update_staff_user(
        &self,
        site_id: &SiteId,
        username: &str,
        change: StaffChange<'_>,
        now: UnixSeconds,
    ) -> StoreResult<StaffUserRecord> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM staff_users WHERE site_id = $1 AND lower(username) = lower($2)",
        )
        .bind(site_id.as_str())
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id,)) = found else {
            return Err(StoreError::NotFound(format!(
                "staff user {username:?} on site {site_id}"
            )));
        };
        match change {
            StaffChange::Roles(roles) => {
                sqlx::query("UPDATE staff_users SET roles = $1, updated_at = $2 WHERE id = $3")
                    .bind(roles.to_stored())
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            StaffChange::PasswordHash(hash) => {
                sqlx::query(
                    "UPDATE staff_users SET password_hash = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(hash)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            StaffChange::Disabled(disabled) => {
                sqlx::query("UPDATE staff_users SET disabled = $1, updated_at = $2 WHERE id = $3")
                    .bind(flag(disabled))
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query("DELETE FROM staff_tokens WHERE staff_user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.staff_user_by_id(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("staff user {id}")))
    }

    pub async fn insert_staff_token(
        &self,
        hash: &SecretHash,
        staff_user_id: i64,
        api_key: &ApiKey,
        now: UnixSeconds,
        expires_at: UnixSeconds,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO staff_tokens (token_hash, staff_user_id, api_key, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash.as_bytes().to_vec())
        .bind(staff_user_id)
        .bind(api_key.as_str())
        .bind(now)
        .bind(expires_at)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// The token's user and key, if the token is live at `now` and its user enabled.
    pub async fn staff_token(
        &self,
        hash: &SecretHash,
        now: UnixSeconds,
    ) -> StoreResult<Option<StaffTokenRecord>> {
        Ok(sqlx::query_as(
            "SELECT t.staff_user_id, u.username, u.roles, u.site_id, t.api_key, t.expires_at \
             FROM staff_tokens t JOIN staff_users u ON u.id = t.staff_user_id \
             WHERE t.token_hash = $1 AND t.expires_at > $2 AND u.disabled = 0",
        )
        .bind(hash.as_bytes().to_vec())
        .bind(now)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Deletes up to `batch` expired staff tokens (the clean-up).
    pub async fn purge_expired_staff_tokens(
        &self,
        now: UnixSeconds,
        batch: i64,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM staff_tokens WHERE token_hash IN \
             (SELECT token_hash FROM staff_tokens WHERE expires_at <= $1 LIMIT $2)",
        )
        .bind(now)
        .bind(batch)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes a token (signing out); whether it existed.
    pub async fn delete_staff_token(&self, hash: &SecretHash) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM staff_tokens WHERE token_hash = $1")
            .bind(hash.as_bytes().to_vec())
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// One change to a staff user.
pub enum StaffChange<'a> {
    Roles(&'a Roles),
    PasswordHash(&'a str),
    Disabled(bool),
}
