//! Shopper rules: validating a new shopper, what `/me` may change at which level, addresses.
//! Errors name the field as the request spelled it (`shopper.username`).

use super::address::{PostalAddress, SavedAddress};
use std::net::IpAddr;

/// A validation failure: 400 with the field in the description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
    /// A new password that breaks the password rule (the docs' `password-failure`), not a
    /// missing or misplaced field.
    pub breaks_password_rule: bool,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
            breaks_password_rule: false,
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// The shopper object of `POST /v1/shoppers` and `POST /v1/shoppers/me`, as the HTTP layer
/// read it (`http::shoppers` parses the wire shape, its aliases and string booleans).
#[derive(Debug, Default)]
pub struct ShopperInput {
    pub id: Option<serde_json::Value>,
    pub uri: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub external_reference_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_address: Option<String>,
    pub locale: Option<String>,
    pub currency: Option<String>,
    pub ip_address: Option<String>,
    pub send_email: Option<bool>,
}

pub fn check_locale(raw: &str) -> Result<(), FieldError> {
    let ok = match raw.split_once('_') {
        Some((lang, region)) => {
            lang.len() == 2
                && lang.bytes().all(|b| b.is_ascii_lowercase())
                && region.len() == 2
                && region.bytes().all(|b| b.is_ascii_uppercase())
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(FieldError::new("shopper.locale", "must look like en_US"))
    }
}

pub fn check_currency(raw: &str) -> Result<(), FieldError> {
    if super::catalog::valid_currency(raw) {
        Ok(())
    } else {
        Err(FieldError::new(
            "shopper.currency",
            "must be a three-letter ISO 4217 code",
        ))
    }
}

/// An e-mail address a shop can write to: RFC 5322's addr-spec as the `email_address` crate
/// reads it (no display name, no `[ip]` domain literal), with a dotted domain, at most 254
/// characters (RFC 5321's path limit). The Shopper API and the CLI share it.
pub fn check_email(field: &'static str, raw: &str) -> Result<(), FieldError> {
    use email_address::{EmailAddress, Options};
    let options = Options::default()
        .without_display_text()
        .without_domain_literal();
    let ok = raw.len() <= 254
        && EmailAddress::parse_with_options(raw, options)
            .is_ok_and(|address| address.domain().contains('.'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(field, "is not an email address"))
    }
}

/// A free-text field: 1-`max` bytes, not blank, no control characters.
pub fn check_text(field: &'static str, raw: &str, max: usize) -> Result<(), FieldError> {
    if raw.trim().is_empty() || raw.len() > max || raw.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("must be 1-{max} printable characters"),
        ));
    }
    Ok(())
}

/// A username: 1-256 printable characters, and not `anonymous` in any case (the limited
/// token's `userId`). The Shopper API and the CLI share it.
pub fn check_username(username: &str) -> Result<(), FieldError> {
    check_text("shopper.username", username, 256)?;
    if username.eq_ignore_ascii_case("anonymous") {
        return Err(FieldError::new("shopper.username", "is reserved"));
    }
    Ok(())
}

/// How a new shopper logs in.
#[derive(Debug, PartialEq, Eq)]
pub enum NewLogin {
    /// Username and password kept by Shopkeeper (hashed before storing); a storefront that
    /// also keeps its own record of the shopper (the WordPress plugin does) names it by
    /// `external_reference_id` as well, so `client_credentials` can act for them too.
    Credentials {
        username: String,
        password: String,
        external_reference_id: Option<String>,
    },
    /// The client keeps the login; tokens come from `client_credentials`. A client-hosted
    /// shopper may have a username too (the docs' "client-hosted shopper" sign-up sends one
    /// without a password): it names them, but signs in nothing, as no password is kept.
    External {
        external_reference_id: String,
        username: Option<String>,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub struct NewShopperProfile {
    pub login: NewLogin,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub currency: Option<String>,
    pub send_email: bool,
}

pub const MIN_PASSWORD: usize = 8;

/// A new password: 8-1024 bytes.
fn check_password(password: &str) -> Result<(), FieldError> {
    if password.len() < MIN_PASSWORD || password.len() > 1024 {
        return Err(FieldError {
            breaks_password_rule: true,
            ..FieldError::new(
                "shopper.password",
                format!("must be {MIN_PASSWORD}-1024 characters"),
            )
        });
    }
    Ok(())
}

impl ShopperInput {
    /// The checks a new shopper and a `/me` update share: e-mail, names, locale, currency.
    fn check_profile_fields(&self) -> Result<(), FieldError> {
        if let Some(e) = &self.email_address {
            check_email("shopper.emailAddress", e)?;
        }
        if let Some(n) = &self.first_name {
            check_text("shopper.firstName", n, 256)?;
        }
        if let Some(n) = &self.last_name {
            check_text("shopper.lastName", n, 256)?;
        }
        if let Some(l) = &self.locale {
            check_locale(l)?;
        }
        if let Some(c) = &self.currency {
            check_currency(c)?;
        }
        Ok(())
    }

    /// Validates a `POST /v1/shoppers` body.
    pub fn into_new(mut self) -> Result<NewShopperProfile, FieldError> {
        if self.id.is_some() {
            return Err(FieldError::new("shopper.id", "is assigned by the server"));
        }
        let login = match (self.username.take(), self.external_reference_id.take()) {
            (Some(username), Some(reference)) if self.password.is_none() => {
                check_username(&username)?;
                check_text("shopper.externalReferenceId", &reference, 1024)?;
                NewLogin::External {
                    external_reference_id: reference,
                    username: Some(username),
                }
            }
            (Some(username), reference) => {
                check_username(&username)?;
                if let Some(reference) = &reference {
                    check_text("shopper.externalReferenceId", reference, 1024)?;
                }
                let password = self
                    .password
                    .take()
                    .ok_or_else(|| FieldError::new("shopper.password", "is required"))?;
                check_password(&password)?;
                NewLogin::Credentials {
                    username,
                    password,
                    external_reference_id: reference,
                }
            }
            (None, Some(reference)) => {
                check_text("shopper.externalReferenceId", &reference, 1024)?;
                if self.password.is_some() {
                    return Err(FieldError::new(
                        "shopper.password",
                        "is not kept for a shopper whose login the client keeps",
                    ));
                }
                NewLogin::External {
                    external_reference_id: reference,
                    username: None,
                }
            }
            (None, None) => {
                return Err(FieldError::new(
                    "shopper.username",
                    "is required (or externalReferenceId)",
                ));
            }
        };
        if matches!(login, NewLogin::Credentials { .. }) && self.email_address.is_none() {
            return Err(FieldError::new("shopper.emailAddress", "is required"));
        }
        self.check_profile_fields()?;
        if self.ip_address.is_some() {
            return Err(FieldError::new(
                "shopper.ipAddress",
                "belongs to a session, set it through /v1/shoppers/me",
            ));
        }
        Ok(NewShopperProfile {
            login,
            email: self.email_address,
            first_name: self.first_name,
            last_name: self.last_name,
            locale: self.locale,
            currency: self.currency,
            send_email: self.send_email.unwrap_or(false),
        })
    }

    /// Names of the fields a `/me` update asks to change that need a full token: a limited
    /// (anonymous) token may change only the session's `locale`, `ipAddress` and `currency`.
    pub fn fields_needing_full(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut need = |present: bool, name| {
            if present {
                out.push(name)
            }
        };
        need(self.username.is_some(), "username");
        need(self.password.is_some(), "password");
        need(self.external_reference_id.is_some(), "externalReferenceId");
        need(self.first_name.is_some(), "firstName");
        need(self.last_name.is_some(), "lastName");
        need(self.email_address.is_some(), "emailAddress");
        need(self.send_email.is_some(), "sendEmail");
        out
    }

    /// Validates a `/me` update (the level check is [`Self::fields_needing_full`]). A new
    /// password is checked like a sign-up's; the caller hashes it.
    pub fn into_update(self) -> Result<ProfileUpdate, FieldError> {
        if let Some(password) = &self.password {
            check_password(password)?;
        }
        if self.external_reference_id.is_some() {
            return Err(FieldError::new(
                "shopper.externalReferenceId",
                "cannot be changed",
            ));
        }
        if let Some(u) = &self.username {
            check_username(u)?;
        }
        self.check_profile_fields()?;
        if let Some(ip) = &self.ip_address {
            ip.parse::<IpAddr>().map_err(|_| {
                FieldError::new("shopper.ipAddress", "is not an IPv4 or IPv6 address")
            })?;
        }
        Ok(ProfileUpdate {
            password: self.password,
            username: self.username,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email_address,
            send_email: self.send_email,
            locale: self.locale,
            currency: self.currency,
            ip_address: self.ip_address,
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct ProfileUpdate {
    /// A new password (the shopper's login must be one Shopkeeper keeps).
    pub password: Option<String>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub send_email: Option<bool>,
    pub locale: Option<String>,
    pub currency: Option<String>,
    pub ip_address: Option<String>,
}

/// An address of `POST /v1/shoppers/me/addresses` (with an `id`, or the `nickName` of a saved
/// address, it updates) or of a cart, as the HTTP layer read it.
#[derive(Debug, Default)]
pub struct AddressInput {
    pub id: Option<serde_json::Value>,
    pub uri: Option<String>,
    pub nick_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub line3: Option<String>,
    pub city: Option<String>,
    pub country_subdivision: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub country_name: Option<String>,
    pub county_name: Option<String>,
    pub phone_number: Option<String>,
    pub email_address: Option<String>,
    pub phonetic_first_name: Option<String>,
    pub phonetic_last_name: Option<String>,
    pub division: Option<String>,
    pub title: Option<String>,
    pub is_default: Option<bool>,
    pub is_default_billing: Option<bool>,
    pub is_default_shipping: Option<bool>,
}

impl AddressInput {
    /// The id of the address to update, when the body names one.
    pub fn target_id(&self) -> Result<Option<i64>, FieldError> {
        match &self.id {
            None => Ok(None),
            Some(serde_json::Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
            Some(serde_json::Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| FieldError::new("address.id", "is not an address id")),
            Some(_) => Err(FieldError::new("address.id", "is not an address id")),
        }
    }

    pub fn validate(self) -> Result<SavedAddress, FieldError> {
        let opt = |field: &'static str, v: Option<String>| -> Result<Option<String>, FieldError> {
            match v {
                Some(s) if s.is_empty() => Ok(None),
                Some(s) => check_text(field, &s, 256).map(|_| Some(s)),
                None => Ok(None),
            }
        };
        let req = |field: &'static str, v: Option<String>| -> Result<String, FieldError> {
            let v = v.ok_or_else(|| FieldError::new(field, "is required"))?;
            check_text(field, &v, 256)?;
            Ok(v)
        };
        let country = req("address.country", self.country)?;
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(FieldError::new(
                "address.country",
                "must be a two-letter ISO 3166 code such as US",
            ));
        }
        if let Some(e) = self.email_address.as_deref().filter(|e| !e.is_empty()) {
            check_email("address.emailAddress", e)?;
        }
        Ok(SavedAddress {
            nickname: opt("address.nickName", self.nick_name)?,
            address: PostalAddress {
                first_name: opt("address.firstName", self.first_name)?,
                last_name: opt("address.lastName", self.last_name)?,
                company_name: opt("address.companyName", self.company_name)?,
                line1: req("address.line1", self.line1)?,
                line2: opt("address.line2", self.line2)?,
                line3: opt("address.line3", self.line3)?,
                city: req("address.city", self.city)?,
                country_subdivision: opt("address.countrySubdivision", self.country_subdivision)?,
                postal_code: opt("address.postalCode", self.postal_code)?,
                country,
                phone_number: opt("address.phoneNumber", self.phone_number)?,
                email_address: opt("address.emailAddress", self.email_address)?,
                county_name: opt("address.countyName", self.county_name)?,
                phonetic_first_name: opt("address.phoneticFirstName", self.phonetic_first_name)?,
                phonetic_last_name: opt("address.phoneticLastName", self.phonetic_last_name)?,
                division: opt("address.division", self.division)?,
                title: opt("address.title", self.title)?,
            },
            is_default: self.is_default.unwrap_or(false),
            is_default_billing: self.is_default_billing.unwrap_or(false),
            is_default_shipping: self.is_default_shipping.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_shopper_errors_name_the_field() {
        let e = ShopperInput::default().into_new().unwrap_err();
        assert_eq!(e.field, "shopper.username");
        let e = ShopperInput {
            username: Some("ann".into()),
            password: Some("short".into()),
            email_address: Some("ann@example.com".into()),
            ..Default::default()
        }
        .into_new()
        .unwrap_err();
        assert_eq!(e.field, "shopper.password");
        assert!(e.breaks_password_rule, "a short password breaks the rule");
        // A password where none is kept is a misplaced field, not a rule broken.
        let e = ShopperInput {
            password: Some("long enough".into()),
            external_reference_id: Some("crm-ann".into()),
            email_address: Some("ann@example.com".into()),
            ..Default::default()
        }
        .into_new()
        .unwrap_err();
        assert_eq!(e.field, "shopper.password");
        assert!(!e.breaks_password_rule);
        let e = ShopperInput {
            username: Some("ann".into()),
            password: Some("long enough".into()),
            email_address: Some("not-an-email".into()),
            ..Default::default()
        }
        .into_new()
        .unwrap_err();
        assert_eq!(e.field, "shopper.emailAddress");
    }

    #[test]
    fn email_addresses_are_checked_as_addresses() {
        for good in ["ann@example.com", "a.b+shop@mail.example.co.uk"] {
            assert!(check_email("e", good).is_ok(), "{good}");
        }
        for bad in [
            "notanemail",
            "ann@",
            "@example.com",
            "ann@localhost",
            "ann@@example.com",
            "Ann <ann@example.com>",
            "ann@[127.0.0.1]",
            "ann example@example.com",
            "ann@exa mple.com",
        ] {
            assert!(check_email("e", bad).is_err(), "{bad}");
        }
        assert!(check_email("e", &format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn a_shopper_may_have_credentials_and_an_external_reference() {
        let new = ShopperInput {
            username: Some("kim".into()),
            password: Some("long enough".into()),
            email_address: Some("kim@example.com".into()),
            external_reference_id: Some("wp-17".into()),
            ..Default::default()
        }
        .into_new()
        .unwrap();
        assert_eq!(
            new.login,
            NewLogin::Credentials {
                username: "kim".into(),
                password: "long enough".into(),
                external_reference_id: Some("wp-17".into()),
            }
        );
    }

    #[test]
    fn a_client_hosted_shopper_may_have_a_username_without_a_password() {
        let new = ShopperInput {
            username: Some("pat".into()),
            external_reference_id: Some("crm-pat".into()),
            ..Default::default()
        }
        .into_new()
        .unwrap();
        assert_eq!(
            new.login,
            NewLogin::External {
                external_reference_id: "crm-pat".into(),
                username: Some("pat".into()),
            }
        );
    }

    #[test]
    fn a_me_update_may_set_a_password_checked_like_a_new_one() {
        let update = ShopperInput {
            password: Some("a new password".into()),
            ..Default::default()
        };
        assert_eq!(update.fields_needing_full(), vec!["password"]);
        assert_eq!(
            update.into_update().unwrap().password.as_deref(),
            Some("a new password")
        );
        let short = ShopperInput {
            password: Some("short".into()),
            ..Default::default()
        };
        assert_eq!(short.into_update().unwrap_err().field, "shopper.password");
    }

    #[test]
    fn limited_tokens_may_change_only_session_fields() {
        let only_session = ShopperInput {
            locale: Some("fr_FR".into()),
            currency: Some("EUR".into()),
            ip_address: Some("10.0.0.1".into()),
            ..Default::default()
        };
        assert!(only_session.fields_needing_full().is_empty());
        let rename = ShopperInput {
            username: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(rename.fields_needing_full(), vec!["username"]);
    }
}
