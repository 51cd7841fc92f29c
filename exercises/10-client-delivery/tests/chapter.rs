//! Chapter 10's graded tests: `cargo test -p ex10-client-delivery`.
//!
//! The server's tests start your server (`src/main.rs`) and send it messages by hand, some of them twice.
//! The client's tests run your client (`src/client/main.rs`) as a user would, its lines on its standard input,
//! against your server, through a proxy that breaks the connection on cue (`testkit::proxy`): it swallows a
//! message or an acknowledgement, cuts the connection with one on its way, or passes one on twice. Another
//! client, connected straight to the server, reads the log, so that "it got 1 to 8 once each" is what the
//! server stored and sent, whatever the broken network did.

// The reference solution runs these very tests, against its own programs. You never need to turn its
// `solution` feature on.
#[cfg(not(feature = "solution"))]
const SERVER: &str = env!("CARGO_BIN_EXE_ex10-client-delivery");
#[cfg(not(feature = "solution"))]
const CLIENT: &str = env!("CARGO_BIN_EXE_ex10-client");
#[cfg(feature = "solution")]
const SERVER: &str = env!("CARGO_BIN_EXE_sol10-client-delivery");
#[cfg(feature = "solution")]
const CLIENT: &str = env!("CARGO_BIN_EXE_sol10-client");

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use testkit::cli::{self, Finished, Running};
use testkit::proxy::{Direction, Fault, FaultProxy};
use testkit::sio::{self, Options, SioClient};
use testkit::{Chapter, Program, Section, Server};

const CHAPTER: Chapter = Chapter { number: 10, title: "Client delivery", page: "book/src/10-client-delivery.md" };
const STORING_ONCE: Section = CHAPTER.section("Storing once");
const OUTBOX: Section = CHAPTER.section("An outbox");
const RETRYING: Section = CHAPTER.section("Retrying");
const COMING_BACK: Section = CHAPTER.section("Coming back");

/// How long a client run may take, retries and reconnections included.
const CLIENT_LIMIT: Duration = Duration::from_secs(30);

async fn start(section: Section) -> Server {
    Server::start_with(SERVER, &["--db", ":memory:"], &[], section).await
}

async fn start_on_file(folder: &Path, section: Section) -> Server {
    let database = folder.join("chat.db");
    let database = database.to_str().expect("the temporary folder's path is UTF-8");
    Server::start_with(SERVER, &["--db", database], &[folder], section).await
}

async fn join(server: &Server, name: &str, server_offset: u64, section: Section) -> SioClient {
    let auth = json!({ "name": name, "serverOffset": server_offset });
    sio::connect_with(server.address(), Options { auth: Some(auth), ..Options::default() }, section).await
}

/// Sends `text` with `client_offset` and returns the acknowledgement.
async fn send(client: &SioClient, text: &str, client_offset: &str) -> Value {
    client.emit_with_ack("chat message", json!({ "text": text, "clientOffset": client_offset })).await
}

fn stored(offset: u64) -> Value {
    json!({ "ok": true, "offset": offset })
}

fn post(offset: u64, name: &str, text: &str) -> Value {
    json!({ "offset": offset, "name": name, "text": text })
}

// ---- The server ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_message_sent_again_is_acknowledged_with_its_first_offset_and_stored_once() {
    let server = start(STORING_ONCE).await;
    let alice = join(&server, "alice", 0, STORING_ONCE).await;
    let mut bob = join(&server, "bob", 0, STORING_ONCE).await;

    assert_eq!(send(&alice, "hello", "a:1").await, stored(1), "a new message is stored.\nRead: {STORING_ONCE}");
    assert_eq!(
        send(&alice, "hello", "a:1").await,
        stored(1),
        "alice sent the message with client offset \"a:1\" again (as a client does whose acknowledgement was \
         lost): it is acknowledged again, with the offset it got the first time.\nRead: {STORING_ONCE}"
    );
    assert_eq!(send(&alice, "next", "a:2").await, stored(2), "the next message gets the next offset");
    // Client offsets are each sender's own: carol's "a:1" is another message.
    let carol = join(&server, "carol", 0, STORING_ONCE).await;
    assert_eq!(send(&carol, "hello", "a:1").await, stored(3), "carol's \"a:1\" is not alice's.\nRead: {STORING_ONCE}");

    for (offset, name, text) in [(1, "alice", "hello"), (2, "alice", "next"), (3, "carol", "hello")] {
        assert_eq!(
            bob.expect_event("chat message", &format!("message {offset}")).await,
            post(offset, name, text),
            "bob gets each message of the log once: a message sent again is not delivered again.\n\
             Read: {STORING_ONCE}"
        );
    }
}

#[tokio::test]
async fn a_message_sent_again_after_a_restart_is_still_known() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let mut server = start_on_file(folder.path(), STORING_ONCE).await;
    let alice = join(&server, "alice", 0, STORING_ONCE).await;
    assert_eq!(send(&alice, "before the crash", "tab:1").await, stored(1));
    drop(alice);
    server.restart().await;

    // alice's client did not see the acknowledgement (say), and sends the message again to the new server.
    let alice = join(&server, "alice", 1, STORING_ONCE).await;
    assert_eq!(
        send(&alice, "before the crash", "tab:1").await,
        stored(1),
        "the log remembers client offsets across a restart: the message is known, not stored again.\n\
         Read: {STORING_ONCE}"
    );
    assert_eq!(send(&alice, "after", "tab:2").await, stored(2));
    let mut bob = join(&server, "bob", 0, STORING_ONCE).await;
    assert_eq!(bob.expect_event("chat message", "message 1, replayed").await, post(1, "alice", "before the crash"));
    assert_eq!(
        bob.expect_event("chat message", "message 2").await,
        post(2, "alice", "after"),
        "bob gets the log, each message once.\nRead: {STORING_ONCE}"
    );
}

// ---- The client ----------------------------------------------------------------------------------------------

/// The client program, connecting as `name` through `proxy`.
fn client_args(name: &str, proxy: &FaultProxy) -> Vec<String> {
    vec!["--name".into(), name.into(), "--url".into(), format!("http://{}", proxy.address())]
}

async fn run_client(name: &str, proxy: &FaultProxy, input: &str, section: Section) -> Finished {
    let args = client_args(name, proxy);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let finished = cli::run_to_end(&Program::new(CLIENT), &args, input, CLIENT_LIMIT, section).await;
    finished.assert_exit(0, "every line was acknowledged", section);
    finished
}

/// The `chat message`s the client sent through the proxy: each as `(text, clientOffset)`, retries included.
fn sent_by_client(proxy: &FaultProxy) -> Vec<(String, String)> {
    proxy
        .messages()
        .into_iter()
        .filter(|passed| passed.direction == Direction::ToServer)
        .filter_map(|passed| {
            let json = passed.text.strip_prefix("42")?;
            let json = json.trim_start_matches(|c: char| c.is_ascii_digit());
            let packet: Value = serde_json::from_str(json).ok()?;
            (packet[0] == "chat message").then(|| {
                let text = packet[1]["text"].as_str().unwrap_or_default().to_owned();
                (text, packet[1]["clientOffset"].as_str().unwrap_or("(none)").to_owned())
            })
        })
        .collect()
}

/// What the reader gets next: `count` messages, as `(offset, text)`.
async fn read_log(reader: &mut SioClient, count: u64) -> Vec<(u64, String)> {
    let mut got = Vec::new();
    for n in 1..=count {
        let message = reader.expect_event("chat message", &format!("message {n} of {count} in the log")).await;
        got.push((message["offset"].as_u64().unwrap_or_default(), message["text"].as_str().unwrap_or("").to_owned()));
    }
    got
}

fn numbered(lines: &[&str]) -> Vec<(u64, String)> {
    lines.iter().zip(1..).map(|(line, offset)| (offset, (*line).to_owned())).collect()
}

/// The lines of the client's output that show a message from `name`.
fn shown(finished: &[String], name: &str) -> Vec<String> {
    let prefix = format!("{name}: ");
    finished.iter().filter(|line| line.starts_with(&prefix)).cloned().collect()
}

fn stdout_lines(finished: &Finished) -> Vec<String> {
    finished.stdout.lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn each_line_gets_its_own_client_offset_and_arrives_in_order() {
    let server = start(OUTBOX).await;
    let proxy = FaultProxy::start(server.address()).await;
    let mut reader = join(&server, "reader", 0, OUTBOX).await;
    let lines = ["one", "two", "three", "four", "five"];
    let finished = run_client("bob", &proxy, &format!("{}\n", lines.join("\n")), OUTBOX).await;

    let sent = sent_by_client(&proxy);
    let texts: Vec<&str> = sent.iter().map(|(text, _)| text.as_str()).collect();
    assert_eq!(texts, lines, "nothing was lost here: each line is sent once, in order.\nRead: {OUTBOX}");
    let first = &sent[0].1;
    let id = first.strip_suffix(":1").unwrap_or_else(|| {
        panic!("a client offset is this run's client id, a colon and the line's number; the first was {first:?}.\nRead: {OUTBOX}")
    });
    for (n, (text, client_offset)) in sent.iter().enumerate() {
        assert_eq!(
            client_offset,
            &format!("{id}:{}", n + 1),
            "the line {text:?} should have the client offset {id}:{}.\nRead: {OUTBOX}",
            n + 1
        );
    }
    assert_eq!(read_log(&mut reader, 5).await, numbered(&lines), "the log, as another client reads it");
    let expected: Vec<String> = lines.iter().map(|line| format!("bob: {line}")).collect();
    assert_eq!(
        shown(&stdout_lines(&finished), "bob"),
        expected,
        "the client shows its own messages as the server sends them back, once each.\n{}\nRead: {OUTBOX}",
        finished.transcript()
    );
}

/// An acknowledgement (`43...`) that carries `"offset": N`.
fn ack_of(offset: u64) -> impl Fn(&str) -> bool + Send + Sync + 'static {
    move |text: &str| text.starts_with("43") && text.contains(&format!("\"offset\":{offset}}}"))
}

/// A `chat message` event that carries the text `line`.
fn message_with(line: &'static str) -> impl Fn(&str) -> bool + Send + Sync + 'static {
    move |text: &str| {
        text.starts_with("42") && text.contains("\"chat message\"") && text.contains(&format!("\"{line}\""))
    }
}

#[tokio::test]
async fn a_lost_acknowledgement_is_answered_by_sending_the_same_message_again() {
    let server = start(RETRYING).await;
    let proxy = FaultProxy::start(server.address()).await;
    let mut reader = join(&server, "reader", 0, RETRYING).await;
    // The server stores "first" and acknowledges it; the acknowledgement never reaches the client.
    proxy.on(Direction::ToClient, 1, Fault::Swallow, ack_of(1));
    let lines = ["first", "second", "third"];
    let finished = run_client("bob", &proxy, "first\nsecond\nthird\n", RETRYING).await;
    assert_eq!(proxy.faults_to_come(), 0, "the test swallowed the acknowledgement of \"first\"");

    let sent = sent_by_client(&proxy);
    let tries: Vec<&(String, String)> = sent.iter().filter(|(text, _)| text == "first").collect();
    assert!(
        tries.len() >= 2 && tries.iter().all(|(_, client_offset)| *client_offset == tries[0].1),
        "with no acknowledgement, the client sends \"first\" again, with the same client offset; it sent {sent:?}.\n\
         Read: {RETRYING}"
    );
    assert_eq!(
        read_log(&mut reader, 3).await,
        numbered(&lines),
        "the log has each line once, in order: the server knew the second \"first\".\nRead: {RETRYING}"
    );
    let expected: Vec<String> = lines.iter().map(|line| format!("bob: {line}")).collect();
    assert_eq!(shown(&stdout_lines(&finished), "bob"), expected, "{}\nRead: {RETRYING}", finished.transcript());
}

#[tokio::test]
async fn lines_sent_through_broken_connections_all_arrive_once_and_in_order() {
    let server = start(RETRYING).await;
    let proxy = FaultProxy::start(server.address()).await;
    let mut reader = join(&server, "reader", 0, RETRYING).await;
    // Line 2 dies on its way to the server; line 4 is stored, and the connection dies with its acknowledgement;
    // line 6 is stored, and its acknowledgement is swallowed.
    proxy.on(Direction::ToServer, 1, Fault::SwallowAndCut, message_with("line 2"));
    proxy.on(Direction::ToClient, 1, Fault::SwallowAndCut, ack_of(4));
    proxy.on(Direction::ToClient, 1, Fault::Swallow, ack_of(6));
    let lines = ["line 1", "line 2", "line 3", "line 4", "line 5", "line 6", "line 7", "line 8"];
    let finished = run_client("bob", &proxy, &format!("{}\n", lines.join("\n")), RETRYING).await;
    assert_eq!(proxy.faults_to_come(), 0, "the test broke the connection twice and swallowed an acknowledgement");
    assert!(proxy.connections() >= 3, "the client reconnected after each cut");

    assert_eq!(
        read_log(&mut reader, 8).await,
        numbered(&lines),
        "every line arrives, once, in order, through two broken connections and a lost acknowledgement.\n\
         Read: {RETRYING}"
    );
    let expected: Vec<String> = lines.iter().map(|line| format!("bob: {line}")).collect();
    assert_eq!(
        shown(&stdout_lines(&finished), "bob"),
        expected,
        "the client shows each of its messages once, whatever was replayed after a reconnection.\n{}\n\
         Read: {COMING_BACK}",
        finished.transcript()
    );
}

#[tokio::test]
async fn a_client_that_was_cut_off_shows_what_it_missed_and_nothing_twice() {
    let server = start(COMING_BACK).await;
    let proxy = FaultProxy::start(server.address()).await;
    let alice = join(&server, "alice", 0, COMING_BACK).await;
    let args = client_args("bob", &proxy);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut bob = Running::start(&Program::new(CLIENT), &args);
    bob.expect_line("connected to", COMING_BACK).await;

    // The server sends "hello" to bob; the proxy passes it on twice.
    proxy.on(Direction::ToClient, 1, Fault::Repeat, message_with("hello"));
    assert_eq!(send(&alice, "hello", "a:1").await, stored(1));
    assert_eq!(bob.expect_line("alice's hello", COMING_BACK).await, "alice: hello");

    // bob's network goes down; alice carries on.
    proxy.refuse(true);
    proxy.cut();
    assert_eq!(send(&alice, "while you were away", "a:2").await, stored(2));
    assert_eq!(send(&alice, "still away?", "a:3").await, stored(3));
    proxy.refuse(false);

    // bob types: his client finds the connection gone, reconnects, is caught up, and sends.
    bob.send_line("back", COMING_BACK).await;
    let mut got = Vec::new();
    while got.last().map(String::as_str) != Some("bob: back") && got.len() < 6 {
        got.push(bob.expect_line("what bob missed, then his own message", COMING_BACK).await);
    }
    assert_eq!(
        got,
        ["alice: while you were away", "alice: still away?", "bob: back"],
        "after the outage bob's client shows what he missed, then his message, and not alice's \"hello\" again \
         (it came twice, and was shown once).\nRead: {COMING_BACK}"
    );
    let finished = bob.finish(COMING_BACK).await;
    finished.assert_exit(0, "the input ended and every line was answered", COMING_BACK);
    assert_eq!(
        shown(&stdout_lines(&finished), "alice"),
        ["alice: hello", "alice: while you were away", "alice: still away?"],
        "bob's client shows each of alice's messages once.\n{}\nRead: {COMING_BACK}",
        finished.transcript()
    );
}
