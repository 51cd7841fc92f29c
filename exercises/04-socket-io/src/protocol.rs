//! Given: this chapter's page and constants, and socketioxide with the kit's limits. You do not need to change
//! this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use socketioxide::layer::SocketIoLayer;
use socketioxide::{ParserConfig, SocketIo};

/// The page: the chat page, now loading the Socket.IO client and showing what happens on the connection.
pub const CHAT_PAGE: &str = include_str!("../static/index.html");

/// The page's script, served at `/chat.js` with `runner::script(CHAT_SCRIPT)` (the page's security policy
/// runs no inline script).
pub const CHAT_SCRIPT: &str = include_str!("../static/chat.js");

/// What the `welcome` event carries.
pub const WELCOME: &str = "welcome";

// ANCHOR: limits
/// The longest WebSocket message (and frame) a client may send. socketioxide's defaults, 64 MiB and 16 MiB,
/// are sized for files; a chat event is a few hundred bytes.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;

/// The longest long-polling request body, which may carry several packets. The handshake announces it as
/// `maxPayload`, and the official client batches its packets to fit; the server, too, batches packets into
/// a polling response up to this size (a single longer packet it still sends, alone).
pub const MAX_PAYLOAD_BYTES: u64 = 16 * 1024;

/// `SocketIo::new_layer()`, with limits sized to a chat: no long message or frame on a WebSocket, no long
/// polling request, and no binary attachments at all (a chat has none, and a client that announces ten
/// thousand of them would otherwise be waited for).
pub fn socket_io() -> (SocketIoLayer, SocketIo) {
    SocketIo::builder()
        .ws_max_message_size(MAX_MESSAGE_BYTES)
        .ws_max_frame_size(MAX_MESSAGE_BYTES)
        .max_payload(MAX_PAYLOAD_BYTES)
        .with_parser(ParserConfig::common().max_incoming_binaries(0))
        .build_layer()
}
// ANCHOR_END: limits
