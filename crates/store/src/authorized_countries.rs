//! A site's authorized billing and shipping countries (`site_authorized_countries`): per kind,
//! the default locale's setting (the row of the empty locale) and each customized locale's. No
//! row: any country. Read per request, never cached: a change applies to the next address and
//! the next submit.

use super::{Store, StoreError, StoreResult};
use crate::audit::{Actor, AuditEntry};
use shopkeeper_domain::SiteId;
use shopkeeper_domain::authorized_countries::{Kind, KindPolicy, LocalePolicy, Policies};
use shopkeeper_domain::events::SITE_UPDATED;
use shopkeeper_domain::time::UnixSeconds;
use sqlx::AnyConnection;

/// The locale of the default locale's row.
const DEFAULT_LOCALE: &str = "";

/// A change of one locale's setting: `locale` `None` is the site's default locale; `setting`
/// `None` makes a customized locale inherit the default locale's again (or the default locale
/// allow any country).
#[derive(Debug, Clone)]
pub struct CountriesChange {
    pub locale: Option<String>,
    pub setting: Option<LocalePolicy>,
}

/// What a change did: the kind's setting before and after.
#[derive(Debug, Clone)]
pub struct CountriesChanged {
    pub before: KindPolicy,
    pub after: KindPolicy,
}

type Row = (String, String, String, String, Option<String>);

async fn read_policies(conn: &mut AnyConnection, site: &SiteId) -> StoreResult<Policies> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT kind, locale, mode, countries, comments FROM site_authorized_countries \
         WHERE site_id = $1 ORDER BY kind, locale",
    )
    .bind(site.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let mut policies = Policies::default();
    for (kind, locale, mode, countries, comments) in rows {
        let bad = || {
            StoreError::Database(
                format!("site_authorized_countries of {site}: a bad row ({kind} {locale:?})")
                    .into(),
            )
        };
        let kind = Kind::parse(&kind).ok_or_else(bad)?;
        let setting = LocalePolicy::from_stored(&mode, &countries, comments).ok_or_else(bad)?;
        let of_kind = policies.of_mut(kind);
        if locale == DEFAULT_LOCALE {
            of_kind.default = setting;
        } else {
            of_kind.locales.insert(locale, setting);
        }
    }
    Ok(policies)
}

impl Store {
    /// The site's two policies (any country where nothing is stored).
    pub async fn authorized_countries(&self, site: &SiteId) -> StoreResult<Policies> {
        let mut conn = self.read.acquire().await?;
        read_policies(&mut conn, site).await
    }

    /// Applies `changes` to the site's `kind` setting in one transaction, with the outbox's
    /// `site.updated` event (and, for an Admin API write, its `actor`'s audit row). A locale equal to
    /// the site's default locale is the default locale's row. `NotFound`: no such site.
    pub async fn set_authorized_countries(
        &self,
        site: &SiteId,
        kind: Kind,
        changes: &[CountriesChange],
        now: UnixSeconds,
        actor: Option<&Actor>,
    ) -> StoreResult<CountriesChanged> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        // Takes turns on the site's row, so two writers never both read the old setting.
        let default_locale: Option<(String,)> =
            sqlx::query_as("UPDATE sites SET locale = locale WHERE id = $1 RETURNING locale")
                .bind(site.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let (default_locale,) =
            default_locale.ok_or_else(|| StoreError::NotFound(format!("site {site}")))?;
        let before = read_policies(&mut tx, site).await?.of(kind).clone();
        for change in changes {
            let locale = match change.locale.as_deref() {
                Some(l) if l != default_locale => l,
                _ => DEFAULT_LOCALE,
            };
            match &change.setting {
                Some(setting) => {
                    sqlx::query(
                        "INSERT INTO site_authorized_countries (site_id, kind, locale, mode, \
                         countries, comments, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (site_id, kind, locale) DO UPDATE SET mode = excluded.mode, \
                         countries = excluded.countries, comments = excluded.comments, \
                         updated_at = excluded.updated_at",
                    )
                    .bind(site.as_str())
                    .bind(kind.as_str())
                    .bind(locale)
                    .bind(setting.mode.as_str())
                    .bind(setting.stored_countries())
                    .bind(setting.comments.as_deref())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "DELETE FROM site_authorized_countries \
                         WHERE site_id = $1 AND kind = $2 AND locale = $3",
                    )
                    .bind(site.as_str())
                    .bind(kind.as_str())
                    .bind(locale)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        let after = read_policies(&mut tx, site).await?.of(kind).clone();
        let payload = serde_json::json!({
            "site": site.as_str(),
            "setting": format!("authorized-{}-countries", kind.as_str()),
            "defaultLocale": default_locale,
            "before": before.to_json(),
            "after": after.to_json(),
        });
        crate::events::append_event(&mut tx, site, SITE_UPDATED, &payload, now).await?;
        if let Some(actor) = actor {
            let action = format!("site.authorized-{}-countries.updated", kind.as_str());
            crate::audit::append_audit(
                &mut tx,
                &AuditEntry {
                    site_id: site,
                    actor,
                    action: &action,
                    subject_type: "site",
                    subject_id: site.as_str(),
                    order_id: None,
                    before: Some(payload["before"].clone()),
                    after: Some(payload["after"].clone()),
                    at: now,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(CountriesChanged { before, after })
    }
}
