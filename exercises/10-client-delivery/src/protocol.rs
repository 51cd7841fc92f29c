//! Given: the server's side of this chapter's protocol, the previous chapters' work (chapter 9's delivery
//! and catching up among it), the log (the kit's `store` crate), and the wiring (`app()`) that calls your
//! `post`. You do not need to change this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SendError, SocketError, SocketIo};
#[allow(unused_imports, reason = "`Entry` and `Appended` are for your code")]
pub use store::{Appended, Entry, Store, StoreError, Stored};

/// The page: chapter 9's, whose messages now carry a client offset and are retried until acknowledged.
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

/// Chapter 5's limits on packet sizes.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;
pub const MAX_PAYLOAD_BYTES: u64 = 16 * 1024;

/// Chapter 6's rate limit: a burst of [`BURST`], then [`PER_SECOND`] a second.
pub const BURST: u32 = 10;
pub const PER_SECOND: u32 = 5;
pub const SLOW_DOWN: &str = "too many messages: at most 5 a second";

/// Chapter 6's token bucket, one per socket.
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

/// Chapter 8's rules for a name. In this chapter a name is a label on messages, and two clients may use the
/// same one (chapter 12 brings back names of one's own).
pub const MAX_NAME_CHARS: usize = 32;
pub const NAME_MISSING: &str = "a name is required: connect with the auth {\"name\": \"...\"}";
pub const NAME_TOO_LONG: &str = "a name is at most 32 characters";
pub const NAME_INVALID: &str = "a name may not contain control characters or text-direction marks";

/// The name in the handshake's auth, trimmed, if it may be used; otherwise why not.
pub fn check_name(name: Option<&str>) -> Result<String, String> {
    let name = name.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        Err(NAME_MISSING.into())
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(NAME_TOO_LONG.into())
    } else if name.chars().any(|c| c.is_control() || is_direction_mark(c)) {
        Err(NAME_INVALID.into())
    } else {
        Ok(name.to_owned())
    }
}

/// The marks and overrides of the Unicode bidirectional algorithm (chapter 8).
pub fn is_direction_mark(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

// ---- The handshake -------------------------------------------------------------------------------------------

// ANCHOR: auth
/// The handshake's auth: `{"name": "alice", "serverOffset": 41}`. `serverOffset` is the highest offset the
/// client has seen; a client that has seen nothing sends 0 or leaves it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub name: String,
    pub server_offset: u64,
}

pub const AUTH_NOT_AN_OBJECT: &str = "the auth must be an object: {\"name\": \"...\", \"serverOffset\": 0}";

impl Auth {
    /// Reads the auth of a CONNECT packet, or says what is wrong with it.
    pub fn read(auth: Option<&Value>) -> Result<Auth, String> {
        let auth = match auth {
            None | Some(Value::Null) => &Value::Object(Default::default()),
            Some(auth @ Value::Object(_)) => auth,
            Some(_) => return Err(AUTH_NOT_AN_OBJECT.into()),
        };
        let name = check_name(auth.get("name").and_then(Value::as_str))?;
        let server_offset = match auth.get("serverOffset") {
            None | Some(Value::Null) => 0,
            Some(offset) => offset.as_u64().ok_or_else(|| not_an_offset(offset))?,
        };
        Ok(Auth { name, server_offset })
    }
}

/// The refusal of a `serverOffset` that is not an offset.
pub fn not_an_offset(offset: &Value) -> String {
    format!("serverOffset must be a whole number, 0 or more, not {offset}")
}

/// The refusal of a `serverOffset` past the end of the log: the client saw another log (the server started
/// afresh on a new database, say). It should forget what it has and connect again with 0.
pub fn beyond_the_log(offset: u64, newest: u64) -> String {
    format!("serverOffset {offset} is beyond the end of the log (the newest offset is {newest}): connect with 0")
}
// ANCHOR_END: auth

// ---- What goes over the wire ---------------------------------------------------------------------------------

// ANCHOR: messages
/// `chat message` from a client: `{"text": "...", "clientOffset": "..."}`. The client offset is the
/// client's own name for this message, the same every time it sends it again: a message whose sender and
/// client offset are in the log already is one the server has, and is not stored or sent again.
#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub text: String,
    #[serde(rename = "clientOffset")]
    pub client_offset: String,
    #[serde(flatten)]
    pub other_fields: IgnoredAny,
}

pub const MALFORMED: &str = "expected {\"text\": \"...\", \"clientOffset\": \"...\"}";

/// The longest client offset, in characters.
pub const MAX_CLIENT_OFFSET_CHARS: usize = 64;
pub const BAD_CLIENT_OFFSET: &str = "a clientOffset is 1 to 64 characters, without control characters";

/// A client offset, if it is one the server keeps: not empty, not too long, nothing unprintable.
pub fn valid_client_offset(client_offset: &str) -> Option<&str> {
    let count = client_offset.chars().count();
    let fine = (1..=MAX_CLIENT_OFFSET_CHARS).contains(&count) && !client_offset.chars().any(char::is_control);
    fine.then_some(client_offset)
}

/// `chat message` to a client, live or replayed: its offset, who said it, and what.
#[derive(Debug, Serialize)]
pub struct Post<'a> {
    pub offset: u64,
    pub name: &'a str,
    pub text: &'a str,
}

impl<'a> From<&'a Stored> for Post<'a> {
    fn from(message: &'a Stored) -> Post<'a> {
        Post { offset: message.offset, name: &message.name, text: &message.text }
    }
}

/// The acknowledgement of a `chat message`: `{"ok": true, "offset": 7}` once it is in the log, or
/// `{"ok": false, "error": "..."}`.
#[derive(Debug, Serialize, PartialEq)]
pub struct Ack {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Ack {
    pub fn stored(offset: u64) -> Ack {
        Ack { ok: true, offset: Some(offset), error: None }
    }

    pub fn error(reason: impl Into<String>) -> Ack {
        Ack { ok: false, offset: None, error: Some(reason.into()) }
    }
}
// ANCHOR_END: messages

// ---- The log and the live room -------------------------------------------------------------------------------

// ANCHOR: chat
/// The room every message goes to in this chapter (chapter 12 brings rooms back).
pub const LOBBY: &str = "lobby";

/// The room of the sockets that are *caught up*: they have been sent every message of the log, and get each
/// new one as it is appended. A socket that is catching up is not in it yet.
pub const LIVE: &str = "live";

/// What every handler shares: the log, and the turn that keeps it in order.
#[derive(Clone)]
pub struct Chat {
    pub store: Store,
    /// Whoever holds it is the only one appending to the log or going live: hold it from appending a message
    /// to delivering it, and from finding that a socket has caught up to its joining [`LIVE`].
    pub turn: Arc<tokio::sync::Mutex<()>>,
}

impl Chat {
    pub fn new(store: Store) -> Chat {
        Chat { store, turn: Arc::new(tokio::sync::Mutex::new(())) }
    }
}
// ANCHOR_END: chat

// ANCHOR: deliver
/// Sends a message that was just appended to every socket in [`LIVE`], on this server.
///
/// A socket whose buffer is full (its client reads more slowly than the chat writes) cannot take it. Rather
/// than lose the message for that socket, it leaves [`LIVE`] and catches up again from the message before
/// this one: it gets everything, in order, once it reads again.
pub fn deliver(chat: &Chat, io: &SocketIo, message: &Stored) {
    // `sockets()` lists the sockets of this server only, which is what this server can send to.
    for socket in io.within(LIVE).sockets() {
        match socket.emit("chat message", &Post::from(message)) {
            Ok(()) => {}
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                socket.leave(LIVE);
                let (chat, after) = (chat.clone(), message.offset - 1);
                tokio::spawn(async move { caught_up_or_gone(&chat, &socket, after).await });
            }
            // It is closing: it will reconnect with its offset, or it is gone for good.
            Err(_) => {}
        }
    }
}
// ANCHOR_END: deliver

// ANCHOR: replay
/// How many messages to read from the log at a time while catching up.
pub const REPLAY_PAGE: usize = 256;

/// How often a replayed message tries again for room in a socket's buffer.
pub const REPLAY_RETRY: Duration = Duration::from_millis(5);

/// Why catching up stopped before the socket went live.
#[derive(Debug)]
pub enum Stopped {
    /// The socket is gone: its client disconnected, or the server let go of it (see "Falling behind").
    Gone,
    /// The log could not be read.
    Store(StoreError),
}

impl From<StoreError> for Stopped {
    fn from(error: StoreError) -> Stopped {
        Stopped::Store(error)
    }
}

/// Sends one message of the log to one socket, waiting for room in its buffer if need be: a socket holds
/// 128 packets, and a long history is more than that.
///
/// socketioxide's `emit` does not wait: it fails with `InternalChannelFull` when the buffer is full. So this
/// tries again every [`REPLAY_RETRY`], for as long as the socket is connected: its client is reading, only
/// slowly, or it has stopped, and then the heartbeat soon closes the socket, and this gives up.
pub async fn replay(socket: &SocketRef, message: &Stored) -> Result<(), Stopped> {
    loop {
        match socket.emit("chat message", &Post::from(message)) {
            Ok(()) => return Ok(()),
            Err(SendError::Socket(SocketError::InternalChannelFull)) if socket.connected() => {
                tokio::time::sleep(REPLAY_RETRY).await;
            }
            Err(_) => return Err(Stopped::Gone),
        }
    }
}
// ANCHOR_END: replay

// ANCHOR: catch_up
/// Chapter 9's catching up: sends `socket` every message after offset `after`, in order and once each, then
/// puts it in [`LIVE`].
pub async fn catch_up(chat: &Chat, socket: &SocketRef, mut after: u64) -> Result<(), Stopped> {
    loop {
        // Without the turn: the log up to its end as it is now, a page at a time.
        let page = chat.store.after(after, REPLAY_PAGE).await?;
        for message in &page {
            replay(socket, message).await?;
            after = message.offset;
        }
        if page.len() == REPLAY_PAGE {
            continue;
        }
        // With the turn: if nothing came in since the last read, going live misses nothing.
        let _turn = chat.turn.lock().await;
        if chat.store.after(after, 1).await?.is_empty() {
            socket.join(LIVE);
            return Ok(());
        }
    }
}
// ANCHOR_END: catch_up

/// Runs `catch_up`; if the log fails, the socket is disconnected (its client reconnects and tries again)
/// rather than left waiting for messages that will never come.
async fn caught_up_or_gone(chat: &Chat, socket: &SocketRef, after: u64) {
    if let Err(Stopped::Store(error)) = catch_up(chat, socket, after).await {
        eprintln!("could not catch {} up: {error}", socket.id);
        let _ = socket.clone().disconnect();
    }
}

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
/// Opens the log of `--db` and builds the server around it. Each connection goes through two steps:
///
/// 1. `admit`, a connect middleware, before the client knows it is connected: it checks the auth (a name, and
///    an offset no later than the log's end), and registers the `chat message` listener, which calls your
///    `post`;
/// 2. `welcome`, the connect handler, once the client is connected: it catches the client up from the
///    auth's `serverOffset`.
pub async fn app(settings: &runner::Settings) -> Result<Router, String> {
    let store = Store::open(&settings.database).map_err(|error| error.to_string())?;
    Ok(app_with(Chat::new(store)))
}

pub fn app_with(chat: Chat) -> Router {
    let (layer, io) = SocketIo::builder()
        .max_payload(MAX_PAYLOAD_BYTES)
        .ws_max_message_size(MAX_MESSAGE_BYTES)
        .ws_max_frame_size(MAX_MESSAGE_BYTES)
        .with_parser(ParserConfig::common().max_incoming_binaries(0))
        .build_layer();
    let admitted = chat.clone();
    let admit = async move |socket: SocketRef, TryData(auth): TryData<Value>| admit(&admitted, socket, auth).await;
    let welcome = async move |socket: SocketRef, TryData(auth): TryData<Value>| {
        let auth = auth.ok().and_then(|auth| Auth::read(Some(&auth)).ok());
        if let Some(auth) = auth {
            caught_up_or_gone(&chat, &socket, auth.server_offset).await;
        }
    };
    io.ns("/", welcome.with(admit));
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/chat.js", runner::script(CHAT_SCRIPT))
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
        .route("/socket.io/socket.io.js", get(runner::socket_io_client))
}

async fn admit(chat: &Chat, socket: SocketRef, auth: Result<Value, socketioxide::ParserError>) -> Result<(), Refusal> {
    let auth = Auth::read(auth.as_ref().ok()).map_err(Refusal)?;
    let newest = chat.store.last_offset().await.map_err(|error| Refusal(error.to_string()))?;
    if auth.server_offset > newest {
        return Err(Refusal(beyond_the_log(auth.server_offset, newest)));
    }
    listen(chat, &socket, auth.name.into());
    Ok(())
}

fn listen(chat: &Chat, socket: &SocketRef, name: Arc<str>) {
    let limit = Arc::new(RateLimit::new());
    let chat = chat.clone();
    socket.on("chat message", async move |io: SocketIo, TryData(message): TryData<ChatMessage>, ack: AckSender| {
        let answer = match message {
            _ if !limit.allow() => Ack::error(SLOW_DOWN),
            Err(_) => Ack::error(MALFORMED),
            Ok(message) => match (validate_text(&message.text), valid_client_offset(&message.client_offset)) {
                (Err(reason), _) => Ack::error(reason),
                (_, None) => Ack::error(BAD_CLIENT_OFFSET),
                (Ok(text), Some(client_offset)) => match crate::post(&chat, &io, &name, &text, client_offset).await {
                    Ok(offset) => Ack::stored(offset),
                    // Refused out loud: the message is not in the log, and the client may send it again.
                    Err(error) => Ack::error(format!("the message could not be stored: {error}")),
                },
            },
        };
        let _ = ack.send(&answer);
    });
}
// ANCHOR_END: app
