//! Chapter 5's graded tests: `cargo test -p ex05-events`.
//!
//! Each test starts your program (the one `cargo run -p ex05-events` runs) on a free port and connects a real Socket.IO client, which emits events and
//! waits for what comes back: acknowledgements and events.

// The reference solution runs these very tests, against its own program. You never need to turn its
// `solution` feature on.
#[cfg(not(feature = "solution"))]
const PROGRAM: &str = env!("CARGO_BIN_EXE_ex05-events");
#[cfg(feature = "solution")]
const PROGRAM: &str = env!("CARGO_BIN_EXE_sol05-events");

use serde_json::{Value, json};
use testkit::eio::{self, RawClient};
use testkit::sio::{self, SioClient};
use testkit::ws::Received;
use testkit::{Chapter, Section, Server, http};

const CHAPTER: Chapter = Chapter { number: 5, title: "Emitting events", page: "book/src/05-events.md" };
const LISTENING: Section = CHAPTER.section("Listening for an event");
const TYPED: Section = CHAPTER.section("Typed payloads");
const ACKS: Section = CHAPTER.section("Acknowledgements");
const BAD_INPUT: Section = CHAPTER.section("Bad input");
const LIMITS: Section = CHAPTER.section("Limits");

/// The longest message accepted, in characters (not bytes).
const MAX_TEXT_CHARS: usize = 500;

/// Why a message was refused, as the acknowledgement says it.
const EMPTY: &str = "the message is empty";
const TOO_LONG: &str = "the message is longer than 500 characters";
const MALFORMED: &str = "expected {\"text\": \"...\"}";

fn ok() -> Value {
    json!({ "ok": true })
}

fn refused(reason: &str) -> Value {
    json!({ "ok": false, "error": reason })
}

async fn connect(section: Section) -> (Server, SioClient) {
    let server = Server::start(PROGRAM, LISTENING).await;
    let client = sio::connect(server.address(), section).await;
    (server, client)
}

/// Sends a chat message that must be accepted, and checks that it comes back as the next event.
async fn chat(client: &mut SioClient, text: &str, section: Section) {
    let ack = client.emit_with_ack("chat message", json!({ "text": text })).await;
    assert_eq!(ack, ok(), "a valid chat message is acknowledged with {{\"ok\": true}}.\nRead: {section}");
    let back = client.expect_event("chat message", "the chat message, sent back to its sender").await;
    assert_eq!(
        back,
        json!({ "text": text.trim() }),
        "the sender receives {{\"text\": TEXT}}, trimmed.\nRead: {section}"
    );
}

#[tokio::test]
async fn chat_message_is_acknowledged() {
    let (_server, client) = connect(ACKS).await;
    let ack = client.emit_with_ack("chat message", json!({ "text": "hello" })).await;
    assert_eq!(ack, ok(), "a valid chat message is acknowledged with {{\"ok\": true}}.\nRead: {ACKS}");
}

#[tokio::test]
async fn chat_message_comes_back_trimmed() {
    let (_server, mut client) = connect(LISTENING).await;
    chat(&mut client, "  hello, world  ", LISTENING).await;
}

#[tokio::test]
async fn emit_runs_only_the_matching_listener() {
    let (_server, mut client) = connect(LISTENING).await;
    let pong = client.emit_with_ack("ping", json!(null)).await;
    assert_eq!(pong, json!("pong"), "a ping is acknowledged with \"pong\".\nRead: {ACKS}");
    // Had `ping` run the chat listener too, a `chat message` would arrive before this one.
    chat(&mut client, "after the ping", LISTENING).await;
}

#[tokio::test]
async fn empty_message_gets_an_error_ack() {
    let (_server, mut client) = connect(TYPED).await;
    for text in ["", "   ", "\n\t"] {
        let ack = client.emit_with_ack("chat message", json!({ "text": text })).await;
        assert_eq!(ack, refused(EMPTY), "{text:?} is empty once trimmed.\nRead: {TYPED}");
    }
    chat(&mut client, "still connected", BAD_INPUT).await;
}

#[tokio::test]
async fn oversized_message_gets_an_error_ack_and_the_connection_lives() {
    let (_server, mut client) = connect(TYPED).await;
    let too_long = "x".repeat(MAX_TEXT_CHARS + 1);
    let ack = client.emit_with_ack("chat message", json!({ "text": too_long })).await;
    assert_eq!(ack, refused(TOO_LONG), "501 characters is one too many.\nRead: {TYPED}");
    // The limit counts characters, not bytes: 500 "é" are 1000 bytes of UTF-8, and allowed.
    let accented = "é".repeat(MAX_TEXT_CHARS);
    let ack = client.emit_with_ack("chat message", json!({ "text": accented })).await;
    assert_eq!(
        ack,
        ok(),
        "a text of 500 \"é\" (500 characters, but 1000 bytes of UTF-8) is within the limit, which counts \
         characters: `text.chars().count()`, not `text.len()`, which counts bytes.\nRead: {TYPED}"
    );
    let back = client.expect_event("chat message", "the 500 \"é\", sent back to their sender").await;
    assert_eq!(back, json!({ "text": accented }), "the sender receives its 500 \"é\" back.\nRead: {TYPED}");
}

#[tokio::test]
async fn malformed_payload_gets_an_error_ack_and_the_connection_lives() {
    let (_server, mut client) = connect(BAD_INPUT).await;
    for payload in [json!(42), json!("just a string"), json!({ "txt": "typo" }), json!({ "text": 7 })] {
        let ack = client.emit_with_ack("chat message", payload.clone()).await;
        assert_eq!(
            ack,
            refused(MALFORMED),
            "the payload {payload} is not {{\"text\": string}}: it gets an error acknowledgement, not silence.\nRead: {BAD_INPUT}"
        );
    }
    chat(&mut client, "still connected", BAD_INPUT).await;
}

#[tokio::test]
async fn unknown_event_harms_nothing() {
    let (_server, mut client) = connect(LISTENING).await;
    client.emit("no one listens to this", json!({ "text": "hello?" })).await;
    let pong = client.emit_with_ack("ping", json!(null)).await;
    assert_eq!(pong, json!("pong"), "after an unknown event the connection still works.\nRead: {LISTENING}");
    // Nothing was emitted in answer to the unknown event: the next event is this chat message.
    chat(&mut client, "anyone?", LISTENING).await;
}

#[tokio::test]
async fn a_payload_must_be_an_object_not_an_array() {
    let (server, mut client) = connect(TYPED).await;
    // A derived `Deserialize` struct would read `["from an array"]` as `{"text": "from an array"}`.
    let ack = client.emit_with_ack("chat message", json!(["from an array"])).await;
    assert_eq!(
        ack,
        refused(MALFORMED),
        "the payload [\"from an array\"] is an array, not {{\"text\": string}}: it gets the MALFORMED acknowledgement.\n\
         Read: {TYPED}"
    );
    chat(&mut client, "an object is fine", TYPED).await;
    drop(server);
}

#[tokio::test]
async fn oversized_packets_are_refused_on_both_transports() {
    let (server, mut bystander) = connect(LIMITS).await;

    // Long-polling: a request body of 20 KiB, far more than any chat message needs.
    let sid = eio::polling_session(server.address(), LIMITS).await;
    let body = format!("42[\"chat message\",{{\"text\":\"{}\"}}]", "x".repeat(20 * 1024));
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let response = http::post(server.address(), &path, &body, LIMITS).await;
    assert_eq!(
        response.status, 413,
        "a long-polling request of 20 KiB is refused with 413 Payload Too Large: the limit is `max_payload`.\n\
         Read: {LIMITS}"
    );

    // WebSocket: one message of 8 KiB. The server may close the connection as soon as it has read the frame's
    // length, before the rest is even sent: that is a refusal too.
    let mut raw = RawClient::connect(server.address(), None, LIMITS).await;
    let sent = raw.try_send_text(format!("421[\"chat message\",{{\"text\":\"{}\"}}]", "x".repeat(8 * 1024))).await;
    let answer = match sent {
        Ok(()) => raw.receive("the server's answer to an 8 KiB WebSocket message").await,
        Err(error) => Received::Broken(error),
    };
    match answer {
        Received::Closed(_) | Received::Broken(_) => {}
        Received::Message(message) => panic!(
            "an 8 KiB WebSocket message should close the connection before it is read whole (the limits are \
             `ws_max_message_size` and `ws_max_frame_size`), but the server answered {:?}.\nRead: {LIMITS}",
            message.to_text().unwrap_or_default().chars().take(120).collect::<String>()
        ),
    }

    // The limit is sized to the protocol: the longest valid message still goes through. 500 characters that
    // JSON writes as `\u0001`, six bytes each: 3000 bytes in all.
    chat(&mut bystander, &"\u{1}".repeat(MAX_TEXT_CHARS), LIMITS).await;
}
