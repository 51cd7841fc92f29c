//! Chapter 5, reference solution: a typed, validated `chat message` listener with acknowledgements.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::json;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, TryData};

pub const CHAT_PAGE: &str = include_str!("../../../exercises/05-events/static/index.html");
pub const MAX_TEXT_CHARS: usize = 500;
pub const EMPTY: &str = "the message is empty";
pub const TOO_LONG: &str = "the message is longer than 500 characters";
pub const MALFORMED: &str = "expected {\"text\": \"...\"}";

#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub text: String,
}

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

pub fn app() -> Router {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect);
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
        .route("/socket.io/socket.io.js", get(runner::socket_io_client))
}

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

async fn on_connect(socket: SocketRef) {
    // Each event name has its own listener; an event with no listener is dropped by socketioxide.
    socket.on("chat message", on_chat_message);
    socket.on("ping", on_ping);
}

/// `TryData` rather than `Data`: with `Data`, a payload that does not deserialise never reaches the handler,
/// and the client waits for an acknowledgement that never comes. With `TryData` we can say what was wrong.
async fn on_chat_message(socket: SocketRef, TryData(message): TryData<ChatMessage>, ack: AckSender) {
    let checked = match message {
        Ok(message) => validate(message),
        Err(_) => Err(MALFORMED),
    };
    let reply = match checked {
        Ok(text) => {
            // Emitted before the acknowledgement, so the sender sees its message before the "ok".
            let _ = socket.emit("chat message", &json!({ "text": text }));
            Ack::ok()
        }
        Err(reason) => Ack::error(reason),
    };
    // Fails only if the client has already left: then there is nobody to answer.
    let _ = ack.send(&reply);
}

async fn on_ping(ack: AckSender) {
    let _ = ack.send("pong");
}
