//! Chapter 3: One server, many sockets.
//!
//! Turn chapter 2's echo into a chat. Every client connects to the same `/ws`; the server tells each one
//! who it is, and relays every text message to all the *other* clients:
//!
//! 1. on connect, send the client [`introduction`] of its own address (the address and port the server sees);
//! 2. when a client sends text, every other client receives [`relayed`] from the sender's address;
//! 3. a client that leaves, politely or not, breaks nobody;
//! 4. a client too slow to keep up never holds up the others: it misses messages and is told so with [`missed`].
//!
//! All connections meet in one in-process channel, a `tokio::sync::broadcast` of capacity [`CHANNEL_CAPACITY`].
//! `cargo test -p ex03-many-sockets` checks all of it; `book/src/03-many-sockets.md` explains it.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ws::{Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{Html, Response};
use axum::routing::get;
use tokio::sync::broadcast;

/// The page: the chat page with a script that chats over the WebSocket.
pub const CHAT_PAGE: &str = include_str!("../static/index.html");

/// How many chat lines the channel keeps for a reader that has fallen behind.
pub const CHANNEL_CAPACITY: usize = 64;

/// The largest message the server accepts, in bytes. A chat line is short; a megabyte is an attack.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

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
#[derive(Clone)]
pub struct Hub {
    pub posts: broadcast::Sender<Post>,
}

impl Hub {
    pub fn new() -> Hub {
        // TODO: create a broadcast channel of CHANNEL_CAPACITY and keep its sending end.
        todo!("chapter 3, section \"One channel, many subscribers\": create the channel")
    }
}

impl Default for Hub {
    fn default() -> Hub {
        Hub::new()
    }
}
// ANCHOR_END: hub

/// The routes of chapter 1, and the chat at `/ws`, all sharing one `Hub`.
pub fn app() -> Router {
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/health", get(|| async { "ok" }))
        .route("/ws", get(upgrade))
        .with_state(Hub::new())
}

// ANCHOR: connection
/// Accepts the WebSocket; `ConnectInfo` says which address and port this client connects from.
async fn upgrade(
    ws: WebSocketUpgrade,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    State(hub): State<Hub>,
) -> Response {
    // TODO: limit the message size to MAX_MESSAGE_BYTES, and hand the socket, `client` and `hub` to `chat`.
    let _ = (ws, client, hub);
    todo!("chapter 3, section \"Telling clients apart\": accept the upgrade")
}

/// Serves one client: introduce, then relay both ways until it leaves.
#[allow(dead_code, reason = "unused until `upgrade` hands it the socket")]
async fn chat(socket: WebSocket, me: SocketAddr, hub: Hub) {
    // TODO: subscribe to the hub, send the introduction, then loop: wait for whichever comes first, a message
    // from this client (publish it) or a post from the channel (forward it unless it is this client's own;
    // if the receiver lagged, send `missed(n)`).
    let _ = (socket, me, hub);
    todo!("chapter 3, section \"Relaying\": introduce and relay")
}
// ANCHOR_END: connection
