mod admin_cli;

use clap::{Parser, Subcommand};
use serde::Serialize;
use shopkeeper::auth::PasswordHasher;
use shopkeeper::config::{DatabaseSettings, HashingSettings, ServeSettings};
use shopkeeper::config_file::ConfigFile;
use shopkeeper::domain::authorize::FlowSet;
use shopkeeper::domain::shopper::check_email;
use shopkeeper::domain::{ApiKey, ClientKind, Permissions, SiteId};
use shopkeeper::provision;
use shopkeeper::startup::Application;
use shopkeeper::store::Store;
use shopkeeper::telemetry;
use std::io::Read;
use std::process::ExitCode;

// mimalloc instead of glibc's malloc: a token grant makes dozens of small short-lived
// allocations across threads (request, SQL arguments, response), and glibc's arenas were a
// large share of the server's CPU under load (figures: docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Shopkeeper: the Global Commerce Shopper API's token service and resources, self-hosted.
/// Every command prints JSON on stdout.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML file of options (keys: the long flag names); flags and environment variables
    /// override it. `shopkeeper config check FILE` validates one.
    #[arg(long, env = "SHOPKEEPER_CONFIG", global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    database: DatabaseSettings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (creates and migrates the database if needed).
    // Boxed: the server's settings dwarf every other command's arguments.
    Serve(Box<ServeSettings>),
    /// Create the database, or bring its schema up to date, and exit. Every command but this
    /// and `serve` refuses a database that does not exist yet.
    Migrate,
    /// The demo data a first start creates.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
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
    /// Read the event outbox: the changes merchants are told about, numbered per site.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Manage a site's offers (discounts, shipping discounts, merchandising) and their coupon
    /// codes: JSON definitions in, JSON out (README, "Offers").
    #[command(subcommand)]
    Offer(OfferCommand),
    /// Manage a site's points of promotion (named places a storefront shows offers in).
    #[command(subcommand)]
    Pop(PopCommand),
    /// Manage a site's purchase plans (private stores): who may use each (access rules), its
    /// discount, limits and dates. PINs of access codes and invitations are made here, printed
    /// once (`accessCodes`) and stored only as hashes.
    // Boxed: a plan's options are many.
    #[command(subcommand)]
    PurchasePlan(Box<PurchasePlanCommand>),
    /// The merchant's side of order returns (README, "Returns"): list a site's returns,
    /// accept or refuse one the shopper asked for, refund one (a row of the refunds ledger).
    #[command(subcommand)]
    Return(ReturnCommand),
    /// Manage the merchant's staff users (Global Commerce users) and their roles: they sign
    /// in through `POST /auth` for the Admin API routes that need a role (README, "Admin API").
    #[command(subcommand)]
    Staff(admin_cli::StaffCommand),
    /// Read the audit trail of Admin API changes.
    #[command(subcommand)]
    Audit(admin_cli::AuditCommand),
}

#[derive(Subcommand)]
enum ReturnCommand {
    /// A site's returns, oldest first, as a JSON array (each with its lines and refunds).
    List {
        #[arg(long)]
        site: String,
        /// Only this order's returns.
        #[arg(long)]
        order: Option<i64>,
    },
    /// Accept a pending return (`PendingProductReturn` → `ReturnAcknowledged`).
    Accept {
        #[arg(long)]
        site: String,
        #[arg(long)]
        id: i64,
    },
    /// Refuse a pending return (→ `Refused`): its units may be asked for again.
    Refuse {
        #[arg(long)]
        site: String,
        #[arg(long)]
        id: i64,
    },
    /// Refund a pending or accepted return (→ `RefundedWithoutReturn`): what it asked for, to
    /// the order's payment source (simulated), recorded in the refunds ledger.
    Refund {
        #[arg(long)]
        site: String,
        #[arg(long)]
        id: i64,
    },
}

/// A plan's options, for `purchase-plan create` and `update`.
#[derive(clap::Args)]
struct PlanOptions {
    /// The name the storefront shows (`brandDisplayName`).
    #[arg(long)]
    brand_display_name: Option<String>,
    /// The logo's URL (`brandLogoImage`).
    #[arg(long)]
    brand_logo_image: Option<String>,
    /// The plan's target market, by name (created if new; a new plan's defaults to its name).
    #[arg(long)]
    target_market: Option<String>,
    /// Shoppers must be authorized into the plan to browse the site's catalog.
    #[arg(long)]
    auth_required_to_browse: bool,
    /// Off every product's sale price unless the plan prices it: a percentage, `15` or
    /// `12.5` (at most two decimals, at most 100).
    #[arg(long, value_name = "PERCENT")]
    discount_percent: Option<String>,
    /// Most units of one product a shopper may buy in the plan, over all their orders.
    #[arg(long, value_name = "N")]
    max_quantity_per_shopper: Option<i64>,
    /// When the plan opens (RFC 3339, e.g. 2030-01-01T00:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    starts_at: Option<String>,
    /// When the plan closes (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    ends_at: Option<String>,
    /// Make the site this private store: shoppers outside its plans browse only if it lets
    /// them, and never buy.
    #[arg(long)]
    storefront: bool,
    /// An e-mail domain whose addresses may use the plan (repeatable).
    #[arg(long, value_name = "DOMAIN")]
    email_domain: Vec<String>,
    /// An e-mail address that may use the plan (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    email_address: Vec<String>,
    /// An IP address or network (CIDR) whose shoppers may use the plan (repeatable).
    #[arg(long, value_name = "CIDR")]
    ip_address: Vec<String>,
    /// A referring URL (its prefix) whose shoppers may use the plan (repeatable).
    #[arg(long, value_name = "URL")]
    referral_url: Vec<String>,
    /// An access code's name; a PIN is made for it and printed once (repeatable; naming one
    /// again makes a new PIN).
    #[arg(long, value_name = "NAME")]
    generic_identifier: Vec<String>,
    /// Invite an e-mail address; a PIN is made for it and printed once (repeatable).
    #[arg(long, value_name = "EMAIL")]
    invite: Vec<String>,
}

impl PlanOptions {
    fn input(self, name: Option<String>) -> shopkeeper::purchase_plan_admin::PlanInput {
        use shopkeeper::domain::purchase_plans::AccessMethod as M;
        let mut rules = Vec::new();
        for (method, values) in [
            (M::EmailDomain, self.email_domain),
            (M::EmailAddress, self.email_address),
            (M::IpAddress, self.ip_address),
            (M::ReferralUrl, self.referral_url),
            (M::GenericIdentifier, self.generic_identifier),
            (M::EmailInvitation, self.invite),
        ] {
            rules.extend(values.into_iter().map(|v| (method, v)));
        }
        shopkeeper::purchase_plan_admin::PlanInput {
            name,
            brand_display_name: self.brand_display_name,
            brand_logo_image: self.brand_logo_image,
            target_market: self.target_market,
            auth_required_to_browse: self.auth_required_to_browse.then_some(true),
            discount_percent: self.discount_percent,
            max_quantity_per_shopper: self.max_quantity_per_shopper,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            enabled: None,
            storefront: self.storefront.then_some(true),
            rules,
            remove_rules: Vec::new(),
        }
    }
}

#[derive(Subcommand)]
enum PurchasePlanCommand {
    /// Create a plan; prints it, with the PINs made for its access codes and invitations.
    Create {
        #[arg(long, default_value = "demo")]
        site: String,
        /// Unique on the site.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        options: PlanOptions,
        #[command(flatten)]
        hashing: HashingSettings,
    },
    /// Change a plan: the options given change, rules are removed then added.
    Update {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        id: i64,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        options: PlanOptions,
        /// Shoppers need not be authorized into the plan to browse.
        #[arg(long, conflicts_with = "auth_required_to_browse")]
        no_auth_required_to_browse: bool,
        /// The site is no longer this private store.
        #[arg(long, conflicts_with = "storefront")]
        no_storefront: bool,
        /// Switch the plan back on.
        #[arg(long)]
        enable: bool,
        /// Remove a rule, `METHOD:VALUE` (`EmailDomain:example.com`; methods as `list` shows
        /// them; repeatable).
        #[arg(long, value_name = "METHOD:VALUE")]
        remove_rule: Vec<String>,
        #[command(flatten)]
        hashing: HashingSettings,
    },
    /// Every plan of the site, with its rules (never their PINs) and prices.
    List {
        #[arg(long, default_value = "demo")]
        site: String,
    },
    /// Switch a plan off: no shopper is authorized into it, carts bound to it are priced
    /// publicly again (`update --enable` switches it back on).
    Disable {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        id: i64,
    },
}

#[derive(Subcommand)]
enum OfferCommand {
    /// Create an offer from a JSON definition (a file, or - for standard input); prints it.
    Create {
        #[arg(long, default_value = "demo")]
        site: String,
        /// The definition: a file, or `-`.
        file: std::path::PathBuf,
    },
    /// Replace an offer's definition (its uses and coupon codes stay; new codes are added).
    Update {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        id: i64,
        file: std::path::PathBuf,
    },
    /// Every offer of the site, as JSON definitions.
    List {
        #[arg(long, default_value = "demo")]
        site: String,
    },
    /// Turn an offer off: it applies nowhere and shows nowhere.
    Disable {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        id: i64,
    },
    /// Turn an offer back on.
    Enable {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        id: i64,
    },
}

#[derive(Subcommand)]
enum PopCommand {
    /// Create a point of promotion.
    Create {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        name: String,
    },
    /// Show an offer in a point of promotion, after the ones it shows.
    Add {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        offer: i64,
    },
    /// The site's points of promotion and their offers.
    List {
        #[arg(long, default_value = "demo")]
        site: String,
    },
}

/// A definition file's text, or standard input's for `-`.
fn read_definition(file: &std::path::Path) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))
    }
}

#[derive(Subcommand)]
enum EventsCommand {
    /// A site's events in order, as a JSON array (`seq`, `id`, `type`, `payload`, ...).
    List {
        #[arg(long)]
        site: String,
        /// Only events numbered after this one.
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Print the demo JSON again. Passwords and secrets are stored only as hashes, so this sets
    /// a new password for the demo shopper (ending their sessions) and a new secret for the demo
    /// confidential key, and prints those; the old ones stop working.
    Show {
        #[command(flatten)]
        hashing: HashingSettings,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a TOML configuration file (unknown keys, bad values) without starting
    /// anything.
    Check {
        /// The file.
        file: std::path::PathBuf,
    },
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
    /// Set a site's return period: the days after an order's submit within which its shopper
    /// may ask for a return (default 30; 0: no returns).
    SetReturnPeriod {
        #[arg(long)]
        id: String,
        #[arg(long)]
        days: i64,
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
    /// Switch the site's Global Tax ID Management: off, `POST` and `DELETE
    /// carts/active/tax-registrations` answer 409 `vat-exemption-failure` (a new site has it
    /// on).
    SetTaxIdManagement {
        #[arg(long)]
        id: String,
        /// `true` (on) or `false` (off).
        #[arg(long, action = clap::ArgAction::Set)]
        enabled: bool,
    },
    /// Open (or close) the site's carts to an API key alone (seed 003's "Access Carts with
    /// API Key Only"; off by default): each browser then gets an anonymous cart behind a cookie,
    /// only from the key's registered origins (`client set-origins`), never submitted.
    /// README, "Carts on an API key".
    SetKeyOnlyCarts {
        #[arg(long)]
        id: String,
        /// true to open, false to close.
        #[arg(long, action = clap::ArgAction::Set)]
        enabled: bool,
    },
    /// The payment methods the site's carts offer (`GET carts/active/payment-methods`); each
    /// command prints the site's whole list.
    #[command(subcommand)]
    PaymentMethods(PaymentMethodsCommand),
    /// The site's financing terms (`GET products/{id}/financing`); each command prints them
    /// all.
    #[command(subcommand)]
    Financing(FinancingCommand),
    /// The site's authorized billing or shipping countries ("Allow Billing From", "Allow
    /// Shipping To"): sets one locale's option (the default locale's unless --locale names
    /// another), or with --inherit makes a customized locale follow the default locale again;
    /// without --mode or --inherit only prints. Prints both settings. A new site allows every
    /// country.
    AuthorizedCountries {
        #[arg(long)]
        site: String,
        /// The billing countries.
        #[arg(
            long,
            conflicts_with = "shipping",
            required_unless_present = "shipping"
        )]
        billing: bool,
        /// The shipping countries.
        #[arg(long)]
        shipping: bool,
        /// all (any country), allow (only --countries), deny (any but --countries), billing
        /// (shipping only: any authorized billing country).
        #[arg(long, conflicts_with = "inherit")]
        mode: Option<String>,
        /// ISO 3166-1 alpha-2 codes, comma-separated (e.g. US,CA), with allow and deny.
        #[arg(long, value_delimiter = ',', requires = "mode")]
        countries: Vec<String>,
        /// The locale to set (e.g. fr_FR); none, or the site's own locale: the default locale,
        /// which every other locale inherits unless customized.
        #[arg(long)]
        locale: Option<String>,
        /// Why (the Comments field).
        #[arg(long, requires = "mode")]
        comments: Option<String>,
        /// Drop --locale's own setting: it inherits the default locale's again.
        #[arg(long, requires = "locale")]
        inherit: bool,
    },
}

#[derive(Subcommand)]
enum PaymentMethodsCommand {
    /// The site's methods, in the order carts list them, with where each may be used.
    List {
        #[arg(long)]
        site: String,
    },
    /// Add a method after the site's others, or change the one of this type (keeping its
    /// place).
    Set {
        #[arg(long)]
        site: String,
        /// The docs' `type`: visa, mastercard, americanExpress, payPal, ...
        #[arg(long = "type", value_name = "TYPE")]
        method_type: String,
        /// What shoppers read (`displayName`).
        #[arg(long)]
        display_name: String,
        /// The `description` (default: the display name).
        #[arg(long)]
        description: Option<String>,
        /// Only for carts in this currency (ISO 4217; repeatable; none: every currency).
        #[arg(long = "currency", value_name = "CODE")]
        currencies: Vec<String>,
        /// Only for carts billed to this country (ISO 3166 two-letter; repeatable; none: every
        /// country).
        #[arg(long = "country", value_name = "CODE")]
        countries: Vec<String>,
    },
    /// Stop offering a method.
    Remove {
        #[arg(long)]
        site: String,
        #[arg(long = "type", value_name = "TYPE")]
        method_type: String,
    },
}

#[derive(Subcommand)]
enum FinancingCommand {
    /// The site's terms, shortest first.
    List {
        #[arg(long)]
        site: String,
    },
    /// Add a term: a number of months at an annual rate.
    Add {
        #[arg(long)]
        site: String,
        /// 1-600.
        #[arg(long)]
        months: i64,
        /// The annual rate in basis points (990 = 9.9 %; 0 = interest-free; at most 10000).
        #[arg(long)]
        rate_bp: i64,
        /// What shoppers read (default: "9.9% for 12 months").
        #[arg(long)]
        description: Option<String>,
    },
    /// Remove a term (by the id `list` shows).
    Remove {
        #[arg(long)]
        site: String,
        #[arg(long)]
        id: i64,
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
        /// The APIs the key may call, comma-separated: shopper (the Shopper API and the token
        /// service), admin (the Admin API; confidential keys only).
        #[arg(long, default_value = "shopper")]
        permissions: String,
    },
    /// Replace the APIs a key may call (shopper, admin). Taking the Shopper API away ends
    /// the key's shopper tokens; taking the Admin API away ends its staff tokens.
    SetPermissions {
        #[arg(long)]
        api_key: String,
        #[arg(long)]
        permissions: String,
    },
    /// Set the flows a key may use (password, token, code, client_credentials).
    Update {
        #[arg(long)]
        api_key: String,
        #[arg(long)]
        flows: String,
    },
    /// Set the origins (`https://shop.example.com`, comma-separated) whose pages may call
    /// `SessionToken?apiKey=` with this key (an empty list allows any origin), and whose pages
    /// alone may use its carts on the key alone (`site set-key-only-carts`; none: no page).
    SetOrigins {
        #[arg(long)]
        api_key: String,
        #[arg(long, value_delimiter = ',')]
        origins: Vec<String>,
    },
    /// Replace the redirect URIs a key may use on /oauth20/authorize (exact match): `https`,
    /// `http` to a loopback host only, or an app's private-use scheme (RFC 8252). Give none to
    /// remove them all.
    SetRedirectUris {
        #[arg(long)]
        api_key: String,
        /// A redirect URI; repeatable.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
    },
    /// List API keys with their redirect URIs and allowed origins (never their secrets).
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
    /// Set the password of a shopper whose login Shopkeeper keeps, read from stdin; every
    /// session of theirs ends.
    SetPassword {
        #[arg(long)]
        site: String,
        /// The shopper's id (`shopper list`).
        #[arg(
            long,
            required_unless_present = "username",
            conflicts_with = "username"
        )]
        id: Option<i64>,
        /// Or their username (any case).
        #[arg(long)]
        username: Option<String>,
        /// Read the password from stdin (required: a password never goes on a command line).
        #[arg(long, required = true)]
        password_stdin: bool,
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
    /// Set or clear a shopper's e-mail address; addresses are unique per site without regard
    /// to case, and sign in like usernames. Also runs on a database the server refuses to
    /// start on because its addresses clash in case.
    SetEmail {
        #[arg(long)]
        site: String,
        #[arg(long)]
        id: i64,
        #[arg(long, required_unless_present = "clear")]
        email: Option<String>,
        /// Remove the address instead.
        #[arg(long, conflicts_with = "email")]
        clear: bool,
    },
}

#[derive(Serialize)]
struct ClientListing {
    flows: String,
    permissions: String,
    api_key: String,
    site: String,
    kind: &'static str,
    disabled: bool,
    password_base64: bool,
    redirect_uris: Vec<String>,
    allowed_origins: Vec<String>,
}

fn print(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(exit) => return exit,
    };
    if let Command::Config(ConfigCommand::Check { file }) = &cli.command {
        return match check_config_file(file) {
            Ok(checked) => match print(&checked) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            },
            Err(e) => fail(&e),
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// A failed command: one JSON object on stderr (`{"error": {"message": ...}}`, the message
/// with its causes), exit status 1, like every command's output is JSON.
fn fail(e: &anyhow::Error) -> ExitCode {
    let message = format!("{e:#}");
    eprintln!("{}", serde_json::json!({"error": {"message": message}}));
    ExitCode::from(1)
}

/// The command line, with the TOML file of `--config` (or `SHOPKEEPER_CONFIG`) under the
/// environment: clap parses flags and environment variables first, then again with the file's
/// values as the defaults of the options neither gave (`config_file`). `config check` reads
/// its own file instead.
fn parse_cli() -> Result<Cli, ExitCode> {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut matches = Cli::command()
        .try_get_matches_from(&args)
        .map_err(usage_error)?;
    let file = matches.get_one::<std::path::PathBuf>("config");
    if let Some(file) = file.filter(|_| matches.subcommand_name() != Some("config")) {
        let layered = ConfigFile::read(file, &Cli::command())
            .and_then(|config| config.layer(Cli::command(), &matches))
            .map_err(|e| fail(&e))?;
        matches = layered.try_get_matches_from(&args).map_err(usage_error)?;
    }
    Cli::from_arg_matches(&matches).map_err(usage_error)
}

/// A command line clap refuses: help and version print as usual; an error is JSON on stderr
/// (its first line, the usage beside it) with exit status 2.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let rendered = e.render().to_string();
    let message = rendered
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned();
    let usage = rendered
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .map(str::to_owned);
    eprintln!(
        "{}",
        serde_json::json!({"error": {"message": message, "kind": "usage", "usage": usage}})
    );
    ExitCode::from(2)
}

/// `shopkeeper config check FILE`: every key known, every value one its option accepts.
fn check_config_file(file: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    use clap::CommandFactory;
    let options = ConfigFile::read(file, &Cli::command())?.check(&Cli::command())?;
    Ok(serde_json::json!({"file": file, "valid": true, "options": options}))
}

/// A site that must exist for a command about it: named when it does not (an id no site
/// can have names none either).
async fn existing_site(store: &Store, id: &str) -> anyhow::Result<SiteId> {
    match SiteId::parse(id) {
        Ok(site) if store.site(&site).await?.is_some() => Ok(site),
        _ => anyhow::bail!("no site {id:?} (`shopkeeper site list` shows the sites)"),
    }
}

/// The key a client command names: one of no key's shape is as unknown as a missing one.
fn client_key(raw: &str) -> anyhow::Result<ApiKey> {
    ApiKey::parse(raw)
        .ok_or_else(|| shopkeeper::store::StoreError::NotFound(format!("client {raw}")).into())
}

/// A password from stdin, without its line ending.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .map_err(|e| anyhow::anyhow!("cannot read the password from stdin: {e}"))?;
    Ok(password.trim_end_matches(['\r', '\n']).to_owned())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(settings) => serve(*settings, cli.database).await,
        Command::Migrate => {
            let store = Store::connect(&cli.database).await?;
            print(&serde_json::json!({
                "database": shopkeeper::store::display_url(&cli.database.url),
                "schema_version": store.schema_version().await?,
            }))
        }
        Command::Demo(DemoCommand::Show { hashing }) => {
            let store = Store::connect_existing(&cli.database).await?;
            let hasher = PasswordHasher::new(&hashing)?;
            let (demo, revoked) = provision::show_demo(&store, &hasher, now()).await?;
            store.publish_revocations(&revoked).await?;
            print(&serde_json::json!({"demo": demo}))
        }
        Command::Config(_) => unreachable!("`config check` runs before the runtime starts"),
        Command::Site(cmd) => {
            let store = Store::connect_existing(&cli.database).await?;
            match cmd {
                SiteCommand::Create { id, session_ttl } => {
                    print(&provision::create_site(&store, &id, session_ttl, now()).await?)
                }
                SiteCommand::List => print(&store.sites().await?),
                SiteCommand::SetBranding {
                    id,
                    title,
                    brand_color,
                } => {
                    use shopkeeper::domain::site::{AA_TEXT_CONTRAST, Rgb, contrast_ratio};
                    let colour = Rgb::parse(&brand_color)
                        .map_err(|e| anyhow::anyhow!("--brand-color: {e}"))?;
                    // The hosted pages write white text on it (header, button).
                    let contrast = contrast_ratio(Rgb::WHITE, colour);
                    if contrast < AA_TEXT_CONTRAST {
                        anyhow::bail!(
                            "--brand-color {brand_color}: white text on it has a contrast of \
                             {contrast:.2}:1, under WCAG AA's {AA_TEXT_CONTRAST}:1; choose a \
                             darker colour"
                        );
                    }
                    let id = existing_site(&store, &id).await?;
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
                    let id = existing_site(&store, &id).await?;
                    store.set_site_session_ttl(&id, ttl).await?;
                    print(&store.site(&id).await?)
                }
                SiteCommand::SetReturnPeriod { id, days } => {
                    let days = shopkeeper::domain::returns::check_period_days(days)
                        .map_err(anyhow::Error::msg)?;
                    let id = existing_site(&store, &id).await?;
                    store.set_site_return_period(&id, days).await?;
                    print(&serde_json::json!({"id": id, "return_period_days": days}))
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
                    let id = existing_site(&store, &id).await?;
                    store.set_tax_rate(&id, &country, rate_bp).await?;
                    let rates: serde_json::Map<String, serde_json::Value> = store
                        .tax_rates(&id)
                        .await?
                        .into_iter()
                        .map(|(c, bp)| (c, serde_json::json!(bp)))
                        .collect();
                    print(&serde_json::json!({"site": id, "tax_rates_bp": rates}))
                }
                SiteCommand::SetTaxIdManagement { id, enabled } => {
                    let id = existing_site(&store, &id).await?;
                    store.set_site_tax_id_management(&id, enabled).await?;
                    let on = store.site_tax_id_management(&id).await?;
                    print(&serde_json::json!({"site": id, "tax_id_management": on}))
                }
                SiteCommand::SetKeyOnlyCarts { id, enabled } => {
                    let id = existing_site(&store, &id).await?;
                    store.set_site_key_only_carts(&id, enabled).await?;
                    let on = store.site_key_only_carts(&id).await?;
                    print(&serde_json::json!({"site": id, "key_only_carts": on}))
                }
                SiteCommand::PaymentMethods(cmd) => payment_methods_command(&store, cmd).await,
                SiteCommand::Financing(cmd) => financing_command(&store, cmd).await,
                SiteCommand::AuthorizedCountries {
                    site,
                    billing,
                    mode,
                    countries,
                    locale,
                    comments,
                    inherit,
                    ..
                } => {
                    use shopkeeper::domain::authorized_countries::{
                        Kind, LocalePolicy, Mode, check_locale,
                    };
                    let site = existing_site(&store, &site).await?;
                    let kind = if billing {
                        Kind::Billing
                    } else {
                        Kind::Shipping
                    };
                    if let Some(l) = &locale {
                        check_locale(l)?;
                    }
                    let setting = match mode.as_deref() {
                        Some(raw) => {
                            let mode = Mode::parse(raw).ok_or_else(|| {
                                anyhow::anyhow!("--mode must be all, allow, deny or billing")
                            })?;
                            Some(Some(LocalePolicy::checked(
                                kind,
                                mode,
                                &countries,
                                comments.as_deref(),
                            )?))
                        }
                        None if inherit => Some(None),
                        None => None,
                    };
                    if let Some(setting) = setting {
                        let change = shopkeeper::store::CountriesChange { locale, setting };
                        store
                            .set_authorized_countries(&site, kind, &[change], now(), None)
                            .await?;
                    }
                    let policies = store.authorized_countries(&site).await?;
                    print(&serde_json::json!({
                        "site": site,
                        "billing": policies.billing.to_json(),
                        "shipping": policies.shipping.to_json(),
                    }))
                }
            }
        }
        Command::Client(cmd) => {
            let store = Store::connect_existing(&cli.database).await?;
            client_command(&store, cmd).await
        }
        Command::Offer(cmd) => {
            let store = Store::connect_existing(&cli.database).await?;
            use shopkeeper::offers;
            print(&match cmd {
                OfferCommand::Create { site, file } => {
                    offers::create(&store, &site, &read_definition(&file)?, now()).await?
                }
                OfferCommand::Update { site, id, file } => {
                    offers::update(&store, &site, id, &read_definition(&file)?, now()).await?
                }
                OfferCommand::List { site } => offers::list(&store, &site).await?,
                OfferCommand::Disable { site, id } => {
                    offers::set_enabled(&store, &site, id, false, now()).await?
                }
                OfferCommand::Enable { site, id } => {
                    offers::set_enabled(&store, &site, id, true, now()).await?
                }
            })
        }
        Command::Pop(cmd) => {
            let store = Store::connect_existing(&cli.database).await?;
            use shopkeeper::offers;
            print(&match cmd {
                PopCommand::Create { site, name } => {
                    offers::create_pop(&store, &site, &name, now()).await?
                }
                PopCommand::Add { site, name, offer } => {
                    offers::add_to_pop(&store, &site, &name, offer).await?
                }
                PopCommand::List { site } => offers::list_pops(&store, &site).await?,
            })
        }
        Command::PurchasePlan(cmd) => {
            let store = Store::connect_existing(&cli.database).await?;
            use shopkeeper::purchase_plan_admin as plans;
            print(&match *cmd {
                PurchasePlanCommand::Create {
                    site,
                    name,
                    options,
                    hashing,
                } => {
                    let input = options.input(Some(name));
                    let hasher = PasswordHasher::new(&hashing)?;
                    plans::create(&store, &hasher, &site, &input, now()).await?
                }
                PurchasePlanCommand::Update {
                    site,
                    id,
                    name,
                    options,
                    no_auth_required_to_browse,
                    no_storefront,
                    enable,
                    remove_rule,
                    hashing,
                } => {
                    let mut input = options.input(name);
                    if no_auth_required_to_browse {
                        input.auth_required_to_browse = Some(false);
                    }
                    if no_storefront {
                        input.storefront = Some(false);
                    }
                    if enable {
                        input.enabled = Some(true);
                    }
                    input.remove_rules = remove_rule;
                    let hasher = PasswordHasher::new(&hashing)?;
                    plans::update(&store, &hasher, &site, id, &input, now()).await?
                }
                PurchasePlanCommand::List { site } => plans::list(&store, &site).await?,
                PurchasePlanCommand::Disable { site, id } => {
                    plans::set_enabled(&store, &site, id, false, now()).await?
                }
            })
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
                    let store = Store::connect_existing(&cli.database).await?;
                    let mut last_report = std::time::Instant::now();
                    let mut report = |p: &provision::ImportProgress| {
                        // A line a second at most, and the last batch's.
                        if p.batch == p.batches || last_report.elapsed().as_secs() >= 1 {
                            last_report = std::time::Instant::now();
                            eprintln!("{}", import_progress_line(p));
                        }
                    };
                    provision::import_catalog_with(
                        &store,
                        &site,
                        catalog,
                        batch_size,
                        &mut report,
                        now(),
                    )
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
        Command::Return(cmd) => {
            let store = Store::connect_existing(&cli.database).await?;
            return_command(&store, cmd).await
        }
        Command::Staff(cmd) => {
            let store = Store::connect_existing(&cli.database).await?;
            admin_cli::staff_command(&store, cmd).await
        }
        Command::Audit(cmd) => {
            let store = Store::connect_existing(&cli.database).await?;
            admin_cli::audit_command(&store, cmd).await
        }
        Command::Events(EventsCommand::List { site, after, limit }) => {
            let store = Store::connect_existing(&cli.database).await?;
            let site = existing_site(&store, &site).await?;
            let events: Vec<serde_json::Value> = store
                .events_after(&site, after, limit)
                .await?
                .into_iter()
                .map(|e| {
                    serde_json::json!({
                        "seq": e.seq,
                        "id": e.id,
                        "type": e.event_type,
                        "site": e.site_id,
                        "created_at": e.created_at,
                        // Stored as JSON text by the store; shown as the object it is.
                        "payload": serde_json::from_str::<serde_json::Value>(&e.payload)
                            .unwrap_or(serde_json::Value::String(e.payload)),
                    })
                })
                .collect();
            print(&events)
        }
        Command::Shopper(cmd) => {
            let store = match cmd {
                // The repairs of clashing usernames and addresses: the schema as far as it
                // can go.
                ShopperCommand::Rename { .. } | ShopperCommand::SetEmail { .. } => {
                    Store::connect_for_repair(&cli.database).await?
                }
                _ => Store::connect_existing(&cli.database).await?,
            };
            let site = match &cmd {
                ShopperCommand::Create { site, .. }
                | ShopperCommand::SetPassword { site, .. }
                | ShopperCommand::List { site }
                | ShopperCommand::Rename { site, .. }
                | ShopperCommand::SetEmail { site, .. } => site,
            };
            let site_id = existing_site(&store, site).await?;
            match cmd {
                ShopperCommand::Create {
                    site,
                    username: Some(username),
                    password_stdin: true,
                    email,
                    hashing,
                    ..
                } => {
                    let password = password_from_stdin()?;
                    if let Some(email) = &email {
                        check_email("--email", email)?;
                    }
                    let hasher = PasswordHasher::new(&hashing)?;
                    let shopper = provision::create_shopper(
                        &store,
                        &hasher,
                        &site,
                        &username,
                        &password,
                        email.as_deref(),
                        now(),
                    )
                    .await?;
                    print(&shopper)
                }
                ShopperCommand::Create {
                    site,
                    external_reference_id: Some(reference),
                    email,
                    ..
                } => {
                    if let Some(email) = &email {
                        check_email("--email", email)?;
                    }
                    print(
                        &provision::create_external_shopper(
                            &store,
                            &site,
                            &reference,
                            email.as_deref(),
                            now(),
                        )
                        .await?,
                    )
                }
                ShopperCommand::Create { .. } => anyhow::bail!(
                    "give --username with --password-stdin, or --external-reference-id"
                ),
                ShopperCommand::SetPassword {
                    site,
                    id,
                    username,
                    hashing,
                    ..
                } => {
                    let id = match (id, username) {
                        (Some(id), _) => id,
                        (None, Some(username)) => {
                            store
                                .shopper_by_username(&site_id, &username)
                                .await?
                                .ok_or_else(|| {
                                    anyhow::anyhow!("no shopper {username:?} on site {site:?}")
                                })?
                                .id
                        }
                        (None, None) => unreachable!("clap requires --id or --username"),
                    };
                    let password = password_from_stdin()?;
                    let hasher = PasswordHasher::new(&hashing)?;
                    let revoked = provision::set_shopper_password(
                        &store,
                        &hasher,
                        &site,
                        id,
                        &password,
                        now(),
                    )
                    .await?;
                    store.publish_revocations(&revoked).await?;
                    print(&serde_json::json!({
                        "site": site,
                        "id": id,
                        "password_set": true,
                        "revoked_access_tokens": revoked.len(),
                    }))
                }
                ShopperCommand::List { .. } => print(&store.shoppers(&site_id).await?),
                ShopperCommand::Rename { site, id, username } => {
                    print(&provision::rename_shopper(&store, &site, id, &username).await?)
                }
                ShopperCommand::SetEmail { id, email, .. } => {
                    if let Some(email) = &email {
                        shopkeeper::domain::shopper::check_email("--email", email)?;
                    }
                    print(
                        &store
                            .set_shopper_email(&site_id, id, email.as_deref())
                            .await?,
                    )
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

/// A return as the CLI prints it: its fields, its lines and the refunds ledger's rows.
async fn return_json(
    store: &Store,
    r: &shopkeeper::store::ReturnRecord,
) -> anyhow::Result<serde_json::Value> {
    let lines: Vec<serde_json::Value> = store
        .return_lines(r.order_id)
        .await?
        .into_iter()
        .filter(|l| l.return_id == r.id)
        .map(|l| {
            serde_json::json!({
                "line_item_id": l.line_item_id,
                "quantity": l.quantity,
                "amount_minor": l.amount_minor,
            })
        })
        .collect();
    let refunds: Vec<serde_json::Value> = store
        .refunds_of_return(r.id)
        .await?
        .into_iter()
        .map(|f| {
            serde_json::json!({
                "id": f.id,
                "amount_minor": f.amount_minor,
                "currency": f.currency,
                "payment_source_id": f.payment_source_id,
                "created_at": f.created_at,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "id": r.id,
        "site": r.site_id,
        "order_id": r.order_id,
        "shopper_id": r.shopper_id,
        "reason": r.reason,
        "comments": r.comments,
        "status": r.status.as_str(),
        "currency": r.currency,
        "requested_minor": r.requested_minor,
        "refunded_minor": r.refunded_minor,
        "due_at": r.due_at,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "refunded_at": r.refunded_at,
        "lines": lines,
        "refunds": refunds,
    }))
}

async fn return_command(store: &Store, cmd: ReturnCommand) -> anyhow::Result<()> {
    use shopkeeper::domain::returns::ReturnAction;
    use shopkeeper::store::ReturnActionRefusal;
    let (site, id, action) = match cmd {
        ReturnCommand::List { site, order } => {
            let site = existing_site(store, &site).await?;
            let mut out = Vec::new();
            for r in store.site_returns(&site, order).await? {
                out.push(return_json(store, &r).await?);
            }
            return print(&out);
        }
        ReturnCommand::Accept { site, id } => (site, id, ReturnAction::Accept),
        ReturnCommand::Refuse { site, id } => (site, id, ReturnAction::Refuse),
        ReturnCommand::Refund { site, id } => (site, id, ReturnAction::Refund),
    };
    let site = existing_site(store, &site).await?;
    match store.act_on_return(&site, id, action, now()).await? {
        Ok(r) => print(&return_json(store, &r).await?),
        Err(ReturnActionRefusal::NotFound) => {
            Err(shopkeeper::store::StoreError::NotFound(format!("return {id}")).into())
        }
        Err(ReturnActionRefusal::NotAllowed { from }) => anyhow::bail!(
            "return {id} is {}: it cannot be {}",
            from.as_str(),
            match action {
                ReturnAction::Accept => "accepted",
                ReturnAction::Refuse => "refused",
                ReturnAction::Refund => "refunded",
            }
        ),
    }
}

/// `site payment-methods ...`: the change, then the site's whole list.
async fn payment_methods_command(store: &Store, cmd: PaymentMethodsCommand) -> anyhow::Result<()> {
    use shopkeeper::domain::payment_methods::{MethodRule, check_text, check_type};
    let site = match &cmd {
        PaymentMethodsCommand::List { site }
        | PaymentMethodsCommand::Set { site, .. }
        | PaymentMethodsCommand::Remove { site, .. } => existing_site(store, site).await?,
    };
    match cmd {
        PaymentMethodsCommand::List { .. } => {}
        PaymentMethodsCommand::Set {
            method_type,
            display_name,
            description,
            currencies,
            countries,
            ..
        } => {
            check_type(&method_type).map_err(anyhow::Error::msg)?;
            let display_name =
                check_text("--display-name", &display_name).map_err(anyhow::Error::msg)?;
            let description = match description {
                Some(d) => check_text("--description", &d).map_err(anyhow::Error::msg)?,
                None => display_name.clone(),
            };
            let rule = MethodRule::checked(&currencies, &countries).map_err(anyhow::Error::msg)?;
            let method = shopkeeper::store::PaymentMethodRecord {
                method_type,
                display_name,
                description,
                rule,
            };
            store.set_payment_method(&site, &method).await?;
        }
        PaymentMethodsCommand::Remove { method_type, .. } => {
            if !store.remove_payment_method(&site, &method_type).await? {
                anyhow::bail!("site {site} has no payment method {method_type:?}");
            }
        }
    }
    let methods: Vec<serde_json::Value> = store
        .payment_methods(&site)
        .await?
        .into_iter()
        .map(|m| {
            serde_json::json!({
                "type": m.method_type,
                "display_name": m.display_name,
                "description": m.description,
                "currencies": m.rule.currencies,
                "countries": m.rule.countries,
            })
        })
        .collect();
    print(&serde_json::json!({"site": site, "payment_methods": methods}))
}

/// `site financing ...`: the change, then the site's terms.
async fn financing_command(store: &Store, cmd: FinancingCommand) -> anyhow::Result<()> {
    use shopkeeper::domain::financing::{Term, check_description};
    let site = match &cmd {
        FinancingCommand::List { site }
        | FinancingCommand::Add { site, .. }
        | FinancingCommand::Remove { site, .. } => existing_site(store, site).await?,
    };
    match cmd {
        FinancingCommand::List { .. } => {}
        FinancingCommand::Add {
            months,
            rate_bp,
            description,
            ..
        } => {
            let term = Term::new(months, rate_bp).map_err(anyhow::Error::msg)?;
            let description = description
                .as_deref()
                .map(check_description)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            store
                .add_financing_term(&site, term, description.as_deref(), now())
                .await?;
        }
        FinancingCommand::Remove { id, .. } => store.remove_financing_term(&site, id).await?,
    }
    let terms: Vec<serde_json::Value> = store
        .financing_terms(&site)
        .await?
        .into_iter()
        .map(|t| {
            serde_json::json!({
                "id": t.id,
                "months": t.term.months,
                "rate_bp": t.term.rate_bp,
                "rate_percent": t.term.rate_percent().to_string(),
                "description": t.description.unwrap_or_else(|| t.term.default_description()),
            })
        })
        .collect();
    print(&serde_json::json!({"site": site, "financing_terms": terms}))
}

async fn client_command(store: &Store, cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Create {
            site,
            kind,
            redirect_uris,
            flows,
            permissions,
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
            let permissions = Permissions::parse_list(&permissions).map_err(anyhow::Error::msg)?;
            existing_site(store, &site).await?;
            let created = provision::create_client_with_permissions(
                store,
                &site,
                kind,
                &redirect_uris,
                permissions,
                now(),
            )
            .await?;
            if let Some(flows) = &flows {
                store
                    .set_client_flows(&client_key(&created.api_key)?, flows)
                    .await?;
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
            store
                .set_allowed_origins(&client_key(&api_key)?, &origins)
                .await?;
            print(&serde_json::json!({"api_key": api_key, "allowed_origins": origins}))
        }
        ClientCommand::SetPermissions {
            api_key,
            permissions,
        } => {
            let permissions = Permissions::parse_list(&permissions).map_err(anyhow::Error::msg)?;
            let key = client_key(&api_key)?;
            provision::set_client_permissions(store, None, &key, permissions, now()).await?;
            print(&serde_json::json!({"api_key": api_key, "permissions": permissions.to_stored()}))
        }
        ClientCommand::Update { api_key, flows } => {
            let flows = FlowSet::parse(&flows).map_err(anyhow::Error::msg)?;
            store
                .set_client_flows(&client_key(&api_key)?, &flows)
                .await?;
            print(&serde_json::json!({"api_key": api_key, "flows": flows.to_stored()}))
        }
        ClientCommand::SetRedirectUris {
            api_key,
            redirect_uris,
        } => {
            for uri in &redirect_uris {
                provision::check_redirect_uri(uri)?;
            }
            let key = client_key(&api_key)?;
            store.set_redirect_uris(&key, &redirect_uris).await?;
            print(&serde_json::json!({
                "api_key": api_key,
                "redirect_uris": store.redirect_uris(&key).await?,
            }))
        }
        ClientCommand::List { site } => {
            let site = match &site {
                Some(site) => Some(existing_site(store, site).await?),
                None => None,
            };
            let mut listing = Vec::new();
            for c in store.clients(site.as_ref()).await? {
                listing.push(ClientListing {
                    permissions: c.permissions.to_stored(),
                    disabled: c.disabled,
                    password_base64: c.password_base64,
                    flows: c.flows().to_stored(),
                    redirect_uris: store.redirect_uris(&c.api_key).await?,
                    allowed_origins: store.allowed_origins(&c.api_key).await?,
                    kind: c.kind.as_str(),
                    api_key: c.api_key.to_string(),
                    site: c.site_id.to_string(),
                });
            }
            print(&listing)
        }
        ClientCommand::Disable { api_key } => {
            let revoked = store.disable_client(&client_key(&api_key)?, now()).await?;
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
            store.enable_client(&client_key(&api_key)?).await?;
            print(&serde_json::json!({"api_key": api_key, "disabled": false}))
        }
        ClientCommand::RotateSecret { api_key } => {
            let secret = provision::rotate_secret(store, &client_key(&api_key)?).await?;
            print(&serde_json::json!({"api_key": api_key, "secret": secret}))
        }
        ClientCommand::SetPasswordBase64 { api_key, enabled } => {
            store
                .set_client_password_base64(&client_key(&api_key)?, enabled)
                .await?;
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

/// The CLI's commands run on the system clock (only a server started with `--test-clock`
/// runs on another).
fn now() -> shopkeeper::domain::time::UnixSeconds {
    shopkeeper::clock::Clock::system().now()
}
