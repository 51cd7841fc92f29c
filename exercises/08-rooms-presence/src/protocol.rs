//! Given: the wire protocol of this chapter, the previous chapters' checks, the typing timers, and the wiring
//! (`app()`) that calls your code. You do not need to change this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SocketIo};
use tokio::task::AbortHandle;

/// The page: rooms, who is online, who is typing, private messages.
pub const CHAT_PAGE: &str = include_str!("../static/index.html");
/// The page's script, served at `/chat.js`.
pub const CHAT_SCRIPT: &str = include_str!("../static/chat.js");

// ---- The previous chapters' work -----------------------------------------------------------------------------

/// The longest message, in characters; the refusals of a message (chapter 5).
pub const MAX_TEXT_CHARS: usize = 500;
pub const EMPTY: &str = "the message is empty";
pub const TOO_LONG: &str = "the message is longer than 500 characters";

/// A message's text, trimmed, if it may be sent; otherwise the reason why not.
pub fn validate_text(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        Err(EMPTY)
    } else if text.chars().count() > MAX_TEXT_CHARS {
        Err(TOO_LONG)
    } else {
        Ok(text.to_owned())
    }
}

/// An acknowledgement: `{"ok": true}` or `{"ok": false, "error": "..."}`.
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

    pub fn error(reason: impl Into<String>) -> Ack {
        Ack { ok: false, error: Some(reason.into()) }
    }
}

/// Chapter 5's limits on packet sizes.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;
pub const MAX_PAYLOAD_BYTES: u64 = 16 * 1024;

/// Chapter 6's rate limit: a burst of [`BURST`], then [`PER_SECOND`] a second.
pub const BURST: u32 = 10;
pub const PER_SECOND: u32 = 5;
pub const SLOW_DOWN: &str = "too many messages: at most 5 a second";

/// Chapter 6's token bucket, one per socket. Every event a client sends to others (a message, a private
/// message, a typing notice) takes a token.
pub struct RateLimit {
    bucket: Mutex<(f64, Instant)>,
}

impl RateLimit {
    pub fn new() -> RateLimit {
        RateLimit { bucket: Mutex::new((f64::from(BURST), Instant::now())) }
    }

    /// Takes a token if there is one: `true` if this event may go.
    pub fn allow(&self) -> bool {
        let mut bucket = self.bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (tokens, since) = &mut *bucket;
        *tokens = (*tokens + since.elapsed().as_secs_f64() * f64::from(PER_SECOND)).min(f64::from(BURST));
        *since = Instant::now();
        let allowed = *tokens >= 1.0;
        if allowed {
            *tokens -= 1.0;
        }
        allowed
    }
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit::new()
    }
}

// ---- Names ---------------------------------------------------------------------------------------------------

// ANCHOR: names
/// The handshake's auth, `{"name": "alice"}`, a JSON object. A missing or non-string name is `None`.
#[derive(Debug, Default, Deserialize)]
pub struct Auth {
    #[serde(default, deserialize_with = "string_or_nothing")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub other_fields: IgnoredAny,
}

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// Why a name is refused, as the `connect_error` says it.
pub const NAME_MISSING: &str = "a name is required: connect with the auth {\"name\": \"...\"}";
pub const NAME_TOO_LONG: &str = "a name is at most 32 characters";
pub const NAME_INVALID: &str = "a name may not contain control characters or text-direction marks";

/// The refusal of a name that someone online has already (whatever its case: `Alice` is `alice`).
pub fn name_taken(name: &str) -> String {
    format!("the name {name} is taken")
}

/// Characters that change how the text around them is shown rather than adding to it: the marks and
/// overrides of the Unicode bidirectional algorithm. `\u{202E}` (right-to-left override) makes the name
/// `"alice\u{202E}nimda"` show as "aliceadmin", for instance.
pub fn is_direction_mark(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The room that holds the sockets of one person, whatever the case of the name: `user:alice`. A private
/// message goes there; "is this name taken?" is "is anyone in this room?".
pub fn user_room(name: &str) -> String {
    format!("user:{}", name.to_lowercase())
}

/// The room whose name *is* a person's name as they spelt it, `name:Alice`: who is online is the list of
/// these rooms, so that it works across several servers (chapter 11) as it does on one.
pub fn name_room(name: &str) -> String {
    format!("name:{name}")
}

/// Turns connecting with one name into one step at a time, on this server: checking that a name is free and
/// taking it, with nobody else taking it in between. Hold it for exactly those two steps.
///
/// Ask "is anyone in this room?" with `io.within(room).rooms().await`: it reads the adapter's table of rooms,
/// which a socket joins at once, even one that is still being admitted. (`fetch_sockets` lists only the
/// sockets that are already connected, so two clients being admitted at once would not see each other.)
pub static NAMES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
// ANCHOR_END: names

/// The name a socket was admitted with: the one `name:` room it is in.
pub fn name_of(socket: &SocketRef) -> Option<String> {
    socket.rooms().iter().find_map(|room| room.strip_prefix("name:").map(str::to_owned))
}

fn string_or_nothing<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(value.as_str().map(str::to_owned))
}

// ---- Rooms ---------------------------------------------------------------------------------------------------

// ANCHOR: rooms
/// The room every socket is in when it connects.
pub const LOBBY: &str = "lobby";
/// The longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 32;
pub const ROOM_INVALID: &str =
    "a room's name is 1 to 32 characters, without control characters, and does not start with user: or name:";

/// The most rooms one socket may be in, the lobby included (its `user:` and `name:` rooms do not count).
pub const MAX_ROOMS: usize = 20;
pub const TOO_MANY_ROOMS: &str = "you are in 20 rooms already: leave one first";

/// The refusal of a message to a room the socket is not in.
pub fn not_a_member(room: &str) -> String {
    format!("you are not in the room {room}")
}

/// A room's name, if it is one a client may join: the rooms `user:...` and `name:...` are the server's.
pub fn valid_room(room: &str) -> Option<&str> {
    let room = room.trim();
    let count = room.chars().count();
    let fine = (1..=MAX_ROOM_CHARS).contains(&count)
        && !room.chars().any(|c| c.is_control() || is_direction_mark(c))
        && !room.starts_with("user:")
        && !room.starts_with("name:");
    fine.then_some(room)
}
// ANCHOR_END: rooms

// ---- What clients send ---------------------------------------------------------------------------------------

// ANCHOR: incoming
/// `join`, `leave`, `typing` and `stop typing`: `{"room": "..."}`.
#[derive(Debug, Deserialize)]
pub struct RoomRequest {
    pub room: String,
    #[serde(flatten)]
    pub other_fields: IgnoredAny,
}

/// `chat message`: `{"room": "...", "text": "..."}`.
#[derive(Debug, Deserialize)]
pub struct RoomMessage {
    pub room: String,
    pub text: String,
    #[serde(flatten)]
    pub other_fields: IgnoredAny,
}

/// `private message`: `{"to": "...", "text": "..."}`.
#[derive(Debug, Deserialize)]
pub struct PrivateMessage {
    pub to: String,
    pub text: String,
    #[serde(flatten)]
    pub other_fields: IgnoredAny,
}

pub const MALFORMED: &str = "expected {\"room\": \"...\", \"text\": \"...\"}";
pub const MALFORMED_ROOM: &str = "expected {\"room\": \"...\"}";
pub const MALFORMED_PRIVATE: &str = "expected {\"to\": \"...\", \"text\": \"...\"}";

/// The refusal of a private message to someone who is not connected.
pub fn not_online(name: &str) -> String {
    format!("{name} is not online")
}
// ANCHOR_END: incoming

// ---- What the server sends -----------------------------------------------------------------------------------

// ANCHOR: outgoing
/// `chat message` to the other members of a room: who said what, where.
#[derive(Debug, Serialize)]
pub struct Post<'a> {
    pub room: &'a str,
    pub name: &'a str,
    pub text: &'a str,
}

/// `user joined`, `user left`: who.
#[derive(Debug, Serialize)]
pub struct Member<'a> {
    pub name: &'a str,
}

/// `online`, to a newcomer: everyone connected, itself included, sorted.
#[derive(Debug, Serialize)]
pub struct Online {
    pub names: Vec<String>,
}

/// `typing` and `stopped typing`, to the other members of a room.
#[derive(Debug, Serialize)]
pub struct Typist<'a> {
    pub room: &'a str,
    pub name: &'a str,
}

/// `private message`, to its addressee only.
#[derive(Debug, Serialize)]
pub struct Whisper<'a> {
    pub from: &'a str,
    pub text: &'a str,
}
// ANCHOR_END: outgoing

// ---- Typing --------------------------------------------------------------------------------------------------

// ANCHOR: typing
/// How long a `typing` notice lasts without a new one. A page sends `typing` again every second or so while
/// the person types, and `stop typing` when they stop; a client that says neither (it vanished, or forgot)
/// has stopped after this long.
pub const TYPING_TIMEOUT: Duration = Duration::from_secs(3);

/// One socket's typing timers, one per room it is typing in.
#[derive(Default)]
pub struct Typing {
    timers: Mutex<HashMap<String, AbortHandle>>,
}

impl Typing {
    /// (Re)starts the timer of `room`: unless `stop` is called first, `expired` runs after [`TYPING_TIMEOUT`].
    pub fn start(self: &Arc<Self>, room: &str, expired: impl Future<Output = ()> + Send + 'static) {
        let typing = Arc::clone(self);
        let key = room.to_owned();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(TYPING_TIMEOUT).await;
            typing.lock().remove(&key);
            expired.await;
        });
        if let Some(previous) = self.lock().insert(room.to_owned(), timer.abort_handle()) {
            previous.abort();
        }
    }

    /// Cancels the timer of `room`; `true` if there was one (so someone should hear `stopped typing`).
    pub fn stop(&self, room: &str) -> bool {
        self.lock().remove(room).map(|timer| timer.abort()).is_some()
    }

    /// Cancels every timer; the rooms they were for.
    pub fn stop_all(&self) -> Vec<String> {
        self.lock()
            .drain()
            .map(|(room, timer)| {
                timer.abort();
                room
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, AbortHandle>> {
        self.timers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
// ANCHOR_END: typing

// ---- The wiring ----------------------------------------------------------------------------------------------

/// Why a connection was refused: its `connect_error` says this.
#[derive(Debug)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// ANCHOR: app
/// The page's routes and the Socket.IO layer with the kit's limits. Each connection goes through two steps:
///
/// 1. `admit`, a connect *middleware*: socketioxide waits for it before it answers the client. Your
///    `claim_name` decides whether the name may connect (an error is the client's `connect_error`), and your
///    `listen` registers the socket's listeners, all before the client knows it is connected;
/// 2. `welcome`, the connect handler: it runs once the client is connected, and calls your `on_connect`.
pub fn app() -> Router {
    let (layer, io) = SocketIo::builder()
        .max_payload(MAX_PAYLOAD_BYTES)
        .ws_max_message_size(MAX_MESSAGE_BYTES)
        .ws_max_frame_size(MAX_MESSAGE_BYTES)
        .with_parser(ParserConfig::common().max_incoming_binaries(0))
        .build_layer();
    io.ns("/", welcome.with(admit));
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/chat.js", runner::script(CHAT_SCRIPT))
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
        .route("/socket.io/socket.io.js", get(runner::socket_io_client))
}

async fn admit(socket: SocketRef, io: SocketIo, TryData(auth): TryData<Auth>) -> Result<(), Refusal> {
    let name = crate::claim_name(&io, &socket, auth.unwrap_or_default()).await.map_err(Refusal)?;
    crate::listen(&socket, name.into());
    Ok(())
}

async fn welcome(socket: SocketRef, io: SocketIo) {
    if let Some(name) = name_of(&socket) {
        crate::on_connect(&io, &socket, &name).await;
    }
}
// ANCHOR_END: app
