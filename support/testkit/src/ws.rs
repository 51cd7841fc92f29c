//! A WebSocket client for tests, every receive bounded by a timeout.
//!
//! It wraps `tokio-tungstenite`, a real client that speaks the protocol exactly as a browser does (handshake,
//! framing, masking, close). What it adds is test manners: each wait has a limit, a closed connection or a
//! silent server fails the test with a sentence about what was expected, and control frames (ping, pong) are
//! skipped because no chat test is about them.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
pub use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::{Section, WAIT, within};

/// What the next receive found.
#[derive(Debug)]
pub enum Received {
    /// A text or binary message.
    Message(Message),
    /// The server sent a close frame (with its code and reason, if it gave one), or the stream ended.
    Closed(Option<CloseFrame>),
    /// The connection broke without a close handshake.
    Broken(String),
}

/// One WebSocket connection to the server under test.
pub struct WsClient {
    stream: WebSocketStream<TcpStream>,
    local_address: SocketAddr,
    section: Section,
}

/// Opens a WebSocket to `path` on `server` (e.g. `/ws`). `section` is where failures send the reader.
pub async fn connect(server: SocketAddr, path: &str, section: Section) -> WsClient {
    open(server, path, section, None).await
}

/// Like [`connect`], but the client's operating system buffers only a few kilobytes of what arrives. A client
/// that then stops reading pushes back on the server almost at once: the way to test a slow client quickly.
pub async fn connect_with_small_receive_buffer(server: SocketAddr, path: &str, section: Section) -> WsClient {
    open(server, path, section, Some(4096)).await
}

async fn open(server: SocketAddr, path: &str, section: Section, receive_buffer: Option<u32>) -> WsClient {
    let url = format!("ws://{server}{path}");
    let handshake = async {
        let socket = if server.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        if let Some(bytes) = receive_buffer {
            socket.set_recv_buffer_size(bytes)?;
        }
        let tcp = socket.connect(server).await?;
        let local_address = tcp.local_addr()?;
        let (stream, _response) =
            tokio_tungstenite::client_async(url.as_str(), tcp).await.map_err(std::io::Error::other)?;
        Ok::<_, std::io::Error>((stream, local_address))
    };
    match within(WAIT, &format!("the WebSocket handshake with {url}"), section, handshake).await {
        Ok((stream, local_address)) => WsClient { stream, local_address, section },
        Err(error) => panic!(
            "could not open a WebSocket to {url}: {error}.\n\
             The server must answer the HTTP upgrade request with 101 Switching Protocols: a route for this path \
             whose handler takes a `WebSocketUpgrade` and returns `ws.on_upgrade(...)`.\nRead: {section}"
        ),
    }
}

impl WsClient {
    /// This client's own address and port: how the server tells it apart from every other client.
    pub fn local_address(&self) -> SocketAddr {
        self.local_address
    }

    /// Sends a text message; fails the test if the connection is already gone.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.send(Message::text(text.into())).await;
    }

    /// Sends a text message, or says why it could not: for a test whose server may rightly close the
    /// connection while the message is still on its way (one that is too big, say).
    pub async fn try_send_text(&mut self, text: impl Into<String>) -> Result<(), String> {
        let sending = within(WAIT, "a message to be sent", self.section, self.stream.send(Message::text(text.into())));
        sending.await.map_err(|error| error.to_string())
    }

    /// Sends a message of any kind; fails the test if the connection is already gone.
    pub async fn send(&mut self, message: Message) {
        let section = self.section;
        let sending = within(WAIT, "a message to be sent", section, self.stream.send(message));
        if let Err(error) = sending.await {
            panic!("the client could not send: {error}; did the server close the connection?\nRead: {section}");
        }
    }

    /// Waits for whatever comes next, skipping pings and pongs. Fails the test only on a timeout.
    pub async fn receive(&mut self, what: &str) -> Received {
        let section = self.section;
        within(WAIT, what, section, self.next_received()).await
    }

    /// Whatever comes within [`WAIT`], or `None`: for a test that must say more than "nothing arrived" when
    /// nothing does (what did arrive before, say).
    pub async fn receive_or_nothing(&mut self, what: &str) -> Option<Received> {
        let section = self.section;
        let limit = WAIT + std::time::Duration::from_secs(1);
        within(limit, what, section, async { tokio::time::timeout(WAIT, self.next_received()).await.ok() }).await
    }

    async fn next_received(&mut self) -> Received {
        loop {
            match self.stream.next().await {
                None => return Received::Closed(None),
                Some(Ok(Message::Close(frame))) => return Received::Closed(frame),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(message)) => return Received::Message(message),
                Some(Err(error)) => return Received::Broken(error.to_string()),
            }
        }
    }

    /// Waits for the next text or binary message; fails the test if the connection closes first.
    pub async fn expect_message(&mut self, what: &str) -> Message {
        match self.receive(what).await {
            Received::Message(message) => message,
            other => panic!(
                "waited for {what}, but the connection ended instead ({other:?}).\n\
                 A handler that panics (a `todo!()`), or returns early, closes the socket.\nRead: {}",
                self.section
            ),
        }
    }

    /// Waits for the next message and insists that it is text.
    pub async fn expect_text(&mut self, what: &str) -> String {
        match self.expect_message(what).await {
            Message::Text(text) => text.to_string(),
            other => panic!("waited for {what} as a text message, but got {other:?}.\nRead: {}", self.section),
        }
    }

    /// Starts the closing handshake: sends a close frame with code 1000 (normal closure).
    pub async fn close(&mut self) {
        let section = self.section;
        let closing = within(WAIT, "the close frame to be sent", section, self.stream.close(None));
        if let Err(error) = closing.await {
            panic!("the client could not send its close frame: {error}.\nRead: {section}");
        }
    }

    /// Drops the TCP connection without a close frame, as a crashed browser tab or a lost network would.
    pub fn vanish(self) {
        drop(self.stream);
    }
}
