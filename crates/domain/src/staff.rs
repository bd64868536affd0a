//! The merchant's staff: the Global Commerce roles the docs name
//! (`master/getting-started/roles-and-permissions.md`) and the rules for a staff user's name.

/// A documented Global Commerce role. Refunds need one of the three Customer Service roles,
/// Sites the Site Manager role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    CustomerServiceDirector,
    CustomerServiceSupervisor,
    CustomerServiceRepresentative,
    SiteManager,
}

/// The roles that may act on refunds and returns.
pub const CUSTOMER_SERVICE: &[Role] = &[
    Role::CustomerServiceDirector,
    Role::CustomerServiceSupervisor,
    Role::CustomerServiceRepresentative,
];

/// The role that may read and change a site's settings.
pub const SITE_MANAGER: &[Role] = &[Role::SiteManager];

/// Every role.
pub const ALL: &[Role] = &[
    Role::CustomerServiceDirector,
    Role::CustomerServiceSupervisor,
    Role::CustomerServiceRepresentative,
    Role::SiteManager,
];

impl Role {
    /// The stored and CLI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::CustomerServiceDirector => "customer-service-director",
            Role::CustomerServiceSupervisor => "customer-service-supervisor",
            Role::CustomerServiceRepresentative => "customer-service-representative",
            Role::SiteManager => "site-manager",
        }
    }

    /// The name the docs give it.
    pub fn display_name(self) -> &'static str {
        match self {
            Role::CustomerServiceDirector => "Customer Service Director",
            Role::CustomerServiceSupervisor => "Customer Service Supervisor",
            Role::CustomerServiceRepresentative => "Customer Service Representative",
            Role::SiteManager => "Site Manager",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        ALL.iter().copied().find(|r| r.as_str() == raw)
    }
}

/// A staff user's roles, ordered and without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles(Vec<Role>);

impl Roles {
    /// Roles from a list (`customer-service-director,site-manager`, commas or spaces); an
    /// unknown name is an error naming it and the known ones.
    pub fn parse_list(raw: &str) -> Result<Roles, String> {
        let mut roles = Vec::new();
        for name in raw.split([',', ' ']).filter(|s| !s.is_empty()) {
            let role = Role::parse(name).ok_or_else(|| {
                let known: Vec<&str> = ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown role {name:?} (known: {})", known.join(", "))
            })?;
            roles.push(role);
        }
        roles.sort();
        roles.dedup();
        Ok(Roles(roles))
    }

    /// The stored form: names separated by spaces.
    pub fn to_stored(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|r| r.as_str()).collect();
        names.join(" ")
    }

    pub fn any_of(&self, wanted: &[Role]) -> bool {
        self.0.iter().any(|r| wanted.contains(r))
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A stored list, as read back: an unknown name refuses the row.
impl TryFrom<String> for Roles {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Roles::parse_list(&raw)
    }
}

/// A staff username: 1–128 characters, no control characters or surrounding spaces (it is
/// shown in the audit trail and in `generatedBy`).
pub fn check_username(username: &str) -> Result<(), String> {
    if username.is_empty() || username.chars().count() > 128 {
        return Err("a staff username has 1 to 128 characters".into());
    }
    if username.trim() != username || username.chars().any(char::is_control) {
        return Err("a staff username has no control characters or surrounding spaces".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_in_any_order_without_repeats_and_name_unknown_ones() {
        let roles =
            Roles::parse_list("site-manager, customer-service-director,site-manager").unwrap();
        assert_eq!(roles.to_stored(), "customer-service-director site-manager");
        assert!(roles.any_of(CUSTOMER_SERVICE));
        assert!(roles.any_of(SITE_MANAGER));
        let only_site = Roles::parse_list("site-manager").unwrap();
        assert!(!only_site.any_of(CUSTOMER_SERVICE));
        let err = Roles::parse_list("admin").unwrap_err();
        assert!(
            err.contains("\"admin\"") && err.contains("site-manager"),
            "{err}"
        );
        assert!(Roles::try_from("customer-service-representative".to_owned()).is_ok());
        assert!(Roles::try_from("root".to_owned()).is_err());
        assert!(Roles::parse_list("").unwrap().is_empty());
    }

    #[test]
    fn every_role_reads_back_from_its_name() {
        for role in ALL {
            assert_eq!(Role::parse(role.as_str()), Some(*role));
            assert!(!role.display_name().is_empty());
        }
    }

    #[test]
    fn usernames_are_plain_text() {
        assert!(check_username("csr.jane").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username(" jane").is_err());
        assert!(check_username("ja\nne").is_err());
        assert!(check_username(&"x".repeat(129)).is_err());
    }
}
