//! Which account a sign-in identifier names. Both password paths (the password grant's
//! `username` and the hosted page's "Username or email") take a username or an e-mail
//! address in the same field.

/// Whether an identifier is also looked up as an e-mail address: only when it has an `@`
/// (no e-mail address lacks one; many usernames never have one, and need no second lookup).
pub fn may_be_email(identifier: &str) -> bool {
    identifier.contains('@')
}

/// A shopper a sign-in lookup found, with its username and e-mail address folded the way the
/// database folds them (its `lower()`, which the unique indexes compare), and the typed
/// identifier folded alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    pub account: T,
    pub folded_username: Option<String>,
    pub folded_email: Option<String>,
    pub folded_identifier: String,
}

/// The account `identifier` names among those found: the one whose username it is; failing
/// that, when it may be an e-mail address, the one whose e-mail address it is; else none.
/// A username comes first because a username may itself be an e-mail address (the docs'
/// examples are), and it must keep naming its own account even when another shopper has
/// that text as their address. Usernames and addresses are each unique per site (0012,
/// 0016), so at most one account matches each way.
pub fn account_named<T>(identifier: &str, found: Vec<Found<T>>) -> Option<T> {
    let mut by_email = None;
    for f in found {
        if f.folded_username.as_deref() == Some(f.folded_identifier.as_str()) {
            return Some(f.account);
        }
        if may_be_email(identifier) && f.folded_email.as_deref() == Some(&*f.folded_identifier) {
            by_email.get_or_insert(f.account);
        }
    }
    by_email
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(id: i64, username: Option<&str>, email: Option<&str>, typed: &str) -> Found<i64> {
        Found {
            account: id,
            folded_username: username.map(str::to_lowercase),
            folded_email: email.map(str::to_lowercase),
            folded_identifier: typed.to_lowercase(),
        }
    }

    #[test]
    fn a_username_names_its_account() {
        let typed = "JANE";
        assert_eq!(
            account_named(typed, vec![found(1, Some("jane"), None, typed)]),
            Some(1)
        );
    }

    #[test]
    fn an_identifier_with_an_at_sign_that_is_no_username_names_the_address_owner() {
        let typed = "Jane@Example.com";
        let owner = found(1, Some("jane"), Some("jane@example.com"), typed);
        assert_eq!(account_named(typed, vec![owner]), Some(1));
    }

    #[test]
    fn a_username_wins_over_another_shoppers_address() {
        let typed = "a@example.com";
        let by_address = found(1, Some("alice"), Some("a@example.com"), typed);
        let by_name = found(2, Some("a@example.com"), None, typed);
        assert_eq!(
            account_named(typed, vec![by_address.clone(), by_name.clone()]),
            Some(2)
        );
        assert_eq!(account_named(typed, vec![by_name, by_address]), Some(2));
    }

    #[test]
    fn without_an_at_sign_an_address_match_names_nothing() {
        // Only reachable through a stored address without '@' (one from before validation).
        let typed = "jane";
        let odd = found(1, Some("someone"), Some("jane"), typed);
        assert!(!may_be_email(typed));
        assert_eq!(account_named(typed, vec![odd]), None);
    }

    #[test]
    fn nothing_found_names_nothing() {
        assert_eq!(account_named::<i64>("nobody@example.com", vec![]), None);
        let other = found(
            1,
            Some("bob"),
            Some("bob@example.com"),
            "nobody@example.com",
        );
        assert_eq!(account_named("nobody@example.com", vec![other]), None);
    }
}
