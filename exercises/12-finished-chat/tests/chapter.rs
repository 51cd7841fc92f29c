//! Chapter 12's graded tests: `cargo test -p ex12-finished-chat`.
//!
//! Each test starts your program alone (its log in a file of its own) or as two nodes on a private
//! `redis-server`, and connects Socket.IO clients. The tests with two nodes need `redis-server`
//! (`apt-get install redis-server`); without it they are reported as skipped, by name. This file uses the
//! kit's own test harness for that: each test is a plain function that the list at the bottom names.

#[cfg(not(feature = "solution"))]
const PROGRAM: &str = env!("CARGO_BIN_EXE_ex12-finished-chat");
#[cfg(feature = "solution")]
const PROGRAM: &str = env!("CARGO_BIN_EXE_sol12-finished-chat");

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;

use harness::{Check, Need};
use serde_json::{Value, json};
use testkit::eio::RawClient;
use testkit::redis::RedisServer;
use testkit::sio::{self, Options, Received, SioClient};
use testkit::ws::Received as WsReceived;
use testkit::{Chapter, Section, Server};

const CHAPTER: Chapter = Chapter { number: 12, title: "The finished chat", page: "book/src/12-finished-chat.md" };
const NAMES: Section = CHAPTER.section("Names of one's own");
const ROOMS: Section = CHAPTER.section("Rooms in the log");
const CATCHING_UP: Section = CHAPTER.section("Catching up in rooms");
const NODES: Section = CHAPTER.section("Alone or on several nodes");

/// The program alone, its log in `folder`.
async fn alone(folder: &Path, section: Section) -> Server {
    let database = folder.join("chat.db");
    let database = database.to_str().expect("the temporary folder's path is UTF-8");
    Server::start_with(PROGRAM, &["--db", database], &[folder], section).await
}

/// Two nodes of the program on `redis`, sharing a log in `folder`.
async fn two_nodes(folder: &Path, redis: &RedisServer, test: &str, section: Section) -> [Server; 2] {
    let database = folder.join("chat.db");
    let database = database.to_str().expect("the temporary folder's path is UTF-8");
    let url = redis.url();
    let args = ["--db", database, "--redis", url.as_str(), "--redis-prefix", test];
    [
        Server::start_with(PROGRAM, &args, &[folder], section).await,
        Server::start_with(PROGRAM, &args, &[folder], section).await,
    ]
}

/// The auth of a page: a name, what it has seen, its rooms, its session.
fn auth(name: &str, server_offset: u64, rooms: &[&str], session: Option<&str>) -> Value {
    json!({ "name": name, "serverOffset": server_offset, "rooms": rooms, "session": session })
}

async fn connect(server: &Server, auth: Value, section: Section) -> SioClient {
    let mut client =
        sio::connect_with(server.address(), Options { auth: Some(auth), ..Options::default() }, section).await;
    // A page that takes its name back may first hear its old connection leave.
    let greeting = loop {
        let Received { event, data } = client.next_event("the `online` list that greets a newcomer").await;
        match event.as_str() {
            "online" => break data,
            "user left" | "user joined" => continue,
            other => panic!("a newcomer is greeted with `online` first, not {other:?} {data}.\nRead: {section}"),
        }
    };
    assert!(greeting["names"].is_array(), "`online` carries {{\"names\": [...]}}, not {greeting}.\nRead: {section}");
    client
}

async fn join_room(client: &SioClient, room: &str, section: Section) {
    let ack = client.emit_with_ack("join", json!({ "room": room })).await;
    assert_eq!(ack, json!({ "ok": true }), "joining {room:?} should be acknowledged.\nRead: {section}");
}

/// Sends `text` to `room` and returns the offset of its acknowledgement.
async fn say(client: &SioClient, room: &str, text: &str, client_offset: &str, section: Section) -> u64 {
    let message = json!({ "room": room, "text": text, "clientOffset": client_offset });
    let ack = client.emit_with_ack("chat message", message).await;
    match (ack["ok"].as_bool(), ack["offset"].as_u64()) {
        (Some(true), Some(offset)) => offset,
        _ => panic!(
            "`chat message` {text:?} to {room:?} should be acknowledged with its offset; it was {ack}.\nRead: {section}"
        ),
    }
}

fn post(offset: u64, room: &str, name: &str, text: &str) -> Value {
    json!({ "offset": offset, "room": room, "name": name, "text": text })
}

/// The next `chat message`, past presence notices and typing.
async fn next_post(client: &mut SioClient, what: &str, section: Section) -> Value {
    loop {
        let Received { event, data } = client.next_event(what).await;
        match event.as_str() {
            "online" | "user joined" | "user left" | "typing" | "stopped typing" => continue,
            "chat message" => return data,
            other => panic!("waited for {what}, a `chat message`; got {other:?} {data}.\nRead: {section}"),
        }
    }
}

/// What a raw client's CONNECT with `auth` is answered with: `40{...}` or `44{"message": ...}`.
async fn connect_answer(server: &Server, auth: Value) -> (String, RawClient) {
    let mut raw = RawClient::open(server.address(), NAMES).await;
    raw.send_text(format!("40{auth}")).await;
    (raw.next_text("the answer to the CONNECT packet: 40{...} or 44{...}").await, raw)
}

fn refused(reason: &str) -> String {
    format!("44{}", json!({ "message": reason }))
}

/// Reads a raw client until the server disconnects it (`41`, or the connection's end); `false` if it is
/// still connected after everything it was sent.
async fn disconnected_by_the_server(raw: &mut RawClient) -> bool {
    loop {
        match raw.receive("a disconnect from the server").await {
            WsReceived::Message(message) if message.to_text().is_ok_and(|text| text == "41") => return true,
            WsReceived::Message(_) => continue,
            WsReceived::Closed(_) | WsReceived::Broken(_) => return true,
        }
    }
}

// ---- The tests -------------------------------------------------------------------------------------------------

async fn a_message_in_a_room_reaches_its_members_only_with_its_offset() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let server = alone(folder.path(), ROOMS).await;
    let mut alice = connect(&server, auth("alice", 0, &[], None), ROOMS).await;
    let mut bob = connect(&server, auth("bob", 0, &[], None), ROOMS).await;
    let mut carol = connect(&server, auth("carol", 0, &[], None), ROOMS).await;
    join_room(&alice, "rust", ROOMS).await;
    join_room(&bob, "rust", ROOMS).await;

    assert_eq!(say(&alice, "rust", "in rust", "a:1", ROOMS).await, 1);
    assert_eq!(say(&alice, "lobby", "in the lobby", "a:2", ROOMS).await, 2);
    for (client, who) in [(&mut alice, "alice"), (&mut bob, "bob")] {
        assert_eq!(
            next_post(client, &format!("the message to rust, as {who} gets it"), ROOMS).await,
            post(1, "rust", "alice", "in rust"),
            "{who} is in rust: the message reaches every member, the sender included, with its offset and room.\n\
             Read: {ROOMS}"
        );
        assert_eq!(
            next_post(client, "the message to the lobby", ROOMS).await,
            post(2, "lobby", "alice", "in the lobby")
        );
    }
    assert_eq!(
        next_post(&mut carol, "the first message carol gets", ROOMS).await,
        post(2, "lobby", "alice", "in the lobby"),
        "carol is not in rust: the first message she gets is the lobby's, offset 2.\nRead: {ROOMS}"
    );
    let ack = carol
        .emit_with_ack("chat message", json!({ "room": "rust", "text": "let me in", "clientOffset": "c:1" }))
        .await;
    assert_eq!(ack, json!({ "ok": false, "error": "you are not in the room rust" }));
}

async fn a_client_that_comes_back_gets_what_it_missed_in_its_rooms_and_nothing_else() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let mut server = alone(folder.path(), CATCHING_UP).await;
    let alice = connect(&server, auth("alice", 0, &["rust", "go"], None), CATCHING_UP).await;
    let mut bob = connect(&server, auth("bob", 0, &["rust"], Some("bobs-page-1")), CATCHING_UP).await;
    assert_eq!(say(&alice, "rust", "first", "a:1", CATCHING_UP).await, 1);
    assert_eq!(next_post(&mut bob, "the first message", CATCHING_UP).await, post(1, "rust", "alice", "first"));
    bob.disconnect().await;

    // While bob is away: a message to each of alice's rooms; then the server is killed and started again.
    let missed = [
        ("go", "not for bob"),
        ("rust", "for bob, 1"),
        ("lobby", "for everyone"),
        ("rust", "for bob, 2"),
        // The log's newest message is in a room bob is not in: catching up must still end.
        ("go", "still not"),
    ];
    for (n, (room, text)) in missed.iter().enumerate() {
        say(&alice, room, text, &format!("a:{}", n + 2), CATCHING_UP).await;
    }
    drop(alice);
    server.restart().await;

    let mut bob = connect(&server, auth("bob", 1, &["rust"], Some("bobs-page-1")), CATCHING_UP).await;
    for expected in [
        post(3, "rust", "alice", "for bob, 1"),
        post(4, "lobby", "alice", "for everyone"),
        post(5, "rust", "alice", "for bob, 2"),
    ] {
        assert_eq!(
            next_post(&mut bob, "what bob missed in his rooms", CATCHING_UP).await,
            expected,
            "bob came back with serverOffset 1 and the rooms [\"rust\"] (the lobby is everyone's): he gets what he \
             missed there, in order, and nothing of the room go.\nRead: {CATCHING_UP}"
        );
    }
    let alice = connect(&server, auth("alice", 6, &["rust"], None), CATCHING_UP).await;
    say(&alice, "rust", "welcome back", "a:7", CATCHING_UP).await;
    assert_eq!(
        next_post(&mut bob, "the message after bob caught up", CATCHING_UP).await,
        post(7, "rust", "alice", "welcome back"),
        "after what he missed, bob gets what is new, and nothing twice.\nRead: {CATCHING_UP}"
    );
}

async fn a_name_is_its_own_pages_and_nobody_elses() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let server = alone(folder.path(), NAMES).await;
    let (answer, mut first) = connect_answer(&server, auth("alice", 0, &[], Some("alices-page"))).await;
    assert!(answer.starts_with("40{"), "alice connects with her page's session: {answer}.\nRead: {NAMES}");

    let taken = refused("the name Alice is taken");
    let (answer, _) = connect_answer(&server, auth("Alice", 0, &[], Some("someone-else"))).await;
    assert_eq!(
        answer, taken,
        "another page (another session) may not take alice's name, whatever its case.\nRead: {NAMES}"
    );
    let (answer, _) = connect_answer(&server, auth("Alice", 0, &[], None)).await;
    assert_eq!(answer, taken, "nor may a client without a session.\nRead: {NAMES}");

    // alice's page reconnects (its network came back) while its old connection still holds the name.
    let (answer, _again) = connect_answer(&server, auth("alice", 0, &[], Some("alices-page"))).await;
    assert!(
        answer.starts_with("40{"),
        "alice's own page, with the same session, takes her name back: it should be admitted; it got {answer}.\n\
         Read: {NAMES}"
    );
    assert!(
        disconnected_by_the_server(&mut first).await,
        "the old connection of the page that took its name back is disconnected by the server.\nRead: {NAMES}"
    );
}

async fn rooms_and_names_reach_across_two_nodes() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let redis = RedisServer::start(NODES).await;
    let [a, b] = two_nodes(folder.path(), &redis, "two-nodes", NODES).await;
    let (answer, mut first) = connect_answer(&a, auth("alice", 0, &["rust"], Some("alices-page"))).await;
    assert!(answer.starts_with("40{"), "{answer}");
    let mut bob = connect(&b, auth("bob", 0, &["rust"], None), NODES).await;
    let mut carol = connect(&b, auth("carol", 0, &[], None), NODES).await;

    let (answer, _) = connect_answer(&b, auth("alice", 0, &[], None)).await;
    assert_eq!(answer, refused("the name alice is taken"), "alice is on node A: node B knows.\nRead: {NODES}");

    // alice's page comes back on node B, with its session: node A's old connection goes.
    let mut alice = connect(&b, auth("alice", 0, &["rust"], Some("alices-page")), NODES).await;
    assert!(disconnected_by_the_server(&mut first).await, "node A disconnects alice's old connection.\nRead: {NODES}");

    let dave = connect(&a, auth("dave", 0, &["rust"], None), NODES).await;
    assert_eq!(say(&dave, "rust", "from node A", "d:1", NODES).await, 1);
    assert_eq!(say(&dave, "lobby", "to everyone", "d:2", NODES).await, 2);
    for (client, who) in [(&mut bob, "bob"), (&mut alice, "alice")] {
        assert_eq!(
            next_post(client, &format!("dave's message to rust, as {who} on node B gets it"), NODES).await,
            post(1, "rust", "dave", "from node A"),
            "a message to a room reaches its members on every node.\nRead: {NODES}"
        );
    }
    assert_eq!(
        next_post(&mut carol, "the first message carol, on node B, gets", NODES).await,
        post(2, "lobby", "dave", "to everyone"),
        "carol is not in rust: node B gives her the lobby's message only.\nRead: {NODES}"
    );
}

// ---- The list ----------------------------------------------------------------------------------------------------

/// One test: its own runtime on its own thread, as `#[tokio::test]` gives.
fn check<F: Future<Output = ()> + 'static>(name: &str, needs: &[Need], test: fn() -> F) -> Check {
    Check::new(name, needs, move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime").block_on(test());
    })
}

fn main() -> ExitCode {
    let redis = &[Need::Program("redis-server")];
    harness::run(vec![
        check(
            "a_message_in_a_room_reaches_its_members_only_with_its_offset",
            &[],
            a_message_in_a_room_reaches_its_members_only_with_its_offset,
        ),
        check(
            "a_client_that_comes_back_gets_what_it_missed_in_its_rooms_and_nothing_else",
            &[],
            a_client_that_comes_back_gets_what_it_missed_in_its_rooms_and_nothing_else,
        ),
        check("a_name_is_its_own_pages_and_nobody_elses", &[], a_name_is_its_own_pages_and_nobody_elses),
        check("rooms_and_names_reach_across_two_nodes", redis, rooms_and_names_reach_across_two_nodes),
    ])
}
