//! Shopkeeper: a self-hosted re-implementation of the Global Commerce Shopper API's OAuth 2.0
//! token service and the Shopper API resources its tokens guard.
//!
//! The crate is split the way a request flows: `http` parses and answers, `auth` verifies
//! credentials (client secrets, passwords, bearer tokens), `domain` holds the pure rules and
//! types, `store` is the only module that talks to the database.

pub mod auth;
pub mod config;
pub mod config_file;
pub mod domain;
pub mod guard;
pub mod housekeeping;
pub mod http;
pub mod instruments;
pub mod oauth;
pub mod provision;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
