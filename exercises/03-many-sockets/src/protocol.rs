//! Given: the wire protocol of this chapter, the hub's types, and the routes that lead to your code. You do not
//! need to change this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, Utf8Bytes};
use axum::response::Html;
use axum::routing::get;
use tokio::sync::broadcast;
use tokio::time::{Instant, Interval, MissedTickBehavior, interval_at};

/// The page: the chat page with a script that chats over the WebSocket.
pub const CHAT_PAGE: &str = include_str!("../static/index.html");

/// The page's script, served at `/chat.js` (the page's security policy runs no inline script).
pub const CHAT_SCRIPT: &str = include_str!("../static/chat.js");

/// How many chat lines the channel keeps for a reader that has fallen behind.
pub const CHANNEL_CAPACITY: usize = 64;

/// The largest message (and frame) the server accepts, in bytes. A chat line is short; a megabyte is an attack.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The reason given with close code 1009 ("message too big") to a client that sent more than
/// [`MAX_MESSAGE_BYTES`].
pub const TOO_BIG: &str = "message too big: at most 64 KiB";

/// Whether a failed read (the `Err` that `socket.recv()` returns) means that the client's message or frame
/// was longer than the upgrade's limits allow. axum wraps the WebSocket library's error; the library says
/// which it is.
pub fn is_too_big(error: &axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error;
    let cause = std::error::Error::source(error).and_then(|cause| cause.downcast_ref::<Error>());
    matches!(cause, Some(Error::Capacity(_)))
}

// ANCHOR: heartbeat
/// How often the server pings a quiet client.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);

/// Notices a client that is gone without saying so (a laptop closed, a network cut): the server pings it
/// every [`HEARTBEAT_INTERVAL`], and a client that has sent nothing at all (not even the pong that every
/// WebSocket client sends back by itself) by the next beat is dropped.
pub struct Heartbeat {
    beats: Interval,
    heard: bool,
}

impl Heartbeat {
    pub fn new() -> Heartbeat {
        let mut beats = interval_at(Instant::now() + HEARTBEAT_INTERVAL, HEARTBEAT_INTERVAL);
        beats.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Heartbeat { beats, heard: true }
    }

    /// Waits for the next beat: one branch of your `select!`.
    pub async fn tick(&mut self) {
        self.beats.tick().await;
    }

    /// Call it for everything the client sends: it is alive.
    pub fn heard(&mut self) {
        self.heard = true;
    }

    /// At a beat: the ping to send, or `None` if the client has been silent since the last one (drop it).
    pub fn beat(&mut self) -> Option<Message> {
        std::mem::replace(&mut self.heard, false).then(|| Message::Ping(Default::default()))
    }
}
// ANCHOR_END: heartbeat

impl Default for Heartbeat {
    fn default() -> Heartbeat {
        Heartbeat::new()
    }
}

/// The first message each client receives: `you are 127.0.0.1:54321`.
pub fn introduction(client: SocketAddr) -> String {
    format!("you are {client}")
}

/// How a chat line is shown to the others: `127.0.0.1:54321: hello`.
pub fn relayed(from: SocketAddr, text: &str) -> String {
    format!("{from}: {text}")
}

/// What a client that fell behind is told: `you missed 12 messages`.
pub fn missed(count: u64) -> String {
    format!("you missed {count} messages")
}

// ANCHOR: hub
/// One chat line on its way through the channel. `Utf8Bytes` clones without copying the text.
#[derive(Debug, Clone)]
pub struct Post {
    pub from: SocketAddr,
    pub text: Utf8Bytes,
}

/// What every connection shares: the sending end of the channel. Each connection subscribes its own receiver.
/// You write `Hub::new`, in `main.rs`.
#[derive(Clone)]
pub struct Hub {
    pub posts: broadcast::Sender<Post>,
}
// ANCHOR_END: hub

impl Default for Hub {
    fn default() -> Hub {
        Hub::new()
    }
}

/// The routes of chapter 1, and the chat at `/ws` (your `upgrade`, in `main.rs`), all sharing one `Hub`.
pub fn app() -> Router {
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/chat.js", runner::script(CHAT_SCRIPT))
        .route("/health", get(|| async { "ok" }))
        .route("/ws", get(crate::upgrade))
        .with_state(Hub::new())
}
