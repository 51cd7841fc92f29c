//! Chapter 4, reference solution: socketioxide mounted on axum, with a greeting and an echo.
//!
//! Run it with `cargo run -p sol04-socket-io -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::Value;
use socketioxide::extract::{Data, SocketRef};

// The given code is the exercise's own file, not a copy, so the starter and the solution cannot drift apart.
#[path = "../../../exercises/04-socket-io/src/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

fn app() -> Router {
    let (layer, io) = socket_io();
    io.ns("/", on_connect);
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/chat.js", runner::script(CHAT_SCRIPT))
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
        // Added after the layer, so the layer does not wrap it: the layer answers every other path under
        // /socket.io/ itself, and would otherwise treat this request as a malformed handshake.
        .route("/socket.io/socket.io.js", get(runner::socket_io_client))
}

async fn on_connect(socket: SocketRef) {
    // The socket is already in the namespace here, so an emit now reaches the client. It fails only if the
    // client has already gone, and then there is nobody to tell.
    let _ = socket.emit("welcome", WELCOME);
    socket.on("echo", async |socket: SocketRef, Data(data): Data<Value>| {
        let _ = socket.emit("echo", &data);
    });
}
