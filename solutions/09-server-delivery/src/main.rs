//! Chapter 9, reference solution: a durable log with offsets, and clients that catch up from theirs.
//!
//! Run it with `cargo run -p sol09-server-delivery -- --port 3000` (the messages go to `chat.db`; `--db PATH`
//! chooses another file), then open http://127.0.0.1:3000/?name=alice in one window and
//! http://127.0.0.1:3000/?name=bob in another.

use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;

// The given code is the exercise's own file, not a copy, so the starter and the solution cannot drift apart.
#[path = "../../../exercises/09-server-delivery/src/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run_with(runner::Takes::DATABASE, app).await
}

async fn post(chat: &Chat, io: &SocketIo, name: &str, text: &str) -> Result<u64, StoreError> {
    // One message at a time, from its append to its delivery: the live sockets get the messages in the order
    // of their offsets, and no socket can go live between a message's append and its delivery.
    let _turn = chat.turn.lock().await;
    let offset = chat.store.append(Entry { room: LOBBY, name, text, client_offset: None }).await?.offset();
    deliver(chat, io, &Stored { offset, room: LOBBY.to_owned(), name: name.to_owned(), text: text.to_owned() });
    Ok(offset)
}

async fn catch_up(chat: &Chat, socket: &SocketRef, mut after: u64) -> Result<(), Stopped> {
    loop {
        // Without the turn: the log up to its end as it is now, a page at a time. Senders carry on meanwhile.
        let page = chat.store.after(after, REPLAY_PAGE).await?;
        for message in &page {
            replay(socket, message).await?;
            after = message.offset;
        }
        if page.len() == REPLAY_PAGE {
            continue;
        }
        // With the turn: nobody can append until we let go. If nothing came in since the last read, going live
        // now misses nothing and repeats nothing; otherwise, let go and replay what came.
        let _turn = chat.turn.lock().await;
        if chat.store.after(after, 1).await?.is_empty() {
            socket.join(LIVE);
            return Ok(());
        }
    }
}
