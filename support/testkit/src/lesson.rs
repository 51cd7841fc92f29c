//! Failure messages that teach: what was expected, and where the book explains it.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

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
///
/// If the program under test panics or exits meanwhile (a `todo!()` in a handler, say), the wait ends at once
/// with the program's own message, instead of running into the timeout: the student sees the cause straight
/// away.
#[track_caller]
pub fn within<F: Future>(
    limit: Duration,
    what: &str,
    section: Section,
    future: F,
) -> impl Future<Output = F::Output> + use<F> {
    crate::panics::report_panics_briefly();
    let caller = std::panic::Location::caller();
    let what = what.to_owned();
    async move {
        let notify = PROGRAM_TROUBLE_NOTICE.with(Arc::clone);
        let trouble = notify.notified();
        tokio::pin!(trouble);
        // Registered before the check below, so trouble between the two cannot be missed.
        trouble.as_mut().enable();
        if let Some(message) = program_trouble() {
            fail_on_program_trouble(&what, &message, section);
        }
        tokio::select! {
            biased;
            output = future => output,
            _ = &mut trouble => {
                let message = program_trouble().unwrap_or_default();
                fail_on_program_trouble(&what, &message, section)
            }
            _ = tokio::time::sleep(limit) => panic!(
                "timed out after {limit:?} waiting for {what}.\n\
                 The program neither did it nor failed meanwhile: is the handler missing, stuck, or waiting for \
                 something that never comes?\n\
                 Read: {section}\n(waited at {caller})"
            ),
        }
    }
}

fn fail_on_program_trouble(what: &str, message: &str, section: Section) -> ! {
    panic!("{message}\n    (the test was waiting for {what})\nRead: {section}")
}

thread_local! {
    /// The first panic or unexpected exit of a program under test, since the test began.
    static PROGRAM_TROUBLE: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Wakes a waiting [`within`] when it happens.
    static PROGRAM_TROUBLE_NOTICE: Arc<Notify> = Arc::new(Notify::new());
}

fn program_trouble() -> Option<String> {
    PROGRAM_TROUBLE.with(|slot| slot.borrow().clone())
}

/// Records that a program under test panicked or ended (`message` says which, and how), and wakes the waits.
///
/// Each `#[tokio::test]` runs on a thread of its own (libtest gives every test a new thread) with a
/// single-threaded runtime, and the tasks that watch a program's output run on that runtime: recording per
/// thread keeps parallel tests apart. The first trouble is the one kept; it is usually the cause.
pub(crate) fn program_failed(message: String) {
    PROGRAM_TROUBLE.with(|slot| {
        slot.borrow_mut().get_or_insert(message);
    });
    PROGRAM_TROUBLE_NOTICE.with(|notify| notify.notify_waiters());
}
