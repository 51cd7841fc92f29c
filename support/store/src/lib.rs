//! The chat's durable log, from chapter 9 on: every message the server accepts, with its offset, in an SQLite
//! file.
//!
//! An *offset* is a message's place in the log: the first message ever stored has offset 1, the next 2, and
//! so on, and an offset is never handed out twice. A client that remembers the highest offset it has seen
//! can ask for everything after it ([`Store::after`]), which is how a reconnecting client catches up.
//!
//! SQLite calls block the thread that makes them, so every method here runs on tokio's blocking threads
//! (`spawn_blocking`), never on the workers that drive the sockets. One connection serves the whole server:
//! SQLite writes one transaction at a time anyway.
//!
//! Several servers may open the same file at once (chapter 11): SQLite's write lock then decides the order of
//! their messages, and each waits up to [`BUSY_TIMEOUT`] for the others.

mod errors;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

pub use errors::StoreError;

/// How long a write waits for another server's write to finish before it fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Marks a database file as this chat's (SQLite's `application_id`, the four bytes `kitc`), so that a file
/// of another program is refused instead of written into.
pub const APPLICATION_ID: i32 = 0x6B69_7463;

/// The version of [`SCHEMA`], in the file's `user_version`.
pub const SCHEMA_VERSION: i32 = 1;

// ANCHOR: schema
/// The log, one row per message.
///
/// `id` is the message's offset. `AUTOINCREMENT` is what makes an offset never come back: without it SQLite
/// may give a new row the id of the newest row once that row is deleted, and a client that had seen the old
/// message would skip the new one. `client_offset` is the sender's own number for the message (chapter 10):
/// a message sent twice with the same one is stored once.
pub const SCHEMA: &str = "
    CREATE TABLE messages (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        room          TEXT NOT NULL,
        name          TEXT NOT NULL,
        text          TEXT NOT NULL,
        client_offset TEXT,
        UNIQUE (name, client_offset)
    );
    CREATE INDEX messages_by_room ON messages (room, id);
";
// ANCHOR_END: schema

/// A message to append: where it goes, who sent it, and what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub room: &'a str,
    pub name: &'a str,
    pub text: &'a str,
    /// The sender's own number for this message (chapter 10), or `None`.
    pub client_offset: Option<&'a str>,
}

/// A message of the log, as it is read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stored {
    pub offset: u64,
    pub room: String,
    pub name: String,
    pub text: String,
}

/// What appending did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The message is new: it is stored at this offset.
    New(u64),
    /// Its sender had sent it before, with the same client offset: it is stored once, at this offset.
    Duplicate(u64),
}

impl Appended {
    /// The message's offset, whether it was new or not.
    pub fn offset(self) -> u64 {
        match self {
            Appended::New(offset) | Appended::Duplicate(offset) => offset,
        }
    }
}

/// The log. Cloning it is cheap: the clones share one connection.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    connection: Mutex<Connection>,
    /// The file, as errors name it.
    path: PathBuf,
}

impl Store {
    /// Opens the log in the SQLite file at `path`, creating it if it does not exist; `":memory:"` keeps the
    /// log in memory instead, for as long as the store lives.
    ///
    /// A file that is not an SQLite database, is corrupt, belongs to another program, or cannot be written is
    /// refused with an error that says which and what to do.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        let opened = if path == Path::new(":memory:") { Connection::open_in_memory() } else { Connection::open(&path) };
        let mut connection = opened.map_err(|error| StoreError::opening(&path, &error))?;
        prepare(&mut connection).map_err(|error| match error {
            Prepare::Sqlite(error) => StoreError::opening(&path, &error),
            Prepare::Refused(reason) => StoreError::refused(&path, reason),
        })?;
        Ok(Store { shared: Arc::new(Shared { connection: Mutex::new(connection), path }) })
    }

    /// A log in memory: for tests and for servers whose history need not outlive them.
    pub fn in_memory() -> Store {
        Store::open(":memory:").expect("an SQLite database in memory always opens")
    }

    /// The file this log is kept in (`:memory:` for one in memory).
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    // ANCHOR: append
    /// Appends a message and returns its offset, once it is safely on disk: a server that is killed right
    /// after still has it when it starts again.
    ///
    /// A message whose sender and client offset are already in the log is not stored again: the answer is
    /// [`Appended::Duplicate`] with the offset it got the first time. The same client offset with a different
    /// text is an error, since it cannot be the same message sent twice.
    pub async fn append(&self, entry: Entry<'_>) -> Result<Appended, StoreError> {
        let owned = (entry.room.to_owned(), entry.name.to_owned(), entry.text.to_owned());
        let client_offset = entry.client_offset.map(str::to_owned);
        self.blocking(move |connection| {
            let (room, name, text) = owned;
            // IMMEDIATE takes the write lock at once, so that no other server can store the same message
            // between the look for a duplicate and the insert. (The UNIQUE constraint would refuse it anyway.)
            let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let earlier: Option<(i64, String)> = match &client_offset {
                None => None,
                Some(client_offset) => transaction
                    .query_row(
                        "SELECT id, text FROM messages WHERE name = ?1 AND client_offset = ?2",
                        params![name, client_offset],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()?,
            };
            let appended = match earlier {
                Some((offset, first_text)) if first_text == text => Ok(Appended::Duplicate(offset_from_sql(offset))),
                Some(_) => Err(Refusal::ClientOffsetReused(client_offset.unwrap_or_default())),
                None => {
                    transaction.execute(
                        "INSERT INTO messages (room, name, text, client_offset) VALUES (?1, ?2, ?3, ?4)",
                        params![room, name, text, client_offset],
                    )?;
                    Ok(Appended::New(offset_from_sql(transaction.last_insert_rowid())))
                }
            };
            transaction.commit()?;
            Ok(appended)
        })
        .await?
        .map_err(StoreError::from)
    }
    // ANCHOR_END: append

    /// Appends many messages in one transaction, in order: for importing a history (and for tests that need a
    /// long one), where one write to the disk per message would take seconds. Client offsets are not checked
    /// for duplicates here: the UNIQUE constraint refuses the whole batch if one is repeated.
    pub async fn append_all(&self, entries: &[Entry<'_>]) -> Result<(), StoreError> {
        let owned: Vec<(String, String, String, Option<String>)> = entries
            .iter()
            .map(|entry| {
                let client_offset = entry.client_offset.map(str::to_owned);
                (entry.room.to_owned(), entry.name.to_owned(), entry.text.to_owned(), client_offset)
            })
            .collect();
        self.blocking(move |connection| {
            let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut insert = transaction
                    .prepare("INSERT INTO messages (room, name, text, client_offset) VALUES (?1, ?2, ?3, ?4)")?;
                for (room, name, text, client_offset) in &owned {
                    insert.execute(params![room, name, text, client_offset])?;
                }
            }
            transaction.commit()
        })
        .await
    }

    // ANCHOR: after
    /// The messages after `offset`, oldest first, at most `limit` of them. `after(0, ..)` starts at the very
    /// first message.
    pub async fn after(&self, offset: u64, limit: usize) -> Result<Vec<Stored>, StoreError> {
        self.blocking(move |connection| {
            let mut statement =
                connection.prepare("SELECT id, room, name, text FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2")?;
            let rows = statement.query_map(params![offset_to_sql(offset), limit_to_sql(limit)], read_stored)?;
            rows.collect()
        })
        .await
    }
    // ANCHOR_END: after

    /// The messages after `offset` in any of `rooms`, oldest first, at most `limit` of them.
    pub async fn after_in(&self, offset: u64, rooms: &[String], limit: usize) -> Result<Vec<Stored>, StoreError> {
        let rooms = rooms.to_vec();
        self.blocking(move |connection| {
            if rooms.is_empty() {
                return Ok(Vec::new());
            }
            let placeholders = vec!["?"; rooms.len()].join(", ");
            let mut statement = connection.prepare(&format!(
                "SELECT id, room, name, text FROM messages WHERE id > ? AND room IN ({placeholders}) \
                 ORDER BY id LIMIT ?"
            ))?;
            let mut values: Vec<rusqlite::types::Value> = vec![offset_to_sql(offset).into()];
            values.extend(rooms.into_iter().map(rusqlite::types::Value::from));
            values.push(limit_to_sql(limit).into());
            let rows = statement.query_map(rusqlite::params_from_iter(values), read_stored)?;
            rows.collect()
        })
        .await
    }

    /// The newest offset the log has ever handed out (0 if none): no client can have seen a higher one.
    pub async fn last_offset(&self) -> Result<u64, StoreError> {
        self.blocking(|connection| {
            let last: Option<i64> = connection
                .query_row("SELECT seq FROM sqlite_sequence WHERE name = 'messages'", [], |row| row.get(0))
                .optional()?;
            Ok(last.map(offset_from_sql).unwrap_or(0))
        })
        .await
    }

    /// Runs `work` with the connection on one of tokio's blocking threads.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let shared = Arc::clone(&self.shared);
        let outcome = tokio::task::spawn_blocking(move || work(&mut shared.lock()))
            .await
            .map_err(|_| StoreError::crashed(&self.shared.path))?;
        outcome.map_err(|error| StoreError::using(&self.shared.path, &error))
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the connection was held left no transaction open (it rolls back when dropped).
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why a message was not appended although the store works.
#[derive(Debug)]
enum Refusal {
    ClientOffsetReused(String),
}

impl From<Refusal> for StoreError {
    fn from(refusal: Refusal) -> StoreError {
        match refusal {
            Refusal::ClientOffsetReused(client_offset) => StoreError::client_offset_reused(&client_offset),
        }
    }
}

/// Why a database could not be prepared for use.
enum Prepare {
    Sqlite(rusqlite::Error),
    Refused(String),
}

impl From<rusqlite::Error> for Prepare {
    fn from(error: rusqlite::Error) -> Prepare {
        Prepare::Sqlite(error)
    }
}

// ANCHOR: prepare
/// Checks that the file is this chat's log, intact, and creates the log in a new (empty) file.
fn prepare(connection: &mut Connection) -> Result<(), Prepare> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // The first read of the file: "file is not a database" shows here.
    let application_id: i32 = connection.query_row("PRAGMA application_id", [], |row| row.get(0))?;
    // Write-ahead logging: readers never wait for the writer, and several servers can share the file.
    // In memory it stays "memory", which is fine.
    let _mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    // FULL: every commit reaches the disk before `append` returns, so an acknowledged message survives even a
    // power cut. (NORMAL, the usual choice with WAL, survives a crash of the server but may lose the last
    // commits if the whole machine goes down.)
    connection.execute_batch("PRAGMA synchronous = FULL")?;

    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let tables: i64 = transaction.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
    let version: i32 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if application_id == 0 && tables == 0 {
        transaction.execute_batch(SCHEMA)?;
        transaction.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
        ))?;
    } else if application_id != APPLICATION_ID {
        return Err(Prepare::Refused(
            "it is an SQLite database, but not this chat's (another program's tables are in it)".into(),
        ));
    } else if version != SCHEMA_VERSION {
        return Err(Prepare::Refused(format!(
            "it is this chat's, but from another version of the kit (schema {version}; this one reads \
             {SCHEMA_VERSION})"
        )));
    }
    transaction.commit()?;

    // Every page of the file, read back and checked: a corrupt file is refused now, not at the first message.
    let verdict: String = connection.query_row("PRAGMA quick_check(1)", [], |row| row.get(0))?;
    if verdict != "ok" {
        return Err(Prepare::Refused(format!("it is damaged (SQLite's quick_check says: {verdict})")));
    }
    Ok(())
}
// ANCHOR_END: prepare

fn read_stored(row: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored { offset: offset_from_sql(row.get(0)?), room: row.get(1)?, name: row.get(2)?, text: row.get(3)? })
}

/// SQLite's integers are signed; offsets start at 1 and only grow.
fn offset_from_sql(offset: i64) -> u64 {
    u64::try_from(offset).unwrap_or(0)
}

fn offset_to_sql(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

fn limit_to_sql(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
