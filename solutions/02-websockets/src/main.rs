//! Chapter 2, reference solution: a WebSocket endpoint that greets, pushes ticks and echoes, all at once.
//!
//! Run it with `cargo run -p sol02-websockets -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use tokio::time::{Instant, MissedTickBehavior, interval_at};

// The given code is the exercise's own file, not a copy, so the starter and the solution cannot drift apart.
#[path = "../../../exercises/02-websockets/src/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

/// `on_upgrade` answers 101 Switching Protocols; from then on the TCP connection speaks WebSocket, and
/// `converse` runs in a task of its own for as long as the client stays.
async fn upgrade(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(converse)
}

async fn converse(mut socket: WebSocket) {
    if socket.send(Message::text(GREETING)).await.is_err() {
        return; // The client left before we could say hello.
    }
    // The first tick comes one interval after the greeting, then one per interval. If sending falls behind,
    // skip missed ticks rather than bursting to catch up.
    let mut ticks = interval_at(Instant::now() + TICK_INTERVAL, TICK_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut count: u64 = 0;
    loop {
        // Full duplex: whichever happens first, a tick or a message from the client, is handled, and the
        // loop comes straight back to wait for both again. Neither side waits for the other to finish.
        tokio::select! {
            _ = ticks.tick() => {
                count += 1;
                if socket.send(Message::text(format!("tick {count}"))).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => {
                let reply = match incoming {
                    Some(Ok(Message::Text(text))) => Message::Text(text),
                    Some(Ok(Message::Binary(bytes))) => Message::Binary(bytes),
                    // Pings are answered by the library; pongs need nothing from us.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    // The client says goodbye. The library has queued a close frame in answer, but it goes out
                    // only when the socket is used again: reading once more sends it and ends the stream.
                    Some(Ok(Message::Close(_))) => {
                        while socket.recv().await.is_some() {}
                        return;
                    }
                    // A broken connection or the end of the stream: nobody is left to talk to.
                    Some(Err(_)) | None => return,
                };
                if socket.send(reply).await.is_err() {
                    return;
                }
            }
        }
    }
}
