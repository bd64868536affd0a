//! The store's one error type, and the one mapping from what either driver reports (sqlx's
//! errors on both engines, SQLite's own through the group writer) to what a request answers.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("database unavailable: {0}")]
    Unavailable(DatabaseError),
    #[error("database error: {0}")]
    Database(DatabaseError),
}

/// What the database driver said (sqlx's, or SQLite's own for the group writer).
pub type DatabaseError = Box<dyn std::error::Error + Send + Sync>;

pub type StoreResult<T> = Result<T, StoreError>;

/// What a failed statement means for the request, whichever driver ran it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The database is going away, busy, full or unreachable: may succeed if retried (503).
    Outage,
    /// A unique key is taken (409 or a rule's own answer).
    Conflict,
    /// Anything else (500).
    Other,
}

impl Fault {
    fn into_error(self, error: DatabaseError, message: impl FnOnce() -> String) -> StoreError {
        match self {
            Fault::Outage => StoreError::Unavailable(error),
            Fault::Conflict => StoreError::Conflict(message()),
            Fault::Other => StoreError::Database(error),
        }
    }
}

/// SQLite's result codes, by the extended code both drivers report.
fn sqlite_fault(extended_code: i32) -> Fault {
    use rusqlite::ErrorCode::*;
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    match rusqlite::ffi::Error::new(extended_code).code {
        DatabaseBusy | DatabaseLocked | CannotOpen | SystemIoFailure | DiskFull => Fault::Outage,
        ConstraintViolation
            if matches!(
                extended_code,
                SQLITE_CONSTRAINT_PRIMARYKEY | SQLITE_CONSTRAINT_UNIQUE
            ) =>
        {
            Fault::Conflict
        }
        _ => Fault::Other,
    }
}

/// PostgreSQL's SQLSTATEs: a taken key, or a server going away, starting up, full or too slow.
/// (Class 08: connection exception; 57P01-57P05: admin/crash shutdown, cannot connect now,
/// idle session timeout; 53300: too many connections; 57014: statement timeout/cancel.)
fn postgres_fault(sqlstate: &str) -> Fault {
    match sqlstate {
        "23505" => Fault::Conflict,
        "53300" | "57014" => Fault::Outage,
        code if code.starts_with("08") || code.starts_with("57P") => Fault::Outage,
        _ => Fault::Other,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let fault = match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => Fault::Outage,
            sqlx::Error::Database(db) => match db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                Some(_) => db
                    .code()
                    .and_then(|code| code.parse().ok())
                    .map_or(Fault::Other, sqlite_fault),
                None => db.code().map_or(Fault::Other, |code| postgres_fault(&code)),
            },
            _ => Fault::Other,
        };
        let message = match &e {
            sqlx::Error::Database(db) => db.message().to_owned(),
            other => other.to_string(),
        };
        fault.into_error(Box::new(e), || message)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        let fault = e
            .sqlite_error()
            .map_or(Fault::Other, |failure| sqlite_fault(failure.extended_code));
        let message = e.to_string();
        fault.into_error(Box::new(e), || message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_agree_on_what_a_fault_means() {
        use rusqlite::ffi;
        assert_eq!(sqlite_fault(ffi::SQLITE_BUSY), Fault::Outage);
        assert_eq!(sqlite_fault(ffi::SQLITE_IOERR_FSYNC), Fault::Outage);
        assert_eq!(sqlite_fault(ffi::SQLITE_CONSTRAINT_UNIQUE), Fault::Conflict);
        assert_eq!(
            sqlite_fault(ffi::SQLITE_CONSTRAINT_PRIMARYKEY),
            Fault::Conflict
        );
        assert_eq!(sqlite_fault(ffi::SQLITE_CONSTRAINT_CHECK), Fault::Other);
        assert_eq!(postgres_fault("23505"), Fault::Conflict);
        assert_eq!(postgres_fault("08006"), Fault::Outage);
        assert_eq!(postgres_fault("57P01"), Fault::Outage);
        assert_eq!(postgres_fault("23514"), Fault::Other);
    }
}
