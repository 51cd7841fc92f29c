//! Chapter 1: Clients and servers.
//!
//! Build the router of a small web server. Your server answers two routes:
//!
//! - `GET /` returns the chat page (the HTML in `static/index.html`, already loaded into `CHAT_PAGE`), with a
//!   `Content-Type` that tells the browser it is HTML;
//! - `GET /health` returns the plain text `ok`, the way load balancers check that a server is alive.
//!
//! Anything else must get the standard answers: 404 for a path nobody serves, 405 for a wrong method.
//! `cargo test -p ex01-clients-servers` checks all of it; `book/src/01-clients-servers.md` explains it.
//! `cargo run -p ex01-clients-servers -- --port 3000` runs it: then open http://127.0.0.1:3000/ in a browser.

use axum::Router;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

// ANCHOR: starter
/// The chat page, read from `static/index.html` when the program is compiled.
const CHAT_PAGE: &str = include_str!("../static/index.html");

/// The server's routes.
fn app() -> Router {
    // TODO: a `Router` with a route for `/` (the chat page, as HTML) and one for `/health` (the text "ok").
    let _ = CHAT_PAGE;
    todo!("chapter 1, section \"Routes and handlers\": build the router")
}
// ANCHOR_END: starter
