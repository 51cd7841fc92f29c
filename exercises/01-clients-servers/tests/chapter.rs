//! Chapter 1's graded tests: `cargo test -p ex01-clients-servers`.
//!
//! Each test starts your program (`cargo run -p ex01-clients-servers` runs the same one) on a free port of
//! 127.0.0.1 and talks to it over real TCP connections, the way a browser would. The manifest (`course.toml`)
//! gives each test its points.

// The reference solution runs these very tests, against its own program. You never need to turn its
// `solution` feature on.
#[cfg(not(feature = "solution"))]
const PROGRAM: &str = env!("CARGO_BIN_EXE_ex01-clients-servers");
#[cfg(feature = "solution")]
const PROGRAM: &str = env!("CARGO_BIN_EXE_sol01-clients-servers");

use std::collections::HashSet;

use testkit::{Chapter, Section, Server, http};

/// The page the server must serve, byte for byte: the exercise's `static/index.html`.
const CHAT_PAGE: &str = include_str!("../static/index.html");

const CHAPTER: Chapter = Chapter { number: 1, title: "Clients and servers", page: "book/src/01-clients-servers.md" };
const ROUTES: Section = CHAPTER.section("Routes and handlers");
const CONTENT_TYPES: Section = CHAPTER.section("Saying what the body is");
const STATUS_CODES: Section = CHAPTER.section("Status codes");
const MANY_CLIENTS: Section = CHAPTER.section("One server, many clients");

#[tokio::test]
async fn health_route_answers_ok() {
    let server = Server::start(PROGRAM, ROUTES).await;
    let response = http::get(server.address(), "/health", ROUTES).await;
    assert_eq!(response.status, 200, "GET /health should answer 200 OK.\nRead: {ROUTES}");
    assert_eq!(response.body, "ok", "GET /health should answer with the text \"ok\", nothing more.\nRead: {ROUTES}");
}

#[tokio::test]
async fn chat_page_is_served_as_html() {
    let server = Server::start(PROGRAM, ROUTES).await;
    let response = http::get(server.address(), "/", ROUTES).await;
    assert_eq!(response.status, 200, "GET / should answer 200 OK with the chat page.\nRead: {ROUTES}");
    let content_type = response.header("content-type").unwrap_or("(none)");
    assert_eq!(
        content_type, "text/html; charset=utf-8",
        "the chat page must be labelled as HTML in UTF-8, or the browser shows its source instead of rendering it.\nRead: {CONTENT_TYPES}"
    );
    assert_eq!(
        response.body, CHAT_PAGE,
        "GET / should answer with the chat page from static/index.html, unchanged.\nRead: {ROUTES}"
    );
}

#[tokio::test]
async fn chat_page_has_a_form_and_a_message_list() {
    let server = Server::start(PROGRAM, ROUTES).await;
    let response = http::get(server.address(), "/", ROUTES).await;
    // The page's structure: a message list and a form with an input and a button, as the snapshot shows.
    insta::assert_snapshot!("chat_page_outline", testkit::html::outline(&response.body));
}

#[tokio::test]
async fn unknown_path_is_not_found() {
    let server = Server::start(PROGRAM, ROUTES).await;
    let response = http::get(server.address(), "/no-such-page", STATUS_CODES).await;
    assert_eq!(
        response.status, 404,
        "a path the server does not serve should answer 404 Not Found.\nRead: {STATUS_CODES}"
    );
}

#[tokio::test]
async fn wrong_method_is_refused() {
    let server = Server::start(PROGRAM, ROUTES).await;
    let response = http::request(server.address(), "DELETE", "/health", STATUS_CODES).await;
    assert_eq!(
        response.status, 405,
        "/health exists but only for GET: DELETE should answer 405 Method Not Allowed, not 404 and not 200.\nRead: {STATUS_CODES}"
    );
}

#[tokio::test]
async fn fifty_clients_at_once_are_all_answered() {
    const CLIENTS: usize = 50;
    let server = Server::start(PROGRAM, ROUTES).await;
    // Fifty clients, each on its own TCP connection, all in flight at the same time.
    let requests = (0..CLIENTS).map(|_| http::get(server.address(), "/health", MANY_CLIENTS));
    let responses = testkit::join_all(requests).await;

    let answered = responses.iter().filter(|response| response.status == 200 && response.body == "ok").count();
    assert_eq!(
        answered, CLIENTS,
        "all {CLIENTS} clients should get 200 \"ok\", but {answered} did.\nRead: {MANY_CLIENTS}"
    );
    // One server address and port for everyone; each client came from a port of its own.
    let client_ports: HashSet<u16> = responses.iter().map(|response| response.client_address.port()).collect();
    assert_eq!(
        client_ports.len(),
        CLIENTS,
        "each client connects from its own port, so the server can tell them apart.\nRead: {MANY_CLIENTS}"
    );
}
