//! XML, the Commerce API's other format, as the rendering the docs' JSON comes from: an
//! object's fields are child elements in order, a collection is its element repeated
//! (`{"products": {"product": [a, b]}}` is `<products><product>a</product><product>b</product>
//! </products>`, a collection of one is one element), and a body whose only field is an
//! object (`{"cart": {...}}`) is that element. Written and read with quick-xml; a request body
//! with a DTD (`<!DOCTYPE`) or an entity other than XML's five and character references is
//! refused, so no entity is ever expanded (no XXE, no billion laughs).

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// The media type of XML answers.
pub const CONTENT_TYPE: &str = "application/xml; charset=utf-8";

/// Deepest element nesting read from a request (the documented bodies nest five or six deep).
const MAX_DEPTH: usize = 64;

/// Renders a JSON document as XML. `root` names the document element of a body that is not a
/// single object field (the OAuth token's flat `{"access_token", …}` is `<token>`).
pub fn from_json(json: &[u8], root: &str) -> Result<Vec<u8>, serde_json::Error> {
    let mut fields = Writer::new(Vec::with_capacity(json.len() + json.len() / 2));
    let mut de = serde_json::Deserializer::from_slice(json);
    let shape = de.deserialize_any(Document { w: &mut fields })?;
    de.end()?;
    let fields = fields.into_inner();
    let mut doc = Writer::new(Vec::with_capacity(fields.len() + 64));
    write(
        &mut doc,
        Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)),
    )?;
    match shape {
        // The fields already are the document element.
        DocumentShape::OneElement => doc.get_mut().extend_from_slice(&fields),
        DocumentShape::Fields => {
            write(&mut doc, Event::Start(BytesStart::new(root)))?;
            doc.get_mut().extend_from_slice(&fields);
            write(&mut doc, Event::End(BytesEnd::new(root)))?;
        }
        DocumentShape::Value => {
            // A bare value (never answered today): the root element holds it.
            let mut de = serde_json::Deserializer::from_slice(json);
            de.deserialize_any(Element {
                name: root,
                w: &mut doc,
            })?;
        }
    }
    Ok(doc.into_inner())
}

fn write<E: de::Error>(w: &mut Writer<Vec<u8>>, event: Event<'_>) -> Result<(), E> {
    // Writing into a Vec cannot fail.
    w.write_event(event).map_err(E::custom)
}

/// A field name as an element name: itself when it is one, else `entry` with the name in a
/// `key` attribute (no field of the documented bodies needs it; a free-form map might).
fn start(name: &str) -> BytesStart<'_> {
    if is_xml_name(name) {
        BytesStart::new(name)
    } else {
        let mut element = BytesStart::new("entry");
        element.push_attribute(("key", name));
        element
    }
}

fn end(name: &str) -> BytesEnd<'_> {
    BytesEnd::new(if is_xml_name(name) { name } else { "entry" })
}

fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("xml"))
}

enum DocumentShape {
    /// One field whose value is one element: it is the document element.
    OneElement,
    /// Several fields (or one collection): they go inside the root element.
    Fields,
    /// Not an object.
    Value,
}

/// The top of the document: its fields are written as they come; how many there were decides
/// whether the root element wraps them.
struct Document<'w> {
    w: &'w mut Writer<Vec<u8>>,
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = DocumentShape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DocumentShape, A::Error> {
        let mut count = 0;
        let mut collection = false;
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            count += 1;
            collection |= map.next_value_seed(Field {
                name: &name,
                w: self.w,
            })?;
        }
        Ok(if count == 1 && !collection {
            DocumentShape::OneElement
        } else {
            DocumentShape::Fields
        })
    }

    fn visit_bool<E>(self, _: bool) -> Result<DocumentShape, E> {
        Ok(DocumentShape::Value)
    }
    fn visit_i64<E>(self, _: i64) -> Result<DocumentShape, E> {
        Ok(DocumentShape::Value)
    }
    fn visit_u64<E>(self, _: u64) -> Result<DocumentShape, E> {
        Ok(DocumentShape::Value)
    }
    fn visit_f64<E>(self, _: f64) -> Result<DocumentShape, E> {
        Ok(DocumentShape::Value)
    }
    fn visit_str<E>(self, _: &str) -> Result<DocumentShape, E> {
        Ok(DocumentShape::Value)
    }
    fn visit_unit<E>(self) -> Result<DocumentShape, E> {
        Ok(DocumentShape::Value)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DocumentShape, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(DocumentShape::Value)
    }
}

/// A field of an object: an element, or for a collection that element repeated (answers
/// whether it was a collection).
struct Field<'n, 'w> {
    name: &'n str,
    w: &'w mut Writer<Vec<u8>>,
}

impl<'de> DeserializeSeed<'de> for Field<'_, '_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

/// Everything but a collection is the one element's.
macro_rules! as_element {
    ($($method:ident($ty:ty)),*) => {
        $(fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            Element { name: self.name, w: self.w }.$method(v).map(|()| false)
        })*
    };
}

impl<'de> Visitor<'de> for Field<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    as_element!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_f64(f64),
        visit_str(&str)
    );

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Element {
            name: self.name,
            w: self.w,
        }
        .visit_unit()
        .map(|()| false)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        Element {
            name: self.name,
            w: self.w,
        }
        .visit_map(map)
        .map(|()| false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq
            .next_element_seed(Element {
                name: self.name,
                w: &mut *self.w,
            })?
            .is_some()
        {}
        Ok(true)
    }
}

/// One element named `name` holding a value.
struct Element<'n, 'w> {
    name: &'n str,
    w: &'w mut Writer<Vec<u8>>,
}

impl<'de> DeserializeSeed<'de> for Element<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Element<'_, '_> {
    fn text<E: de::Error>(self, text: &str) -> Result<(), E> {
        write(self.w, Event::Start(start(self.name)))?;
        write(self.w, Event::Text(BytesText::new(text)))?;
        write(self.w, Event::End(end(self.name)))
    }
}

impl<'de> Visitor<'de> for Element<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.text(if v { "true" } else { "false" })
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.text(&v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.text(&v.to_string())
    }
    /// As JSON writes it (`20.0`, not Rust's `20`).
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        match serde_json::Number::from_f64(v) {
            Some(number) => self.text(&number.to_string()),
            None => self.visit_unit(),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.text(v)
    }

    /// `null`: the element, empty.
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        write(self.w, Event::Empty(start(self.name)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        write(self.w, Event::Start(start(self.name)))?;
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            map.next_value_seed(Field {
                name: &name,
                w: &mut *self.w,
            })?;
        }
        write(self.w, Event::End(end(self.name)))
    }

    /// A list inside a list (no documented body has one): each item an `item` element.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        write(self.w, Event::Start(start(self.name)))?;
        while seq
            .next_element_seed(Element {
                name: "item",
                w: &mut *self.w,
            })?
            .is_some()
        {}
        write(self.w, Event::End(end(self.name)))
    }
}

/// Why an XML request body was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct XmlError(pub String);

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An element being read: its name, its fields so far and its text.
struct Open {
    name: String,
    fields: Map<String, Value>,
    text: String,
}

impl Open {
    fn new(start: &BytesStart<'_>) -> Result<Self, XmlError> {
        let name = String::from_utf8(start.local_name().as_ref().to_vec())
            .map_err(|_| XmlError("an element name is not UTF-8".into()))?;
        let mut fields = Map::new();
        // Attributes are fields too (`<product id="5"/>`), namespace declarations aside.
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| XmlError(format!("bad attribute: {e}")))?;
            let key = attribute.key;
            if key.as_ref() == b"xmlns" || key.prefix().is_some_and(|p| p.as_ref() == b"xmlns") {
                continue;
            }
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| XmlError(format!("bad attribute value: {e}")))?;
            let key = String::from_utf8_lossy(key.local_name().as_ref()).into_owned();
            insert(&mut fields, key, Value::String(value.into_owned()));
        }
        Ok(Self {
            name,
            fields,
            text: String::new(),
        })
    }

    /// Its value: its fields when it has any, else its text (`""` when empty).
    fn into_value(self) -> (String, Value) {
        let value = if self.fields.is_empty() {
            Value::String(self.text.trim().to_owned())
        } else {
            Value::Object(self.fields)
        };
        (self.name, value)
    }
}

/// A repeated element is a collection: the second `lineItem` turns the field into a list.
fn insert(fields: &mut Map<String, Value>, name: String, value: Value) {
    match fields.get_mut(&name) {
        None => {
            fields.insert(name, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(first) => {
            let first = first.take();
            fields.insert(name, Value::Array(vec![first, value]));
        }
    }
}

/// Reads an XML request body as the JSON it renders (`<cart>…</cart>` is `{"cart": {…}}`):
/// text stays text, which the tolerant reader takes for numbers and booleans, and a collection
/// of one is an object, which it takes for a list of one.
pub fn to_json(body: &[u8]) -> Result<Value, XmlError> {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut open: Vec<Open> = Vec::new();
    let mut document: Option<(String, Value)> = None;
    let bad = |e: quick_xml::Error| XmlError(format!("malformed XML: {e}"));
    loop {
        let event = reader.read_event().map_err(bad)?;
        let text = |piece: &str, open: &mut Vec<Open>| match open.last_mut() {
            Some(element) => {
                element.text.push_str(piece);
                Ok(())
            }
            None if piece.trim().is_empty() => Ok(()),
            None => Err(XmlError("text outside the document element".into())),
        };
        match event {
            Event::DocType(_) => {
                return Err(XmlError(
                    "DTDs (<!DOCTYPE>) are not accepted in request bodies".into(),
                ));
            }
            Event::Start(start) => {
                if document.is_some() {
                    return Err(XmlError("more than one document element".into()));
                }
                if open.len() >= MAX_DEPTH {
                    return Err(XmlError(format!("elements nest deeper than {MAX_DEPTH}")));
                }
                open.push(Open::new(&start)?);
            }
            Event::Empty(start) => {
                if document.is_some() {
                    return Err(XmlError("more than one document element".into()));
                }
                let (name, value) = Open::new(&start)?.into_value();
                match open.last_mut() {
                    Some(parent) => insert(&mut parent.fields, name, value),
                    None => document = Some((name, value)),
                }
            }
            Event::End(_) => {
                let element = open.pop().expect("the reader checks that end tags match");
                let (name, value) = element.into_value();
                match open.last_mut() {
                    Some(parent) => insert(&mut parent.fields, name, value),
                    None => document = Some((name, value)),
                }
            }
            Event::Text(t) => {
                let piece = t.decode().map_err(|e| XmlError(format!("bad text: {e}")))?;
                text(&piece, &mut open)?;
            }
            Event::CData(t) => {
                let piece = t
                    .decode()
                    .map_err(|e| XmlError(format!("bad CDATA: {e}")))?;
                text(&piece, &mut open)?;
            }
            Event::GeneralRef(r) => {
                let piece = match r.resolve_char_ref().map_err(bad)? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r
                            .decode()
                            .map_err(|e| XmlError(format!("bad entity: {e}")))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| XmlError(format!("entity &{name}; is not accepted")))?
                            .to_owned()
                    }
                };
                text(&piece, &mut open)?;
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !open.is_empty() {
        return Err(XmlError("the document ends inside an element".into()));
    }
    let (name, value) = document.ok_or_else(|| XmlError("no document element".into()))?;
    let mut body = Map::new();
    body.insert(name, value);
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Bodies as text: `json!` would sort their keys, and the order is what is rendered.
    fn xml(json: &str, root: &str) -> String {
        String::from_utf8(from_json(json.as_bytes(), root).unwrap()).unwrap()
    }

    const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

    #[test]
    fn an_object_field_alone_is_the_document_element_and_collections_repeat() {
        let body = r#"{"products": {"uri": "u", "product": [
            {"id": 1, "displayName": "A & B"}, {"id": 2, "displayName": "<C>"}
        ], "totalResults": 2}}"#;
        assert_eq!(
            xml(body, "unused"),
            format!(
                "{DECL}<products><uri>u</uri><product><id>1</id><displayName>A &amp; B\
                 </displayName></product><product><id>2</id><displayName>&lt;C&gt;\
                 </displayName></product><totalResults>2</totalResults></products>"
            )
        );
    }

    #[test]
    fn a_collection_of_one_is_one_element_and_an_empty_one_is_none() {
        let one = r#"{"errors": {"error": [{"code": "c", "description": "d"}]}}"#;
        assert_eq!(
            xml(one, "x"),
            format!(
                "{DECL}<errors><error><code>c</code><description>d</description></error></errors>"
            )
        );
        let none = r#"{"lineItems": {"uri": "u", "lineItem": []}}"#;
        assert_eq!(
            xml(none, "x"),
            format!("{DECL}<lineItems><uri>u</uri></lineItems>")
        );
    }

    #[test]
    fn flat_bodies_go_inside_the_named_root_in_field_order() {
        let token = r#"{"access_token": "a", "token_type": "bearer", "expires_in": 3600,
                        "refresh_token": null, "ok": true, "value": 20.0}"#;
        assert_eq!(
            xml(token, "token"),
            format!(
                "{DECL}<token><access_token>a</access_token><token_type>bearer</token_type>\
                 <expires_in>3600</expires_in><refresh_token/><ok>true</ok><value>20.0</value></token>"
            )
        );
        // A body whose only field is a collection is wrapped too (it is several elements).
        assert_eq!(
            xml(r#"{"item": [1, 2]}"#, "list"),
            format!("{DECL}<list><item>1</item><item>2</item></list>")
        );
    }

    #[test]
    fn names_that_are_not_xml_names_become_entries() {
        assert_eq!(
            xml(r#"{"m": {"1st": "a", "x y": "b", "xmlns": "c"}}"#, "r"),
            format!(
                "{DECL}<m><entry key=\"1st\">a</entry><entry key=\"x y\">b</entry>\
                 <entry key=\"xmlns\">c</entry></m>"
            )
        );
    }

    #[test]
    fn reading_gives_the_json_the_xml_renders() {
        let body = br#"<?xml version="1.0"?>
            <!-- a comment -->
            <cart xmlns="http://example.com/ns">
              <lineItems>
                <lineItem><quantity>2</quantity><product id="5"/></lineItem>
              </lineItems>
              <note>Tom &amp; Jerry &#x263A; <![CDATA[<raw>]]></note>
              <empty/>
            </cart>"#;
        assert_eq!(
            to_json(body).unwrap(),
            json!({"cart": {
                "lineItems": {"lineItem": {"quantity": "2", "product": {"id": "5"}}},
                "note": "Tom & Jerry \u{263A} <raw>",
                "empty": "",
            }})
        );
        let two = b"<a><b>1</b><b>2</b><b>3</b></a>";
        assert_eq!(to_json(two).unwrap(), json!({"a": {"b": ["1", "2", "3"]}}));
    }

    #[test]
    fn dtds_unknown_entities_and_malformed_documents_are_refused() {
        let xxe = br#"<?xml version="1.0"?><!DOCTYPE cart [<!ENTITY x SYSTEM "file:///etc/passwd">]><cart>&x;</cart>"#;
        assert!(to_json(xxe).unwrap_err().0.contains("DTD"));
        assert!(to_json(b"<cart>&x;</cart>").unwrap_err().0.contains("&x;"));
        for bad in [
            &b"<a><b></a>"[..],
            b"<a>",
            b"",
            b"text",
            b"<a/><b/>",
            b"<a></a><b/>",
        ] {
            assert!(to_json(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(to_json(deep.as_bytes()).unwrap_err().0.contains("deeper"));
    }

    #[test]
    fn what_is_rendered_reads_back() {
        let body = json!({"cart": {"id": "c1", "lineItems": {"lineItem": [
            {"id": "1", "quantity": "2"}, {"id": "2", "quantity": "1"}
        ]}}});
        let rendered = from_json(body.to_string().as_bytes(), "x").unwrap();
        assert_eq!(to_json(&rendered).unwrap(), body);
    }
}
