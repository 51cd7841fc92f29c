//! Engine.IO and Socket.IO spoken by hand, for tests that must see exactly what crosses the wire.
//!
//! The Socket.IO client in [`crate::sio`] hides the packets, as a real client should. Some tests are about
//! the packets themselves (which one arrives first, what an acknowledgement carries, what happens to a packet
//! that is too long), and some must send what no correct client would. [`RawClient`] speaks Socket.IO over a
//! plain WebSocket, where every packet is one WebSocket message; [`polling_session`] opens a long-polling
//! session with a plain HTTP GET.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::ws::{self, Received, WsClient};
use crate::{Section, http};

/// A Socket.IO packet of the namespace `/`, as a raw client sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// `42[...]`: an event, its name and arguments.
    Event(Value),
    /// `43ID[...]`: the acknowledgement of the event with that id, its arguments.
    Ack(u64, Value),
    /// Anything else, as it came.
    Other(String),
}

/// Reads `42[...]` and `43ID[...]`; anything else is [`Packet::Other`].
pub fn parse_packet(text: &str) -> Packet {
    let other = || Packet::Other(text.to_owned());
    let (kind, rest) = match text.strip_prefix("42") {
        Some(rest) => ('2', rest),
        None => match text.strip_prefix("43") {
            Some(rest) => ('3', rest),
            None => return other(),
        },
    };
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let Ok(data) = serde_json::from_str::<Value>(&rest[digits..]) else { return other() };
    match (kind, rest[..digits].parse::<u64>()) {
        ('2', _) if digits == 0 => Packet::Event(data),
        ('3', Ok(id)) => Packet::Ack(id, data),
        _ => other(),
    }
}

/// A Socket.IO client written by hand over a plain WebSocket: every packet the server sends is one
/// WebSocket message, so the test sees exactly what arrives, in order.
pub struct RawClient {
    socket: WsClient,
    section: Section,
}

impl RawClient {
    /// Opens a WebSocket-only Engine.IO session and connects to the namespace `/` with `auth` (sent in the
    /// CONNECT packet, `40{...}`), and waits for the server's `40{...}`.
    pub async fn connect(server: SocketAddr, auth: Option<Value>, section: Section) -> RawClient {
        let mut client = RawClient::open(server, section).await;
        let connect = match auth {
            Some(auth) => format!("40{auth}"),
            None => "40".to_owned(),
        };
        client.socket.send_text(connect).await;
        let connected = client.next_text("the namespace's CONNECT answer, 40{...}").await;
        assert!(
            connected.starts_with("40{"),
            "the server accepts the socket with 40{{...}}, got {connected:?}.\nRead: {section}"
        );
        client
    }

    /// Connects with the name `name` (the auth `{"name": NAME}`).
    pub async fn join(server: SocketAddr, name: &str, section: Section) -> RawClient {
        RawClient::connect(server, Some(json!({ "name": name })), section).await
    }

    /// Opens the Engine.IO session only, reading its open packet; the namespace is not joined yet.
    pub async fn open(server: SocketAddr, section: Section) -> RawClient {
        let socket = ws::connect(server, "/socket.io/?EIO=4&transport=websocket", section).await;
        let mut client = RawClient { socket, section };
        let open = client.next_text("the Engine.IO open packet, 0{...}").await;
        assert!(open.starts_with('0'), "the server opens the session with 0{{...}}, got {open:?}.\nRead: {section}");
        client
    }

    /// The next WebSocket message, after answering the server's Engine.IO pings (`2`) with pongs (`3`).
    pub async fn next_text(&mut self, what: &str) -> String {
        loop {
            let text = self.socket.expect_text(what).await;
            if text != "2" {
                return text;
            }
            self.socket.send_text("3").await;
        }
    }

    /// Whatever comes next (pings answered): a message, or the end of the connection.
    pub async fn receive(&mut self, what: &str) -> Received {
        loop {
            match self.socket.receive(what).await {
                Received::Message(message) if message.to_text().ok() == Some("2") => {
                    // The server may ping and then close the connection (for a message that is too big, say):
                    // a pong it can no longer take is the end of the connection, which is what the caller asks.
                    if let Err(error) = self.socket.try_send_text("3").await {
                        return Received::Broken(error);
                    }
                }
                other => return other,
            }
        }
    }

    /// Sends a packet exactly as given (`42[...]`, or anything at all).
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.socket.send_text(text).await;
    }

    /// Sends a packet, or says why it could not (the server closed the connection while it was on its way).
    pub async fn try_send_text(&mut self, text: impl Into<String>) -> Result<(), String> {
        self.socket.try_send_text(text).await
    }

    /// Sends `42ID[event, data...]`: an event that asks for an acknowledgement with that id.
    pub async fn emit_with_ack(&mut self, id: u64, event_and_data: Value) {
        self.socket.send_text(format!("42{id}{event_and_data}")).await;
    }

    /// The next Socket.IO packet.
    pub async fn next_packet(&mut self, what: &str) -> Packet {
        parse_packet(&self.next_text(what).await)
    }

    /// The next packet that `skip` does not pass over (join and leave notices, say).
    pub async fn next_packet_besides(&mut self, what: &str, skip: impl Fn(&Packet) -> bool) -> Packet {
        loop {
            let packet = self.next_packet(what).await;
            if !skip(&packet) {
                return packet;
            }
        }
    }

    /// Where a failure sends the reader.
    pub fn section(&self) -> Section {
        self.section
    }
}

/// Opens a long-polling Engine.IO session with `GET /socket.io/?EIO=4&transport=polling`; returns its
/// session id, the `sid` of the open packet.
pub async fn polling_session(server: SocketAddr, section: Section) -> String {
    let response = http::get(server, "/socket.io/?EIO=4&transport=polling", section).await;
    let open = response.body.strip_prefix('0').and_then(|json| serde_json::from_str::<Value>(json).ok());
    match open.as_ref().and_then(|open| open["sid"].as_str()) {
        Some(sid) => sid.to_owned(),
        None => panic!(
            "the Engine.IO handshake should answer 200 with an open packet, 0{{\"sid\": ...}}; got {} {:?}.\n\
             Read: {section}",
            response.status,
            response.body.chars().take(200).collect::<String>()
        ),
    }
}

/// A Socket.IO client over HTTP long-polling, written by hand, that reads only when the test says so.
///
/// Over polling the server can send nothing until the client asks (a GET): what it emits in between waits in
/// the socket's buffer. A test that does not call [`PollingClient::poll`] is a client that has stopped reading,
/// exactly, with no network buffer in between to soak up what is sent.
pub struct PollingClient {
    server: SocketAddr,
    sid: String,
    section: Section,
    /// Packets of the last answer that the test has not taken yet.
    unread: std::collections::VecDeque<String>,
}

impl PollingClient {
    /// Opens a polling session, answers the server's first ping, and connects to the namespace `/` with
    /// `auth`; waits for the server's `40{...}`.
    ///
    /// Why the ping first: engineioxide closes a session whose buffer is full when the time comes to send a
    /// ping, and it sends the first one as the session opens. A client that connected before that ping was
    /// queued, and then read nothing while the server sent it more than its buffer holds, would lose its
    /// session to a race between two of the server's tasks. Waiting for the ping keeps a test about the
    /// server's code, not about which task ran first.
    pub async fn connect(server: SocketAddr, auth: Option<Value>, section: Section) -> PollingClient {
        let sid = polling_session(server, section).await;
        let mut client = PollingClient { server, sid, section, unread: Default::default() };
        client.answer_first_ping().await;
        let connect = match auth {
            Some(auth) => format!("40{auth}"),
            None => "40".to_owned(),
        };
        client.send(&connect).await;
        let connected = client.next_text("the namespace's CONNECT answer, 40{...}").await;
        assert!(
            connected.starts_with("40{"),
            "the server accepts the socket with 40{{...}}, got {connected:?}.\nRead: {section}"
        );
        client
    }

    async fn answer_first_ping(&mut self) {
        let path = format!("/socket.io/?EIO=4&transport=polling&sid={}", self.sid);
        let response = http::get(self.server, &path, self.section).await;
        let packets: Vec<&str> = response.body.split('\u{1e}').collect();
        assert!(
            response.status == 200 && packets.first() == Some(&"2"),
            "a polling session's first GET after the handshake should bring the server's first ping, 2; got {} \
             {:?}.\nRead: {}",
            response.status,
            response.body,
            self.section
        );
        self.send("3").await;
        self.unread.extend(packets[1..].iter().map(|packet| (*packet).to_owned()));
    }

    /// Sends one packet (`42[...]`, say) in a POST.
    pub async fn send(&self, packet: &str) {
        let path = format!("/socket.io/?EIO=4&transport=polling&sid={}", self.sid);
        let response = http::post(self.server, &path, packet, self.section).await;
        assert_eq!(
            response.status, 200,
            "a POST of {packet:?} to the polling session should be answered 200 ok; got {} {:?}.\nRead: {}",
            response.status, response.body, self.section
        );
    }

    /// The next packet the server sends, asking for more (a GET) only when none is left over from the last
    /// answer. The server's pings (`2`) are answered (`3`) and not returned.
    pub async fn next_text(&mut self, what: &str) -> String {
        loop {
            if let Some(packet) = self.unread.pop_front() {
                if packet == "2" {
                    self.send("3").await;
                    continue;
                }
                return packet;
            }
            let path = format!("/socket.io/?EIO=4&transport=polling&sid={}", self.sid);
            let response = http::get(self.server, &path, self.section).await;
            assert_eq!(
                response.status, 200,
                "waiting for {what}, a GET of the polling session should be answered 200 ok; got {} {:?}.\nRead: {}",
                response.status, response.body, self.section
            );
            // One answer may carry several packets, separated by the record separator (0x1e).
            self.unread.extend(response.body.split('\u{1e}').filter(|packet| !packet.is_empty()).map(str::to_owned));
        }
    }

    /// The next Socket.IO packet.
    pub async fn next_packet(&mut self, what: &str) -> Packet {
        parse_packet(&self.next_text(what).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_told_apart() {
        assert_eq!(parse_packet(r#"42["hi",1]"#), Packet::Event(json!(["hi", 1])));
        assert_eq!(parse_packet(r#"4312[{"ok":true}]"#), Packet::Ack(12, json!([{ "ok": true }])));
        assert_eq!(parse_packet("40{}"), Packet::Other("40{}".to_owned()));
        assert_eq!(parse_packet("42garbage"), Packet::Other("42garbage".to_owned()));
    }
}
