//! The CLI's side of the Admin API: staff accounts (`shopkeeper staff ...`) and reading the
//! audit trail (`shopkeeper audit list`).

use crate::{HashingSettings, existing_site, now, password_from_stdin, print};
use clap::Subcommand;
use shopkeeper::auth::PasswordHasher;
use shopkeeper::domain::staff::Roles;
use shopkeeper::staff;
use shopkeeper::store::{StaffChange, StaffUserRecord, Store};

#[derive(Subcommand)]
pub enum StaffCommand {
    /// Create a staff user (a Global Commerce user) who signs in through `POST /auth` with a
    /// confidential key that has Admin APIs permission; the password is read from stdin.
    Create {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        username: String,
        /// Roles, comma-separated, of: customer-service-director,
        /// customer-service-supervisor, customer-service-representative, site-manager.
        #[arg(long, default_value = "")]
        roles: String,
        /// Read the password from stdin (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        hashing: HashingSettings,
    },
    /// The site's staff users and their roles (never their passwords).
    List {
        #[arg(long, default_value = "demo")]
        site: String,
    },
    /// Refuse the user's sign-ins from now on and end its tokens.
    Disable {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        username: String,
    },
    /// Let a disabled user sign in again (its old tokens stay dead).
    Enable {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        username: String,
    },
    /// Replace the user's roles; its tokens end (it signs in again under the new ones).
    SetRoles {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        roles: String,
    },
    /// Set the user's password from stdin; its tokens end.
    SetPassword {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long)]
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        hashing: HashingSettings,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// The audit trail, oldest first: every Admin API change with who made it (the key, and
    /// the staff user), when, and the state before and after. All of a site's, or an order's
    /// (its "order log"), or one staff user's.
    List {
        #[arg(long, default_value = "demo")]
        site: String,
        #[arg(long, conflicts_with = "staff")]
        order: Option<i64>,
        /// A staff username.
        #[arg(long)]
        staff: Option<String>,
    },
}

fn roles(raw: &str) -> anyhow::Result<Roles> {
    Roles::parse_list(raw).map_err(anyhow::Error::msg)
}

fn listed(user: &StaffUserRecord) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "site": user.site_id.as_str(),
        "username": user.username,
        "roles": user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "disabled": user.disabled,
    })
}

pub async fn staff_command(store: &Store, cmd: StaffCommand) -> anyhow::Result<()> {
    match cmd {
        StaffCommand::Create {
            site,
            username,
            roles: wanted,
            hashing,
            ..
        } => {
            let site = existing_site(store, &site).await?;
            let roles = roles(&wanted)?;
            let password = password_from_stdin()?;
            let hasher = PasswordHasher::new(&hashing)?;
            let user = staff::create_staff_user(
                store,
                &hasher,
                &site,
                &username,
                &password,
                &roles,
                now(),
            )
            .await?;
            print(&listed(&user))
        }
        StaffCommand::List { site } => {
            let site = existing_site(store, &site).await?;
            let users = store.staff_users(&site).await?;
            print(&users.iter().map(listed).collect::<Vec<_>>())
        }
        StaffCommand::Disable { site, username } => {
            let site = existing_site(store, &site).await?;
            let user = store
                .update_staff_user(&site, &username, StaffChange::Disabled(true), now())
                .await?;
            print(&listed(&user))
        }
        StaffCommand::Enable { site, username } => {
            let site = existing_site(store, &site).await?;
            let user = store
                .update_staff_user(&site, &username, StaffChange::Disabled(false), now())
                .await?;
            print(&listed(&user))
        }
        StaffCommand::SetRoles {
            site,
            username,
            roles: wanted,
        } => {
            let site = existing_site(store, &site).await?;
            let roles = roles(&wanted)?;
            let user = store
                .update_staff_user(&site, &username, StaffChange::Roles(&roles), now())
                .await?;
            print(&listed(&user))
        }
        StaffCommand::SetPassword {
            site,
            username,
            hashing,
            ..
        } => {
            let site = existing_site(store, &site).await?;
            let password = password_from_stdin()?;
            let hasher = PasswordHasher::new(&hashing)?;
            let user =
                staff::set_staff_password(store, &hasher, &site, &username, &password, now())
                    .await?;
            print(&listed(&user))
        }
    }
}

pub async fn audit_command(store: &Store, cmd: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::List { site, order, staff } = cmd;
    let site = existing_site(store, &site).await?;
    let rows = match (order, staff) {
        (Some(order), _) => store.audit_for_order(&site, order).await?,
        (None, Some(username)) => {
            let user = store
                .staff_user(&site, &username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no staff user {username:?} on site {site}"))?;
            store.audit_for_staff(&site, user.id).await?
        }
        (None, None) => store.audit_for_site(&site).await?,
    };
    print(&rows)
}
