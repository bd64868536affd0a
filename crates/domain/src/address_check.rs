//! The cart's address suggestions (`billing-address/suggestions`, `shipping-address/suggestions`):
//! a check of an address that never leaves the process. Whitespace is tidied, the postal code
//! put in its country's format, and the subdivision matched against ISO 3166-2 (the
//! `rust_iso3166` crate's tables) by code or English name. What the check cannot correct (a
//! postal code of the wrong shape, an unknown subdivision) is left as the shopper gave it.

use crate::address::PostalAddress;

/// The id of the one suggestion the check can give (the docs number suggestions from 1).
pub const SUGGESTION_ID: i64 = 1;

/// The corrected address, when the check changed anything; `None` when the address is already
/// in its normal form (there is nothing to suggest).
pub fn suggestion(address: &PostalAddress) -> Option<PostalAddress> {
    let normal = normalised(address);
    (normal != *address).then_some(normal)
}

/// The address with every correction the check can make.
pub fn normalised(a: &PostalAddress) -> PostalAddress {
    let country = tidy(&a.country).to_ascii_uppercase();
    PostalAddress {
        first_name: tidy_opt(&a.first_name),
        last_name: tidy_opt(&a.last_name),
        company_name: tidy_opt(&a.company_name),
        line1: tidy(&a.line1),
        line2: tidy_opt(&a.line2),
        line3: tidy_opt(&a.line3),
        city: tidy(&a.city),
        country_subdivision: tidy_opt(&a.country_subdivision)
            .map(|s| subdivision_code(&country, &s).unwrap_or(s)),
        postal_code: tidy_opt(&a.postal_code).map(|p| postal_code(&country, &p).unwrap_or(p)),
        phone_number: tidy_opt(&a.phone_number),
        email_address: tidy_opt(&a.email_address),
        county_name: tidy_opt(&a.county_name),
        phonetic_first_name: tidy_opt(&a.phonetic_first_name),
        phonetic_last_name: tidy_opt(&a.phonetic_last_name),
        division: tidy_opt(&a.division),
        title: tidy_opt(&a.title),
        country,
    }
}

/// Trimmed, with each run of whitespace (ideographic spaces included) one space.
fn tidy(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn tidy_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(tidy).filter(|s| !s.is_empty())
}

/// The postal code in the country's format, or `None` when it does not have the country's
/// shape. Full-width digits and hyphens (as Japanese keyboards type them) count as such. A country
/// without a rule here keeps its code, upper-cased.
pub fn postal_code(country: &str, raw: &str) -> Option<String> {
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '－'))
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            c => c.to_ascii_uppercase(),
        })
        .collect();
    let digits = |n: usize| compact.len() == n && compact.bytes().all(|b| b.is_ascii_digit());
    match country {
        "US" if digits(5) => Some(compact),
        "US" if digits(9) => Some(format!("{}-{}", &compact[..5], &compact[5..])),
        "DE" | "FR" if digits(5) => Some(compact),
        "JP" if digits(7) => Some(format!("{}-{}", &compact[..3], &compact[3..])),
        "CA" if canadian(&compact) => Some(format!("{} {}", &compact[..3], &compact[3..])),
        "GB" if british(&compact) => {
            let split = compact.len() - 3;
            Some(format!("{} {}", &compact[..split], &compact[split..]))
        }
        "US" | "DE" | "FR" | "JP" | "CA" | "GB" => None,
        _ if compact.is_empty() || !compact.chars().all(char::is_alphanumeric) => None,
        _ => Some(tidy(raw).to_ascii_uppercase()),
    }
}

/// `A1A1A1`: letter, digit, letter, digit, letter, digit.
fn canadian(c: &str) -> bool {
    c.len() == 6
        && c.bytes().enumerate().all(|(i, b)| {
            if i % 2 == 0 {
                b.is_ascii_uppercase()
            } else {
                b.is_ascii_digit()
            }
        })
}

/// An outward code of two to four letters and digits starting with a letter, then an inward
/// code of a digit and two letters (`SW1A1AA`, `SE59JH`, `M11AE`).
fn british(c: &str) -> bool {
    let b = c.as_bytes();
    (5..=7).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b.iter().all(u8::is_ascii_alphanumeric)
        && b[b.len() - 3].is_ascii_digit()
        && b[b.len() - 2..].iter().all(u8::is_ascii_uppercase)
}

/// The subdivision's code within its country (`TX` for `US-TX`), found by that code, by the
/// full ISO 3166-2 code or by its English name, ignoring case; `None` when none matches.
pub fn subdivision_code(country: &str, raw: &str) -> Option<String> {
    let country = rust_iso3166::from_alpha2(country)?;
    let subdivisions = country.subdivisions()?;
    let wanted = raw.trim();
    let own = |code: &str| code.split_once('-').map_or(code, |(_, own)| own).to_owned();
    subdivisions
        .iter()
        .find(|s| {
            s.code.eq_ignore_ascii_case(wanted)
                || own(s.code).eq_ignore_ascii_case(wanted)
                || s.name.to_lowercase() == wanted.to_lowercase()
        })
        .map(|s| own(s.code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(country: &str, postal: &str, subdivision: Option<&str>) -> PostalAddress {
        PostalAddress {
            line1: "1 Main St".into(),
            city: "Austin".into(),
            country: country.into(),
            postal_code: Some(postal.into()),
            country_subdivision: subdivision.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn postal_codes_take_their_countrys_format() {
        let cases = [
            ("US", "78701", Some("78701")),
            ("US", "787011234", Some("78701-1234")),
            ("US", " 78701 - 1234 ", Some("78701-1234")),
            ("US", "7870", None),
            ("CA", "k1a0b1", Some("K1A 0B1")),
            ("CA", "K1A-0B1", Some("K1A 0B1")),
            ("CA", "KKA0B1", None),
            ("GB", "sw1a1aa", Some("SW1A 1AA")),
            ("GB", "SE5 9JH", Some("SE5 9JH")),
            ("GB", "m11ae", Some("M1 1AE")),
            ("GB", "12345", None),
            ("DE", "10 117", Some("10117")),
            ("DE", "1011", None),
            ("FR", "75001", Some("75001")),
            ("FR", "7500A", None),
            ("JP", "1000001", Some("100-0001")),
            ("JP", "１００－０００１", Some("100-0001")),
            ("JP", "100-00001", None),
            ("NL", "1234 ab", Some("1234 AB")),
            ("NL", "12#4", None),
        ];
        for (country, raw, want) in cases {
            assert_eq!(
                postal_code(country, raw).as_deref(),
                want,
                "{country} {raw:?}"
            );
        }
    }

    #[test]
    fn subdivisions_match_by_code_full_code_or_english_name() {
        assert_eq!(subdivision_code("US", "tx").as_deref(), Some("TX"));
        assert_eq!(subdivision_code("US", "US-TX").as_deref(), Some("TX"));
        assert_eq!(subdivision_code("US", "texas").as_deref(), Some("TX"));
        assert_eq!(subdivision_code("CA", "Ontario").as_deref(), Some("ON"));
        assert_eq!(subdivision_code("DE", "berlin").as_deref(), Some("BE"));
        assert_eq!(subdivision_code("JP", "Aichi").as_deref(), Some("23"));
        assert_eq!(subdivision_code("US", "Atlantis"), None);
        assert_eq!(subdivision_code("ZZ", "TX"), None);
    }

    #[test]
    fn a_normal_address_has_no_suggestion_and_an_untidy_one_its_correction() {
        assert_eq!(suggestion(&address("US", "78701", Some("TX"))), None);
        let mut untidy = address("US", "787011234", Some("texas"));
        untidy.line1 = "  1   Main St ".into();
        untidy.line2 = Some("   ".into());
        let fixed = suggestion(&untidy).unwrap();
        assert_eq!(fixed.line1, "1 Main St");
        assert_eq!(fixed.line2, None);
        assert_eq!(fixed.postal_code.as_deref(), Some("78701-1234"));
        assert_eq!(fixed.country_subdivision.as_deref(), Some("TX"));
        assert_eq!(suggestion(&fixed), None, "a suggestion is already normal");
    }

    #[test]
    fn what_cannot_be_corrected_is_kept_as_given() {
        let odd = address("US", "7870", Some("Atlantis"));
        assert_eq!(suggestion(&odd), None);
        let jp = address("JP", "1000001", Some("愛知県"));
        let fixed = suggestion(&jp).unwrap();
        assert_eq!(fixed.postal_code.as_deref(), Some("100-0001"));
        assert_eq!(fixed.country_subdivision.as_deref(), Some("愛知県"));
    }
}
