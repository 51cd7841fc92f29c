//! The official JavaScript Socket.IO client, under node, against the chapters' reference solutions.
//!
//! Each check starts a solution's program on a free port, runs `js/client.mjs` (which imports the npm package
//! `socket.io-client`, pinned by the kit's package-lock.json) with one scenario and one choice of transports,
//! and compares what the script observed, line by line, with what the chapter's protocol promises. Every
//! scenario runs three times: with the client's default (long-polling, then the upgrade to WebSocket), over
//! long-polling only, and over WebSocket only; the script reports the transport in use, and the checks insist
//! it is the one asked for.
//!
//! Needs node and `npm ci`; without them every check is reported as skipped, by name (see `interop::harness`).

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Duration;

use harness::Check;
use harness::Need;
use interop::Served;
use interop::process::run_with_limit;
use serde_json::{Value, json};

const NEEDS: &[Need] = &[Need::Program("node"), Need::NpmPackage("socket.io-client")];

/// The script gives up after 10 s by itself; this is for a script (or node) that hangs all the same.
const NODE_LIMIT: Duration = Duration::from_secs(20);

fn main() -> ExitCode {
    // Each chapter's scenario, under all three choices of transports.
    let scenarios: [(&str, Scenario); 6] = [
        ("ch04::welcome_and_echo", welcome_and_echo),
        ("ch05::acknowledgements", acknowledgements),
        ("ch06::broadcast", broadcast),
        ("ch08::rooms", rooms),
        ("ch09::catching_up", catching_up),
        ("ch10::a_message_sent_again_is_stored_once", client_delivery),
    ];
    let mut checks = Vec::new();
    for (name, scenario) in scenarios {
        for transports in Transports::ALL {
            checks.push(Check::new(format!("{name}::{}", transports.name()), NEEDS, move || scenario(transports)));
        }
    }
    harness::run(checks)
}

/// A chapter's checks of what the script observed, under one choice of transports.
type Scenario = fn(Transports);

/// Which transports the client may use, as socket.io-client's `transports` option.
#[derive(Debug, Clone, Copy)]
enum Transports {
    /// `["polling", "websocket"]`, the default: connect over long-polling, then upgrade.
    PollingThenWebSocket,
    /// `["polling"]`.
    PollingOnly,
    /// `["websocket"]`.
    WebSocketOnly,
}

impl Transports {
    const ALL: [Transports; 3] = [Transports::PollingThenWebSocket, Transports::PollingOnly, Transports::WebSocketOnly];

    fn name(self) -> &'static str {
        match self {
            Transports::PollingThenWebSocket => "polling_then_websocket",
            Transports::PollingOnly => "polling_only",
            Transports::WebSocketOnly => "websocket_only",
        }
    }

    /// The script's command-line word for it.
    fn argument(self) -> &'static str {
        match self {
            Transports::PollingThenWebSocket => "upgrade",
            Transports::PollingOnly => "polling",
            Transports::WebSocketOnly => "websocket",
        }
    }

    /// The transport a client's connection opens over: Engine.IO starts with polling unless told otherwise.
    fn first(self) -> &'static str {
        match self {
            Transports::PollingThenWebSocket | Transports::PollingOnly => "polling",
            Transports::WebSocketOnly => "websocket",
        }
    }

    /// The transport in use at the end of a scenario.
    fn last(self) -> &'static str {
        match self {
            Transports::PollingOnly => "polling",
            Transports::PollingThenWebSocket | Transports::WebSocketOnly => "websocket",
        }
    }
}

/// What the script printed: one JSON object per line, ending with `{"done":true}`.
struct Observations {
    lines: Vec<Value>,
    transports: Transports,
}

/// The solutions that take `--db` (chapter 9 on).
const KEEP_A_LOG: &[&str] = &["sol09-server-delivery", "sol10-client-delivery"];

/// Starts the solution's server, plays `scenario` with node, and returns what the script observed.
fn play(solution: &str, scenario: &str, transports: Transports) -> Observations {
    // The servers that keep a log keep it in memory here: every check starts from an empty one.
    let args: &[&str] = if KEEP_A_LOG.contains(&solution) { &["--db", ":memory:"] } else { &[] };
    let served = Served::start_with(solution, args, &[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("js/client.mjs");
    let mut node = Command::new("node");
    node.arg(&script).args([&served.url("/"), transports.argument(), scenario]);
    let finished = run_with_limit(&mut node, NODE_LIMIT).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        finished.status.success(),
        "the node client failed ({}) in scenario {scenario:?} over {}:\n{}\nwhat it observed until then:\n{}",
        transports.name(),
        finished.status,
        finished.stderr.trim(),
        finished.stdout.trim()
    );
    let lines: Vec<Value> = finished
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not a JSON line ({error}): {line:?}")))
        .collect();
    assert_eq!(lines.last(), Some(&json!({"done": true})), "the script ends with a done line: {lines:#?}");
    Observations { lines, transports }
}

impl Observations {
    /// The events `client` received, in order, as `(name, first argument)`.
    fn events(&self, client: &str) -> Vec<(String, Value)> {
        self.of(client)
            .filter_map(|line| Some((line.get("event")?.as_str()?.to_owned(), line["data"].clone())))
            .collect()
    }

    /// The acknowledgements `client` got, in order, as `(what it sent, the ack's first argument)`.
    fn acks(&self, client: &str) -> Vec<(Value, Value)> {
        self.of(client)
            .filter(|line| line.get("ack").is_some())
            .map(|line| (line["sent"].clone(), line["data"].clone()))
            .collect()
    }

    /// Insists that `client` opened its connection, and ended, over the transports asked for.
    fn assert_transports(&self, client: &str) {
        let expected = self.transports;
        let field = |key: &str| self.of(client).find_map(|line| line.get(key)?.as_str().map(str::to_owned));
        assert_eq!(field("opened").as_deref(), Some(expected.first()), "{client} opened over: {:#?}", self.lines);
        match expected {
            Transports::PollingThenWebSocket => {
                assert_eq!(field("upgraded").as_deref(), Some("websocket"), "{client} upgraded: {:#?}", self.lines)
            }
            _ => assert_eq!(field("upgraded"), None, "no upgrade was allowed: {:#?}", self.lines),
        }
        assert_eq!(field("transport").as_deref(), Some(expected.last()), "{client} ended on: {:#?}", self.lines);
    }

    fn of<'a>(&'a self, client: &'a str) -> impl Iterator<Item = &'a Value> {
        self.lines.iter().filter(move |line| line["client"] == client)
    }
}

fn event(name: &str, data: Value) -> (String, Value) {
    (name.to_owned(), data)
}

/// Chapter 4: the server speaks first (`welcome`), and `echo` comes back exactly as sent: the JSON survives
/// the official client's encoding, socketioxide's decoding and the way back, over each transport.
fn welcome_and_echo(transports: Transports) {
    let seen = play("sol04-socket-io", "welcome-echo", transports);
    seen.assert_transports("solo");
    // The same value as in client.mjs: a string with non-ASCII characters, numbers, nesting and a null.
    let sent = json!({"text": "héllo ✓", "numbers": [1, 2.5, -3], "nested": {"ok": true, "none": null}});
    assert_eq!(
        seen.events("solo"),
        [event("welcome", json!("welcome")), event("echo", sent)],
        "chapter 4: first the welcome, then the echo of what the client sent, and nothing else"
    );
    assert!(seen.acks("solo").is_empty());
}

/// Chapter 5: `chat message` is acknowledged, `{"ok": true}`, and comes back to the sender; an empty one is
/// refused in its acknowledgement, goes nowhere, and the connection carries on.
fn acknowledgements(transports: Transports) {
    let seen = play("sol05-events", "acknowledgements", transports);
    seen.assert_transports("solo");
    let ok = json!({"ok": true});
    assert_eq!(
        seen.acks("solo"),
        [
            (json!({"text": "hi"}), ok.clone()),
            (json!({"text": ""}), json!({"ok": false, "error": "the message is empty"})),
            (json!({"text": "still here"}), ok),
        ],
        "chapter 5: each chat message is acknowledged, the empty one with the reason it was refused"
    );
    assert_eq!(
        seen.events("solo"),
        [event("chat message", json!({"text": "hi"})), event("chat message", json!({"text": "still here"}))],
        "chapter 5: the valid messages come back, the empty one does not"
    );
}

/// Chapter 6, with two clients in one node process: bob is there first; alice joins, and bob (not alice) is
/// told; each says something, and both hear both, the sender included, in the same order; alice leaves, and
/// bob is told.
fn broadcast(transports: Transports) {
    let seen = play("sol06-broadcasting", "broadcast", transports);
    seen.assert_transports("alice");
    seen.assert_transports("bob");
    let from_alice = event("chat message", json!({"name": "alice", "text": "hi from alice"}));
    let from_bob = event("chat message", json!({"name": "bob", "text": "hi from bob"}));
    assert_eq!(
        seen.events("alice"),
        [from_alice.clone(), from_bob.clone()],
        "chapter 6: alice hears both messages, her own included, and no notice of her own arrival"
    );
    assert_eq!(
        seen.events("bob"),
        [
            event("user joined", json!({"name": "alice"})),
            from_alice,
            from_bob,
            event("user left", json!({"name": "alice"})),
        ],
        "chapter 6: bob is told that alice joined, hears both messages, and is told that alice left"
    );
    for (client, text) in [("alice", "hi from alice"), ("bob", "hi from bob")] {
        assert_eq!(seen.acks(client), [(json!({"text": text}), json!({"ok": true}))], "{client}'s acknowledgement");
    }
}

/// Chapter 8, with the official client: a nameless client's connect_error carries the reason; presence,
/// rooms, typing and private messages, each as the chapter's protocol says, over each transport.
fn rooms(transports: Transports) {
    let seen = play("sol08-rooms-presence", "rooms", transports);
    let refused = seen.of("nameless").find_map(|line| line.get("refused")?.as_str().map(str::to_owned));
    assert_eq!(
        refused.as_deref(),
        Some("a name is required: connect with the auth {\"name\": \"...\"}"),
        "chapter 8: the official client receives the connect_error's message: {:#?}",
        seen.lines
    );
    seen.assert_transports("alice");
    seen.assert_transports("bob");
    assert_eq!(
        seen.events("alice"),
        [event("online", json!({"names": ["alice"]})), event("user joined", json!({"name": "bob"}))],
        "chapter 8: alice is told who is online, then that bob joined, and hears nothing of her own"
    );
    let typist = json!({"room": "rust", "name": "alice"});
    assert_eq!(
        seen.events("bob"),
        [
            event("online", json!({"names": ["alice", "bob"]})),
            event("typing", typist.clone()),
            event("stopped typing", typist),
            event("chat message", json!({"room": "rust", "name": "alice", "text": "hi bob"})),
            event("private message", json!({"from": "alice", "text": "psst"})),
            event("user left", json!({"name": "alice"})),
        ],
        "chapter 8: bob hears the list, alice's typing, her message to the room, her whisper, and her leaving"
    );
    let ok = json!({"ok": true});
    assert_eq!(
        seen.acks("alice"),
        [
            (json!({"room": "rust"}), ok.clone()),
            (json!({"room": "rust", "text": "hi bob"}), ok.clone()),
            (json!({"to": "bob", "text": "psst"}), ok),
        ],
        "chapter 8: alice's join, message and whisper are acknowledged"
    );
}

/// Chapter 9, with the official client and its `auth` given as a function, as the chapter's page gives it:
/// alice's messages get offsets 1, 2, 3, 4 in their acknowledgements and come back to her with them; bob,
/// connecting with serverOffset 1, is replayed 2 and then gets 3 live; he leaves, alice sends 4, and bob,
/// back with the offset his function now returns, is replayed 4, and nothing twice.
fn catching_up(transports: Transports) {
    let seen = play("sol09-server-delivery", "catching-up", transports);
    for client in ["alice", "bob", "bob-again"] {
        seen.assert_transports(client);
    }
    let message =
        |offset: u64, text: &str| event("chat message", json!({"offset": offset, "name": "alice", "text": text}));
    let texts = ["one", "two", "three", "four"];
    assert_eq!(
        seen.acks("alice"),
        texts
            .iter()
            .zip(1u64..)
            .map(|(text, offset)| (json!({"text": text}), json!({"ok": true, "offset": offset})))
            .collect::<Vec<_>>(),
        "chapter 9: each message is acknowledged with its offset"
    );
    assert_eq!(
        seen.events("alice"),
        texts.iter().zip(1u64..).map(|(text, offset)| message(offset, text)).collect::<Vec<_>>(),
        "chapter 9: alice gets every message of the log, her own included, with its offset"
    );
    assert_eq!(seen.events("bob"), [message(2, "two"), message(3, "three")], "chapter 9: bob, from offset 1");
    assert_eq!(seen.events("bob-again"), [message(4, "four")], "chapter 9: bob again, from offset 3");
}

/// Chapter 10, with the official client configured as the chapter's page is (`ackTimeout`, `retries`): a
/// message sent twice with one client offset is acknowledged twice with one offset, and delivered once.
fn client_delivery(transports: Transports) {
    let seen = play("sol10-client-delivery", "client-delivery", transports);
    seen.assert_transports("alice");
    seen.assert_transports("bob");
    let once = json!({"text": "once", "clientOffset": "node:1"});
    let twice = json!({"text": "twice?", "clientOffset": "node:2"});
    assert_eq!(
        seen.acks("alice"),
        [
            (once.clone(), json!({"ok": true, "offset": 1})),
            (once, json!({"ok": true, "offset": 1})),
            (twice, json!({"ok": true, "offset": 2})),
        ],
        "chapter 10: the message sent again is acknowledged with the offset it got the first time"
    );
    let messages = [
        event("chat message", json!({"offset": 1, "name": "alice", "text": "once"})),
        event("chat message", json!({"offset": 2, "name": "alice", "text": "twice?"})),
    ];
    assert_eq!(seen.events("bob"), messages, "chapter 10: bob gets each message once");
    assert_eq!(seen.events("alice"), messages, "chapter 10: and so does alice");
}
