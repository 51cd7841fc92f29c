//! Chapter 6, reference solution: a chat message to everyone, join and leave notices to everyone else.
//!
//! Run it with `cargo run -p sol06-broadcasting -- --port 3000`, then open http://127.0.0.1:3000/?name=alice in one tab
//! and http://127.0.0.1:3000/?name=bob in another.

use std::sync::Arc;

use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::{ParserError, SocketIo};

// The given code is the exercise's own file, not a copy, so the starter and the solution cannot drift apart.
#[path = "../../../exercises/06-broadcasting/src/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

async fn chat_message(
    io: &SocketIo,
    name: &str,
    limit: &RateLimit,
    message: Result<ChatMessage, ParserError>,
    ack: AckSender,
) {
    // A flood is refused before anything else is done with it: it costs the server a token count, and the
    // others nothing. The client stays connected; it is only slowed down.
    if !limit.allow() {
        let _ = ack.send(&Ack::error(SLOW_DOWN));
        return;
    }
    let answer = match message.map_err(|_| MALFORMED).and_then(validate) {
        Ok(text) => {
            // Everyone, the sender included, and before the acknowledgement: the sender sees its own message
            // first. An error means that some recipients could not be reached (a socket that is leaving right
            // now, or one so far behind that its buffer is full); every other socket has its copy, so the
            // message *was* sent and the sender is told so.
            let _ = io.emit("chat message", &Post { name, text: &text }).await;
            Ack::ok()
        }
        Err(reason) => Ack::error(reason),
    };
    // Fails if the sender has gone in the meantime (then there is nobody to tell), or if its buffer is full
    // (a client that does not read its acknowledgements loses them).
    let _ = ack.send(&answer);
}

async fn announce_arrival(socket: &SocketRef, name: &str) {
    // Everyone in the namespace but this socket. As above, an error concerns only the unreachable.
    let _ = socket.broadcast().emit("user joined", &Member { name }).await;
}

fn when_leaving(socket: &SocketRef, name: Arc<str>) {
    // The handler runs once the socket is gone from the client's side; `broadcast()` still leaves it out.
    socket.on_disconnect(async move |socket: SocketRef| {
        let _ = socket.broadcast().emit("user left", &Member { name: &name }).await;
    });
}
