use clap::{Parser, Subcommand};
use serde::Serialize;
use shopkeeper::auth::PasswordHasher;
use shopkeeper::config::{DatabaseSettings, HashingSettings, ServeSettings};
use shopkeeper::domain::ClientKind;
use shopkeeper::domain::authorize::FlowSet;
use shopkeeper::provision;
use shopkeeper::startup::Application;
use shopkeeper::store::Store;
use shopkeeper::telemetry;
use std::io::Read;

// mimalloc instead of glibc's malloc: a token grant makes dozens of small short-lived
// allocations across threads (request, SQL arguments, response), and glibc's arenas spent
// about 15 % of the server's CPU on them under load (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Shopkeeper: the Global Commerce Shopper API's token service and resources, self-hosted.
/// Every command prints JSON on stdout.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML file of options (keys: the long flag names); flags and environment variables
    /// override it. `shopkeeper config check FILE` validates one.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    database: DatabaseSettings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(ServeSettings),
    /// Manage sites.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Manage API clients (API keys).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage shoppers.
    #[command(subcommand)]
    Shopper(ShopperCommand),
    /// Manage a site's catalog.
    #[command(subcommand)]
    Catalog(CatalogCommand),
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Import products and categories from a JSON file (see README). The whole file is
    /// checked first (every problem is listed; nothing is written if there is one), then
    /// products are committed in batches, with progress on stderr. Products are matched by
    /// sku and categories by name, so importing again updates them, and re-running a file
    /// whose import was interrupted finishes it.
    Import {
        /// The catalog file.
        file: std::path::PathBuf,
        #[arg(long, default_value = "demo")]
        site: String,
        /// Base products (with their variations) committed per transaction; between two
        /// batches a server on the same database gets its turn to write.
        #[arg(long, default_value_t = provision::DEFAULT_IMPORT_BATCH)]
        batch_size: std::num::NonZeroUsize,
    },
}

#[derive(Subcommand)]
enum SiteCommand {
    /// Create a site.
    Create {
        #[arg(long)]
        id: String,
        /// User-session TTL in seconds: the `expires_in` of its access tokens.
        #[arg(long)]
        session_ttl: Option<i64>,
    },
    /// List sites.
    List,
    /// Set the hosted sign-in page's title and brand colour (#rrggbb).
    SetBranding {
        #[arg(long)]
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long, default_value = "#1f4fbf")]
        brand_color: String,
    },
    /// Change a site's user-session TTL (applies to tokens issued from now on).
    SetSessionTtl {
        #[arg(long)]
        id: String,
        #[arg(long)]
        session_ttl: i64,
    },
    /// Set the tax rate of a country for a site's carts and orders, in basis points
    /// (725 = 7.25 %); prints the site's whole tax table.
    SetTaxRate {
        #[arg(long)]
        id: String,
        /// ISO 3166 two-letter code, e.g. US.
        #[arg(long)]
        country: String,
        #[arg(long)]
        rate_bp: i64,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Kind {
    Public,
    Confidential,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Create an API key (with a secret, shown once, for confidential clients).
    Create {
        #[arg(long)]
        site: String,
        #[arg(long, value_enum)]
        kind: Kind,
        /// A redirect URI allowed for /oauth20/authorize (exact match); repeatable.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Flows the key may use, space- or comma-separated, of: password, token (implicit),
        /// code, client_credentials. Default: all (what existing integrations expect).
        #[arg(long)]
        flows: Option<String>,
    },
    /// Set the flows a key may use (password, token, code, client_credentials).
    Update {
        #[arg(long)]
        api_key: String,
        #[arg(long)]
        flows: String,
    },
    /// Set the origins (`https://shop.example.com`, comma-separated) whose pages may call
    /// `SessionToken?apiKey=` with this key; an empty list allows any origin.
    SetOrigins {
        #[arg(long)]
        api_key: String,
        #[arg(long, value_delimiter = ',')]
        origins: Vec<String>,
    },
    /// List API keys (never their secrets).
    List {
        #[arg(long)]
        site: Option<String>,
    },
    /// Refuse every request made with this key from now on, and end its tokens' access:
    /// they are deleted (so they stay dead if the key is enabled again).
    Disable {
        #[arg(long)]
        api_key: String,
    },
    /// Accept the key again.
    Enable {
        #[arg(long)]
        api_key: String,
    },
    /// Issue a new secret for a confidential key; the old one stops working at once.
    RotateSecret {
        #[arg(long)]
        api_key: String,
    },
    /// Whether this client sends shopper passwords base64-encoded on the password grant.
    SetPasswordBase64 {
        #[arg(long)]
        api_key: String,
        #[arg(long, action = clap::ArgAction::Set)]
        enabled: bool,
    },
}

#[derive(Subcommand)]
enum ShopperCommand {
    /// Create a shopper: with a username and a password read from stdin (login kept by
    /// Shopkeeper), or with an external reference id (login kept by the client).
    Create {
        #[arg(long)]
        site: String,
        #[arg(
            long,
            conflicts_with = "external_reference_id",
            requires = "password_stdin"
        )]
        username: Option<String>,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, required_unless_present = "username")]
        external_reference_id: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        hashing: HashingSettings,
    },
    /// List a site's shoppers.
    List {
        #[arg(long)]
        site: String,
    },
    /// Give a shopper (one with a username) a new username; usernames are unique per site
    /// without regard to case. Also runs on a database the server refuses to start on because
    /// its usernames clash in case.
    Rename {
        #[arg(long)]
        site: String,
        #[arg(long)]
        id: i64,
        #[arg(long)]
        username: String,
    },
}

#[derive(Serialize)]
struct ClientListing {
    flows: String,
    api_key: String,
    site: String,
    kind: String,
    disabled: bool,
    password_base64: bool,
}

fn print(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

fn main() {
    // The TOML file must be applied before the runtime starts any thread: it works by setting
    // environment variables (see `config_file`).
    if let Err(e) = apply_config_file() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// `--config FILE` (or `SHOPKEEPER_CONFIG`), and the `config check FILE` command, read before
/// clap parses anything else.
fn apply_config_file() -> anyhow::Result<()> {
    use clap::CommandFactory;
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("config") {
        let check = args.get(2).map(String::as_str) == Some("check");
        let Some(file) = args.get(3).filter(|_| check) else {
            anyhow::bail!("usage: shopkeeper config check FILE");
        };
        let text = std::fs::read_to_string(file)?;
        let set = shopkeeper::config_file::assignments(&Cli::command(), &text)?;
        for (env, value) in &set {
            // SAFETY: single-threaded here, before any runtime or thread exists.
            unsafe { std::env::set_var(env, value) };
        }
        // Values are validated by parsing them as `serve` would.
        Cli::try_parse_from(["shopkeeper", "serve"]).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "{}",
            serde_json::json!({"file": file, "valid": true, "options": set.len()})
        );
        std::process::exit(0);
    }
    let file = args
        .iter()
        .position(|a| a == "--config")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--config=").map(str::to_owned))
        })
        .or_else(|| std::env::var("SHOPKEEPER_CONFIG").ok());
    let Some(file) = file else { return Ok(()) };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| anyhow::anyhow!("cannot read config file {file}: {e}"))?;
    for (env, value) in shopkeeper::config_file::assignments(&Cli::command(), &text)? {
        if std::env::var_os(&env).is_none() {
            // SAFETY: single-threaded here, before any runtime or thread exists.
            unsafe { std::env::set_var(env, value) };
        }
    }
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(settings) => serve(settings, cli.database).await,
        Command::Site(cmd) => {
            let store = Store::connect(&cli.database).await?;
            match cmd {
                SiteCommand::Create { id, session_ttl } => {
                    print(&provision::create_site(&store, &id, session_ttl).await?)
                }
                SiteCommand::List => print(&store.sites().await?),
                SiteCommand::SetBranding {
                    id,
                    title,
                    brand_color,
                } => {
                    if !shopkeeper::domain::authorize::valid_brand_color(&brand_color) {
                        anyhow::bail!("--brand-color must be #rrggbb");
                    }
                    store
                        .set_site_branding(&id, title.as_deref(), &brand_color)
                        .await?;
                    print(&store.site_branding(&id).await?.map(|b| {
                        serde_json::json!({"id": b.id, "title": b.display_name, "brand_color": b.brand_color})
                    }))
                }
                SiteCommand::SetSessionTtl { id, session_ttl } => {
                    let ttl = shopkeeper::domain::SessionTtl::from_seconds(session_ttl)
                        .map_err(anyhow::Error::msg)?;
                    store.set_site_session_ttl(&id, ttl).await?;
                    print(&store.site(&id).await?)
                }
                SiteCommand::SetTaxRate {
                    id,
                    country,
                    rate_bp,
                } => {
                    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                        anyhow::bail!("country must be a two-letter ISO 3166 code such as US");
                    }
                    if !(0..=10_000).contains(&rate_bp) {
                        anyhow::bail!("rate-bp must be 0-10000 (basis points)");
                    }
                    if store.site(&id).await?.is_none() {
                        anyhow::bail!("site {id:?} does not exist");
                    }
                    store.set_tax_rate(&id, &country, rate_bp).await?;
                    let rates: serde_json::Map<String, serde_json::Value> = store
                        .tax_rates(&id)
                        .await?
                        .into_iter()
                        .map(|(c, bp)| (c, serde_json::json!(bp)))
                        .collect();
                    print(&serde_json::json!({"site": id, "tax_rates_bp": rates}))
                }
            }
        }
        Command::Client(cmd) => {
            let store = Store::connect(&cli.database).await?;
            client_command(&store, cmd).await
        }
        Command::Catalog(CatalogCommand::Import {
            file,
            site,
            batch_size,
        }) => {
            let json = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let imported = match provision::parse_catalog(&json) {
                Ok(catalog) => {
                    let store = Store::connect(&cli.database).await?;
                    let mut last_report = std::time::Instant::now();
                    let mut report = |p: &provision::ImportProgress| {
                        // A line a second at most, and the last batch's.
                        if p.batch == p.batches || last_report.elapsed().as_secs() >= 1 {
                            last_report = std::time::Instant::now();
                            eprintln!("{}", import_progress_line(p));
                        }
                    };
                    provision::import_catalog_with(&store, &site, catalog, batch_size, &mut report)
                        .await
                }
                Err(e) => Err(e),
            };
            match imported {
                Ok(summary) => print(&summary),
                Err(provision::ImportError::Other(e)) => Err(e),
                // The file's problems, or what an interrupted import committed, as data.
                Err(e) => {
                    eprintln!("{}", serde_json::json!({ "error": e.to_json() }));
                    std::process::exit(1);
                }
            }
        }
        Command::Shopper(cmd) => {
            let store = match cmd {
                // The repair of clashing usernames: the schema as far as it can go.
                ShopperCommand::Rename { .. } => Store::connect_for_repair(&cli.database).await?,
                _ => Store::connect(&cli.database).await?,
            };
            match cmd {
                ShopperCommand::Create {
                    site,
                    username: Some(username),
                    password_stdin: true,
                    email,
                    hashing,
                    ..
                } => {
                    let mut password = String::new();
                    std::io::stdin().read_to_string(&mut password)?;
                    let password = password.trim_end_matches(['\r', '\n']);
                    let hasher = PasswordHasher::new(&hashing)?;
                    let shopper = provision::create_shopper(
                        &store,
                        &hasher,
                        &site,
                        &username,
                        password,
                        email.as_deref(),
                    )
                    .await?;
                    print(&shopper)
                }
                ShopperCommand::Create {
                    site,
                    external_reference_id: Some(reference),
                    email,
                    ..
                } => print(
                    &provision::create_external_shopper(
                        &store,
                        &site,
                        &reference,
                        email.as_deref(),
                    )
                    .await?,
                ),
                ShopperCommand::Create { .. } => anyhow::bail!(
                    "give --username with --password-stdin, or --external-reference-id"
                ),
                ShopperCommand::List { site } => print(&store.shoppers(&site).await?),
                ShopperCommand::Rename { site, id, username } => {
                    print(&provision::rename_shopper(&store, &site, id, &username).await?)
                }
            }
        }
    }
}

/// `import: batch 12/100, 6,000/50,000 products (12.0 %), 18,000 variations, 4,100 products/s`
fn import_progress_line(p: &provision::ImportProgress) -> String {
    let seconds = p.elapsed.as_secs_f64().max(0.001);
    format!(
        "import: batch {}/{}, {}/{} products ({:.1} %), {} variations, {:.0} products/s, {:.1} s",
        p.batch,
        p.batches,
        p.products_done,
        p.products_total,
        100.0 * p.products_done as f64 / p.products_total.max(1) as f64,
        p.variations_done,
        p.products_done as f64 / seconds,
        seconds
    )
}

async fn client_command(store: &Store, cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Create {
            site,
            kind,
            redirect_uris,
            flows,
        } => {
            let kind = match kind {
                Kind::Public => ClientKind::Public,
                Kind::Confidential => ClientKind::Confidential,
            };
            let flows = flows
                .as_deref()
                .map(FlowSet::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let created = provision::create_client(store, &site, kind, &redirect_uris).await?;
            if let Some(flows) = &flows {
                store.set_client_flows(&created.api_key, flows).await?;
            }
            let flows = flows.unwrap_or_else(FlowSet::all).to_stored();
            // The foundation's output, plus the flows.
            let mut out = serde_json::to_value(&created)?;
            out["flows"] = flows.into();
            print(&out)
        }
        ClientCommand::SetOrigins { api_key, origins } => {
            let origins = origins
                .iter()
                .filter(|o| !o.trim().is_empty())
                .map(|o| {
                    shopkeeper::domain::authorize::normalise_origin(o).ok_or_else(|| {
                        anyhow::anyhow!("not an origin (scheme://host[:port]): {o:?}")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            store.set_allowed_origins(&api_key, &origins).await?;
            print(&serde_json::json!({"api_key": api_key, "allowed_origins": origins}))
        }
        ClientCommand::Update { api_key, flows } => {
            let flows = FlowSet::parse(&flows).map_err(anyhow::Error::msg)?;
            store.set_client_flows(&api_key, &flows).await?;
            print(&serde_json::json!({"api_key": api_key, "flows": flows.to_stored()}))
        }
        ClientCommand::List { site } => {
            let listing: Vec<ClientListing> = store
                .clients(site.as_deref())
                .await?
                .into_iter()
                .map(|c| ClientListing {
                    disabled: c.is_disabled(),
                    password_base64: c.password_is_base64(),
                    flows: c.flows().to_stored(),
                    kind: c.kind,
                    api_key: c.api_key,
                    site: c.site_id,
                })
                .collect();
            print(&listing)
        }
        ClientCommand::Disable { api_key } => {
            let revoked = store.disable_client(&api_key).await?;
            // Running nodes on PostgreSQL drop them from their check caches at once; every
            // node also re-reads the key's state within two seconds (its client cache).
            store.publish_revocations(&revoked).await?;
            print(&serde_json::json!({
                "api_key": api_key,
                "disabled": true,
                "revoked_access_tokens": revoked.len(),
            }))
        }
        ClientCommand::Enable { api_key } => {
            store.enable_client(&api_key).await?;
            print(&serde_json::json!({"api_key": api_key, "disabled": false}))
        }
        ClientCommand::RotateSecret { api_key } => {
            let secret = provision::rotate_secret(store, &api_key).await?;
            print(&serde_json::json!({"api_key": api_key, "secret": secret}))
        }
        ClientCommand::SetPasswordBase64 { api_key, enabled } => {
            store.set_client_password_base64(&api_key, enabled).await?;
            print(&serde_json::json!({"api_key": api_key, "password_base64": enabled}))
        }
    }
}

async fn serve(settings: ServeSettings, database: DatabaseSettings) -> anyhow::Result<()> {
    telemetry::init(settings.log_format);
    let (app, demo) = Application::build(&settings, &database).await?;
    if let Some(demo) = demo {
        // Printed once, to stdout, not through the logger: the only time these are shown.
        print(&serde_json::json!({"demo": demo}))?;
    }
    tracing::info!(address = %app.local_addr(), "shopkeeper listening");
    app.run_until_stopped().await?;
    Ok(())
}
