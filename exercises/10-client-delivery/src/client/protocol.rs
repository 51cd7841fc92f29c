//! Given: the client's side of this chapter's protocol, and the client's plumbing: the command line, one
//! connection to the server (`Link`), the standard input, and the program's main loop (`run`), which calls your
//! code. You do not need to change this file.

#![allow(dead_code, reason = "some of the given code is used only once your code calls it")]

use std::collections::hash_map::RandomState;
use std::error::Error;
use std::hash::BuildHasher;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, timeout};

// ---- The command line ----------------------------------------------------------------------------------------

/// Where the client connects without `--url`.
pub const DEFAULT_URL: &str = "http://127.0.0.1:3000";

/// What the command line asks for: chapter 7's `--name NAME` and `--url URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub name: String,
    pub url: String,
}

pub fn usage(program: &str) -> String {
    format!("usage: {program} --name NAME [--url URL]   (default URL {DEFAULT_URL})")
}

/// Chapter 7's reading of the arguments. `Ok(None)` means `--help`.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = args.into_iter();
    let (mut name, mut url) = (None, None);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        let slot = match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--name" => &mut name,
            "--url" => &mut url,
            _ => return Err(format!("unexpected argument {arg:?}")),
        };
        *slot = Some(inline.or_else(|| args.next()).ok_or_else(|| format!("{flag} needs a value"))?);
    }
    let name = name.ok_or("--name is required: who are you in the chat?")?.trim().to_owned();
    if name.is_empty() {
        return Err("--name cannot be blank".to_owned());
    }
    Ok(Some(Args { name, url: url.unwrap_or_else(|| DEFAULT_URL.to_owned()) }))
}

// ---- What goes over the wire ---------------------------------------------------------------------------------

// ANCHOR: messages
/// `chat message` to the server: the text, and the client's own name for this message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outgoing {
    pub text: String,
    #[serde(rename = "clientOffset")]
    pub client_offset: String,
}

/// The server's acknowledgement: `{"ok": true, "offset": 7}` once the message is in the log (the first time
/// or again), or `{"ok": false, "error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Ack {
    pub ok: bool,
    #[serde(default)]
    pub offset: Option<u64>,
    #[serde(default)]
    pub error: Option<String>,
}

/// `chat message` from the server, live or replayed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Post {
    pub offset: u64,
    pub name: String,
    pub text: String,
}
// ANCHOR_END: messages

/// A name for this run of the client that no other client has: 64 random bits, in hex. The standard
/// library's `RandomState` is seeded from the operating system's randomness, which is all this needs.
pub fn client_id() -> String {
    format!("{:016x}", RandomState::new().hash_one(std::process::id()))
}

/// `text` with its control characters written out, so that what others send stays on one line (chapter 7).
pub fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

// ---- One connection ------------------------------------------------------------------------------------------

// ANCHOR: link
/// How long connecting may take, each of its two steps.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the client waits for the acknowledgement of one try before it tries again.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the client keeps trying to reconnect before it gives up on the server.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(30);
/// The pause between two attempts to reconnect.
pub const RECONNECT_PAUSE: Duration = Duration::from_millis(200);
/// The pause before trying again a message the server refused as one too many (chapter 6's rate limit).
pub const SLOW_DOWN_PAUSE: Duration = Duration::from_millis(250);
/// The server's refusal of a message sent too fast: nothing was stored, and it may be sent again later.
pub const SLOW_DOWN: &str = "too many messages: at most 5 a second";
/// How long the client waits, once its input has ended, for its own last message to come back to it.
pub const LAST_ECHO_TIMEOUT: Duration = Duration::from_secs(5);

/// Why one try at sending went nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lost {
    /// The connection is gone (or the message could not be handed to it): nobody knows whether the server has
    /// the message.
    Disconnected,
    /// No acknowledgement came within [`ACK_TIMEOUT`]: nobody knows either.
    NoAnswer,
    /// The server refused it as one too many, and stored nothing; [`SLOW_DOWN_PAUSE`] has passed since.
    TooFast,
}

/// The client's connection to the server, and what it has seen of the log.
///
/// Everything the server sends is shown as it arrives, through your `show`, which decides what is new. A
/// connection that breaks is not reopened by itself: [`Link::reconnect`] does that, with the offset seen so
/// far in the handshake's auth, so that the server replays what was missed.
pub struct Link {
    args: Args,
    client: Client,
    connected: Arc<AtomicBool>,
    /// The highest offset shown so far: what the next connection asks the server to start after.
    seen: Arc<Mutex<u64>>,
    /// The same, for whoever waits for a message to be shown.
    shown: Arc<watch::Sender<u64>>,
}

impl Link {
    /// Connects for the first time.
    pub async fn connect(args: &Args) -> Result<Link, String> {
        let (seen, shown) = (Arc::new(Mutex::new(0)), Arc::new(watch::Sender::new(0)));
        let (client, connected) = open(args, &seen, &shown).await?;
        Ok(Link { args: args.clone(), client, connected, seen, shown })
    }

    /// Waits, at most `limit`, until the message at `offset` has been shown (or a later one): the client's
    /// own message comes back to it from the server like everyone's.
    pub async fn wait_until_shown(&self, offset: u64, limit: Duration) {
        let mut shown = self.shown.subscribe();
        let _ = timeout(limit, shown.wait_for(|shown| *shown >= offset)).await;
    }

    /// Whether the connection is still up, as far as the client knows.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// One try: emits `message` as `chat message` and waits at most [`ACK_TIMEOUT`] for its acknowledgement.
    pub async fn try_send(&self, message: &Outgoing) -> Result<Ack, Lost> {
        if !self.is_connected() {
            return Err(Lost::Disconnected);
        }
        let (answer, acknowledged) = oneshot::channel();
        let mut answer = Some(answer);
        let on_ack = move |payload: Payload, _: Client| {
            if let Some(answer) = answer.take() {
                let _ = answer.send(ack_argument(payload));
            }
            async {}.boxed()
        };
        let data = serde_json::to_value(message).map_err(|_| Lost::Disconnected)?;
        // The library forgets the callback after ACK_TIMEOUT too, so a late answer to this try cannot be
        // taken for the answer to the next.
        if self.client.emit_with_ack("chat message", data, ACK_TIMEOUT, on_ack).await.is_err() {
            return Err(Lost::Disconnected);
        }
        match timeout(ACK_TIMEOUT, acknowledged).await {
            Ok(Ok(ack)) => match serde_json::from_value::<Ack>(ack) {
                Ok(ack) if ack.error.as_deref() == Some(SLOW_DOWN) => {
                    tokio::time::sleep(SLOW_DOWN_PAUSE).await;
                    Err(Lost::TooFast)
                }
                Ok(ack) => Ok(ack),
                Err(_) => Err(Lost::NoAnswer),
            },
            Ok(Err(_)) | Err(_) if !self.is_connected() => Err(Lost::Disconnected),
            Ok(Err(_)) | Err(_) => Err(Lost::NoAnswer),
        }
    }

    /// Closes this connection (if it is still open) and opens a new one, asking the server for everything
    /// after the offset seen so far; tries again every [`RECONNECT_PAUSE`] for up to [`GIVE_UP_AFTER`].
    pub async fn reconnect(&mut self) -> Result<(), String> {
        let _ = self.client.disconnect().await;
        let deadline = Instant::now() + GIVE_UP_AFTER;
        loop {
            match open(&self.args, &self.seen, &self.shown).await {
                Ok((client, connected)) => {
                    (self.client, self.connected) = (client, connected);
                    eprintln!("reconnected to {}", self.args.url);
                    return Ok(());
                }
                Err(reason) if Instant::now() >= deadline => {
                    return Err(format!("lost the server at {}: {reason}", self.args.url));
                }
                Err(_) => tokio::time::sleep(RECONNECT_PAUSE).await,
            }
        }
    }

    /// Disconnects politely.
    pub async fn close(self) {
        let _ = self.client.disconnect().await;
    }
}

/// Opens one connection as `args.name`, with the offset seen so far, and returns once the server has
/// accepted the socket (chapter 7's `connect`).
async fn open(
    args: &Args,
    seen: &Arc<Mutex<u64>>,
    shown: &Arc<watch::Sender<u64>>,
) -> Result<(Client, Arc<AtomicBool>), String> {
    let server_offset = *lock(seen);
    let connected = Arc::new(AtomicBool::new(false));
    let (status, mut answer) = mpsc::unbounded_channel::<Result<(), String>>();
    let (welcomed, on_connect, on_error, on_close) =
        (status.clone(), connected.clone(), connected.clone(), connected.clone());
    let (seen, shown) = (Arc::clone(seen), Arc::clone(shown));
    let builder = ClientBuilder::new(args.url.as_str())
        .transport_type(rust_socketio::TransportType::Websocket)
        .auth(json!({ "name": args.name, "serverOffset": server_offset }))
        .reconnect(false)
        .on(Event::Connect, move |_, _| {
            on_connect.store(true, Ordering::SeqCst);
            let _ = welcomed.send(Ok(()));
            async {}.boxed()
        })
        .on(Event::Error, move |payload, _| {
            on_error.store(false, Ordering::SeqCst);
            let _ = status.send(Err(first_argument(payload).to_string()));
            async {}.boxed()
        })
        .on(Event::Close, move |_, _| {
            on_close.store(false, Ordering::SeqCst);
            async {}.boxed()
        })
        .on_any(move |event, payload, _| {
            if event.as_str() == "chat message"
                && let Ok(post) = serde_json::from_value::<Post>(first_argument(payload))
            {
                let (line, now) = {
                    let mut seen = lock(&seen);
                    (crate::show(&mut seen, &post), *seen)
                };
                if let Some(line) = line {
                    println!("{line}");
                }
                shown.send_replace(now);
            }
            async {}.boxed()
        });
    let client = match timeout(CONNECT_TIMEOUT, builder.connect()).await {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => return Err(innermost(&error)),
        Err(_) => return Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    };
    match timeout(CONNECT_TIMEOUT, answer.recv()).await {
        Ok(Some(Ok(()))) => Ok((client, connected)),
        Ok(Some(Err(reason))) => {
            let _ = client.disconnect().await;
            Err(reason)
        }
        Ok(None) | Err(_) => {
            let _ = client.disconnect().await;
            Err(format!("the server did not accept the socket within {CONNECT_TIMEOUT:?}"))
        }
    }
}
// ANCHOR_END: link

fn lock(seen: &Mutex<u64>) -> std::sync::MutexGuard<'_, u64> {
    seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The innermost of a chain of errors: what actually happened (chapter 7's `reason`).
fn innermost(error: &(dyn Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

fn first_argument(payload: Payload) -> Value {
    match payload {
        Payload::Text(mut values) if !values.is_empty() => values.swap_remove(0),
        Payload::Text(_) => Value::Null,
        #[allow(deprecated)]
        Payload::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        Payload::Binary(bytes) => Value::Array(bytes.iter().map(|byte| Value::from(*byte)).collect()),
    }
}

/// An acknowledgement's first argument: rust_socketio hands over the whole argument list (chapter 7).
fn ack_argument(payload: Payload) -> Value {
    match first_argument(payload) {
        Value::Array(mut arguments) if !arguments.is_empty() => arguments.swap_remove(0),
        Value::Array(_) => Value::Null,
        other => other,
    }
}

// ---- The program ---------------------------------------------------------------------------------------------

/// The lines of the standard input, as they are typed; the channel closes at the end of input (chapter 7).
pub fn stdin_lines() -> mpsc::Receiver<String> {
    let (lines, received) = mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if lines.blocking_send(line).is_err() {
                break;
            }
        }
    });
    received
}

// ANCHOR: run
/// The whole program: connect (or say why not, exit 1), print `connected to URL as NAME`, then put every
/// non-blank line of the input in the outbox and send it with your `send_reliably`, one at a time, in order;
/// a refusal is printed as `! rejected: REASON`. At the end of the input, once every line has been answered
/// and the last one has come back: disconnect, exit 0. If the server is lost for good: exit 1.
pub async fn run(args: Args, mut lines: mpsc::Receiver<String>) -> ExitCode {
    let mut link = match Link::connect(&args).await {
        Ok(link) => link,
        Err(reason) => {
            eprintln!("error: cannot connect to {}: {reason}", args.url);
            return ExitCode::FAILURE;
        }
    };
    println!("connected to {} as {}", args.url, args.name);
    let mut outbox = crate::Outbox::new(client_id());
    let mut last_stored = 0;
    while let Some(line) = lines.recv().await {
        if line.trim().is_empty() {
            continue;
        }
        let message = outbox.stamp(line);
        match crate::send_reliably(&mut link, &message).await {
            Ok(Ack { ok: true, offset, .. }) => last_stored = offset.unwrap_or(last_stored),
            Ok(Ack { error, .. }) => println!("! rejected: {}", error.unwrap_or_else(|| "no reason given".into())),
            Err(reason) => {
                eprintln!("error: {reason}");
                return ExitCode::FAILURE;
            }
        }
    }
    // An acknowledgement can overtake the message itself (a client that is still being caught up after a
    // reconnection gets its own message in the replay): leave once it is shown.
    link.wait_until_shown(last_stored, LAST_ECHO_TIMEOUT).await;
    link.close().await;
    ExitCode::SUCCESS
}
// ANCHOR_END: run

/// `main`: the arguments, then [`run`] on the standard input.
pub async fn program() -> ExitCode {
    let program = env!("CARGO_BIN_NAME");
    match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => run(args, stdin_lines()).await,
        Ok(None) => {
            println!("{}", usage(program));
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}\n{}", usage(program));
            ExitCode::from(2)
        }
    }
}
