//! Shopkeeper: a self-hosted re-implementation of the Global Commerce Shopper API's OAuth 2.0
//! token service and the Shopper API resources its tokens guard.
//!
//! This package is the server around the layers (see ARCHITECTURE.md): its settings, start-up
//! and logging, and the CLI (`main.rs`). The layers are crates of the workspace, re-exported
//! here under the names the CLI, the bench and the black-box tests use.

pub use shopkeeper_domain as domain;
pub use shopkeeper_http as http;
pub use shopkeeper_services::{
    admin_tasks, auth, clock, failpoint, guard, housekeeping, instruments, invoices, jobs, oauth,
    offers, provision, purchase_plan_admin, staff, state,
};
pub use shopkeeper_store as store;

pub mod config;
pub mod config_file;
pub mod startup;
pub mod telemetry;
