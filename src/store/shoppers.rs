use super::tokens::revoke_before_sign_in;
use super::{Store, StoreError, StoreResult};
use crate::domain::SecretHash;
use crate::domain::time::now;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ShopperRecord {
    pub id: i64,
    pub site_id: String,
    pub username: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub email: Option<String>,
    pub external_reference_id: Option<String>,
}

/// A shopper whose login we keep (username + Argon2id PHC string) or whose login the client
/// keeps (external reference id).
pub enum NewShopper<'a> {
    Credentials {
        username: &'a str,
        password_hash: &'a str,
        email: Option<&'a str>,
    },
    External {
        external_reference_id: &'a str,
        email: Option<&'a str>,
    },
}

/// `SELECT <columns> FROM ...` followed by the given literal tail (sqlx wants literal SQL).
macro_rules! select_shoppers {
    ($tail:literal) => {
        concat!(
            "SELECT ",
            "id, site_id, username, password_hash, email, external_reference_id FROM shoppers",
            " ",
            $tail
        )
    };
}

impl Store {
    pub async fn create_shopper(
        &self,
        site_id: &str,
        new: NewShopper<'_>,
    ) -> StoreResult<ShopperRecord> {
        let (username, password_hash, external, email) = match new {
            NewShopper::Credentials {
                username,
                password_hash,
                email,
            } => (Some(username), Some(password_hash), None, email),
            NewShopper::External {
                external_reference_id,
                email,
            } => (None, None, Some(external_reference_id), email),
        };
        let row: (i64,) = sqlx::query_as(
            "INSERT INTO shoppers (site_id, username, password_hash, email, \
             external_reference_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(site_id)
        .bind(username)
        .bind(password_hash)
        .bind(email)
        .bind(external)
        .bind(now())
        .fetch_one(&mut *self.writer().await?)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict("shopper".into()),
            StoreError::Database(e) if e.to_string().contains("FOREIGN KEY") => {
                StoreError::NotFound(format!("site {site_id}"))
            }
            other => other,
        })?;
        self.shopper(row.0)
            .await?
            .ok_or_else(|| StoreError::NotFound("shopper".into()))
    }

    pub async fn shopper(&self, id: i64) -> StoreResult<Option<ShopperRecord>> {
        Ok(sqlx::query_as(select_shoppers!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }

    /// The shopper of `site_id` whose username is `username` without regard to case, as the
    /// database folds it: the comparison of the unique index `shoppers_username_folded`
    /// (migration 0012), which it searches, so at most one shopper matches.
    pub async fn shopper_by_username(
        &self,
        site_id: &str,
        username: &str,
    ) -> StoreResult<Option<ShopperRecord>> {
        Ok(sqlx::query_as(select_shoppers!(
            "WHERE site_id = $1 AND lower(username) = lower($2)"
        ))
        .bind(site_id)
        .bind(username)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Gives shopper `id` of `site_id` (one with a username) a new username, refused
    /// (`Conflict`) when another shopper of the site has it in any case. Checked here as well
    /// as by the index, because this also repairs a database from before the index (whose
    /// usernames clash, see `migrate`), where nothing else would stop a new clash.
    pub async fn rename_shopper(
        &self,
        site_id: &str,
        id: i64,
        username: &str,
    ) -> StoreResult<ShopperRecord> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM shoppers WHERE id = $1 AND site_id = $2 AND username IS NOT NULL",
        )
        .bind(id)
        .bind(site_id)
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            return Err(StoreError::NotFound(format!(
                "shopper {id} with a username on site {site_id}"
            )));
        }
        let taken: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM shoppers WHERE site_id = $1 AND lower(username) = lower($2) \
             AND id <> $3",
        )
        .bind(site_id)
        .bind(username)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict("username".into()));
        }
        sqlx::query("UPDATE shoppers SET username = $1 WHERE id = $2")
            .bind(username)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(username_taken)?;
        tx.commit().await?;
        drop(writer);
        // The username shows in the shopper's sessions' views.
        self.snapshots.forget_all();
        self.shopper(id)
            .await?
            .ok_or_else(|| StoreError::NotFound("shopper".into()))
    }

    pub async fn shopper_by_external_reference(
        &self,
        site_id: &str,
        external_reference_id: &str,
    ) -> StoreResult<Option<ShopperRecord>> {
        Ok(sqlx::query_as(select_shoppers!(
            "WHERE site_id = $1 AND external_reference_id = $2"
        ))
        .bind(site_id)
        .bind(external_reference_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Gives shopper `id` of `site_id` (one whose login we keep) a new password hash and ends
    /// every session of theirs (tokens, browser handles, unredeemed codes), as a reset after
    /// a suspected compromise must. Returns the revoked access tokens for the check caches.
    pub async fn set_shopper_password(
        &self,
        site_id: &str,
        id: i64,
        password_hash: &str,
    ) -> StoreResult<Vec<SecretHash>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let done = sqlx::query(
            "UPDATE shoppers SET password_hash = $1 \
             WHERE id = $2 AND site_id = $3 AND password_hash IS NOT NULL",
        )
        .bind(password_hash)
        .bind(id)
        .bind(site_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "shopper {id} with a password on site {site_id}"
            )));
        }
        let sessions: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM shopper_sessions WHERE shopper_id = $1 AND ended_at IS NULL",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let mut revoked = Vec::new();
        for (session_id,) in &sessions {
            sqlx::query("UPDATE shopper_sessions SET ended_at = $1 WHERE id = $2")
                .bind(now())
                .bind(session_id)
                .execute(&mut *tx)
                .await?;
            revoked.extend(revoke_before_sign_in(&mut tx, session_id, None).await?);
        }
        sqlx::query("DELETE FROM authorization_codes WHERE shopper_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        drop(writer);
        for (session_id,) in &sessions {
            self.snapshots.forget(session_id);
        }
        Ok(revoked)
    }

    pub async fn shoppers(&self, site_id: &str) -> StoreResult<Vec<ShopperRecord>> {
        Ok(
            sqlx::query_as(select_shoppers!("WHERE site_id = $1 ORDER BY id"))
                .bind(site_id)
                .fetch_all(&self.read)
                .await?,
        )
    }
}

/// A write's error, with a unique violation named as the username it is about (the only
/// unique key a shopper write can break besides the external reference id, which no
/// username write touches).
pub(super) fn username_taken(e: sqlx::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("username".into()),
        other => other,
    }
}
