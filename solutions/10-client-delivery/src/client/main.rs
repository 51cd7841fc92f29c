//! Chapter 10, reference solution, the client: an outbox whose lines are sent until acknowledged, each with
//! one client offset, and a log shown once whatever number of times it is replayed.
//!
//! Run it with `cargo run -p sol10-client-delivery --bin sol10-client -- --name bob`.

use std::process::ExitCode;

// The given code is the exercise's own file, not a copy.
#[path = "../../../../exercises/10-client-delivery/src/client/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> ExitCode {
    program().await
}

pub struct Outbox {
    client_id: String,
    stamped: u64,
}

impl Outbox {
    pub fn new(client_id: String) -> Outbox {
        Outbox { client_id, stamped: 0 }
    }

    pub fn stamp(&mut self, text: String) -> Outgoing {
        self.stamped += 1;
        Outgoing { text, client_offset: format!("{}:{}", self.client_id, self.stamped) }
    }
}

pub async fn send_reliably(link: &mut Link, message: &Outgoing) -> Result<Ack, String> {
    loop {
        match link.try_send(message).await {
            Ok(ack) => return Ok(ack),
            // Refused as one too many: nothing was stored, and the pause is taken. The same message again.
            Err(Lost::TooFast) => {}
            // The message or its acknowledgement was lost, or is late: on a new connection (whose
            // acknowledgements cannot be mixed up with the old one's), the same message again. If the server
            // has it, it says so with the offset it gave it, and stores nothing.
            Err(Lost::NoAnswer | Lost::Disconnected) => link.reconnect().await?,
        }
    }
}

pub fn show(seen: &mut u64, post: &Post) -> Option<String> {
    if post.offset <= *seen {
        return None;
    }
    *seen = post.offset;
    Some(format!("{}: {}", printable(&post.name), printable(&post.text)))
}
