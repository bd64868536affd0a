//! Failpoints: named places where a test can make the process abort (as a SIGKILL would end
//! it: no clean-up, no commit), to check that work interrupted there is redone after a
//! restart. Inert unless `SHOPKEEPER_FAILPOINT` names the point; then one comparison each.

use std::sync::OnceLock;

/// The environment variable that arms a failpoint (tests only).
pub const FAILPOINT_VAR: &str = "SHOPKEEPER_FAILPOINT";

/// Aborts the process when `SHOPKEEPER_FAILPOINT` names this point. Names:
/// `job:<kind>:after_claim`, `job:<kind>:mid_step` (inside a handler between two of its
/// steps; for `admin.task`, between the task's `PROCESSING` and its work),
/// `job:<kind>:before_complete`.
pub fn failpoint(name: &str) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var(FAILPOINT_VAR).ok().filter(|v| !v.is_empty()));
    if armed.as_deref() == Some(name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
