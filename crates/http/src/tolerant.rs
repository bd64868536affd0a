//! Reading request bodies the way real Shopper API clients write them.
//!
//! Global Commerce speaks XML first and JSON second, and its JSON is the XML's conversion:
//! a collection of one is often an object instead of a one-element array (`"lineItem": {...}`),
//! booleans and numbers often arrive as strings (`"true"`, `"2"`), and a storefront that has
//! nothing to send posts `""`, `[]` or `{}` where an object is optional (`{"cart": ""}`, a PHP
//! client's `json_encode(array())`). Fields the server does not know are ignored rather than
//! refused, as the docs' own samples carry fields Shopkeeper does not keep.
//!
//! What stays strict: a field of the wrong kind (`"quantity": "many"`, `"sendEmail": {}`) is a
//! 400 naming the field ([`from_slice`] / [`from_value`] report the path). Nothing here is used
//! for credentials or access decisions: the token endpoint, the API key and bearer extraction
//! keep their own strict parsers, and a limited token's forbidden fields are judged after
//! parsing, on what the body asked for.

use super::error::ShopperApiError;
use super::shopper_api::bad_request;
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, MapAccess, SeqAccess};
use serde::{Deserialize, de::Visitor};
use serde_json::Value;
use std::fmt;
use std::marker::PhantomData;

/// A visitor's answers to `null` (and unit): `$nothing`; an `Option`'s inside is read as is.
macro_rules! nothing_is {
    ($nothing:expr) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($nothing)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($nothing)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    };
}

/// [`nothing_is`], and a blank string means `$nothing` too (any other string is refused).
macro_rules! blank_or_nothing_is {
    ($nothing:expr) => {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v.trim().is_empty() {
                Ok($nothing)
            } else {
                Err(E::invalid_type(de::Unexpected::Str(v), &self))
            }
        }

        nothing_is!($nothing);
    };
}

/// Parses a JSON body into `T`; a failure is the documented 400 naming the field (its path,
/// `shopper.sendEmail`, `cart.lineItems.lineItem[1].quantity`).
pub fn from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, ShopperApiError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut json).map_err(|e| path_error(&e, ""))?;
    json.end()
        .map_err(|e| bad_request(format!("invalid JSON body: {e}")))?;
    Ok(value)
}

/// Converts a part of a body already read as JSON into `T`; errors name the field below
/// `at` (the part's own path in the body, `""` for the whole body).
pub fn from_value<T: DeserializeOwned>(value: Value, at: &str) -> Result<T, ShopperApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| path_error(&e, at))
}

fn path_error<E: fmt::Display>(e: &serde_path_to_error::Error<E>, at: &str) -> ShopperApiError {
    let inner = e.path().to_string();
    let field = match (at, inner.as_str()) {
        (at, ".") => at.to_owned(),
        ("", inner) => inner.to_owned(),
        (at, inner) => format!("{at}.{inner}"),
    };
    if field.is_empty() || field == "." {
        bad_request(format!("invalid JSON body: {}", e.inner()))
    } else {
        bad_request(format!("invalid JSON body at {field}: {}", e.inner()))
    }
}

/// Whether a whole body or an optional member means "nothing": absent, `null`, `""`, `[]` or
/// `{}`.
pub fn is_nothing(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The object a body wraps in `name` (`{"shopper": {...}}`), or the body itself when it is
/// the bare object (`{"emailAddress": ...}`, as some docs samples send it). With the path of
/// what was taken, for errors.
pub fn unwrap_envelope(body: Value, name: &'static str) -> (Value, &'static str) {
    match body {
        Value::Object(mut o) if o.contains_key(name) => {
            (o.remove(name).unwrap_or(Value::Null), name)
        }
        other => (other, ""),
    }
}

// --- field helpers (`#[serde(default, deserialize_with = "...")]`) -----------------------------

/// A boolean: `true`, `"true"`, `"1"`, `1` (and their false twins), any case.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(OptVisitor(Kind::Bool))
        .map(|v| v.map(|s| s == "true"))
}

/// A whole number: `2` or `"2"`.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(OptVisitor(Kind::Integer))
        .map(|v| v.map(|s| s.parse().expect("checked by the visitor")))
}

/// A text field that a converter may have written as a number (`"postalCode": 55343`).
pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(OptVisitor(Kind::Text))
}

/// Any scalar as text: a string, a number or a boolean (`"value": true` of a Boolean custom
/// attribute), for fields whose meaning another field says.
pub fn opt_scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(OptVisitor(Kind::Scalar))
}

#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Integer,
    Text,
    Scalar,
}

/// Reads a scalar as its canonical text (`"true"`/`"false"`, digits, or the text), `None` for
/// `null`; anything else is an error saying what was expected.
struct OptVisitor(Kind);

impl OptVisitor {
    fn take<E: de::Error>(
        &self,
        text: &str,
        shown: de::Unexpected<'_>,
    ) -> Result<Option<String>, E> {
        let t = text.trim();
        match self.0 {
            Kind::Text | Kind::Scalar => Ok(Some(text.to_owned())),
            Kind::Bool => match t.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some("true".into())),
                "false" | "0" => Ok(Some("false".into())),
                "" => Ok(None),
                _ => Err(E::invalid_value(shown, self)),
            },
            Kind::Integer => match t.parse::<i64>() {
                Ok(n) => Ok(Some(n.to_string())),
                Err(_) if t.is_empty() => Ok(None),
                Err(_) => Err(E::invalid_value(shown, self)),
            },
        }
    }
}

impl<'de> Visitor<'de> for OptVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self.0 {
            Kind::Bool => "a boolean (true or false, also as a string)",
            Kind::Integer => "a whole number (also as a string)",
            Kind::Text => "a string",
            Kind::Scalar => "a string, a number or a boolean",
        })
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        match self.0 {
            Kind::Bool | Kind::Scalar => Ok(Some(v.to_string())),
            _ => Err(E::invalid_type(de::Unexpected::Bool(v), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.take(&v.to_string(), de::Unexpected::Signed(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        match i64::try_from(v) {
            Ok(n) => self.take(&n.to_string(), de::Unexpected::Unsigned(v)),
            Err(_) => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        match self.0 {
            Kind::Scalar => Ok(Some(v.to_string())),
            _ => Err(E::invalid_type(de::Unexpected::Float(v), &self)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.take(v, de::Unexpected::Str(v))
    }

    nothing_is!(None);
}

/// A collection member that is either an array or, for a collection of one, the object itself
/// (`"lineItem": {...}`); `null`, `""` or absence (with `default`) is empty.
pub fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(OneOrMany(PhantomData))
}

struct OneOrMany<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrMany<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object or an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| vec![t])
    }

    blank_or_nothing_is!(Vec::new());
}

/// An optional object member: `null`, `""`, `[]` or `{}` is `None` (`{"cart": ""}`); an
/// object is read as `T`; anything else is an error.
pub fn opt_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(OptObject(PhantomData))
}

struct OptObject<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OptObject<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object (or nothing: null, \"\", [] or {})")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // `{}` is nothing; otherwise the object, its first key already read.
        let Some(first) = map.next_key::<String>()? else {
            return Ok(None);
        };
        let rest = FirstKeyThen {
            first: Some(first),
            map,
        };
        T::deserialize(de::value::MapAccessDeserializer::new(rest)).map(Some)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        match seq.next_element::<de::IgnoredAny>()? {
            None => Ok(None),
            Some(_) => Err(de::Error::invalid_type(de::Unexpected::Seq, &self)),
        }
    }

    blank_or_nothing_is!(None);
}

/// A map whose first key was already taken off to see whether it was empty.
struct FirstKeyThen<A> {
    first: Option<String>,
    map: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for FirstKeyThen<A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.first.take() {
            Some(key) => seed.deserialize(key.into_deserializer()).map(Some),
            None => self.map.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        self.map.next_value_seed(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Line {
        #[serde(default, deserialize_with = "opt_i64")]
        quantity: Option<i64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Lines {
        #[serde(default, deserialize_with = "one_or_many")]
        line_item: Vec<Line>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Flags {
        #[serde(default, deserialize_with = "opt_bool")]
        on: Option<bool>,
        #[serde(default, deserialize_with = "opt_text")]
        code: Option<String>,
        #[serde(default, deserialize_with = "opt_object")]
        lines: Option<Lines>,
    }

    fn flags(v: Value) -> Result<Flags, String> {
        from_value(v, "x").map_err(|e| e.description.clone())
    }

    #[test]
    fn booleans_come_as_booleans_strings_or_digits() {
        for (raw, want) in [
            (json!(true), Some(true)),
            (json!("true"), Some(true)),
            (json!("TRUE"), Some(true)),
            (json!("1"), Some(true)),
            (json!(1), Some(true)),
            (json!(false), Some(false)),
            (json!("false"), Some(false)),
            (json!(0), Some(false)),
            (json!(null), None),
            (json!(""), None),
        ] {
            assert_eq!(flags(json!({"on": raw})).unwrap().on, want, "{raw}");
        }
        assert_eq!(flags(json!({})).unwrap().on, None);
        for bad in [json!("yes"), json!(2), json!({}), json!([true]), json!(1.5)] {
            let e = flags(json!({"on": bad})).unwrap_err();
            assert!(e.contains("at x.on") && e.contains("boolean"), "{bad}: {e}");
        }
    }

    #[test]
    fn numbers_come_as_numbers_or_strings() {
        let one = |v: Value| from_value::<Line>(json!({"quantity": v}), "");
        assert_eq!(one(json!(3)).unwrap().quantity, Some(3));
        assert_eq!(one(json!(" 3 ")).unwrap().quantity, Some(3));
        assert_eq!(one(json!(null)).unwrap().quantity, None);
        let e = one(json!("three")).unwrap_err();
        assert!(e.description.contains("at quantity"), "{}", e.description);
        assert!(one(json!(2.5)).is_err());
        assert!(one(json!(true)).is_err());
        assert!(one(json!(u64::MAX)).is_err());
    }

    #[test]
    fn text_may_be_written_as_a_number() {
        assert_eq!(
            flags(json!({"code": 55343})).unwrap().code.as_deref(),
            Some("55343")
        );
        assert_eq!(
            flags(json!({"code": "A1"})).unwrap().code.as_deref(),
            Some("A1")
        );
        assert!(flags(json!({"code": {"a": 1}})).is_err());
    }

    #[test]
    fn a_collection_of_one_may_be_the_object_itself() {
        let one: Lines = from_value(json!({"lineItem": {"quantity": "2"}}), "").unwrap();
        assert_eq!(one.line_item, vec![Line { quantity: Some(2) }]);
        let many: Lines =
            from_value(json!({"lineItem": [{"quantity": 1}, {"quantity": 2}]}), "").unwrap();
        assert_eq!(many.line_item.len(), 2);
        let none: Lines = from_value(json!({"lineItem": ""}), "").unwrap();
        assert!(none.line_item.is_empty());
        let absent: Lines = from_value(json!({}), "").unwrap();
        assert!(absent.line_item.is_empty());
        let e = from_value::<Lines>(json!({"lineItem": [{"quantity": "x"}]}), "cart").unwrap_err();
        assert!(
            e.description.contains("cart.lineItem[0].quantity"),
            "{}",
            e.description
        );
        assert!(from_value::<Lines>(json!({"lineItem": 5}), "").is_err());
    }

    #[test]
    fn an_optional_object_may_be_nothing() {
        for nothing in [json!(""), json!([]), json!({}), json!(null)] {
            assert_eq!(
                flags(json!({"lines": nothing})).unwrap().lines,
                None,
                "{nothing}"
            );
        }
        let some = flags(json!({"lines": {"lineItem": {"quantity": 1}}})).unwrap();
        assert_eq!(some.lines.unwrap().line_item.len(), 1);
        for bad in [json!("x"), json!([1]), json!(3)] {
            assert!(flags(json!({"lines": bad})).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_fields_are_ignored_and_bodies_parse_strictly_as_json() {
        let parsed: Flags = from_slice(br#"{"on": "true", "phoneticName": "x"}"#).unwrap();
        assert_eq!(parsed.on, Some(true));
        assert!(from_slice::<Flags>(br#"{"on": true} trailing"#).is_err());
        assert!(from_slice::<Flags>(b"{").is_err());
    }

    #[test]
    fn nothing_and_envelopes() {
        for v in [json!(null), json!(""), json!([]), json!({})] {
            assert!(is_nothing(&v), "{v}");
        }
        assert!(!is_nothing(&json!({"a": 1})));
        assert!(!is_nothing(&json!(0)));
        let (inner, at) = unwrap_envelope(json!({"shopper": {"a": 1}}), "shopper");
        assert_eq!((inner, at), (json!({"a": 1}), "shopper"));
        let (inner, at) = unwrap_envelope(json!({"emailAddress": "a@b.c"}), "shopper");
        assert_eq!((inner, at), (json!({"emailAddress": "a@b.c"}), ""));
    }
}
