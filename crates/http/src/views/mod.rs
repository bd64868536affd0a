//! The documented response shapes as types: what the cart, order and address handlers render.
//! Field names and values are the wire format; the handlers fill them, serde writes them.

pub mod address;
pub mod cart;
pub mod money;
pub mod order;

use serde::Serialize;

/// `{"uri": ...}`: a link to a resource.
#[derive(Debug, Serialize)]
pub struct Link {
    pub uri: String,
}

/// `{}`: where the documented shape shows an empty object rather than null.
#[derive(Debug, Serialize)]
pub struct Empty {}
