//! Chapter 3, reference solution: a broadcast chat over raw WebSockets and one in-process channel.
//!
//! Run it with `cargo run -p sol03-many-sockets -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

use std::net::SocketAddr;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
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
    ws.max_message_size(MAX_MESSAGE_BYTES).on_upgrade(move |socket| chat(socket, client, hub))
}

async fn chat(mut socket: WebSocket, me: SocketAddr, hub: Hub) {
    // Subscribe before the introduction: everything posted after the client has read it reaches the client.
    let mut inbox = hub.posts.subscribe();
    if socket.send(Message::text(introduction(me))).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    // `send` fails only when nobody is subscribed, and we are: nothing to handle.
                    let _ = hub.posts.send(Post { from: me, text });
                }
                // The chat relays text only; binary messages, pings and pongs are not chat lines.
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) => {
                    // Read on so the library can send its answering close frame (chapter 2).
                    while socket.recv().await.is_some() {}
                    return;
                }
                // A broken connection or an oversized message: this client is gone. Dropping `inbox`
                // unsubscribes it; nobody else notices.
                Some(Err(_)) | None => return,
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
