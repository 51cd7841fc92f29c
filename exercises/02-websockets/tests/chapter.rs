//! Chapter 2's graded tests: `cargo test -p ex02-websockets`.
//!
//! Each test starts your program (the one `cargo run -p ex02-websockets` runs) on a free port and opens a real WebSocket to `/ws`, the way a browser's
//! `new WebSocket(...)` does.

// The reference solution runs these very tests, against its own program. You never need to turn its
// `solution` feature on.
#[cfg(not(feature = "solution"))]
const PROGRAM: &str = env!("CARGO_BIN_EXE_ex02-websockets");
#[cfg(feature = "solution")]
const PROGRAM: &str = env!("CARGO_BIN_EXE_sol02-websockets");

use testkit::ws::{self, Message, Received, WsClient};
use testkit::{Chapter, Section, Server};

const CHAPTER: Chapter = Chapter { number: 2, title: "WebSockets", page: "book/src/02-websockets.md" };
const UPGRADE: Section = CHAPTER.section("From HTTP to WebSocket");
const SERVER_FIRST: Section = CHAPTER.section("The server speaks first");
const ECHO: Section = CHAPTER.section("Text and binary messages");
const DUPLEX: Section = CHAPTER.section("Both sides at once");
const CLOSING: Section = CHAPTER.section("Saying goodbye");

/// The first message the server sends on every new WebSocket.
const GREETING: &str = "welcome";

/// Starts the server and connects one client, which has not sent anything yet.
async fn connect(section: Section) -> (Server, WsClient) {
    let server = Server::start(PROGRAM, UPGRADE).await;
    let client = ws::connect(server.address(), "/ws", section).await;
    (server, client)
}

/// Connects and reads the greeting, so the test can go on from there.
async fn connect_and_greet(section: Section) -> (Server, WsClient) {
    let (server, mut client) = connect(section).await;
    let greeting = client.expect_text("the greeting").await;
    assert_eq!(greeting, GREETING, "the first message should be the greeting.\nRead: {SERVER_FIRST}");
    (server, client)
}

/// Reads messages until the next one that is not a tick, and returns it.
async fn next_non_tick(client: &mut WsClient, what: &str) -> Message {
    loop {
        match client.expect_message(what).await {
            Message::Text(text) if text.starts_with("tick ") => continue,
            other => return other,
        }
    }
}

#[tokio::test]
async fn upgrade_to_websocket_is_accepted() {
    // `ws::connect` fails the test with an explanation unless the server answers 101 Switching Protocols.
    let (_server, client) = connect(UPGRADE).await;
    assert!(client.local_address().ip().is_loopback());
}

#[tokio::test]
async fn server_speaks_first() {
    let (_server, mut client) = connect(SERVER_FIRST).await;
    // The client sends nothing at all: a WebSocket server may talk whenever it likes.
    let first = client.expect_text("a greeting the server sends without being asked").await;
    assert_eq!(
        first, GREETING,
        "the server's first message should be GREETING, sent unprompted.\nRead: {SERVER_FIRST}"
    );
}

#[tokio::test]
async fn server_keeps_pushing_to_a_quiet_client() {
    let (_server, mut client) = connect_and_greet(SERVER_FIRST).await;
    for expected in ["tick 1", "tick 2", "tick 3"] {
        let pushed = client.expect_text(&format!("\"{expected}\", pushed while the client stays silent")).await;
        assert_eq!(
            pushed, expected,
            "ticks come in order, numbered from 1, without the client asking.\nRead: {SERVER_FIRST}"
        );
    }
}

#[tokio::test]
async fn text_is_echoed_as_text() {
    let (_server, mut client) = connect_and_greet(ECHO).await;
    client.send_text("héllo, wörld ✓").await;
    let echo = next_non_tick(&mut client, "the echo of a text message").await;
    assert_eq!(echo, Message::text("héllo, wörld ✓"), "a text message comes back unchanged, as text.\nRead: {ECHO}");
}

#[tokio::test]
async fn binary_is_echoed_as_binary() {
    let (_server, mut client) = connect_and_greet(ECHO).await;
    // Not valid UTF-8 on purpose: binary messages carry any bytes.
    let bytes = vec![0u8, 159, 146, 150, 255];
    client.send(Message::binary(bytes.clone())).await;
    let echo = next_non_tick(&mut client, "the echo of a binary message").await;
    assert_eq!(
        echo,
        Message::binary(bytes),
        "a binary message comes back unchanged, as binary, not as text.\nRead: {ECHO}"
    );
}

#[tokio::test]
async fn both_sides_send_at_once() {
    let (_server, mut client) = connect_and_greet(DUPLEX).await;
    // Each time a tick arrives the client sends a message of its own, so both sides are sending during the
    // same stretch of the conversation. The server must echo every message and keep ticking all along.
    let mut last_tick = 0u64;
    let mut echoed = 0usize;
    let mut sent = 0usize;
    const ROUNDS: usize = 4;
    while echoed < ROUNDS || last_tick <= ROUNDS as u64 {
        let text = client.expect_text("ticks and echoes, interleaved").await;
        if let Some(number) = text.strip_prefix("tick ") {
            let number: u64 =
                number.parse().unwrap_or_else(|_| panic!("a tick is \"tick N\", not {text:?}.\nRead: {DUPLEX}"));
            assert_eq!(
                number,
                last_tick + 1,
                "ticks must keep coming, in order, while the client sends.\nRead: {DUPLEX}"
            );
            last_tick = number;
            if sent < ROUNDS {
                sent += 1;
                client.send_text(format!("message {sent}")).await;
            }
        } else {
            echoed += 1;
            assert_eq!(
                text,
                format!("message {echoed}"),
                "echoes come back in the order they were sent.\nRead: {DUPLEX}"
            );
        }
    }
}

#[tokio::test]
async fn closing_handshake_completes() {
    let (_server, mut client) = connect_and_greet(CLOSING).await;
    client.close().await;
    // After our close frame the server may still have a tick in flight; then it must answer with a close frame
    // of its own (the WebSocket library does that as soon as the server reads our close).
    loop {
        match client.receive("the server's answer to our close frame").await {
            Received::Message(Message::Text(text)) if text.starts_with("tick ") => continue,
            Received::Closed(_) => break,
            other => panic!(
                "after the client's close frame the server should close too, but got {other:?}.\nRead: {CLOSING}"
            ),
        }
    }
}
