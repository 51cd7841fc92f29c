//! Given: the wire protocol of this chapter, and the routes that lead to your code. You do not need to change
//! this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Html;
use axum::routing::get;

/// The page: chapter 1's chat page, plus a script that shows what arrives on the WebSocket.
pub const CHAT_PAGE: &str = include_str!("../static/index.html");

/// The page's script, served at `/chat.js` (the page's security policy runs no inline script).
pub const CHAT_SCRIPT: &str = include_str!("../static/chat.js");

/// The first message the server sends on every new WebSocket.
pub const GREETING: &str = "welcome";

/// How often the server pushes a `tick N` message.
pub const TICK_INTERVAL: Duration = Duration::from_millis(200);

// ANCHOR: limits
/// The largest message, and the largest frame, a client may send: 64 KiB. An echo server has no protocol
/// that says how long a message is, so this is simply "far more than a person types".
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The WebSocket upgrade with the kit's limits: a longer message, or a longer frame, closes the connection.
/// Without the frame limit, the library would read a frame of up to 16 MiB into memory before it could tell
/// that the message is too long.
pub fn within_limits(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.max_message_size(MAX_MESSAGE_BYTES).max_frame_size(MAX_MESSAGE_BYTES)
}
// ANCHOR_END: limits

/// The routes of chapter 1, plus `/ws`, answered by your `upgrade` in `main.rs` within the limits above.
pub fn app() -> Router {
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/chat.js", runner::script(CHAT_SCRIPT))
        .route("/health", get(|| async { "ok" }))
        .route("/ws", get(async |ws: WebSocketUpgrade| crate::upgrade(within_limits(ws)).await))
}
