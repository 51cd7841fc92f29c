//! What can go wrong with the log, said so that whoever reads it knows what to do.

use std::fmt;
use std::path::Path;

use rusqlite::ErrorCode;

/// Why the log could not be opened, or could not do what was asked. Its text is a whole sentence, for the
/// server's error output or a client's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    message: String,
}

impl StoreError {
    /// SQLite could not open or read `path` at start.
    pub(crate) fn opening(path: &Path, error: &rusqlite::Error) -> StoreError {
        let path = path.display();
        let says = sqlite_says(error);
        let message = match code(error) {
            Some(ErrorCode::NotADatabase) => format!(
                "{path} is not an SQLite database: it may be corrupt, or some other kind of file ({says}). \
                 Move it away, or choose another file with --db"
            ),
            Some(ErrorCode::DatabaseCorrupt) => {
                format!("{path} is corrupt ({says}). Move it away, or choose another file with --db")
            }
            Some(ErrorCode::CannotOpen) => format!(
                "cannot open {path} ({says}): check that its folder exists, that it is not a folder itself, and \
                 that this program may write there"
            ),
            Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => format!(
                "{path} cannot be written ({says}): the chat must be able to store every message it accepts. \
                 Make it writable, or choose another file with --db"
            ),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => format!(
                "{path} stayed locked by another program for too long ({says}): is another server in the \
                 middle of something?"
            ),
            _ => format!("cannot use {path} as the chat's database ({says})"),
        };
        StoreError { message }
    }

    /// The file opened, but it is not a log this kit can use.
    pub(crate) fn refused(path: &Path, reason: String) -> StoreError {
        StoreError {
            message: format!(
                "{} cannot be the chat's database: {reason}. Move it away, or choose another file with --db",
                path.display()
            ),
        }
    }

    /// A read or a write failed while the server was running.
    pub(crate) fn using(path: &Path, error: &rusqlite::Error) -> StoreError {
        let says = sqlite_says(error);
        let message = match code(error) {
            Some(ErrorCode::DiskFull) => format!("the disk that holds {} is full ({says})", path.display()),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                format!("{} stayed locked by another server for too long ({says})", path.display())
            }
            _ => format!("the database {} failed ({says})", path.display()),
        };
        StoreError { message }
    }

    /// The thread that ran an SQLite call panicked.
    pub(crate) fn crashed(path: &Path) -> StoreError {
        StoreError { message: format!("a call to the database {} panicked", path.display()) }
    }

    pub(crate) fn client_offset_reused(client_offset: &str) -> StoreError {
        StoreError {
            message: format!(
                "the client offset {client_offset:?} was sent before with another text: a client offset names one \
                 message"
            ),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

fn code(error: &rusqlite::Error) -> Option<ErrorCode> {
    error.sqlite_error_code()
}

/// SQLite's own words, for whoever wants to look them up.
fn sqlite_says(error: &rusqlite::Error) -> String {
    format!("SQLite says: {error}")
}
