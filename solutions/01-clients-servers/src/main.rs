//! Chapter 1, reference solution: a router with the chat page and a health route.
//!
//! `cargo run -p sol01-clients-servers -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

use axum::Router;
use axum::response::Html;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

/// The chat page. It belongs to the exercise (students read and may restyle it), so the solution serves
/// the exercise's own copy rather than keeping a second one that could drift.
const CHAT_PAGE: &str = include_str!("../../../exercises/01-clients-servers/static/index.html");

/// The server's routes. axum answers 404 for unknown paths and 405 for a wrong method on its own.
fn app() -> Router {
    Router::new().route("/", get(chat_page)).route("/health", get(health))
}

/// `Html` sets `Content-Type: text/html; charset=utf-8`, so the browser renders the page instead of showing it.
async fn chat_page() -> Html<&'static str> {
    Html(CHAT_PAGE)
}

/// A `&str` body is sent as `text/plain; charset=utf-8`.
async fn health() -> &'static str {
    "ok"
}
