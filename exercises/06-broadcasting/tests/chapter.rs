//! Chapter 6's graded tests: `cargo test -p ex06-broadcasting`.
//!
//! Each test starts your program (the one `cargo run -p ex06-broadcasting` runs) on a free port and connects several real Socket.IO clients to it, each with
//! a name in its handshake's auth. The clients read what arrives in order, so a test can say "the next thing
//! bob hears is ...": that is how a test proves something did *not* arrive, without waiting for nothing.

// The reference solution runs these very tests, against its own program. You never need to turn its
// `solution` feature on.
#[cfg(not(feature = "solution"))]
const PROGRAM: &str = env!("CARGO_BIN_EXE_ex06-broadcasting");
#[cfg(feature = "solution")]
const PROGRAM: &str = env!("CARGO_BIN_EXE_sol06-broadcasting");

use serde_json::{Value, json};
use testkit::eio::{Packet, RawClient};
use testkit::sio::{self, Options, Received, SioClient};
use testkit::{Chapter, Section, Server};

const CHAPTER: Chapter = Chapter { number: 6, title: "Broadcasting", page: "book/src/06-broadcasting.md" };
const EVERYONE: Section = CHAPTER.section("Everyone, including the sender");
const OTHERS: Section = CHAPTER.section("Everyone but the sender");
const JOINING: Section = CHAPTER.section("Joining and leaving");
const MID_BROADCAST: Section = CHAPTER.section("A client leaving mid-broadcast");
const LIMITS: Section = CHAPTER.section("Limits");

/// How many messages a client may send at once, and the refusal of one more.
const BURST: usize = 10;
const SLOW_DOWN: &str = "too many messages: at most 5 a second";

/// The longest message accepted, in characters (not bytes).
const MAX_TEXT_CHARS: usize = 500;

/// Why a message was refused, as the acknowledgement says it.
const EMPTY: &str = "the message is empty";
const TOO_LONG: &str = "the message is longer than 500 characters";
const MALFORMED: &str = "expected {\"text\": \"...\"}";

/// Connects a client that calls itself `name` (the handshake's auth is `{"name": name}`).
async fn join(server: &Server, name: &str, section: Section) -> SioClient {
    let options = Options { auth: Some(json!({ "name": name })), ..Options::default() };
    sio::connect_with(server.address(), options, section).await
}

fn is_notice(received: &Received) -> bool {
    received.event == "user joined" || received.event == "user left"
}

/// Waits for the next `chat message`, passing over join and leave notices (other tests check those).
async fn next_post(client: &mut SioClient, what: &str, section: Section) -> Value {
    loop {
        let received = client.next_event(what).await;
        if is_notice(&received) {
            continue;
        }
        assert_eq!(
            received.event, "chat message",
            "waited for {what} (event \"chat message\") but the next event was {:?} with {}.\nRead: {section}",
            received.event, received.data
        );
        return received.data;
    }
}

/// Waits for the next event that is not a `user joined` notice.
async fn next_besides_joins(client: &mut SioClient, what: &str) -> Received {
    loop {
        let received = client.next_event(what).await;
        if received.event != "user joined" {
            return received;
        }
    }
}

fn post(name: &str, text: &str) -> Value {
    json!({ "name": name, "text": text })
}

/// Whether a raw client should pass over this packet: a join or leave notice.
fn is_notice_packet(packet: &Packet) -> bool {
    matches!(packet, Packet::Event(event) if event[0] == "user joined" || event[0] == "user left")
}

#[tokio::test]
async fn a_message_reaches_everyone_including_the_sender() {
    let server = Server::start(PROGRAM, EVERYONE).await;
    // alice speaks Socket.IO by hand, so that the test sees each of her packets in the order it arrives.
    let mut alice = RawClient::join(server.address(), "alice", EVERYONE).await;
    let mut bob = join(&server, "bob", EVERYONE).await;
    let mut carol = join(&server, "carol", EVERYONE).await;

    let sent = [("hello", "hello"), ("how is everyone?", "how is everyone?"), ("  trimmed  ", "trimmed")];
    for (id, (text, trimmed)) in (1..).zip(sent) {
        alice.emit_with_ack(id, json!(["chat message", { "text": text }])).await;
        let first = alice
            .next_packet_besides(&format!("alice's own message {text:?}, back from the server"), is_notice_packet)
            .await;
        assert_eq!(
            first,
            Packet::Event(json!(["chat message", post("alice", trimmed)])),
            "the sender gets its own message back, as {{\"name\", \"text\"}} with the text trimmed, and *before* the \
             acknowledgement: emit to everyone (`io.emit`), then `ack.send(...)`.\nRead: {EVERYONE}"
        );
        let second = alice.next_packet_besides(&format!("the acknowledgement of {text:?}"), is_notice_packet).await;
        assert_eq!(
            second,
            Packet::Ack(id, json!([{ "ok": true }])),
            "after her message, alice gets its acknowledgement, {{\"ok\": true}}.\nRead: {EVERYONE}"
        );
    }
    for (name, client) in [("bob", &mut bob), ("carol", &mut carol)] {
        for (text, trimmed) in sent {
            let data = next_post(client, &format!("alice's message {text:?}, at {name}"), EVERYONE).await;
            assert_eq!(
                data,
                post("alice", trimmed),
                "{name} gets alice's messages in the order she sent them, as {{\"name\", \"text\"}}.\nRead: {EVERYONE}"
            );
        }
    }
}

#[tokio::test]
async fn the_others_hear_of_a_newcomer_but_the_newcomer_does_not() {
    let server = Server::start(PROGRAM, EVERYONE).await;
    let mut alice = join(&server, "alice", OTHERS).await;
    let mut bob = join(&server, "bob", OTHERS).await;
    let joined = alice.expect_event("user joined", "the notice that bob joined, at alice").await;
    assert_eq!(
        joined,
        json!({ "name": "bob" }),
        "alice hears of bob first: `user joined` {{\"name\": \"bob\"}}, and nothing about herself.\nRead: {OTHERS}"
    );

    // A client that gives no name is "anonymous". The next thing bob hears must be about it: had bob been told
    // of his own arrival, that notice would have come first.
    let mut nameless = sio::connect(server.address(), OTHERS).await;
    for (name, client) in [("alice", &mut alice), ("bob", &mut bob)] {
        let received = client.next_event(&format!("the notice that a nameless client joined, at {name}")).await;
        assert_eq!(
            (received.event.as_str(), &received.data),
            ("user joined", &json!({ "name": "anonymous" })),
            "the next thing {name} hears is that \"anonymous\" joined; a newcomer is never told of its own \
             arrival (`socket.broadcast()` is everyone but this socket).\nRead: {OTHERS}"
        );
    }

    // And the nameless client's first event is dave's arrival, not its own.
    let _dave = join(&server, "dave", OTHERS).await;
    for (name, client) in [("alice", &mut alice), ("bob", &mut bob), ("the nameless client", &mut nameless)] {
        let received = client.next_event(&format!("the notice that dave joined, at {name}")).await;
        assert_eq!(
            (received.event.as_str(), &received.data),
            ("user joined", &json!({ "name": "dave" })),
            "the next thing {name} hears is that dave joined.\nRead: {OTHERS}"
        );
    }
}

#[tokio::test]
async fn a_client_that_leaves_is_announced_to_the_others() {
    let server = Server::start(PROGRAM, EVERYONE).await;
    let mut alice = join(&server, "alice", JOINING).await;
    let bob = join(&server, "bob", JOINING).await;
    let mut carol = join(&server, "carol", JOINING).await;

    bob.disconnect().await;
    for (name, client) in [("alice", &mut alice), ("carol", &mut carol)] {
        let received = next_besides_joins(client, &format!("the notice that bob left, at {name}")).await;
        assert_eq!(
            (received.event.as_str(), &received.data),
            ("user left", &json!({ "name": "bob" })),
            "when bob disconnects, {name} hears `user left` {{\"name\": \"bob\"}} (`socket.on_disconnect`).\nRead: {JOINING}"
        );
    }

    carol.disconnect().await;
    let received = next_besides_joins(&mut alice, "the notice that carol left, at alice").await;
    assert_eq!(
        (received.event.as_str(), &received.data),
        ("user left", &json!({ "name": "carol" })),
        "each departure is announced once, with the name of the one who left.\nRead: {JOINING}"
    );
}

#[tokio::test]
async fn a_client_leaving_mid_broadcast_breaks_nobody() {
    // As many as the rate limit lets through at once (see "Limits").
    const MESSAGES: usize = BURST;
    let server = Server::start(PROGRAM, EVERYONE).await;
    let mut alice = join(&server, "alice", MID_BROADCAST).await;
    let mut bob = join(&server, "bob", MID_BROADCAST).await;
    let mut carol = join(&server, "carol", MID_BROADCAST).await;

    // alice sends ten messages, one after another; carol leaves as soon as the third reaches her.
    let burst = async {
        for n in 1..=MESSAGES {
            let ack = alice.emit_with_ack("chat message", json!({ "text": format!("message {n}") })).await;
            assert_eq!(
                ack,
                json!({ "ok": true }),
                "message {n} of {MESSAGES} was refused, while carol was leaving: her departure is no error of \
                 alice's, and the server answers alice as usual.\nRead: {MID_BROADCAST}"
            );
        }
    };
    let leave = async {
        loop {
            let data = next_post(&mut carol, "alice's first three messages, at carol", MID_BROADCAST).await;
            if data == post("alice", "message 3") {
                break;
            }
        }
        carol.disconnect().await;
    };
    tokio::join!(burst, leave);

    for (name, client) in [("bob", &mut bob), ("alice", &mut alice)] {
        for n in 1..=MESSAGES {
            let data = next_post(client, &format!("message {n} of {MESSAGES}, at {name}"), MID_BROADCAST).await;
            assert_eq!(
                data,
                post("alice", &format!("message {n}")),
                "{name} gets all {MESSAGES} messages, in order, even though carol left in the middle of them.\n\
                 Read: {MID_BROADCAST}"
            );
        }
    }
}

#[tokio::test]
async fn invalid_messages_are_still_acknowledged_with_the_reason() {
    let server = Server::start(PROGRAM, EVERYONE).await;
    let alice = join(&server, "alice", EVERYONE).await;
    let mut bob = join(&server, "bob", EVERYONE).await;

    let refused = [
        (json!({ "text": "   " }), EMPTY),
        (json!({ "text": "x".repeat(MAX_TEXT_CHARS + 1) }), TOO_LONG),
        (json!({ "txt": "a typo in the field's name" }), MALFORMED),
        (json!(42), MALFORMED),
    ];
    for (payload, reason) in refused {
        let ack = alice.emit_with_ack("chat message", payload.clone()).await;
        assert_eq!(
            ack,
            json!({ "ok": false, "error": reason }),
            "chapter 5's checks still hold: {payload} is refused, and the acknowledgement says why.\nRead: {EVERYONE}"
        );
    }
    // 500 characters are allowed, however many bytes they take.
    let longest = "é".repeat(MAX_TEXT_CHARS);
    let ack = alice.emit_with_ack("chat message", json!({ "text": longest })).await;
    assert_eq!(ack, json!({ "ok": true }), "a message of exactly 500 characters is accepted.\nRead: {EVERYONE}");

    // The refused messages went nowhere: the first message bob hears is the accepted one.
    let data = next_post(&mut bob, "the one accepted message, at bob", EVERYONE).await;
    assert_eq!(data, post("alice", &longest), "a refused message is sent to nobody.\nRead: {EVERYONE}");
}

#[tokio::test]
async fn a_flooding_client_is_slowed_and_the_others_keep_up() {
    const FLOOD: u64 = 40;
    let server = Server::start(PROGRAM, EVERYONE).await;
    let mut bob = join(&server, "bob", LIMITS).await;
    let mut mallory = RawClient::join(server.address(), "mallory", LIMITS).await;

    // Forty messages at once, without waiting for a single acknowledgement.
    for id in 1..=FLOOD {
        mallory.emit_with_ack(id, json!(["chat message", { "text": format!("flood {id}") }])).await;
    }
    let mut accepted = Vec::new();
    let mut refused = 0;
    let mut answered = 0;
    while answered < FLOOD {
        match mallory.next_packet_besides("the acknowledgements of the flood", is_notice_packet).await {
            Packet::Ack(id, answer) if answer == json!([{ "ok": true }]) => {
                answered += 1;
                accepted.push(format!("flood {id}"));
            }
            Packet::Ack(_, answer) => {
                answered += 1;
                assert_eq!(
                    answer,
                    json!([{ "ok": false, "error": SLOW_DOWN }]),
                    "a message over the rate limit is refused with {SLOW_DOWN:?}.\nRead: {LIMITS}"
                );
                refused += 1;
            }
            // Her own accepted messages, coming back to her.
            Packet::Event(_) | Packet::Other(_) => {}
        }
    }
    assert!(
        accepted.len() >= BURST && refused >= 20,
        "of 40 messages sent at once, the first {BURST} go through and then the flood is refused until it slows down \
         (at most 5 a second): {} accepted, {refused} refused.\nRead: {LIMITS}",
        accepted.len()
    );
    // Bob got exactly the accepted ones and none of the refused ones. (In which order: each handler is a task
    // of its own, so two messages sent at once may be broadcast in either order.)
    let mut heard = Vec::new();
    for _ in 0..accepted.len() {
        let data = next_post(&mut bob, "one of mallory's accepted messages, at bob", LIMITS).await;
        heard.push(data["text"].as_str().unwrap_or_default().to_owned());
    }
    heard.sort();
    accepted.sort();
    assert_eq!(
        heard, accepted,
        "bob receives the messages that were acknowledged with {{\"ok\": true}}, and only those.\nRead: {LIMITS}"
    );
    // Both still connected: bob talks, mallory (slowed down, not thrown out) hears him.
    let ack = bob.emit_with_ack("chat message", json!({ "text": "is it quiet now?" })).await;
    assert_eq!(ack, json!({ "ok": true }), "bob's own allowance is his own: his message is accepted.\nRead: {LIMITS}");
    let data = next_post(&mut bob, "bob's own message, back to him", LIMITS).await;
    assert_eq!(
        data,
        post("bob", "is it quiet now?"),
        "after the flood, the next message bob hears is his own.\nRead: {LIMITS}"
    );
    loop {
        match mallory.next_packet_besides("bob's message, at mallory", is_notice_packet).await {
            Packet::Event(event) if event == json!(["chat message", post("bob", "is it quiet now?")]) => break,
            Packet::Event(_) => continue,
            other => {
                panic!("mallory, slowed down but still connected, should hear bob; got {other:?}.\nRead: {LIMITS}")
            }
        }
    }
}
