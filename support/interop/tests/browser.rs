//! A real browser: headless Chromium, driven through chromedriver, chatting on chapter 6's page.
//!
//! The chapters' tests check the server's protocol; only a browser shows that the page, the official
//! Socket.IO browser client our server serves, and the server work together as a person uses them: type a
//! line, press Send, and see it appear in every open window, in order, as text and never as markup.
//!
//! Each window is its own WebDriver session, so its own Chromium with its own fresh profile: two people, not
//! two tabs sharing one. Every wait polls the page through WebDriver until an element appears, with a limit;
//! nothing sleeps for a fixed time.
//!
//! Needs chromium, chromedriver and `npm ci` (the page loads socket.io-client from node_modules); without
//! them the check is reported as skipped, by name (see `interop::harness`).

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use harness::Check;
use harness::{Need, find_on_path};
use interop::Served;
use interop::chromedriver::Chromedriver;
use serde_json::{Value, json};
use testkit::proxy::{Direction, Fault, FaultProxy};
use testkit::redis::RedisServer;

const NEEDS: &[Need] =
    &[Need::Program("chromium"), Need::Program("chromedriver"), Need::NpmPackage("socket.io-client")];

/// The other checks take a minute or more in all: the first self-check on a new machine runs the one above,
/// and leaves these to `cargo xtask check --full` (CI runs it).
const NEEDS_TIME: &[Need] =
    &[Need::Program("chromium"), Need::Program("chromedriver"), Need::NpmPackage("socket.io-client"), Need::FullCheck];

/// The checks with two nodes also need a redis-server.
const NEEDS_REDIS: &[Need] = &[
    Need::Program("chromium"),
    Need::Program("chromedriver"),
    Need::NpmPackage("socket.io-client"),
    Need::Program("redis-server"),
    Need::FullCheck,
];

/// How long one thing a person would see "at once" may take to appear (a browser on a busy CI machine).
const WAIT: Duration = Duration::from_secs(10);
/// The whole check, browsers' start-up included.
const CHECK_LIMIT: Duration = Duration::from_secs(90);

/// Chromium's flags. Headless, no sandbox (CI runs as root), and none of the background traffic a browser
/// starts on its own (updates, sync, field trials): it would go to the internet, which this kit never needs,
/// and on a machine without internet it stalls the start-up.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

fn main() -> ExitCode {
    harness::run(vec![
        Check::new("ch06::two_windows_chat_in_order_and_markup_stays_text", NEEDS, two_windows_chat),
        Check::new(
            "ch08::typing_shows_and_a_private_message_reaches_only_its_addressee",
            NEEDS_TIME,
            rooms_and_whispers,
        ),
        Check::new("ch09::a_window_that_was_away_or_a_restarted_server_loses_nothing", NEEDS_TIME, nothing_lost),
        Check::new("ch10::a_lost_acknowledgement_or_a_broken_connection_shows_each_message_once", NEEDS_TIME, retried),
        Check::new("ch12::two_windows_chat_in_two_rooms", NEEDS_TIME, two_rooms),
        Check::new(
            "ch12::a_window_cut_off_or_a_restarted_server_loses_nothing_and_shows_nothing_twice",
            NEEDS_TIME,
            cut_off,
        ),
        Check::new("ch12::two_windows_on_two_nodes_chat_through_redis", NEEDS_REDIS, two_nodes),
    ])
}

/// Chapter 6's page in two windows, alice's and bob's: what one sends appears in both, in the order sent; a
/// message that looks like HTML is shown as exactly those characters and creates no element; a window that
/// closes is announced in the other.
fn two_windows_chat() {
    let served = Served::start("sol06-broadcasting");
    let chromedriver = Chromedriver::start().unwrap_or_else(|error| panic!("{error}"));
    served.runtime.block_on(async {
        let conversation = conversation(&chromedriver, &served);
        if tokio::time::timeout(CHECK_LIMIT, conversation).await.is_err() {
            panic!("the browser check did not finish within {CHECK_LIMIT:?}");
        }
    });
}

async fn conversation(chromedriver: &Chromedriver, served: &Served) {
    let browsers = Browsers { chromedriver, opened: RefCell::new(Vec::new()) };
    let outcome = AssertUnwindSafe(async {
        // alice first, alone: her own message coming back shows that her page is connected.
        let alice = browsers.open("alice", &served.url("/?name=alice")).await;
        alice.say("hello").await;
        alice.wait_for_line("alice: hello").await;
        let bob = browsers.open("bob", &served.url("/?name=bob")).await;
        alice.wait_for_line("* bob joined").await;
        chat(&alice, &bob).await;
        // bob closes his browser: his socket goes, and the server tells everyone still there.
        bob.close().await;
        alice.wait_for_line("* bob left").await;
    })
    .catch_unwind()
    .await;
    // Whatever happened, every browser is closed before the check ends (and then a panic goes on).
    browsers.close_all().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Chapter 8's page in three windows: alice's typing shows in bob's window and stops when she sends; her
/// private message to bob appears in his window and hers, and not in carol's.
fn rooms_and_whispers() {
    let served = Served::start("sol08-rooms-presence");
    let chromedriver = Chromedriver::start().unwrap_or_else(|error| panic!("{error}"));
    served.runtime.block_on(async {
        let browsers = Browsers { chromedriver: &chromedriver, opened: RefCell::new(Vec::new()) };
        let outcome = AssertUnwindSafe(async {
            let alice = browsers.open("alice", &served.url("/?name=alice")).await;
            let bob = browsers.open("bob", &served.url("/?name=bob")).await;
            alice.wait_for_line("* bob joined").await;
            let carol = browsers.open("carol", &served.url("/?name=carol")).await;
            alice.wait_for_line("* carol joined").await;
            bob.wait_for_line("* carol joined").await;

            // Keys pressed in alice's window, not sent: bob sees that she is typing.
            alice.press_keys("hello, b").await;
            bob.wait_for_typing("alice is typing…").await;
            alice.press_keys("ob\u{E007}").await; // and Enter: the message goes, the typing stops
            bob.wait_for_line("alice: hello, bob").await;
            alice.wait_for_line("me: hello, bob").await;
            bob.wait_for_typing("").await;

            alice.say("/msg bob just between us").await;
            bob.wait_for_line("(private) alice: just between us").await;
            alice.wait_for_line("(private to bob) me: just between us").await;
            alice.say("and to everyone").await;
            carol.wait_for_line("alice: and to everyone").await;
            let lines = carol.lines().await;
            assert_eq!(
                lines,
                ["alice: hello, bob", "alice: and to everyone"],
                "carol's window shows alice's messages to the lobby, and nothing of her private one"
            );
        })
        .catch_unwind()
        .await;
        browsers.close_all().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

/// Chapter 9's page in two windows: bob goes offline (the page's button) while alice sends, and comes back
/// with everything, once; then the server is killed, alice sends while it is down (her page keeps the
/// message until it can send it), the server starts again on the same database, and both windows end with
/// the same history, each message once, in the order of the log.
fn nothing_lost() {
    let folder = tempfile::tempdir().expect("a temporary folder for the database");
    let database = folder.path().join("chat.db");
    let database = database.to_str().expect("a UTF-8 path").to_owned();
    let mut served = Served::start_with("sol09-server-delivery", &["--db", &database], &[folder.path()]);
    let chromedriver = Chromedriver::start().unwrap_or_else(|error| panic!("{error}"));
    let url = |name: &str| served.url(&format!("/?name={name}"));
    let (alice_url, bob_url) = (url("alice"), url("bob"));
    let Served { server, runtime } = &mut served;
    runtime.block_on(async {
        let browsers = Browsers { chromedriver: &chromedriver, opened: RefCell::new(Vec::new()) };
        let outcome = AssertUnwindSafe(async {
            let alice = browsers.open("alice", &alice_url).await;
            let bob = browsers.open("bob", &bob_url).await;
            bob.wait_for_state("connected").await;
            alice.say("one").await;
            bob.wait_for_line("alice: one").await;

            bob.toggle().await;
            bob.wait_for_state("offline").await;
            alice.say("two").await;
            alice.say("three").await;
            alice.wait_for_line("alice: three").await;
            bob.toggle().await;
            bob.wait_for_line("alice: three").await;
            let so_far = ["alice: one", "alice: two", "alice: three"];
            assert_eq!(bob.lines().await, so_far, "bob's window after he came back: what he missed, once, in order");

            // SIGKILL, then a message while the server is down.
            server.kill().await;
            alice.wait_for_state("offline").await;
            alice.say("four").await;
            server.restart().await;
            for window in [&alice, &bob] {
                window.wait_for_line("alice: four").await;
                let mut expected = so_far.to_vec();
                expected.push("alice: four");
                assert_eq!(
                    window.lines().await,
                    expected,
                    "{}'s window after the server was killed and started again: the same history, each message once",
                    window.name
                );
            }
            let pending = alice.client.find_all(Locator::Css("#messages > li.pending")).await.expect("find li.pending");
            assert!(pending.is_empty(), "alice's page still shows {} message(s) as being sent", pending.len());
        })
        .catch_unwind()
        .await;
        browsers.close_all().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

/// Chapter 10's page, alice's window behind the fault proxy, bob's not: the acknowledgement of alice's first
/// message is swallowed (her page sends it again after its ackTimeout), and her connection dies with her
/// second message on its way (her page reconnects and sends it again). Each window shows each message once.
fn retried() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime");
    // The page in alice's window comes from the proxy, so its origin is the proxy's, which the server allows.
    let proxy = runtime.block_on(FaultProxy::listen());
    let origin = format!("http://{}", proxy.address());
    let served = Served::start_with("sol10-client-delivery", &["--db", ":memory:", "--allow-origin", &origin], &[]);
    proxy.forward_to(served.server.address());
    let chromedriver = Chromedriver::start().unwrap_or_else(|error| panic!("{error}"));
    runtime.block_on(async {
        let browsers = Browsers { chromedriver: &chromedriver, opened: RefCell::new(Vec::new()) };
        let outcome = AssertUnwindSafe(async {
            let alice = browsers.open("alice", &format!("{origin}/?name=alice")).await;
            let bob = browsers.open("bob", &served.url("/?name=bob")).await;
            assert!(
                proxy.wait_for_websockets(1, WAIT).await,
                "alice's page should upgrade to a WebSocket through the proxy"
            );
            alice.wait_for_state("connected").await;

            let ack_of_one = |text: &str| text.starts_with("43") && text.contains("\"offset\":1}");
            proxy.on(Direction::ToClient, 1, Fault::Swallow, ack_of_one);
            alice.say("one").await;
            bob.wait_for_line("alice: one").await;
            alice.wait_for_line("alice: one").await;
            alice.wait_for_no_pending().await;

            let two = |text: &str| text.starts_with("42") && text.contains("\"two\"");
            proxy.on(Direction::ToServer, 1, Fault::SwallowAndCut, two);
            alice.say("two").await;
            bob.wait_for_line("alice: two").await;
            alice.wait_for_line("alice: two").await;
            alice.wait_for_no_pending().await;
            assert_eq!(proxy.faults_to_come(), 0, "both faults happened");
            for window in [&alice, &bob] {
                assert_eq!(
                    window.lines().await,
                    ["alice: one", "alice: two"],
                    "{}'s window: each message once, through a lost acknowledgement and a broken connection",
                    window.name
                );
            }
        })
        .catch_unwind()
        .await;
        browsers.close_all().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

/// Runs `body`, then closes every browser it opened, however it ended (and then a panic goes on).
async fn closing_all(browsers: &Browsers<'_>, body: impl std::future::Future<Output = ()>) {
    let outcome = AssertUnwindSafe(body).catch_unwind().await;
    browsers.close_all().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Chapter 12's page in two windows: both join `rust`; what alice says there shows in bob's `rust`, what she
/// says in the lobby shows in his lobby, and neither room shows the other's.
fn two_rooms() {
    let folder = tempfile::tempdir().expect("a temporary folder for the database");
    let database = folder.path().join("chat.db");
    let database = database.to_str().expect("a UTF-8 path").to_owned();
    let served = Served::start_with("sol12-finished-chat", &["--db", &database], &[folder.path()]);
    let chromedriver = Chromedriver::start().unwrap_or_else(|error| panic!("{error}"));
    let browsers = Browsers { chromedriver: &chromedriver, opened: RefCell::new(Vec::new()) };
    served.runtime.block_on(closing_all(&browsers, async {
        let alice = browsers.open("alice", &served.url("/?name=alice")).await;
        let bob = browsers.open("bob", &served.url("/?name=bob")).await;
        alice.wait_for_line("* bob joined").await;
        for window in [&alice, &bob] {
            window.say("/join rust").await;
            window.wait_for_room("rust").await;
        }
        alice.say("hello rust").await;
        bob.wait_for_line("alice: hello rust").await;
        alice.open_room("lobby").await;
        alice.say("hello lobby").await;
        alice.wait_for_line("alice: hello lobby").await;
        assert_eq!(bob.messages().await, ["alice: hello rust"], "bob's rust shows rust's messages only");
        bob.open_room("lobby").await;
        bob.wait_for_line("alice: hello lobby").await;
        assert!(
            !bob.lines().await.iter().any(|line| line == "alice: hello rust"),
            "bob's lobby does not show rust's message"
        );
    }));
}

/// Chapter 12's page, alice's window behind the fault proxy: her network goes down while bob talks in
/// their two rooms, and comes back; then the server is killed and started again under both. Each window
/// shows each message once, in its room.
fn cut_off() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime");
    let proxy = runtime.block_on(FaultProxy::listen());
    let origin = format!("http://{}", proxy.address());
    let folder = tempfile::tempdir().expect("a temporary folder for the database");
    let database = folder.path().join("chat.db");
    let database = database.to_str().expect("a UTF-8 path").to_owned();
    let mut served =
        Served::start_with("sol12-finished-chat", &["--db", &database, "--allow-origin", &origin], &[folder.path()]);
    proxy.forward_to(served.server.address());
    let chromedriver = Chromedriver::start().unwrap_or_else(|error| panic!("{error}"));
    let bob_url = served.url("/?name=bob");
    let browsers = Browsers { chromedriver: &chromedriver, opened: RefCell::new(Vec::new()) };
    let server = &mut served.server;
    runtime.block_on(closing_all(&browsers, async {
        let alice = browsers.open("alice", &format!("{origin}/?name=alice")).await;
        let bob = browsers.open("bob", &bob_url).await;
        alice.wait_for_line("* bob joined").await;
        for window in [&alice, &bob] {
            window.say("/join rust").await;
            window.wait_for_room("rust").await;
        }
        bob.say("before").await;
        alice.wait_for_line("bob: before").await;

        // alice's network goes down.
        proxy.refuse(true);
        proxy.cut();
        alice.wait_for_state("offline").await;
        bob.say("while you were away").await;
        bob.open_room("lobby").await;
        bob.say("to the lobby").await;
        bob.open_room("rust").await;
        bob.say("still here?").await;
        bob.wait_for_line("bob: still here?").await;
        proxy.refuse(false);
        alice.wait_for_line("bob: still here?").await;
        assert_eq!(
            alice.messages().await,
            ["bob: before", "bob: while you were away", "bob: still here?"],
            "alice's rust after her network came back: what she missed, once, in order"
        );

        // The server is killed, and started again on its database.
        server.kill().await;
        alice.wait_for_state("offline").await;
        server.restart().await;
        alice.wait_for_state("connected").await;
        bob.wait_for_state("connected").await;
        alice.say("back again").await;
        bob.wait_for_line("alice: back again").await;
        alice.wait_for_line("alice: back again").await;
        let rust = ["bob: before", "bob: while you were away", "bob: still here?", "alice: back again"];
        for window in [&alice, &bob] {
            assert_eq!(window.messages().await, rust, "{}'s rust after the restart: each message once", window.name);
        }
        alice.open_room("lobby").await;
        alice.wait_for_line("bob: to the lobby").await;
        let lobby: Vec<String> = alice.lines().await.into_iter().filter(|line| line.starts_with("bob: ")).collect();
        assert_eq!(lobby, ["bob: to the lobby"], "alice's lobby: bob's message there, once");
    }));
}

/// Chapter 12's page on two nodes of one Redis: alice on node A, bob on node B, in the lobby and in rust.
fn two_nodes() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime");
    let redis = runtime.block_on(RedisServer::start(interop_section()));
    let folder = tempfile::tempdir().expect("a temporary folder for the database");
    let database = folder.path().join("chat.db");
    let database = database.to_str().expect("a UTF-8 path").to_owned();
    let url = redis.url();
    let args = ["--db", database.as_str(), "--redis", url.as_str(), "--redis-prefix", "browsers"];
    let node_a = Served::start_with("sol12-finished-chat", &args, &[folder.path()]);
    let node_b = Served::start_with("sol12-finished-chat", &args, &[folder.path()]);
    let chromedriver = Chromedriver::start().unwrap_or_else(|error| panic!("{error}"));
    let browsers = Browsers { chromedriver: &chromedriver, opened: RefCell::new(Vec::new()) };
    runtime.block_on(closing_all(&browsers, async {
        let alice = browsers.open("alice", &node_a.url("/?name=alice")).await;
        let bob = browsers.open("bob", &node_b.url("/?name=bob")).await;
        alice.wait_for_line("* bob joined").await;
        alice.say("hello from node A").await;
        bob.wait_for_line("alice: hello from node A").await;
        for window in [&alice, &bob] {
            window.say("/join rust").await;
            window.wait_for_room("rust").await;
        }
        bob.say("rust, from node B").await;
        alice.wait_for_line("bob: rust, from node B").await;
        alice.say("/msg bob psst").await;
        bob.wait_for_line("(private) alice: psst").await;
    }));
    drop(redis);
}

fn interop_section() -> testkit::Section {
    const BROWSERS: testkit::Chapter =
        testkit::Chapter { number: 0, title: "Interoperability", page: "support/interop" };
    BROWSERS.section("a browser on two nodes")
}

async fn chat(alice: &Window, bob: &Window) {
    // Alternating senders. Each line is awaited in both windows before the next is sent: Socket.IO orders
    // the messages of one connection, not those of two people typing at once.
    let sent = [(alice, "one"), (bob, "two"), (alice, "three")];
    for (window, text) in sent {
        window.say(text).await;
        let line = format!("{}: {text}", window.name);
        alice.wait_for_line(&line).await;
        bob.wait_for_line(&line).await;
    }
    let in_order = ["alice: one", "bob: two", "alice: three"].map(String::from);
    for window in [alice, bob] {
        let lines = window.lines().await;
        assert!(
            lines.ends_with(&in_order),
            "{}'s window should end with {in_order:?}, in that order; it shows {lines:?}",
            window.name
        );
    }

    // Markup in a message is text: `textContent`, never `innerHTML`. Were it parsed, the image would fail to
    // load, its onerror would open an alert, and the next WebDriver command would fail on the open alert.
    let markup = "<img src=x onerror=alert(1)>";
    bob.say(markup).await;
    let line = format!("bob: {markup}");
    for window in [alice, bob] {
        window.wait_for_line(&line).await;
        assert_eq!(window.lines().await.last(), Some(&line), "{}'s last line, character for character", window.name);
        let images = window.client.find_all(Locator::Css("img")).await.expect("find img elements");
        assert!(images.is_empty(), "a message must never create an element: {} found an img", window.name);
    }

    // Everything alice saw, exactly: her greeting to an empty room, bob arriving, the conversation.
    assert_eq!(
        alice.lines().await,
        ["alice: hello", "* bob joined", "alice: one", "bob: two", "alice: three", &line],
        "alice's window, line by line"
    );
    assert_eq!(bob.lines().await, ["alice: one", "bob: two", "alice: three", &line], "bob's window, line by line");
}

/// The browsers a check opened, so that all of them are closed however the check ends.
struct Browsers<'a> {
    chromedriver: &'a Chromedriver,
    /// Each session with its fresh profile folder, deleted once the browser is closed.
    opened: RefCell<Vec<(Client, tempfile::TempDir)>>,
}

impl Browsers<'_> {
    /// A new Chromium (a WebDriver session of its own, with a fresh profile) showing `url`.
    async fn open(&self, name: &'static str, url: &str) -> Window {
        let profile = tempfile::tempdir().expect("a temporary folder for the browser's profile");
        let chromium = find_on_path("chromium").expect("chromium is on PATH (the harness checked)");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|flag| flag.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!("a JSON object") };
        // WebDriver over plain HTTP to 127.0.0.1: hyper's HTTP connector, no TLS.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.chromedriver.url())
            .await
            .unwrap_or_else(|error| panic!("chromedriver could not start a Chromium for {name}: {error}"));
        self.opened.borrow_mut().push((client.clone(), profile));
        if let Err(error) = client.goto(url).await {
            panic!("{name}'s browser could not load {url}: {error}");
        }
        Window { name, client }
    }

    async fn close_all(&self) {
        let opened = std::mem::take(&mut *self.opened.borrow_mut());
        for (client, _profile) in opened {
            // A session closed already answers with an error, which changes nothing.
            let _ = client.close().await;
        }
    }
}

/// One person's browser window, showing the chat page.
struct Window {
    name: &'static str,
    client: Client,
}

impl Window {
    /// Types `text` into the message field and presses Send, as a person would.
    async fn say(&self, text: &str) {
        let input = self.client.find(Locator::Id("input")).await.expect("the page has an #input field");
        input.send_keys(text).await.expect("typing into #input");
        let send = self.client.find(Locator::Css("#form button")).await.expect("the form has a Send button");
        send.click().await.expect("clicking Send");
    }

    /// Presses keys in the message field without clicking Send (`\u{E007}` is WebDriver's Enter key).
    async fn press_keys(&self, keys: &str) {
        let input = self.client.find(Locator::Id("input")).await.expect("the page has an #input field");
        input.send_keys(keys).await.expect("typing into #input");
    }

    /// Waits until the page's typing line (`#typing`) reads exactly `text`.
    async fn wait_for_typing(&self, text: &str) {
        let xpath = format!("//p[@id='typing' and . = {}]", xpath_literal(text));
        let found =
            self.client.wait().at_most(WAIT).every(Duration::from_millis(25)).for_element(Locator::XPath(&xpath)).await;
        if let Err(error) = found {
            panic!("{}'s window never showed the typing line {text:?} ({error})", self.name);
        }
    }

    /// Waits until the page shows no message as still being sent (chapter 9 on).
    async fn wait_for_no_pending(&self) {
        let script = "return document.querySelectorAll('#messages > li.pending').length;";
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let pending = self.client.execute(script, Vec::new()).await.expect("counting pending messages");
            if pending == json!(0) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}'s page still shows {pending} message(s) as being sent after {WAIT:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the page lists the room `room` and shows it (chapter 8 on: `/join` opens the room joined).
    async fn wait_for_room(&self, room: &str) {
        let xpath = format!("//ul[@id='rooms']/li[contains(@class, 'current') and . = {}]", xpath_literal(room));
        let found =
            self.client.wait().at_most(WAIT).every(Duration::from_millis(25)).for_element(Locator::XPath(&xpath)).await;
        if let Err(error) = found {
            panic!("{}'s window never showed the room {room:?} ({error})", self.name);
        }
    }

    /// Clicks the room `room` in the page's list of rooms, and waits until it is the one shown. The click is
    /// the page's own: the list is drawn again at every notice, so an element found a moment before may be
    /// gone by the time WebDriver clicks it; a script finds and clicks it in one step.
    async fn open_room(&self, room: &str) {
        let script = "const item = [...document.querySelectorAll('#rooms > li')].find((li) => li.textContent === arguments[0]);\n\
                      if (item) item.click();\n\
                      return Boolean(item);";
        let clicked = self.client.execute(script, vec![json!(room)]).await.expect("clicking a room");
        assert_eq!(clicked, json!(true), "{}'s page lists no room {room:?}", self.name);
        self.wait_for_room(room).await;
    }

    /// Clicks the page's Go offline / Go online button (chapter 9 on).
    async fn toggle(&self) {
        let button = self.client.find(Locator::Id("toggle")).await.expect("the page has a #toggle button");
        button.click().await.expect("clicking #toggle");
    }

    /// Waits until the page's connection state (`#state`, chapter 9 on) starts with `state`.
    async fn wait_for_state(&self, state: &str) {
        let xpath = format!("//p[@id='state' and starts-with(., {})]", xpath_literal(state));
        let found =
            self.client.wait().at_most(WAIT).every(Duration::from_millis(25)).for_element(Locator::XPath(&xpath)).await;
        if let Err(error) = found {
            panic!("{}'s window never said it was {state:?} ({error})", self.name);
        }
    }

    /// Waits until the message list has an item reading exactly `line` (not one still being sent: chapter 9's
    /// page shows those greyed, with the class `pending`, until the server has stored them).
    async fn wait_for_line(&self, line: &str) {
        let xpath =
            format!("//ul[@id='messages']/li[not(contains(@class, 'pending')) and . = {}]", xpath_literal(line));
        let found =
            self.client.wait().at_most(WAIT).every(Duration::from_millis(25)).for_element(Locator::XPath(&xpath)).await;
        if let Err(error) = found {
            let shown = self.lines().await;
            panic!("{}'s window never showed {line:?} ({error}); it shows {shown:?}", self.name);
        }
    }

    /// The text of every item of the message list, in order, but those still being sent.
    async fn lines(&self) -> Vec<String> {
        let script =
            "return Array.from(document.querySelectorAll('#messages > li:not(.pending)'), (item) => item.textContent);";
        let lines = self.client.execute(script, Vec::new()).await.expect("reading the message list");
        serde_json::from_value(lines).expect("a list of strings")
    }

    /// The messages of the room shown, without the notices of who joined and left (`* ...`).
    async fn messages(&self) -> Vec<String> {
        self.lines().await.into_iter().filter(|line| !line.starts_with("* ")).collect()
    }

    /// Ends the WebDriver session: chromedriver closes this Chromium.
    async fn close(&self) {
        self.client.clone().close().await.unwrap_or_else(|error| panic!("closing {}'s browser: {error}", self.name));
    }
}

/// `text` as an XPath 1.0 string literal, which has no escapes: a text with both quote kinds is spliced
/// together with `concat()`.
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|part| format!("'{part}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}
