//! Chapter 11's graded tests: `cargo test -p ex11-scaling-out`.
//!
//! Each test starts a private `redis-server` of its own and several nodes of your program (two or three
//! processes, each on its own port), sharing one database file and that Redis, then connects Socket.IO clients
//! to different nodes. A node can be killed (SIGKILL), and so can Redis.
//!
//! The tests need `redis-server` (`apt-get install redis-server`). Without it they are reported as skipped,
//! by name, with that command: this file uses the kit's own test harness for that, so each test is a plain
//! function that the list at the bottom of the file names.

// The reference solution runs these very tests, against its own program.
#[cfg(not(feature = "solution"))]
const PROGRAM: &str = env!("CARGO_BIN_EXE_ex11-scaling-out");
#[cfg(feature = "solution")]
const PROGRAM: &str = env!("CARGO_BIN_EXE_sol11-scaling-out");

use std::future::Future;
use std::process::ExitCode;

use harness::{Check, Need};
use serde_json::{Value, json};
use testkit::redis::RedisServer;
use testkit::sio::{self, Options, Received, SioClient};
use testkit::{Chapter, Section, Server, join_all};

const CHAPTER: Chapter = Chapter { number: 11, title: "Scaling out", page: "book/src/11-scaling-out.md" };
const FOLLOWING: Section = CHAPTER.section("Following the log");
const CATCHING_UP: Section = CHAPTER.section("Catching up on any node");
const PRESENCE: Section = CHAPTER.section("Presence on every node");
const NODE_DIES: Section = CHAPTER.section("When a node dies");
const REDIS_GOES: Section = CHAPTER.section("When Redis goes away");

/// Several nodes of the program on one Redis and one database file.
struct Cluster {
    redis: RedisServer,
    nodes: Vec<Server>,
    /// Holds the database file; removed at the end of the test.
    _folder: tempfile::TempDir,
}

impl Cluster {
    /// Starts Redis and `count` nodes. `test` names this test's channels on Redis (its key prefix).
    async fn start(count: usize, test: &str, section: Section) -> Cluster {
        let redis = RedisServer::start(section).await;
        let folder = tempfile::tempdir().expect("a temporary folder");
        let database = folder.path().join("chat.db");
        let database = database.to_str().expect("the temporary folder's path is UTF-8").to_owned();
        let url = redis.url();
        let args = ["--db", database.as_str(), "--redis", url.as_str(), "--redis-prefix", test];
        let mut nodes = Vec::new();
        for _ in 0..count {
            nodes.push(Server::start_with(PROGRAM, &args, &[folder.path()], section).await);
        }
        Cluster { redis, nodes, _folder: folder }
    }

    fn node(&self, index: usize) -> &Server {
        &self.nodes[index]
    }
}

async fn join(node: &Server, name: &str, server_offset: u64, section: Section) -> SioClient {
    let auth = json!({ "name": name, "serverOffset": server_offset });
    sio::connect_with(node.address(), Options { auth: Some(auth), ..Options::default() }, section).await
}

/// Connects `name` and reads the `online` list that greets it.
///
/// Someone else's `user joined` or `user left` may come first: it was broadcast before `name` connected,
/// but this node took it from Redis after (pub/sub is not instant), and `name` was in the lobby by then.
/// A notice about `name` itself is still a mistake: `socket.broadcast()` leaves the sender out.
async fn join_and_greet(node: &Server, name: &str, server_offset: u64, section: Section) -> (SioClient, Value) {
    let mut client = join(node, name, server_offset, section).await;
    let what = format!("the `online` list, as {name} connects");
    loop {
        let received = client.next_event(&what).await;
        let about = received.data["name"].as_str();
        match received.event.as_str() {
            "online" => return (client, received.data),
            "user joined" | "user left" if about != Some(name) => continue,
            _ => panic!(
                "waited for {what} (event \"online\") but the next event was {:?} with {}.\nRead: {section}",
                received.event, received.data
            ),
        }
    }
}

async fn send(client: &SioClient, text: &str, client_offset: &str, section: Section) -> u64 {
    let ack = client.emit_with_ack("chat message", json!({ "text": text, "clientOffset": client_offset })).await;
    match (ack["ok"].as_bool(), ack["offset"].as_u64()) {
        (Some(true), Some(offset)) => offset,
        _ => panic!("`chat message` {text:?} should be acknowledged with its offset; it was {ack}.\nRead: {section}"),
    }
}

fn post(offset: u64, name: &str, text: &str) -> Value {
    json!({ "offset": offset, "name": name, "text": text })
}

/// The next event that is not a presence notice (`online`, `user joined`, `user left`).
async fn next_message(client: &mut SioClient, what: &str) -> Received {
    loop {
        let received = client.next_event(what).await;
        if !matches!(received.event.as_str(), "online" | "user joined" | "user left") {
            return received;
        }
    }
}

async fn next_post(client: &mut SioClient, what: &str, section: Section) -> Value {
    let received = next_message(client, what).await;
    assert_eq!(
        received.event, "chat message",
        "waited for {what}, a `chat message`; got {:?} {}.\nRead: {section}",
        received.event, received.data
    );
    received.data
}

/// The offsets of the next `count` messages, in the order they came.
async fn next_offsets(client: &mut SioClient, count: u64, whose: &str, section: Section) -> Vec<u64> {
    let mut offsets = Vec::new();
    for n in 1..=count {
        let message = next_post(client, &format!("message {n} of {count} that {whose} should get"), section).await;
        offsets.push(message["offset"].as_u64().unwrap_or_default());
    }
    offsets
}

fn assert_exactly(got: &[u64], first: u64, last: u64, who: &str, section: Section) {
    let expected: Vec<u64> = (first..=last).collect();
    assert_eq!(
        got, expected,
        "{who} should have got the offsets {first} to {last}, each once and in order.\nRead: {section}"
    );
}

// ---- The tests -------------------------------------------------------------------------------------------------

async fn a_message_sent_to_one_node_reaches_clients_on_every_node() {
    let cluster = Cluster::start(3, "reaches-every-node", FOLLOWING).await;
    let alice = join(cluster.node(0), "alice", 0, FOLLOWING).await;
    let mut bob = join(cluster.node(1), "bob", 0, FOLLOWING).await;
    let mut carol = join(cluster.node(2), "carol", 0, FOLLOWING).await;
    let mut alice = alice;
    assert_eq!(send(&alice, "hello from node A", "a:1", FOLLOWING).await, 1);
    for (client, who) in
        [(&mut alice, "alice, on node A"), (&mut bob, "bob, on node B"), (&mut carol, "carol, on node C")]
    {
        assert_eq!(
            next_post(client, &format!("alice's message, as {who} gets it"), FOLLOWING).await,
            post(1, "alice", "hello from node A"),
            "a message appended by node A is delivered by every node to its own clients: {who} should get it.\n\
             Read: {FOLLOWING}"
        );
    }
    assert_eq!(send(&carol, "and back from C", "c:1", FOLLOWING).await, 2);
    for (client, who) in [(&mut alice, "alice"), (&mut bob, "bob")] {
        assert_eq!(
            next_post(client, &format!("carol's message, as {who} gets it"), FOLLOWING).await,
            post(2, "carol", "and back from C")
        );
    }
}

async fn messages_sent_on_every_node_arrive_everywhere_in_the_order_of_the_log() {
    let cluster = Cluster::start(3, "one-order", FOLLOWING).await;
    let mut readers = Vec::new();
    let mut senders = Vec::new();
    for node in 0..3 {
        readers.push(join(cluster.node(node), &format!("reader{node}"), 0, FOLLOWING).await);
        senders.push(join(cluster.node(node), &format!("sender{node}"), 0, FOLLOWING).await);
    }
    // Three senders, one on each node, eight messages each, all at once.
    let sending = senders.iter().enumerate().map(|(node, sender)| async move {
        let mut acknowledged = Vec::new();
        for k in 1..=8 {
            let text = format!("{node}.{k}");
            acknowledged.push((send(sender, &text, &text, FOLLOWING).await, text));
        }
        acknowledged
    });
    let acknowledged: Vec<(u64, String)> = join_all(sending).await.into_iter().flatten().collect();
    let mut logs = Vec::new();
    for (node, reader) in readers.iter_mut().enumerate() {
        let mut log = Vec::new();
        for n in 1..=24 {
            let message = next_post(reader, &format!("message {n} of 24, on node {node}"), FOLLOWING).await;
            log.push((
                message["offset"].as_u64().unwrap_or_default(),
                message["text"].as_str().unwrap_or("").to_owned(),
            ));
        }
        let offsets: Vec<u64> = log.iter().map(|(offset, _)| *offset).collect();
        assert_exactly(&offsets, 1, 24, &format!("a reader on node {node}"), FOLLOWING);
        for (offset, text) in &log {
            assert!(
                acknowledged.contains(&(*offset, text.clone())),
                "node {node} sent {text:?} with offset {offset}, which is not the offset its sender was given.\n\
                 Read: {FOLLOWING}"
            );
        }
        logs.push(log);
    }
    assert!(logs.windows(2).all(|pair| pair[0] == pair[1]), "every node delivers the same log.\nRead: {FOLLOWING}");
}

async fn a_client_that_comes_back_on_another_node_gets_exactly_what_it_missed() {
    let cluster = Cluster::start(3, "back-elsewhere", CATCHING_UP).await;
    let alice = join(cluster.node(2), "alice", 0, CATCHING_UP).await;
    let mut bob = join(cluster.node(0), "bob", 0, CATCHING_UP).await;
    send(&alice, "one", "a:1", CATCHING_UP).await;
    send(&alice, "two", "a:2", CATCHING_UP).await;
    assert_eq!(next_offsets(&mut bob, 2, "bob, on node A", CATCHING_UP).await, [1, 2]);
    bob.disconnect().await;

    for n in 3..=5 {
        send(&alice, &format!("while bob was away {n}"), &format!("a:{n}"), CATCHING_UP).await;
    }
    let mut bob = join(cluster.node(1), "bob", 2, CATCHING_UP).await;
    for n in 3..=5 {
        assert_eq!(
            next_post(&mut bob, &format!("message {n}, which bob missed"), CATCHING_UP).await,
            post(n, "alice", &format!("while bob was away {n}")),
            "bob came back on node B with serverOffset 2: he gets 3, 4 and 5, in order, and nothing else.\n\
             Read: {CATCHING_UP}"
        );
    }
    send(&alice, "after", "a:6", CATCHING_UP).await;
    assert_eq!(
        next_post(&mut bob, "the message sent after bob caught up", CATCHING_UP).await,
        post(6, "alice", "after")
    );

    // Clients catching up on node B while others send on nodes A and C: no gap, no repeat.
    let senders =
        [join(cluster.node(0), "s0", 6, CATCHING_UP).await, join(cluster.node(2), "s2", 6, CATCHING_UP).await];
    let readers = [0, 3, 6].map(|offset| {
        let address = cluster.node(1).address();
        async move {
            let auth = json!({ "name": format!("reader{offset}"), "serverOffset": offset });
            let mut reader =
                sio::connect_with(address, Options { auth: Some(auth), ..Options::default() }, CATCHING_UP).await;
            (
                offset,
                next_offsets(&mut reader, 26 - offset, &format!("the reader from offset {offset}"), CATCHING_UP).await,
            )
        }
    });
    let sending = join_all(senders.iter().enumerate().map(|(index, sender)| async move {
        for k in 1..=10 {
            let text = format!("s{index}.{k}");
            send(sender, &text, &text, CATCHING_UP).await;
        }
    }));
    let (results, _) = tokio::join!(join_all(readers), sending);
    for (offset, got) in results {
        let who = format!("a client that connected to node B with serverOffset {offset} while nodes A and C sent");
        assert_exactly(&got, offset + 1, 26, &who, CATCHING_UP);
    }
}

async fn who_is_online_and_private_messages_reach_across_nodes() {
    let cluster = Cluster::start(2, "presence", PRESENCE).await;
    let (mut alice, online) = join_and_greet(cluster.node(0), "alice", 0, PRESENCE).await;
    assert_eq!(online, json!({ "names": ["alice"] }));
    let (mut bob, online) = join_and_greet(cluster.node(1), "bob", 0, PRESENCE).await;
    assert_eq!(
        online,
        json!({ "names": ["alice", "bob"] }),
        "bob, on node B, is told who is online on every node: alice is on node A.\nRead: {PRESENCE}"
    );
    let joined = alice.expect_event("user joined", "bob's arrival, announced across nodes").await;
    assert_eq!(
        joined,
        json!({ "name": "bob" }),
        "alice, on node A, hears that bob joined on node B.\nRead: {PRESENCE}"
    );

    let ack = alice.emit_with_ack("private message", json!({ "to": "Bob", "text": "psst" })).await;
    assert_eq!(ack, json!({ "ok": true }), "a private message to someone on another node is sent.\nRead: {PRESENCE}");
    let whisper = next_message(&mut bob, "alice's private message, on node B").await;
    assert_eq!((whisper.event.as_str(), whisper.data), ("private message", json!({ "from": "alice", "text": "psst" })));
    let ack = alice.emit_with_ack("private message", json!({ "to": "nobody", "text": "hello?" })).await;
    assert_eq!(
        ack,
        json!({ "ok": false, "error": "nobody is not online" }),
        "nobody of that name is on any node.\nRead: {PRESENCE}"
    );
    bob.disconnect().await;
    let left = alice.expect_event("user left", "bob's leaving, announced across nodes").await;
    assert_eq!(left, json!({ "name": "bob" }));
}

async fn a_node_that_dies_loses_nothing_and_its_clients_carry_on_elsewhere() {
    let mut cluster = Cluster::start(3, "node-dies", NODE_DIES).await;
    let alice = join(cluster.node(1), "alice", 0, NODE_DIES).await;
    let mut bob = join(cluster.node(0), "bob", 0, NODE_DIES).await;
    for n in 1..=3 {
        send(&alice, &format!("before {n}"), &format!("a:{n}"), NODE_DIES).await;
    }
    assert_eq!(next_offsets(&mut bob, 3, "bob, on node A", NODE_DIES).await, [1, 2, 3]);
    // carol, on node A, sends a message; it is acknowledged; then node A dies (SIGKILL).
    let carol = join(cluster.node(0), "carol", 3, NODE_DIES).await;
    assert_eq!(send(&carol, "last words from A", "c:1", NODE_DIES).await, 4);
    cluster.nodes[0].kill().await;
    drop((bob, carol));

    send(&alice, "after A died", "a:4", NODE_DIES).await;
    // bob's client reconnects to node C, with the offset it had: 3.
    let mut bob = join(cluster.node(2), "bob", 3, NODE_DIES).await;
    assert_eq!(
        next_post(&mut bob, "carol's message, acknowledged by node A before it died", NODE_DIES).await,
        post(4, "carol", "last words from A"),
        "a message node A acknowledged is in the shared log: node C gives it to bob.\nRead: {NODE_DIES}"
    );
    assert_eq!(
        next_post(&mut bob, "alice's message, sent after A died", NODE_DIES).await,
        post(5, "alice", "after A died")
    );
}

async fn the_chat_carries_on_while_redis_is_down_and_recovers_when_it_is_back() {
    let mut cluster = Cluster::start(2, "redis-restarts", REDIS_GOES).await;
    let (alice, _) = join_and_greet(cluster.node(0), "alice", 0, REDIS_GOES).await;
    let (mut bob, _) = join_and_greet(cluster.node(1), "bob", 0, REDIS_GOES).await;
    send(&alice, "before", "a:1", REDIS_GOES).await;
    assert_eq!(next_post(&mut bob, "alice's first message", REDIS_GOES).await, post(1, "alice", "before"));

    cluster.redis.kill().await;
    // Without Redis, the log still connects the nodes: node B finds alice's message at its next look.
    assert_eq!(send(&alice, "while Redis is down", "a:2", REDIS_GOES).await, 2);
    assert_eq!(
        next_post(&mut bob, "the message alice sent while Redis was down", REDIS_GOES).await,
        post(2, "alice", "while Redis is down"),
        "the nodes share the log, not only Redis: with Redis down, node B still delivers what node A \
         appended, only later.\nRead: {REDIS_GOES}"
    );

    cluster.redis.restart().await;
    // The nodes reconnect by themselves, and subscribe again: the adapter's channel for questions to every
    // node, and the log's doorbell, show when both have.
    for channel in ["redis-restarts-request#/#", "redis-restarts-log"] {
        let back = cluster.redis.wait_for_subscribers(channel, 2, std::time::Duration::from_secs(10)).await;
        assert!(
            back,
            "both nodes should reconnect to Redis and subscribe to {channel} again within 10 s of its restart"
        );
    }
    let ack = alice.emit_with_ack("private message", json!({ "to": "bob", "text": "back?" })).await;
    assert_eq!(
        ack,
        json!({ "ok": true }),
        "after Redis restarted, a private message crosses nodes again.\nRead: {REDIS_GOES}"
    );
    let whisper = next_message(&mut bob, "alice's private message, after Redis came back").await;
    assert_eq!(
        (whisper.event.as_str(), whisper.data),
        ("private message", json!({ "from": "alice", "text": "back?" }))
    );
    send(&alice, "after", "a:3", REDIS_GOES).await;
    assert_eq!(
        next_post(&mut bob, "alice's message after Redis came back", REDIS_GOES).await,
        post(3, "alice", "after")
    );
}

// ---- The list ----------------------------------------------------------------------------------------------------

const NEEDS: &[Need] = &[Need::Program("redis-server")];

/// One test: its own runtime on its own thread, as `#[tokio::test]` gives.
fn check<F: Future<Output = ()> + 'static>(name: &str, test: fn() -> F) -> Check {
    Check::new(name, NEEDS, move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime").block_on(test());
    })
}

fn main() -> ExitCode {
    harness::run(vec![
        check(
            "a_message_sent_to_one_node_reaches_clients_on_every_node",
            a_message_sent_to_one_node_reaches_clients_on_every_node,
        ),
        check(
            "messages_sent_on_every_node_arrive_everywhere_in_the_order_of_the_log",
            messages_sent_on_every_node_arrive_everywhere_in_the_order_of_the_log,
        ),
        check(
            "a_client_that_comes_back_on_another_node_gets_exactly_what_it_missed",
            a_client_that_comes_back_on_another_node_gets_exactly_what_it_missed,
        ),
        check(
            "who_is_online_and_private_messages_reach_across_nodes",
            who_is_online_and_private_messages_reach_across_nodes,
        ),
        check(
            "a_node_that_dies_loses_nothing_and_its_clients_carry_on_elsewhere",
            a_node_that_dies_loses_nothing_and_its_clients_carry_on_elsewhere,
        ),
        check(
            "the_chat_carries_on_while_redis_is_down_and_recovers_when_it_is_back",
            the_chat_carries_on_while_redis_is_down_and_recovers_when_it_is_back,
        ),
    ])
}
