use std::fmt;

/// A site id as the Global Commerce API uses it in paths (`/store/{siteId}/...`): short,
/// URL-safe, case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SiteId(String);

impl SiteId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
        if raw.is_empty() || raw.len() > 64 || !raw.chars().all(ok_char) {
            return Err(format!(
                "site id must be 1-64 characters of letters, digits, '_', '-' or '.', got {raw:?}"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The site's user-session TTL: how long an access token lives (`expires_in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTtl(i64);

impl SessionTtl {
    /// The Token page's "60 minutes by default in user session site settings".
    pub const DEFAULT: SessionTtl = SessionTtl(3600);
    /// Longest TTL a site may set: longer-lived bearer tokens are what refresh tokens are for.
    pub const MAX_SECONDS: i64 = 7 * 24 * 3600;

    pub fn from_seconds(seconds: i64) -> Result<Self, String> {
        if !(1..=Self::MAX_SECONDS).contains(&seconds) {
            return Err(format!(
                "session TTL must be between 1 and {} seconds, got {seconds}",
                Self::MAX_SECONDS
            ));
        }
        Ok(Self(seconds))
    }

    pub fn seconds(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_ids_reject_path_characters() {
        assert!(SiteId::parse("demo").is_ok());
        assert!(SiteId::parse("my-site_1.eu").is_ok());
        assert!(SiteId::parse("").is_err());
        assert!(SiteId::parse("a/b").is_err());
        assert!(SiteId::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn session_ttl_bounds() {
        assert!(SessionTtl::from_seconds(0).is_err());
        assert!(SessionTtl::from_seconds(86397).is_ok());
        assert!(SessionTtl::from_seconds(SessionTtl::MAX_SECONDS + 1).is_err());
    }
}
