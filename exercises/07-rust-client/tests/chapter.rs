//! Chapter 7's graded tests: `cargo test -p ex07-rust-client`.
//!
//! Each test runs your program, as a user would: with arguments, lines on its standard input, and a chat
//! server to talk to (a finished one, from the test support, speaking chapter 6's protocol). A second client,
//! the "observer", sits in the chat and checks what your program sends; your program's output is compared
//! with snapshots in `tests/snapshots/`, the server's address and port replaced by `[address]`.

// The reference solution runs these very tests, against its own program. You never need to turn its
// `solution` feature on.
#[cfg(not(feature = "solution"))]
const PROGRAM: &str = env!("CARGO_BIN_EXE_ex07-rust-client");
#[cfg(feature = "solution")]
const PROGRAM: &str = env!("CARGO_BIN_EXE_sol07-rust-client");

use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use serde_json::{Value, json};
use testkit::cli::{Finished, Running};
use testkit::reference::{self, ReferenceServer};
use testkit::sio::{self, Options, SioClient};
use testkit::{Chapter, Program, Section};

const CHAPTER: Chapter = Chapter { number: 7, title: "A client in Rust", page: "book/src/07-rust-client.md" };
const PROGRAM_TOO: Section = CHAPTER.section("A client is a program too");
const CONNECTING: Section = CHAPTER.section("Connecting");
const SENDING: Section = CHAPTER.section("Sending lines");
const PRINTING: Section = CHAPTER.section("Printing events");
const UNREACHABLE: Section = CHAPTER.section("When the server is not there");

/// The longest a whole run of the program may take: connecting, a few messages, disconnecting.
const RUN_LIMIT: Duration = Duration::from_secs(10);

/// Runs the program to its end with `input` on its standard input, as `echo ... | program ARGS` would.
async fn run_to_end(args: &[&str], input: &str, section: Section) -> Finished {
    testkit::cli::run_to_end(&Program::new(PROGRAM), args, input, RUN_LIMIT, section).await
}

/// Starts the program with its standard input open, for a test that talks to it while it runs.
fn start(args: &[&str]) -> Running {
    Running::start(&Program::new(PROGRAM), args)
}

fn url(server: &ReferenceServer) -> String {
    format!("http://{}", server.address())
}

/// `output` with the server's address and port replaced, so that a snapshot is the same on every run.
fn redacted(output: &str, server: &ReferenceServer) -> String {
    output.replace(&server.address().to_string(), "[address]")
}

/// Checks the program's whole standard output, line by line, against what it should print.
fn assert_printed(finished: &Finished, server: &ReferenceServer, expected: &[&str], section: Section) {
    let printed = redacted(&finished.stdout, server);
    let printed: Vec<&str> = printed.lines().collect();
    assert_eq!(
        printed,
        expected,
        "the program's standard output, line by line (the server's address shown as [address]), is not what it \
         should be.\n{}\nRead: {section}",
        finished.transcript()
    );
}

/// A second client in the chat, the one that checks what the program under test sends.
async fn observer(server: &ReferenceServer, section: Section) -> SioClient {
    let options = Options { auth: Some(json!({ "name": "observer" })), ..Options::default() };
    sio::connect_with(server.address(), options, section).await
}

/// What the observer hears next, as `(event, data)`.
async fn hears(observer: &mut SioClient, what: &str) -> (String, Value) {
    let received = observer.next_event(what).await;
    (received.event, received.data)
}

fn said(name: &str, text: &str) -> (String, Value) {
    ("chat message".to_owned(), json!({ "name": name, "text": text }))
}

fn notice(event: &str, name: &str) -> (String, Value) {
    (event.to_owned(), json!({ "name": name }))
}

/// Said wherever an unanswered line can fail a test: the chapter's pitfall is its likeliest cause.
const SENT_TOO_EARLY: &str = "a line sent before the server has accepted the socket (before `Event::Connect`: \
                              chapter 7, section \"Connecting\") is never answered";

#[tokio::test]
async fn sends_each_line_and_exits_at_end_of_input() {
    let server = reference::chat_server().await;
    let mut observer = observer(&server, SENDING).await;

    let url = url(&server);
    let input = "hello\n\n   \nhow is everyone?\nbye for now\n";
    let finished = run_to_end(&["--name", "cli", "--url", &url], input, SENDING).await;
    let meaning = format!("the input ended and every line was answered; {SENT_TOO_EARLY}");
    finished.assert_exit(0, &meaning, PROGRAM_TOO);

    let expected = [
        notice("user joined", "cli"),
        said("cli", "hello"),
        said("cli", "how is everyone?"),
        said("cli", "bye for now"),
        notice("user left", "cli"),
    ];
    for (n, expected) in expected.into_iter().enumerate() {
        let heard = hears(&mut observer, &format!("event {} of the program's visit", n + 1)).await;
        assert_eq!(
            heard,
            expected,
            "the observer hears the program join, say each non-blank line in order as `chat message` \
             {{\"text\": LINE}}, and leave.\n{}\nRead: {SENDING}",
            finished.transcript()
        );
    }
    // The program sees its own messages too: the server sends them to everyone.
    let expected = ["connected to http://[address] as cli", "cli: hello", "cli: how is everyone?", "cli: bye for now"];
    assert_printed(&finished, &server, &expected, PRINTING);
    insta::assert_snapshot!("sends_each_line", redacted(&finished.stdout, &server));
}

/// How long the reference server takes to admit the program in the test of this chapter's pitfall.
const SLOW_ADMISSION: Duration = Duration::from_millis(500);

#[tokio::test]
async fn prints_what_others_say_as_it_happens() {
    // The server answers the program's CONNECT only after half a second: a program that says it is connected
    // before that answer (the `Event::Connect` callback) is not in the chat yet when the observer arrives.
    let server = reference::chat_server_admitting_slowly("cli", SLOW_ADMISSION).await;
    let url = url(&server);
    let mut program = start(&["--name", "cli", "--url", &url]);

    let connected = program.expect_line("the line \"connected to URL as NAME\"", CONNECTING).await;
    assert_eq!(
        connected,
        format!("connected to {url} as cli"),
        "once the server has accepted the socket, the program says so, in one line.\nRead: {CONNECTING}"
    );

    // Only now is the program surely in the chat (the Connect callback came): the observer joins and talks.
    let observer = observer(&server, PRINTING).await;
    let what = "the notice that the observer joined (a program that says `connected` before the server has \
                accepted its socket, before the `Event::Connect` callback, is not in the chat yet, and misses it)";
    let joined = program.expect_line(what, CONNECTING).await;
    assert_eq!(
        joined, "* observer joined",
        "`user joined` {{\"name\": NAME}} is printed as \"* NAME joined\".\nRead: {PRINTING}"
    );

    // Texts come from other people: a line break or a terminal escape must not reach the terminal as such.
    let messages = [
        ("hello from the observer", "observer: hello from the observer"),
        ("two\nlines", r"observer: two\nlines"),
        ("\u{1b}[2Jdid the screen clear?", r"observer: \u{1b}[2Jdid the screen clear?"),
    ];
    for (text, shown) in messages {
        let ack = observer.emit_with_ack("chat message", json!({ "text": text })).await;
        assert_eq!(ack, json!({ "ok": true }), "the reference server refused {text:?}: a bug in the test support");
        let line = program.expect_line(&format!("the observer's message {text:?}"), PRINTING).await;
        assert_eq!(
            line, shown,
            "`chat message` {{\"name\", \"text\"}} is printed as \"NAME: TEXT\" on one line, its control characters \
             written out by `printable`.\nRead: {PRINTING}"
        );
    }
    observer.disconnect().await;
    let left = program.expect_line("the notice that the observer left", PRINTING).await;
    assert_eq!(
        left, "* observer left",
        "`user left` {{\"name\": NAME}} is printed as \"* NAME left\".\nRead: {PRINTING}"
    );

    // End of input: the program leaves on its own.
    let finished = program.finish(PROGRAM_TOO).await;
    finished.assert_exit(0, "the input ended", PROGRAM_TOO);
    let expected = ["connected to http://[address] as cli", "* observer joined"]
        .into_iter()
        .chain(messages.iter().map(|(_, shown)| *shown))
        .chain(["* observer left"])
        .collect::<Vec<_>>();
    assert_printed(&finished, &server, &expected, PRINTING);
    insta::assert_snapshot!("prints_what_others_say", redacted(&finished.stdout, &server));
}

#[tokio::test]
async fn a_rejected_line_is_reported_and_the_client_carries_on() {
    let server = reference::chat_server().await;
    let mut observer = observer(&server, SENDING).await;

    let url = url(&server);
    let too_long = "x".repeat(reference::MAX_TEXT_CHARS + 1);
    let input = format!("first\n{too_long}\nlast\n");
    let finished = run_to_end(&["--name", "cli", "--url", &url], &input, SENDING).await;
    let meaning = format!("a refused line is the server's answer, not a failure; {SENT_TOO_EARLY}");
    finished.assert_exit(0, &meaning, SENDING);

    let expected = [notice("user joined", "cli"), said("cli", "first"), said("cli", "last")];
    for (n, expected) in expected.into_iter().enumerate() {
        let heard = hears(&mut observer, &format!("event {} of the program's visit", n + 1)).await;
        assert_eq!(
            heard,
            expected,
            "after a refused line, the program carries on with the next one.\n{}\nRead: {SENDING}",
            finished.transcript()
        );
    }
    let rejected = format!("! rejected: {}", reference::TOO_LONG);
    let expected = ["connected to http://[address] as cli", "cli: first", &rejected, "cli: last"];
    assert_printed(&finished, &server, &expected, SENDING);
    insta::assert_snapshot!("a_rejected_line", redacted(&finished.stdout, &server));
}

#[tokio::test]
async fn an_unreachable_server_is_reported_in_one_line() {
    // A port that was free a moment ago and has nobody listening now: connecting to it is refused at once.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("the test could not bind a port on 127.0.0.1");
    let address = listener.local_addr().expect("a bound listener has an address");
    drop(listener);
    let url = format!("http://{address}");

    let finished = run_to_end(&["--name", "cli", "--url", &url], "never sent\n", UNREACHABLE).await;
    finished.assert_exit(1, "the conventional \"it failed\"; 2 is for wrong arguments", UNREACHABLE);
    let prefix = format!("error: cannot connect to {url}: ");
    let lines: Vec<&str> = finished.stderr.lines().collect();
    let [line] = lines.as_slice() else {
        panic!(
            "the standard error should hold one line, \"{prefix}REASON\"; it holds {}.\n{}\nRead: {UNREACHABLE}",
            lines.len(),
            finished.transcript()
        );
    };
    let reason = line.strip_prefix(&prefix).unwrap_or_else(|| {
        panic!("the line should start with {prefix:?}.\n{}\nRead: {UNREACHABLE}", finished.transcript())
    });
    assert!(
        !reason.trim().is_empty() && !reason.contains("EngineIO Error"),
        "REASON should say what happened (\"Connection refused ...\"), not just that something did: {reason:?}.\n\
         Read: {UNREACHABLE}"
    );
    assert!(
        finished.stdout.is_empty(),
        "nothing was connected, so nothing goes to the standard output.\n{}\nRead: {UNREACHABLE}",
        finished.transcript()
    );
    // The reason's wording is the operating system's ("Connection refused (os error 111)" on Linux): the
    // snapshot keeps the rest of the line.
    let shape = finished.stderr.replace(reason, "[reason]").replace(&address.to_string(), "[address]");
    insta::assert_snapshot!("unreachable", shape);
}

#[tokio::test]
async fn missing_name_is_a_usage_error() {
    let usage = format!(
        "usage: {} --name NAME [--url URL]   (default URL http://127.0.0.1:3000)",
        Program::new(PROGRAM).name()
    );
    for args in [&[][..], &["--url", "http://127.0.0.1:3000"][..], &["--name"][..], &["--name", "cli", "--loud"][..]] {
        let finished = run_to_end(args, "", PROGRAM_TOO).await;
        finished.assert_exit(2, "the usual code for wrong arguments", PROGRAM_TOO);
        assert!(
            finished.stderr.starts_with("error: ") && finished.stderr.contains(&usage) && finished.stdout.is_empty(),
            "with the arguments {args:?}, the program says what is wrong and how to use it, on the standard error \
             (\"error: ...\", then {usage:?}), and nothing on the standard output.\n{}\nRead: {PROGRAM_TOO}",
            finished.transcript()
        );
    }
}
