//! Chapter 5, reference solution: a typed, validated `chat message` listener with acknowledgements.
//!
//! Run it with `cargo run -p sol05-events -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

use serde_json::json;
use socketioxide::SocketIoBuilder;
use socketioxide::extract::{AckSender, SocketRef, TryData};

// The given code is the exercise's own file, not a copy, so the starter and the solution cannot drift apart.
#[path = "../../../exercises/05-events/src/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

/// The polling limit bounds a request body (and a response); the WebSocket limits bound a message, and each
/// frame, so that no frame is read whole before the message limit could refuse it.
fn limits(builder: SocketIoBuilder) -> SocketIoBuilder {
    builder.max_payload(MAX_PAYLOAD_BYTES).ws_max_message_size(MAX_MESSAGE_BYTES).ws_max_frame_size(MAX_MESSAGE_BYTES)
}

fn validate(message: ChatMessage) -> Result<String, &'static str> {
    let text = message.text.trim();
    if text.is_empty() {
        Err(EMPTY)
    } else if text.chars().count() > MAX_TEXT_CHARS {
        Err(TOO_LONG)
    } else {
        Ok(text.to_owned())
    }
}

async fn on_connect(socket: SocketRef) {
    // Each event name has its own listener; an event with no listener is dropped by socketioxide.
    socket.on("chat message", on_chat_message);
    socket.on("ping", on_ping);
}

/// `TryData` rather than `Data`: with `Data`, a payload that does not deserialise never reaches the handler,
/// and the client waits for an acknowledgement that never comes. With `TryData` we can say what was wrong.
async fn on_chat_message(socket: SocketRef, TryData(message): TryData<ChatMessage>, ack: AckSender) {
    let checked = match message {
        Ok(message) => validate(message),
        Err(_) => Err(MALFORMED),
    };
    let reply = match checked {
        Ok(text) => {
            // Emitted before the acknowledgement, so the sender sees its message before the "ok".
            let _ = socket.emit("chat message", &json!({ "text": text }));
            Ack::ok()
        }
        Err(reason) => Ack::error(reason),
    };
    // Fails only if the client has already left: then there is nobody to answer.
    let _ = ack.send(&reply);
}

async fn on_ping(ack: AckSender) {
    let _ = ack.send("pong");
}
