//! Chapter 5: Emitting events.
//!
//! Chapter 4's server greets and echoes anything. Now give the chat its first real event, with rules:
//!
//! 1. a `chat message` carries a typed payload, [`ChatMessage`] (`{"text": "..."}`), checked by [`validate`];
//! 2. every `chat message` is acknowledged with an [`Ack`]: `{"ok": true}`, or `{"ok": false, "error": ...}`
//!    for a payload that is malformed ([`MALFORMED`]), empty ([`EMPTY`]) or too long ([`TOO_LONG`]); a bad
//!    payload never closes the connection;
//! 3. a valid message is emitted back to its sender as `chat message` `{"text": TEXT}` (trimmed), before the
//!    acknowledgement (chapter 6 sends it to everyone);
//! 4. a `ping` is acknowledged with `"pong"`, and does nothing else;
//! 5. an event nobody listens to harms nothing;
//! 6. [`limits`] bounds what one client may send, on both transports, to what the protocol needs.
//!
//! `cargo test -p ex05-events` checks all of it; `book/src/05-events.md` explains it.
//!
//! Run it with `cargo run -p ex05-events -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

use socketioxide::SocketIoBuilder;
use socketioxide::extract::{AckSender, SocketRef, TryData};

// Given, in `src/protocol.rs`: `CHAT_PAGE`, the payload and acknowledgement types, the refusals' wording, and
// `app()`. Yours: the code below.
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

// ANCHOR: configure
/// socketioxide's limits on what one client may send, sized to this chapter's protocol.
fn limits(builder: SocketIoBuilder) -> SocketIoBuilder {
    // TODO: no WebSocket message and no frame over MAX_MESSAGE_BYTES (`ws_max_message_size`,
    // `ws_max_frame_size`), no long-polling body over MAX_PAYLOAD_BYTES (`max_payload`). As it is, the
    // builder keeps socketioxide's defaults: 64 MiB messages.
    builder
}
// ANCHOR_END: configure

// ANCHOR: validate
/// The text to send on, trimmed; or why the message is refused.
#[allow(dead_code, reason = "unused until `on_chat_message` calls it")]
fn validate(message: ChatMessage) -> Result<String, &'static str> {
    // TODO: trim the text; refuse it if empty (EMPTY) or longer than MAX_TEXT_CHARS characters (TOO_LONG).
    let _ = message;
    todo!("chapter 5, section \"Typed payloads\": validate a message")
}
// ANCHOR_END: validate

// ANCHOR: on_connect
async fn on_connect(socket: SocketRef) {
    // TODO: register `on_chat_message` for "chat message" and `on_ping` for "ping".
    let _ = socket;
    todo!("chapter 5, section \"Listening for an event\": register the listeners")
}
// ANCHOR_END: on_connect

// ANCHOR: listeners
/// `chat message`: validate, send the text back to the sender, acknowledge.
#[allow(dead_code, reason = "unused until `on_connect` registers it")]
async fn on_chat_message(socket: SocketRef, TryData(message): TryData<ChatMessage>, ack: AckSender) {
    // TODO: a payload that did not parse gets Ack::error(MALFORMED); one that `validate` refuses gets
    // Ack::error(reason); a valid one is emitted back as `chat message` {"text": TEXT}, then Ack::ok().
    let _ = (socket, message, ack);
    todo!("chapter 5, section \"Acknowledgements\": answer a chat message")
}

/// `ping`: acknowledge with "pong".
#[allow(dead_code, reason = "unused until `on_connect` registers it")]
async fn on_ping(ack: AckSender) {
    // TODO: acknowledge with the string "pong".
    let _ = ack;
    todo!("chapter 5, section \"Acknowledgements\": answer a ping")
}
// ANCHOR_END: listeners
