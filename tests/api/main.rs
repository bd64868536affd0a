//! Black-box tests: each spawns Shopkeeper on a random loopback port with its own database
//! and talks to it over real HTTP.

mod authorize;
mod browser;
mod catalog;
mod helpers;
mod policy;
mod security;
mod session_token;
mod sessions;
mod shoppers;
mod token;
