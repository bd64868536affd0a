//! `GET carts/active/tax-registrations/schema`: the draft-04 JSON Schema of the country that
//! applies, in the docs' shape (`managing-tax-identifiers.md`); its parts are built by
//! `domain::tax_registrations::schema`.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TaxRegistrationsSchema {
    /// `http://json-schema.org/draft-04/schema#`.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// The schema's own address.
    pub id: String,
    /// `Individual` (`customerType` `I`) and `Business` (`B`), each with its registrations.
    #[serde(rename = "oneOf")]
    #[schema(value_type = Vec<Object>)]
    pub one_of: Vec<Value>,
    /// Each registration kind by its key: the `key` enum and the `value` pattern.
    #[schema(value_type = Object)]
    pub definitions: Value,
    /// Always `false`: Shopkeeper is test mode only.
    #[serde(rename = "liveMode")]
    pub live_mode: bool,
}

impl TaxRegistrationsSchema {
    pub fn new(mut built: Value) -> Self {
        let mut take = |k: &str| built.get_mut(k).map(Value::take).unwrap_or(Value::Null);
        let schema = take("$schema").as_str().unwrap_or_default().to_owned();
        let id = take("id").as_str().unwrap_or_default().to_owned();
        let one_of = match take("oneOf") {
            Value::Array(a) => a,
            _ => Vec::new(),
        };
        let definitions = take("definitions");
        TaxRegistrationsSchema {
            schema,
            id,
            one_of,
            definitions,
            live_mode: false,
        }
    }
}
