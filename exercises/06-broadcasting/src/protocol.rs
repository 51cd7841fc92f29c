//! Given: the wire protocol of this chapter, the previous chapters' work, and the connect handler that calls
//! your code. You do not need to change this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use std::sync::Arc;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, TryData};

use crate::{announce_arrival, chat_message, when_leaving};

/// The chat page: it sends the name from its URL (`/?name=alice`) and shows who says what.
pub const CHAT_PAGE: &str = include_str!("../static/index.html");

/// The page's script, served at `/chat.js` (the page's security policy runs no inline script).
pub const CHAT_SCRIPT: &str = include_str!("../static/chat.js");

// ---- The previous chapters' work -----------------------------------------------------------------------------

/// The longest message, in characters (not bytes).
pub const MAX_TEXT_CHARS: usize = 500;

/// What a client emits as `chat message`.
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

/// The error for a message that is empty once trimmed.
pub const EMPTY: &str = "the message is empty";
/// The error for a message over [`MAX_TEXT_CHARS`].
pub const TOO_LONG: &str = "the message is longer than 500 characters";
/// The error for a payload that is not `{"text": "..."}`.
pub const MALFORMED: &str = "expected {\"text\": \"...\"}";

/// The message's text, trimmed, if it may be sent; otherwise the reason why not.
pub fn validate(message: ChatMessage) -> Result<String, &'static str> {
    let text = message.text.trim();
    if text.is_empty() {
        Err(EMPTY)
    } else if text.chars().count() > MAX_TEXT_CHARS {
        Err(TOO_LONG)
    } else {
        Ok(text.to_owned())
    }
}

/// Chapter 4's routes and layer; the namespace `/` is handled by [`on_connect`].
pub fn app() -> Router {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect);
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/chat.js", runner::script(CHAT_SCRIPT))
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
        .route("/socket.io/socket.io.js", get(runner::socket_io_client))
}

// ---- Names ---------------------------------------------------------------------------------------------------

// ANCHOR: names
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// The name of a client that gave none (or an unusable one).
pub const ANONYMOUS: &str = "anonymous";

/// The name a client gave in its handshake's auth, `{"name": "alice"}`: trimmed, 1 to [`MAX_NAME_CHARS`]
/// characters. Anything else (no auth, no name, a blank or over-long one, not a string) is [`ANONYMOUS`].
pub fn name_from(auth: Option<Value>) -> String {
    let name = auth.as_ref().and_then(|auth| auth.get("name")).and_then(Value::as_str).map(str::trim);
    match name {
        Some(name) if !name.is_empty() && name.chars().count() <= MAX_NAME_CHARS => name.to_owned(),
        _ => ANONYMOUS.to_owned(),
    }
}

/// What everyone receives as `chat message`: who said what.
#[derive(Debug, Serialize)]
pub struct Post<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// What `user joined` and `user left` carry: who.
#[derive(Debug, Serialize)]
pub struct Member<'a> {
    pub name: &'a str,
}
// ANCHOR_END: names

// ANCHOR: on_connect
/// Runs once for every socket that connects to `/`. Given: it wires up the three functions you write, in `lib.rs`.
async fn on_connect(socket: SocketRef, TryData(auth): TryData<Value>) {
    // The name is fixed for the socket's whole life; each handler keeps its own reference to it.
    let name: Arc<str> = name_from(auth.ok()).into();

    let sender = name.clone();
    socket.on("chat message", async move |io: SocketIo, TryData(message): TryData<ChatMessage>, ack: AckSender| {
        chat_message(&io, &sender, message, ack).await;
    });
    when_leaving(&socket, name.clone());
    announce_arrival(&socket, &name).await;
}
// ANCHOR_END: on_connect
