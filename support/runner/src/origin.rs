//! Refusing requests that web pages of other sites make to this server.
//!
//! A page the user visits can open a WebSocket to any address, `ws://127.0.0.1:3000` included: browsers
//! apply no same-origin rule to WebSockets. What they do is say where the page came from, in the request's
//! `Origin` header, which a page cannot forge. So the server checks it: a request that carries an `Origin`
//! must come from one of the server's own origins (`http://127.0.0.1:PORT`, `http://localhost:PORT`,
//! `http://[::1]:PORT`) or from one given with `--allow-origin`; anything else gets 403 Forbidden.
//!
//! A request without `Origin` is not a cross-site one (a page's own same-origin `GET`s have none) or does not
//! come from a browser at all (a command-line client, a test): it is let through. The allowed origins are a
//! fixed list, not "whatever the `Host` header says": a site that points its own name at 127.0.0.1 (DNS
//! rebinding) gets an `Origin` with its own name, and is refused.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

/// The origins allowed to make requests, each as `scheme://host[:port]`, lower case.
#[derive(Debug)]
pub struct Allowed {
    origins: Vec<String>,
}

impl Allowed {
    pub fn new(port: u16, extra: &[String]) -> Allowed {
        let mut origins: Vec<String> =
            ["127.0.0.1", "localhost", "[::1]"].iter().map(|host| format!("http://{host}:{port}")).collect();
        origins.extend(extra.iter().cloned());
        Allowed { origins }
    }

    fn permits(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        self.origins.contains(&origin)
    }
}

/// Wraps every route of `app` in the origin check.
pub fn guard(app: Router, allowed: Arc<Allowed>) -> Router {
    app.layer(middleware::from_fn_with_state(allowed, check))
}

async fn check(State(allowed): State<Arc<Allowed>>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).map(|value| value.to_str().unwrap_or("(not text)"));
    match origin {
        Some(origin) if !allowed.permits(origin) => {
            let message = format!(
                "refused: a page from {origin} may not talk to this server. If that page is yours, start the \
                 server with --allow-origin {origin}\n"
            );
            (StatusCode::FORBIDDEN, message).into_response()
        }
        _ => next.run(request).await,
    }
}

/// `https://Chat.Example.com/` → `https://chat.example.com`; an origin is a scheme, a host and a port.
pub fn normalise(origin: &str) -> Result<String, String> {
    let lower = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = lower.strip_prefix("http://").or_else(|| lower.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains('/') => Ok(lower),
        _ => Err(format!(
            "--allow-origin takes an origin (a scheme, a host and maybe a port: http://... or https://...), \
             not {origin:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_origins_and_given_ones_are_allowed_and_nothing_else() {
        let allowed = Allowed::new(3000, &["https://chat.example.com".to_owned()]);
        for origin in
            ["http://127.0.0.1:3000", "http://localhost:3000", "http://LOCALHOST:3000/", "https://chat.example.com"]
        {
            assert!(allowed.permits(origin), "{origin}");
        }
        for origin in ["http://evil.example", "http://127.0.0.1:3001", "null", "http://evil.example:3000"] {
            assert!(!allowed.permits(origin), "{origin}");
        }
    }
}
