//! Chapter 4's graded tests: `cargo test -p ex04-socket-io`.
//!
//! Each test starts your program (the one `cargo run -p ex04-socket-io` runs) on a free port. Some speak Engine.IO by hand over plain HTTP and a raw
//! WebSocket, to show exactly what goes over the wire; the others use a real Socket.IO client.

// The reference solution runs these very tests, against its own program. You never need to turn its
// `solution` feature on.
#[cfg(not(feature = "solution"))]
const PROGRAM: &str = env!("CARGO_BIN_EXE_ex04-socket-io");
#[cfg(feature = "solution")]
const PROGRAM: &str = env!("CARGO_BIN_EXE_sol04-socket-io");

use serde_json::{Value, json};
use testkit::sio::{self, Options, TransportType};
use testkit::ws::{self, WsClient};
use testkit::{Chapter, Section, Server, http};

const CHAPTER: Chapter = Chapter { number: 4, title: "Socket.IO", page: "book/src/04-socket-io.md" };
const MOUNTING: Section = CHAPTER.section("Mounting Socket.IO on axum");
const HANDSHAKE: Section = CHAPTER.section("The handshake is plain HTTP");
const POLLING: Section = CHAPTER.section("Long-polling");
const UPGRADE: Section = CHAPTER.section("The upgrade to WebSocket");
const EVENTS: Section = CHAPTER.section("Events over the connection");

/// The page the server must serve, byte for byte: the exercise's `static/index.html`.
const CHAT_PAGE: &str = include_str!("../static/index.html");

/// The page's script, byte for byte: the exercise's `static/chat.js`.
const CHAT_SCRIPT: &str = include_str!("../static/chat.js");

/// What the `welcome` event carries.
const WELCOME: &str = "welcome";

/// The Engine.IO handshake: `GET /socket.io/?EIO=4&transport=polling`, answered by an "open" packet.
async fn handshake(server: &Server) -> (http::Response, Value) {
    let response = http::get(server.address(), "/socket.io/?EIO=4&transport=polling", HANDSHAKE).await;
    assert_eq!(response.status, 200, "the handshake is an ordinary GET answered 200 OK.\nRead: {HANDSHAKE}");
    let Some(open) = response.body.strip_prefix('0') else {
        panic!(
            "the handshake's answer is an \"open\" packet: type 0, then JSON; got {:?}.\nRead: {HANDSHAKE}",
            response.body
        );
    };
    let open: Value = serde_json::from_str(open).unwrap_or_else(|error| {
        panic!("the open packet's JSON does not parse ({error}): {open:?}.\nRead: {HANDSHAKE}")
    });
    (response, open)
}

fn session_id(open: &Value) -> String {
    open["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("the open packet has no \"sid\": {open}.\nRead: {HANDSHAKE}"))
        .to_owned()
}

#[tokio::test]
async fn handshake_is_a_plain_http_get() {
    let server = Server::start(PROGRAM, MOUNTING).await;
    let (response, mut open) = handshake(&server).await;
    assert!(
        response.header("content-type").is_some_and(|value| value.starts_with("text/plain")),
        "a polling answer is plain text: Engine.IO packets, one after another.\nRead: {HANDSHAKE}"
    );
    // The session id is random; everything else in the open packet is the server's configuration.
    assert!(!session_id(&open).is_empty());
    open["sid"] = json!("[session id]");
    insta::assert_snapshot!("open_packet", serde_json::to_string_pretty(&open).unwrap_or_default());
}

#[tokio::test]
async fn polling_only_client_is_welcomed() {
    let server = Server::start(PROGRAM, MOUNTING).await;
    let options = Options { transport: TransportType::Polling, ..Options::default() };
    let mut client = sio::connect_with(server.address(), options, POLLING).await;
    let welcome = client.expect_event("welcome", "the welcome event, over long-polling").await;
    assert_eq!(welcome, json!(WELCOME), "Read: {EVENTS}");
}

#[tokio::test]
async fn polling_only_client_sends_and_receives() {
    let server = Server::start(PROGRAM, MOUNTING).await;
    let options = Options { transport: TransportType::Polling, ..Options::default() };
    let mut client = sio::connect_with(server.address(), options, POLLING).await;
    client.expect_event("welcome", "the welcome event").await;
    client.emit("echo", json!({ "over": "long-polling", "n": 1 })).await;
    let echo = client.expect_event("echo", "the echo of what the client emitted, over long-polling").await;
    assert_eq!(echo, json!({ "over": "long-polling", "n": 1 }), "the echo carries the data unchanged.\nRead: {EVENTS}");
}

#[tokio::test]
async fn websocket_only_client_sends_and_receives() {
    let server = Server::start(PROGRAM, MOUNTING).await;
    let options = Options { transport: TransportType::Websocket, ..Options::default() };
    let mut client = sio::connect_with(server.address(), options, UPGRADE).await;
    client.expect_event("welcome", "the welcome event, over a WebSocket").await;
    client.emit("echo", json!(["a", 2, null])).await;
    let echo = client.expect_event("echo", "the echo, over a WebSocket").await;
    assert_eq!(echo, json!(["a", 2, null]), "the echo carries the data unchanged.\nRead: {EVENTS}");
}

#[tokio::test]
async fn client_upgrades_from_polling_to_websocket() {
    let server = Server::start(PROGRAM, MOUNTING).await;
    let (_, open) = handshake(&server).await;
    assert_eq!(
        open["upgrades"],
        json!(["websocket"]),
        "the open packet offers the WebSocket upgrade.\nRead: {UPGRADE}"
    );
    let sid = session_id(&open);
    let polling = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");

    // A polling client always has a GET waiting for the server's next packets. The first one collects the
    // server's first heartbeat ping (`2`), answered by a POST of `3`; the second one is held open: the server
    // has nothing to say yet.
    let first = http::get(server.address(), &polling, UPGRADE).await;
    assert_eq!(first.body, "2", "the first poll collects the server's heartbeat ping.\nRead: {UPGRADE}");
    let pong = http::post(server.address(), &polling, "3", UPGRADE).await;
    assert_eq!(pong.status, 200, "the pong is posted like any packet.\nRead: {UPGRADE}");
    let held = tokio::spawn(http::get(server.address(), &polling, UPGRADE));

    // The same session, over a WebSocket. Once the server has agreed to the upgrade, it answers the held GET
    // with a noop (`6`), so that the polling side lets go.
    let path = format!("/socket.io/?EIO=4&transport=websocket&sid={sid}");
    let mut socket = ws::connect(server.address(), &path, UPGRADE).await;
    let held = held.await.unwrap_or_else(|error| panic!("the held GET failed: {error}"));
    assert_eq!(
        (held.status, held.body.as_str()),
        (200, "6"),
        "the GET that was waiting is answered with a noop packet, 6, when the upgrade starts.\nRead: {UPGRADE}"
    );

    // Probe the WebSocket, then switch to it.
    socket.send_text("2probe").await;
    let probe = next_packet(&mut socket, "the answer to the probe, \"3probe\"").await;
    assert_eq!(probe, "3probe", "the server answers a ping probe with a pong probe.\nRead: {UPGRADE}");
    socket.send_text("5").await; // "upgrade": from now on this session speaks over the WebSocket only

    // Socket.IO's CONNECT to the namespace "/", now over the upgraded transport.
    socket.send_text("40").await;
    let connected = next_packet(&mut socket, "the namespace's CONNECT answer, 40{...}").await;
    assert!(
        connected.starts_with("40{"),
        "the server accepts the namespace with 40{{\"sid\":...}}, got {connected:?}.\nRead: {UPGRADE}"
    );
    let welcome = next_packet(&mut socket, "the welcome event as a Socket.IO EVENT packet").await;
    assert_eq!(welcome, format!("42[\"welcome\",{}]", json!(WELCOME)), "Read: {EVENTS}");
}

/// The next Engine.IO packet that is not about the connection's health. The server pings (`2`) whenever its
/// heartbeat says so, the first time right after the handshake, and expects a pong (`3`); `6` is a no-op.
async fn next_packet(socket: &mut WsClient, what: &str) -> String {
    loop {
        let packet = socket.expect_text(what).await;
        match packet.as_str() {
            "2" => socket.send_text("3").await,
            "6" => {}
            _ => return packet,
        }
    }
}

#[tokio::test]
async fn page_loads_the_official_client() {
    let server = Server::start(PROGRAM, MOUNTING).await;
    let page = http::get(server.address(), "/", MOUNTING).await;
    assert_eq!(page.body, CHAT_PAGE, "GET / still serves the page.\nRead: {MOUNTING}");
    insta::assert_snapshot!("page_outline", testkit::html::outline(&page.body));

    // The page's own script, in a file of its own: the page's security policy runs no inline script.
    let own = http::get(server.address(), "/chat.js", MOUNTING).await;
    assert!(
        own.status == 200
            && own.body == CHAT_SCRIPT
            && own.header("content-type").is_some_and(|v| v.contains("javascript")),
        "GET /chat.js should answer with static/chat.js, as JavaScript (`runner::script(CHAT_SCRIPT)`); got {} {:?}.\n\
         Read: {MOUNTING}",
        own.status,
        own.header("content-type")
    );

    // The script's route must answer, not the Socket.IO layer (which would call it a bad handshake).
    let script = http::get(server.address(), "/socket.io/socket.io.js", MOUNTING).await;
    let served =
        script.status == 200 && script.header("content-type").is_some_and(|value| value.contains("javascript"));
    let not_installed = script.status == 503 && script.body.contains("npm ci");
    assert!(
        served || not_installed,
        "GET /socket.io/socket.io.js should be answered by `runner::socket_io_client`, routed after the layer; \
         got {} {:?}.\nRead: {MOUNTING}",
        script.status,
        script.body.chars().take(120).collect::<String>()
    );
}
