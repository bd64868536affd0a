//! Creating sites, API clients and shoppers: shared by the CLI, the first-start demo and the
//! tests, so there is one way to do each.

use crate::auth::PasswordHasher;
use serde::Serialize;
use shopkeeper_domain::catalog::{CatalogFile, ParsedFile, Problem};
use shopkeeper_domain::offer_import::{Known, OfferSection};
use shopkeeper_domain::plan_import::{KnownPlans, PlanSection};
use shopkeeper_domain::secret::random_hex;
use shopkeeper_domain::shopper::check_username;
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{ApiKey, ClientKind, Permissions, SessionTtl, SiteId, TokenValue};
use shopkeeper_store::{
    Engine, NewClient, NewShopper, PlanPrice, ShopperRecord, SiteRecord, Store, StoreError, Tally,
};
use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

#[derive(Debug, Serialize)]
pub struct CreatedClient {
    pub api_key: String,
    pub site: String,
    pub kind: &'static str,
    /// Shown once, at creation; only its hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub redirect_uris: Vec<String>,
    /// `shopper`, `admin` or both, space-separated.
    pub permissions: String,
}

/// A site id as an operator or a test names it: checked here, once, and carried from then on.
fn site_id(raw: &str) -> anyhow::Result<SiteId> {
    SiteId::parse(raw).map_err(anyhow::Error::msg)
}

pub async fn create_site(
    store: &Store,
    id: &str,
    ttl: Option<i64>,
    now: UnixSeconds,
) -> anyhow::Result<SiteRecord> {
    let id = site_id(id)?;
    let ttl = match ttl {
        Some(s) => SessionTtl::from_seconds(s).map_err(anyhow::Error::msg)?,
        None => SessionTtl::DEFAULT,
    };
    Ok(store.create_site(&id, ttl, now).await?)
}

/// A redirect URI a key may register (`domain::authorize::check_redirect_uri`: RFC 8252's
/// rules), with the URI in the error.
pub fn check_redirect_uri(uri: &str) -> anyhow::Result<()> {
    shopkeeper_domain::authorize::check_redirect_uri(uri)
        .map_err(|why| anyhow::anyhow!("redirect URI {uri:?} {why}"))
}

pub async fn create_client(
    store: &Store,
    site: &str,
    kind: ClientKind,
    redirect_uris: &[String],
    now: UnixSeconds,
) -> anyhow::Result<CreatedClient> {
    for uri in redirect_uris {
        check_redirect_uri(uri)?;
    }
    insert_client(
        store,
        &site_id(site)?,
        kind,
        redirect_uris,
        Permissions::SHOPPER,
        now,
    )
    .await
}

/// A key with the given permissions (`client create --permissions`): the Admin APIs need a
/// confidential key.
pub async fn create_client_with_permissions(
    store: &Store,
    site: &str,
    kind: ClientKind,
    redirect_uris: &[String],
    permissions: Permissions,
    now: UnixSeconds,
) -> anyhow::Result<CreatedClient> {
    permissions.check_for(kind).map_err(anyhow::Error::msg)?;
    for uri in redirect_uris {
        check_redirect_uri(uri)?;
    }
    insert_client(
        store,
        &site_id(site)?,
        kind,
        redirect_uris,
        permissions,
        now,
    )
    .await
}

/// Replaces a key's permissions; tokens the change takes away stop at once.
pub async fn set_client_permissions(
    store: &Store,
    verifier: Option<&crate::auth::TokenVerifier>,
    api_key: &ApiKey,
    permissions: Permissions,
    now: UnixSeconds,
) -> anyhow::Result<()> {
    let client = store
        .clients(None)
        .await?
        .into_iter()
        .find(|c| &c.api_key == api_key)
        .ok_or_else(|| anyhow::anyhow!("no client {api_key}"))?;
    permissions
        .check_for(client.kind)
        .map_err(anyhow::Error::msg)?;
    let revoked = store
        .set_client_permissions(api_key, permissions, now)
        .await?;
    if let Some(verifier) = verifier {
        verifier.forget(&revoked);
    }
    Ok(())
}

/// A new key with redirect URIs already vetted.
async fn insert_client(
    store: &Store,
    site: &SiteId,
    kind: ClientKind,
    redirect_uris: &[String],
    permissions: Permissions,
    now: UnixSeconds,
) -> anyhow::Result<CreatedClient> {
    let api_key = ApiKey::parse(&random_hex(16)).expect("hex is a valid key");
    let secret = (kind == ClientKind::Confidential).then(TokenValue::generate);
    store
        .create_client(
            NewClient {
                api_key: &api_key,
                site_id: site,
                kind,
                secret_hash: secret.as_ref().map(TokenValue::hash),
                redirect_uris,
                password_base64: false,
                permissions,
            },
            now,
        )
        .await?;
    Ok(CreatedClient {
        api_key: api_key.to_string(),
        site: site.to_string(),
        kind: kind.as_str(),
        secret: secret.map(|s| s.expose().to_owned()),
        redirect_uris: redirect_uris.to_vec(),
        permissions: permissions.to_stored(),
    })
}

/// Issues a new secret for a confidential client; the old one stops working at once.
pub async fn rotate_secret(store: &Store, api_key: &ApiKey) -> anyhow::Result<String> {
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
    now: UnixSeconds,
) -> anyhow::Result<ShopperRecord> {
    check_username(username)?;
    check_new_password(password)?;
    let hash = hasher.hash(password.to_owned()).await?;
    Ok(store
        .create_shopper(
            &site_id(site)?,
            NewShopper::Credentials {
                username,
                password_hash: &hash,
                email,
                external_reference_id: None,
            },
            now,
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
    Ok(store.rename_shopper(&site_id(site)?, id, username).await?)
}

pub async fn create_external_shopper(
    store: &Store,
    site: &str,
    external_reference_id: &str,
    email: Option<&str>,
    now: UnixSeconds,
) -> anyhow::Result<ShopperRecord> {
    if external_reference_id.is_empty() || external_reference_id.len() > 1024 {
        anyhow::bail!("external reference id must be 1-1024 characters");
    }
    Ok(store
        .create_shopper(
            &site_id(site)?,
            NewShopper::External {
                external_reference_id,
                email,
                username: None,
            },
            now,
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
    /// The demo's coupon code and point of promotion.
    pub offers: DemoOffers,
    /// The demo's private store (purchase plan) and its access code's PIN, shown only here.
    pub private_store: DemoPrivateStore,
    /// A staff user with every role, who signs in through `POST /auth` with the confidential
    /// key (README, "The Admin API").
    pub staff: DemoStaff,
}

/// The demo's staff user.
#[derive(Debug, Serialize)]
pub struct DemoStaff {
    pub username: String,
    pub password: String,
    pub roles: Vec<&'static str>,
}

/// The demo staff user's name.
pub const DEMO_STAFF: &str = "demo-staff";

fn demo_staff_roles() -> Vec<&'static str> {
    shopkeeper_domain::staff::ALL
        .iter()
        .map(|r| r.as_str())
        .collect()
}

/// The demo's private store: the "Employee Store" purchase plan (target market "Employees",
/// 20 % off, at most 2 units of a product per shopper, a plan price of its own for
/// `DEMO-AV-1Y`), open to addresses at `example.com` and to the access code `employee`.
#[derive(Debug, Serialize)]
pub struct DemoPrivateStore {
    pub id: i64,
    pub name: String,
    pub target_market_id: i64,
    pub email_domain: String,
    pub generic_identifier: String,
    /// The access code's PIN, at the first start only (stored as a hash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// Why `demo show` has no PIN, and how to make a new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_note: Option<String>,
}

/// The demo's private store's name.
pub const DEMO_PLAN: &str = "Employee Store";

/// Creates the demo's private store and imports its plan price
/// (`demo_private_store.json`, a catalog file of `purchasePlans` only: the demo catalog
/// itself is imported into other sites by the tests, which have no such plan).
async fn create_demo_private_store(
    store: &Store,
    hasher: &PasswordHasher,
    site: &SiteId,
    now: UnixSeconds,
) -> anyhow::Result<DemoPrivateStore> {
    use crate::purchase_plan_admin::{PlanInput, create_plan};
    use shopkeeper_domain::purchase_plans::AccessMethod;
    let input = PlanInput {
        name: Some(DEMO_PLAN.into()),
        target_market: Some("Employees".into()),
        auth_required_to_browse: Some(false),
        discount_percent: Some("20".into()),
        max_quantity_per_shopper: Some(2),
        storefront: Some(false),
        rules: vec![
            (AccessMethod::EmailDomain, "example.com".into()),
            (AccessMethod::GenericIdentifier, "employee".into()),
        ],
        ..PlanInput::default()
    };
    let (plan, codes) = create_plan(store, hasher, site, &input, now).await?;
    let prices: CatalogFile = serde_json::from_str(include_str!("demo_private_store.json"))?;
    import_catalog(store, site.as_str(), prices, now).await?;
    Ok(DemoPrivateStore {
        id: plan.id,
        name: plan.name,
        target_market_id: plan.target_market_id,
        email_domain: "example.com".into(),
        generic_identifier: "employee".into(),
        pin: codes.into_iter().next().map(|c| c.pin),
        pin_note: None,
    })
}

/// The demo's private store as `demo show` prints it: without the PIN, which only its hash
/// keeps (`None`: the database has no such plan).
async fn shown_demo_private_store(
    store: &Store,
    site: &SiteId,
) -> anyhow::Result<Option<DemoPrivateStore>> {
    let Some(plan) = store
        .purchase_plans(site)
        .await?
        .into_iter()
        .find(|p| p.name == DEMO_PLAN)
    else {
        return Ok(None);
    };
    Ok(Some(DemoPrivateStore {
        pin_note: Some(format!(
            "the access code's PIN is stored only as a hash and cannot be shown again; \
             `shopkeeper purchase-plan update --site {site} --id {} --generic-identifier \
             employee` makes a new one and prints it",
            plan.id
        )),
        id: plan.id,
        name: plan.name,
        target_market_id: plan.target_market_id,
        email_domain: "example.com".into(),
        generic_identifier: "employee".into(),
        pin: None,
    }))
}

/// The demo site's coupon codes (of its enabled offers) and points of promotion, by name.
#[derive(Debug, Serialize)]
pub struct DemoOffers {
    pub coupon_codes: Vec<String>,
    pub point_of_promotions: Vec<String>,
}

async fn demo_offers(store: &Store, site: &SiteId) -> anyhow::Result<DemoOffers> {
    let offers = store.offers(site).await?;
    Ok(DemoOffers {
        coupon_codes: offers
            .iter()
            .filter(|o| o.pricing.enabled)
            .flat_map(|o| o.coupon_codes.iter().cloned())
            .collect(),
        point_of_promotions: store
            .pops(site)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect(),
    })
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
    now: UnixSeconds,
) -> anyhow::Result<Demo> {
    let site = create_site(store, "demo", None, now).await?;
    let callback = "http://localhost:3000/callback".to_owned();
    check_redirect_uri(&callback)?;
    // The server's own start page, on its public URL, is not held to RFC 8252's rules for
    // third-party redirects: it is served by the same origin that serves the tokens, so a
    // plain-http public URL exposes nothing the rest of the server does not already.
    let public_client = insert_client(
        store,
        &site.id,
        ClientKind::Public,
        &[callback, start_page.to_owned()],
        Permissions::SHOPPER,
        now,
    )
    .await?;
    let confidential_client = insert_client(
        store,
        &site.id,
        ClientKind::Confidential,
        &[],
        // The demo's back office: its confidential key may call the Admin API too.
        Permissions {
            shopper: true,
            admin: true,
        },
        now,
    )
    .await?;
    let password = random_hex(8);
    let shopper = create_shopper(
        store,
        hasher,
        site.id.as_str(),
        "demo",
        &password,
        Some("demo@example.com"),
        now,
    )
    .await?;
    let catalog = import_catalog(store, site.id.as_str(), demo_catalog()?, now).await?;
    for (country, rate_bp) in DEMO_TAX_RATES {
        store.set_tax_rate(&site.id, country, *rate_bp).await?;
    }
    for (months, rate_bp) in DEMO_FINANCING_TERMS {
        let term = shopkeeper_domain::financing::Term::new(*months, *rate_bp)
            .map_err(anyhow::Error::msg)?;
        store.add_financing_term(&site.id, term, None, now).await?;
    }
    let private_store = create_demo_private_store(store, hasher, &site.id, now).await?;
    let staff_password = random_hex(12);
    crate::staff::create_staff_user(
        store,
        hasher,
        &site.id,
        DEMO_STAFF,
        &staff_password,
        &shopkeeper_domain::staff::Roles::parse_list(&demo_staff_roles().join(","))
            .map_err(anyhow::Error::msg)?,
        now,
    )
    .await?;
    Ok(Demo {
        staff: DemoStaff {
            username: DEMO_STAFF.into(),
            password: staff_password,
            roles: demo_staff_roles(),
        },
        private_store,
        payments_public_key: site.payments_public_key.clone(),
        offers: demo_offers(store, &site.id).await?,
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
    pub offers: DemoOffers,
    /// The demo's private store, without its access code's PIN (see its `pin_note`).
    pub private_store: Option<DemoPrivateStore>,
    /// The demo staff user with a new password, if it is still there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<DemoStaff>,
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
    now: UnixSeconds,
) -> anyhow::Result<(DemoShown, Vec<shopkeeper_domain::SecretHash>)> {
    let demo = site_id("demo")?;
    let no_demo = || {
        anyhow::anyhow!(
            "this database has no demo data (it was created with --no-demo, or the demo site, \
             its keys or its `demo` shopper were removed)"
        )
    };
    let site = store.site(&demo).await?.ok_or_else(no_demo)?;
    let clients = store.clients(Some(&demo)).await?;
    let first = |kind: ClientKind| clients.iter().find(|c| c.kind == kind).ok_or_else(no_demo);
    let (public, confidential) = (first(ClientKind::Public)?, first(ClientKind::Confidential)?);
    let shopper = store
        .shopper_by_username(&demo, "demo")
        .await?
        .ok_or_else(no_demo)?;
    let password = random_hex(8);
    let hash = hasher.hash(password.clone()).await?;
    let revoked = store
        .set_shopper_password(&demo, shopper.id, &hash, now)
        .await?;
    let secret = rotate_secret(store, &confidential.api_key).await?;
    let offers = demo_offers(store, &demo).await?;
    let private_store = shown_demo_private_store(store, &demo).await?;
    let staff = match store.staff_user(&demo, DEMO_STAFF).await? {
        Some(_) => {
            let password = random_hex(12);
            crate::staff::set_staff_password(store, hasher, &demo, DEMO_STAFF, &password, now)
                .await?;
            Some(DemoStaff {
                username: DEMO_STAFF.into(),
                password,
                roles: demo_staff_roles(),
            })
        }
        None => None,
    };
    let demo = &demo;
    let listed = |api_key: ApiKey, kind: ClientKind, secret: Option<String>| async move {
        let permissions = store
            .client(&api_key, 0)
            .await?
            .map(|c| c.permissions.to_stored())
            .unwrap_or_default();
        anyhow::Ok(CreatedClient {
            permissions,
            redirect_uris: store.redirect_uris(&api_key).await?,
            api_key: api_key.to_string(),
            site: demo.to_string(),
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
            offers,
            private_store,
            staff,
            note: "passwords and secrets are stored only as hashes, so these are new: the demo \
                   shopper's and staff user's passwords and the confidential key's secret above \
                   replace the old ones, and their sessions and tokens have ended",
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
    now: UnixSeconds,
) -> anyhow::Result<Vec<shopkeeper_domain::SecretHash>> {
    check_new_password(password)?;
    let hash = hasher.hash(password.to_owned()).await?;
    Ok(store
        .set_shopper_password(&site_id(site)?, id, &hash, now)
        .await?)
}

fn check_new_password(password: &str) -> anyhow::Result<()> {
    use shopkeeper_domain::shopper::MIN_PASSWORD;
    if password.len() < MIN_PASSWORD || password.len() > 1024 {
        anyhow::bail!("password must be {MIN_PASSWORD}-1024 characters");
    }
    Ok(())
}

/// The demo's financing terms (months, annual rate in basis points): interest-free over 6 months,
/// the docs' 9.9 % over 12, and 14.99 % over 24.
pub const DEMO_FINANCING_TERMS: &[(i64, i64)] = &[(6, 0), (12, 990), (24, 1499)];

/// The demo site's tax table (basis points: 2000 is twenty percent). US sales tax is left at 0 (it varies
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

/// Parses a catalog file (`shopkeeper catalog import FILE`); each item's own mistakes are
/// reported by the import, with every other problem of the file.
pub fn parse_catalog(json: &str) -> Result<ParsedFile, ImportError> {
    ParsedFile::parse(json).map_err(|p| ImportError::Invalid(vec![p]))
}

/// Base products an import commits together when not told otherwise. Measured with a server
/// answering token requests on the same SQLite file (docs/benchmarks.md).
pub const DEFAULT_IMPORT_BATCH: NonZeroUsize = NonZeroUsize::new(500).unwrap();

/// What an import did (`shopkeeper catalog import` prints it).
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    pub site: String,
    pub products: Tally,
    pub variations: Tally,
    pub categories: Tally,
    /// Offers, matched by `externalReferenceId` (written in one transaction after the
    /// products, with the points of promotion).
    pub offers: Tally,
    /// Points of promotion, matched by name.
    pub point_of_promotions: Tally,
    /// Products priced or limited in the site's purchase plans (`purchasePlans`), written
    /// after the products and offers, one transaction per plan.
    pub purchase_plan_prices: usize,
    /// Transactions the products were committed in.
    pub batches: usize,
    pub batch_size: usize,
    pub seconds: f64,
    /// Id of each imported base product, in file order; not printed (a large import's list was
    /// a line of 100 KB): look products up by sku.
    #[serde(skip)]
    pub product_ids: Vec<i64>,
}

/// After each committed batch of an import.
#[derive(Debug, Clone, Copy)]
pub struct ImportProgress {
    pub batch: usize,
    pub batches: usize,
    pub products_done: usize,
    pub products_total: usize,
    pub variations_done: usize,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file has problems (all of them); nothing was written.
    #[error("{}", invalid_message(.0))]
    Invalid(Vec<Problem>),
    /// A batch failed after the validation; the batches before it stay committed.
    #[error("{message}")]
    Interrupted {
        message: String,
        /// What the committed batches wrote.
        committed: Box<ImportSummary>,
        products_total: usize,
        cause: String,
    },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        Self::Other(e.into())
    }
}

fn invalid_message(problems: &[Problem]) -> String {
    let mut text = format!(
        "the catalog file has {} problem{}; nothing was imported",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        text.push_str(&format!("\n  {p}"));
    }
    text
}

impl ImportError {
    /// The error as `shopkeeper catalog import` prints it on stderr.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Invalid(problems) => serde_json::json!({
                "code": "invalid-catalog",
                "message": format!(
                    "the catalog file has {} problem{}; nothing was imported",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                ),
                "problems": problems,
            }),
            Self::Interrupted {
                message,
                committed,
                products_total,
                cause,
            } => serde_json::json!({
                "code": "import-interrupted",
                "message": message,
                "cause": cause,
                "productsTotal": products_total,
                "committed": committed,
            }),
            Self::Other(e) => serde_json::json!({"message": format!("{e:#}")}),
        }
    }
}

/// 12,345 (counts in messages people read).
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Imports a catalog into a site with the default batch size and no progress reports.
pub async fn import_catalog(
    store: &Store,
    site: &str,
    file: impl Into<ParsedFile>,
    now: UnixSeconds,
) -> Result<ImportSummary, ImportError> {
    import_catalog_with(
        store,
        site,
        file.into(),
        DEFAULT_IMPORT_BATCH,
        &mut |_| {},
        now,
    )
    .await
}

/// Imports a catalog into a site. The whole file is validated first (every problem is
/// returned, and nothing is written if there is one); then its categories are written in one
/// transaction and its products in batches of `batch_size` base products (with their
/// variations), each committed on its own so that the database's writers take turns with the
/// import. Products are matched by sku and categories by name, so running the same file again
/// finishes an interrupted import and changes nothing after a complete one.
pub async fn import_catalog_with(
    store: &Store,
    site: &str,
    file: ParsedFile,
    batch_size: NonZeroUsize,
    progress: &mut dyn FnMut(&ImportProgress),
    now: UnixSeconds,
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let batch_size = batch_size.get();
    let id = site_id(site)?;
    if store.site(&id).await?.is_none() {
        return Err(anyhow::anyhow!("site {site:?} does not exist").into());
    }
    let stored: HashSet<String> = store
        .categories(&id)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let mut file = file;
    let (offers, pops) = file.take_offers();
    let offers = OfferSection::parse(offers, pops);
    let plans = PlanSection::parse(file.take_purchase_plans());
    // What the plans' entries may name: the site's plans, the products of the file and of
    // the site, with their currencies.
    let known_plans = if plans.is_empty() {
        KnownPlans::default()
    } else {
        let mut currencies = file.sku_currencies();
        for sku in plans.skus() {
            if currencies.contains_key(&sku) {
                continue;
            }
            if let Some(product_id) = store.product_id_by_sku(&id, &sku).await?
                && let Some(product) = store.product(&id, product_id).await?
            {
                currencies.insert(sku, product.currency);
            }
        }
        KnownPlans {
            plans: store
                .purchase_plans(&id)
                .await?
                .into_iter()
                .map(|p| p.name)
                .collect(),
            currencies,
        }
    };
    // What the offers may name besides the file's own items: the site's.
    let known = if offers.is_empty() {
        Known::default()
    } else {
        let named = offers.skus();
        let mut skus = file.skus();
        skus.extend(
            store
                .skus_present(&id, named.iter().map(String::as_str))
                .await?,
        );
        let codes = offers.coupon_codes();
        Known {
            skus,
            categories: file.category_names().union(&stored).cloned().collect(),
            offers: store.offer_references(&id).await?,
            coupon_codes: store
                .coupon_holders(&id, codes.iter().map(String::as_str))
                .await?,
        }
    };
    // Every problem of the file, its offers' too, before anything is written.
    let (catalog, offers, plans) = match (
        file.validate(&stored),
        offers.validate(&known),
        plans.validate(&known_plans),
    ) {
        (Ok(catalog), Ok(offers), Ok(plans)) => (catalog, offers, plans),
        (catalog, offers, plans) => {
            let mut problems = catalog.err().unwrap_or_default();
            problems.extend(offers.err().unwrap_or_default());
            problems.extend(plans.err().unwrap_or_default());
            return Err(ImportError::Invalid(problems));
        }
    };
    let total = catalog.products.len();
    let batches = total.div_ceil(batch_size);
    let mut summary = ImportSummary {
        site: site.to_owned(),
        batch_size,
        product_ids: Vec::with_capacity(total),
        ..Default::default()
    };
    let interrupted = |summary: &ImportSummary, failed: &str, e: StoreError| {
        let done = summary.products.total();
        let committed = match summary.batches {
            0 => "nothing".to_owned(),
            1 => format!("batch 1 of {batches}"),
            n => format!("batches 1-{n} of {batches}"),
        };
        ImportError::Interrupted {
            message: format!(
                "committed {} of {} products ({committed}) and {} categories; {failed} failed: \
                 {e}. Re-run the same file to finish: the import is idempotent (products match \
                 by sku, categories by name, offers by externalReferenceId)",
                thousands(done),
                thousands(total),
                summary.categories.total(),
            ),
            committed: Box::new(summary.clone()),
            products_total: total,
            cause: e.to_string(),
        }
    };
    summary.categories = store
        .import_categories(&id, &catalog.categories, now)
        .await
        .map_err(|e| interrupted(&summary, "writing the categories", e))?;
    for (n, chunk) in catalog.products.chunks(batch_size).enumerate() {
        let batch_started = Instant::now();
        let written = store
            .import_products(&id, n + 1, chunk, now)
            .await
            .map_err(|e| interrupted(&summary, &format!("batch {}", n + 1), e))?;
        let held = batch_started.elapsed();
        summary.products.add(written.products);
        summary.variations.add(written.variations);
        summary.product_ids.extend(written.product_ids);
        summary.batches = n + 1;
        progress(&ImportProgress {
            batch: n + 1,
            batches,
            products_done: summary.products.total(),
            products_total: total,
            variations_done: summary.variations.total(),
            elapsed: started.elapsed(),
        });
        if store.engine() == Engine::Sqlite && n + 1 < batches {
            tokio::time::sleep(turn_for_waiting_writers(held)).await;
        }
    }
    if !offers.is_empty() {
        (summary.offers, summary.point_of_promotions) = store
            .import_offers(&id, &offers, now)
            .await
            .map_err(|e| interrupted(&summary, "writing the offers", e))?;
    }
    if !plans.is_empty() {
        let by_name: std::collections::HashMap<String, i64> = store
            .purchase_plans(&id)
            .await?
            .into_iter()
            .map(|p| (p.name, p.id))
            .collect();
        for plan in &plans {
            let failed = || format!("writing the prices of purchase plan {:?}", plan.name);
            let plan_id = *by_name.get(&plan.name).ok_or_else(|| {
                interrupted(
                    &summary,
                    &failed(),
                    StoreError::NotFound(format!("purchase plan {:?}", plan.name)),
                )
            })?;
            let mut prices = Vec::with_capacity(plan.prices.len());
            for p in &plan.prices {
                let product_id = store
                    .product_id_by_sku(&id, &p.sku)
                    .await
                    .and_then(|found| {
                        found.ok_or_else(|| StoreError::NotFound(format!("sku {:?}", p.sku)))
                    })
                    .map_err(|e| interrupted(&summary, &failed(), e))?;
                prices.push(PlanPrice {
                    product_id,
                    unit_price_minor: p.unit_price_minor,
                    max_quantity: p.max_quantity,
                });
            }
            store
                .set_purchase_plan_prices(&id, plan_id, &prices)
                .await
                .map_err(|e| interrupted(&summary, &failed(), e))?;
            summary.purchase_plan_prices += prices.len();
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The pause between two batches on SQLite, after a batch that held the write lock for `held`.
///
/// Another process's writer (a server's token grants) that found the lock taken waits in
/// SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and then
/// 100 ms between tries. An import that took the lock again at once would be holding it at
/// each of those tries until the waiter gave up (`busy_timeout`, a 503). Pausing for the sleep
/// such a waiter is in after waiting `held` (plus a margin) lets every writer that queued
/// during the batch in before the next one.
fn turn_for_waiting_writers(held: Duration) -> Duration {
    // Cumulative wait (ms) after which the busy handler sleeps the given time (ms).
    const SLEEPS: [(u64, u64); 12] = [
        (0, 1),
        (1, 2),
        (3, 5),
        (8, 10),
        (18, 15),
        (33, 20),
        (53, 25),
        (78, 25),
        (103, 25),
        (128, 50),
        (178, 50),
        (228, 100),
    ];
    let waited = held.as_millis() as u64;
    let sleep = SLEEPS
        .iter()
        .rev()
        .find(|(after, _)| waited >= *after)
        .map_or(1, |(_, sleep)| *sleep);
    Duration::from_millis(sleep + 2)
}
