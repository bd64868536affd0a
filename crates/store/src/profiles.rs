//! Shopper profiles (the shopper object's fields), the session fields `/me` changes, and a
//! shopper's addresses.

use super::column::{StoredFlag, flag};
use super::shoppers::shopper_conflict;
use super::{Store, StoreResult};
use shopkeeper_domain::address::{PostalAddress, SavedAddress};
use shopkeeper_domain::shopper::ProfileUpdate;
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{SessionId, SiteId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProfileRecord {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    pub username: Option<String>,
    pub external_reference_id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub currency: Option<String>,
    #[sqlx(try_from = "StoredFlag")]
    pub send_email: bool,
}

/// Profile fields set when a shopper is created through the API.
#[derive(Debug, Clone, Default)]
pub struct ProfileFields {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub currency: Option<String>,
    pub send_email: bool,
}

/// One of a shopper's saved addresses.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AddressRecord {
    pub id: i64,
    pub shopper_id: i64,
    #[sqlx(flatten, try_from = "SavedAddressColumns")]
    pub saved: SavedAddress,
}

/// The columns of a saved address, as the row holds them.
#[derive(sqlx::FromRow)]
struct SavedAddressColumns {
    nickname: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    company_name: Option<String>,
    line1: String,
    line2: Option<String>,
    line3: Option<String>,
    city: String,
    country_subdivision: Option<String>,
    postal_code: Option<String>,
    country: String,
    phone_number: Option<String>,
    email_address: Option<String>,
    county_name: Option<String>,
    phonetic_first_name: Option<String>,
    phonetic_last_name: Option<String>,
    division: Option<String>,
    title: Option<String>,
    #[sqlx(try_from = "StoredFlag")]
    is_default: bool,
    #[sqlx(try_from = "StoredFlag")]
    is_default_billing: bool,
    #[sqlx(try_from = "StoredFlag")]
    is_default_shipping: bool,
}

impl From<SavedAddressColumns> for SavedAddress {
    fn from(c: SavedAddressColumns) -> Self {
        SavedAddress {
            nickname: c.nickname,
            address: PostalAddress {
                first_name: c.first_name,
                last_name: c.last_name,
                company_name: c.company_name,
                line1: c.line1,
                line2: c.line2,
                line3: c.line3,
                city: c.city,
                country_subdivision: c.country_subdivision,
                postal_code: c.postal_code,
                country: c.country,
                phone_number: c.phone_number,
                email_address: c.email_address,
                county_name: c.county_name,
                phonetic_first_name: c.phonetic_first_name,
                phonetic_last_name: c.phonetic_last_name,
                division: c.division,
                title: c.title,
            },
            is_default: c.is_default,
            is_default_billing: c.is_default_billing,
            is_default_shipping: c.is_default_shipping,
        }
    }
}

macro_rules! select_addresses {
    ($tail:literal) => {
        concat!(
            "SELECT id, shopper_id, nickname, first_name, last_name, company_name, line1, \
             line2, line3, city, country_subdivision, postal_code, country, phone_number, \
             email_address, county_name, phonetic_first_name, phonetic_last_name, division, \
             title, is_default, is_default_billing, is_default_shipping \
             FROM shopper_addresses ",
            $tail
        )
    };
}

/// Binds a saved address's columns, in the order of `SavedAddressColumns`, as `$1`-`$21`.
macro_rules! bind_saved {
    ($query:expr, $saved:expr) => {{
        let (s, a) = ($saved, &$saved.address);
        $query
            .bind(&s.nickname)
            .bind(&a.first_name)
            .bind(&a.last_name)
            .bind(&a.company_name)
            .bind(&a.line1)
            .bind(&a.line2)
            .bind(&a.line3)
            .bind(&a.city)
            .bind(&a.country_subdivision)
            .bind(&a.postal_code)
            .bind(&a.country)
            .bind(&a.phone_number)
            .bind(&a.email_address)
            .bind(&a.county_name)
            .bind(&a.phonetic_first_name)
            .bind(&a.phonetic_last_name)
            .bind(&a.division)
            .bind(&a.title)
            .bind(flag(s.is_default))
            .bind(flag(s.is_default_billing))
            .bind(flag(s.is_default_shipping))
    }};
}

impl Store {
    pub async fn profile(&self, shopper_id: i64) -> StoreResult<Option<ProfileRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, site_id, username, external_reference_id, email, first_name, last_name, \
             locale, currency, send_email FROM shoppers WHERE id = $1",
        )
        .bind(shopper_id)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn set_profile_fields(
        &self,
        shopper_id: i64,
        fields: &ProfileFields,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE shoppers SET first_name = $1, last_name = $2, locale = $3, currency = $4, \
             send_email = $5 WHERE id = $6",
        )
        .bind(&fields.first_name)
        .bind(&fields.last_name)
        .bind(&fields.locale)
        .bind(&fields.currency)
        .bind(flag(fields.send_email))
        .bind(shopper_id)
        .execute(&mut *self.writer().await?)
        .await?;
        self.snapshots.forget_all();
        Ok(())
    }

    /// Applies a `/me` update: profile fields to the shopper (when there is one), `locale`,
    /// `currency` and `ipAddress` to the session.
    pub async fn update_me(
        &self,
        session_id: &SessionId,
        shopper_id: Option<i64>,
        update: &ProfileUpdate,
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        sqlx::query(
            "UPDATE shopper_sessions SET locale = COALESCE($1, locale), \
             currency = COALESCE($2, currency), client_ip = COALESCE($3, client_ip) \
             WHERE id = $4",
        )
        .bind(&update.locale)
        .bind(&update.currency)
        .bind(&update.ip_address)
        .bind(session_id.as_str())
        .execute(&mut *tx)
        .await?;
        if let Some(id) = shopper_id {
            sqlx::query(
                "UPDATE shoppers SET username = COALESCE($1, username), \
                 first_name = COALESCE($2, first_name), last_name = COALESCE($3, last_name), \
                 email = COALESCE($4, email), send_email = COALESCE($5, send_email), \
                 locale = COALESCE($6, locale), currency = COALESCE($7, currency) WHERE id = $8",
            )
            .bind(&update.username)
            .bind(&update.first_name)
            .bind(&update.last_name)
            .bind(&update.email)
            .bind(update.send_email.map(flag))
            .bind(&update.locale)
            .bind(&update.currency)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(shopper_conflict)?;
        }
        tx.commit().await?;
        if shopper_id.is_some() {
            // The shopper's fields show in every session of theirs.
            self.snapshots.forget_all();
        } else {
            self.snapshots.forget(session_id.as_str());
        }
        Ok(())
    }

    pub async fn addresses(&self, shopper_id: i64) -> StoreResult<Vec<AddressRecord>> {
        Ok(
            sqlx::query_as(select_addresses!("WHERE shopper_id = $1 ORDER BY id"))
                .bind(shopper_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    pub async fn address(&self, shopper_id: i64, id: i64) -> StoreResult<Option<AddressRecord>> {
        Ok(
            sqlx::query_as(select_addresses!("WHERE shopper_id = $1 AND id = $2"))
                .bind(shopper_id)
                .bind(id)
                .fetch_optional(&mut *self.writer().await?)
                .await?,
        )
    }

    /// Creates (`id` None) or replaces one of the shopper's addresses; a new address with a
    /// nickname the shopper already uses replaces that address instead (one statement, so
    /// concurrent saves of a nickname make one address). A default flag set
    /// here (`isDefault`, default billing, default shipping) is cleared on the shopper's other
    /// addresses in the same transaction, so there is at most one default of each kind.
    /// Returns None when `id` is not the shopper's.
    pub async fn save_address(
        &self,
        shopper_id: i64,
        id: Option<i64>,
        saved: &SavedAddress,
        now: UnixSeconds,
    ) -> StoreResult<Option<i64>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let id = match id {
            Some(id) => {
                let update = sqlx::query(
                    "UPDATE shopper_addresses SET nickname = $1, first_name = $2, \
                     last_name = $3, company_name = $4, line1 = $5, line2 = $6, line3 = $7, \
                     city = $8, country_subdivision = $9, postal_code = $10, country = $11, \
                     phone_number = $12, email_address = $13, county_name = $14, \
                     phonetic_first_name = $15, phonetic_last_name = $16, division = $17, \
                     title = $18, is_default = $19, is_default_billing = $20, \
                     is_default_shipping = $21 WHERE id = $22 AND shopper_id = $23",
                );
                let done = bind_saved!(update, saved)
                    .bind(id)
                    .bind(shopper_id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                id
            }
            None => {
                let insert = sqlx::query_as(
                    "INSERT INTO shopper_addresses (nickname, first_name, last_name, \
                     company_name, line1, line2, line3, city, country_subdivision, postal_code, \
                     country, phone_number, email_address, county_name, phonetic_first_name, \
                     phonetic_last_name, division, title, is_default, is_default_billing, \
                     is_default_shipping, shopper_id, created_at) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                     $18, $19, $20, $21, $22, $23) \
                     ON CONFLICT (shopper_id, nickname) DO UPDATE SET \
                     first_name = excluded.first_name, last_name = excluded.last_name, \
                     company_name = excluded.company_name, line1 = excluded.line1, \
                     line2 = excluded.line2, line3 = excluded.line3, city = excluded.city, \
                     country_subdivision = excluded.country_subdivision, \
                     postal_code = excluded.postal_code, country = excluded.country, \
                     phone_number = excluded.phone_number, \
                     email_address = excluded.email_address, \
                     county_name = excluded.county_name, \
                     phonetic_first_name = excluded.phonetic_first_name, \
                     phonetic_last_name = excluded.phonetic_last_name, \
                     division = excluded.division, title = excluded.title, \
                     is_default = excluded.is_default, \
                     is_default_billing = excluded.is_default_billing, \
                     is_default_shipping = excluded.is_default_shipping \
                     RETURNING id",
                );
                let (id,): (i64,) = bind_saved!(insert, saved)
                    .bind(shopper_id)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                id
            }
        };
        if saved.is_default {
            sqlx::query(
                "UPDATE shopper_addresses SET is_default = 0 WHERE shopper_id = $1 AND id <> $2",
            )
            .bind(shopper_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        if saved.is_default_billing {
            sqlx::query(
                "UPDATE shopper_addresses SET is_default_billing = 0 \
                 WHERE shopper_id = $1 AND id <> $2",
            )
            .bind(shopper_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        if saved.is_default_shipping {
            sqlx::query(
                "UPDATE shopper_addresses SET is_default_shipping = 0 \
                 WHERE shopper_id = $1 AND id <> $2",
            )
            .bind(shopper_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Deletes one of the shopper's addresses; false when there was none.
    pub async fn delete_address(&self, shopper_id: i64, id: i64) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM shopper_addresses WHERE id = $1 AND shopper_id = $2")
            .bind(id)
            .bind(shopper_id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
