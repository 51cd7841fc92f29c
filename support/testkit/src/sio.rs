//! A Socket.IO client for tests, built on `rust_socketio`, with every wait bounded by a timeout.
//!
//! `rust_socketio` reports events through callbacks. Tests read better as a sequence ("emit this, then expect
//! that"), so every callback here just forwards what arrived into a channel that the test reads in order.
//!
//! One pitfall is handled for every test: `connect()` returns before the server has joined the socket to its
//! namespace, and anything the server emits in that gap is lost. [`connect`] therefore waits for the
//! namespace's `connect` callback before it returns.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::FutureExt;
pub use rust_socketio::TransportType;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::{Section, WAIT, within};

/// How a test client connects.
#[derive(Clone)]
pub struct Options {
    pub transport: TransportType,
    /// Sent in the Socket.IO CONNECT packet; the server reads it as the handshake's `auth`.
    pub auth: Option<Value>,
}

/// WebSocket only, unless a test asks for more. rust_socketio 0.6's `TransportType::Any` (a polling handshake,
/// then the upgrade) now and then loses the acknowledgement of an emit sent right after connecting: 3 runs in
/// 30 of chapter 5's tests, against the same server that answered 200 scripted polling-then-upgrade sessions
/// without a loss. Chapter 4's tests and the interop tests (the official client, all three transports) are
/// the ones about transports; the other chapters' tests are about events, and must not flake.
impl Default for Options {
    fn default() -> Options {
        Options { transport: TransportType::Websocket, auth: None }
    }
}

/// One event received from the server: its name and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub event: String,
    pub data: Value,
}

/// A connected Socket.IO client.
pub struct SioClient {
    client: Client,
    events: mpsc::UnboundedReceiver<Received>,
    section: Section,
}

/// Connects to the server at `server` with default options (any transport, no auth).
pub async fn connect(server: SocketAddr, section: Section) -> SioClient {
    connect_with(server, Options::default(), section).await
}

/// Connects, and returns once the server has accepted the socket into the default namespace `/`.
pub async fn connect_with(server: SocketAddr, options: Options, section: Section) -> SioClient {
    let (events_tx, events) = mpsc::unbounded_channel();
    let (connected_tx, connected) = oneshot::channel::<()>();
    let mut connected_tx = Some(connected_tx);
    let mut builder = ClientBuilder::new(format!("http://{server}/"))
        .transport_type(options.transport)
        .reconnect(false)
        .on(Event::Connect, move |_, _| {
            if let Some(sender) = connected_tx.take() {
                let _ = sender.send(());
            }
            async {}.boxed()
        })
        .on_any(move |event, payload, _| {
            let _ = events_tx.send(Received { event: event.as_str().to_owned(), data: first_argument(payload) });
            async {}.boxed()
        });
    if let Some(auth) = options.auth {
        builder = builder.auth(auth);
    }
    let client = match within(WAIT, "the Socket.IO handshake", section, builder.connect()).await {
        Ok(client) => client,
        Err(error) => panic!(
            "the Socket.IO client could not connect to {server}: {error}.\n\
             Is the socketioxide layer on the router, with a handler for the namespace \"/\"?\nRead: {section}"
        ),
    };
    if within(WAIT, "the server to accept the socket into namespace \"/\"", section, connected).await.is_err() {
        panic!("the client was dropped before the namespace \"/\" accepted it.\nRead: {section}");
    }
    SioClient { client, events, section }
}

/// The first argument of an event (the one a JavaScript `emit(event, data)` sends), or `null` if none.
fn first_argument(payload: Payload) -> Value {
    match payload {
        Payload::Text(mut values) if !values.is_empty() => values.swap_remove(0),
        Payload::Text(_) => Value::Null,
        #[allow(deprecated)]
        Payload::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        Payload::Binary(bytes) => Value::Array(bytes.iter().map(|byte| Value::from(*byte)).collect()),
    }
}

impl SioClient {
    /// Emits `event` with `data` and does not wait for anything.
    pub async fn emit(&self, event: &str, data: Value) {
        if let Err(error) = self.client.emit(event, data).await {
            panic!("the client could not emit {event:?}: {error}.\nRead: {}", self.section);
        }
    }

    /// Emits `event` with `data` and waits for the server's acknowledgement; returns its first argument.
    pub async fn emit_with_ack(&self, event: &str, data: Value) -> Value {
        let (ack_tx, ack) = oneshot::channel();
        let mut ack_tx = Some(ack_tx);
        let callback = move |payload: Payload, _: Client| {
            if let Some(sender) = ack_tx.take() {
                // rust_socketio hands an acknowledgement's whole argument list over as one JSON array.
                let arguments = first_argument(payload);
                let first = match arguments {
                    Value::Array(mut values) if !values.is_empty() => values.swap_remove(0),
                    Value::Array(_) => Value::Null,
                    other => other,
                };
                let _ = sender.send(first);
            }
            async {}.boxed()
        };
        // The library's own ack timeout is longer than ours, so ours decides and its message is the one shown.
        let emitted = self.client.emit_with_ack(event, data, WAIT + Duration::from_secs(1), callback).await;
        if let Err(error) = emitted {
            panic!("the client could not emit {event:?}: {error}.\nRead: {}", self.section);
        }
        let what = format!("the acknowledgement of {event:?} (the handler must call `ack.send(...)`)");
        within(WAIT, &what, self.section, ack)
            .await
            .unwrap_or_else(|_| panic!("the acknowledgement of {event:?} never came.\nRead: {}", self.section))
    }

    /// Waits for the next event, whatever its name.
    pub async fn next_event(&mut self, what: &str) -> Received {
        let section = self.section;
        match within(WAIT, what, section, self.events.recv()).await {
            Some(received) => received,
            None => panic!("waited for {what}, but the client's event stream ended.\nRead: {section}"),
        }
    }

    /// Waits for the next event and insists on its name; returns its data.
    pub async fn expect_event(&mut self, event: &str, what: &str) -> Value {
        let received = self.next_event(what).await;
        assert_eq!(
            received.event, event,
            "waited for {what} (event {event:?}) but the next event was {:?} with {}.\nRead: {}",
            received.event, received.data, self.section
        );
        received.data
    }

    /// Disconnects politely: the server sees the socket leave at once.
    pub async fn disconnect(self) {
        let _ = self.client.disconnect().await;
    }
}
