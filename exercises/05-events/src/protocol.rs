//! Given: the wire protocol of this chapter, and the routes that lead to your code. You do not need to change
//! this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use std::convert::Infallible;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SocketIo};

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

/// The payload of a `chat message` event: `{"text": "..."}`, a JSON object.
///
/// A derived `Deserialize` alone would also accept a JSON array, taking its elements as the fields in order
/// (`["hi"]` as `{"text": "hi"}`). The `flatten`ed field makes serde read the payload as an object only; it
/// takes any other fields of the object, and ignores them.
#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub text: String,
    #[serde(flatten)]
    pub other_fields: IgnoredAny,
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

// ANCHOR: limits
/// The longest WebSocket message (and frame) a client may send. The longest valid `chat message` is 500
/// characters that JSON may spell as `\u0000`, 6 bytes each: about 3 KiB with the event around it.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;

/// The longest long-polling request body, which may carry several packets. The handshake announces it as
/// `maxPayload`, and the official client batches its packets to fit; the server, too, batches packets into
/// a polling response up to this size (a single longer packet it still sends, alone).
pub const MAX_PAYLOAD_BYTES: u64 = 16 * 1024;
// ANCHOR_END: limits

/// Chapter 4's app, with your limits; your `on_connect`, in `main.rs`, registers this chapter's listeners.
/// Binary attachments are off: a chat has none (see chapter 4's "Limits").
pub fn app() -> Router {
    let builder = SocketIo::builder().with_parser(ParserConfig::common().max_incoming_binaries(0));
    let (layer, io) = crate::limits(builder).build_layer();
    // Your `on_connect` registers the listeners. It runs as a connect *middleware*: socketioxide waits for it
    // before it tells the client that it is connected, so no event can arrive before its listener exists.
    // (A connect handler proper runs after that, in a task of its own: see "Listening for an event".)
    let register = async |socket: SocketRef| {
        crate::on_connect(socket).await;
        Ok::<(), Infallible>(())
    };
    io.ns("/", { async || {} }.with(register));
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/chat.js", runner::script(CHAT_SCRIPT))
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
        .route("/socket.io/socket.io.js", get(runner::socket_io_client))
}
