//! Chapter 9's graded tests: `cargo test -p ex09-server-delivery`.
//!
//! Each test starts your program (the one `cargo run -p ex09-server-delivery` runs) on a free port, with its
//! log in memory (`--db :memory:`) or in a file of its own, and connects Socket.IO clients. A client reads what
//! arrives in order, so "bob's next three messages are 3, 4 and 5" proves that nothing came in between, and
//! nothing twice.

// The reference solution runs these very tests, against its own program. You never need to turn its
// `solution` feature on.
#[cfg(not(feature = "solution"))]
const PROGRAM: &str = env!("CARGO_BIN_EXE_ex09-server-delivery");
#[cfg(feature = "solution")]
const PROGRAM: &str = env!("CARGO_BIN_EXE_sol09-server-delivery");

use std::path::Path;

use serde_json::{Value, json};
use testkit::eio::{Packet, PollingClient};
use testkit::sio::{self, Options, SioClient};
use testkit::{Chapter, Section, Server, join_all};

const CHAPTER: Chapter = Chapter { number: 9, title: "Server delivery", page: "book/src/09-server-delivery.md" };
const DURABLE: Section = CHAPTER.section("A durable log");
const OFFSETS: Section = CHAPTER.section("Offsets");
const IN_ORDER: Section = CHAPTER.section("Appending in order");
const CATCHING_UP: Section = CHAPTER.section("Catching up");
const FALLING_BEHIND: Section = CHAPTER.section("Falling behind");

/// The program with its log in memory: for the tests where surviving a restart is not the point.
async fn start(section: Section) -> Server {
    Server::start_with(PROGRAM, &["--db", ":memory:"], &[], section).await
}

/// The program with its log in the file `chat.db` of `folder`.
async fn start_on_file(folder: &Path, section: Section) -> Server {
    let database = folder.join("chat.db");
    let database = database.to_str().expect("the temporary folder's path is UTF-8");
    Server::start_with(PROGRAM, &["--db", database], &[folder], section).await
}

fn auth(name: &str, server_offset: Option<u64>) -> Value {
    match server_offset {
        Some(offset) => json!({ "name": name, "serverOffset": offset }),
        None => json!({ "name": name }),
    }
}

/// Connects a client called `name` that has seen the log up to `server_offset` (nothing, if `None`).
async fn join(server: &Server, name: &str, server_offset: Option<u64>, section: Section) -> SioClient {
    let options = Options { auth: Some(auth(name, server_offset)), ..Options::default() };
    sio::connect_with(server.address(), options, section).await
}

/// Sends a message and returns the offset its acknowledgement gives it.
async fn send(client: &SioClient, text: &str, section: Section) -> u64 {
    let ack = client.emit_with_ack("chat message", json!({ "text": text })).await;
    match (ack["ok"].as_bool(), ack["offset"].as_u64()) {
        (Some(true), Some(offset)) => offset,
        _ => panic!(
            "`chat message` {{\"text\": {text:?}}} should be acknowledged with {{\"ok\": true, \"offset\": N}} once \
             it is in the log; the acknowledgement was {ack}.\nRead: {section}"
        ),
    }
}

/// A message as the server sends it, live or replayed.
fn post(offset: u64, name: &str, text: &str) -> Value {
    json!({ "offset": offset, "name": name, "text": text })
}

/// The next `chat message` the client gets; anything else fails the test.
async fn next_post(client: &mut SioClient, what: &str) -> Value {
    client.expect_event("chat message", what).await
}

/// The offsets of the next `count` messages the client gets, in the order they came.
async fn next_offsets(client: &mut SioClient, count: u64, whose: &str) -> Vec<u64> {
    let mut offsets = Vec::new();
    for n in 1..=count {
        let message = next_post(client, &format!("message {n} of {count} that {whose} should get")).await;
        offsets.push(message["offset"].as_u64().unwrap_or_default());
    }
    offsets
}

/// Fails unless `got` is exactly `first..=last`: every offset, in order, once.
fn assert_exactly(got: &[u64], first: u64, last: u64, who: &str, section: Section) {
    let expected: Vec<u64> = (first..=last).collect();
    if got != expected {
        let gap = expected.iter().find(|offset| !got.contains(offset));
        let repeat = got.iter().enumerate().find(|(at, offset)| got[..*at].contains(offset)).map(|(_, offset)| offset);
        let disorder = got.windows(2).find(|pair| pair[0] > pair[1]);
        panic!(
            "{who} should have got the offsets {first} to {last}, each once and in order; got {} messages \
             ({}{}{}).\nRead: {section}",
            got.len(),
            gap.map(|offset| format!("{offset} is missing; ")).unwrap_or_default(),
            repeat.map(|offset| format!("{offset} came twice; ")).unwrap_or_default(),
            disorder.map(|pair| format!("{} came before {}", pair[0], pair[1])).unwrap_or_default(),
        );
    }
}

/// Writes `count` messages from `name` into a new log file in `folder`, before any server runs.
async fn history(folder: &Path, name: &str, count: usize) {
    let store = store::Store::open(folder.join("chat.db")).expect("the test can create a log");
    let texts: Vec<String> = (1..=count).map(|n| format!("history {n}")).collect();
    let entries: Vec<store::Entry> =
        texts.iter().map(|text| store::Entry { room: "lobby", name, text, client_offset: None }).collect();
    store.append_all(&entries).await.expect("the test can fill a log");
}

#[tokio::test]
async fn each_message_is_sent_to_everyone_with_the_next_offset() {
    let server = start(OFFSETS).await;
    let mut alice = join(&server, "alice", None, OFFSETS).await;
    let mut bob = join(&server, "bob", None, OFFSETS).await;
    for (n, text) in [(1, "one"), (2, "two"), (3, "three")] {
        let offset = send(&alice, text, OFFSETS).await;
        assert_eq!(
            offset, n,
            "the first message ever stored has offset 1, and each next one the next number; {text:?} got \
             {offset}.\nRead: {OFFSETS}"
        );
    }
    for (client, who) in [(&mut bob, "bob"), (&mut alice, "alice, the sender herself,")] {
        for (n, text) in [(1, "one"), (2, "two"), (3, "three")] {
            let message = next_post(client, &format!("alice's message {text:?}, as {who} gets it")).await;
            assert_eq!(
                message,
                post(n, "alice", text),
                "{who} should get every message of the log with its offset, in order.\nRead: {OFFSETS}"
            );
        }
    }
    assert_eq!(send(&bob, "four", OFFSETS).await, 4);
    assert_eq!(next_post(&mut alice, "bob's message").await, post(4, "bob", "four"));
}

#[tokio::test]
async fn messages_sent_at_once_by_many_arrive_in_the_order_of_their_offsets() {
    let server = start(IN_ORDER).await;
    let mut reader = join(&server, "reader", None, IN_ORDER).await;
    let mut senders = Vec::new();
    for n in 0..8 {
        senders.push(join(&server, &format!("sender{n}"), None, IN_ORDER).await);
    }
    // Eight clients send ten messages each, all at the same time.
    let sending = senders.iter().enumerate().map(|(n, sender)| async move {
        let mut offsets = Vec::new();
        for k in 0..10 {
            offsets.push((send(sender, &format!("{n}.{k}"), IN_ORDER).await, format!("{n}.{k}")));
        }
        offsets
    });
    let acknowledged: Vec<(u64, String)> = join_all(sending).await.into_iter().flatten().collect();
    let mut got = Vec::new();
    for n in 1..=80 {
        let message = next_post(&mut reader, &format!("message {n} of the 80 sent at once")).await;
        let offset = message["offset"].as_u64().unwrap_or_default();
        let text = message["text"].as_str().unwrap_or_default().to_owned();
        let acked = acknowledged.iter().find(|(_, sent)| *sent == text).map(|(offset, _)| *offset);
        assert_eq!(
            acked,
            Some(offset),
            "the message {text:?} came with offset {offset}, but its sender's acknowledgement said {acked:?}: one \
             message, one offset.\nRead: {IN_ORDER}"
        );
        got.push(offset);
    }
    assert_exactly(&got, 1, 80, "a client reading while eight others send at once", IN_ORDER);
}

#[tokio::test]
async fn a_newcomer_gets_the_whole_log_in_order_and_then_what_is_new() {
    let server = start(CATCHING_UP).await;
    let alice = join(&server, "alice", None, CATCHING_UP).await;
    for n in 1..=5 {
        send(&alice, &format!("early {n}"), CATCHING_UP).await;
    }
    let mut carol = join(&server, "carol", None, CATCHING_UP).await;
    for n in 1..=5 {
        let message = next_post(&mut carol, &format!("message {n} of the log, replayed to a newcomer")).await;
        assert_eq!(
            message,
            post(n, "alice", &format!("early {n}")),
            "a client that connects without a serverOffset has seen nothing: it gets the whole log, oldest first.\n\
             Read: {CATCHING_UP}"
        );
    }
    send(&alice, "new", CATCHING_UP).await;
    assert_eq!(
        next_post(&mut carol, "the message sent after carol caught up").await,
        post(6, "alice", "new"),
        "once caught up, a client gets each new message as it is sent.\nRead: {CATCHING_UP}"
    );
}

#[tokio::test]
async fn a_client_that_comes_back_gets_exactly_what_it_missed() {
    let server = start(CATCHING_UP).await;
    let alice = join(&server, "alice", None, CATCHING_UP).await;
    let mut bob = join(&server, "bob", None, CATCHING_UP).await;
    send(&alice, "before 1", CATCHING_UP).await;
    send(&alice, "before 2", CATCHING_UP).await;
    assert_eq!(next_offsets(&mut bob, 2, "bob").await, [1, 2]);
    bob.disconnect().await;

    for n in 3..=5 {
        send(&alice, &format!("while bob was away {n}"), CATCHING_UP).await;
    }
    let mut bob = join(&server, "bob", Some(2), CATCHING_UP).await;
    for n in 3..=5 {
        assert_eq!(
            next_post(&mut bob, &format!("message {n}, which bob missed")).await,
            post(n, "alice", &format!("while bob was away {n}")),
            "bob reconnected with serverOffset 2: he gets 3, 4 and 5, the messages he missed, in order, and not \
             1 or 2 again.\nRead: {CATCHING_UP}"
        );
    }
    send(&alice, "after", CATCHING_UP).await;
    assert_eq!(
        next_post(&mut bob, "the message sent after bob caught up").await,
        post(6, "alice", "after"),
        "after what he missed, bob gets what is new, and nothing else.\nRead: {CATCHING_UP}"
    );

    // A client that has seen everything gets nothing until something new comes.
    let mut carol = join(&server, "carol", Some(6), CATCHING_UP).await;
    send(&alice, "newest", CATCHING_UP).await;
    assert_eq!(
        next_post(&mut carol, "the first message after serverOffset 6").await,
        post(7, "alice", "newest"),
        "carol connected with serverOffset 6, the newest offset: there was nothing to replay.\nRead: {CATCHING_UP}"
    );
}

#[tokio::test]
async fn clients_catching_up_while_others_send_miss_nothing_and_get_nothing_twice() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    history(folder.path(), "history", 1000).await;
    let server = start_on_file(folder.path(), CATCHING_UP).await;
    // The senders have seen the history already: they are not replayed it.
    let mut senders = Vec::new();
    for n in 0..5 {
        senders.push(join(&server, &format!("sender{n}"), Some(1000), CATCHING_UP).await);
    }

    // Eight clients connect from eight offsets while five others send ten messages each: their catching up
    // and the new messages overlap.
    let starts = [0, 200, 400, 600, 800, 990, 995, 1000];
    let readers = starts.map(|offset| {
        let address = server.address();
        async move {
            let options = Options { auth: Some(auth(&format!("reader{offset}"), Some(offset))), ..Options::default() };
            let mut reader = sio::connect_with(address, options, CATCHING_UP).await;
            let got = next_offsets(&mut reader, 1050 - offset, &format!("the reader from offset {offset}")).await;
            (offset, got)
        }
    });
    let sending = join_all(senders.iter().enumerate().map(|(n, sender)| async move {
        for k in 1..=10 {
            send(sender, &format!("live {n}.{k}"), CATCHING_UP).await;
        }
    }));
    let (results, _) = tokio::join!(join_all(readers), sending);
    for (offset, got) in results {
        let who = format!("a client that connected with serverOffset {offset} while others sent 50 messages");
        assert_exactly(&got, offset + 1, 1050, &who, CATCHING_UP);
    }
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_when_the_server_is_killed() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let mut server = start_on_file(folder.path(), DURABLE).await;
    let alice = join(&server, "alice", None, DURABLE).await;
    for n in 1..=5 {
        send(&alice, &format!("kept {n}"), DURABLE).await;
    }
    drop(alice);
    // SIGKILL: no clean shutdown, as in a crash or a power cut. Every message acknowledged before it is on disk.
    server.restart().await;

    let mut bob = join(&server, "bob", None, DURABLE).await;
    for n in 1..=5 {
        assert_eq!(
            next_post(&mut bob, &format!("message {n}, acknowledged before the server was killed")).await,
            post(n, "alice", &format!("kept {n}")),
            "the server was killed (SIGKILL) and started again on the same database file: every message it had \
             acknowledged is still in the log.\nRead: {DURABLE}"
        );
    }
    assert_eq!(
        send(&bob, "after the restart", DURABLE).await,
        6,
        "the log goes on from where it was: an offset is never handed out twice.\nRead: {DURABLE}"
    );
}

/// Reads a polling client's next `chat message` packets until the one with offset `last`; their offsets.
async fn drain(client: &mut PollingClient, last: u64, who: &str) -> Vec<u64> {
    let mut offsets = Vec::new();
    while offsets.last() != Some(&last) && offsets.len() < 2 * last as usize {
        let what = format!("the messages up to offset {last}, as {who} reads again");
        match client.next_packet(&what).await {
            Packet::Event(event) if event[0] == "chat message" => {
                offsets.push(event[1]["offset"].as_u64().unwrap_or_default());
            }
            other => panic!("{who} should get `chat message` events only; got {other:?}.\nRead: {FALLING_BEHIND}"),
        }
    }
    offsets
}

#[tokio::test]
async fn a_client_that_stops_reading_misses_nothing_once_it_reads_again() {
    let server = start(FALLING_BEHIND).await;
    let alice = join(&server, "alice", None, FALLING_BEHIND).await;
    // A long-polling client gets nothing unless it asks: between two of its GETs, everything the server sends
    // it waits in its socket's buffer, which holds 128 packets.
    let mut slow = PollingClient::connect(server.address(), Some(auth("slow", None)), FALLING_BEHIND).await;
    send(&alice, "first", FALLING_BEHIND).await;
    assert_eq!(drain(&mut slow, 1, "the slow client").await, [1]);

    // 150 messages while it does not read: more than its buffer holds. (Fifteen senders, as each may send ten
    // at once before the rate limit slows it.)
    let mut senders = Vec::new();
    for n in 0..15 {
        senders.push(join(&server, &format!("sender{n}"), None, FALLING_BEHIND).await);
    }
    join_all(senders.iter().map(|sender| async move {
        for k in 0..10 {
            send(sender, &format!("burst {k}"), FALLING_BEHIND).await;
        }
    }))
    .await;

    let got = drain(&mut slow, 151, "the slow client").await;
    assert_exactly(&got, 2, 151, "a client that read nothing while 150 messages were sent", FALLING_BEHIND);

    // A newcomer that does not read while its history (151 messages) is replayed: the same.
    let mut late = PollingClient::connect(server.address(), Some(auth("late", Some(0))), FALLING_BEHIND).await;
    send(&alice, "last", FALLING_BEHIND).await;
    let got = drain(&mut late, 152, "a newcomer that did not read while it was being caught up").await;
    assert_exactly(&got, 1, 152, "a newcomer that did not read while it was being caught up", FALLING_BEHIND);
}
