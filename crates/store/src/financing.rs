//! A site's financing terms (`financing_terms`): months and an annual rate each, checked by
//! `domain::financing::Term` as they are read.

use super::{Store, StoreError, StoreResult};
use shopkeeper_domain::SiteId;
use shopkeeper_domain::financing::Term;
use shopkeeper_domain::time::UnixSeconds;

/// One term of a site, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinancingTermRecord {
    pub id: i64,
    pub term: Term,
    /// The operator's own description, if any (else the term's default one).
    pub description: Option<String>,
}

type Row = (i64, i64, i64, Option<String>);

fn record((id, months, rate_bp, description): Row) -> StoreResult<FinancingTermRecord> {
    let term = Term::new(months, rate_bp)
        .map_err(|why| StoreError::Database(format!("financing term {id}: {why}").into()))?;
    Ok(FinancingTermRecord {
        id,
        term,
        description,
    })
}

impl Store {
    /// The site's terms: shortest first, then cheapest.
    pub async fn financing_terms(&self, site: &SiteId) -> StoreResult<Vec<FinancingTermRecord>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, months, rate_bp, description FROM financing_terms WHERE site_id = $1 \
             ORDER BY months, rate_bp, id",
        )
        .bind(site.as_str())
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(record).collect()
    }

    /// Adds a term to the site.
    pub async fn add_financing_term(
        &self,
        site: &SiteId,
        term: Term,
        description: Option<&str>,
        now: UnixSeconds,
    ) -> StoreResult<FinancingTermRecord> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO financing_terms (site_id, months, rate_bp, description, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(site.as_str())
        .bind(i64::from(term.months))
        .bind(i64::from(term.rate_bp))
        .bind(description)
        .bind(now)
        .fetch_one(&mut *self.writer().await?)
        .await?;
        Ok(FinancingTermRecord {
            id,
            term,
            description: description.map(str::to_owned),
        })
    }

    /// Removes one of the site's terms.
    pub async fn remove_financing_term(&self, site: &SiteId, id: i64) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM financing_terms WHERE site_id = $1 AND id = $2")
            .bind(site.as_str())
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "financing term {id} of site {site}"
            )));
        }
        Ok(())
    }
}
