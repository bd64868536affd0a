//! The services a request calls once the HTTP layer has parsed it: the token service
//! (`oauth`), credential checks (`auth`), the brute-force and rate defences (`guard`),
//! provisioning (`provision`), the clean-up (`housekeeping`) and the metrics they record. No
//! HTTP framework here: handlers call these with parsed input and map the typed results.

pub mod auth;
pub mod checkout;
pub mod clock;
pub mod guard;
pub mod housekeeping;
pub mod instruments;
pub mod oauth;
pub mod provision;
pub mod settings;
pub mod state;
