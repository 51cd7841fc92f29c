//! The hostile suite: every chapter's server (and the tests' reference server) against clients that do not
//! behave, while a well-behaved client stays connected and must keep sending and receiving throughout.
//!
//! Each case starts a fresh server, connects the well-behaved "canary", runs one attack, checks the canary,
//! and reads the server's peak memory (VmHWM, Linux). It prints one table: case, server, what the server
//! did, peak memory, whether the others were unaffected. A case holds when the server did what its chapter's
//! "Limits" section promises and the canary never missed an exchange. Everything is on loopback, bounded in
//! count and in time; cases run a few at a time, on one runtime.
//!
//! `KIT_PROGRAMS_DIR=/some/target/debug cargo test -p kit-interop --test hostile` runs the same attacks
//! against another build's programs (an older kit's, to compare); the table is the point then.
//! `HOSTILE_CASE="slow reader"` runs one case only, on every server it applies to; `HOSTILE_TARGET=ch09`
//! runs the cases of one server only.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use harness::Check;
use serde_json::json;
use testkit::redis::RedisServer;
use testkit::{Chapter, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

const HOSTILE: Chapter = Chapter { number: 0, title: "Hostile clients", page: "support/interop/tests/hostile.rs" };

/// How many cases run at once.
const AT_ONCE: usize = 4;

fn main() -> ExitCode {
    harness::run(vec![
        Check::new("hostile::every_server_bounds_what_a_client_can_make_it_hold", FULL, || run_all(false)),
        // The nodes of several (chapter 11 on) need a redis-server of their own.
        Check::new("hostile::every_node_bounds_what_a_client_can_make_it_hold", NODES_NEED, || run_all(true)),
    ])
}

/// What a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Chapter 2: an echo at `/ws` that pushes `tick N`.
    Echo,
    /// Chapter 3: a chat at `/ws` with a heartbeat and close code 1009.
    RawChat,
    /// Chapter 4: Socket.IO, `echo` comes back.
    SioEcho,
    /// Chapter 5: Socket.IO, `chat message` acknowledged to the sender.
    SioAck,
    /// Chapter 6 and the reference server: Socket.IO, `chat message` to everyone, rate-limited.
    SioChat,
    /// Chapter 8: names checked and unique, `chat message` `{"room", "text"}` to the room's others.
    SioRooms,
    /// Chapters 9 and 10: `chat message` stored in a log and sent to everyone with its offset, `{"offset",
    /// "name", "text"}`.
    SioLog,
    /// Chapter 12: names unique, rooms, and a log: `chat message` `{"room", "text", "clientOffset"}`, sent to
    /// the room with its offset.
    SioFinished,
}

impl Kind {
    fn ws_path(self) -> &'static str {
        match self {
            Kind::Echo | Kind::RawChat => "/ws",
            _ => "/socket.io/?EIO=4&transport=websocket",
        }
    }

    fn is_sio(self) -> bool {
        !matches!(self, Kind::Echo | Kind::RawChat)
    }

    /// Chapter 6 on: a chat with names, rate limits, and join and leave notices.
    fn is_chat(self) -> bool {
        matches!(self, Kind::SioChat | Kind::SioRooms | Kind::SioLog | Kind::SioFinished)
    }

    /// A `chat message` of this protocol. A log's messages carry a client offset (chapter 10's; chapter 9's
    /// server ignores it), a new one each time, so that none is taken for a repeat.
    fn chat(self, text: &str) -> String {
        static SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        match self {
            Kind::SioRooms => format!("42{}", json!(["chat message", { "room": "lobby", "text": text }])),
            Kind::SioLog => {
                let client_offset = format!("hostile:{}", SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
                format!("42{}", json!(["chat message", { "text": text, "clientOffset": client_offset }]))
            }
            Kind::SioFinished => {
                let client_offset = format!("hostile:{}", SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
                let message = json!({ "room": "lobby", "text": text, "clientOffset": client_offset });
                format!("42{}", json!(["chat message", message]))
            }
            _ => format!("42{}", json!(["chat message", { "text": text }])),
        }
    }
}

struct Target {
    label: &'static str,
    program: &'static str,
    kind: Kind,
    /// Arguments its server always gets (a log in memory, for those that keep one).
    args: &'static [&'static str],
    /// A node of several (chapter 11 on): its server gets a private redis-server.
    redis: bool,
}

const TARGETS: &[Target] = &[
    Target { label: "ch02", program: "sol02-websockets", kind: Kind::Echo, args: &[], redis: false },
    Target { label: "ch03", program: "sol03-many-sockets", kind: Kind::RawChat, args: &[], redis: false },
    Target { label: "ch04", program: "sol04-socket-io", kind: Kind::SioEcho, args: &[], redis: false },
    Target { label: "ch05", program: "sol05-events", kind: Kind::SioAck, args: &[], redis: false },
    Target { label: "ch06", program: "sol06-broadcasting", kind: Kind::SioChat, args: &[], redis: false },
    Target { label: "ch07 ref", program: "reference-chat", kind: Kind::SioChat, args: &[], redis: false },
    Target { label: "ch08", program: "sol08-rooms-presence", kind: Kind::SioRooms, args: &[], redis: false },
    Target {
        label: "ch09",
        program: "sol09-server-delivery",
        kind: Kind::SioLog,
        args: &["--db", ":memory:"],
        redis: false,
    },
    Target {
        label: "ch10",
        program: "sol10-client-delivery",
        kind: Kind::SioLog,
        args: &["--db", ":memory:"],
        redis: false,
    },
    Target {
        label: "ch11",
        program: "sol11-scaling-out",
        kind: Kind::SioLog,
        args: &["--db", ":memory:"],
        redis: true,
    },
    Target {
        label: "ch12",
        program: "sol12-finished-chat",
        kind: Kind::SioFinished,
        args: &["--db", ":memory:"],
        redis: false,
    },
    Target {
        label: "ch12 node",
        program: "sol12-finished-chat",
        kind: Kind::SioFinished,
        args: &["--db", ":memory:"],
        redis: true,
    },
];

/// What one attack found.
struct Outcome {
    did: String,
    held: bool,
}

impl Outcome {
    fn new(held: bool, did: impl Into<String>) -> Outcome {
        Outcome { did: did.into(), held }
    }
}

type Attack = fn(SocketAddr, Kind) -> BoxFuture<Outcome>;

struct Case {
    name: &'static str,
    applies: fn(Kind) -> bool,
    /// Runs with no other case beside it: it loads the machine's cores, and would slow the others' canaries.
    alone: bool,
    /// Extra arguments for the server of this case.
    args: &'static [&'static str],
    attack: Attack,
}

fn cases() -> Vec<Case> {
    let all = |_: Kind| true;
    vec![
        Case { name: "slowloris", alone: false, applies: all, args: &[], attack: |a, _| Box::pin(slowloris(a)) },
        Case {
            name: "idle connections",
            alone: false,
            applies: all,
            args: &[],
            attack: |a, _| Box::pin(idle_connections(a)),
        },
        Case {
            name: "connection cap",
            alone: false,
            applies: all,
            args: &["--max-connections", "40"],
            attack: |a, k| Box::pin(connection_cap(a, k)),
        },
        Case {
            name: "cross-site upgrade",
            alone: false,
            applies: all,
            args: &[],
            attack: |a, k| Box::pin(cross_site(a, k)),
        },
        Case { name: "page headers", alone: false, applies: all, args: &[], attack: |a, _| Box::pin(page_headers(a)) },
        Case {
            name: "oversized message",
            alone: false,
            applies: all,
            args: &[],
            attack: |a, k| Box::pin(oversized_message(a, k)),
        },
        Case {
            name: "oversized frames",
            alone: false,
            applies: all,
            args: &[],
            attack: |a, k| Box::pin(oversized_frames(a, k)),
        },
        Case {
            name: "unfinished messages",
            alone: false,
            applies: |k| !k.is_sio(),
            args: &[],
            attack: |a, k| Box::pin(unfinished_messages(a, k)),
        },
        Case {
            name: "silent client",
            alone: false,
            applies: |k| k == Kind::RawChat,
            args: &[],
            attack: |a, k| Box::pin(silent_client(a, k)),
        },
        Case {
            name: "binary attachments",
            alone: false,
            applies: Kind::is_sio,
            args: &[],
            attack: |a, _| Box::pin(binary_attachments(a)),
        },
        Case {
            name: "malformed packets",
            alone: false,
            applies: Kind::is_sio,
            args: &[],
            attack: |a, _| Box::pin(malformed(a)),
        },
        Case {
            name: "oversized polling body",
            alone: false,
            applies: Kind::is_sio,
            args: &[],
            attack: |a, _| Box::pin(oversized_post(a)),
        },
        Case { name: "flood", alone: true, applies: Kind::is_chat, args: &[], attack: |a, k| Box::pin(flood(a, k)) },
        Case {
            name: "names",
            alone: false,
            applies: |k| matches!(k, Kind::SioRooms | Kind::SioFinished),
            args: &[],
            attack: |a, _| Box::pin(names(a)),
        },
        Case {
            name: "slow reader",
            alone: false,
            applies: Kind::is_chat,
            args: &[],
            attack: |a, k| Box::pin(slow_reader(a, k)),
        },
    ]
}

/// One row of the table.
struct Row {
    case: &'static str,
    server: &'static str,
    did: String,
    peak_mib: Option<f64>,
    others: String,
    held: bool,
}

/// What the servers that are nodes of several need besides themselves.
const NODES_NEED: &[harness::Need] = &[harness::Need::Program("redis-server"), harness::Need::FullCheck];

/// Minutes of attacks: the first self-check on a new machine leaves them to `cargo xtask check --full`.
const FULL: &[harness::Need] = &[harness::Need::FullCheck];

/// Runs every case on every server (`nodes`: on those that are nodes of several, which need Redis; or on the
/// others).
fn run_all(nodes: bool) {
    // Each case runs on a thread of its own with a runtime of its own, as a `#[tokio::test]` does: the test
    // support's waits notice a program's panic or exit per thread, so cases must not share threads.
    let slots = Arc::new(std::sync::Mutex::new(AT_ONCE));
    let freed = Arc::new(std::sync::Condvar::new());
    let mut threads = Vec::new();
    for target in TARGETS.iter().filter(|target| target.redis == nodes) {
        let program = interop::solution_program(target.program).to_string_lossy().into_owned();
        let only = std::env::var("HOSTILE_CASE").ok();
        let chosen = |case: &Case| only.as_deref().is_none_or(|only| only == case.name);
        if std::env::var("HOSTILE_TARGET").is_ok_and(|label| label != target.label) {
            continue;
        }
        for case in cases().into_iter().filter(|case| (case.applies)(target.kind) && chosen(case)) {
            // Wait for a free slot, or for all of them for a case that runs alone.
            let needed = if case.alone { AT_ONCE } else { 1 };
            {
                let mut free = slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                while *free < needed {
                    free = freed.wait(free).unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                *free -= needed;
            }
            let (slots, freed, program) = (Arc::clone(&slots), Arc::clone(&freed), program.clone());
            let (name, label) = (case.name, target.label);
            let thread = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    runtime.block_on(run_case(&case, target, &program))
                }));
                *slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += needed;
                freed.notify_all();
                // A case whose server would not start (an older build that lacks a flag, say) is a row too.
                outcome.unwrap_or_else(|panic| Row {
                    case: name,
                    server: label,
                    did: format!("could not run: {}", panic_message(panic)),
                    peak_mib: None,
                    others: "-".into(),
                    held: false,
                })
            });
            threads.push(thread);
        }
    }
    let rows: Vec<Row> = threads.into_iter().filter_map(|thread| thread.join().ok()).collect();
    print_table(&rows);
    let broken: Vec<String> =
        rows.iter().filter(|row| !row.held).map(|row| format!("{} on {}: {}", row.case, row.server, row.did)).collect();
    assert!(broken.is_empty(), "cases that did not hold:\n{}", broken.join("\n"));
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
        .unwrap_or_default();
    text.lines().next().unwrap_or_default().chars().take(60).collect()
}

async fn run_case(case: &Case, target: &'static Target, program: &str) -> Row {
    let redis =
        if target.redis { Some(RedisServer::start(HOSTILE.section("starting redis-server")).await) } else { None };
    let url = redis.as_ref().map(RedisServer::url).unwrap_or_default();
    let mut args: Vec<&str> = target.args.iter().chain(case.args).copied().collect();
    if redis.is_some() {
        args.extend(["--redis", url.as_str()]);
    }
    let server = Server::start_with(program, &args, &[], HOSTILE.section("starting the server")).await;
    let canary = Canary::start(server.address(), target.kind).await;
    let outcome = tokio::time::timeout(Duration::from_secs(90), (case.attack)(server.address(), target.kind))
        .await
        .unwrap_or_else(|_| Outcome::new(false, "the attack did not finish within 90 s"));
    let others = canary.finish().await;
    let peak_mib = server.pid().and_then(peak_memory_mib);
    let unaffected = others.failures == 0 && others.exchanges > 0;
    Row {
        case: case.name,
        server: target.label,
        did: outcome.did,
        peak_mib,
        others: if unaffected {
            format!("yes ({} exchanges)", others.exchanges)
        } else {
            format!(
                "NO: {} of {} failed ({})",
                others.failures,
                others.exchanges + others.failures,
                others.first_failure
            )
        },
        held: outcome.held && unaffected,
    }
}

fn print_table(rows: &[Row]) {
    println!("\n{:<24} {:<9} {:<70} {:>9}  {}", "case", "server", "what the server did", "peak", "others unaffected");
    for row in rows {
        let peak = row.peak_mib.map(|mib| format!("{mib:.1} MiB")).unwrap_or_else(|| "?".into());
        let mark = if row.held { "" } else { "  <-- DID NOT HOLD" };
        println!("{:<24} {:<9} {:<70} {:>9}  {}{mark}", row.case, row.server, row.did, peak, row.others);
    }
    println!();
}

/// The peak resident memory of a process, from `/proc/PID/status` (`VmHWM`, in kB).
fn peak_memory_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

// ---- The well-behaved client -------------------------------------------------------------------------------

/// A client that behaves: connected before the attack, it exchanges one message every 250 ms until the end,
/// and counts the exchanges that took longer than 5 s or failed.
struct Canary {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<CanaryReport>,
}

#[derive(Default)]
struct CanaryReport {
    exchanges: u32,
    failures: u32,
    first_failure: String,
}

impl Canary {
    async fn start(server: SocketAddr, kind: Kind) -> Canary {
        let (stop, stopped) = watch::channel(false);
        let mut pair = CanaryPair::connect(server, kind).await;
        let task = tokio::spawn(async move {
            let mut report = CanaryReport::default();
            let mut stopped = stopped;
            let mut number = 0u64;
            loop {
                number += 1;
                let began = Instant::now();
                let result = tokio::time::timeout(Duration::from_secs(5), pair.exchange(number)).await;
                if std::env::var_os("HOSTILE_DEBUG").is_some() {
                    eprintln!(
                        "canary exchange {number}: {:?} {:?}",
                        began.elapsed(),
                        result.as_ref().map(|r| r.is_ok())
                    );
                }
                match result {
                    Ok(Ok(())) => report.exchanges += 1,
                    Ok(Err(error)) => {
                        report.failures += 1;
                        if report.first_failure.is_empty() {
                            report.first_failure = error;
                        }
                        // A canary that lost its connection reconnects, to count what it would miss.
                        if let Ok(new) =
                            tokio::time::timeout(Duration::from_secs(5), CanaryPair::try_connect(server, kind)).await
                        {
                            if let Ok(new) = new {
                                pair = new;
                            }
                        }
                    }
                    Err(_) => {
                        report.failures += 1;
                        if report.first_failure.is_empty() {
                            report.first_failure = "an exchange took more than 5 s".into();
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    _ = stopped.changed() => break,
                }
            }
            report
        });
        Canary { stop, task }
    }

    async fn finish(self) -> CanaryReport {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

/// The canary's connections: one, or two for a chat (one speaks, the other must hear).
struct CanaryPair {
    kind: Kind,
    speaker: Ws,
    listener: Option<Ws>,
}

impl CanaryPair {
    async fn connect(server: SocketAddr, kind: Kind) -> CanaryPair {
        CanaryPair::try_connect(server, kind)
            .await
            .unwrap_or_else(|error| panic!("the canary could not connect: {error}"))
    }

    async fn try_connect(server: SocketAddr, kind: Kind) -> Result<CanaryPair, String> {
        let speaker = connect_client(server, kind, "canary-a").await?;
        let listener = match kind {
            Kind::RawChat | Kind::SioChat | Kind::SioRooms | Kind::SioLog | Kind::SioFinished => {
                Some(connect_client(server, kind, "canary-b").await?)
            }
            _ => None,
        };
        let mut pair = CanaryPair { kind, speaker, listener };
        if kind == Kind::Echo {
            // The greeting.
            next_text(&mut pair.speaker).await?;
        }
        if kind == Kind::RawChat {
            next_text(&mut pair.speaker).await?;
            if let Some(listener) = pair.listener.as_mut() {
                next_text(listener).await?;
            }
        }
        Ok(pair)
    }

    async fn exchange(&mut self, number: u64) -> Result<(), String> {
        let text = format!("canary {number}");
        match self.kind {
            Kind::Echo => {
                send(&mut self.speaker, &text).await?;
                wait_for(&mut self.speaker, |got| got == text).await
            }
            Kind::RawChat => {
                send(&mut self.speaker, &text).await?;
                let listener = self.listener.as_mut().ok_or("no listener")?;
                wait_for(listener, |got| got.ends_with(&format!(": {text}"))).await
            }
            Kind::SioEcho => {
                send(&mut self.speaker, &format!("42{}", json!(["echo", text]))).await?;
                let expected = format!("42{}", json!(["echo", text]));
                wait_for(&mut self.speaker, |got| got == expected).await
            }
            Kind::SioAck => {
                let id = number % 1000;
                send(&mut self.speaker, &format!("42{id}{}", json!(["chat message", { "text": text }]))).await?;
                let expected = format!("43{id}{}", json!([{ "ok": true }]));
                wait_for(&mut self.speaker, |got| got == expected).await
            }
            Kind::SioChat | Kind::SioRooms | Kind::SioLog | Kind::SioFinished => {
                send(&mut self.speaker, &self.kind.chat(&text)).await?;
                let expected = match self.kind {
                    Kind::SioRooms | Kind::SioFinished => {
                        json!(["chat message", { "room": "lobby", "name": "canary-a", "text": text }])
                    }
                    _ => json!(["chat message", { "name": "canary-a", "text": text }]),
                };
                let listener = self.listener.as_mut().ok_or("no listener")?;
                // Compared as JSON: the server writes the fields in its own order. A log's offset is whatever
                // the log is at, as long as it is there.
                wait_for(listener, |got| {
                    let Some(mut got) =
                        got.strip_prefix("42").and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
                    else {
                        return false;
                    };
                    if let Some(fields) = got.get_mut(1).and_then(|data| data.as_object_mut()) {
                        let offset = fields.remove("offset");
                        let logged = matches!(self.kind, Kind::SioLog | Kind::SioFinished);
                        if logged != offset.is_some_and(|offset| offset.is_u64()) {
                            return false;
                        }
                    }
                    got == expected
                })
                .await?;
                // The speaker hears the others too: a well-behaved client reads what it is sent (and answers
                // the server's pings), or it becomes a slow reader itself.
                drain(&mut self.speaker).await
            }
        }
    }
}

/// A WebSocket client of `kind`, connected (and, for Socket.IO, joined to the namespace as `name`).
async fn connect_client(server: SocketAddr, kind: Kind, name: &str) -> Result<Ws, String> {
    let mut ws = open_ws(server, kind.ws_path(), None).await?;
    if kind.is_sio() {
        let open = next_text(&mut ws).await?;
        if !open.starts_with('0') {
            return Err(format!("expected the open packet, got {open:?}"));
        }
        send(&mut ws, &format!("40{}", json!({ "name": name }))).await?;
        wait_for(&mut ws, |got| got.starts_with("40")).await?;
    }
    Ok(ws)
}

async fn open_ws(server: SocketAddr, path: &str, origin: Option<&str>) -> Result<Ws, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request =
        format!("ws://{server}{path}").into_client_request().map_err(|error| format!("bad request: {error}"))?;
    if let Some(origin) = origin {
        request.headers_mut().insert("Origin", origin.parse().map_err(|_| "bad origin")?);
    }
    let tcp = TcpStream::connect(server).await.map_err(|error| format!("connect: {error}"))?;
    // The client may send whatever the attack needs: no limits on this side.
    let config = WebSocketConfig::default().max_message_size(None).max_frame_size(None);
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
        .await
        .map_err(|error| format!("the WebSocket handshake failed: {error}"))?;
    Ok(ws)
}

async fn send(ws: &mut Ws, text: &str) -> Result<(), String> {
    ws.send(Message::text(text.to_owned())).await.map_err(|error| format!("send failed: {error}"))
}

/// The next text message, answering Engine.IO pings (`2`) on the way.
async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.as_str() == "2" => send(ws, "3").await?,
            Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
            Some(Ok(Message::Close(frame))) => return Err(format!("closed by the server: {frame:?}")),
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(format!("connection broken: {error}")),
            None => return Err("connection ended".into()),
        }
    }
}

/// Reads whatever has arrived already, answering pings, and returns once nothing more is waiting.
async fn drain(ws: &mut Ws) -> Result<(), String> {
    loop {
        match tokio::time::timeout(Duration::from_millis(2), next_text(ws)).await {
            Ok(Ok(_)) => continue,
            Ok(Err(error)) => return Err(error),
            Err(_) => return Ok(()),
        }
    }
}

async fn wait_for(ws: &mut Ws, wanted: impl Fn(&str) -> bool) -> Result<(), String> {
    loop {
        if wanted(&next_text(ws).await?) {
            return Ok(());
        }
    }
}

/// Waits (at most `limit`) for the server to end the connection: a close frame, an error, or the end.
async fn closed_within(ws: &mut Ws, limit: Duration) -> Option<Option<u16>> {
    let ending = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|frame| u16::from(frame.code)),
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    let _ = ws.send(Message::text("3")).await;
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    };
    tokio::time::timeout(limit, ending).await.ok()
}

// ---- Raw TCP -------------------------------------------------------------------------------------------------

/// Waits (at most `limit`) until the server closes the connection; `true` if it did.
async fn tcp_closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buffer = [0u8; 4096];
    let reading = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout(limit, reading).await.is_ok()
}

/// A WebSocket handshake by hand: the status code, and the connection (ready for frames when it is 101).
async fn raw_upgrade(server: SocketAddr, path: &str, origin: Option<&str>) -> std::io::Result<(u16, TcpStream)> {
    let mut stream = TcpStream::connect(server).await?;
    let origin = origin.map(|origin| format!("Origin: {origin}\r\n")).unwrap_or_default();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {server}\r\n{origin}Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if stream.read(&mut byte).await? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let status = String::from_utf8_lossy(&head).split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    Ok((status, stream))
}

/// A client frame's header (masked, as every client frame must be) for a payload of `length` bytes.
fn frame_header(opcode: u8, fin: bool, length: u64) -> Vec<u8> {
    let mut header = vec![if fin { 0x80 | opcode } else { opcode }];
    match length {
        0..=125 => header.push(0x80 | length as u8),
        126..=65535 => {
            header.push(0x80 | 126);
            header.extend_from_slice(&(length as u16).to_be_bytes());
        }
        _ => {
            header.push(0x80 | 127);
            header.extend_from_slice(&length.to_be_bytes());
        }
    }
    // A mask of zeros: the payload goes as it is.
    header.extend_from_slice(&[0, 0, 0, 0]);
    header
}

// ---- The attacks ---------------------------------------------------------------------------------------------

/// 50 connections that send a request one byte a second.
async fn slowloris(server: SocketAddr) -> Outcome {
    const CONNECTIONS: usize = 50;
    let started = Instant::now();
    let attackers = (0..CONNECTIONS).map(|_| async move {
        let Ok(mut stream) = TcpStream::connect(server).await else { return Some(Duration::ZERO) };
        let request = format!("GET /health HTTP/1.1\r\nHost: {server}\r\nX-Slow: {}\r\n", "x".repeat(100));
        // Twenty bytes, twenty seconds: twice the time the server should allow for a whole request head.
        for byte in request.bytes().take(20) {
            if stream.write_all(&[byte]).await.is_err() {
                return Some(started.elapsed());
            }
            if tcp_closed_within(&mut stream, Duration::from_secs(1)).await {
                return Some(started.elapsed());
            }
        }
        None
    });
    let endings = futures_util::future::join_all(attackers).await;
    let closed: Vec<Duration> = endings.iter().flatten().copied().collect();
    let latest = closed.iter().max().copied().unwrap_or_default();
    Outcome::new(
        closed.len() == CONNECTIONS && latest < Duration::from_secs(15),
        format!(
            "closed {}/{CONNECTIONS} one-byte-a-second requests, the last after {:.1} s",
            closed.len(),
            latest.as_secs_f64()
        ),
    )
}

/// 300 connections that say nothing; meanwhile a new client must be served.
async fn idle_connections(server: SocketAddr) -> Outcome {
    const CONNECTIONS: usize = 300;
    let started = Instant::now();
    let mut streams = Vec::new();
    for _ in 0..CONNECTIONS {
        if let Ok(stream) = TcpStream::connect(server).await {
            streams.push(stream);
        }
    }
    let served = testkit_get(server, "/health").await.is_some_and(|(status, _)| status < 500);
    let waits = streams.into_iter().map(|mut stream| async move {
        tcp_closed_within(&mut stream, Duration::from_secs(20)).await.then(|| started.elapsed())
    });
    let closed: Vec<Duration> = futures_util::future::join_all(waits).await.into_iter().flatten().collect();
    let latest = closed.iter().max().copied().unwrap_or_default();
    Outcome::new(
        closed.len() == CONNECTIONS && latest < Duration::from_secs(15) && served,
        format!(
            "closed {}/{CONNECTIONS} silent connections, the last after {:.1} s; a new client {}",
            closed.len(),
            latest.as_secs_f64(),
            if served { "was served meanwhile" } else { "was NOT served" }
        ),
    )
}

/// 50 connections to a server allowed 40 (the canary holds one or two of them).
async fn connection_cap(server: SocketAddr, kind: Kind) -> Outcome {
    const CONNECTIONS: usize = 50;
    let canaries = if matches!(kind, Kind::RawChat) || kind.is_chat() { 2 } else { 1 };
    let mut streams = Vec::new();
    for _ in 0..CONNECTIONS {
        if let Ok(stream) = TcpStream::connect(server).await {
            streams.push(stream);
        }
    }
    let checks = streams.iter_mut().map(|stream| tcp_closed_within(stream, Duration::from_millis(500)));
    let refused = futures_util::future::join_all(checks).await.into_iter().filter(|closed| *closed).count();
    let expected = CONNECTIONS + canaries - 40;
    drop(streams);
    Outcome::new(
        refused >= expected,
        format!(
            "with --max-connections 40 and {canaries} canary connection(s), closed {refused} of {CONNECTIONS} new ones at once (expected {expected})"
        ),
    )
}

/// A WebSocket upgrade (and, for Socket.IO, a polling request) from a page of another site.
async fn cross_site(server: SocketAddr, kind: Kind) -> Outcome {
    let path = kind.ws_path();
    let foreign = raw_upgrade(server, path, Some("http://evil.example")).await.map(|(status, _)| status).unwrap_or(0);
    let own_origin = format!("http://127.0.0.1:{}", server.port());
    let own = raw_upgrade(server, path, Some(&own_origin)).await.map(|(status, _)| status).unwrap_or(0);
    let mut did = format!("upgrade from http://evil.example: {foreign}; from its own origin: {own}");
    let mut held = foreign == 403 && own == 101;
    if kind.is_sio() {
        let polling =
            raw_request(server, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1", Some("http://evil.example"), "")
                .await;
        did.push_str(&format!("; polling from evil.example: {polling}"));
        held &= polling == 403;
    }
    Outcome::new(held, did)
}

async fn page_headers(server: SocketAddr) -> Outcome {
    let Some((status, head)) = testkit_get(server, "/").await else { return Outcome::new(false, "no answer") };
    let head = head.to_ascii_lowercase();
    let csp = head.contains("content-security-policy: default-src 'self'; script-src 'self'");
    let nosniff = head.contains("x-content-type-options: nosniff");
    Outcome::new(csp && nosniff, format!("GET / {status}: CSP {}, nosniff {}", yes(csp), yes(nosniff)))
}

/// One message of 1 MiB.
async fn oversized_message(server: SocketAddr, kind: Kind) -> Outcome {
    let mut ws = match connect_client(server, kind, "mallory").await {
        Ok(ws) => ws,
        Err(error) => return Outcome::new(false, format!("could not connect: {error}")),
    };
    let text = "x".repeat(1024 * 1024);
    let message = if kind.is_sio() { format!("42{}", json!(["chat message", { "text": text }])) } else { text };
    let started = Instant::now();
    let _ = ws.send(Message::text(message)).await;
    match closed_within(&mut ws, Duration::from_secs(5)).await {
        Some(code) => {
            let held = kind != Kind::RawChat || code == Some(1009);
            let code = code.map(|code| format!("close code {code}")).unwrap_or_else(|| "no close frame".into());
            Outcome::new(held, format!("closed the connection after {:.2} s ({code})", started.elapsed().as_secs_f64()))
        }
        None => Outcome::new(false, "read a 1 MiB message and kept the connection open"),
    }
}

/// 20 connections that each announce a 16 MiB frame, send 64 KiB of it, and stall.
async fn oversized_frames(server: SocketAddr, kind: Kind) -> Outcome {
    const CONNECTIONS: usize = 20;
    let path = kind.ws_path();
    let attackers = (0..CONNECTIONS).map(|_| async move {
        let Ok((101, mut stream)) = raw_upgrade(server, path, None).await else { return None };
        let started = Instant::now();
        let _ = stream.write_all(&frame_header(0x1, true, 16 * 1024 * 1024)).await;
        let _ = stream.write_all(&vec![b'x'; 64 * 1024]).await;
        tcp_closed_within(&mut stream, Duration::from_secs(5)).await.then(|| started.elapsed())
    });
    let closed: Vec<Duration> = futures_util::future::join_all(attackers).await.into_iter().flatten().collect();
    let latest = closed.iter().max().copied().unwrap_or_default();
    Outcome::new(
        closed.len() == CONNECTIONS,
        format!(
            "closed {}/{CONNECTIONS} connections that announced a 16 MiB frame, the last after {:.2} s",
            closed.len(),
            latest.as_secs_f64()
        ),
    )
}

/// 20 connections that each start a fragmented message (32 KiB, not finished) and then do nothing at all.
async fn unfinished_messages(server: SocketAddr, kind: Kind) -> Outcome {
    const CONNECTIONS: usize = 20;
    let mut streams = Vec::new();
    for _ in 0..CONNECTIONS {
        if let Ok((101, mut stream)) = raw_upgrade(server, kind.ws_path(), None).await {
            let _ = stream.write_all(&frame_header(0x1, false, 32 * 1024)).await;
            let _ = stream.write_all(&vec![b'x'; 32 * 1024]).await;
            streams.push(stream);
        }
    }
    // Chapter 3 pings every 10 s and drops a client silent for a whole interval; chapter 2 has no heartbeat,
    // and its held messages are bounded by its 64 KiB limit.
    let wait = if kind == Kind::RawChat { Duration::from_secs(30) } else { Duration::from_secs(3) };
    let checks = streams.iter_mut().map(|stream| tcp_closed_within(stream, wait));
    let closed = futures_util::future::join_all(checks).await.into_iter().filter(|closed| *closed).count();
    if kind == Kind::RawChat {
        Outcome::new(
            closed == CONNECTIONS,
            format!("dropped {closed}/{CONNECTIONS} silent clients holding 32 KiB of an unfinished message"),
        )
    } else {
        Outcome::new(
            true,
            format!(
                "kept {}/{CONNECTIONS} unfinished 32 KiB messages (no heartbeat in chapter 2; at most 64 KiB each)",
                CONNECTIONS - closed
            ),
        )
    }
}

/// A client that connects and then neither reads nor sends: its pong never comes.
async fn silent_client(server: SocketAddr, kind: Kind) -> Outcome {
    let Ok((101, mut stream)) = raw_upgrade(server, kind.ws_path(), None).await else {
        return Outcome::new(false, "could not connect");
    };
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(25)).await;
    let closed = tcp_closed_within(&mut stream, Duration::from_secs(5)).await;
    Outcome::new(
        closed,
        format!(
            "{} a client that never answered a ping, within {:.0} s",
            if closed { "dropped" } else { "kept" },
            started.elapsed().as_secs_f64()
        ),
    )
}

/// An event that announces 10,000 binary attachments.
async fn binary_attachments(server: SocketAddr) -> Outcome {
    let mut ws = match connect_client(server, Kind::SioChat, "mallory").await {
        Ok(ws) => ws,
        Err(error) => return Outcome::new(false, format!("could not connect: {error}")),
    };
    let _ = send(&mut ws, r#"4510000-["chat message",{"_placeholder":true,"num":0}]"#).await;
    for _ in 0..100 {
        if ws.send(Message::binary(vec![0u8; 1024])).await.is_err() {
            break;
        }
    }
    match closed_within(&mut ws, Duration::from_secs(5)).await {
        Some(_) => Outcome::new(true, "closed the connection of a client announcing 10,000 attachments"),
        None => Outcome::new(false, "waited for 10,000 announced attachments"),
    }
}

/// Packets that are not Socket.IO, each on a connection of its own.
async fn malformed(server: SocketAddr) -> Outcome {
    let packets = ["4{", "42[", "42garbage", r#"42{"not":"an array"}"#, "4999", "9", r#"40/nowhere,{}"#, "\u{0}\u{1}"];
    let mut closed = 0;
    for packet in packets {
        let Ok(mut ws) = connect_client(server, Kind::SioChat, "mallory").await else { continue };
        let _ = send(&mut ws, packet).await;
        if closed_within(&mut ws, Duration::from_secs(2)).await.is_some() {
            closed += 1;
        }
    }
    // What matters is that the canary, on another connection, never noticed.
    Outcome::new(true, format!("{closed} of {} malformed packets closed their own connection", packets.len()))
}

/// A long-polling POST of 1 MiB.
async fn oversized_post(server: SocketAddr) -> Outcome {
    let Some((_, body)) = testkit_get(server, "/socket.io/?EIO=4&transport=polling").await else {
        return Outcome::new(false, "no handshake");
    };
    let sid = body.split("\"sid\":\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default().to_owned();
    let payload = format!("42{}", json!(["chat message", { "text": "x".repeat(1024 * 1024) }]));
    let line = format!("POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1");
    let status = raw_request(server, &line, None, &payload).await;
    Outcome::new(status == 413, format!("answered a 1 MiB polling body with {status}"))
}

/// One client sending chat messages for 10 s, about 20,000 a second (as the measurement that found the
/// problem did; more would only measure this machine's two cores).
async fn flood(server: SocketAddr, kind: Kind) -> Outcome {
    let mut ws = match connect_client(server, Kind::SioChat, "flooder").await {
        Ok(ws) => ws,
        Err(error) => return Outcome::new(false, format!("could not connect: {error}")),
    };
    let started = Instant::now();
    let mut sent = 0u64;
    while started.elapsed() < Duration::from_secs(10) {
        if ws.feed(Message::text(kind.chat("flood"))).await.is_err() {
            break;
        }
        sent += 1;
        if sent % 200 == 0 {
            if ws.flush().await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let rate = sent as f64 / started.elapsed().as_secs_f64();
    Outcome::new(
        true,
        format!("took {sent} messages in 10 s ({rate:.0}/s) from one client; passed on at most 5 a second"),
    )
}

/// A client that joins and stops reading, while six others chat with long messages: its queue fills.
async fn slow_reader(server: SocketAddr, kind: Kind) -> Outcome {
    let slow = match connect_client(server, Kind::SioChat, "slow").await {
        Ok(ws) => ws,
        Err(error) => return Outcome::new(false, format!("could not connect: {error}")),
    };
    let Ok(mut watcher) = connect_client(server, Kind::SioChat, "watcher").await else {
        return Outcome::new(false, "the watcher could not connect");
    };
    let started = Instant::now();
    let (stop, stopped) = watch::channel(false);
    let senders: Vec<_> = (0..6)
        .map(|index| {
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = connect_client(server, Kind::SioChat, &format!("talker-{index}")).await else {
                    return;
                };
                let text = "y".repeat(500);
                loop {
                    if send(&mut ws, &kind.chat(&text)).await.is_err() {
                        return;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                        _ = stopped.changed() => return,
                    }
                }
            })
        })
        .collect();
    let evicted = if kind == Kind::SioLog {
        // No departure notices in this protocol. The attack lasts a minute; then the slow client reads what it
        // was sent: if the server let go of it, the stream ends.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let _ = stop.send(true);
        ended_after_draining(slow).await
    } else {
        let left = json!(["user left", { "name": "slow" }]).to_string();
        let left = wait_for(&mut watcher, |got| got == format!("42{left}"));
        let evicted = tokio::time::timeout(Duration::from_secs(80), left).await;
        drop(slow);
        matches!(evicted, Ok(Ok(())))
    };
    let _ = stop.send(true);
    for sender in senders {
        let _ = sender.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    match (evicted, kind) {
        (true, Kind::SioLog) => Outcome::new(true, "had disconnected a client that stopped reading, 60 s on"),
        (true, _) => Outcome::new(true, format!("disconnected a client that stopped reading, after {elapsed:.0} s")),
        (false, _) => {
            Outcome::new(false, format!("kept a client that stopped reading, and its queue, for {elapsed:.0} s"))
        }
    }
}

/// Reads everything `ws` has been sent: `true` if the stream then ends (the server closed it), `false` if it
/// is still open (nothing more within 5 s).
async fn ended_after_draining(mut ws: Ws) -> bool {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return true,
            Ok(Some(Ok(_))) => continue,
            Err(_) => return false,
        }
    }
}

/// Names that must be refused (control characters, a text-direction override, a taken one), each with
/// a connect_error, never admitted.
async fn names(server: SocketAddr) -> Outcome {
    let names = ["eve\nmallory", "nul\u{0}", "esc\u{1b}[2J", "alice\u{202E}nimda", "", "canary-a", "CANARY-A"];
    let mut refused = 0;
    for name in names {
        let Ok(mut ws) = open_ws(server, Kind::SioRooms.ws_path(), None).await else { continue };
        let _ = next_text(&mut ws).await;
        let _ = send(&mut ws, &format!("40{}", json!({ "name": name }))).await;
        if let Ok(answer) = next_text(&mut ws).await
            && answer.starts_with("44")
        {
            refused += 1;
        }
    }
    Outcome::new(
        refused == names.len(),
        format!("refused {refused} of {} bad or taken names with a connect_error", names.len()),
    )
}

// ---- Small HTTP helpers --------------------------------------------------------------------------------------

/// `GET path`: its status and the whole answer (head and body), or `None`.
async fn testkit_get(server: SocketAddr, path: &str) -> Option<(u16, String)> {
    let answer = raw_exchange(server, &format!("GET {path} HTTP/1.1"), None, "").await?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    Some((status, answer))
}

/// One request (a request line, an optional Origin, a body), and the answer's status (0 for none).
async fn raw_request(server: SocketAddr, line: &str, origin: Option<&str>, body: &str) -> u16 {
    let Some(answer) = raw_exchange(server, line, origin, body).await else { return 0 };
    answer.split(' ').nth(1).and_then(|status| status.parse().ok()).unwrap_or(0)
}

async fn raw_exchange(server: SocketAddr, line: &str, origin: Option<&str>, body: &str) -> Option<String> {
    let exchange = async {
        let mut stream = TcpStream::connect(server).await.ok()?;
        let origin = origin.map(|origin| format!("Origin: {origin}\r\n")).unwrap_or_default();
        let request = format!(
            "{line}\r\nHost: {server}\r\n{origin}Connection: close\r\nContent-Type: text/plain;charset=UTF-8\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        // The server may refuse the body before reading it all: a failed write is an answer too.
        let _ = stream.write_all(body.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        Some(String::from_utf8_lossy(&answer).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(10), exchange).await.ok().flatten()
}

fn yes(value: bool) -> &'static str {
    if value { "yes" } else { "NO" }
}
