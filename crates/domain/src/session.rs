//! Shopper session ids.

use crate::secret::random_hex;
use std::borrow::Borrow;

/// A shopper session's id: 32 lowercase hex digits. New ones are time-ordered (see
/// [`SessionId::new_at`]); older ones were 32 random hex digits, the same shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    pub const LEN: usize = 32;

    /// A new session id: the creation time in milliseconds (12 hex digits) then 80 random
    /// bits. A new id sorts after the older ones, so inserting a session and indexing its
    /// tokens by session id append to the rightmost B-tree pages; with random ids each new
    /// row dirtied its own page in three B-trees, and writing those pages was most of the
    /// group-commit writer's work. The id is an identifier, not a secret: possession of it
    /// grants nothing.
    pub fn new_at(millis: u64) -> Self {
        Self(format!(
            "{:012x}{}",
            millis & 0xffff_ffff_ffff,
            random_hex(10)
        ))
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::valid(raw).then(|| Self(raw.to_owned()))
    }

    fn valid(raw: &str) -> bool {
        raw.len() == Self::LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

text_id!(SessionId, "a session id");

/// Looked up by its text (a map keyed by session ids found with a `&str`): equal ids have
/// equal text, so hashing and comparing agree.
impl Borrow<str> for SessionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_sort_by_creation_time_and_differ_within_a_millisecond() {
        let earlier = SessionId::new_at(1_700_000_000_000);
        let later = SessionId::new_at(1_700_000_000_001);
        let same_ms = SessionId::new_at(1_700_000_000_001);
        assert_eq!(earlier.as_str().len(), 32);
        assert_eq!(SessionId::parse(earlier.as_str()), Some(earlier.clone()));
        assert!(earlier < later);
        assert_ne!(later, same_ms);
        assert_eq!(later.as_str()[..12], same_ms.as_str()[..12]);
    }

    #[test]
    fn a_stored_session_id_must_have_the_shape_of_one() {
        let old = "0123456789abcdef0123456789abcdef";
        assert_eq!(SessionId::try_from(old.to_owned()).unwrap().as_str(), old);
        for bad in [
            "",
            "0123456789abcdef",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef0123456789abcdef0",
        ] {
            assert!(SessionId::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
    }
}
