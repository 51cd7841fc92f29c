//! Given: the protocol of this chapter, the previous chapters' work, the shared log (the kit's `store`), the
//! Redis adapter and the doorbell (the kit's `cluster`), and the wiring (`app()`) that calls your code. You do
//! not need to change this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketioxide::adapter::Emitter;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SendError, SocketError, SocketIo};
#[allow(unused_imports, reason = "for your code")]
pub use store::{Appended, Entry, Store, StoreError, Stored};
use tokio::sync::{Notify, watch};

/// The page: chapter 10's, with who is online and private messages.
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

/// Chapter 8's rules for a name. As in chapters 9 and 10, two clients may use the same one here.
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

/// Chapter 8's rooms of a person: `user:alice` (where a private message goes) and `name:alice` (who is
/// online is the list of these).
pub fn user_room(name: &str) -> String {
    format!("user:{}", name.to_lowercase())
}

pub fn name_room(name: &str) -> String {
    format!("name:{name}")
}

/// The handshake's auth: `{"name": "alice", "serverOffset": 41}` (chapter 9).
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

pub fn not_an_offset(offset: &Value) -> String {
    format!("serverOffset must be a whole number, 0 or more, not {offset}")
}

pub fn beyond_the_log(offset: u64, newest: u64) -> String {
    format!("serverOffset {offset} is beyond the end of the log (the newest offset is {newest}): connect with 0")
}

// ---- What goes over the wire ---------------------------------------------------------------------------------

// ANCHOR: messages
/// `chat message` from a client (chapter 10): `{"text": "...", "clientOffset": "..."}`.
#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub text: String,
    #[serde(rename = "clientOffset")]
    pub client_offset: String,
    #[serde(flatten)]
    pub other_fields: IgnoredAny,
}

pub const MALFORMED: &str = "expected {\"text\": \"...\", \"clientOffset\": \"...\"}";
pub const MAX_CLIENT_OFFSET_CHARS: usize = 64;
pub const BAD_CLIENT_OFFSET: &str = "a clientOffset is 1 to 64 characters, without control characters";

pub fn valid_client_offset(client_offset: &str) -> Option<&str> {
    let count = client_offset.chars().count();
    let fine = (1..=MAX_CLIENT_OFFSET_CHARS).contains(&count) && !client_offset.chars().any(char::is_control);
    fine.then_some(client_offset)
}

/// `chat message` to a client, live or replayed: `{"offset": 7, "name": "alice", "text": "hi"}`.
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

/// The acknowledgement of a `chat message` (`offset`) or of a `private message` (none): `{"ok": true, ...}`
/// or `{"ok": false, "error": "..."}`.
#[derive(Debug, Serialize, PartialEq)]
pub struct Ack {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Ack {
    pub fn ok() -> Ack {
        Ack { ok: true, offset: None, error: None }
    }

    pub fn stored(offset: u64) -> Ack {
        Ack { ok: true, offset: Some(offset), error: None }
    }

    pub fn error(reason: impl Into<String>) -> Ack {
        Ack { ok: false, offset: None, error: Some(reason.into()) }
    }
}

/// `private message` from a client (chapter 8): `{"to": "bob", "text": "..."}`.
#[derive(Debug, Deserialize)]
pub struct PrivateMessage {
    pub to: String,
    pub text: String,
    #[serde(flatten)]
    pub other_fields: IgnoredAny,
}

pub const MALFORMED_PRIVATE: &str = "expected {\"to\": \"...\", \"text\": \"...\"}";

pub fn not_online(name: &str) -> String {
    format!("{name} is not online")
}

/// `private message` to its addressee: `{"from": "alice", "text": "..."}`.
#[derive(Debug, Serialize)]
pub struct Whisper<'a> {
    pub from: &'a str,
    pub text: &'a str,
}

/// `user joined` and `user left`: `{"name": "alice"}`.
#[derive(Debug, Serialize)]
pub struct Member<'a> {
    pub name: &'a str,
}

/// `online`, to a newcomer: everyone connected to any node, itself included, sorted, each name once.
#[derive(Debug, Serialize)]
pub struct Online {
    pub names: Vec<String>,
}
// ANCHOR_END: messages

// ---- One node of several -------------------------------------------------------------------------------------

// ANCHOR: node
/// The adapter of this node: socketioxide's Redis adapter, on the kit's driver (see the `cluster` crate).
pub type NodeAdapter = cluster::Adapter<Emitter>;
/// `SocketIo` and `SocketRef` of this node: what a handler is given. They reach every node's sockets.
pub type Io = SocketIo<NodeAdapter>;
pub type Socket = SocketRef<NodeAdapter>;

/// The room of the sockets of this node that are caught up: they have been sent every message up to
/// [`Chat::delivered`], and get each new one as this node's follower delivers it.
pub const LIVE: &str = "live";

/// The room every message goes to in this chapter (chapter 12 brings rooms back).
pub const LOBBY: &str = "lobby";

/// How long the follower waits, at most, before it looks at the log again even if nobody rang: a ring lost
/// (Redis down) delays the others' messages by at most this much.
pub const FOLLOW_TICK: Duration = Duration::from_millis(500);

/// What every handler of this node shares.
#[derive(Clone)]
pub struct Chat {
    /// The log, in the database file that every node opens.
    pub store: Store,
    /// This node's turn: whoever holds it is the only one delivering to this node's live sockets, or making
    /// one of them live. Other nodes have turns of their own; none of them orders this node's deliveries.
    pub turn: Arc<tokio::sync::Mutex<()>>,
    /// The offset up to which this node has delivered the log to its live sockets. Change it only while
    /// holding the turn.
    delivered: Arc<watch::Sender<u64>>,
    /// Woken by this node's own appends.
    news: Arc<Notify>,
    /// Rung by every node's appends, through Redis.
    doorbell: cluster::Doorbell,
}

impl Chat {
    /// The offset up to which this node has delivered the log (see [`Chat::set_delivered`]).
    pub fn delivered(&self) -> u64 {
        *self.delivered.borrow()
    }

    /// Records that this node has delivered the log up to `offset`. Call it only while holding the turn.
    pub fn set_delivered(&self, offset: u64) {
        self.delivered.send_replace(offset);
    }

    /// Waits until this node has delivered the log up to `offset` at least. A client can have seen more than
    /// this node has delivered yet: it comes from a node that was ahead of this one.
    pub async fn delivered_up_to(&self, offset: u64) {
        let mut delivered = self.delivered.subscribe();
        let _ = delivered.wait_for(|delivered| *delivered >= offset).await;
    }

    /// Waits until the log may have grown: this node appended, another node rang, or [`FOLLOW_TICK`] passed.
    pub async fn wait_for_news(&self) {
        tokio::select! {
            _ = self.news.notified() => {}
            _ = self.doorbell.next_ring() => {}
            _ = tokio::time::sleep(FOLLOW_TICK) => {}
        }
    }

    /// Tells this node's follower, and every other node's, that the log now reaches `offset`. The ring goes
    /// out on its own task: with Redis down it waits for a reconnection, and the sender's acknowledgement must
    /// not wait with it.
    fn announce(&self, offset: u64) {
        self.news.notify_one();
        let doorbell = self.doorbell.clone();
        tokio::spawn(async move { doorbell.ring(offset).await });
    }
}
// ANCHOR_END: node

// ANCHOR: deliver
/// Sends a message of the log to every socket of this node in [`LIVE`]; one whose buffer is full leaves
/// [`LIVE`] and is caught up again from the message before (chapter 9).
pub fn deliver(chat: &Chat, io: &Io, message: &Stored) {
    for socket in io.within(LIVE).sockets() {
        match socket.emit("chat message", &Post::from(message)) {
            Ok(()) => {}
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                socket.leave(LIVE);
                let (chat, after) = (chat.clone(), message.offset - 1);
                tokio::spawn(async move { caught_up_or_gone(&chat, &socket, after).await });
            }
            Err(_) => {}
        }
    }
}
// ANCHOR_END: deliver

/// How many messages to read from the log at a time.
pub const REPLAY_PAGE: usize = 256;

/// Why catching up stopped before the socket went live.
#[derive(Debug)]
pub enum Stopped {
    Gone,
    Store(StoreError),
}

impl From<StoreError> for Stopped {
    fn from(error: StoreError) -> Stopped {
        Stopped::Store(error)
    }
}

/// Sends one message of the log to one socket, waiting for room in its buffer for as long as the socket is
/// connected (chapter 9).
pub async fn replay(socket: &Socket, message: &Stored) -> Result<(), Stopped> {
    loop {
        match socket.emit("chat message", &Post::from(message)) {
            Ok(()) => return Ok(()),
            Err(SendError::Socket(SocketError::InternalChannelFull)) if socket.connected() => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(_) => return Err(Stopped::Gone),
        }
    }
}

async fn caught_up_or_gone(chat: &Chat, socket: &Socket, after: u64) {
    if let Err(Stopped::Store(error)) = crate::catch_up(chat, socket, after).await {
        eprintln!("could not catch {} up: {error}", socket.id);
        let _ = socket.clone().disconnect();
    }
}

// ANCHOR: post
/// Appends a message (once, whatever number of times it is sent: chapter 10) to the shared log, and tells
/// every node's follower; returns its offset. Delivering it is the followers' work, this node's included.
pub async fn post(chat: &Chat, name: &str, text: &str, client_offset: &str) -> Result<u64, StoreError> {
    let entry = Entry { room: LOBBY, name, text, client_offset: Some(client_offset) };
    let offset = chat.store.append(entry).await?.offset();
    chat.announce(offset);
    Ok(offset)
}
// ANCHOR_END: post

// ---- The wiring ----------------------------------------------------------------------------------------------

#[derive(Debug)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// ANCHOR: app
/// Opens the shared log of `--db`, joins the other nodes on the Redis of `--redis`, starts this node's
/// follower (your `follow`), and builds the server. A connection is admitted by `admit` (the auth checked,
/// the listeners registered), then welcomed by `welcome`: the list of who is online (your `online`), a
/// `user joined` to everyone else, and catching up (your `catch_up`).
pub async fn app(settings: &runner::Settings) -> Result<Router, String> {
    let Some(redis) = &settings.redis else {
        return Err("this server is one node of several: give it the Redis they share, as in --redis \
                    redis://127.0.0.1:6379"
            .into());
    };
    let store = Store::open(&settings.database).map_err(|error| error.to_string())?;
    let newest = store.last_offset().await.map_err(|error| error.to_string())?;
    let (adapter, doorbell) = cluster::adapter(redis, &settings.redis_prefix).await?;
    let chat = Chat {
        store,
        turn: Arc::default(),
        // A node starts with its sockets caught up to the log as it is: it has none yet.
        delivered: Arc::new(watch::Sender::new(newest)),
        news: Arc::default(),
        doorbell,
    };
    let (layer, io) = SocketIo::builder()
        .max_payload(MAX_PAYLOAD_BYTES)
        .ws_max_message_size(MAX_MESSAGE_BYTES)
        .ws_max_frame_size(MAX_MESSAGE_BYTES)
        .with_parser(ParserConfig::common().max_incoming_binaries(0))
        .with_adapter::<NodeAdapter>(adapter)
        .build_layer();
    let (admitted, welcomed) = (chat.clone(), chat.clone());
    let admit = async move |socket: Socket, TryData(auth): TryData<Value>| admit(&admitted, socket, auth).await;
    let welcome = async move |socket: Socket, io: Io, TryData(auth): TryData<Value>| {
        let auth = auth.ok().and_then(|auth| Auth::read(Some(&auth)).ok());
        if let Some(auth) = auth {
            welcome(&welcomed, &io, &socket, &auth).await;
        }
    };
    io.ns("/", welcome.with(admit)).await.map_err(|error| format!("cannot reach the other nodes: {error}"))?;
    tokio::spawn(crate::follow(chat, io));
    Ok(Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/chat.js", runner::script(CHAT_SCRIPT))
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
        .route("/socket.io/socket.io.js", get(runner::socket_io_client)))
}

async fn admit(chat: &Chat, socket: Socket, auth: Result<Value, socketioxide::ParserError>) -> Result<(), Refusal> {
    let auth = Auth::read(auth.as_ref().ok()).map_err(Refusal)?;
    let newest = chat.store.last_offset().await.map_err(|error| Refusal(error.to_string()))?;
    if auth.server_offset > newest {
        return Err(Refusal(beyond_the_log(auth.server_offset, newest)));
    }
    socket.join([user_room(&auth.name), name_room(&auth.name)]);
    listen(chat, &socket, auth.name.into());
    Ok(())
}

async fn welcome(chat: &Chat, io: &Io, socket: &Socket, auth: &Auth) {
    let names = crate::online(io).await.unwrap_or_else(|error| {
        eprintln!("who is online could not be asked of every node: {error}");
        Vec::new()
    });
    let _ = socket.emit("online", &Online { names });
    let _ = socket.broadcast().emit("user joined", &Member { name: &auth.name }).await;
    caught_up_or_gone(chat, socket, auth.server_offset).await;
}

fn listen(chat: &Chat, socket: &Socket, name: Arc<str>) {
    let limit = Arc::new(RateLimit::new());
    let (chat, sender, allowance) = (chat.clone(), name.clone(), limit.clone());
    socket.on("chat message", async move |TryData(message): TryData<ChatMessage>, ack: AckSender<NodeAdapter>| {
        let answer = match message {
            _ if !allowance.allow() => Ack::error(SLOW_DOWN),
            Err(_) => Ack::error(MALFORMED),
            Ok(message) => match (validate_text(&message.text), valid_client_offset(&message.client_offset)) {
                (Err(reason), _) => Ack::error(reason),
                (_, None) => Ack::error(BAD_CLIENT_OFFSET),
                (Ok(text), Some(client_offset)) => match post(&chat, &sender, &text, client_offset).await {
                    Ok(offset) => Ack::stored(offset),
                    Err(error) => Ack::error(format!("the message could not be stored: {error}")),
                },
            },
        };
        let _ = ack.send(&answer);
    });
    let sender = name.clone();
    socket.on(
        "private message",
        async move |socket: Socket, io: Io, TryData(message): TryData<PrivateMessage>, ack: AckSender<NodeAdapter>| {
            let answer = match message {
                _ if !limit.allow() => Ack::error(SLOW_DOWN),
                Err(_) => Ack::error(MALFORMED_PRIVATE),
                Ok(message) => match crate::whisper(&io, &socket, &sender, &message).await {
                    Ok(()) => Ack::ok(),
                    Err(reason) => Ack::error(reason),
                },
            };
            let _ = ack.send(&answer);
        },
    );
    socket.on_disconnect(async move |socket: Socket| {
        let _ = socket.broadcast().emit("user left", &Member { name: &name }).await;
    });
}
// ANCHOR_END: app
