//! Chapter 7: A client in Rust.
//!
//! So far the clients were a browser page and the tests' own client. Now write one: a command-line chat
//! client that speaks chapter 6's protocol with [rust_socketio](https://docs.rs/rust_socketio), the same way the
//! page does.
//!
//! ```text
//! $ ex07-rust-client --name alice --url http://127.0.0.1:3000
//! connected to http://127.0.0.1:3000 as alice
//! * bob joined
//! hello bob                                  <- typed by alice
//! alice: hello bob
//! bob: hi alice!
//! ```
//!
//! 1. [`parse_args`]: `--name NAME` (required) and `--url URL` (default [`DEFAULT_URL`]); `main` prints the
//!    usage and exits with 2 when they are wrong (given);
//! 2. [`connect`]: connect with the name as the handshake's auth, print every event the server sends (as
//!    [`format_event`] formats it), and return only once the server has accepted the socket;
//! 3. [`reason`]: what went wrong, in words a user can act on, when the server is not there;
//! 4. [`send_line`]: emit one line as `chat message` `{"text": LINE}` and wait for its acknowledgement;
//! 5. [`run`]: the program: connect (or say why not, exit 1), print `connected to URL as NAME`, send each
//!    line of the standard input (blank lines skipped; a refusal printed as `! rejected: REASON`), and at the
//!    end of the input disconnect and exit 0.
//!
//! `cargo test -p ex07-rust-client` checks all of it by running your program, as a user would, against a
//! finished chat server; `book/src/07-rust-client.md` explains it. To try it by hand, start chapter 6's server
//! (`cargo run -p ex06-broadcasting`, once its tests pass) and run
//! `cargo run -p ex07-rust-client -- --name alice` in two terminals, with two names.

use std::error::Error;
use std::process::ExitCode;

use rust_socketio::asynchronous::Client;
use serde_json::Value;
use tokio::sync::mpsc;

// Given, in `src/protocol.rs`: the settings (`Args`, the constants, `usage`), the acknowledgement `Ack`,
// `stdin_lines`, and the helpers `first_argument`, `ack_argument` and `printable`. Yours: the code below.
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> ExitCode {
    program().await
}

// ANCHOR: parse_args
/// Reads the arguments (without the program's name): `--name NAME` and `--url URL`, each also as
/// `--name=NAME`, in any order; the name is trimmed, as the server trims it. `Ok(None)` means `-h` or
/// `--help`. An error is one sentence for the user: a missing or blank `--name`, a flag without its value, an
/// argument nobody expects.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    // TODO: loop over the arguments; fill `name` and `url` (default DEFAULT_URL); refuse anything else.
    let _ = args.into_iter();
    todo!("chapter 7, section \"A client is a program too\": read --name and --url")
}
// ANCHOR_END: parse_args

// ANCHOR: format_event
/// One line of output for an event from the server, or `None` for events the client does not show:
/// `NAME: TEXT` for `chat message`, `* NAME joined` for `user joined`, `* NAME left` for `user left`.
/// Names and texts come from other people: pass them through [`printable`].
#[allow(dead_code, reason = "unused until `connect` prints with it")]
fn format_event(event: &str, data: &Value) -> Option<String> {
    // TODO: `data.get("name")?.as_str()?` reads a field or gives up; match on the event's name.
    let _ = (event, data);
    todo!("chapter 7, section \"Printing events\": format chat messages, joins and leaves")
}
// ANCHOR_END: format_event

// ANCHOR: reason
/// The most useful description of `error` for the person at the keyboard.
///
/// rust_socketio's errors wrap other errors (`source()`), several deep: a refused connection displays as
/// just "EngineIO Error". What actually happened is at the bottom of the chain.
#[allow(dead_code, reason = "unused until `run` explains a failed connection with it")]
fn reason(error: &(dyn Error + 'static)) -> String {
    // TODO: follow `source()` until there is none, and display that last error.
    let _ = error;
    todo!("chapter 7, section \"When the server is not there\": find the innermost error")
}
// ANCHOR_END: reason

// ANCHOR: connect
/// Connects to `args.url` as `args.name`, and returns once the server has accepted the socket into the
/// namespace `/`; from then on, every event the server sends is printed with [`format_event`].
///
/// `Err` is the reason, for `error: cannot connect to URL: REASON` (see [`reason`]). Connecting takes at
/// most [`CONNECT_TIMEOUT`] for each of its two steps.
#[allow(dead_code, reason = "unused until `run` calls it")]
async fn connect(args: &Args) -> Result<Client, String> {
    // TODO: a `ClientBuilder` with `.auth(json!({"name": ...}))`, `.reconnect(false)`, a callback for
    // `Event::Connect` that tells this function (a channel) that the server said yes, one for `Event::Error`,
    // and `.on_any(...)` that prints events. Callbacks return a `BoxFuture`: `async {}.boxed()`
    // (`futures_util::FutureExt`). Then `connect()`, then wait for the `Connect` callback, each with a timeout.
    let _ = args;
    todo!("chapter 7, section \"Connecting\": connect and wait until the server accepts the socket")
}
// ANCHOR_END: connect

// ANCHOR: send_line
/// Emits `line` as `chat message` `{"text": line}` and returns the server's acknowledgement.
///
/// `Err` if it cannot be sent, or if no acknowledgement comes within [`ACK_TIMEOUT`].
#[allow(dead_code, reason = "unused until `run` calls it")]
async fn send_line(client: &Client, line: &str) -> Result<Ack, String> {
    // TODO: `client.emit_with_ack(...)` with a callback that passes the acknowledgement (`ack_argument`) to
    // this function through a `tokio::sync::oneshot` channel; then wait for it, with a timeout of your own,
    // and read it as an `Ack` (`serde_json::from_value`).
    let _ = (client, line);
    todo!("chapter 7, section \"Sending lines\": emit a line and wait for its acknowledgement")
}
// ANCHOR_END: send_line

// ANCHOR: run
/// The whole program, once the arguments are read. Its exit code: 0 when the input ended and every line was
/// answered, 1 when it could not connect (`error: cannot connect to URL: REASON` on the standard error) or
/// lost the server on the way.
async fn run(args: Args, lines: mpsc::Receiver<String>) -> ExitCode {
    // TODO: connect; print `connected to URL as NAME`; for each non-blank line, `send_line` and print
    // `! rejected: REASON` if the server refused it; at the end, disconnect and return ExitCode::SUCCESS.
    let _ = (args, lines);
    todo!("chapter 7, section \"A client is a program too\": connect, send every line, exit cleanly")
}
// ANCHOR_END: run
