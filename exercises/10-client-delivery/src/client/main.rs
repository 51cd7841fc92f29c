//! Chapter 10: Client delivery, the client's side.
//!
//! Chapter 7's client sent a line and waited for its acknowledgement; if none came, it gave up. This one
//! never gives up on a line: it keeps an *outbox*, and sends each line until the server acknowledges it,
//! through lost acknowledgements, broken connections and server restarts, in order, and without the server
//! ever storing one twice. Your client:
//!
//! 1. [`Outbox::stamp`]: gives each line its client offset, once, before its first try;
//! 2. [`send_reliably`]: sends one message until it is acknowledged, reconnecting when the connection is gone;
//! 3. [`show`]: prints each message of the log once, however many times it arrives.
//!
//! ```text
//! $ ex10-client --name bob --url http://127.0.0.1:3000
//! connected to http://127.0.0.1:3000 as bob
//! alice: hello                            <- the log, replayed
//! hi alice                                <- typed by bob
//! bob: hi alice
//! ```
//!
//! `cargo test -p ex10-client-delivery` checks it (with the server of `src/main.rs`, behind a proxy that
//! breaks connections on cue); `book/src/10-client-delivery.md` explains it.

use std::process::ExitCode;

// Given, in `src/client/protocol.rs`: the messages (`Outgoing`, `Ack`, `Post`), one connection (`Link`, with
// `try_send` and `reconnect`), and the program (`run`), which calls the code below. Yours: the code below.
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> ExitCode {
    program().await
}

// ANCHOR: outbox
/// The lines this client sends, each named by a client offset: this run's [`client_id`], then `:` and the
/// line's number, from 1: `"5f0c3a9e21b4d7c8:1"`, `"5f0c3a9e21b4d7c8:2"`, ...
pub struct Outbox {
    client_id: String,
    stamped: u64,
}

impl Outbox {
    pub fn new(client_id: String) -> Outbox {
        Outbox { client_id, stamped: 0 }
    }

    /// The message for the next line, with the next client offset. It is called once per line: every try at
    /// sending that line sends this same message.
    pub fn stamp(&mut self, text: String) -> Outgoing {
        // TODO: count this line, and make its client offset from `self.client_id` and the count.
        let _ = (&self.client_id, self.stamped, text);
        todo!("chapter 10, section \"An outbox\": give the line its client offset")
    }
}
// ANCHOR_END: outbox

// ANCHOR: send_reliably
/// Sends `message` until the server acknowledges it (`ok` or not): after a try that was lost, it reconnects
/// and tries again. `Err` only if the server is lost for good.
pub async fn send_reliably(link: &mut Link, message: &Outgoing) -> Result<Ack, String> {
    // TODO: loop on `link.try_send(message)`: an acknowledgement ends it; `Lost::TooFast`: try again at once
    // (the pause is taken); any other `Lost`: `link.reconnect().await?` first, then try again.
    let _ = (link, message);
    todo!("chapter 10, section \"Retrying\": send until acknowledged")
}
// ANCHOR_END: send_reliably

// ANCHOR: show
/// What to print for a message from the server, `NAME: TEXT` (through [`printable`]), if this client has not
/// shown it before; `seen` is the highest offset shown so far, which the next connection sends as its
/// `serverOffset`.
pub fn show(seen: &mut u64, post: &Post) -> Option<String> {
    // TODO: a message at or below `seen` was shown already (a replay after a reconnect can bring it again);
    // otherwise move `seen` up to its offset and return the line.
    let _ = (seen, post);
    todo!("chapter 10, section \"Coming back\": show each message once")
}
// ANCHOR_END: show
