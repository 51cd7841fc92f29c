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
//! (`cargo run -p ex06-broadcasting`, or the reference `sol06-broadcasting`) and run
//! `cargo run -p ex07-rust-client -- --name alice` in two terminals, with two names.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use rust_socketio::Payload;
use rust_socketio::asynchronous::Client;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

// ---- Given ------------------------------------------------------------------------------------------------------

// ANCHOR: args
/// Where the client connects without `--url`: a chat server run by hand, as the earlier chapters do.
pub const DEFAULT_URL: &str = "http://127.0.0.1:3000";

/// How long connecting may take, all steps together, before the client gives up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the client waits for the acknowledgement of a message.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The name the others see, sent in the handshake's auth as `{"name": NAME}`.
    pub name: String,
    /// The chat server, as `http://HOST:PORT`.
    pub url: String,
}

/// The usage line, printed with an error (exit 2) or on `--help` (exit 0).
pub fn usage(program: &str) -> String {
    format!("usage: {program} --name NAME [--url URL]   (default URL {DEFAULT_URL})")
}
// ANCHOR_END: args

// ANCHOR: ack
/// The server's acknowledgement of a `chat message`: `{"ok": true}` or `{"ok": false, "error": "..."}`.
#[derive(Debug, Deserialize, PartialEq)]
pub struct Ack {
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
}
// ANCHOR_END: ack

/// The lines of the standard input, as they are typed (or piped in); the channel closes at the end of input.
///
/// Reading the terminal blocks, so a plain thread does it and hands each line over; tokio's own `stdin` works
/// the same way inside. The channel is bounded: if the network is slower than the input, reading waits.
pub fn stdin_lines() -> mpsc::Receiver<String> {
    let (lines, received) = mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            match line {
                Ok(line) => {
                    if lines.blocking_send(line).is_err() {
                        break;
                    }
                }
                Err(error) => {
                    eprintln!("error: cannot read the standard input: {error}");
                    break;
                }
            }
        }
    });
    received
}

// ANCHOR: helpers
/// The first argument of an event or acknowledgement (what a JavaScript `emit(event, data)` sends), or `null`.
pub fn first_argument(payload: Payload) -> Value {
    match payload {
        Payload::Text(mut values) if !values.is_empty() => values.swap_remove(0),
        Payload::Text(_) => Value::Null,
        #[allow(deprecated)]
        Payload::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        Payload::Binary(bytes) => Value::Array(bytes.iter().map(|byte| Value::from(*byte)).collect()),
    }
}

/// The first argument of an acknowledgement. rust_socketio hands an acknowledgement's whole argument list
/// over as one JSON array (`[{"ok": true}]`), unlike an event's, so this unwraps it.
pub fn ack_argument(payload: Payload) -> Value {
    match first_argument(payload) {
        Value::Array(mut arguments) if !arguments.is_empty() => arguments.swap_remove(0),
        Value::Array(_) => Value::Null,
        other => other,
    }
}

/// `text` with its control characters written out (`\n`, `\u{1b}`), so that what others send stays on one
/// line and cannot drive the terminal: the terminal's version of the page's `textContent`.
pub fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}
// ANCHOR_END: helpers

// ---- Yours ------------------------------------------------------------------------------------------------------

// ANCHOR: parse_args
/// Reads the arguments (without the program's name): `--name NAME` and `--url URL`, each also as
/// `--name=NAME`, in any order; the name is trimmed, as the server trims it. `Ok(None)` means `-h` or
/// `--help`. An error is one sentence for the user: a missing or blank `--name`, a flag without its value, an
/// argument nobody expects.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    // TODO: loop over the arguments; fill `name` and `url` (default DEFAULT_URL); refuse anything else.
    let _ = args.into_iter();
    todo!("chapter 7, section \"A client is a program too\": read --name and --url")
}
// ANCHOR_END: parse_args

// ANCHOR: format_event
/// One line of output for an event from the server, or `None` for events the client does not show:
/// `NAME: TEXT` for `chat message`, `* NAME joined` for `user joined`, `* NAME left` for `user left`.
/// Names and texts come from other people: pass them through [`printable`].
pub fn format_event(event: &str, data: &Value) -> Option<String> {
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
pub fn reason(error: &(dyn Error + 'static)) -> String {
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
pub async fn connect(args: &Args) -> Result<Client, String> {
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
pub async fn send_line(client: &Client, line: &str) -> Result<Ack, String> {
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
pub async fn run(args: Args, lines: mpsc::Receiver<String>) -> ExitCode {
    // TODO: connect; print `connected to URL as NAME`; for each non-blank line, `send_line` and print
    // `! rejected: REASON` if the server refused it; at the end, disconnect and return ExitCode::SUCCESS.
    let _ = (args, lines);
    todo!("chapter 7, section \"A client is a program too\": connect, send every line, exit cleanly")
}
// ANCHOR_END: run
