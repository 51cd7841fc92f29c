//! Given: the wire protocol of this chapter, and the program's plumbing (settings, usage, standard input). You
//! do not need to change this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use std::process::ExitCode;
use std::time::Duration;

use rust_socketio::Payload;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

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

/// The whole program, as `main` runs it: read the arguments (your `parse_args`), then either print the usage
/// or run the chat (your `run`) on the lines of the standard input. Wrong arguments are a one-line error with
/// the usage after it, and exit code 2, the usual code for "you called me wrong".
pub async fn program() -> ExitCode {
    let program = env!("CARGO_BIN_NAME");
    match crate::parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => crate::run(args, stdin_lines()).await,
        Ok(None) => {
            println!("{}", usage(program));
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}\n{}", usage(program));
            ExitCode::from(2)
        }
    }
}
