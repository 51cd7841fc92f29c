//! Chapter 3: One server, many sockets.
//!
//! Turn chapter 2's echo into a chat. Every client connects to the same `/ws`; the server tells each one
//! who it is, and relays every text message to all the *other* clients:
//!
//! 1. on connect, send the client [`introduction`] of its own address (the address and port the server sees);
//! 2. when a client sends text, every other client receives [`relayed`] from the sender's address;
//! 3. a client that leaves, politely or not, breaks nobody;
//! 4. a client too slow to keep up never holds up the others: it misses messages and is told so with [`missed`];
//! 5. a message longer than [`MAX_MESSAGE_BYTES`] closes that client's connection with close code 1009 ("message
//!    too big"), and a client silent for a whole [`HEARTBEAT_INTERVAL`] after a ping is dropped ([`Heartbeat`]).
//!
//! All connections meet in one in-process channel, a `tokio::sync::broadcast` of capacity [`CHANNEL_CAPACITY`].
//! `cargo test -p ex03-many-sockets` checks all of it; `book/src/03-many-sockets.md` explains it.
//!
//! Run it with `cargo run -p ex03-many-sockets -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

use std::net::SocketAddr;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;

// Given, in `src/protocol.rs`: the constants, `introduction`, `relayed`, `missed`, `Post`, `Hub` and `app()`.
// Yours: the code below.
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

// ANCHOR: hub
impl Hub {
    /// Creates the one channel that every connection shares (`app()` calls it once).
    pub fn new() -> Hub {
        // TODO: create a broadcast channel of CHANNEL_CAPACITY and keep its sending end.
        todo!("chapter 3, section \"One channel, many subscribers\": create the channel")
    }
}
// ANCHOR_END: hub

// ANCHOR: connection
/// Accepts the WebSocket; `ConnectInfo` says which address and port this client connects from.
async fn upgrade(
    ws: WebSocketUpgrade,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    State(hub): State<Hub>,
) -> Response {
    // TODO: limit the message size *and* the frame size to MAX_MESSAGE_BYTES, and hand the socket, `client`
    // and `hub` to `chat`.
    let _ = (ws, client, hub);
    todo!("chapter 3, section \"Telling clients apart\": accept the upgrade")
}

/// Serves one client: introduce, then relay both ways until it leaves.
#[allow(dead_code, reason = "unused until `upgrade` hands it the socket")]
async fn chat(socket: WebSocket, me: SocketAddr, hub: Hub) {
    // TODO: subscribe to the hub, send the introduction, then loop: wait for whichever comes first, a message
    // from this client (publish it; an error that `is_too_big` gets a close frame with code 1009 and TOO_BIG),
    // a post from the channel (forward it unless it is this client's own; if the receiver lagged, send
    // `missed(n)`), or the next beat of a `Heartbeat` (send its ping, or drop a silent client).
    let _ = (socket, me, hub);
    todo!("chapter 3, section \"Relaying\": introduce and relay")
}
// ANCHOR_END: connection
