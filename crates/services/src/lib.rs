//! The services a request calls once the HTTP layer has parsed it: the token service
//! (`oauth`), credential checks (`auth`), the brute-force and rate defences (`guard`),
//! provisioning (`provision`), the job runner (`jobs`) and the clean-up it runs
//! (`housekeeping`), and the metrics they record. No
//! HTTP framework here: handlers call these with parsed input and map the typed results.

pub mod admin_tasks;
pub mod auth;
pub mod checkout;
pub mod clock;
pub mod failpoint;
pub mod guard;
pub mod housekeeping;
pub mod instruments;
pub mod invoices;
pub mod jobs;
pub mod oauth;
pub mod offers;
pub mod provision;
pub mod purchase_plan_admin;
pub mod purchase_plans;
pub mod settings;
pub mod staff;
pub mod state;
pub mod subscriptions;
