//! A finished chat server, for tests that exercise a *client* (chapter 7 on).
//!
//! This is test support, not a chapter's solution: exercises must not depend on solution crates, so a test
//! that needs a real server to talk to starts this one. It speaks exactly chapter 6's protocol, written as
//! plainly as possible:
//!
//! - a client may send the auth `{"name": "alice"}`; a missing, blank or over-long name becomes `anonymous`;
//! - on connect, `user joined` `{"name"}` goes to everyone but the newcomer;
//! - `chat message` `{"text"}` is checked (trimmed, not empty, at most 500 characters); a valid one goes to
//!   everyone, the sender included, as `chat message` `{"name", "text"}`, and is then acknowledged with
//!   `{"ok": true}`; anything else is acknowledged with `{"ok": false, "error": REASON}` and goes nowhere;
//! - on disconnect, `user left` `{"name"}` goes to everyone still connected;
//! - chapter 5's limits on packet sizes, and chapter 6's rate limit ([`BURST`], [`PER_SECOND`]).

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SocketIo};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The longest message, in characters (not bytes).
pub const MAX_TEXT_CHARS: usize = 500;
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// The name of a client that gave none.
pub const ANONYMOUS: &str = "anonymous";
/// The error acknowledged for a blank message.
pub const EMPTY: &str = "the message is empty";
/// The error acknowledged for a message over [`MAX_TEXT_CHARS`].
pub const TOO_LONG: &str = "the message is longer than 500 characters";
/// The error acknowledged for a payload that is not `{"text": "..."}`.
pub const MALFORMED: &str = "expected {\"text\": \"...\"}";
/// How many messages a client may send at once, and how many a second after that.
pub const BURST: u32 = 10;
pub const PER_SECOND: u32 = 5;
/// The error acknowledged for a message over that rate.
pub const SLOW_DOWN: &str = "too many messages: at most 5 a second";

/// The reference chat server, listening on 127.0.0.1 at a free port; dropping it stops the server.
///
/// It is the kit's code, not the student's, so it runs inside the test process, on the test's runtime.
pub struct ReferenceServer {
    address: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl ReferenceServer {
    /// The address and port it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

/// Starts the reference chat server on 127.0.0.1, on a free port, for the length of a test.
pub async fn chat_server() -> ReferenceServer {
    serve(app()).await
}

/// The same server, but slow to admit the client called `name`: it answers that client's CONNECT only after
/// `delay`, as a server that looks a name up first would. Everyone else is admitted at once. A client that
/// believes it is connected before the server's answer (chapter 7's pitfall) then misses what happens
/// meanwhile, every time, instead of once in a while.
pub async fn chat_server_admitting_slowly(name: &str, delay: Duration) -> ReferenceServer {
    serve(app_admitting_slowly(Some((name.to_owned(), delay)))).await
}

async fn serve(app: Router) -> ReferenceServer {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("the test could not bind a port on 127.0.0.1; is the loopback interface up?");
    let address = listener.local_addr().expect("a bound listener has an address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        // The kit's runner, with its limits, as for every chapter's server. An error here would be an accept
        // error on a healthy loopback listener; the test notices it as a failed connection.
        let _ = runner::serve_on(listener, app, &runner::Settings::default(), shutdown).await;
    });
    ReferenceServer { address, _stop: stop }
}

/// The reference server's router: the Socket.IO layer and its handler for the namespace `/`.
pub fn app() -> Router {
    app_admitting_slowly(None)
}

fn app_admitting_slowly(slow: Option<(String, Duration)>) -> Router {
    // Chapter 5's limits, and no binary attachments (chapter 4).
    let (layer, io) = SocketIo::builder()
        .max_payload(16 * 1024)
        .ws_max_message_size(4 * 1024)
        .ws_max_frame_size(4 * 1024)
        .with_parser(ParserConfig::common().max_incoming_binaries(0))
        .build_layer();
    // As in chapter 6: the listeners in a connect middleware, which runs before the client is told it is
    // connected; the announcement in the connect handler, which runs after.
    let admit = async move |socket: SocketRef, TryData(auth): TryData<Value>| {
        let name = name_from(auth.ok().as_ref());
        if let Some((slow_name, delay)) = &slow
            && *slow_name == name
        {
            tokio::time::sleep(*delay).await;
        }
        listen(socket, name)
    };
    io.ns("/", announce.with(admit));
    Router::new().layer(layer)
}

fn listen(socket: SocketRef, name: String) -> Result<(), Infallible> {
    let allowance = Arc::new(Mutex::new(Allowance::new()));

    let speaker = name.clone();
    socket.on("chat message", async move |io: SocketIo, TryData(message): TryData<Value>, ack: AckSender| {
        let allowed = allowance.lock().map(|mut allowance| allowance.take()).unwrap_or(false);
        let answer = match message.map_err(|_| MALFORMED).and_then(|message| validate(&message)) {
            _ if !allowed => json!({ "ok": false, "error": SLOW_DOWN }),
            Ok(text) => {
                // Sent before the acknowledgement, so the sender sees its message first. An error here
                // means some recipient is already gone; the others have their copy.
                let _ = io.emit("chat message", &json!({ "name": speaker, "text": text })).await;
                json!({ "ok": true })
            }
            Err(reason) => json!({ "ok": false, "error": reason }),
        };
        let _ = ack.send(&answer);
    });

    socket.on_disconnect(async move |socket: SocketRef| {
        let _ = socket.broadcast().emit("user left", &json!({ "name": name })).await;
    });
    Ok(())
}

async fn announce(socket: SocketRef, TryData(auth): TryData<Value>) {
    let name = name_from(auth.ok().as_ref());
    let _ = socket.broadcast().emit("user joined", &json!({ "name": name })).await;
}

/// Chapter 6's rate limit: a bucket of [`BURST`] messages that refills at [`PER_SECOND`] a second.
struct Allowance {
    tokens: f64,
    since: Instant,
}

impl Allowance {
    fn new() -> Allowance {
        Allowance { tokens: f64::from(BURST), since: Instant::now() }
    }

    fn take(&mut self) -> bool {
        let refill = self.since.elapsed().as_secs_f64() * f64::from(PER_SECOND);
        self.tokens = (self.tokens + refill).min(f64::from(BURST));
        self.since = Instant::now();
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        allowed
    }
}

/// The name in an auth payload `{"name": "..."}`, trimmed, or [`ANONYMOUS`].
fn name_from(auth: Option<&Value>) -> String {
    let name = auth.and_then(|auth| auth.get("name")).and_then(Value::as_str).map(str::trim).unwrap_or("");
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS { ANONYMOUS.to_owned() } else { name.to_owned() }
}

/// The trimmed text of `{"text": "..."}`, or the reason it is refused.
fn validate(message: &Value) -> Result<String, &'static str> {
    let text = message.get("text").and_then(Value::as_str).ok_or(MALFORMED)?.trim();
    if text.is_empty() {
        Err(EMPTY)
    } else if text.chars().count() > MAX_TEXT_CHARS {
        Err(TOO_LONG)
    } else {
        Ok(text.to_owned())
    }
}
