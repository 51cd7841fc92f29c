//! Turning the bytes of one TCP connection into lines a person can read.
//!
//! The spy hands every chunk it forwards to a [`Connection`], tagged with the side that sent it. The
//! connection starts out reading HTTP/1.1 on both sides ([`http`]); when the server answers an upgrade with
//! `101 Switching Protocols`, both sides switch to WebSocket frames ([`websocket`]). A text message of a
//! WebSocket that was opened for Engine.IO (its URL has `EIO=`) is an Engine.IO packet ([`engineio`]), and
//! an Engine.IO message usually carries a Socket.IO packet ([`socketio`]); HTTP long-polling bodies carry the
//! same packets, several at a time.
//!
//! Everything here works on a copy of the traffic and only ever returns lines: a decoder that is confused
//! says so in a line and stops decoding that side, and the bytes themselves are none of its business.

pub mod engineio;
pub mod http;
pub mod socketio;
pub mod websocket;

use self::http::{BodyDone, HttpEvent, RequestInfo, Role};
use self::websocket::{Frame, FrameReader, Messages};

/// Which end of the connection sent some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The browser, or whatever connected to the spy.
    Client,
    /// The server the spy forwards to.
    Server,
}

impl Side {
    /// `→` for client to server, `←` for server to client: the arrow points where the bytes go.
    pub fn arrow(self) -> &'static str {
        match self {
            Side::Client => "→",
            Side::Server => "←",
        }
    }
}

/// One line of output, and the side whose bytes it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub side: Side,
    pub text: String,
}

/// The most characters of a payload or a body shown on a line; the rest is cut, and the full length said.
pub const SHOWN_CHARS: usize = 200;

/// `text` as it can be shown on one line: control characters escaped (a newline shows as `\n`), and cut
/// after [`SHOWN_CHARS`] characters with an ellipsis and the full length in bytes.
pub fn shown(text: &str) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == SHOWN_CHARS {
            out.push_str(&format!("… ({} bytes)", text.len()));
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Bytes that may or may not be text: the text shown, or their count if they are not UTF-8.
pub fn shown_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => shown(text),
        Err(_) => format!("({} bytes, not UTF-8)", bytes.len()),
    }
}

/// What one side of the connection speaks at the moment.
enum Stream {
    Http(http::Parser),
    WebSocket {
        frames: FrameReader,
        messages: Messages,
    },
    /// Not decoded any more: after a decoding error, or a protocol switch to something other than WebSocket.
    Opaque,
}

/// The decoder of one proxied connection: bytes from either side in, lines out.
pub struct Connection {
    client: Stream,
    server: Stream,
    /// Whether the WebSocket carries Engine.IO packets: its upgrade request's URL had `EIO=` in it.
    engine_io: bool,
}

impl Default for Connection {
    fn default() -> Self {
        Connection::new()
    }
}

impl Connection {
    pub fn new() -> Connection {
        Connection {
            client: Stream::Http(http::Parser::new(Role::Request)),
            server: Stream::Http(http::Parser::new(Role::Response)),
            engine_io: false,
        }
    }

    /// Decodes the next chunk that `side` sent, and returns what there is to say about it so far.
    pub fn feed(&mut self, side: Side, bytes: &[u8]) -> Vec<Line> {
        let mut lines = Vec::new();
        let stream = match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        };
        match stream {
            Stream::Opaque => {}
            Stream::WebSocket { frames, messages } => {
                websocket_lines(side, frames.push(bytes), messages, self.engine_io, &mut lines);
                if frames.is_broken() {
                    *stream = Stream::Opaque;
                }
            }
            Stream::Http(parser) => {
                let events = parser.push(bytes);
                if parser.is_broken() {
                    *stream = Stream::Opaque;
                }
                for event in events {
                    self.http_event(side, event, &mut lines);
                }
            }
        }
        lines
    }

    /// Says what is left to say when the connection has ended: a body that ran until the connection closed.
    pub fn finish(&mut self) -> Vec<Line> {
        let mut lines = Vec::new();
        for side in [Side::Client, Side::Server] {
            let stream = match side {
                Side::Client => &mut self.client,
                Side::Server => &mut self.server,
            };
            if let Stream::Http(parser) = stream {
                for event in parser.finish() {
                    self.http_event(side, event, &mut lines);
                }
            }
        }
        lines
    }

    fn http_event(&mut self, side: Side, event: HttpEvent, lines: &mut Vec<Line>) {
        let mut say = |text: String| lines.push(Line { side, text });
        match event {
            HttpEvent::Request(head) => {
                say(head.start_line.clone());
                for (name, value) in head.interesting_headers() {
                    say(format!("  {name}: {value}"));
                }
                if let Stream::Http(responses) = &mut self.server {
                    responses.expect_response_to(head.request_info());
                }
            }
            HttpEvent::Response(head) => {
                say(head.start_line.clone());
                for (name, value) in head.interesting_headers() {
                    say(format!("  {name}: {value}"));
                }
            }
            HttpEvent::Body(body) => body_lines(side, &body, lines),
            HttpEvent::Note(note) => say(format!("({note})")),
            HttpEvent::SwitchedToWebSocket { request, leftover } => {
                self.engine_io = request.as_ref().is_some_and(RequestInfo::is_engine_io);
                let kind = if self.engine_io { "Engine.IO packets" } else { "messages" };
                say(format!("(the connection is a WebSocket from now on: frames of {kind})"));
                self.server = Stream::WebSocket { frames: FrameReader::new(), messages: Messages::default() };
                let client_leftover = match std::mem::replace(&mut self.client, Stream::Opaque) {
                    Stream::Http(mut parser) => parser.take_buffered(),
                    _ => Vec::new(),
                };
                self.client = Stream::WebSocket { frames: FrameReader::new(), messages: Messages::default() };
                // Bytes that came after the 101 in the same chunk are the server's first frames.
                if !leftover.is_empty() {
                    lines.extend(self.feed(Side::Server, &leftover));
                }
                if !client_leftover.is_empty() {
                    lines.extend(self.feed(Side::Client, &client_leftover));
                }
            }
            HttpEvent::SwitchedToOther { protocol } => {
                say(format!("(the connection switched to {protocol}: not decoded any further)"));
                self.client = Stream::Opaque;
                self.server = Stream::Opaque;
            }
        }
    }
}

/// The lines for a whole HTTP body: Engine.IO packets one by one for a long-polling body, or the body shown.
fn body_lines(side: Side, body: &BodyDone, lines: &mut Vec<Line>) {
    let mut say = |text: String| lines.push(Line { side, text });
    let cut = if body.kept.len() < body.total { ", only the start kept" } else { "" };
    let kind = body.content_type.as_deref().map(|kind| format!(" ({kind})")).unwrap_or_default();
    let carries_packets = body.request.as_ref().is_some_and(|request| {
        // A polling GET's answer and a polling POST's body are payloads; the POST's answer is a plain "ok".
        request.is_engine_io() && (side == Side::Client || (request.method == "GET" && body.status == Some(200)))
    });
    match std::str::from_utf8(&body.kept) {
        Ok(text) if carries_packets => {
            let packets: Vec<&str> = engineio::split_payload(text).collect();
            let count = packets.len();
            say(format!(
                "body {}{kind}{cut}: an Engine.IO payload of {count} packet{}",
                bytes(body.total as u64),
                plural(count)
            ));
            for packet in packets {
                say(format!("  poll  {}  = {}", shown(packet), engineio::describe_polled(packet, side)));
            }
        }
        Ok(text) => say(format!("body {}{kind}{cut}: {}", bytes(body.total as u64), shown(text))),
        Err(_) => say(format!("body {}{kind}, binary (not UTF-8)", bytes(body.total as u64))),
    }
}

/// The lines for WebSocket frames: one per frame, plus one per message that came in several fragments.
fn websocket_lines(
    side: Side,
    frames: Vec<Result<Frame, String>>,
    messages: &mut Messages,
    engine_io: bool,
    lines: &mut Vec<Line>,
) {
    for frame in frames {
        let text = match frame {
            Ok(frame) => {
                let line = websocket::describe_frame(&frame, side, engine_io);
                let assembled = messages.push(&frame);
                lines.push(Line { side, text: line });
                match assembled {
                    Some(message) => websocket::describe_message(&message, side, engine_io),
                    None => continue,
                }
            }
            Err(error) => format!("(not a WebSocket frame: {error}; the rest of this side is not decoded)"),
        };
        lines.push(Line { side, text });
    }
}

/// `1 byte`, `2 bytes`.
pub fn bytes(count: u64) -> String {
    format!("{count} byte{}", if count == 1 { "" } else { "s" })
}

/// `"s"` unless there is exactly one.
pub fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|line| format!("{} {}", line.side.arrow(), line.text)).collect()
    }

    #[test]
    fn long_text_is_cut_with_its_length_and_control_characters_are_escaped() {
        assert_eq!(shown("a\nb\u{1e}c"), "a\\nb\\u{1e}c");
        let long = "é".repeat(250);
        let cut = shown(&long);
        assert!(cut.starts_with(&"é".repeat(200)));
        assert!(cut.ends_with("… (500 bytes)"), "{cut}");
        assert_eq!(shown_bytes(&[0xff, 0xfe]), "(2 bytes, not UTF-8)");
    }

    #[test]
    fn a_polling_exchange_then_an_upgrade_in_one_connection() {
        let mut connection = Connection::new();
        let mut lines = connection.feed(
            Side::Client,
            b"GET /socket.io/?EIO=4&transport=polling&t=x HTTP/1.1\r\nHost: a\r\nOrigin: http://a\r\n\r\n",
        );
        let open = "0{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000}";
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=UTF-8\r\ncontent-length: {}\r\n\r\n{open}",
            open.len()
        );
        // The response arrives in two pieces, split in the middle of its head.
        let (first, second) = response.as_bytes().split_at(20);
        lines.extend(connection.feed(Side::Server, first));
        lines.extend(connection.feed(Side::Server, second));
        let shown = texts(&lines);
        assert_eq!(shown[0], "→ GET /socket.io/?EIO=4&transport=polling&t=x HTTP/1.1");
        assert_eq!(shown[1], "→   Origin: http://a");
        assert_eq!(shown[2], "← HTTP/1.1 200 OK");
        assert!(shown[5].contains("an Engine.IO payload of 1 packet"), "{shown:?}");
        assert!(shown[6].contains("= engine.io OPEN sid \"abc\""), "{shown:?}");

        let lines = connection.feed(
            Side::Client,
            b"GET /socket.io/?EIO=4&transport=websocket&sid=abc HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        );
        assert_eq!(texts(&lines)[1], "→   Upgrade: websocket");
        // The 101 and the server's first frame ("3probe", unmasked) in one chunk.
        let mut chunk = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".to_vec();
        chunk.extend_from_slice(&[0x81, 6]);
        chunk.extend_from_slice(b"3probe");
        let lines = texts(&connection.feed(Side::Server, &chunk));
        assert_eq!(lines[0], "← HTTP/1.1 101 Switching Protocols");
        assert!(lines[2].contains("WebSocket from now on"), "{lines:?}");
        assert_eq!(
            lines[3],
            "← ws text [fin, unmasked, 6 bytes]  3probe  = engine.io PONG probe (the WebSocket works)"
        );

        let frame = websocket::tests::masked_frame(0x1, b"42[\"chat message\",{\"text\":\"hi\"}]");
        let lines = texts(&connection.feed(Side::Client, &frame));
        assert_eq!(
            lines,
            [
                "→ ws text [fin, masked, 32 bytes]  42[\"chat message\",{\"text\":\"hi\"}]  = socket.io EVENT \"chat message\" {\"text\":\"hi\"}"
            ]
        );
    }

    #[test]
    fn a_raw_websocket_shows_its_text_as_text() {
        let mut connection = Connection::new();
        connection.feed(Side::Client, b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n");
        connection.feed(Side::Server, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
        let lines = texts(&connection.feed(Side::Server, &[0x81, 1, b'2']));
        assert_eq!(lines, ["← ws text [fin, unmasked, 1 byte]  2"]);
    }

    #[test]
    fn garbage_is_noted_once_and_the_side_is_no_longer_decoded() {
        let mut connection = Connection::new();
        let lines = texts(&connection.feed(Side::Client, b"\x16\x03\x01 not http at all\r\n\r\n"));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("not HTTP/1.1"), "{lines:?}");
        assert!(connection.feed(Side::Client, b"GET / HTTP/1.1\r\n\r\n").is_empty());
    }

    #[test]
    fn a_body_that_runs_until_the_connection_closes_is_shown_at_the_end() {
        let mut connection = Connection::new();
        connection.feed(Side::Client, b"GET / HTTP/1.1\r\n\r\n");
        let lines = connection.feed(Side::Server, b"HTTP/1.1 200 OK\r\n\r\nhello");
        assert_eq!(texts(&lines), ["← HTTP/1.1 200 OK"]);
        assert_eq!(texts(&connection.finish()), ["← body 5 bytes: hello"]);
    }
}
