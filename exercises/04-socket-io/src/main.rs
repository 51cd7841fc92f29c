//! Chapter 4: Socket.IO.
//!
//! Mount a Socket.IO server on chapter 1's axum app. Socket.IO runs over HTTP first (long-polling), then
//! upgrades to a WebSocket when it can; socketioxide does all of that as a tower layer on the router.
//!
//! 1. `app()` keeps `/` and `/health`, serves the page's script at `/chat.js`, adds the socketioxide layer
//!    (the given [`socket_io`] makes it, with the kit's limits), and registers [`on_connect`] for the default
//!    namespace `/`;
//! 2. it also serves the official browser client at `/socket.io/socket.io.js` (the handler is given:
//!    `runner::socket_io_client`); the route must come *after* the layer, which answers everything else
//!    under `/socket.io/`;
//! 3. each new socket is greeted with a `welcome` event carrying [`WELCOME`];
//! 4. each `echo` event a client emits is emitted straight back to that client as `echo`, data unchanged.
//!
//! `cargo test -p ex04-socket-io` checks all of it; `book/src/04-socket-io.md` explains it.
//!
//! Run it with `cargo run -p ex04-socket-io -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

use axum::Router;
use socketioxide::extract::SocketRef;

// Given, in `src/protocol.rs`: the page, its script, `WELCOME`, and `socket_io()`, the Socket.IO layer with
// the kit's limits. Yours: the code below.
mod protocol;
#[allow(unused_imports, reason = "unused until `app` and `on_connect` use the given code")]
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

// ANCHOR: app
/// Chapter 1's routes, the Socket.IO layer, and the browser client's route.
fn app() -> Router {
    // TODO: create the layer with the given `socket_io()` (it is `SocketIo::new_layer()` with the kit's
    // limits), register `on_connect` for "/", and build the
    // router: `/`, `/chat.js` and `/health`, then `.layer(...)`, then the route for `/socket.io/socket.io.js`.
    todo!("chapter 4, section \"Mounting Socket.IO on axum\": build the app")
}
// ANCHOR_END: app

// ANCHOR: on_connect
/// Runs once for every socket that connects to the namespace `/`.
#[allow(dead_code, reason = "unused until `app` registers it")]
async fn on_connect(socket: SocketRef) {
    // TODO: emit `welcome` with WELCOME; register a listener for `echo` that emits the data back as `echo`.
    let _ = socket;
    todo!("chapter 4, section \"Events over the connection\": greet and echo")
}
// ANCHOR_END: on_connect
