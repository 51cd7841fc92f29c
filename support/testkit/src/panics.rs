//! A failing test's message, readable whatever the student's shell says.
//!
//! With `RUST_BACKTRACE=1` set (many tutorials suggest it), Rust's default panic report adds some sixty lines
//! of tokio and test-harness frames under every failure, which bury the one thing the kit wrote for the
//! student: what was expected, what arrived, which section to read. The kit's tests therefore report a panic
//! as its thread, place and message only. A backtrace is for whoever debugs the kit itself: `KIT_BACKTRACE=1`.

use std::any::Any;
use std::backtrace::Backtrace;
use std::sync::Once;

/// Installs the kit's panic report for this test process; any later call does nothing.
pub(crate) fn report_panics_briefly() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let backtrace_wanted = std::env::var_os("KIT_BACKTRACE").is_some_and(|value| value != "0");
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("<unnamed>");
            let place = info.location().map(|at| format!(" at {at}")).unwrap_or_default();
            let message = message_of(info.payload());
            if backtrace_wanted {
                eprintln!("\nthread '{name}' panicked{place}:\n{message}\n{}", Backtrace::force_capture());
            } else {
                eprintln!("\nthread '{name}' panicked{place}:\n{message}");
            }
        }));
    });
}

/// What `panic!`, `assert!` and `todo!` carry: a `&str` or a `String`.
fn message_of(payload: &(dyn Any + Send)) -> &str {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(text), _) => text,
        (None, Some(text)) => text,
        (None, None) => "(a panic without a message)",
    }
}
