//! The payment methods a site's carts offer (`site_payment_methods`), in their order, each with
//! where it may be used (`domain::payment_methods::MethodRule`).

use super::{Store, StoreResult};
use shopkeeper_domain::SiteId;
use shopkeeper_domain::payment_methods::{DEFAULT_METHODS, MethodRule};
use sqlx::AnyConnection;

/// One method of a site, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethodRecord {
    /// The docs' `type` (`visa`, `americanExpress`).
    pub method_type: String,
    pub display_name: String,
    pub description: String,
    pub rule: MethodRule,
}

/// The row of a method: type, name, description, currencies, countries.
type Row = (String, String, String, String, String);

fn record(
    (method_type, display_name, description, currencies, countries): Row,
) -> PaymentMethodRecord {
    PaymentMethodRecord {
        method_type,
        display_name,
        description,
        rule: MethodRule::from_stored(&currencies, &countries),
    }
}

/// Gives a new site the default methods, in the site's own transaction.
pub(crate) async fn insert_defaults(conn: &mut AnyConnection, site: &SiteId) -> StoreResult<()> {
    for (position, (method_type, name)) in DEFAULT_METHODS.iter().enumerate() {
        sqlx::query(
            "INSERT INTO site_payment_methods (site_id, method_type, display_name, description, \
             position) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(site.as_str())
        .bind(*method_type)
        .bind(*name)
        .bind(*name)
        .bind(position as i64 + 1)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The site's methods, in their order.
    pub async fn payment_methods(&self, site: &SiteId) -> StoreResult<Vec<PaymentMethodRecord>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT method_type, display_name, description, currencies, countries \
             FROM site_payment_methods WHERE site_id = $1 ORDER BY position, method_type",
        )
        .bind(site.as_str())
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(record).collect())
    }

    /// Adds a method after the site's others, or changes the one of its type in place (the
    /// caller checks the values).
    pub async fn set_payment_method(
        &self,
        site: &SiteId,
        method: &PaymentMethodRecord,
    ) -> StoreResult<()> {
        let (currencies, countries) = method.rule.to_stored();
        sqlx::query(
            "INSERT INTO site_payment_methods (site_id, method_type, display_name, description, \
             currencies, countries, position) VALUES ($1, $2, $3, $4, $5, $6, \
             (SELECT COALESCE(MAX(position), 0) + 1 FROM site_payment_methods WHERE site_id = $1)) \
             ON CONFLICT (site_id, method_type) DO UPDATE SET \
             display_name = excluded.display_name, description = excluded.description, \
             currencies = excluded.currencies, countries = excluded.countries",
        )
        .bind(site.as_str())
        .bind(&method.method_type)
        .bind(&method.display_name)
        .bind(&method.description)
        .bind(currencies)
        .bind(countries)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// Removes the site's method of this type; whether there was one.
    pub async fn remove_payment_method(
        &self,
        site: &SiteId,
        method_type: &str,
    ) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM site_payment_methods WHERE site_id = $1 AND method_type = $2")
                .bind(site.as_str())
                .bind(method_type)
                .execute(&mut *self.writer().await?)
                .await?;
        Ok(done.rows_affected() > 0)
    }
}
