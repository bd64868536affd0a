//! Tax identifiers on the cart (`cart/configuring-taxes/managing-tax-identifiers.md`): the
//! customer's type (`I` individual, `B` business) and the registrations each type gives in a
//! country, the schema a storefront reads, and the check of what it posts.
//!
//! The table of registration kinds per country (`COUNTRIES`) is kept to what can be sourced:
//! - Brazil: the docs' own schema (`managing-tax-identifiers.md`, "Attaching a tax identifier
//!   to a cart"): an individual gives a CPF, a business a CNPJ and an IE, with the docs'
//!   patterns (the IE's is the docs' comma-separated list of alternatives, kept as written).
//! - The EU member states' VAT numbers: the European Commission's VIES format table ("VIES VAT
//!   number validation", FAQ "What is the structure of a VAT number?"), the country prefix
//!   included as VIES shows it (Greece's is `EL`); a business gives one `VAT` item.
//! - The United Kingdom's VAT number: `GB` and 9 or 12 digits (HMRC; VIES's table before 2021).
//!
//! A country with no row has nothing to give: an individual gives no registrations, a business
//! may give none.

use regex::Regex;
use std::sync::OnceLock;

/// `I` or `B`, as the docs spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerType {
    Individual,
    Business,
}

impl CustomerType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "I" => Some(Self::Individual),
            "B" => Some(Self::Business),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Individual => "I",
            Self::Business => "B",
        }
    }

    /// The schema's `title` of the type.
    pub const fn title(self) -> &'static str {
        match self {
            Self::Individual => "Individual",
            Self::Business => "Business",
        }
    }
}

/// One kind of registration: its key, the value's title and description, and the patterns a
/// value must match one of.
#[derive(Debug, PartialEq, Eq)]
pub struct Kind {
    pub key: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub patterns: &'static [&'static str],
}

impl Kind {
    /// The pattern as the schema shows it: the alternatives joined by commas, as the docs' IE.
    pub fn pattern(&self) -> String {
        self.patterns.join(",")
    }

    pub fn accepts(&self, value: &str) -> bool {
        self.patterns.iter().any(|p| compiled(p).is_match(value))
    }
}

/// Patterns are constants of this file; each is compiled once.
fn compiled(pattern: &'static str) -> &'static Regex {
    static CACHE: OnceLock<std::sync::Mutex<Vec<(&'static str, &'static Regex)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, r)) = cache.iter().find(|(p, _)| *p == pattern) {
        return r;
    }
    let r: &'static Regex = Box::leak(Box::new(
        Regex::new(pattern).expect("the table's patterns are valid regular expressions"),
    ));
    cache.push((pattern, r));
    r
}

/// A country's registrations: what an individual gives and what a business gives, in order.
#[derive(Debug, PartialEq, Eq)]
pub struct Country {
    pub code: &'static str,
    pub individual: &'static [Kind],
    pub business: &'static [Kind],
}

impl Country {
    pub fn kinds(&self, t: CustomerType) -> &'static [Kind] {
        match t {
            CustomerType::Individual => self.individual,
            CustomerType::Business => self.business,
        }
    }
}

const CPF: Kind = Kind {
    key: "CPF",
    title: "CPF",
    description: "The individual's CPF number: 11 digits, without spaces, dots or hyphens.",
    patterns: &[
        "^[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}$",
    ],
};

const CNPJ: Kind = Kind {
    key: "CNPJ",
    title: "CNPJ",
    description: "The company's CNPJ number: 14 digits, without spaces, dots or hyphens.",
    patterns: &[
        "^[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}$",
    ],
};

const IE: Kind = Kind {
    key: "IE",
    title: "Inscrição Estadual (IE)",
    description: "The company's state registration: 8 to 13 digits without spaces, dots or hyphens, or ISENTO.",
    patterns: &[
        "^[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}$",
        "^[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}$",
        "^[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}$",
        "^[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}$",
        "^[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}$",
        "^[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}[0-9]{1}$",
        "^[Ii]{1}[Ss]{1}[Ee]{1}[Nn]{1}[Tt]{1}[Oo]{1}$",
    ],
};

const VAT_DESCRIPTION: &str = "The company's VAT number, with its country prefix.";

/// A business's one `VAT` item in a country whose VAT numbers match the pattern.
macro_rules! vat_country {
    ($code:literal, $pattern:literal) => {
        Country {
            code: $code,
            individual: &[],
            business: &[Kind {
                key: "VAT",
                title: "VAT",
                description: VAT_DESCRIPTION,
                patterns: &[$pattern],
            }],
        }
    };
}

/// The table, by ISO 3166-1 alpha-2 code.
pub const COUNTRIES: &[Country] = &[
    // The docs' schema (managing-tax-identifiers.md).
    Country {
        code: "BR",
        individual: &[CPF],
        business: &[CNPJ, IE],
    },
    // The EU member states: the European Commission's VIES format table.
    vat_country!("AT", "^ATU[0-9]{8}$"),
    vat_country!("BE", "^BE[01][0-9]{9}$"),
    vat_country!("BG", "^BG[0-9]{9,10}$"),
    vat_country!("CY", "^CY[0-9]{8}[A-Z]$"),
    vat_country!("CZ", "^CZ[0-9]{8,10}$"),
    vat_country!("DE", "^DE[0-9]{9}$"),
    vat_country!("DK", "^DK[0-9]{8}$"),
    vat_country!("EE", "^EE[0-9]{9}$"),
    vat_country!("ES", "^ES[0-9A-Z][0-9]{7}[0-9A-Z]$"),
    vat_country!("FI", "^FI[0-9]{8}$"),
    vat_country!("FR", "^FR[0-9A-Z]{2}[0-9]{9}$"),
    vat_country!("GR", "^EL[0-9]{9}$"),
    vat_country!("HR", "^HR[0-9]{11}$"),
    vat_country!("HU", "^HU[0-9]{8}$"),
    vat_country!("IE", "^IE([0-9]{7}[A-Z]{1,2}|[0-9][A-Z+*][0-9]{5}[A-Z])$"),
    vat_country!("IT", "^IT[0-9]{11}$"),
    vat_country!("LT", "^LT([0-9]{9}|[0-9]{12})$"),
    vat_country!("LU", "^LU[0-9]{8}$"),
    vat_country!("LV", "^LV[0-9]{11}$"),
    vat_country!("MT", "^MT[0-9]{8}$"),
    vat_country!("NL", "^NL[0-9]{9}B[0-9]{2}$"),
    vat_country!("PL", "^PL[0-9]{10}$"),
    vat_country!("PT", "^PT[0-9]{9}$"),
    vat_country!("RO", "^RO[0-9]{2,10}$"),
    vat_country!("SE", "^SE[0-9]{10}01$"),
    vat_country!("SI", "^SI[0-9]{8}$"),
    vat_country!("SK", "^SK[0-9]{10}$"),
    // The United Kingdom (HMRC): GB and 9 or 12 digits.
    vat_country!("GB", "^GB([0-9]{9}|[0-9]{12})$"),
];

/// A country without a row: nothing to give.
pub const NONE: Country = Country {
    code: "",
    individual: &[],
    business: &[],
};

/// The country's row, or [`NONE`].
pub fn country(code: &str) -> &'static Country {
    let code = code.trim();
    COUNTRIES
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code))
        .unwrap_or(&NONE)
}

/// The country of a site's locale: `en_US` → `US`, `pt-BR` → `BR`.
pub fn locale_country(locale: &str) -> Option<String> {
    let region = locale.split(['_', '-']).nth(1)?;
    (region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| region.to_ascii_uppercase())
}

/// One registration as posted and stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Registration {
    pub key: String,
    pub value: String,
}

/// Why a post is refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("customerType must be I or B")]
    CustomerType,
    #[error(
        "taxRegistrations must hold {expected} items for customerType {customer_type} here, not {given}"
    )]
    Count {
        customer_type: &'static str,
        expected: String,
        given: usize,
    },
    #[error("taxRegistrations[{index}].key must be {expected}")]
    Key {
        index: usize,
        expected: &'static str,
    },
    #[error("taxRegistrations[{index}].value does not match the {key} pattern")]
    Value { index: usize, key: &'static str },
}

/// Checks a post against the country's schema: the type, the number of items (exactly the
/// type's kinds; a business of a country with no row may give none or nothing), each item's
/// key in order and its value against the kind's pattern.
pub fn check(
    country: &Country,
    customer_type: &str,
    registrations: &[Registration],
) -> Result<CustomerType, Refusal> {
    let t = CustomerType::parse(customer_type).ok_or(Refusal::CustomerType)?;
    let kinds = country.kinds(t);
    if registrations.len() != kinds.len() {
        return Err(Refusal::Count {
            customer_type: t.as_str(),
            expected: kinds.len().to_string(),
            given: registrations.len(),
        });
    }
    for (index, (r, k)) in registrations.iter().zip(kinds).enumerate() {
        if r.key != k.key {
            return Err(Refusal::Key {
                index,
                expected: k.key,
            });
        }
        if !k.accepts(&r.value) {
            return Err(Refusal::Value { index, key: k.key });
        }
    }
    Ok(t)
}

/// The tax-registrations JSON Schema (draft-04) of a country, in the docs' shape: `oneOf`
/// Individual and Business, their items referencing `definitions` by key, `liveMode: false`.
pub fn schema(country: &Country, id: &str) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut definitions = Map::new();
    let one_of: Vec<Value> = [CustomerType::Individual, CustomerType::Business]
        .into_iter()
        .map(|t| {
            let kinds = country.kinds(t);
            for k in kinds {
                definitions.insert(
                    k.key.to_owned(),
                    json!({
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["key", "value"],
                        "properties": {
                            "key": {"type": "string", "readOnly": true, "enum": [k.key]},
                            "value": {
                                "type": "string",
                                "title": k.title,
                                "description": k.description,
                                "pattern": k.pattern(),
                            }
                        }
                    }),
                );
            }
            let items: Vec<Value> = kinds
                .iter()
                .map(|k| json!({"$ref": format!("#/definitions/{}", k.key)}))
                .collect();
            json!({
                "type": "object",
                "title": t.title(),
                "additionalProperties": false,
                "required": ["customerType"],
                "properties": {
                    "customerType": {"type": "string", "readOnly": true, "enum": [t.as_str()]},
                    "taxRegistrations": {
                        "type": "array",
                        "title": "Tax Registrations",
                        "minItems": kinds.len(),
                        "maxItems": kinds.len(),
                        "items": items,
                    },
                    "companyId": {"type": "string"},
                    "siteId": {"type": "string"},
                }
            })
        })
        .collect();
    json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "id": id,
        "oneOf": one_of,
        "definitions": definitions,
        "liveMode": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(key: &str, value: &str) -> Registration {
        Registration {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn every_pattern_compiles_and_every_country_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for c in COUNTRIES {
            assert!(seen.insert(c.code), "{} twice", c.code);
            for k in c.individual.iter().chain(c.business) {
                assert!(!k.patterns.is_empty());
                for p in k.patterns {
                    compiled(p);
                }
            }
        }
        // Brazil, 27 member states and the United Kingdom.
        assert_eq!(COUNTRIES.len(), 29);
    }

    #[test]
    fn brazil_takes_the_docs_examples() {
        let br = country("BR");
        assert_eq!(
            check(
                br,
                "B",
                &[reg("CNPJ", "77844699000109"), reg("IE", "ISENTO")]
            ),
            Ok(CustomerType::Business)
        );
        assert_eq!(
            check(br, "I", &[reg("CPF", "03927107492")]),
            Ok(CustomerType::Individual)
        );
        assert_eq!(
            check(
                br,
                "B",
                &[reg("CNPJ", "77844699000109"), reg("IE", "12345678")]
            ),
            Ok(CustomerType::Business)
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let br = country("BR");
        assert_eq!(check(br, "X", &[]), Err(Refusal::CustomerType));
        assert!(matches!(
            check(br, "I", &[]),
            Err(Refusal::Count { given: 0, .. })
        ));
        assert_eq!(
            check(br, "I", &[reg("CNPJ", "77844699000109")]),
            Err(Refusal::Key {
                index: 0,
                expected: "CPF"
            })
        );
        assert_eq!(
            check(br, "I", &[reg("CPF", "0392710749")]),
            Err(Refusal::Value {
                index: 0,
                key: "CPF"
            })
        );
        assert_eq!(
            check(
                br,
                "B",
                &[reg("CNPJ", "77844699000109"), reg("IE", "1234567")]
            ),
            Err(Refusal::Value {
                index: 1,
                key: "IE"
            })
        );
        assert!(
            Refusal::Value {
                index: 1,
                key: "IE"
            }
            .to_string()
            .contains("taxRegistrations[1].value")
        );
    }

    #[test]
    fn vat_countries_take_one_vat_item_for_a_business() {
        assert_eq!(
            check(country("DE"), "B", &[reg("VAT", "DE123456789")]),
            Ok(CustomerType::Business)
        );
        assert!(check(country("DE"), "B", &[reg("VAT", "DE12345678")]).is_err());
        assert!(check(country("de"), "I", &[]).is_ok());
        assert!(check(country("NL"), "B", &[reg("VAT", "NL123456789B01")]).is_ok());
        assert!(check(country("GR"), "B", &[reg("VAT", "EL123456789")]).is_ok());
        assert!(check(country("GB"), "B", &[reg("VAT", "GB123456789012")]).is_ok());
        assert!(check(country("GB"), "B", &[reg("VAT", "GB1234567890")]).is_err());
        assert!(check(country("ATU"), "B", &[]).is_ok());
    }

    #[test]
    fn a_country_without_a_row_needs_nothing() {
        assert!(check(country("US"), "I", &[]).is_ok());
        assert!(check(country("US"), "B", &[]).is_ok());
        assert!(check(country("US"), "B", &[reg("EIN", "1")]).is_err());
    }

    #[test]
    fn the_schema_has_the_docs_shape() {
        let s = schema(country("BR"), "https://x/schema");
        assert_eq!(s["$schema"], "http://json-schema.org/draft-04/schema#");
        assert_eq!(s["liveMode"], false);
        assert_eq!(s["oneOf"][0]["title"], "Individual");
        assert_eq!(s["oneOf"][1]["properties"]["customerType"]["enum"][0], "B");
        assert_eq!(
            s["oneOf"][1]["properties"]["taxRegistrations"]["items"][1]["$ref"],
            "#/definitions/IE"
        );
        assert_eq!(
            s["oneOf"][1]["properties"]["taxRegistrations"]["minItems"],
            2
        );
        assert_eq!(
            s["definitions"]["CPF"]["properties"]["key"]["enum"][0],
            "CPF"
        );
        assert_eq!(
            s["definitions"]["IE"]["properties"]["value"]["pattern"]
                .as_str()
                .unwrap()
                .split(',')
                .count(),
            7
        );
    }

    #[test]
    fn the_locale_names_the_country() {
        assert_eq!(locale_country("en_US").as_deref(), Some("US"));
        assert_eq!(locale_country("pt-BR").as_deref(), Some("BR"));
        assert_eq!(locale_country("en"), None);
    }
}
