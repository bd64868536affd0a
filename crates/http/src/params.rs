//! Request parameters of the OAuth endpoints, merged once from the query string and the body
//! (form or JSON), as existing clients send them in either place (seed 004 puts `grant_type`
//! in the query, seed 002 posts JSON).

use std::collections::HashMap;

/// Most parameters accepted in one place, and the longest name and value.
pub const MAX_PARAMS: usize = 64;
pub const MAX_NAME_LEN: usize = 128;
pub const MAX_VALUE_LEN: usize = 8 * 1024;

/// Parameters refused in the query string: URLs end up in logs, proxies and browser history
/// (RFC 6749 §2.3.1 allows client credentials only in the body or the header).
const BODY_ONLY: &[&str] = &["client_secret"];

#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<String, String>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

fn err(msg: impl Into<String>) -> ParamError {
    ParamError(msg.into())
}

impl Params {
    /// Parses and merges. A name given twice in one place, or with different values in the
    /// query and the body, is refused: which one would win is exactly what an attacker would
    /// like to choose.
    pub fn parse(
        query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, ParamError> {
        let from_query = match query {
            Some(q) if !q.is_empty() => parse_form(q.as_bytes(), "query string")?,
            _ => HashMap::new(),
        };
        if let Some(name) = BODY_ONLY.iter().find(|n| from_query.contains_key(**n)) {
            return Err(err(format!(
                "{name} must not be sent in the query string: send it in the form body or \
                 the Authorization header"
            )));
        }
        let from_body = parse_body(content_type, body)?;
        let mut values = from_query;
        for (name, value) in from_body {
            match values.get(&name) {
                Some(existing) if *existing != value => {
                    return Err(err(format!(
                        "parameter {name} has different values in the query and the body"
                    )));
                }
                _ => {
                    values.insert(name, value);
                }
            }
        }
        Ok(Self { values })
    }

    /// Parses a query string alone (GET endpoints).
    pub fn from_query(query: Option<&str>) -> Result<Self, ParamError> {
        Self::parse(query, None, &[])
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

fn check(name: &str, value: &str, map: &HashMap<String, String>) -> Result<(), ParamError> {
    if map.len() >= MAX_PARAMS {
        return Err(err("too many parameters"));
    }
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(err("parameter name empty or too long"));
    }
    if value.len() > MAX_VALUE_LEN {
        return Err(err(format!("parameter {name} is too long")));
    }
    if map.contains_key(name) {
        return Err(err(format!("parameter {name} is repeated")));
    }
    Ok(())
}

fn parse_form(raw: &[u8], place: &str) -> Result<HashMap<String, String>, ParamError> {
    let mut map = HashMap::new();
    for (name, value) in form_urlencoded::parse(raw) {
        // form_urlencoded decodes lossily; a replacement character means the percent-encoded
        // bytes were not UTF-8.
        if name.contains('\u{FFFD}') || value.contains('\u{FFFD}') {
            return Err(err(format!("the {place} is not valid UTF-8")));
        }
        check(&name, &value, &map)?;
        map.insert(name.into_owned(), value.into_owned());
    }
    Ok(map)
}

fn parse_body(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<HashMap<String, String>, ParamError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(HashMap::new());
    }
    let mime = content_type
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    match mime.as_str() {
        // curl -d without a content type, and old clients, send forms untyped.
        "application/x-www-form-urlencoded" | "" => {
            let text = std::str::from_utf8(body).map_err(|_| err("the body is not valid UTF-8"))?;
            parse_form(text.as_bytes(), "body")
        }
        "application/json" => parse_json(body),
        other => Err(err(format!(
            "unsupported content type {} (use application/x-www-form-urlencoded or application/json)",
            other.chars().take(60).collect::<String>()
        ))),
    }
}

fn parse_json(body: &[u8]) -> Result<HashMap<String, String>, ParamError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| err("the body is not valid JSON"))?;
    let object = value
        .as_object()
        .ok_or_else(|| err("the JSON body must be an object"))?;
    let mut map = HashMap::new();
    for (name, value) in object {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => return Err(err(format!("parameter {name} must be a string"))),
        };
        check(name, &text, &map)?;
        map.insert(name.clone(), text);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn query_and_body_merge() {
        let p = Params::parse(Some("grant_type=password"), FORM, b"username=a&password=b").unwrap();
        assert_eq!(p.get("grant_type"), Some("password"));
        assert_eq!(p.get("username"), Some("a"));
    }

    #[test]
    fn same_value_in_both_places_is_fine_different_is_not() {
        assert!(Params::parse(Some("a=1"), FORM, b"a=1").is_ok());
        assert!(Params::parse(Some("a=1"), FORM, b"a=2").is_err());
    }

    #[test]
    fn a_client_secret_is_refused_in_the_query_only() {
        assert!(Params::parse(Some("client_secret=s"), FORM, b"").is_err());
        assert!(Params::parse(Some("client_id=k"), FORM, b"client_secret=s").is_ok());
    }

    #[test]
    fn repeated_in_one_place_is_refused() {
        assert!(Params::parse(Some("a=1&a=1"), None, b"").is_err());
        assert!(Params::parse(None, FORM, b"a=1&a=2").is_err());
    }

    #[test]
    fn json_bodies() {
        let p = Params::parse(
            None,
            Some("application/json; charset=utf-8"),
            br#"{"grant_type":"password","ts":5}"#,
        )
        .unwrap();
        assert_eq!(p.get("ts"), Some("5"));
        assert!(Params::parse(None, Some("application/json"), b"{").is_err());
        assert!(Params::parse(None, Some("application/json"), b"[1]").is_err());
        assert!(Params::parse(None, Some("application/json"), br#"{"a":{"b":1}}"#).is_err());
    }

    #[test]
    fn limits_and_encodings() {
        assert!(Params::parse(None, Some("text/xml"), b"<a/>").is_err());
        assert!(Params::parse(Some("a=%FF"), None, b"").is_err());
        let many: String = (0..=MAX_PARAMS).map(|i| format!("p{i}=1&")).collect();
        assert!(Params::parse(Some(&many), None, b"").is_err());
        let long = format!("a={}", "x".repeat(MAX_VALUE_LEN + 1));
        assert!(Params::parse(Some(&long), None, b"").is_err());
    }
}
