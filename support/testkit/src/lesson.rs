//! Failure messages that teach: what was expected, and where the book explains it.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Once};
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
/// If the server under test panics meanwhile (a `todo!()` in a handler, say), the wait ends at once with the
/// server's panic message, instead of running into the timeout: the student sees the cause straight away.
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
        let notify = SERVER_PANICKED.with(Arc::clone);
        let panicked = notify.notified();
        tokio::pin!(panicked);
        // Registered before the check below, so a panic between the two cannot be missed.
        panicked.as_mut().enable();
        if let Some(message) = server_panic() {
            fail_on_server_panic(&what, &message, section);
        }
        tokio::select! {
            biased;
            output = future => output,
            _ = &mut panicked => {
                let message = server_panic().unwrap_or_default();
                fail_on_server_panic(&what, &message, section)
            }
            _ = tokio::time::sleep(limit) => panic!(
                "timed out after {limit:?} waiting for {what}.\n\
                 Nothing arrived: is the handler missing, stuck, or waiting for something that never comes?\n\
                 Read: {section}\n(waited at {caller})"
            ),
        }
    }
}

fn fail_on_server_panic(what: &str, message: &str, section: Section) -> ! {
    panic!("the server panicked while the test waited for {what}:\n    {message}\nRead: {section}")
}

thread_local! {
    /// The first panic on this thread since the test began, as "message (location)".
    static SERVER_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Wakes a waiting [`within`] when that panic happens.
    static SERVER_PANICKED: Arc<Notify> = Arc::new(Notify::new());
}

fn server_panic() -> Option<String> {
    SERVER_PANIC.with(|slot| slot.borrow().clone())
}

/// Notices panics in the server's tasks, so that [`within`] can report them.
///
/// Each `#[tokio::test]` runs on its own thread with a single-threaded runtime, so the server's tasks panic on
/// the same thread as the test that waits for them: recording panics per thread keeps parallel tests apart.
/// The panic is still printed as usual.
pub(crate) fn watch_for_server_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let print = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic without a message)".into());
            let location = info.location().map(|location| format!(" ({location})")).unwrap_or_default();
            SERVER_PANIC.with(|slot| {
                slot.borrow_mut().get_or_insert(format!("{message}{location}"));
            });
            SERVER_PANICKED.with(|notify| notify.notify_waiters());
            print(info);
        }));
    });
    // A new test on a reused thread starts with a clean slate.
    SERVER_PANIC.with(|slot| slot.borrow_mut().take());
}
