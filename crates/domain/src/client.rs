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
}
