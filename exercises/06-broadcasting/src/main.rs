//! Chapter 6: Broadcasting.
//!
//! Until now the server answered each client on its own. A chat is shared: what one person says, everyone
//! sees. This chapter keeps chapter 5's `chat message` event, its checks and its acknowledgements (all given
//! in `src/protocol.rs`, as the previous chapter's work), and changes *who hears what*:
//!
//! 1. [`chat_message`]: a valid message goes to **everyone, the sender included**, as `chat message`
//!    `{"name": NAME, "text": TEXT}`, and only then is acknowledged with `{"ok": true}` (so the sender sees its
//!    own message before the acknowledgement). An invalid one is acknowledged with an error, as in chapter 5,
//!    and goes nowhere; so does one sent faster than the client's [`RateLimit`] allows, acknowledged with
//!    [`SLOW_DOWN`];
//! 2. [`announce_arrival`]: when a socket connects, `user joined` `{"name": NAME}` goes to **everyone but the
//!    newcomer**;
//! 3. [`when_leaving`]: when a socket disconnects, `user left` `{"name": NAME}` goes to everyone still here.
//!
//! A client says who it is in the Socket.IO handshake's `auth`: `{"name": "alice"}` (see [`name_from`]).
//!
//! `cargo test -p ex06-broadcasting` checks all of it; `book/src/06-broadcasting.md` explains it.
//!
//! Run it with `cargo run -p ex06-broadcasting -- --port 3000`, then open http://127.0.0.1:3000/?name=alice in one tab
//! and http://127.0.0.1:3000/?name=bob in another.

use std::sync::Arc;

use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::{ParserError, SocketIo};

// Given, in `src/protocol.rs`: chapter 5's payload, acknowledgement and `validate`, `app()`, the names
// (`name_from`, `Post`, `Member`), and the connect handler that calls the three functions below.
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

// ANCHOR: chat_message
/// Handles one `chat message` from the client called `name`: one sent faster than `limit` allows is
/// acknowledged with [`SLOW_DOWN`] and goes nowhere; a valid one goes to every socket, the sender included, as
/// a [`Post`], and then is acknowledged with [`Ack::ok`]; an invalid one is acknowledged with the reason
/// ([`MALFORMED`] if it did not even parse) and goes nowhere.
async fn chat_message(
    io: &SocketIo,
    name: &str,
    limit: &RateLimit,
    message: Result<ChatMessage, ParserError>,
    ack: AckSender,
) {
    // TODO: first `limit.allow()`: if it says no, acknowledge SLOW_DOWN and stop. Then as in chapter 5, but
    // emit the `Post` with `io.emit(...)` (every socket) instead of back to the sender, and emit *before*
    // `ack.send(...)`. Think about what an error from `io.emit` means: who got it?
    let _ = (io, name, limit, message, ack);
    todo!("chapter 6, section \"Everyone, including the sender\": send the message to every socket, then ack")
}
// ANCHOR_END: chat_message

// ANCHOR: announce_arrival
/// Tells every socket except the newcomer that `name` joined: `user joined` with a [`Member`].
async fn announce_arrival(socket: &SocketRef, name: &str) {
    // TODO: `socket.broadcast()` selects every socket of the namespace but this one; emit on it.
    let _ = (socket, name);
    todo!("chapter 6, section \"Everyone but the sender\": announce the newcomer to the others")
}
// ANCHOR_END: announce_arrival

// ANCHOR: when_leaving
/// Arranges that, when this socket disconnects, everyone still connected hears `user left` with a [`Member`].
fn when_leaving(socket: &SocketRef, name: Arc<str>) {
    // TODO: register `socket.on_disconnect(async move |socket: SocketRef| { ... })`; inside, emit to
    // `socket.broadcast()`.
    let _ = (socket, name);
    todo!("chapter 6, section \"Joining and leaving\": announce departures")
}
// ANCHOR_END: when_leaving
