/// An API key (the OAuth client id). Keys we mint are 32 lowercase hex characters; keys given
/// by clients are only checked for shape so that a bad header cannot smuggle anything through.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn parse(raw: &str) -> Option<Self> {
        Self::valid(raw).then(|| Self(raw.to_owned()))
    }

    fn valid(raw: &str) -> bool {
        !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    }
}

text_id!(ApiKey, "an API key");

/// Seed 003: public applications authenticate with the key alone, confidential ones with
/// key and secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Public,
    Confidential,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Public => "public",
            ClientKind::Confidential => "confidential",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "public" => Some(ClientKind::Public),
            "confidential" => Some(ClientKind::Confidential),
            _ => None,
        }
    }
}

/// A stored kind, as read back: anything but the two names is refused.
impl TryFrom<String> for ClientKind {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw).ok_or_else(|| format!("not a client kind: {raw:?}"))
    }
}

/// Which APIs a key may call (`roles-and-permissions.md`: "Shopper APIs permission",
/// "Admin APIs permission"). Stored as space-separated names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    /// The Shopper API and the token service.
    pub shopper: bool,
    /// The Admin API (confidential keys only).
    pub admin: bool,
}

impl Permissions {
    pub const SHOPPER: Permissions = Permissions {
        shopper: true,
        admin: false,
    };

    /// From a list (`shopper,admin`, commas or spaces); an unknown name is an error.
    pub fn parse_list(raw: &str) -> Result<Permissions, String> {
        let mut permissions = Permissions {
            shopper: false,
            admin: false,
        };
        for name in raw.split([',', ' ']).filter(|s| !s.is_empty()) {
            match name {
                "shopper" => permissions.shopper = true,
                "admin" => permissions.admin = true,
                other => {
                    return Err(format!(
                        "unknown permission {other:?} (known: shopper, admin)"
                    ));
                }
            }
        }
        Ok(permissions)
    }

    /// Whether a key of `kind` may hold these: Admin APIs need a confidential key, and a key
    /// needs at least one.
    pub fn check_for(self, kind: ClientKind) -> Result<(), String> {
        if self.admin && kind != ClientKind::Confidential {
            return Err("the Admin APIs permission needs a confidential key".into());
        }
        if !self.admin && !self.shopper {
            return Err("a key needs at least one permission (shopper, admin)".into());
        }
        Ok(())
    }

    pub fn to_stored(self) -> String {
        let mut names = Vec::new();
        if self.shopper {
            names.push("shopper");
        }
        if self.admin {
            names.push("admin");
        }
        names.join(" ")
    }
}

/// A stored list, as read back.
impl TryFrom<String> for Permissions {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Permissions::parse_list(&raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_keys_and_kinds_are_checked_as_they_are_read() {
        let key = ApiKey::try_from("a1b2-c3_d4.e5".to_owned()).unwrap();
        assert_eq!(key.as_str(), "a1b2-c3_d4.e5");
        assert!(ApiKey::try_from(String::new()).is_err());
        assert!(ApiKey::try_from("a key".to_owned()).is_err());
        for kind in [ClientKind::Public, ClientKind::Confidential] {
            assert_eq!(ClientKind::try_from(kind.as_str().to_owned()), Ok(kind));
        }
        assert!(ClientKind::try_from("Public".to_owned()).is_err());
        assert!(ClientKind::try_from("admin".to_owned()).is_err());
    }

    #[test]
    fn permissions_parse_and_admin_needs_a_confidential_key() {
        let both = Permissions::parse_list("shopper,admin").unwrap();
        assert!(both.shopper && both.admin);
        assert_eq!(both.to_stored(), "shopper admin");
        assert_eq!(
            Permissions::try_from("shopper".to_owned()),
            Ok(Permissions::SHOPPER)
        );
        assert!(Permissions::parse_list("root").is_err());
        let admin = Permissions::parse_list("admin").unwrap();
        assert!(admin.check_for(ClientKind::Confidential).is_ok());
        assert!(admin.check_for(ClientKind::Public).is_err());
        assert!(
            Permissions::parse_list("")
                .unwrap()
                .check_for(ClientKind::Confidential)
                .is_err()
        );
    }
}
