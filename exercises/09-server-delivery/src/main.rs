//! Chapter 9: Server delivery.
//!
//! Until now a message reached whoever was connected at the moment it was sent, and nobody else: a client
//! that was away (a tunnel, a closed laptop, a server restart) missed it for good. From this chapter on, the
//! server keeps every message it accepts in a log on disk, numbered by its *offset*, and a client that comes
//! back says where it stopped (`auth.serverOffset`). Your server:
//!
//! 1. [`post`]: appends each accepted message to the log and delivers it to every live socket, with its
//!    offset, in the order of the offsets;
//! 2. [`catch_up`]: sends a client that connects everything after its `serverOffset`, in order, exactly once,
//!    and only then lets it get messages live.
//!
//! `cargo test -p ex09-server-delivery` checks it; `book/src/09-server-delivery.md` explains it.
//!
//! Run it with `cargo run -p ex09-server-delivery -- --port 3000` (the messages go to `chat.db`; `--db PATH`
//! chooses another file), then open http://127.0.0.1:3000/?name=alice in one window and
//! http://127.0.0.1:3000/?name=bob in another.

use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;

// Given, in `src/protocol.rs`: the previous chapters' checks, the handshake's auth, the log (`Store`), the
// turn (`Chat::turn`), the ways of sending a message to sockets (`deliver`, `replay`), and `app()`, which
// calls the functions below. Yours: the code below.
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run_with(runner::Takes::DATABASE, app).await
}

// ANCHOR: post
/// Appends a message to the log and delivers it to every live socket; returns its offset, which the sender's
/// acknowledgement carries.
async fn post(chat: &Chat, io: &SocketIo, name: &str, text: &str) -> Result<u64, StoreError> {
    // TODO: take the turn (`chat.turn.lock().await`) and keep it to the end; append an `Entry` to
    // `chat.store` (room LOBBY, no client offset); `deliver` the `Stored` message with its offset.
    let _ = (chat, io, name, text);
    todo!("chapter 9, section \"Appending in order\": append the message, then deliver it")
}
// ANCHOR_END: post

// ANCHOR: catch_up
/// Sends `socket` every message after offset `after`, in order and once each, then puts it in [`LIVE`].
async fn catch_up(chat: &Chat, socket: &SocketRef, after: u64) -> Result<(), Stopped> {
    // TODO: read the log after `after`, REPLAY_PAGE messages at a time (`chat.store.after`), and `replay` each.
    // Then take the turn: if there is nothing after the last one you sent, join LIVE; otherwise let go of the
    // turn and replay what came in meanwhile.
    let _ = (chat, socket, after);
    todo!("chapter 9, section \"Catching up\": replay what the client missed, then make it live")
}
// ANCHOR_END: catch_up
