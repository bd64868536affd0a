//! Creating sites, API clients and shoppers: shared by the CLI, the first-start demo and the
//! tests, so there is one way to do each.

use crate::auth::PasswordHasher;
use crate::domain::catalog::CatalogFile;
use crate::domain::secret::random_hex;
use crate::domain::shopper::check_username;
use crate::domain::{ApiKey, ClientKind, SessionTtl, SiteId, TokenValue};
use crate::store::{ImportSummary, NewClient, NewShopper, ShopperRecord, SiteRecord, Store};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct CreatedClient {
    pub api_key: String,
    pub site: String,
    pub kind: &'static str,
    /// Shown once, at creation; only its hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub redirect_uris: Vec<String>,
}

pub async fn create_site(store: &Store, id: &str, ttl: Option<i64>) -> anyhow::Result<SiteRecord> {
    let id = SiteId::parse(id).map_err(anyhow::Error::msg)?;
    let ttl = match ttl {
        Some(s) => SessionTtl::from_seconds(s).map_err(anyhow::Error::msg)?,
        None => SessionTtl::DEFAULT,
    };
    Ok(store.create_site(&id, ttl).await?)
}

/// Exact redirect URIs: absolute, no fragment (RFC 6749 §3.1.2), no whitespace.
pub fn check_redirect_uri(uri: &str) -> anyhow::Result<()> {
    let scheme_end = uri.find("://").unwrap_or(0);
    let scheme_ok = scheme_end > 0
        && uri[..scheme_end]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || uri.len() > 2048 || uri.contains('#') || uri.chars().any(char::is_whitespace) {
        anyhow::bail!("redirect URI must be absolute, without fragment or spaces: {uri:?}");
    }
    Ok(())
}

pub async fn create_client(
    store: &Store,
    site: &str,
    kind: ClientKind,
    redirect_uris: &[String],
) -> anyhow::Result<CreatedClient> {
    for uri in redirect_uris {
        check_redirect_uri(uri)?;
    }
    let api_key = ApiKey::parse(&random_hex(16)).expect("hex is a valid key");
    let secret = (kind == ClientKind::Confidential).then(TokenValue::generate);
    store
        .create_client(NewClient {
            api_key: &api_key,
            site_id: site,
            kind,
            secret_hash: secret.as_ref().map(TokenValue::hash),
            redirect_uris,
            password_base64: false,
        })
        .await?;
    Ok(CreatedClient {
        api_key: api_key.to_string(),
        site: site.to_owned(),
        kind: kind.as_str(),
        secret: secret.map(|s| s.expose().to_owned()),
        redirect_uris: redirect_uris.to_vec(),
    })
}

/// Issues a new secret for a confidential client; the old one stops working at once.
pub async fn rotate_secret(store: &Store, api_key: &str) -> anyhow::Result<String> {
    let secret = TokenValue::generate();
    store.set_client_secret(api_key, secret.hash()).await?;
    Ok(secret.expose().to_owned())
}

pub async fn create_shopper(
    store: &Store,
    hasher: &PasswordHasher,
    site: &str,
    username: &str,
    password: &str,
    email: Option<&str>,
) -> anyhow::Result<ShopperRecord> {
    check_username(username)?;
    if password.len() < 8 || password.len() > 1024 {
        anyhow::bail!("password must be 8-1024 characters");
    }
    let hash = hasher.hash(password.to_owned()).await?;
    Ok(store
        .create_shopper(
            site,
            NewShopper::Credentials {
                username,
                password_hash: &hash,
                email,
            },
        )
        .await?)
}

/// Gives a shopper a new username (unique per site without regard to case). Works on a
/// database whose usernames clash, which the server refuses (open it with
/// `Store::connect_for_repair`).
pub async fn rename_shopper(
    store: &Store,
    site: &str,
    id: i64,
    username: &str,
) -> anyhow::Result<ShopperRecord> {
    check_username(username)?;
    Ok(store.rename_shopper(site, id, username).await?)
}

pub async fn create_external_shopper(
    store: &Store,
    site: &str,
    external_reference_id: &str,
    email: Option<&str>,
) -> anyhow::Result<ShopperRecord> {
    if external_reference_id.is_empty() || external_reference_id.len() > 1024 {
        anyhow::bail!("external reference id must be 1-1024 characters");
    }
    Ok(store
        .create_shopper(
            site,
            NewShopper::External {
                external_reference_id,
                email,
            },
        )
        .await?)
}

/// What a first start prints once: enough to make every documented call.
#[derive(Debug, Serialize)]
pub struct Demo {
    pub site: SiteRecord,
    /// The site's payments public key: the bearer of `POST /payments/sources` (the quick
    /// start's `drjsApiKey`).
    pub payments_public_key: Option<String>,
    pub public_client: CreatedClient,
    pub confidential_client: CreatedClient,
    pub shopper: DemoShopper,
    /// The demo catalog; its first product is digital and in stock.
    pub catalog: ImportSummary,
}

#[derive(Debug, Serialize)]
pub struct DemoShopper {
    pub id: i64,
    pub username: String,
    pub password: String,
}

/// The demo data; `start_page` is the start page's URL (`http::start_page::redirect_uri`),
/// registered for the public key so that the page's hosted sign-in can come back to it.
pub async fn create_demo(
    store: &Store,
    hasher: &PasswordHasher,
    start_page: &str,
) -> anyhow::Result<Demo> {
    let site = create_site(store, "demo", None).await?;
    let public_client = create_client(
        store,
        &site.id,
        ClientKind::Public,
        &[
            "http://localhost:3000/callback".to_owned(),
            start_page.to_owned(),
        ],
    )
    .await?;
    let confidential_client = create_client(store, &site.id, ClientKind::Confidential, &[]).await?;
    let password = random_hex(8);
    let shopper = create_shopper(
        store,
        hasher,
        &site.id,
        "demo",
        &password,
        Some("demo@example.com"),
    )
    .await?;
    let catalog = import_catalog(store, &site.id, demo_catalog()?).await?;
    for (country, rate_bp) in DEMO_TAX_RATES {
        store.set_tax_rate(&site.id, country, *rate_bp).await?;
    }
    Ok(Demo {
        payments_public_key: site.payments_public_key.clone(),
        catalog,
        site,
        public_client,
        confidential_client,
        shopper: DemoShopper {
            id: shopper.id,
            username: "demo".into(),
            password,
        },
    })
}

/// The demo site's tax table (basis points: 2000 = 20 %). US sales tax is left at 0 (it varies
/// by state); set real rates with `shopkeeper site set-tax-rate`.
pub const DEMO_TAX_RATES: &[(&str, i64)] = &[
    ("US", 0),
    ("CA", 500),
    ("GB", 2000),
    ("DE", 1900),
    ("FR", 2000),
];

/// The demo catalog created on first start: a digital product first (in stock, untracked),
/// then a physical one with two variations.
pub fn demo_catalog() -> anyhow::Result<CatalogFile> {
    Ok(serde_json::from_str(include_str!("demo_catalog.json"))?)
}

/// Parses a catalog file (`shopkeeper catalog import FILE`).
pub fn parse_catalog(json: &str) -> anyhow::Result<CatalogFile> {
    serde_json::from_str(json).map_err(|e| anyhow::anyhow!("invalid catalog file: {e}"))
}

/// Validates and imports a catalog into a site, all or nothing.
pub async fn import_catalog(
    store: &Store,
    site: &str,
    file: CatalogFile,
) -> anyhow::Result<ImportSummary> {
    if store.site(site).await?.is_none() {
        anyhow::bail!("site {site:?} does not exist");
    }
    for c in &file.categories {
        if c.name.trim().is_empty() || c.name.len() > 256 {
            anyhow::bail!("category name must be 1-256 characters");
        }
    }
    let products = file
        .products
        .into_iter()
        .map(|p| p.validate(false))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    Ok(store
        .import_catalog(site, &file.categories, &products)
        .await?)
}
