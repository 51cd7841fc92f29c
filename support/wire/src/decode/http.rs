//! HTTP/1.1 messages, read from one side of a connection as the bytes come (RFC 9112).
//!
//! A message is a head (a start line and header lines, ending with an empty line) and maybe a body. What
//! makes reading a *stream* of them tricky is knowing where a body ends: after `Content-Length` bytes, at
//! the last chunk of a `Transfer-Encoding: chunked` body, or, for a response with neither, when the server
//! closes the connection. A response to `HEAD`, a `204` and a `304` have no body whatever their headers say,
//! which is why the response side is told which request each response answers
//! ([`Parser::expect_response_to`]). A `101 Switching Protocols` ends HTTP on the connection altogether.

use std::collections::VecDeque;

use super::shown_bytes;

/// The longest head read; a longer one is not HTTP as a browser or a chat server speaks it.
const MAX_HEAD: usize = 64 * 1024;
/// The most bytes of a body kept for showing and decoding; the rest is counted.
const KEEP_BODY: usize = 1024 * 1024;

/// Which kind of message a parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The client's side: requests.
    Request,
    /// The server's side: responses.
    Response,
}

/// What a response needs to know about the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    pub method: String,
    pub target: String,
}

impl RequestInfo {
    /// Whether the request is one of Engine.IO's: its query has `EIO=` (the protocol's version).
    pub fn is_engine_io(&self) -> bool {
        self.target.contains("EIO=")
    }
}

/// A message's head: its start line, and its headers as they were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub start_line: String,
    pub headers: Vec<(String, String)>,
}

/// The headers worth a line of their own: the ones the book's chapters are about.
const INTERESTING: [&str; 10] = [
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-accept",
    "sec-websocket-extensions",
    "origin",
    "content-type",
    "content-length",
    "transfer-encoding",
    "location",
];

impl Head {
    /// The value of the first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The headers of [`INTERESTING`], in the order they came.
    pub fn interesting_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .filter(|(name, _)| INTERESTING.iter().any(|wanted| name.eq_ignore_ascii_case(wanted)))
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The method and target of a request's start line.
    pub fn request_info(&self) -> RequestInfo {
        let mut words = self.start_line.split(' ');
        let method = words.next().unwrap_or_default().to_owned();
        let target = words.next().unwrap_or_default().to_owned();
        RequestInfo { method, target }
    }
}

/// A body read to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDone {
    /// Its length in bytes (after removing the chunked framing).
    pub total: usize,
    /// Its first bytes, at most [`KEEP_BODY`].
    pub kept: Vec<u8>,
    pub content_type: Option<String>,
    /// The request it belongs to, or the one its response answers.
    pub request: Option<RequestInfo>,
    /// The status of the response it belongs to; `None` for a request's body.
    pub status: Option<u16>,
}

/// What a parser found in the bytes it was given.
#[derive(Debug, PartialEq, Eq)]
pub enum HttpEvent {
    Request(Head),
    Response(Head),
    Body(BodyDone),
    /// Something went wrong, or is worth a remark; said in a sentence.
    Note(String),
    /// The server answered `101 Switching Protocols` with `Upgrade: websocket`. `leftover` is what came after
    /// the head: the first WebSocket frames.
    SwitchedToWebSocket {
        request: Option<RequestInfo>,
        leftover: Vec<u8>,
    },
    /// A `101` to another protocol, or a tunnel (`CONNECT`): nothing more to decode.
    SwitchedToOther {
        protocol: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Fixed {
        remaining: usize,
    },
    ChunkSize,
    ChunkData {
        remaining: usize,
    },
    ChunkDataEnd,
    Trailers,
    UntilClose,
    /// The bytes are not HTTP (or no longer are): nothing more is read.
    Broken,
}

/// Reads the messages of one side of a connection, chunk by chunk.
pub struct Parser {
    role: Role,
    buffer: Vec<u8>,
    state: State,
    /// For the response side: the requests not answered yet, oldest first.
    expected: VecDeque<RequestInfo>,
    body: Option<BodyDone>,
}

impl Parser {
    pub fn new(role: Role) -> Parser {
        Parser { role, buffer: Vec::new(), state: State::Head, expected: VecDeque::new(), body: None }
    }

    /// Tells the response side that a request was sent, so that it knows what the next response answers.
    pub fn expect_response_to(&mut self, request: RequestInfo) {
        self.expected.push_back(request);
    }

    /// Whether the parser gave up on this side: what comes next is not decoded.
    pub fn is_broken(&self) -> bool {
        self.state == State::Broken
    }

    /// The bytes received but not read yet, taken away: when the connection switches protocol.
    pub fn take_buffered(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buffer)
    }

    /// Reads `bytes`, and returns what they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<HttpEvent> {
        let mut events = Vec::new();
        if self.state == State::Broken {
            return events;
        }
        self.buffer.extend_from_slice(bytes);
        while self.step(&mut events) {}
        events
    }

    /// The connection ended: a body that runs until the end is complete now, anything else was cut short.
    pub fn finish(&mut self) -> Vec<HttpEvent> {
        let mut events = Vec::new();
        match self.state {
            State::UntilClose => {
                if let Some(body) = self.body.take() {
                    events.push(HttpEvent::Body(body));
                }
            }
            State::Head if self.buffer.iter().any(|byte| !byte.is_ascii_whitespace()) => {
                events.push(HttpEvent::Note(format!(
                    "the connection ended in the middle of a head, after {} bytes of it",
                    self.buffer.len()
                )));
            }
            State::Head | State::Broken => {}
            _ => {
                let received = self.body.as_ref().map_or(0, |body| body.total);
                events.push(HttpEvent::Note(format!("the connection ended {received} bytes into a body")));
            }
        }
        self.state = State::Broken;
        events
    }

    /// Reads one thing (a head, a piece of a body, a chunk's framing). `false` when it needs more bytes.
    fn step(&mut self, events: &mut Vec<HttpEvent>) -> bool {
        match self.state {
            State::Broken => false,
            State::Head => self.read_head(events),
            State::Fixed { remaining } | State::ChunkData { remaining } => {
                let taken = remaining.min(self.buffer.len());
                if taken == 0 && remaining > 0 {
                    return false;
                }
                self.keep(taken);
                let remaining = remaining - taken;
                self.state = match (self.state, remaining) {
                    (State::Fixed { .. }, 0) => {
                        self.end_body(events);
                        State::Head
                    }
                    (State::Fixed { .. }, _) => State::Fixed { remaining },
                    (_, 0) => State::ChunkDataEnd,
                    (_, _) => State::ChunkData { remaining },
                };
                true
            }
            State::ChunkSize => {
                let Some(line) = self.take_line(1024, "a chunk size line", events) else { return false };
                let size = line.split(';').next().unwrap_or_default().trim();
                match usize::from_str_radix(size, 16) {
                    Ok(0) => self.state = State::Trailers,
                    Ok(size) => self.state = State::ChunkData { remaining: size },
                    Err(_) => self.fail(
                        format!("a chunk size must be hexadecimal, not {}", shown_bytes(size.as_bytes())),
                        events,
                    ),
                }
                true
            }
            State::ChunkDataEnd => {
                if self.buffer.len() < 2 {
                    return false;
                }
                if !self.buffer.starts_with(b"\r\n") {
                    self.fail("a chunk's data must end with CRLF".to_owned(), events);
                    return false;
                }
                self.buffer.drain(..2);
                self.state = State::ChunkSize;
                true
            }
            State::Trailers => {
                let Some(line) = self.take_line(MAX_HEAD, "a trailer line", events) else { return false };
                if line.is_empty() {
                    self.end_body(events);
                    self.state = State::Head;
                }
                true
            }
            State::UntilClose => {
                let taken = self.buffer.len();
                self.keep(taken);
                false
            }
        }
    }

    fn read_head(&mut self, events: &mut Vec<HttpEvent>) -> bool {
        // Empty lines before a request are allowed (RFC 9112, section 2.2): some clients send one after a body.
        let blank = self.buffer.iter().take_while(|byte| matches!(byte, b'\r' | b'\n')).count();
        self.buffer.drain(..blank);
        let Some(end) = find(&self.buffer, b"\r\n\r\n") else {
            if !self.looks_like_http() {
                let start = &self.buffer[..self.buffer.len().min(16)];
                self.fail(format!("not HTTP/1.1: it starts with {}", shown_bytes(start)), events);
            } else if self.buffer.len() > MAX_HEAD {
                self.fail("a head longer than 64 KiB".to_owned(), events);
            }
            return false;
        };
        if !self.looks_like_http() {
            let start = &self.buffer[..self.buffer.len().min(16)];
            self.fail(format!("not HTTP/1.1: it starts with {}", shown_bytes(start)), events);
            return false;
        }
        let head: Vec<u8> = self.buffer.drain(..end + 4).collect();
        let text = String::from_utf8_lossy(&head[..end]);
        let mut lines = text.split("\r\n");
        let start_line = lines.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        for line in lines {
            match line.split_once(':') {
                Some((name, value)) => headers.push((name.trim().to_owned(), value.trim().to_owned())),
                None => {
                    self.fail(format!("a header line without a colon: {}", shown_bytes(line.as_bytes())), events);
                    return false;
                }
            }
        }
        let head = Head { start_line, headers };
        match self.role {
            Role::Request => self.after_request_head(head, events),
            Role::Response => self.after_response_head(head, events),
        }
        self.state != State::Broken
    }

    fn after_request_head(&mut self, head: Head, events: &mut Vec<HttpEvent>) {
        let request = head.request_info();
        if head.start_line.ends_with("HTTP/2.0") {
            self.fail("HTTP/2 is not decoded".to_owned(), events);
            return;
        }
        let framing = body_framing(&head, true);
        let content_type = head.header("content-type").map(str::to_owned);
        events.push(HttpEvent::Request(head));
        self.start_body(framing, content_type, Some(request), None, events);
    }

    fn after_response_head(&mut self, head: Head, events: &mut Vec<HttpEvent>) {
        let status = head.start_line.split(' ').nth(1).and_then(|code| code.parse::<u16>().ok());
        let Some(status) = status else {
            let line = head.start_line.clone();
            self.fail(format!("not a status line: {}", shown_bytes(line.as_bytes())), events);
            return;
        };
        if status == 101 {
            let request = self.expected.pop_front();
            let protocol = head.header("upgrade").unwrap_or("an unnamed protocol").to_owned();
            events.push(HttpEvent::Response(head));
            let leftover = std::mem::take(&mut self.buffer);
            events.push(if protocol.eq_ignore_ascii_case("websocket") {
                HttpEvent::SwitchedToWebSocket { request, leftover }
            } else {
                HttpEvent::SwitchedToOther { protocol }
            });
            self.state = State::Broken;
            return;
        }
        if (100..200).contains(&status) {
            // An interim response (100 Continue): the final one is still to come.
            events.push(HttpEvent::Response(head));
            return;
        }
        let request = self.expected.pop_front();
        let method = request.as_ref().map(|request| request.method.as_str()).unwrap_or_default();
        if method == "CONNECT" && (200..300).contains(&status) {
            events.push(HttpEvent::Response(head));
            events.push(HttpEvent::SwitchedToOther { protocol: "a CONNECT tunnel".to_owned() });
            self.state = State::Broken;
            return;
        }
        let framing =
            if method == "HEAD" || status == 204 || status == 304 { Framing::None } else { body_framing(&head, false) };
        let content_type = head.header("content-type").map(str::to_owned);
        events.push(HttpEvent::Response(head));
        self.start_body(framing, content_type, request, Some(status), events);
    }

    fn start_body(
        &mut self,
        framing: Framing,
        content_type: Option<String>,
        request: Option<RequestInfo>,
        status: Option<u16>,
        events: &mut Vec<HttpEvent>,
    ) {
        let body = BodyDone { total: 0, kept: Vec::new(), content_type, request, status };
        self.state = match framing {
            Framing::None | Framing::Length(0) => State::Head,
            Framing::Length(length) => State::Fixed { remaining: length },
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
            Framing::Invalid(reason) => {
                self.fail(reason, events);
                return;
            }
        };
        if self.state != State::Head {
            self.body = Some(body);
        }
    }

    /// Moves `count` bytes of body out of the buffer, keeping the first [`KEEP_BODY`] of the whole body.
    fn keep(&mut self, count: usize) {
        let bytes = self.buffer.drain(..count);
        if let Some(body) = &mut self.body {
            let room = KEEP_BODY.saturating_sub(body.kept.len());
            body.kept.extend(bytes.take(room));
            body.total += count;
        }
    }

    fn end_body(&mut self, events: &mut Vec<HttpEvent>) {
        if let Some(body) = self.body.take()
            && body.total > 0
        {
            events.push(HttpEvent::Body(body));
        }
    }

    /// The next line (without its CRLF), or `None` if it has not all arrived. A line longer than `limit` breaks
    /// the parser.
    fn take_line(&mut self, limit: usize, what: &str, events: &mut Vec<HttpEvent>) -> Option<String> {
        match find(&self.buffer, b"\r\n") {
            Some(end) => {
                let line: Vec<u8> = self.buffer.drain(..end + 2).collect();
                Some(String::from_utf8_lossy(&line[..end]).into_owned())
            }
            None => {
                if self.buffer.len() > limit {
                    self.fail(format!("{what} longer than {limit} bytes"), events);
                }
                None
            }
        }
    }

    fn fail(&mut self, reason: String, events: &mut Vec<HttpEvent>) {
        events.push(HttpEvent::Note(format!("{reason}; the rest of this side is not decoded")));
        self.state = State::Broken;
        self.buffer.clear();
    }

    /// Whether what the buffer starts with can be the start of a request line (`GET /...`) or a status line
    /// (`HTTP/1.1 200`): checked early, so that a TLS handshake or an HTTP/2 preface is told apart at once.
    fn looks_like_http(&self) -> bool {
        let start = &self.buffer[..self.buffer.len().min(MAX_HEAD)];
        match self.role {
            Role::Request => {
                let method: Vec<u8> = start.iter().copied().take_while(|byte| *byte != b' ').collect();
                method.len() <= 20
                    && method.iter().all(u8::is_ascii_uppercase)
                    && (method.len() < start.len() || start.len() < 20)
            }
            Role::Response => {
                let prefix = &start[..start.len().min(5)];
                b"HTTP/".starts_with(prefix)
            }
        }
    }
}

/// How a message's body is delimited.
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
    Invalid(String),
}

fn body_framing(head: &Head, is_request: bool) -> Framing {
    let chunked = head.header("transfer-encoding").is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return Framing::Chunked;
    }
    match head.header("content-length") {
        Some(length) => match length.parse::<usize>() {
            Ok(length) => Framing::Length(length),
            Err(_) => Framing::Invalid(format!("a Content-Length that is not a number: {length:?}")),
        },
        // A request without either has no body; a response without either runs until the connection closes.
        None if is_request => Framing::None,
        None => Framing::UntilClose,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(target: &str) -> RequestInfo {
        RequestInfo { method: "GET".to_owned(), target: target.to_owned() }
    }

    /// Feeds `bytes` one byte at a time: the worst a TCP stream can do.
    fn byte_by_byte(parser: &mut Parser, bytes: &[u8]) -> Vec<HttpEvent> {
        bytes.iter().flat_map(|byte| parser.push(std::slice::from_ref(byte))).collect()
    }

    #[test]
    fn keep_alive_requests_with_and_without_bodies() {
        let mut parser = Parser::new(Role::Request);
        let events = byte_by_byte(
            &mut parser,
            b"POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n42[1]\
              GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert_eq!(events.len(), 3, "{events:?}");
        let HttpEvent::Body(body) = &events[1] else { panic!("{events:?}") };
        assert_eq!((body.total, body.kept.as_slice()), (5, b"42[1]".as_slice()));
        assert_eq!(body.content_type.as_deref(), Some("text/plain"));
        assert!(body.request.as_ref().is_some_and(RequestInfo::is_engine_io));
        let HttpEvent::Request(head) = &events[2] else { panic!("{events:?}") };
        assert_eq!(head.start_line, "GET / HTTP/1.1");
        assert_eq!(head.header("HOST"), Some("x"));
    }

    #[test]
    fn a_chunked_response_is_put_back_together() {
        let mut parser = Parser::new(Role::Response);
        parser.expect_response_to(request("/"));
        let events = byte_by_byte(
            &mut parser,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n",
        );
        assert_eq!(events.len(), 2, "{events:?}");
        let HttpEvent::Body(body) = &events[1] else { panic!("{events:?}") };
        assert_eq!(body.kept, b"hello, world");
        assert_eq!(body.status, Some(200));
    }

    #[test]
    fn a_head_response_and_a_304_have_no_body() {
        let mut parser = Parser::new(Role::Response);
        parser.expect_response_to(RequestInfo { method: "HEAD".to_owned(), target: "/".to_owned() });
        parser.expect_response_to(request("/"));
        parser.expect_response_to(request("/"));
        let events = parser.push(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        );
        let kinds: Vec<&str> = events
            .iter()
            .map(|event| match event {
                HttpEvent::Response(_) => "response",
                HttpEvent::Body(_) => "body",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["response", "response", "response", "body"]);
    }

    #[test]
    fn an_interim_response_does_not_use_up_the_request() {
        let mut parser = Parser::new(Role::Response);
        parser.expect_response_to(RequestInfo { method: "HEAD".to_owned(), target: "/".to_owned() });
        let events = parser.push(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
        assert_eq!(events.len(), 2, "the HEAD's response has no body: {events:?}");
    }

    #[test]
    fn a_101_hands_over_what_follows_its_head() {
        let mut parser = Parser::new(Role::Response);
        parser.expect_response_to(request("/socket.io/?EIO=4&transport=websocket"));
        let events = parser.push(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n\r\n\x81\x012");
        let HttpEvent::SwitchedToWebSocket { request, leftover } = &events[1] else { panic!("{events:?}") };
        assert!(request.as_ref().is_some_and(RequestInfo::is_engine_io));
        assert_eq!(leftover, b"\x81\x012");
        assert!(parser.is_broken(), "nothing after a 101 is HTTP");
    }

    #[test]
    fn what_is_not_http_is_said_once() {
        let mut parser = Parser::new(Role::Request);
        let events = parser.push(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert!(matches!(&events[..], [HttpEvent::Note(note)] if note.contains("HTTP/2")), "{events:?}");
        let mut parser = Parser::new(Role::Request);
        let events = parser.push(b"\x16\x03\x01\x02\x00");
        assert!(matches!(&events[..], [HttpEvent::Note(note)] if note.contains("not HTTP/1.1")), "{events:?}");
        assert!(parser.push(b"GET / HTTP/1.1\r\n\r\n").is_empty());
        let mut parser = Parser::new(Role::Response);
        parser.expect_response_to(request("/"));
        let events = parser.push(b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n");
        assert!(
            matches!(&events[..], [HttpEvent::Response(_), HttpEvent::Note(note)] if note.contains("Content-Length")),
            "{events:?}"
        );
    }

    #[test]
    fn a_body_until_close_ends_with_the_connection() {
        let mut parser = Parser::new(Role::Response);
        parser.expect_response_to(request("/"));
        assert_eq!(parser.push(b"HTTP/1.0 200 OK\r\n\r\nabc").len(), 1);
        assert!(parser.push(b"def").is_empty());
        let events = parser.finish();
        let [HttpEvent::Body(body)] = &events[..] else { panic!("{events:?}") };
        assert_eq!(body.kept, b"abcdef");
    }

    #[test]
    fn interesting_headers_keep_their_order_and_spelling() {
        let head = Head {
            start_line: "GET / HTTP/1.1".to_owned(),
            headers: vec![
                ("Host".to_owned(), "a".to_owned()),
                ("upgrade".to_owned(), "websocket".to_owned()),
                ("Sec-WebSocket-Key".to_owned(), "k".to_owned()),
            ],
        };
        let shown: Vec<(&str, &str)> = head.interesting_headers().collect();
        assert_eq!(shown, [("upgrade", "websocket"), ("Sec-WebSocket-Key", "k")]);
    }
}
