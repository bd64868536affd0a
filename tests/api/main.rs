//! Black-box tests: each spawns Shopkeeper on a random loopback port with its own SQLite file
//! and talks to it over real HTTP.

mod helpers;
mod log_secrets;
mod openapi;
mod operations;
mod standards;
mod token;
