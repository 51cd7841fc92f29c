//! Chapter 8's graded tests: `cargo test -p ex08-rooms-presence`.
//!
//! Each test starts your program (the one `cargo run -p ex08-rooms-presence` runs) on a free port and connects
//! several Socket.IO clients with names. A client reads what arrives in order, so "the next event bob gets is
//! carol's message" proves that nothing else (alice's private message, say) came before it. Connecting is
//! tested by hand, packet by packet, to see the server's `connect_error`.

// The reference solution runs these very tests, against its own program. You never need to turn its
// `solution` feature on.
#[cfg(not(feature = "solution"))]
const PROGRAM: &str = env!("CARGO_BIN_EXE_ex08-rooms-presence");
#[cfg(feature = "solution")]
const PROGRAM: &str = env!("CARGO_BIN_EXE_sol08-rooms-presence");

use std::time::Duration;

use serde_json::{Value, json};
use testkit::eio::RawClient;
use testkit::sio::{self, Options, Received, SioClient};
use testkit::{Chapter, Section, Server, WAIT, within};

const CHAPTER: Chapter =
    Chapter { number: 8, title: "Rooms, names and presence", page: "book/src/08-rooms-presence.md" };
const NAMES: Section = CHAPTER.section("Names");
const ONLINE: Section = CHAPTER.section("Who is online");
const ROOMS: Section = CHAPTER.section("Rooms");
const YOUR_OWN: Section = CHAPTER.section("Your own messages");
const TYPING: Section = CHAPTER.section("Who is typing");
const PRIVATE: Section = CHAPTER.section("Private messages");

/// How long a typing notice lasts without a new one (the given `TYPING_TIMEOUT`).
const TYPING_TIMEOUT: Duration = Duration::from_secs(3);

fn ok() -> Value {
    json!({ "ok": true })
}

fn refused(reason: &str) -> Value {
    json!({ "ok": false, "error": reason })
}

async fn start() -> Server {
    Server::start(PROGRAM, NAMES).await
}

/// Connects a client called `name`, and reads the `online` list that greets it.
async fn join(server: &Server, name: &str, section: Section) -> SioClient {
    let options = Options { auth: Some(json!({ "name": name })), ..Options::default() };
    let mut client = sio::connect_with(server.address(), options, section).await;
    let first = client.next_event(&format!("the `online` list, as {name} connects")).await;
    assert_eq!(
        first.event, "online",
        "the first thing a newcomer hears is `online` {{\"names\": [...]}}; {name} heard {:?} {}.\nRead: {ONLINE}",
        first.event, first.data
    );
    client
}

/// The next event besides the notices in `skip` (`user joined`, `typing`, ...).
async fn next_besides(client: &mut SioClient, what: &str, skip: &[&str]) -> Received {
    loop {
        let received = client.next_event(what).await;
        if !skip.contains(&received.event.as_str()) {
            return received;
        }
    }
}

/// The next event that is not a join or leave notice.
async fn next_message(client: &mut SioClient, what: &str) -> Received {
    next_besides(client, what, &["user joined", "user left", "online"]).await
}

/// What a raw client gets in answer to its CONNECT with `auth`: `40{...}` (admitted) or `44{...}` (refused).
async fn connect_answer(server: &Server, auth: Option<Value>) -> String {
    connect_and_keep(server, auth).await.0
}

/// The same, with the client still connected, for a test that needs the name to stay taken.
async fn connect_and_keep(server: &Server, auth: Option<Value>) -> (String, RawClient) {
    let mut raw = RawClient::open(server.address(), NAMES).await;
    let connect = match auth {
        Some(auth) => format!("40{auth}"),
        None => "40".to_owned(),
    };
    raw.send_text(connect).await;
    let answer = raw.next_text("the answer to the CONNECT packet: 40{...} or 44{...}").await;
    (answer, raw)
}

fn connect_error(reason: &str) -> String {
    format!("44{}", json!({ "message": reason }))
}

async fn emit_ok(client: &SioClient, event: &str, data: Value, section: Section) {
    let ack = client.emit_with_ack(event, data.clone()).await;
    assert_eq!(ack, ok(), "`{event}` {data} should be acknowledged with {{\"ok\": true}}.\nRead: {section}");
}

async fn say(client: &SioClient, room: &str, text: &str, section: Section) {
    emit_ok(client, "chat message", json!({ "room": room, "text": text }), section).await;
}

fn post(room: &str, name: &str, text: &str) -> (String, Value) {
    ("chat message".to_owned(), json!({ "room": room, "name": name, "text": text }))
}

fn pair(received: Received) -> (String, Value) {
    (received.event, received.data)
}

#[tokio::test]
async fn a_name_is_required_and_checked() {
    let server = start().await;
    let missing = "a name is required: connect with the auth {\"name\": \"...\"}";
    let too_long = "a name is at most 32 characters";
    let invalid = "a name may not contain control characters or text-direction marks";
    let cases = [
        (None, missing),
        (Some(json!({})), missing),
        (Some(json!({ "name": "" })), missing),
        (Some(json!({ "name": "   " })), missing),
        (Some(json!({ "name": 42 })), missing),
        (Some(json!({ "name": "x".repeat(33) })), too_long),
        (Some(json!({ "name": "eve\nmallory" })), invalid),
        (Some(json!({ "name": "nul\u{0}" })), invalid),
        (Some(json!({ "name": "esc\u{1b}[2J" })), invalid),
        (Some(json!({ "name": "alice\u{202E}nimda" })), invalid),
    ];
    for (auth, reason) in cases {
        let answer = connect_answer(&server, auth.clone()).await;
        assert_eq!(
            answer,
            connect_error(reason),
            "connecting with the auth {auth:?} is refused with a connect_error that says why (44{{\"message\": ...}}), \
             never admitted and never dropped without a word.\nRead: {NAMES}"
        );
    }
    // A name of exactly 32 characters, with spaces around it, is fine (and trimmed).
    let answer = connect_answer(&server, Some(json!({ "name": format!("  {}  ", "y".repeat(32)) }))).await;
    assert!(answer.starts_with("40{"), "a name of 32 characters is admitted, got {answer:?}.\nRead: {NAMES}");
}

#[tokio::test]
async fn a_name_someone_has_is_refused() {
    let server = start().await;
    let alice = join(&server, "alice", NAMES).await;
    let mut bob = join(&server, "bob", NAMES).await;
    for name in ["alice", "Alice", " ALICE "] {
        let answer = connect_answer(&server, Some(json!({ "name": name }))).await;
        assert_eq!(
            answer,
            connect_error(&format!("the name {} is taken", name.trim())),
            "alice is online, so the name {name:?} is taken, whatever its case.\nRead: {NAMES}"
        );
    }
    // Eight clients asking for the same new name at the same moment: exactly one gets it.
    let connected = testkit::join_all((0..8).map(|_| connect_and_keep(&server, Some(json!({ "name": "zed" }))))).await;
    let answers: Vec<&String> = connected.iter().map(|(answer, _)| answer).collect();
    let admitted = answers.iter().filter(|answer| answer.starts_with("40{")).count();
    assert_eq!(
        admitted, 1,
        "of eight clients connecting at once as \"zed\", exactly one is admitted, the others are told the name \
         is taken (check and take the name in one turn: the given NAMES lock); got {answers:?}.\nRead: {NAMES}"
    );
    alice.disconnect().await;
    let left = next_besides(&mut bob, "the notice that alice left", &["online", "user joined"]).await;
    assert_eq!(pair(left), ("user left".to_owned(), json!({ "name": "alice" })), "Read: {ONLINE}");
    // Gone, so the name is free again.
    let answer = connect_answer(&server, Some(json!({ "name": "alice" }))).await;
    assert!(answer.starts_with("40{"), "once alice has left, her name is free again; got {answer:?}.\nRead: {NAMES}");
}

#[tokio::test]
async fn joins_and_leaves_are_announced_by_name() {
    let server = start().await;
    let mut alice = join(&server, "alice", ONLINE).await;
    let bob = join(&server, "bob", ONLINE).await;
    let joined = alice.next_event("the notice that bob joined").await;
    assert_eq!(
        pair(joined),
        ("user joined".to_owned(), json!({ "name": "bob" })),
        "the others hear of a newcomer by name: `user joined` {{\"name\": \"bob\"}}.\nRead: {ONLINE}"
    );
    bob.disconnect().await;
    let left = alice.next_event("the notice that bob left").await;
    assert_eq!(
        pair(left),
        ("user left".to_owned(), json!({ "name": "bob" })),
        "and of a departure: `user left` {{\"name\": \"bob\"}}.\nRead: {ONLINE}"
    );
}

#[tokio::test]
async fn who_is_online_is_sent_on_connect_and_kept_current() {
    let server = start().await;
    let options = |name: &str| Options { auth: Some(json!({ "name": name })), ..Options::default() };
    let mut alice = sio::connect_with(server.address(), options("alice"), ONLINE).await;
    let first = alice.expect_event("online", "the `online` list, as alice connects").await;
    assert_eq!(
        first,
        json!({ "names": ["alice"] }),
        "alone, alice is told she is the only one online.\nRead: {ONLINE}"
    );
    let mut bob = sio::connect_with(server.address(), options("Bob"), ONLINE).await;
    let first = bob.expect_event("online", "the `online` list, as Bob connects").await;
    assert_eq!(
        first,
        json!({ "names": ["alice", "Bob"] }),
        "a newcomer is told everyone online, itself included, sorted whatever their case, names as they were \
         given.\nRead: {ONLINE}"
    );
    // From then on, the list is kept current by the join and leave notices.
    let joined = alice.expect_event("user joined", "the notice that Bob joined").await;
    assert_eq!(joined, json!({ "name": "Bob" }), "Read: {ONLINE}");
}

#[tokio::test]
async fn a_message_goes_to_the_room_and_not_back_to_its_sender() {
    let server = start().await;
    let mut alice = join(&server, "alice", YOUR_OWN).await;
    let mut bob = join(&server, "bob", YOUR_OWN).await;
    say(&alice, "lobby", "  hello, bob  ", YOUR_OWN).await;
    let heard = next_message(&mut bob, "alice's message, at bob").await;
    assert_eq!(
        pair(heard),
        post("lobby", "alice", "hello, bob"),
        "every socket starts in the lobby; a message to it reaches the others as `chat message` \
         {{\"room\", \"name\", \"text\"}}, trimmed.\nRead: {ROOMS}"
    );
    say(&bob, "lobby", "hi alice", YOUR_OWN).await;
    let heard = next_message(&mut alice, "bob's answer, at alice").await;
    assert_eq!(
        pair(heard),
        post("lobby", "bob", "hi alice"),
        "the next message alice hears is bob's: her own was not sent back to her (her page showed it the moment \
         she sent it).\nRead: {YOUR_OWN}"
    );
}

#[tokio::test]
async fn rooms_keep_their_messages_to_themselves() {
    let server = start().await;
    let alice = join(&server, "alice", ROOMS).await;
    let mut bob = join(&server, "bob", ROOMS).await;
    let mut carol = join(&server, "carol", ROOMS).await;
    emit_ok(&alice, "join", json!({ "room": "rust" }), ROOMS).await;
    emit_ok(&carol, "join", json!({ "room": "rust" }), ROOMS).await;

    say(&alice, "rust", "borrow checker", ROOMS).await;
    let heard = next_message(&mut carol, "alice's message to the rust room, at carol").await;
    assert_eq!(
        pair(heard),
        post("rust", "alice", "borrow checker"),
        "carol, in the rust room, hears it.\nRead: {ROOMS}"
    );
    say(&alice, "lobby", "everyone", ROOMS).await;
    let heard = next_message(&mut bob, "alice's message to the lobby, at bob").await;
    assert_eq!(
        pair(heard),
        post("lobby", "alice", "everyone"),
        "bob is not in the rust room: the first message he hears is alice's to the lobby.\nRead: {ROOMS}"
    );

    let ack = alice.emit_with_ack("chat message", json!({ "room": "music", "text": "la" })).await;
    assert_eq!(
        ack,
        refused("you are not in the room music"),
        "a message to a room you are not in is refused.\nRead: {ROOMS}"
    );
    emit_ok(&alice, "leave", json!({ "room": "rust" }), ROOMS).await;
    let ack = alice.emit_with_ack("chat message", json!({ "room": "rust", "text": "still here?" })).await;
    assert_eq!(
        ack,
        refused("you are not in the room rust"),
        "after `leave`, the room is closed to you.\nRead: {ROOMS}"
    );
    for bad in [json!({ "room": "" }), json!({ "room": "user:bob" }), json!({ "room": "x".repeat(33) })] {
        let ack = alice.emit_with_ack("join", bad.clone()).await;
        assert_eq!(
            ack["ok"],
            json!(false),
            "joining {bad} is refused (empty, too long, or one of the server's own rooms); got {ack}.\nRead: {ROOMS}"
        );
    }
}

#[tokio::test]
async fn a_socket_can_be_in_several_rooms() {
    let server = start().await;
    let mut alice = join(&server, "alice", ROOMS).await;
    let bob = join(&server, "bob", ROOMS).await;
    let carol = join(&server, "carol", ROOMS).await;
    for room in ["rust", "music"] {
        emit_ok(&alice, "join", json!({ "room": room }), ROOMS).await;
    }
    emit_ok(&bob, "join", json!({ "room": "rust" }), ROOMS).await;
    emit_ok(&carol, "join", json!({ "room": "music" }), ROOMS).await;
    say(&bob, "rust", "from rust", ROOMS).await;
    let heard = next_message(&mut alice, "bob's message to rust, at alice").await;
    assert_eq!(pair(heard), post("rust", "bob", "from rust"), "Read: {ROOMS}");
    say(&carol, "music", "from music", ROOMS).await;
    let heard = next_message(&mut alice, "carol's message to music, at alice").await;
    assert_eq!(pair(heard), post("music", "carol", "from music"), "alice, in both rooms, hears both.\nRead: {ROOMS}");
}

#[tokio::test]
async fn typing_is_shown_to_the_room_and_stops() {
    let server = start().await;
    let alice = join(&server, "alice", TYPING).await;
    let mut bob = join(&server, "bob", TYPING).await;
    let typist = json!({ "room": "lobby", "name": "alice" });

    alice.emit("typing", json!({ "room": "lobby" })).await;
    let heard = next_message(&mut bob, "the notice that alice is typing").await;
    assert_eq!(pair(heard), ("typing".to_owned(), typist.clone()), "Read: {TYPING}");
    alice.emit("stop typing", json!({ "room": "lobby" })).await;
    let heard = next_message(&mut bob, "the notice that alice stopped typing").await;
    assert_eq!(
        pair(heard),
        ("stopped typing".to_owned(), typist.clone()),
        "`stop typing` is passed on as `stopped typing` {{\"room\", \"name\"}}.\nRead: {TYPING}"
    );

    // Typing, then sending: the message ends the typing.
    alice.emit("typing", json!({ "room": "lobby" })).await;
    let heard = next_message(&mut bob, "alice typing again").await;
    assert_eq!(pair(heard), ("typing".to_owned(), typist.clone()), "Read: {TYPING}");
    say(&alice, "lobby", "done", TYPING).await;
    let first = next_message(&mut bob, "the end of alice's typing, as her message goes").await;
    assert_eq!(
        pair(first),
        ("stopped typing".to_owned(), typist),
        "a message ends its author's typing.\nRead: {TYPING}"
    );
    let second = next_message(&mut bob, "alice's message").await;
    assert_eq!(pair(second), post("lobby", "alice", "done"), "Read: {TYPING}");
}

#[tokio::test]
async fn typing_stops_when_the_typist_vanishes_or_goes_quiet() {
    let server = start().await;
    let alice = join(&server, "alice", TYPING).await;
    let carol = join(&server, "carol", TYPING).await;
    let mut bob = join(&server, "bob", TYPING).await;

    // alice says she is typing, and then nothing: after the timeout, she has stopped.
    alice.emit("typing", json!({ "room": "lobby" })).await;
    let heard = next_message(&mut bob, "the notice that alice is typing").await;
    assert_eq!(pair(heard), ("typing".to_owned(), json!({ "room": "lobby", "name": "alice" })), "Read: {TYPING}");
    let quiet = next_message(&mut bob, "the end of alice's typing, once she has been quiet for the timeout");
    let heard = within(TYPING_TIMEOUT + WAIT, "alice's typing to time out", TYPING, quiet).await;
    assert_eq!(
        pair(heard),
        ("stopped typing".to_owned(), json!({ "room": "lobby", "name": "alice" })),
        "a typist who goes quiet for {TYPING_TIMEOUT:?} has stopped typing (the given `Typing` timers).\nRead: {TYPING}"
    );

    // carol is typing, and vanishes: she has stopped, and left.
    carol.emit("typing", json!({ "room": "lobby" })).await;
    let heard = next_message(&mut bob, "the notice that carol is typing").await;
    assert_eq!(pair(heard), ("typing".to_owned(), json!({ "room": "lobby", "name": "carol" })), "Read: {TYPING}");
    carol.disconnect().await;
    let heard = next_besides(&mut bob, "the end of carol's typing, as she leaves", &["online"]).await;
    assert_eq!(
        pair(heard),
        ("stopped typing".to_owned(), json!({ "room": "lobby", "name": "carol" })),
        "a typist who disconnects has stopped typing, and the room is told before it hears that she left.\n\
         Read: {TYPING}"
    );
    drop(alice);
}

#[tokio::test]
async fn a_private_message_reaches_only_its_addressee() {
    let server = start().await;
    let mut alice = join(&server, "alice", PRIVATE).await;
    let mut bob = join(&server, "bob", PRIVATE).await;
    let mut carol = join(&server, "carol", PRIVATE).await;

    emit_ok(&alice, "private message", json!({ "to": "Bob", "text": "  just between us  " }), PRIVATE).await;
    let heard = next_message(&mut bob, "alice's private message, at bob").await;
    assert_eq!(
        pair(heard),
        ("private message".to_owned(), json!({ "from": "alice", "text": "just between us" })),
        "bob gets `private message` {{\"from\", \"text\"}} (the name is his, whatever its case).\nRead: {PRIVATE}"
    );
    say(&alice, "lobby", "to everyone", PRIVATE).await;
    let heard = next_message(&mut carol, "alice's message to the lobby, at carol").await;
    assert_eq!(
        pair(heard),
        post("lobby", "alice", "to everyone"),
        "carol's first message is alice's to the lobby: the private one was not for her.\nRead: {PRIVATE}"
    );
    say(&bob, "lobby", "got it", PRIVATE).await;
    let heard = next_message(&mut alice, "bob's answer, at alice").await;
    assert_eq!(
        pair(heard),
        post("lobby", "bob", "got it"),
        "alice's own private message was not sent back to her.\nRead: {PRIVATE}"
    );
}

#[tokio::test]
async fn a_private_message_to_someone_offline_is_refused() {
    let server = start().await;
    let alice = join(&server, "alice", PRIVATE).await;
    let ack = alice.emit_with_ack("private message", json!({ "to": "nobody", "text": "hello?" })).await;
    assert_eq!(
        ack,
        refused("nobody is not online"),
        "a private message to a name nobody has is refused in its acknowledgement.\nRead: {PRIVATE}"
    );
    let ack = alice.emit_with_ack("private message", json!({ "to": "bob" })).await;
    assert_eq!(
        ack,
        refused("expected {\"to\": \"...\", \"text\": \"...\"}"),
        "a private message without its text is malformed.\nRead: {PRIVATE}"
    );
}
