//! Chapter 3, reference solution: a broadcast chat over raw WebSockets and one in-process channel.
//!
//! Run it with `cargo run -p sol03-many-sockets -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

use std::net::SocketAddr;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use tokio::sync::broadcast::{self, error::RecvError};

// The given code is the exercise's own file, not a copy, so the starter and the solution cannot drift apart.
#[path = "../../../exercises/03-many-sockets/src/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

impl Hub {
    pub fn new() -> Hub {
        // The receiver returned here is not needed: each connection subscribes a receiver of its own.
        let (posts, _) = broadcast::channel(CHANNEL_CAPACITY);
        Hub { posts }
    }
}

async fn upgrade(
    ws: WebSocketUpgrade,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    State(hub): State<Hub>,
) -> Response {
    // Both limits: the message limit alone would let one frame of up to 16 MiB be read whole first.
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| chat(socket, client, hub))
}

async fn chat(mut socket: WebSocket, me: SocketAddr, hub: Hub) {
    // Subscribe before the introduction: everything posted after the client has read it reaches the client.
    let mut inbox = hub.posts.subscribe();
    if socket.send(Message::text(introduction(me))).await.is_err() {
        return;
    }
    let mut heartbeat = Heartbeat::new();
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(message)) => {
                    // Anything at all, a pong included, shows the client is still there.
                    heartbeat.heard();
                    match message {
                        Message::Text(text) => {
                            // `send` fails only when nobody is subscribed, and we are: nothing to handle.
                            let _ = hub.posts.send(Post { from: me, text });
                        }
                        Message::Close(_) => {
                            // Read on so the library can send its answering close frame (chapter 2).
                            while socket.recv().await.is_some() {}
                            return;
                        }
                        // The chat relays text only; binary messages, pings and pongs are not chat lines.
                        Message::Binary(_) | Message::Ping(_) | Message::Pong(_) => {}
                    }
                }
                // Too big: say why (1009, "message too big") and stop. The rest of the frame is never read.
                Some(Err(error)) if is_too_big(&error) => {
                    let goodbye = CloseFrame { code: close_code::SIZE, reason: TOO_BIG.into() };
                    let _ = socket.send(Message::Close(Some(goodbye))).await;
                    return;
                }
                // A broken connection: this client is gone. Dropping `inbox` unsubscribes it; nobody else
                // notices.
                Some(Err(_)) | None => return,
            },
            () = heartbeat.tick() => match heartbeat.beat() {
                Some(ping) => {
                    if socket.send(ping).await.is_err() {
                        return;
                    }
                }
                // Not a word since the last ping, not even the pong: gone without saying so.
                None => return,
            },
            post = inbox.recv() => {
                let line = match post {
                    Ok(post) if post.from == me => continue,
                    Ok(post) => relayed(post.from, &post.text),
                    // This client read too slowly and the channel moved on without it. The others were never
                    // held up: each connection reads the channel at its own pace.
                    Err(RecvError::Lagged(count)) => missed(count),
                    Err(RecvError::Closed) => return,
                };
                // While this send waits on a slow client, only this client's task waits.
                if socket.send(Message::text(line)).await.is_err() {
                    return;
                }
            }
        }
    }
}
