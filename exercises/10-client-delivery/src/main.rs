//! Chapter 10: Client delivery, the server's side.
//!
//! Chapter 9's server sends every message it has stored to everyone, even to clients that were away. But a
//! message can also be lost on its way *to* the server: the connection breaks after the client sent it, and
//! the client cannot know whether it arrived. So the client sends it again, and the server must then not
//! store or show it twice. Each message comes with the client's own number for it, its *client offset*, and
//! your server:
//!
//! 1. [`post`]: appends a message with its client offset; if its sender had sent it before (same client
//!    offset), it is not stored or delivered again, and it is acknowledged with the offset it got the first
//!    time.
//!
//! The other half of the chapter is the client, in `src/client/main.rs`. `cargo test -p ex10-client-delivery`
//! checks both; `book/src/10-client-delivery.md` explains them.
//!
//! Run it with `cargo run -p ex10-client-delivery -- --port 3000` (the messages go to `chat.db`; `--db PATH`
//! chooses another file), then open http://127.0.0.1:3000/?name=alice, or run the client:
//! `cargo run -p ex10-client-delivery --bin ex10-client -- --name bob`.

use socketioxide::SocketIo;

// Given, in `src/protocol.rs`: the previous chapters' work (chapter 9's `deliver`, `replay` and `catch_up`
// among it), the log (`Store`, `Appended`), and `app()`, which calls the function below. Yours: the code below.
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run_with(runner::Takes::DATABASE, app).await
}

// ANCHOR: post
/// Appends a message to the log, unless its sender has sent it before, and delivers it to every live socket
/// if it is new; returns its offset, the first one it got, which the sender's acknowledgement carries.
async fn post(chat: &Chat, io: &SocketIo, name: &str, text: &str, client_offset: &str) -> Result<u64, StoreError> {
    // TODO: as in chapter 9, hold the turn from the append to the delivery; append an `Entry` with
    // `client_offset: Some(client_offset)`. `Appended::New(offset)`: deliver it; `Appended::Duplicate(offset)`:
    // the sender sent it again (its acknowledgement was lost, say), so deliver nothing. Either way, the offset.
    let _ = (chat, io, name, text, client_offset);
    todo!("chapter 10, section \"Storing once\": append the message unless it is a duplicate")
}
// ANCHOR_END: post
