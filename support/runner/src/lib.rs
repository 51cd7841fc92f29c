//! What every chapter's server shares and no chapter teaches.
//!
//! Every exercise that builds a server has a `main` of one line: `runner::run(app()).await`. This crate does
//! the part that is the same in all of them: read the command line (`--port`, and the limits below), bind the
//! listener, print the URL to open, serve until Ctrl-C, then let open requests finish. The tests run this very
//! program with `--port 0` and read the URL it prints.
//!
//! It also keeps every server within bounds that no chapter should have to think about (the kit's
//! invariant 9; each chapter's "Limits" section gives the numbers):
//!
//! - a client has [`HEADER_READ_TIMEOUT`] to send a request's headers, once connected and between requests:
//!   a connection that says nothing, or one byte at a time (slowloris), is closed;
//! - at most `--max-connections` connections are open at once (default [`DEFAULT_MAX_CONNECTIONS`]); past
//!   that, a new one is closed at once, so the server never runs out of file descriptors;
//! - a peer that stops reading can hold up a write for at most [`WRITE_STALL_LIMIT`]: then its connection is
//!   closed, and whatever waited on it (a broadcast, a close) goes on;
//! - a request from a web page of another origin (its `Origin` header) is refused with 403, so that no page
//!   the user visits can talk to their local chat. The server's own origins are allowed, and any other given
//!   with `--allow-origin`;
//! - every response carries headers that tell the browser to run only the server's own scripts
//!   (`Content-Security-Policy`) and never to guess a file's type (`X-Content-Type-Options: nosniff`).
//!
//! From chapter 4 on, the chat page loads the official Socket.IO browser client from our own server, as the
//! Node.js server of the original tutorial does: [`socket_io_client`] serves it from the npm package.

mod limits;
mod origin;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use tokio::net::TcpListener;

pub use limits::{DEFAULT_MAX_CONNECTIONS, HEADER_READ_TIMEOUT, WRITE_STALL_LIMIT};

/// The port a server listens on when `--port` is not given.
pub const DEFAULT_PORT: u16 = 3000;

/// The database file of a server that keeps its messages (chapter 9 on) when `--db` is not given.
pub const DEFAULT_DATABASE: &str = "chat.db";

/// What the channels of the nodes on one Redis start with when `--redis-prefix` is not given.
pub const DEFAULT_REDIS_PREFIX: &str = "chat";

/// What the command line asks of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub port: u16,
    /// Origins allowed besides the server's own (`--allow-origin https://chat.example.com`).
    pub allowed_origins: Vec<String>,
    pub max_connections: usize,
    /// Where the messages are kept (`--db chat.db`; `:memory:` keeps them in memory only).
    pub database: PathBuf,
    /// The Redis server that several nodes share (`--redis redis://127.0.0.1:6379`), if any.
    pub redis: Option<String>,
    /// What this chat's channels on that Redis start with (`--redis-prefix`), so that several chats can share
    /// one Redis without hearing each other.
    pub redis_prefix: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            port: DEFAULT_PORT,
            allowed_origins: Vec::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            database: PathBuf::from(DEFAULT_DATABASE),
            redis: None,
            redis_prefix: DEFAULT_REDIS_PREFIX.to_owned(),
        }
    }
}

/// The options a server takes besides the port and the limits, which every server takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Takes {
    /// `--db PATH`: the server keeps its messages in a database.
    pub database: bool,
    /// `--redis URL`: the server is one node of several.
    pub redis: bool,
}

impl Takes {
    pub const NOTHING_MORE: Takes = Takes { database: false, redis: false };
    pub const DATABASE: Takes = Takes { database: true, redis: false };
    pub const DATABASE_AND_REDIS: Takes = Takes { database: true, redis: true };
}

/// Serves `app` on 127.0.0.1 with the settings of the command line, until Ctrl-C.
///
/// Errors (a bad argument, a port already in use) are printed as one line and turn into a failing exit code,
/// so `cargo run` ends with a sentence rather than a panic.
pub async fn run(app: Router) -> ExitCode {
    run_with(Takes::NOTHING_MORE, async move |_| Ok(app)).await
}

/// Like [`run`], for a server that needs its settings to build its app: `build` opens the database of
/// `--db`, say. An error from `build` is printed as one line, and the server does not start.
pub async fn run_with<F>(takes: Takes, build: F) -> ExitCode
where
    F: AsyncFnOnce(&Settings) -> Result<Router, String>,
{
    let program = std::env::args().next().unwrap_or_else(|| "server".into());
    let settings = match parse(std::env::args().skip(1), takes) {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            println!("{}", usage(&program, takes));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n{}", usage(&program, takes));
            return ExitCode::from(2);
        }
    };
    let app = match build(&settings).await {
        Ok(app) => app,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    match serve(app, &settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn usage(program: &str, takes: Takes) -> String {
    let mut usage = format!(
        "usage: {program} [--port PORT] [--allow-origin ORIGIN]... [--max-connections N]{}{}\n  \
         --port PORT          where to listen on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)\n  \
         --allow-origin URL   let pages from this origin connect too, as in https://chat.example.com\n  \
         --max-connections N  connections open at once (default {DEFAULT_MAX_CONNECTIONS})",
        if takes.database { " [--db PATH]" } else { "" },
        if takes.redis { " [--redis URL [--redis-prefix PREFIX]]" } else { "" },
    );
    if takes.database {
        usage.push_str(&format!(
            "\n  --db PATH            the SQLite file that keeps the messages (default {DEFAULT_DATABASE}; \
             :memory: keeps them in memory only)"
        ));
    }
    if takes.redis {
        usage.push_str(&format!(
            "\n  --redis URL          the Redis server the nodes share, as in redis://127.0.0.1:6379\n  \
             --redis-prefix NAME  what this chat's channels on that Redis start with (default \
             {DEFAULT_REDIS_PREFIX})"
        ));
    }
    usage
}

// ANCHOR: serve
/// Binds the listener, prints where it listens, and serves `app` within the kit's limits until Ctrl-C.
pub async fn serve(app: Router, settings: &Settings) -> std::io::Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, settings.port));
    let listener = TcpListener::bind(address).await.map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot listen on {address}: {error} (is another server using that port? try --port 0)"),
        )
    })?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}/  (Ctrl-C to stop)");
    serve_on(listener, app, settings, ctrl_c()).await?;
    println!("stopped");
    Ok(())
}
// ANCHOR_END: serve

/// Serves `app` on an already bound `listener`, within the kit's limits, until `shutdown` resolves. This is
/// what [`serve`] does after printing the address; the tests' reference server uses it directly.
pub async fn serve_on(
    listener: TcpListener,
    app: Router,
    settings: &Settings,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    // Requests from a web page of another origin are refused; the page's own headers say what may run.
    let origins = Arc::new(origin::Allowed::new(port, &settings.allowed_origins));
    let app = origin::guard(security_headers(app), origins);
    limits::serve(listener, app, settings.max_connections, shutdown).await;
    Ok(())
}

async fn ctrl_c() {
    // If the signal handler cannot be installed there is nothing to wait for: serve until killed.
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The page's security headers, on every response that does not set its own.
///
/// `Content-Security-Policy` lets the page run only scripts from its own server (no inline script, none
/// injected by a message), connect only to its own server, and never be framed by another site.
fn security_headers(app: Router) -> Router {
    use tower_http::set_header::SetResponseHeaderLayer;
    const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                          img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                          form-action 'self'; frame-ancestors 'none'";
    app.layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY)))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
}

/// Serves a page's script, `static/chat.js`, as JavaScript: `.route("/chat.js", runner::script(CHAT_SCRIPT))`.
///
/// The page's script lives in a file of its own, not inline in the page, so that the page's
/// `Content-Security-Policy` can forbid inline scripts, the usual way in for cross-site scripting.
pub fn script<S: Clone + Send + Sync + 'static>(source: &'static str) -> MethodRouter<S> {
    get(move || async move { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], source) })
}

/// Where `npm ci` puts the browser bundle of `socket.io-client`, pinned by the kit's `package-lock.json`.
const SOCKET_IO_CLIENT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../node_modules/socket.io-client/dist/socket.io.js");

/// Serves the official Socket.IO browser client at `/socket.io/socket.io.js`.
///
/// The file comes from the npm package, installed by `npm ci` at the kit's root and never copied into the
/// repository. It is read when asked for, so a server started before `npm ci` serves it once it exists.
pub async fn socket_io_client() -> Response {
    match tokio::fs::read(SOCKET_IO_CLIENT).await {
        Ok(script) => ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], script).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the Socket.IO browser client is not installed: run `npm ci` in the kit's folder \
             (`cargo xtask check` does it too), then reload the page\n",
        )
            .into_response(),
    }
}

/// Reads the command line. `Ok(None)` means help was asked for.
fn parse(mut args: impl Iterator<Item = String>, takes: Takes) -> Result<Option<Settings>, String> {
    let mut settings = Settings::default();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| inline.clone().or_else(|| args.next()).ok_or(format!("{flag} needs {what}"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" | "-p" => {
                let port = value("a number, as in --port 3000")?;
                settings.port =
                    port.parse().map_err(|_| format!("--port takes a number from 0 to 65535, not {port:?}"))?;
            }
            "--allow-origin" => {
                let origin = value("an origin, as in --allow-origin https://chat.example.com")?;
                settings.allowed_origins.push(origin::normalise(&origin)?);
            }
            "--max-connections" => {
                let count = value("a number, as in --max-connections 1000")?;
                settings.max_connections = count
                    .parse()
                    .ok()
                    .filter(|count| *count > 0)
                    .ok_or(format!("--max-connections takes a positive number, not {count:?}"))?;
            }
            "--db" if takes.database => {
                let path = value("a file, as in --db chat.db")?;
                if path.is_empty() {
                    return Err("--db takes a file, as in --db chat.db".into());
                }
                settings.database = PathBuf::from(path);
            }
            "--redis" if takes.redis => {
                let url = value("a URL, as in --redis redis://127.0.0.1:6379")?;
                if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                    return Err(format!("--redis takes a URL that starts with redis://, not {url:?}"));
                }
                settings.redis = Some(url);
            }
            "--redis-prefix" if takes.redis => {
                let prefix = value("a name, as in --redis-prefix chat")?;
                if prefix.is_empty() || prefix.chars().any(|c| c.is_control() || c.is_whitespace()) {
                    return Err(format!("--redis-prefix takes a name without spaces, not {prefix:?}"));
                }
                settings.redis_prefix = prefix;
            }
            "--db" => return Err("this server keeps no messages, so it takes no --db (chapter 9 adds one)".into()),
            "--redis" => return Err("this server runs alone, so it takes no --redis (chapter 11 adds it)".into()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Some(settings))
}

/// How long the server gives open requests to finish after Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Option<Settings>, String> {
        parse(args.iter().map(|arg| arg.to_string()), Takes::NOTHING_MORE)
    }

    fn parse_all(args: &[&str]) -> Result<Option<Settings>, String> {
        parse(args.iter().map(|arg| arg.to_string()), Takes::DATABASE_AND_REDIS)
    }

    #[test]
    fn the_port_defaults_and_parses_both_spellings() {
        assert_eq!(parse_args(&[]), Ok(Some(Settings::default())));
        assert_eq!(parse_args(&["--port", "8080"]).map(|s| s.map(|s| s.port)), Ok(Some(8080)));
        assert_eq!(parse_args(&["--port=0"]).map(|s| s.map(|s| s.port)), Ok(Some(0)));
        assert_eq!(parse_args(&["--help"]), Ok(None));
    }

    #[test]
    fn limits_and_origins_are_read() {
        let settings =
            parse_args(&["--allow-origin", "https://Chat.Example.com/", "--max-connections=20"]).unwrap().unwrap();
        assert_eq!(settings.allowed_origins, ["https://chat.example.com"]);
        assert_eq!(settings.max_connections, 20);
    }

    #[test]
    fn bad_arguments_are_explained() {
        assert!(parse_args(&["--port"]).unwrap_err().contains("needs a number"));
        assert!(parse_args(&["--port", "70000"]).unwrap_err().contains("0 to 65535"));
        assert!(parse_args(&["--verbose"]).unwrap_err().contains("unexpected argument"));
        assert!(parse_args(&["--max-connections", "0"]).unwrap_err().contains("positive number"));
        assert!(parse_args(&["--allow-origin", "chat.example.com"]).unwrap_err().contains("http://"));
    }

    #[test]
    fn a_database_and_redis_only_where_the_server_takes_them() {
        assert!(parse_args(&["--db", "chat.db"]).unwrap_err().contains("takes no --db"));
        assert!(parse_args(&["--redis", "redis://127.0.0.1:1"]).unwrap_err().contains("takes no --redis"));
        let settings = parse_all(&[]).unwrap().unwrap();
        assert_eq!((settings.database, settings.redis), (PathBuf::from("chat.db"), None));
        let settings = parse_all(&["--db=:memory:", "--redis", "redis://127.0.0.1:6379/?protocol=resp3"]).unwrap();
        let settings = settings.unwrap();
        assert_eq!(settings.database, PathBuf::from(":memory:"));
        assert_eq!(settings.redis.as_deref(), Some("redis://127.0.0.1:6379/?protocol=resp3"));
        assert!(parse_all(&["--db", ""]).unwrap_err().contains("takes a file"));
        assert!(parse_all(&["--redis", "127.0.0.1:6379"]).unwrap_err().contains("redis://"));
        let settings = parse_all(&["--redis-prefix", "test-7"]).unwrap().unwrap();
        assert_eq!(settings.redis_prefix, "test-7");
        assert_eq!(parse_all(&[]).unwrap().unwrap().redis_prefix, "chat");
        assert!(parse_all(&["--redis-prefix", "a b"]).unwrap_err().contains("without spaces"));
    }
}
