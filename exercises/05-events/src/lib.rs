//! Chapter 5: Emitting events.
//!
//! Chapter 4's server greets and echoes anything. Now give the chat its first real event, with rules:
//!
//! 1. a `chat message` carries a typed payload, [`ChatMessage`] (`{"text": "..."}`), checked by [`validate`];
//! 2. every `chat message` is acknowledged with an [`Ack`]: `{"ok": true}`, or `{"ok": false, "error": ...}`
//!    for a payload that is malformed ([`MALFORMED`]), empty ([`EMPTY`]) or too long ([`TOO_LONG`]); a bad
//!    payload never closes the connection;
//! 3. a valid message is emitted back to its sender as `chat message` `{"text": TEXT}` (trimmed), before the
//!    acknowledgement (chapter 6 sends it to everyone);
//! 4. a `ping` is acknowledged with `"pong"`, and does nothing else;
//! 5. an event nobody listens to harms nothing.
//!
//! `cargo test -p ex05-events` checks all of it; `book/src/05-events.md` explains it.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, TryData};

/// The page: a form that emits `chat message` with an acknowledgement, and a list of received messages.
pub const CHAT_PAGE: &str = include_str!("../static/index.html");

// ANCHOR: types
/// The longest message accepted, in characters (not bytes: "é" is one character, two bytes).
pub const MAX_TEXT_CHARS: usize = 500;

/// Why a message was refused, as the acknowledgement says it.
pub const EMPTY: &str = "the message is empty";
pub const TOO_LONG: &str = "the message is longer than 500 characters";
pub const MALFORMED: &str = "expected {\"text\": \"...\"}";

/// The payload of a `chat message` event: `{"text": "..."}`.
#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub text: String,
}

/// The acknowledgement of a `chat message`: `{"ok": true}` or `{"ok": false, "error": "..."}`.
#[derive(Debug, Serialize, PartialEq)]
pub struct Ack {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Ack {
    pub fn ok() -> Ack {
        Ack { ok: true, error: None }
    }

    pub fn error(reason: &str) -> Ack {
        Ack { ok: false, error: Some(reason.to_owned()) }
    }
}
// ANCHOR_END: types

/// Chapter 4's app; `on_connect` now registers this chapter's listeners.
pub fn app() -> Router {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect);
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
        .route("/socket.io/socket.io.js", get(runner::socket_io_client))
}

// ANCHOR: validate
/// The text to send on, trimmed; or why the message is refused.
pub fn validate(message: ChatMessage) -> Result<String, &'static str> {
    // TODO: trim the text; refuse it if empty (EMPTY) or longer than MAX_TEXT_CHARS characters (TOO_LONG).
    let _ = message;
    todo!("chapter 5, section \"Typed payloads\": validate a message")
}
// ANCHOR_END: validate

// ANCHOR: on_connect
async fn on_connect(socket: SocketRef) {
    // TODO: register `on_chat_message` for "chat message" and `on_ping` for "ping".
    let _ = socket;
    todo!("chapter 5, section \"Listening for an event\": register the listeners")
}
// ANCHOR_END: on_connect

// ANCHOR: listeners
/// `chat message`: validate, send the text back to the sender, acknowledge.
#[allow(dead_code, reason = "unused until `on_connect` registers it")]
async fn on_chat_message(socket: SocketRef, TryData(message): TryData<ChatMessage>, ack: AckSender) {
    // TODO: a payload that did not parse gets Ack::error(MALFORMED); one that `validate` refuses gets
    // Ack::error(reason); a valid one is emitted back as `chat message` {"text": TEXT}, then Ack::ok().
    let _ = (socket, message, ack);
    todo!("chapter 5, section \"Acknowledgements\": answer a chat message")
}

/// `ping`: acknowledge with "pong".
#[allow(dead_code, reason = "unused until `on_connect` registers it")]
async fn on_ping(ack: AckSender) {
    // TODO: acknowledge with the string "pong".
    let _ = ack;
    todo!("chapter 5, section \"Acknowledgements\": answer a ping")
}
// ANCHOR_END: listeners
