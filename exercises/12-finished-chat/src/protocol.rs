//! Given: everything of chapters 1 to 11 that this chapter does not ask of you again: the checks, the rooms
//! and their typing timers, the log, the node's follower and shared state, presence and private messages,
//! and the wiring (`app()`) that calls your code. You do not need to change this file.

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
use serde_json::Value;
use socketioxide::adapter::Emitter;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SendError, SocketError, SocketIo};
#[allow(unused_imports, reason = "for your code")]
pub use store::{Appended, Entry, Store, StoreError, Stored};
use tokio::sync::{Notify, watch};
use tokio::task::AbortHandle;

/// The page: rooms, who is online, who is typing, private messages, and a history that survives anything.
pub const CHAT_PAGE: &str = include_str!("../static/index.html");
/// The page's script, served at `/chat.js`.
pub const CHAT_SCRIPT: &str = include_str!("../static/chat.js");

// ---- Limits (chapters 5 and 6) -------------------------------------------------------------------------------

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

pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;
pub const MAX_PAYLOAD_BYTES: u64 = 16 * 1024;
pub const BURST: u32 = 10;
pub const PER_SECOND: u32 = 5;
pub const SLOW_DOWN: &str = "too many messages: at most 5 a second";

/// Chapter 6's token bucket, one per socket: every event a client sends to others takes a token.
pub struct RateLimit {
    bucket: Mutex<(f64, Instant)>,
}

impl RateLimit {
    pub fn new() -> RateLimit {
        RateLimit { bucket: Mutex::new((f64::from(BURST), Instant::now())) }
    }

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

// ---- Names (chapter 8) ---------------------------------------------------------------------------------------

pub const MAX_NAME_CHARS: usize = 32;
pub const NAME_MISSING: &str = "a name is required: connect with the auth {\"name\": \"...\"}";
pub const NAME_TOO_LONG: &str = "a name is at most 32 characters";
pub const NAME_INVALID: &str = "a name may not contain control characters or text-direction marks";

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

pub fn is_direction_mark(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The refusal of a name that someone else has (whatever its case).
pub fn name_taken(name: &str) -> String {
    format!("the name {name} is taken")
}

/// A person's rooms: `user:alice` (private messages; "is this name taken?"), `name:Alice` (who is online).
pub fn user_room(name: &str) -> String {
    format!("user:{}", name.to_lowercase())
}

pub fn name_room(name: &str) -> String {
    format!("name:{name}")
}

// ANCHOR: session
/// The room of one page's session: `session:alice:3f9c...`. A page that reconnects sends the session it had,
/// and the server knows it from this room, even while its old socket, not yet noticed gone, still holds the
/// name. Nobody but the server ever sees the rooms, so nobody learns someone else's session.
pub fn session_room(name: &str, session: &str) -> String {
    format!("session:{}:{session}", name.to_lowercase())
}

/// Turns "is this name free? then take it" into one step at a time, on this node (chapter 8).
pub static NAMES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Takes the name `name` back from its old connections, on every node: each is told `taken over` (a page
/// that is still open, a copy of the tab say, then knows not to reconnect and take it back in turn), then
/// disconnected. Errors are ignored: an old connection that cannot be told (its buffer is full, its node is
/// unreachable) is a dead one, and the heartbeat closes it soon.
pub async fn take_over(io: &Io, name: &str) {
    let _ = io.within(user_room(name)).emit("taken over", &()).await;
    let _ = io.within(user_room(name)).disconnect().await;
}
// ANCHOR_END: session

// ---- Rooms (chapter 8) ---------------------------------------------------------------------------------------

pub const LOBBY: &str = "lobby";
pub const MAX_ROOM_CHARS: usize = 32;
pub const ROOM_INVALID: &str =
    "a room's name is 1 to 32 characters, without control characters, and does not start with user:, name: or session:";
pub const MAX_ROOMS: usize = 20;
pub const TOO_MANY_ROOMS: &str = "you are in 20 rooms already: leave one first";

pub fn not_a_member(room: &str) -> String {
    format!("you are not in the room {room}")
}

/// A room's name, if it is one a client may join: the rooms `user:`, `name:` and `session:` are the server's.
pub fn valid_room(room: &str) -> Option<&str> {
    let room = room.trim();
    let count = room.chars().count();
    let fine = (1..=MAX_ROOM_CHARS).contains(&count)
        && !room.chars().any(|c| c.is_control() || is_direction_mark(c))
        && !["user:", "name:", "session:"].iter().any(|prefix| room.starts_with(prefix));
    fine.then_some(room)
}

/// The chat rooms a socket is in (not its person's rooms, nor `LIVE`).
pub fn chat_rooms(socket: &Socket) -> Vec<String> {
    socket
        .rooms()
        .into_iter()
        .map(|room| room.to_string())
        .filter(|room| room != LIVE && valid_room(room).is_some())
        .collect()
}

pub fn is_member(socket: &Socket, room: &str) -> bool {
    socket.rooms().iter().any(|joined| joined == room)
}

// ---- The handshake -------------------------------------------------------------------------------------------

// ANCHOR: auth
/// The handshake's auth: `{"name": "alice", "serverOffset": 41, "rooms": ["rust"], "session": "3f9c..."}`.
/// `serverOffset` is the highest offset the page has seen (chapter 9); `rooms`, the rooms it was in, besides
/// the lobby; `session`, the page's own random name for itself, to take its name back after a reconnection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub name: String,
    pub server_offset: u64,
    /// Valid, without repeats, the lobby first.
    pub rooms: Vec<String>,
    pub session: Option<String>,
}

pub const AUTH_NOT_AN_OBJECT: &str =
    "the auth must be an object: {\"name\": \"...\", \"serverOffset\": 0, \"rooms\": [], \"session\": \"...\"}";
pub const BAD_ROOMS: &str = "rooms must be a list of at most 20 room names";
pub const BAD_SESSION: &str = "a session is 8 to 64 letters, digits or dashes";

impl Auth {
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
        let mut rooms = vec![LOBBY.to_owned()];
        match auth.get("rooms") {
            None | Some(Value::Null) => {}
            Some(Value::Array(asked)) if asked.len() <= MAX_ROOMS => {
                for room in asked {
                    let room = room.as_str().and_then(valid_room).ok_or(ROOM_INVALID)?;
                    if !rooms.iter().any(|joined| joined == room) {
                        rooms.push(room.to_owned());
                    }
                }
                if rooms.len() > MAX_ROOMS {
                    return Err(BAD_ROOMS.into());
                }
            }
            Some(_) => return Err(BAD_ROOMS.into()),
        }
        let session = match auth.get("session") {
            None | Some(Value::Null) => None,
            Some(Value::String(session))
                if (8..=64).contains(&session.len())
                    && session.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
            {
                Some(session.clone())
            }
            Some(_) => return Err(BAD_SESSION.into()),
        };
        Ok(Auth { name, server_offset, rooms, session })
    }
}

pub fn not_an_offset(offset: &Value) -> String {
    format!("serverOffset must be a whole number, 0 or more, not {offset}")
}

pub fn beyond_the_log(offset: u64, newest: u64) -> String {
    format!("serverOffset {offset} is beyond the end of the log (the newest offset is {newest}): connect with 0")
}
// ANCHOR_END: auth

// ---- What goes over the wire ---------------------------------------------------------------------------------

// ANCHOR: messages
/// `chat message` from a client: `{"room": "rust", "text": "...", "clientOffset": "..."}`.
#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub room: String,
    pub text: String,
    #[serde(rename = "clientOffset")]
    pub client_offset: String,
    #[serde(flatten)]
    pub other_fields: IgnoredAny,
}

pub const MALFORMED: &str = "expected {\"room\": \"...\", \"text\": \"...\", \"clientOffset\": \"...\"}";
pub const BAD_CLIENT_OFFSET: &str = "a clientOffset is 1 to 64 characters, without control characters";

pub fn valid_client_offset(client_offset: &str) -> Option<&str> {
    let count = client_offset.chars().count();
    ((1..=64).contains(&count) && !client_offset.chars().any(char::is_control)).then_some(client_offset)
}

/// `chat message` to a client, live or replayed: `{"offset": 7, "room": "rust", "name": "alice", "text": ...}`.
#[derive(Debug, Serialize)]
pub struct Post<'a> {
    pub offset: u64,
    pub room: &'a str,
    pub name: &'a str,
    pub text: &'a str,
}

impl<'a> From<&'a Stored> for Post<'a> {
    fn from(message: &'a Stored) -> Post<'a> {
        Post { offset: message.offset, room: &message.room, name: &message.name, text: &message.text }
    }
}

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

/// `join`, `leave`, `typing`, `stop typing`: `{"room": "..."}`.
#[derive(Debug, Deserialize)]
pub struct RoomRequest {
    pub room: String,
    #[serde(flatten)]
    pub other_fields: IgnoredAny,
}

pub const MALFORMED_ROOM: &str = "expected {\"room\": \"...\"}";

/// `private message`: `{"to": "bob", "text": "..."}`, to its addressee as `{"from": "alice", "text": "..."}`.
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

#[derive(Debug, Serialize)]
pub struct Whisper<'a> {
    pub from: &'a str,
    pub text: &'a str,
}

/// `user joined`, `user left`.
#[derive(Debug, Serialize)]
pub struct Member<'a> {
    pub name: &'a str,
}

/// `online`, to a newcomer.
#[derive(Debug, Serialize)]
pub struct Online {
    pub names: Vec<String>,
}

/// `typing` and `stopped typing`.
#[derive(Debug, Serialize)]
pub struct Typist<'a> {
    pub room: &'a str,
    pub name: &'a str,
}
// ANCHOR_END: messages

// ---- Typing (chapter 8) --------------------------------------------------------------------------------------

pub const TYPING_TIMEOUT: Duration = Duration::from_secs(3);

/// One socket's typing timers, one per room.
#[derive(Default)]
pub struct Typing {
    timers: Mutex<HashMap<String, AbortHandle>>,
}

impl Typing {
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

    pub fn stop(&self, room: &str) -> bool {
        self.lock().remove(room).map(|timer| timer.abort()).is_some()
    }

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

// ---- One node (chapter 11), alone or of several ---------------------------------------------------------------

// ANCHOR: node
/// The adapter: socketioxide's Redis adapter on the kit's driver, with a Redis behind it (`--redis`) or, for
/// a server alone, none (see the `cluster` crate).
pub type NodeAdapter = cluster::Adapter<Emitter>;
pub type Io = SocketIo<NodeAdapter>;
pub type Socket = SocketRef<NodeAdapter>;

/// The room of this node's sockets that are caught up to [`Chat::delivered`].
pub const LIVE: &str = "live";
pub const FOLLOW_TICK: Duration = Duration::from_millis(500);
pub const REPLAY_PAGE: usize = 256;

/// What every handler of this node shares (chapter 11).
#[derive(Clone)]
pub struct Chat {
    pub store: Store,
    pub turn: Arc<tokio::sync::Mutex<()>>,
    delivered: Arc<watch::Sender<u64>>,
    news: Arc<Notify>,
    doorbell: cluster::Doorbell,
}

impl Chat {
    pub fn delivered(&self) -> u64 {
        *self.delivered.borrow()
    }

    /// Call it only while holding the turn.
    pub fn set_delivered(&self, offset: u64) {
        self.delivered.send_replace(offset);
    }

    pub async fn delivered_up_to(&self, offset: u64) {
        let mut delivered = self.delivered.subscribe();
        let _ = delivered.wait_for(|delivered| *delivered >= offset).await;
    }

    pub async fn wait_for_news(&self) {
        tokio::select! {
            _ = self.news.notified() => {}
            _ = self.doorbell.next_ring() => {}
            _ = tokio::time::sleep(FOLLOW_TICK) => {}
        }
    }

    fn announce(&self, offset: u64) {
        self.news.notify_one();
        let doorbell = self.doorbell.clone();
        tokio::spawn(async move { doorbell.ring(offset).await });
    }
}
// ANCHOR_END: node

// ANCHOR: send
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

/// A message of the log, serialized once for all the sockets it goes to: with thousands of them, turning the
/// same message into JSON for each would be most of the work of delivering it.
pub struct Prepared {
    offset: u64,
    json: Box<serde_json::value::RawValue>,
}

impl Prepared {
    pub fn new(message: &Stored) -> Prepared {
        let json = serde_json::value::to_raw_value(&Post::from(message)).expect("a message serializes");
        Prepared { offset: message.offset, json }
    }
}

/// Sends one message of the log to one live socket, at once; `false` if its buffer is full, in which case it
/// has left [`LIVE`] and is being caught up again from the message before this one (chapter 9). A socket
/// that is closing is no worry: it reconnects with its offset, or is gone for good.
pub fn send_live(chat: &Chat, socket: &Socket, message: &Prepared) -> bool {
    match socket.emit("chat message", &message.json) {
        Err(SendError::Socket(SocketError::InternalChannelFull)) => {
            socket.leave(LIVE);
            let (chat, socket, after) = (chat.clone(), socket.clone(), message.offset - 1);
            tokio::spawn(async move { caught_up_or_gone(&chat, &socket, after).await });
            false
        }
        _ => true,
    }
}

/// Sends one message of the log to one socket being caught up, waiting for room in its buffer for as long
/// as it is connected (chapter 9).
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
// ANCHOR_END: send

async fn caught_up_or_gone(chat: &Chat, socket: &Socket, after: u64) {
    if let Err(Stopped::Store(error)) = crate::catch_up(chat, socket, after).await {
        eprintln!("could not catch {} up: {error}", socket.id);
        let _ = socket.clone().disconnect();
    }
}

// ANCHOR: follow
/// Chapter 11's follower: delivers the log, as it grows, to this node's live sockets, with your `deliver`.
pub async fn follow(chat: Chat, io: Io) {
    loop {
        chat.wait_for_news().await;
        let _turn = chat.turn.lock().await;
        loop {
            match chat.store.after(chat.delivered(), REPLAY_PAGE).await {
                Ok(page) if page.is_empty() => break,
                Ok(page) => {
                    for message in &page {
                        crate::deliver(&chat, &io, message);
                        chat.set_delivered(message.offset);
                    }
                }
                Err(error) => {
                    eprintln!("the follower could not read the log: {error}");
                    break;
                }
            }
        }
    }
}
// ANCHOR_END: follow

/// Appends a message to the shared log (once: chapter 10) and tells every node's follower.
pub async fn post(chat: &Chat, room: &str, name: &str, text: &str, client_offset: &str) -> Result<u64, StoreError> {
    let offset = chat.store.append(Entry { room, name, text, client_offset: Some(client_offset) }).await?.offset();
    chat.announce(offset);
    Ok(offset)
}

// ---- Presence and private messages, on every node (chapter 11) ----------------------------------------------

pub async fn online(io: &Io) -> Result<Vec<String>, String> {
    let rooms = io.rooms().await.map_err(|error| error.to_string())?;
    let mut names: Vec<String> =
        rooms.iter().filter_map(|room| room.strip_prefix("name:").map(str::to_owned)).collect();
    // By name whatever its case, then by the name itself: repeats side by side, for `dedup`. Each name is
    // lowered once, not at every comparison (with thousands online, that was most of a newcomer's welcome).
    names.sort_by_cached_key(|name| (name.to_lowercase(), name.clone()));
    names.dedup();
    Ok(names)
}

pub async fn whisper(io: &Io, socket: &Socket, from: &str, message: &PrivateMessage) -> Result<(), String> {
    let text = validate_text(&message.text)?;
    let to = message.to.trim();
    let there = io.within(user_room(to)).fetch_sockets().await.map_err(|error| error.to_string())?;
    if there.is_empty() {
        return Err(not_online(to));
    }
    socket
        .to(user_room(to))
        .emit("private message", &Whisper { from, text: &text })
        .await
        .map_err(|error| format!("the message could not be sent: {error}"))
}

// ---- The wiring ----------------------------------------------------------------------------------------------

#[derive(Debug)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// ANCHOR: app
/// Opens the log of `--db`; with `--redis`, joins the other nodes on that Redis, and alone otherwise; starts
/// the follower; builds the server. A connection is admitted by `admit` (the auth checked; your
/// `claim_name`; the rooms of the auth joined; the listeners registered), then welcomed (who is online, a
/// `user joined` to the others, and your `catch_up` from the auth's `serverOffset`).
pub async fn app(settings: &runner::Settings) -> Result<Router, String> {
    let store = Store::open(&settings.database).map_err(|error| error.to_string())?;
    let newest = store.last_offset().await.map_err(|error| error.to_string())?;
    let (adapter, doorbell) = match &settings.redis {
        Some(redis) => cluster::adapter(redis, &settings.redis_prefix).await?,
        None => cluster::alone().await,
    };
    let chat = Chat {
        store,
        turn: Arc::default(),
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
    let admit =
        async move |socket: Socket, io: Io, TryData(auth): TryData<Value>| admit(&admitted, &io, socket, auth).await;
    let welcome = async move |socket: Socket, io: Io, TryData(auth): TryData<Value>| {
        if let Some(auth) = auth.ok().and_then(|auth| Auth::read(Some(&auth)).ok()) {
            welcome(&welcomed, &io, &socket, &auth).await;
        }
    };
    io.ns("/", welcome.with(admit)).await.map_err(|error| format!("cannot reach the other nodes: {error}"))?;
    tokio::spawn(follow(chat, io));
    Ok(Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/chat.js", runner::script(CHAT_SCRIPT))
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
        .route("/socket.io/socket.io.js", get(runner::socket_io_client)))
}

async fn admit(
    chat: &Chat,
    io: &Io,
    socket: Socket,
    auth: Result<Value, socketioxide::ParserError>,
) -> Result<(), Refusal> {
    let auth = Auth::read(auth.as_ref().ok()).map_err(Refusal)?;
    let newest = chat.store.last_offset().await.map_err(|error| Refusal(error.to_string()))?;
    if auth.server_offset > newest {
        return Err(Refusal(beyond_the_log(auth.server_offset, newest)));
    }
    crate::claim_name(io, &socket, &auth).await.map_err(Refusal)?;
    // The rooms the page was in, the lobby first: joined before catching up, so that their messages are
    // replayed.
    socket.join(auth.rooms.clone());
    listen(chat, &socket, auth.name.into());
    Ok(())
}

async fn welcome(chat: &Chat, io: &Io, socket: &Socket, auth: &Auth) {
    let names = online(io).await.unwrap_or_else(|error| {
        eprintln!("who is online could not be asked of every node: {error}");
        Vec::new()
    });
    let _ = socket.emit("online", &Online { names });
    let _ = socket.broadcast().emit("user joined", &Member { name: &auth.name }).await;
    caught_up_or_gone(chat, socket, auth.server_offset).await;
}

fn listen(chat: &Chat, socket: &Socket, name: Arc<str>) {
    let limit = Arc::new(RateLimit::new());
    let typing = Arc::new(Typing::default());

    let allowance = limit.clone();
    socket.on(
        "join",
        async move |socket: Socket, TryData(request): TryData<RoomRequest>, ack: AckSender<NodeAdapter>| {
            let answer = match request.as_ref().map(|request| valid_room(&request.room)) {
                _ if !allowance.allow() => Ack::error(SLOW_DOWN),
                Ok(Some(room)) if is_member(&socket, room) => Ack::ok(),
                Ok(Some(_)) if chat_rooms(&socket).len() >= MAX_ROOMS => Ack::error(TOO_MANY_ROOMS),
                Ok(Some(room)) => {
                    socket.join(room.to_owned());
                    Ack::ok()
                }
                Ok(None) => Ack::error(ROOM_INVALID),
                Err(_) => Ack::error(MALFORMED_ROOM),
            };
            let _ = ack.send(&answer);
        },
    );

    let (leaver, timers) = (name.clone(), typing.clone());
    socket.on(
        "leave",
        async move |socket: Socket, TryData(request): TryData<RoomRequest>, ack: AckSender<NodeAdapter>| {
            let answer = match request.as_ref().map(|request| valid_room(&request.room)) {
                Ok(Some(room)) if is_member(&socket, room) => {
                    if timers.stop(room) {
                        stopped_typing(&socket, room, &leaver).await;
                    }
                    socket.leave(room.to_owned());
                    Ack::ok()
                }
                Ok(Some(room)) => Ack::error(not_a_member(room)),
                Ok(None) => Ack::error(ROOM_INVALID),
                Err(_) => Ack::error(MALFORMED_ROOM),
            };
            let _ = ack.send(&answer);
        },
    );

    let (chat, sender, allowance, timers) = (chat.clone(), name.clone(), limit.clone(), typing.clone());
    socket.on(
        "chat message",
        async move |socket: Socket, TryData(message): TryData<ChatMessage>, ack: AckSender<NodeAdapter>| {
            let answer = match message {
                _ if !allowance.allow() => Ack::error(SLOW_DOWN),
                Err(_) => Ack::error(MALFORMED),
                Ok(message) => match (
                    valid_room(&message.room),
                    validate_text(&message.text),
                    valid_client_offset(&message.client_offset),
                ) {
                    (None, _, _) => Ack::error(ROOM_INVALID),
                    (Some(room), _, _) if !is_member(&socket, room) => Ack::error(not_a_member(room)),
                    (_, Err(reason), _) => Ack::error(reason),
                    (_, _, None) => Ack::error(BAD_CLIENT_OFFSET),
                    (Some(room), Ok(text), Some(client_offset)) => {
                        if timers.stop(room) {
                            stopped_typing(&socket, room, &sender).await;
                        }
                        match post(&chat, room, &sender, &text, client_offset).await {
                            Ok(offset) => Ack::stored(offset),
                            Err(error) => Ack::error(format!("the message could not be stored: {error}")),
                        }
                    }
                },
            };
            let _ = ack.send(&answer);
        },
    );

    let (typist, allowance, timers) = (name.clone(), limit.clone(), typing.clone());
    socket.on("typing", async move |socket: Socket, TryData(request): TryData<RoomRequest>| {
        let Ok(request) = request else { return };
        let Some(room) = valid_room(&request.room) else { return };
        if !is_member(&socket, room) || !allowance.allow() {
            return;
        }
        let _ = socket.to(room.to_owned()).emit("typing", &Typist { room, name: &typist }).await;
        let (socket, room_name, name) = (socket.clone(), room.to_owned(), typist.clone());
        timers.start(room, async move { stopped_typing(&socket, &room_name, &name).await });
    });

    let (typist, timers) = (name.clone(), typing.clone());
    socket.on("stop typing", async move |socket: Socket, TryData(request): TryData<RoomRequest>| {
        if let Ok(Some(room)) = request.as_ref().map(|request| valid_room(&request.room))
            && timers.stop(room)
        {
            stopped_typing(&socket, room, &typist).await;
        }
    });

    let (sender, allowance) = (name.clone(), limit);
    socket.on(
        "private message",
        async move |socket: Socket, io: Io, TryData(message): TryData<PrivateMessage>, ack: AckSender<NodeAdapter>| {
            let answer = match message {
                _ if !allowance.allow() => Ack::error(SLOW_DOWN),
                Err(_) => Ack::error(MALFORMED_PRIVATE),
                Ok(message) => match whisper(&io, &socket, &sender, &message).await {
                    Ok(()) => Ack::ok(),
                    Err(reason) => Ack::error(reason),
                },
            };
            let _ = ack.send(&answer);
        },
    );

    socket.on_disconnect(async move |socket: Socket| {
        for room in typing.stop_all() {
            stopped_typing(&socket, &room, &name).await;
        }
        let _ = socket.broadcast().emit("user left", &Member { name: &name }).await;
    });
}

async fn stopped_typing(socket: &Socket, room: &str, name: &str) {
    let _ = socket.to(room.to_owned()).emit("stopped typing", &Typist { room, name }).await;
}
// ANCHOR_END: app
