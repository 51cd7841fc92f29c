//! Given: the wire protocol of this chapter, the previous chapters' work, and the connect handler that calls
//! your code. You do not need to change this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SocketIo};

use crate::{announce_arrival, chat_message, when_leaving};

/// The chat page: it sends the name from its URL (`/?name=alice`) and shows who says what.
pub const CHAT_PAGE: &str = include_str!("../static/index.html");

/// The page's script, served at `/chat.js` (the page's security policy runs no inline script).
pub const CHAT_SCRIPT: &str = include_str!("../static/chat.js");

// ---- The previous chapters' work -----------------------------------------------------------------------------

/// The longest message, in characters (not bytes).
pub const MAX_TEXT_CHARS: usize = 500;

/// What a client emits as `chat message`: a JSON object `{"text": "..."}` (the `flatten`ed field makes serde
/// refuse an array; see chapter 5).
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

/// The longest WebSocket message (and frame), and the longest long-polling body: chapter 5's limits.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;
pub const MAX_PAYLOAD_BYTES: u64 = 16 * 1024;

/// Chapter 4's routes and layer, with chapter 5's limits; the namespace `/` is handled by [`on_connect`].
pub fn app() -> Router {
    let (layer, io) = SocketIo::builder()
        .max_payload(MAX_PAYLOAD_BYTES)
        .ws_max_message_size(MAX_MESSAGE_BYTES)
        .ws_max_frame_size(MAX_MESSAGE_BYTES)
        .with_parser(ParserConfig::common().max_incoming_binaries(0))
        .build_layer();
    // `listen` runs before the server tells the client it is connected; `on_connect` right after (see below).
    io.ns("/", on_connect.with(listen));
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

// ---- How fast one client may talk -----------------------------------------------------------------------------

// ANCHOR: rate_limit
/// How many messages a client may send at once, after a quiet moment.
pub const BURST: u32 = 10;
/// How many messages a second a client may send, on average, for as long as it likes.
pub const PER_SECOND: u32 = 5;
/// The error acknowledged for a message sent faster than that; the message goes nowhere.
pub const SLOW_DOWN: &str = "too many messages: at most 5 a second";

/// A client's allowance of messages, as a *token bucket*: it holds up to [`BURST`] tokens and starts full;
/// every message takes one, and a new one drips in every 1/[`PER_SECOND`] of a second. A person typing never
/// runs out; a program flooding the chat runs out at once and is refused until it slows down.
pub struct RateLimit {
    bucket: Mutex<(f64, Instant)>,
}

impl RateLimit {
    pub fn new() -> RateLimit {
        RateLimit { bucket: Mutex::new((f64::from(BURST), Instant::now())) }
    }

    /// Takes a token if there is one: `true` if this message may go.
    pub fn allow(&self) -> bool {
        // Handlers of one socket may run at the same time; the lock is held for a few instructions. A panic
        // while it was held (there is no code that could) would leave the count as it was: still usable.
        let mut bucket = self.bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (tokens, since) = &mut *bucket;
        let refill = since.elapsed().as_secs_f64() * f64::from(PER_SECOND);
        *tokens = (*tokens + refill).min(f64::from(BURST));
        *since = Instant::now();
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
// ANCHOR_END: rate_limit

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit::new()
    }
}

// ANCHOR: on_connect
/// Registers the socket's listeners. Given: it wires up two of the three functions you write, in `main.rs`.
///
/// It is a connect *middleware*: socketioxide runs it, and waits for it, before it acknowledges the
/// connection (`40{...}`). The connect handler proper runs only after that acknowledgement, in a task of its
/// own, so a listener registered there can miss an event that a client emits the moment it is connected.
async fn listen(socket: SocketRef, TryData(auth): TryData<Value>) -> Result<(), Infallible> {
    // The name is fixed for the socket's whole life; each handler keeps its own reference to it. So is the
    // socket's allowance of messages.
    let name: Arc<str> = name_from(auth.ok()).into();
    let limit = Arc::new(RateLimit::new());

    let sender = name.clone();
    socket.on("chat message", async move |io: SocketIo, TryData(message): TryData<ChatMessage>, ack: AckSender| {
        chat_message(&io, &sender, &limit, message, ack).await;
    });
    when_leaving(&socket, name);
    Ok(())
}

/// Runs once the client knows it is connected: the others hear of the newcomer (the third function).
async fn on_connect(socket: SocketRef, TryData(auth): TryData<Value>) {
    announce_arrival(&socket, &name_from(auth.ok())).await;
}
// ANCHOR_END: on_connect
