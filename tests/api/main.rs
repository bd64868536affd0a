//! Black-box tests: each spawns Shopkeeper on a random loopback port with its own database
//! (a SQLite file, or a fresh PostgreSQL database when SHOPKEEPER_TEST_POSTGRES_URL is set)
//! and talks to it over real HTTP.

mod authorize;
mod browser;
mod cart_offers;
mod catalog;
mod catalogue;
mod checkout;
mod checkout_security;
mod cli;
mod clock;
mod config_file;
mod cors;
mod crash;
mod cross_origin;
mod defenses;
mod docs_examples;
mod formats;
mod helpers;
mod hosted_pages;
mod import;
mod jobs;
mod log_secrets;
mod multinode;
mod observability;
mod offer_reads;
mod offers;
mod openapi;
mod operations;
mod outage;
mod outbox;
mod policy;
mod properties;
mod public_url;
mod readme_examples;
mod requests;
mod responses;
mod security;
mod session_token;
mod sessions;
mod shoppers;
mod standards;
mod start_page;
mod store_credit;
mod token;
mod usernames;
