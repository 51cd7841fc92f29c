//! Chapter 3, reference solution: a broadcast chat over raw WebSockets and one in-process channel.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{Html, Response};
use axum::routing::get;
use tokio::sync::broadcast::{self, error::RecvError};

pub const CHAT_PAGE: &str = include_str!("../../../exercises/03-many-sockets/static/index.html");
pub const CHANNEL_CAPACITY: usize = 64;
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

pub fn introduction(client: SocketAddr) -> String {
    format!("you are {client}")
}

pub fn relayed(from: SocketAddr, text: &str) -> String {
    format!("{from}: {text}")
}

pub fn missed(count: u64) -> String {
    format!("you missed {count} messages")
}

#[derive(Debug, Clone)]
pub struct Post {
    pub from: SocketAddr,
    pub text: Utf8Bytes,
}

#[derive(Clone)]
pub struct Hub {
    pub posts: broadcast::Sender<Post>,
}

impl Hub {
    pub fn new() -> Hub {
        // The receiver returned here is not needed: each connection subscribes a receiver of its own.
        let (posts, _) = broadcast::channel(CHANNEL_CAPACITY);
        Hub { posts }
    }
}

impl Default for Hub {
    fn default() -> Hub {
        Hub::new()
    }
}

pub fn app() -> Router {
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/health", get(|| async { "ok" }))
        .route("/ws", get(upgrade))
        .with_state(Hub::new())
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
