//! Chapter 2: WebSockets.
//!
//! Chapter 1's server answers when asked. Now add a WebSocket endpoint at `/ws`, a conversation in which both
//! sides may speak at any time. Once a client has connected, your server:
//!
//! 1. greets it with the text [`GREETING`] straight away, before the client sends anything;
//! 2. sends `tick 1`, `tick 2`, ... every [`TICK_INTERVAL`], whether or not the client says anything;
//! 3. echoes every message the client sends: text back as text, binary back as binary;
//! 4. when the client closes the connection, stops cleanly.
//!
//! `cargo test -p ex02-websockets` checks all of it; `book/src/02-websockets.md` explains it.
//!
//! Run it with `cargo run -p ex02-websockets -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::Response;

// Given, in `src/protocol.rs`: `CHAT_PAGE`, `GREETING`, `TICK_INTERVAL` and `app()`. Yours: the code below.
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

// ANCHOR: starter
/// Answers the HTTP request that asks to switch to the WebSocket protocol.
async fn upgrade(ws: WebSocketUpgrade) -> Response {
    // TODO: accept the upgrade, and hand the new socket to `converse`.
    let _ = ws;
    todo!("chapter 2, section \"From HTTP to WebSocket\": accept the upgrade")
}

/// Talks with one client until it leaves: greet, tick, echo, stop on close.
#[allow(dead_code, reason = "unused until `upgrade` hands it the socket")]
async fn converse(socket: WebSocket) {
    // TODO: send GREETING; then, in one loop, wait for whichever comes first: the next tick (send `tick N`) or
    // the client's next message (echo it; on a close or an error, return).
    let _ = socket;
    todo!("chapter 2, section \"Both sides at once\": greet, tick and echo")
}
// ANCHOR_END: starter
