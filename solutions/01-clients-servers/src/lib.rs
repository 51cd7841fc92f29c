//! Chapter 1, reference solution: a router with the chat page and a health route.

use axum::Router;
use axum::response::Html;
use axum::routing::get;

/// The chat page. It belongs to the exercise (students read and may restyle it), so the solution serves
/// the exercise's own copy rather than keeping a second one that could drift.
pub const CHAT_PAGE: &str = include_str!("../../../exercises/01-clients-servers/static/index.html");

/// The server's routes. axum answers 404 for unknown paths and 405 for a wrong method on its own.
pub fn app() -> Router {
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
