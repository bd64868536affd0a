//! Black-box tests: each spawns Shopkeeper on a random loopback port with its own SQLite file
//! and talks to it over real HTTP.

mod authorize;
mod browser;
mod helpers;
mod security;
mod session_token;
mod sessions;
mod token;
