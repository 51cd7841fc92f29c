//! Chapter 12: The finished chat.
//!
//! Everything of the eleven chapters before, behind one page: names of one's own, rooms, who is online, who is
//! typing, private messages, a history that survives disconnections and restarts, messages retried until
//! stored and stored once; one server alone, or several nodes on one Redis. Most of it is given, in
//! `src/protocol.rs`: it is the work of the chapters before. Yours is what only the whole needs:
//!
//! 1. [`claim_name`]: a name of one's own, that its own page can take back after a reconnection;
//! 2. [`deliver`]: each message of the log to the live sockets of its room only;
//! 3. [`catch_up`]: a client that comes back gets what it missed in its rooms, and nothing of the others.
//!
//! `cargo test -p ex12-finished-chat` checks it (some tests need `redis-server`); the book's chapter 12
//! explains it.
//!
//! Run it alone: `cargo run -p ex12-finished-chat -- --port 3000`, and open http://127.0.0.1:3000/?name=alice.
//! Or three nodes on one Redis: the same with `--redis redis://127.0.0.1:6379` and ports 3001, 3002, 3003.

// Given, in `src/protocol.rs`: everything else. Yours: the code below.
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run_with(runner::Takes::DATABASE_AND_REDIS, app).await
}

// ANCHOR: claim_name
/// Decides whether a connecting client may use the name in its auth (checked already); on success the socket
/// is in its name's rooms ([`user_room`], [`name_room`], and [`session_room`] if it has a session). The error
/// becomes the client's `connect_error`.
///
/// A name held by someone else is refused. A name held by *this client's own session* (its page reconnected
/// before the server noticed its old connection was gone) is taken back: the old sockets are disconnected.
async fn claim_name(io: &Io, socket: &Socket, auth: &Auth) -> Result<(), String> {
    // TODO: chapter 8's, holding `NAMES`: `io.within(user_room(&auth.name)).rooms().await` (every node's). If
    // anyone holds the name, and those rooms do not include this auth's `session_room`, refuse `name_taken`;
    // if they do, `take_over(io, &auth.name).await` first. Then join the rooms.
    let _ = (io, socket, auth);
    todo!("chapter 12, section \"Names of one's own\": admit a name, or take it back, or refuse it")
}
// ANCHOR_END: claim_name

// ANCHOR: deliver
/// Sends a message of the log to the sockets of this node that are live *and* in the message's room, each
/// with [`send_live`], the message [`Prepared`] once for all of them.
fn deliver(chat: &Chat, io: &Io, message: &Stored) {
    // TODO: `io.within(room).sockets()` are this node's sockets in a room. Those of `message.room` that are
    // also in LIVE (collect the ids of `io.within(LIVE).sockets()` in a `HashSet` first: asking each socket
    // for its rooms would copy them all, for every message) get `send_live(chat, &socket, &prepared)`.
    let _ = (chat, io, message);
    todo!("chapter 12, section \"Rooms in the log\": deliver to the room's live sockets")
}
// ANCHOR_END: deliver

// ANCHOR: catch_up
/// Sends `socket` every message after `after`, up to what this node has delivered, *in the rooms it is in*,
/// in order and once each; then puts it in [`LIVE`].
async fn catch_up(chat: &Chat, socket: &Socket, after: u64) -> Result<(), Stopped> {
    // TODO: chapter 11's, reading `chat.store.after_in(after, &chat_rooms(socket), REPLAY_PAGE)` instead of
    // `after`. A page may skip many offsets (other rooms'), and may end beyond `until`: replay those up to
    // `until`, and when none is left up to `until`, you are at `until`.
    let _ = (chat, socket, after);
    todo!("chapter 12, section \"Catching up in rooms\": replay the rooms' messages, then make it live")
}
// ANCHOR_END: catch_up
