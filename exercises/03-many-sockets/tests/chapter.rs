//! Chapter 3's graded tests: `cargo test -p ex03-many-sockets`.
//!
//! Each test starts your program (the one `cargo run -p ex03-many-sockets` runs) on a free port and connects several real WebSocket clients to it at once.

// The reference solution runs these very tests, against its own program. You never need to turn its
// `solution` feature on.
#[cfg(not(feature = "solution"))]
const PROGRAM: &str = env!("CARGO_BIN_EXE_ex03-many-sockets");
#[cfg(feature = "solution")]
const PROGRAM: &str = env!("CARGO_BIN_EXE_sol03-many-sockets");

use std::collections::HashSet;
use std::net::SocketAddr;

use testkit::ws::{self, Received, WsClient};
use testkit::{Chapter, Section, Server};

const CHAPTER: Chapter = Chapter { number: 3, title: "One server, many sockets", page: "book/src/03-many-sockets.md" };
const APART: Section = CHAPTER.section("Telling clients apart");
const RELAYING: Section = CHAPTER.section("Relaying");
const LEAVING: Section = CHAPTER.section("When a client leaves");
const SLOW: Section = CHAPTER.section("Slow clients");
const LIMITS: Section = CHAPTER.section("Limits");

/// The first message each client receives: `you are 127.0.0.1:54321`.
fn introduction(client: SocketAddr) -> String {
    format!("you are {client}")
}

/// How a chat line is shown to the others: `127.0.0.1:54321: hello`.
fn relayed(from: SocketAddr, text: &str) -> String {
    format!("{from}: {text}")
}

/// Connects a client and reads its introduction, checking that it names the client's own address and port.
async fn join(server: &Server, section: Section) -> WsClient {
    let mut client = ws::connect(server.address(), "/ws", section).await;
    introduced(&mut client).await;
    client
}

async fn introduced(client: &mut WsClient) {
    let first = client.expect_text("the introduction, \"you are ADDRESS:PORT\"").await;
    assert_eq!(
        first,
        introduction(client.local_address()),
        "the first message names the address and port the client connects from, as the server sees them.\nRead: {APART}"
    );
}

#[tokio::test]
async fn clients_share_one_port_and_are_told_apart() {
    let server = Server::start(PROGRAM, APART).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        // `join` checks that each client is introduced by its own address and port.
        clients.push(join(&server, APART).await);
    }
    // Five clients, one server address and port: what tells them apart is their own (address, port).
    let client_ports: HashSet<u16> = clients.iter().map(|client| client.local_address().port()).collect();
    assert_eq!(client_ports.len(), 5, "every client connects from a port of its own.\nRead: {APART}");
    assert!(
        !client_ports.contains(&server.address().port()),
        "the clients' ports differ from the server's one port, which they all share.\nRead: {APART}"
    );
}

#[tokio::test]
async fn a_message_reaches_every_other_client() {
    let server = Server::start(PROGRAM, APART).await;
    let mut alice = join(&server, RELAYING).await;
    let mut bob = join(&server, RELAYING).await;
    let mut carol = join(&server, RELAYING).await;

    alice.send_text("hello, everyone").await;
    let expected = relayed(alice.local_address(), "hello, everyone");
    for (name, client) in [("bob", &mut bob), ("carol", &mut carol)] {
        let line = client.expect_text(&format!("alice's message, relayed to {name}")).await;
        assert_eq!(line, expected, "{name} should receive alice's line, prefixed with her address.\nRead: {RELAYING}");
    }
}

#[tokio::test]
async fn the_sender_does_not_get_its_own_message_back() {
    let server = Server::start(PROGRAM, APART).await;
    let mut alice = join(&server, RELAYING).await;
    let mut bob = join(&server, RELAYING).await;

    alice.send_text("first").await;
    bob.expect_text("alice's first line").await;
    bob.send_text("second").await;
    // Had alice been sent her own "first", it would arrive before bob's "second".
    let line = alice.expect_text("bob's answer").await;
    assert_eq!(
        line,
        relayed(bob.local_address(), "second"),
        "alice's next message should be bob's line: a client is not sent its own words back.\nRead: {RELAYING}"
    );
}

#[tokio::test]
async fn a_client_that_leaves_breaks_nobody() {
    let server = Server::start(PROGRAM, APART).await;
    let mut alice = join(&server, LEAVING).await;
    let mut bob = join(&server, LEAVING).await;
    let mut polite = join(&server, LEAVING).await;
    let rude = join(&server, LEAVING).await;

    polite.close().await;
    rude.vanish(); // no close frame: the TCP connection just drops, like a crashed tab
    for number in 1..=3 {
        alice.send_text(format!("still here {number}")).await;
        let line = bob.expect_text("alice's line after two clients left").await;
        assert_eq!(line, relayed(alice.local_address(), &format!("still here {number}")), "Read: {LEAVING}");
    }
    // A newcomer joins the same server and chats as if nothing had happened.
    let mut newcomer = join(&server, LEAVING).await;
    bob.send_text("welcome").await;
    let line = newcomer.expect_text("bob's welcome").await;
    assert_eq!(line, relayed(bob.local_address(), "welcome"), "Read: {LEAVING}");
}

#[tokio::test]
async fn a_slow_client_never_stalls_the_others() {
    // 600 lines of 16 KiB: about 10 MB, far more than the slow client's buffers and the channel can hold.
    const LINES: usize = 600;
    let server = Server::start(PROGRAM, APART).await;
    let mut slow = ws::connect_with_small_receive_buffer(server.address(), "/ws", SLOW).await;
    introduced(&mut slow).await;
    let mut alice = join(&server, SLOW).await;
    let mut bob = join(&server, SLOW).await;

    let padding = "x".repeat(16 * 1024);
    // Alice sends each line once bob has the previous one, so bob keeps up by construction, while `slow`
    // reads nothing at all. If the server waits for `slow` before serving bob, bob's wait times out.
    for number in 0..LINES {
        let text = format!("{number:04} {padding}");
        alice.send_text(text.as_str()).await;
        let line = match bob.receive_or_nothing("alice's next line, while another client is not reading").await {
            Some(Received::Message(message)) => message.to_text().unwrap_or_default().to_owned(),
            Some(other) => panic!("bob's connection ended while alice was sending ({other:?}).\nRead: {SLOW}"),
            None => panic!("{}", bob_got_nothing(&mut alice, number).await),
        };
        assert!(
            line == relayed(alice.local_address(), &text),
            "bob should receive alice's line {number}, in order, although another client is stuck.\nRead: {SLOW}"
        );
    }

    // The slow client, reading at last, must learn that it missed lines, or have been disconnected.
    let mut lines = 0;
    for _ in 0..=LINES {
        match slow.receive_or_nothing("the slow client's backlog").await {
            Some(Received::Message(message)) => {
                let text = message.to_text().unwrap_or_default();
                if text.starts_with("you missed ") {
                    assert!(
                        text.ends_with(" messages"),
                        "the notice reads \"you missed N messages\", not {text:?}.\nRead: {SLOW}"
                    );
                    return;
                }
                lines += 1;
            }
            Some(Received::Closed(_) | Received::Broken(_)) => return,
            None => panic!(
                "the slow client, reading at last, got {lines} of alice's {LINES} lines, then nothing for 5 s: no \
                 \"you missed N messages\" notice, and its connection still open. A client that fell behind must \
                 be told what it missed (or be disconnected).\nRead: {SLOW}"
            ),
        }
    }
    panic!(
        "the slow client received all {LINES} lines and no notice: its backlog should have overflowed the channel.\nRead: {SLOW}"
    );
}

/// Why bob may have got nothing: if alice has her own lines back, the server sends a line to its sender too,
/// and alice (who reads nothing in this test) is a slow client herself.
async fn bob_got_nothing(alice: &mut WsClient, number: usize) -> String {
    let hers = relayed(alice.local_address(), "");
    let own = match alice.receive_or_nothing("alice's own line, if the server sent it back to her").await {
        Some(Received::Message(message)) => message.to_text().is_ok_and(|text| text.starts_with(&hers)),
        _ => false,
    };
    if own {
        format!(
            "bob got nothing for 5 s after alice's line {number}, and alice got a line herself: the server sends a \
             line back to its sender. A line goes to every client but the one that sent it.\nRead: {RELAYING}"
        )
    } else {
        format!(
            "bob got nothing for 5 s after alice's line {number} (he had all those before): the server waits for \
             the client that reads nothing before it serves the others.\nRead: {SLOW}"
        )
    }
}

#[tokio::test]
async fn an_oversized_message_is_refused_with_close_code_1009() {
    let server = Server::start(PROGRAM, APART).await;
    let mut alice = join(&server, LIMITS).await;
    let mut bob = join(&server, LIMITS).await;
    let mut mallory = join(&server, LIMITS).await;

    // 100 KiB in one message (and one frame): over the 64 KiB limit. A chat line is a few hundred bytes.
    mallory.send_text("x".repeat(100 * 1024)).await;
    match mallory.receive("the server's answer to a 100 KiB message").await {
        Received::Closed(Some(frame)) => assert_eq!(
            u16::from(frame.code),
            1009,
            "a message over the limit is answered with a close frame whose code is 1009 (\"message too big\"), \
             not {} {:?}.\nRead: {LIMITS}",
            u16::from(frame.code),
            frame.reason
        ),
        other => panic!(
            "a message over the limit is answered with a close frame, code 1009 (\"message too big\"), so the \
             client knows why; instead: {other:?}. Limit both the message and the frame size.\nRead: {LIMITS}"
        ),
    }
    // Nobody else noticed: the chat goes on, and the oversized message reached no one.
    alice.send_text("still chatting").await;
    let line = bob.expect_text("alice's line after the oversized message").await;
    assert_eq!(
        line,
        relayed(alice.local_address(), "still chatting"),
        "the others keep chatting, and the oversized message is relayed to no one.\nRead: {LIMITS}"
    );
}
