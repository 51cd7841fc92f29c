//! The `wire` tools, run as a student runs them, against servers these tests start on 127.0.0.1:0.
//!
//! Every wait is for a line the program prints, with a time limit; a failure shows everything the program
//! printed so far.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use serde_json::json;
use testkit::Chapter;
use testkit::eio::PollingClient;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const WIRE: &str = env!("CARGO_BIN_EXE_wire");
/// The longest any one thing may take.
const WAIT: Duration = Duration::from_secs(5);

/// A running `wire`, its standard output read line by line.
struct Wire {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    printed: Vec<String>,
    stderr: Arc<Mutex<String>>,
    /// The task that collects the standard error; done once the program has closed it.
    stderr_done: Option<tokio::task::JoinHandle<()>>,
}

impl Wire {
    fn start(args: &[&str]) -> Wire {
        let mut child = Command::new(WIRE)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the test could not start wire");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("piped");
        let collected = stderr.clone();
        let stderr_done = tokio::spawn(async move {
            let mut buffer = [0; 1024];
            while let Ok(read @ 1..) = pipe.read(&mut buffer).await {
                if let Ok(mut collected) = collected.lock() {
                    collected.push_str(&String::from_utf8_lossy(&buffer[..read]));
                }
            }
        });
        Wire { child, stdin, stdout, printed: Vec::new(), stderr, stderr_done: Some(stderr_done) }
    }

    fn transcript(&self) -> String {
        let stderr = self.stderr.lock().map(|text| text.clone()).unwrap_or_default();
        format!("--- wire printed:\n{}\n--- on its standard error:\n{stderr}", self.printed.join("\n"))
    }

    /// Reads lines until one contains `needle` (and returns it), failing after [`WAIT`].
    async fn line_containing(&mut self, needle: &str) -> String {
        let search = async {
            while let Ok(Some(line)) = self.stdout.next_line().await {
                self.printed.push(line.clone());
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        };
        match tokio::time::timeout(WAIT, search).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("wire's output ended without a line containing {needle:?}\n{}", self.transcript()),
            Err(_) => panic!("no line containing {needle:?} within {WAIT:?}\n{}", self.transcript()),
        }
    }

    /// Whether some line printed so far contains `needle`.
    fn has_printed(&self, needle: &str) -> bool {
        self.printed.iter().any(|line| line.contains(needle))
    }

    async fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("standard input still open");
        stdin.write_all(format!("{line}\n").as_bytes()).await.expect("wire reads its standard input");
    }

    /// Closes standard input (Ctrl-D), reads the rest of the output, and waits for the exit.
    async fn finish(mut self) -> (ExitStatus, Wire) {
        self.stdin = None;
        let rest = async {
            while let Ok(Some(line)) = self.stdout.next_line().await {
                self.printed.push(line);
            }
            if let Some(done) = self.stderr_done.take() {
                let _ = done.await;
            }
            self.child.wait().await
        };
        match tokio::time::timeout(WAIT, rest).await {
            Ok(Ok(status)) => (status, self),
            Ok(Err(error)) => panic!("could not wait for wire: {error}"),
            Err(_) => panic!("wire did not exit within {WAIT:?} of the end of its input\n{}", self.transcript()),
        }
    }
}

/// Starts `wire spy --to PORT` and returns it with the address it listens on, read from its first line.
async fn spy_on(server: SocketAddr) -> (Wire, SocketAddr) {
    let mut spy = Wire::start(&["spy", "--to", &server.port().to_string()]);
    let first = spy.line_containing("spying on").await;
    assert!(first.starts_with(&format!("spying on {server}: open http://127.0.0.1:")), "{first}");
    let address = first.split("http://").nth(1).and_then(|rest| rest.split('/').next()).expect("the spy's URL");
    (spy, address.parse().expect("an address"))
}

/// A port where nothing listens (bound, then let go).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    listener.local_addr().expect("address").port()
}

const REQUESTS: &[u8] = b"GET /hello HTTP/1.1\r\nHost: test\r\nAccept: */*\r\n\r\n\
POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello there";
const RESPONSES: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 12\r\nX-Other: 1\r\n\r\n<p>hello</p>\
HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n7\r\n, again\r\n0\r\n\r\n";

/// A server that reads [`REQUESTS`] on each connection, answers [`RESPONSES`], and reports what it read.
/// (The spy's first connection, the one that checks the server is there, closes without a byte.)
async fn scripted_http_server() -> (SocketAddr, tokio::sync::mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (report, received) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let report = report.clone();
            tokio::spawn(async move {
                let mut request = vec![0; REQUESTS.len()];
                if stream.read_exact(&mut request).await.is_ok() {
                    let _ = stream.write_all(RESPONSES).await;
                    let _ = report.send(request).await;
                }
                // Keep the connection open until the client closes it, as a keep-alive server does.
                let _ = stream.read(&mut [0; 1]).await;
            });
        }
    });
    (address, received)
}

#[tokio::test]
async fn spy_shows_http_requests_and_responses_and_passes_them_on_unchanged() {
    let (server, mut received) = scripted_http_server().await;
    let (mut spy, address) = spy_on(server).await;

    let mut client = TcpStream::connect(address).await.expect("the spy accepts connections");
    // Two requests in one write, the second with a body: keep-alive and pipelining through the spy.
    client.write_all(REQUESTS).await.expect("write");
    let mut responses = vec![0; RESPONSES.len()];
    tokio::time::timeout(WAIT, client.read_exact(&mut responses)).await.expect("the responses in time").expect("read");
    assert_eq!(String::from_utf8_lossy(&responses), String::from_utf8_lossy(RESPONSES), "the client got other bytes");
    let received = tokio::time::timeout(WAIT, received.recv()).await.expect("in time").expect("the server's report");
    assert_eq!(String::from_utf8_lossy(&received), String::from_utf8_lossy(REQUESTS), "the server got other bytes");

    spy.line_containing("#1 new connection from 127.0.0.1:").await;
    spy.line_containing("#1 → GET /hello HTTP/1.1").await;
    spy.line_containing("#1 → POST /echo HTTP/1.1").await;
    spy.line_containing("#1 →   Content-Length: 11").await;
    spy.line_containing("#1 → body 11 bytes (text/plain): hello there").await;
    spy.line_containing("#1 ← HTTP/1.1 200 OK").await;
    spy.line_containing("#1 ←   Content-Type: text/html; charset=utf-8").await;
    spy.line_containing("#1 ← body 12 bytes (text/html; charset=utf-8): <p>hello</p>").await;
    spy.line_containing("#1 ← HTTP/1.1 201 Created").await;
    spy.line_containing("#1 ←   Transfer-Encoding: chunked").await;
    spy.line_containing("#1 ← body 12 bytes: first, again").await;
    drop(client);
    let end = spy.line_containing("#1 closed by the client").await;
    assert!(end.ends_with(&format!("→ {} bytes, ← {} bytes", REQUESTS.len(), RESPONSES.len())), "{end}");
    assert!(
        !spy.has_printed("X-Other") && !spy.has_printed("Accept:"),
        "only the headers that matter\n{}",
        spy.transcript()
    );
}

#[tokio::test]
async fn spy_decodes_socket_io_over_a_websocket_while_talk_speaks_through_it() {
    let server = testkit::reference::chat_server().await;
    let (mut spy, address) = spy_on(server.address()).await;
    let mut talk = Wire::start(&["talk", "--socket-io", &format!("http://{address}"), "--auth", r#"{"name":"ann"}"#]);
    talk.line_containing(r#"= socket.io CONNECT accepted"#).await;
    talk.type_line(r#"ack chat message {"text":"hi"}"#).await;
    talk.line_containing(r#"← 431[{"ok":true}]  = socket.io ACK 1 {"ok":true}"#).await;

    spy.line_containing("→ GET /socket.io/?EIO=4&transport=websocket HTTP/1.1").await;
    spy.line_containing("→   Upgrade: websocket").await;
    spy.line_containing("→   Sec-WebSocket-Key: ").await;
    spy.line_containing("← HTTP/1.1 101 Switching Protocols").await;
    // hyper writes header names in lower case, as HTTP allows.
    spy.line_containing("←   sec-websocket-accept: ").await;
    spy.line_containing("= engine.io OPEN sid ").await;
    let connect = spy.line_containing(r#"→ ws text [fin, masked, 16 bytes]  40{"name":"ann"}"#).await;
    assert!(connect.ends_with(r#"= socket.io CONNECT with auth {"name":"ann"} (namespace /)"#), "{connect}");
    spy.line_containing(
        r#"→ ws text [fin, masked, 33 bytes]  421["chat message",{"text":"hi"}]  = socket.io EVENT "chat message" {"text":"hi"}, asks for ack 1"#,
    )
    .await;
    spy.line_containing(
        r#"← ws text [fin, unmasked, 45 bytes]  42["chat message",{"name":"ann","text":"hi"}]  = socket.io EVENT "chat message" {"name":"ann","text":"hi"}"#,
    )
    .await;
    spy.line_containing(r#"← ws text [fin, unmasked, 16 bytes]  431[{"ok":true}]  = socket.io ACK 1 {"ok":true}"#)
        .await;

    let (status, talk) = talk.finish().await;
    assert!(status.success(), "talk leaves with 0 at the end of its input\n{}", talk.transcript());
    spy.line_containing(r#"→ ws text [fin, masked, 2 bytes]  41  = socket.io DISCONNECT"#).await;
    spy.line_containing("→ ws close [fin, masked, 2 bytes]  code 1000 (normal closure)").await;
    spy.line_containing(" closed by the ").await;
}

#[tokio::test]
async fn spy_decodes_the_packets_of_long_polling_bodies() {
    let server = testkit::reference::chat_server().await;
    let (mut spy, address) = spy_on(server.address()).await;
    let section = Chapter { number: 4, title: "Socket.IO", page: "book/src/04-socket-io.md" }.section("Polling");
    let mut client = PollingClient::connect(address, Some(json!({"name": "pat"})), section).await;
    client.send(r#"42["chat message",{"text":"polled"}]"#).await;
    let echoed = client.next_text("the server's copy of the message").await;
    assert_eq!(echoed, r#"42["chat message",{"name":"pat","text":"polled"}]"#, "passed on unchanged");

    spy.line_containing("→ GET /socket.io/?EIO=4&transport=polling HTTP/1.1").await;
    let handshake = spy.line_containing("← body ").await;
    assert!(handshake.ends_with("an Engine.IO payload of 1 packet"), "{handshake}");
    spy.line_containing("←   poll  0{\"sid\":").await;
    spy.line_containing(r#"→   poll  40{"name":"pat"}  = socket.io CONNECT with auth {"name":"pat"} (namespace /)"#)
        .await;
    spy.line_containing(
        r#"→   poll  42["chat message",{"text":"polled"}]  = socket.io EVENT "chat message" {"text":"polled"}"#,
    )
    .await;
    let ok = spy.line_containing("← body 2 bytes").await;
    assert!(ok.ends_with(": ok"), "the answer to a POST is no payload: {ok}");
    spy.line_containing(
        r#"←   poll  42["chat message",{"name":"pat","text":"polled"}]  = socket.io EVENT "chat message""#,
    )
    .await;
}

async fn echo_server() -> SocketAddr {
    async fn echo(mut socket: WebSocket) {
        let _ = socket.send(Message::Text("welcome".into())).await;
        let _ = socket.send(Message::Binary(vec![1, 2, 3].into())).await;
        while let Some(Ok(message)) = socket.recv().await {
            match message {
                Message::Text(text) if text.as_str() == "bye" => {
                    let close = CloseFrame { code: 1000, reason: "bye".into() };
                    let _ = socket.send(Message::Close(Some(close))).await;
                }
                Message::Text(text) => {
                    let _ = socket.send(Message::Text(text)).await;
                }
                _ => {}
            }
        }
    }
    let app = Router::new().route("/ws", get(async |upgrade: WebSocketUpgrade| upgrade.on_upgrade(echo)));
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

#[tokio::test]
async fn talk_prints_what_a_raw_websocket_echoes_and_the_spy_shows_it_as_text() {
    let server = echo_server().await;
    let (mut spy, address) = spy_on(server).await;
    let mut talk = Wire::start(&["talk", &format!("ws://{address}/ws")]);
    talk.line_containing(&format!("connected to ws://{address}/ws")).await;
    talk.line_containing("← text  welcome").await;
    talk.line_containing("← binary  3 bytes").await;
    talk.type_line("hello, 2").await;
    talk.line_containing("← text  hello, 2").await;
    talk.type_line("bye").await;
    talk.line_containing(r#"← close  code 1000 (normal closure), reason "bye""#).await;
    let (status, talk) = talk.finish().await;
    assert!(status.success(), "the server closed politely\n{}", talk.transcript());
    assert!(talk.has_printed("the server closed the connection"), "{}", talk.transcript());

    spy.line_containing("→ GET /ws HTTP/1.1").await;
    spy.line_containing("(the connection is a WebSocket from now on: frames of messages)").await;
    spy.line_containing("← ws binary [fin, unmasked, 3 bytes]  01 02 03").await;
    // A raw WebSocket's "2" would be Engine.IO's PING; here it is only text.
    let hello = spy.line_containing("→ ws text [fin, masked, 8 bytes]  hello, 2").await;
    assert!(!hello.contains('='), "not decoded as Engine.IO: {hello}");
    spy.line_containing(r#"← ws close [fin, unmasked, 5 bytes]  code 1000 (normal closure), reason "bye""#).await;
    spy.line_containing("closed by the ").await;
}

#[tokio::test]
async fn talk_socket_io_shows_the_handshake_events_acks_and_refuses_bad_json() {
    let server = testkit::reference::chat_server().await;
    let mut talk = Wire::start(&["talk", "--socket-io", &format!("http://{}", server.address())]);
    talk.line_containing("connected to ws://").await;
    talk.line_containing("← 0{\"sid\":").await;
    talk.line_containing("→ 40  = socket.io CONNECT (namespace /)").await;
    talk.line_containing("type: emit EVENT").await;
    talk.type_line(r#"emit chat message {"text": oops}"#).await;
    talk.line_containing("(! not JSON").await;
    talk.type_line(r#"ack chat message {"text":"  "}"#).await;
    let refused = talk.line_containing(r#"← 431[{""#).await;
    assert!(refused.contains(r#""error":"the message is empty""#) && refused.contains(r#""ok":false"#), "{refused}");
    talk.line_containing(r#"(the acknowledgement of your "chat message", ack 1)"#).await;
    talk.type_line(r#"emit chat message {"text":"hello"}"#).await;
    talk.line_containing(r#"= socket.io EVENT "chat message" {"name":"anonymous","text":"hello"}"#).await;
    let (status, talk) = talk.finish().await;
    assert!(status.success(), "{}", talk.transcript());
    assert!(
        !talk.has_printed(r#"→ 42["chat message",{"text": oops"#),
        "a bad line sends nothing\n{}",
        talk.transcript()
    );
    assert!(talk.has_printed("→ 41  = socket.io DISCONNECT"), "{}", talk.transcript());
}

/// Runs `wire` to its end with no input.
async fn run(args: &[&str]) -> (ExitStatus, Wire) {
    Wire::start(args).finish().await
}

#[tokio::test]
async fn mistakes_get_one_clear_line_and_the_right_exit_code() {
    let (status, wire) = run(&["--help"]).await;
    assert!(status.success() && wire.has_printed("usage:"), "{}", wire.transcript());
    let (status, wire) = run(&["talk", "--help"]).await;
    assert!(status.success() && wire.has_printed("emit EVENT"), "{}", wire.transcript());

    for args in [&["spy"][..], &["spy", "--to", "x"], &["talk", "https://example.com"], &["listen"]] {
        let (status, wire) = run(args).await;
        let stderr = wire.stderr.lock().map(|text| text.clone()).unwrap_or_default();
        assert_eq!(status.code(), Some(2), "{args:?} is a usage error\n{}", wire.transcript());
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line\n{}", wire.transcript());
        assert!(stderr.starts_with("wire "), "{stderr}");
    }

    let port = closed_port().await;
    let (status, wire) = run(&["talk", &format!("ws://127.0.0.1:{port}/ws")]).await;
    assert_eq!(status.code(), Some(1), "{}", wire.transcript());
    assert!(wire.transcript().contains("connection refused"), "{}", wire.transcript());

    // A port taken by a listener of ours.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    let taken = listener.local_addr().expect("address").port().to_string();
    let (status, wire) = run(&["spy", "--to", "3000", "--port", &taken]).await;
    assert_eq!(status.code(), Some(1), "{}", wire.transcript());
    assert!(wire.transcript().contains(&format!("could not listen on 127.0.0.1:{taken}")), "{}", wire.transcript());
}

#[tokio::test]
async fn spy_says_when_the_server_is_not_there_and_keeps_listening() {
    let port = closed_port().await;
    let mut spy = Wire::start(&["spy", "--to", &port.to_string()]);
    let first = spy.line_containing("spying on").await;
    let address =
        first.split("http://").nth(1).and_then(|rest| rest.split('/').next()).expect("the spy's URL").to_owned();
    spy.line_containing("nothing answers on").await;
    for number in 1..=2 {
        let mut client = TcpStream::connect(&address).await.expect("the spy accepts connections");
        let read = tokio::time::timeout(WAIT, client.read(&mut [0; 16])).await.expect("closed in time");
        assert!(matches!(read, Ok(0) | Err(_)), "the spy closes the client's connection");
        spy.line_containing(&format!("#{number} could not reach the server at 127.0.0.1:{port}")).await;
    }
}
