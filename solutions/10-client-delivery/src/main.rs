//! Chapter 10, reference solution, the server: chapter 9's, storing each message once whatever number of
//! times its client sends it.
//!
//! Run it with `cargo run -p sol10-client-delivery -- --port 3000`.

use socketioxide::SocketIo;

// The given code is the exercise's own file, not a copy, so the starter and the solution cannot drift apart.
#[path = "../../../exercises/10-client-delivery/src/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run_with(runner::Takes::DATABASE, app).await
}

async fn post(chat: &Chat, io: &SocketIo, name: &str, text: &str, client_offset: &str) -> Result<u64, StoreError> {
    let _turn = chat.turn.lock().await;
    let entry = Entry { room: LOBBY, name, text, client_offset: Some(client_offset) };
    match chat.store.append(entry).await? {
        Appended::New(offset) => {
            deliver(chat, io, &Stored { offset, room: LOBBY.to_owned(), name: name.to_owned(), text: text.to_owned() });
            Ok(offset)
        }
        // Sent again (its acknowledgement was lost, or the connection broke before it came): it is in the log
        // and was delivered the first time. Only the acknowledgement is repeated.
        Appended::Duplicate(offset) => Ok(offset),
    }
}
