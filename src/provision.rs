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

/// A redirect URI a key may register (`domain::authorize::check_redirect_uri`: RFC 8252's
/// rules), with the URI in the error.
pub fn check_redirect_uri(uri: &str) -> anyhow::Result<()> {
    crate::domain::authorize::check_redirect_uri(uri)
        .map_err(|why| anyhow::anyhow!("redirect URI {uri:?} {why}"))
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
    check_new_password(password)?;
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

/// What `shopkeeper demo show` prints: the first start's keys again, with a new password for
/// the demo shopper and a new secret for the demo confidential key (only their hashes were
/// stored, so the old ones cannot be shown; they stop working).
#[derive(Debug, Serialize)]
pub struct DemoShown {
    pub site: SiteRecord,
    pub payments_public_key: Option<String>,
    pub public_client: CreatedClient,
    pub confidential_client: CreatedClient,
    pub shopper: DemoShopper,
    /// Says that the password and the secret are new.
    pub note: &'static str,
}

/// The demo data of this database again (`shopkeeper demo show`): the demo site's first
/// public and first confidential key and the `demo` shopper, with a new shopper password
/// (every session of the shopper ends) and a new key secret. Returns the revoked access
/// tokens too, for the nodes' check caches.
pub async fn show_demo(
    store: &Store,
    hasher: &PasswordHasher,
) -> anyhow::Result<(DemoShown, Vec<crate::domain::SecretHash>)> {
    const SITE: &str = "demo";
    let no_demo = || {
        anyhow::anyhow!(
            "this database has no demo data (it was created with --no-demo, or the demo site, \
             its keys or its `demo` shopper were removed)"
        )
    };
    let site = store.site(SITE).await?.ok_or_else(no_demo)?;
    let clients = store.clients(Some(SITE)).await?;
    let first = |kind: ClientKind| {
        clients
            .iter()
            .find(|c| c.kind == kind.as_str())
            .ok_or_else(no_demo)
    };
    let (public, confidential) = (first(ClientKind::Public)?, first(ClientKind::Confidential)?);
    let shopper = store
        .shopper_by_username(SITE, "demo")
        .await?
        .ok_or_else(no_demo)?;
    let password = random_hex(8);
    let hash = hasher.hash(password.clone()).await?;
    let revoked = store.set_shopper_password(SITE, shopper.id, &hash).await?;
    let secret = rotate_secret(store, &confidential.api_key).await?;
    let listed = |api_key: String, kind: ClientKind, secret: Option<String>| async move {
        anyhow::Ok(CreatedClient {
            redirect_uris: store.redirect_uris(&api_key).await?,
            api_key,
            site: SITE.to_owned(),
            kind: kind.as_str(),
            secret,
        })
    };
    Ok((
        DemoShown {
            payments_public_key: site.payments_public_key.clone(),
            site,
            public_client: listed(public.api_key.clone(), ClientKind::Public, None).await?,
            confidential_client: listed(
                confidential.api_key.clone(),
                ClientKind::Confidential,
                Some(secret),
            )
            .await?,
            shopper: DemoShopper {
                id: shopper.id,
                username: shopper.username.unwrap_or_default(),
                password,
            },
            note: "passwords and secrets are stored only as hashes, so these are new: the demo \
                   shopper's password and the confidential key's secret above replace the old \
                   ones, and the shopper's sessions have ended",
        },
        revoked,
    ))
}

/// Sets a shopper's password (`shopkeeper shopper set-password`): the rules of a new one, and
/// every session of theirs ends. Returns the revoked access tokens.
pub async fn set_shopper_password(
    store: &Store,
    hasher: &PasswordHasher,
    site: &str,
    id: i64,
    password: &str,
) -> anyhow::Result<Vec<crate::domain::SecretHash>> {
    check_new_password(password)?;
    let hash = hasher.hash(password.to_owned()).await?;
    Ok(store.set_shopper_password(site, id, &hash).await?)
}

fn check_new_password(password: &str) -> anyhow::Result<()> {
    use crate::domain::shopper::MIN_PASSWORD;
    if password.len() < MIN_PASSWORD || password.len() > 1024 {
        anyhow::bail!("password must be {MIN_PASSWORD}-1024 characters");
    }
    Ok(())
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
