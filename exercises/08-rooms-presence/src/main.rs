//! Chapter 8: Rooms, names and presence.
//!
//! The Socket.IO tutorial ends with homework; this chapter is all of it. Your server:
//!
//! 1. [`claim_name`]: admits a client only with a name of its own, from the handshake's auth
//!    (`{"name": "alice"}`): not empty, at most [`MAX_NAME_CHARS`] characters, no control characters or
//!    text-direction marks, and not taken by anyone online (whatever its case); anything else is refused with
//!    a `connect_error` that says why;
//! 2. [`on_connect`]: tells the newcomer who is online (`online`), and the others that it joined (`user
//!    joined`); [`listen`]'s disconnect handler tells them when it leaves (`user left`);
//! 3. `join` and `leave` a room (every socket starts in [`LOBBY`]); `chat message` `{"room", "text"}` goes to
//!    the other members of that room, and not back to its sender, whose page has shown it already;
//! 4. `typing` and `stop typing` `{"room"}` tell the room's other members who is typing; it stops when the
//!    client says so, sends its message, leaves, vanishes, or goes quiet for [`TYPING_TIMEOUT`];
//! 5. `private message` `{"to", "text"}` reaches its addressee only, or is refused if they are not online.
//!
//! `cargo test -p ex08-rooms-presence` checks all of it; `book/src/08-rooms-presence.md` explains it.
//!
//! Run it with `cargo run -p ex08-rooms-presence -- --port 3000`, then open http://127.0.0.1:3000/?name=alice
//! in one window and http://127.0.0.1:3000/?name=bob in another.

use std::sync::Arc;

use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;

// Given, in `src/protocol.rs`: the previous chapters' checks (`validate_text`, `Ack`, `RateLimit`), the names'
// rules and rooms (`user_room`, `name_room`, `NAMES`), the payload types, the typing timers, and `app()`,
// which calls the functions below. Yours: the code below.
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

// ANCHOR: claim_name
/// Decides whether a connecting client may use the name in its auth; on success the socket is in its name's
/// two rooms, [`user_room`] and [`name_room`]. The error becomes the client's `connect_error`.
async fn claim_name(io: &SocketIo, socket: &SocketRef, auth: Auth) -> Result<String, String> {
    // TODO: trim `auth.name`; refuse NAME_MISSING, NAME_TOO_LONG, NAME_INVALID (`is_control`,
    // `is_direction_mark`). Then, holding `NAMES.lock().await`, ask whether anyone is in the name's
    // `user_room` (`io.within(...).rooms().await` is empty if nobody is): refuse `name_taken(&name)`, or join
    // both rooms.
    let _ = (io, socket, auth);
    todo!("chapter 8, section \"Names\": admit a name, or refuse it")
}
// ANCHOR_END: claim_name

// ANCHOR: listen
/// Registers the socket's listeners (before the client knows it is connected), and puts it in the lobby.
fn listen(socket: &SocketRef, name: Arc<str>) {
    // TODO: `socket.join(LOBBY)`; one `RateLimit` and one `Arc<Typing>` for this socket; then `socket.on(...)`
    // for "join" (at most MAX_ROOMS), "leave", "chat message", "typing", "stop typing" and "private message", and
    // `socket.on_disconnect(...)`: stop its typing timers (telling each room), then `user left` to the others.
    let _ = (socket, name);
    todo!("chapter 8, section \"Rooms\": register the listeners")
}
// ANCHOR_END: listen

// ANCHOR: on_connect
/// Runs once the client knows it is connected: the newcomer hears who is online, the others that it joined.
async fn on_connect(io: &SocketIo, socket: &SocketRef, name: &str) {
    // TODO: `online`: the names of every `name:` room (`io.rooms().await`), sorted, to this socket; then
    // `user joined` with a `Member` to everyone else (`socket.broadcast()`).
    let _ = (io, socket, name);
    todo!("chapter 8, section \"Who is online\": welcome the newcomer and announce it")
}
// ANCHOR_END: on_connect
