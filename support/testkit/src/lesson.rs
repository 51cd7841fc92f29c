//! Failure messages that teach: what was expected, and where the book explains it.

use std::fmt;
use std::future::Future;
use std::time::Duration;

/// How long a test waits for anything that should happen "right away" on a loopback connection.
///
/// Generous, because a loaded CI machine is slow; a correct solution answers in milliseconds, and a starter
/// fails long before this (its handlers panic, which closes the connection at once).
pub const WAIT: Duration = Duration::from_secs(5);

/// A chapter of the book, as named in failure messages.
#[derive(Debug, Clone, Copy)]
pub struct Chapter {
    pub number: u8,
    pub title: &'static str,
    /// The page's path in the repository, e.g. `book/src/01-clients-servers.md`.
    pub page: &'static str,
}

impl Chapter {
    pub const fn section(self, heading: &'static str) -> Section {
        Section { chapter: self, heading }
    }
}

/// One section of a chapter: where a student should read when a test fails.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    pub chapter: Chapter,
    pub heading: &'static str,
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Chapter { number, title, page } = self.chapter;
        write!(f, "chapter {number} \"{title}\", section \"{}\" ({page})", self.heading)
    }
}

/// Awaits `future` for at most `limit`; on a timeout, fails the test saying what was awaited and where to read.
#[track_caller]
pub fn within<F: Future>(
    limit: Duration,
    what: &str,
    section: Section,
    future: F,
) -> impl Future<Output = F::Output> + use<F> {
    let caller = std::panic::Location::caller();
    let what = what.to_owned();
    async move {
        match tokio::time::timeout(limit, future).await {
            Ok(output) => output,
            Err(_) => panic!(
                "timed out after {limit:?} waiting for {what}.\n\
                 Nothing arrived: is the handler missing, stuck, or waiting for something that never comes?\n\
                 Read: {section}\n(waited at {caller})"
            ),
        }
    }
}
