use super::tokens::revoke_before_sign_in;
use super::{Store, StoreError, StoreResult};
use serde::Serialize;
use shopkeeper_domain::sign_in::{Found, account_named, may_be_email};
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{SecretHash, SessionId, SiteId};

/// What a refused shopper write was about (`StoreError::Conflict`): each is unique per site.
pub const TAKEN_USERNAME: &str = "username";
pub const TAKEN_EMAIL: &str = "e-mail address";
pub const TAKEN_EXTERNAL_REFERENCE: &str = "external reference id";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ShopperRecord {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
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
        /// The storefront's own id of the shopper, when it keeps one as well.
        external_reference_id: Option<&'a str>,
    },
    External {
        external_reference_id: &'a str,
        email: Option<&'a str>,
        /// A name for a client-hosted shopper; no password goes with it.
        username: Option<&'a str>,
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

/// A sign-in lookup's row: the shopper, and its username, e-mail and the typed identifier as
/// the database folds them.
#[derive(sqlx::FromRow)]
struct SignInRow {
    #[sqlx(flatten)]
    shopper: ShopperRecord,
    folded_username: Option<String>,
    folded_email: Option<String>,
    folded_identifier: String,
}

/// The sign-in lookup of shoppers of site `$1` for identifier `$2` matching `$condition`.
macro_rules! select_sign_in {
    ($condition:literal) => {
        concat!(
            "SELECT id, site_id, username, password_hash, email, external_reference_id, ",
            "lower(username) AS folded_username, lower(email) AS folded_email, ",
            "lower($2) AS folded_identifier FROM shoppers WHERE site_id = $1 AND ",
            $condition
        )
    };
}

/// The names a shopper signs in with, each unique per site without regard to case.
#[derive(Clone, Copy)]
enum LoginName {
    Username,
    Email,
}

impl LoginName {
    /// The shopper whose name may be set ($1 id, $2 site).
    fn owner(self) -> &'static str {
        match self {
            Self::Username => {
                "SELECT id FROM shoppers WHERE id = $1 AND site_id = $2 AND username IS NOT NULL"
            }
            Self::Email => "SELECT id FROM shoppers WHERE id = $1 AND site_id = $2",
        }
    }

    fn owner_condition(self) -> &'static str {
        match self {
            Self::Username => " with a username",
            Self::Email => "",
        }
    }

    /// Another shopper of site $1 with the name $2 in any case ($3: the one being changed).
    fn holder(self) -> &'static str {
        match self {
            Self::Username => {
                "SELECT id FROM shoppers WHERE site_id = $1 AND lower(username) = lower($2) \
                 AND id <> $3"
            }
            Self::Email => {
                "SELECT id FROM shoppers WHERE site_id = $1 AND email IS NOT NULL \
                 AND lower(email) = lower($2) AND id <> $3"
            }
        }
    }

    fn update(self) -> &'static str {
        match self {
            Self::Username => "UPDATE shoppers SET username = $1 WHERE id = $2",
            Self::Email => "UPDATE shoppers SET email = $1 WHERE id = $2",
        }
    }

    fn taken(self) -> &'static str {
        match self {
            Self::Username => TAKEN_USERNAME,
            Self::Email => TAKEN_EMAIL,
        }
    }
}

impl Store {
    pub async fn create_shopper(
        &self,
        site_id: &SiteId,
        new: NewShopper<'_>,
        now: UnixSeconds,
    ) -> StoreResult<ShopperRecord> {
        let (username, password_hash, external, email) = match new {
            NewShopper::Credentials {
                username,
                password_hash,
                email,
                external_reference_id,
            } => (
                Some(username),
                Some(password_hash),
                external_reference_id,
                email,
            ),
            NewShopper::External {
                external_reference_id,
                email,
                username,
            } => (username, None, Some(external_reference_id), email),
        };
        let row: (i64,) = sqlx::query_as(
            "INSERT INTO shoppers (site_id, username, password_hash, email, \
             external_reference_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(site_id.as_str())
        .bind(username)
        .bind(password_hash)
        .bind(email)
        .bind(external)
        .bind(now)
        .fetch_one(&mut *self.writer().await?)
        .await
        .map_err(|e| match shopper_conflict(e) {
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
        site_id: &SiteId,
        username: &str,
    ) -> StoreResult<Option<ShopperRecord>> {
        Ok(sqlx::query_as(select_shoppers!(
            "WHERE site_id = $1 AND lower(username) = lower($2)"
        ))
        .bind(site_id.as_str())
        .bind(username)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The shopper of `site_id` a sign-in identifier names: by username without regard to
    /// case, or, for an identifier with an `@` that is no username, by e-mail address
    /// without regard to case (`domain::sign_in::account_named`). One query either way,
    /// searching the unique indexes of 0012 and 0016, so an unknown name costs what a known
    /// one does.
    pub async fn shopper_for_sign_in(
        &self,
        site_id: &SiteId,
        identifier: &str,
    ) -> StoreResult<Option<ShopperRecord>> {
        let query = if may_be_email(identifier) {
            sqlx::query_as(select_sign_in!(
                "(lower(username) = lower($2) OR (email IS NOT NULL AND lower(email) = lower($2)))"
            ))
        } else {
            sqlx::query_as(select_sign_in!("lower(username) = lower($2)"))
        };
        let rows: Vec<SignInRow> = query
            .bind(site_id.as_str())
            .bind(identifier)
            .fetch_all(&self.read)
            .await?;
        let found = rows
            .into_iter()
            .map(|row| Found {
                account: row.shopper,
                folded_username: row.folded_username,
                folded_email: row.folded_email,
                folded_identifier: row.folded_identifier,
            })
            .collect();
        Ok(account_named(identifier, found))
    }

    /// Sets (or with `None` clears) the e-mail address of shopper `id` of `site_id`, refused
    /// (`Conflict`) when another shopper of the site has it in any case.
    pub async fn set_shopper_email(
        &self,
        site_id: &SiteId,
        id: i64,
        email: Option<&str>,
    ) -> StoreResult<ShopperRecord> {
        self.set_login_name(LoginName::Email, site_id, id, email)
            .await
    }

    /// Gives shopper `id` of `site_id` (one with a username) a new username, refused
    /// (`Conflict`) when another shopper of the site has it in any case.
    pub async fn rename_shopper(
        &self,
        site_id: &SiteId,
        id: i64,
        username: &str,
    ) -> StoreResult<ShopperRecord> {
        self.set_login_name(LoginName::Username, site_id, id, Some(username))
            .await
    }

    /// Sets a name a shopper signs in with. The clash is checked here as well as by the
    /// index, because this also repairs a database from before the index (whose names clash,
    /// see `migrate`), where nothing else would stop a new clash.
    async fn set_login_name(
        &self,
        name: LoginName,
        site_id: &SiteId,
        id: i64,
        value: Option<&str>,
    ) -> StoreResult<ShopperRecord> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let found: Option<(i64,)> = sqlx::query_as(name.owner())
            .bind(id)
            .bind(site_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Err(StoreError::NotFound(format!(
                "shopper {id}{} on site {site_id}",
                name.owner_condition()
            )));
        }
        if let Some(value) = value {
            let taken: Option<(i64,)> = sqlx::query_as(name.holder())
                .bind(site_id.as_str())
                .bind(value)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(name.taken().into()));
            }
        }
        sqlx::query(name.update())
            .bind(value)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(shopper_conflict)?;
        tx.commit().await?;
        drop(writer);
        // The name shows in the shopper's sessions' views.
        self.snapshots.forget_all();
        self.shopper(id)
            .await?
            .ok_or_else(|| StoreError::NotFound("shopper".into()))
    }

    pub async fn shopper_by_external_reference(
        &self,
        site_id: &SiteId,
        external_reference_id: &str,
    ) -> StoreResult<Option<ShopperRecord>> {
        Ok(sqlx::query_as(select_shoppers!(
            "WHERE site_id = $1 AND external_reference_id = $2"
        ))
        .bind(site_id.as_str())
        .bind(external_reference_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Gives shopper `id` of `site_id` (one whose login we keep) a new password hash and ends
    /// every session of theirs (tokens, browser handles, unredeemed codes), as a reset after
    /// a suspected compromise must. Returns the revoked access tokens for the check caches.
    pub async fn set_shopper_password(
        &self,
        site_id: &SiteId,
        id: i64,
        password_hash: &str,
        now: UnixSeconds,
    ) -> StoreResult<Vec<SecretHash>> {
        self.new_password(site_id, id, password_hash, None, now)
            .await
    }

    /// The shopper's own password change (`POST /v1/shoppers/me` with a full token): like
    /// [`Self::set_shopper_password`], except that the session making the change goes on.
    /// Every other session of theirs ends.
    pub async fn change_shopper_password(
        &self,
        site_id: &SiteId,
        id: i64,
        password_hash: &str,
        keep: &SessionId,
        now: UnixSeconds,
    ) -> StoreResult<Vec<SecretHash>> {
        self.new_password(site_id, id, password_hash, Some(keep), now)
            .await
    }

    async fn new_password(
        &self,
        site_id: &SiteId,
        id: i64,
        password_hash: &str,
        keep: Option<&SessionId>,
        now: UnixSeconds,
    ) -> StoreResult<Vec<SecretHash>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let done = sqlx::query(
            "UPDATE shoppers SET password_hash = $1 \
             WHERE id = $2 AND site_id = $3 AND password_hash IS NOT NULL",
        )
        .bind(password_hash)
        .bind(id)
        .bind(site_id.as_str())
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
        let sessions: Vec<(String,)> = sessions
            .into_iter()
            .filter(|(s,)| keep.is_none_or(|k| k.as_str() != s))
            .collect();
        let mut revoked = Vec::new();
        for (session_id,) in &sessions {
            sqlx::query("UPDATE shopper_sessions SET ended_at = $1 WHERE id = $2")
                .bind(now)
                .bind(session_id.as_str())
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

    pub async fn shoppers(&self, site_id: &SiteId) -> StoreResult<Vec<ShopperRecord>> {
        Ok(
            sqlx::query_as(select_shoppers!("WHERE site_id = $1 ORDER BY id"))
                .bind(site_id.as_str())
                .fetch_all(&self.read)
                .await?,
        )
    }
}

/// A shopper write's error, with a unique violation named as what it is about
/// (`TAKEN_*`), told apart by the index or columns the database names in its message
/// (`shoppers_email_folded`, `shoppers_username_folded`, `shoppers.external_reference_id`,
/// ...; SQLite and PostgreSQL both name them).
pub(super) fn shopper_conflict(e: sqlx::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(message) => StoreError::Conflict(
            if message.contains("email") {
                TAKEN_EMAIL
            } else if message.contains("external_reference") {
                TAKEN_EXTERNAL_REFERENCE
            } else {
                TAKEN_USERNAME
            }
            .into(),
        ),
        other => other,
    }
}
