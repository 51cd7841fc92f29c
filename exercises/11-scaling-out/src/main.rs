//! Chapter 11: Scaling out.
//!
//! One server holds so many connections. This chapter's chat runs on several servers, *nodes*, each its own
//! process on its own port, sharing one log (chapter 9's SQLite file) and one Redis, through socketioxide's
//! Redis adapter: a client on any node talks with clients on every other. Your node:
//!
//! 1. [`follow`]: follows the shared log, whichever node appended to it, and delivers each new message to
//!    this node's live sockets, in the order of the log;
//! 2. [`catch_up`]: catches a connecting client up to what this node has delivered, then makes it live;
//! 3. [`online`]: who is online, on every node;
//! 4. [`whisper`]: a private message to someone on any node.
//!
//! `cargo test -p ex11-scaling-out` checks it (it needs `redis-server`: `apt-get install redis-server`);
//! `book/src/11-scaling-out.md` explains it.
//!
//! Run three nodes on one Redis and one database file, each in its own terminal:
//! `cargo run -p ex11-scaling-out -- --port 3001 --redis redis://127.0.0.1:6379`, then 3002 and 3003, and open
//! http://127.0.0.1:3001/?name=alice and http://127.0.0.1:3002/?name=bob.

// Given, in `src/protocol.rs`: the previous chapters' work, the node's shared state (`Chat`: the log, the
// turn, what this node has delivered), `deliver`, `replay`, `post`, and `app()`, which calls the functions
// below. Yours: the code below.
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run_with(runner::Takes::DATABASE_AND_REDIS, app).await
}

// ANCHOR: follow
/// This node's follower, for as long as the node runs: each time the log may have grown, delivers its new
/// messages (after [`Chat::delivered`]) to this node's live sockets, in order, and moves `delivered` along.
async fn follow(chat: Chat, io: Io) {
    // TODO: loop: `chat.wait_for_news().await`; take the turn; read the log after `chat.delivered()`,
    // REPLAY_PAGE at a time, until nothing is left: `deliver` each message, then `chat.set_delivered(...)`. A
    // failed read is printed (`eprintln!`) and tried again at the next news; the follower never stops.
    let _ = (chat, io);
    todo!("chapter 11, section \"Following the log\": deliver the log as it grows")
}
// ANCHOR_END: follow

// ANCHOR: catch_up
/// Sends `socket` every message after `after` up to what this node has delivered, in order and once each,
/// then puts it in [`LIVE`], where the follower takes over.
async fn catch_up(chat: &Chat, socket: &Socket, after: u64) -> Result<(), Stopped> {
    // TODO: first `chat.delivered_up_to(after).await` (the client may come from a node that was ahead). Then
    // loop: replay the log after `after` up to `chat.delivered()` as it is now (no further: the follower
    // delivers the rest); take the turn; if `after` is still `chat.delivered()`, join LIVE and return.
    let _ = (chat, socket, after);
    todo!("chapter 11, section \"Catching up on any node\": replay up to this node's delivered offset")
}
// ANCHOR_END: catch_up

// ANCHOR: online
/// Everyone connected to any node, sorted whatever their case, each name once: the names of the `name:`
/// rooms. The adapter asks every node.
async fn online(io: &Io) -> Result<Vec<String>, String> {
    // TODO: chapter 8's `online`, with `io.rooms().await` (an error, now that the question goes through Redis,
    // is returned as text); sort by the lower-cased name, then by the name, and `dedup`: two clients may share
    // one.
    let _ = io;
    todo!("chapter 11, section \"Presence on every node\": list who is online")
}
// ANCHOR_END: online

// ANCHOR: whisper
/// A private message from `from` to whoever has the name `message.to`, on any node; `Err` says why not (the
/// text is refused, or nobody of that name is online).
async fn whisper(io: &Io, socket: &Socket, from: &str, message: &PrivateMessage) -> Result<(), String> {
    // TODO: chapter 8's: `validate_text`; `io.within(user_room(to)).fetch_sockets().await` (every node's
    // sockets) to know whether they are online; then `socket.to(user_room(to)).emit("private message", ...)`.
    let _ = (io, socket, from, message);
    todo!("chapter 11, section \"Presence on every node\": send a private message across nodes")
}
// ANCHOR_END: whisper
