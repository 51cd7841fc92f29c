//! Given: the wire protocol of this chapter, and the routes that lead to your code. You do not need to change
//! this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use socketioxide::SocketIo;

/// The page: a form that emits `chat message` with an acknowledgement, and a list of received messages.
pub const CHAT_PAGE: &str = include_str!("../static/index.html");

/// The page's script, served at `/chat.js` (the page's security policy runs no inline script).
pub const CHAT_SCRIPT: &str = include_str!("../static/chat.js");

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

/// Chapter 4's app; your `on_connect`, in `lib.rs`, now registers this chapter's listeners.
pub fn app() -> Router {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", crate::on_connect);
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/chat.js", runner::script(CHAT_SCRIPT))
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
        .route("/socket.io/socket.io.js", get(runner::socket_io_client))
}
