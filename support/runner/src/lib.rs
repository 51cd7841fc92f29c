//! What every chapter's server shares and no chapter teaches.
//!
//! Every exercise that builds a server has a `main` of one line: `runner::run(app()).await`. This crate does
//! the part that is the same in all of them: read `--port` from the command line, bind the listener, print
//! the URL to open, serve until Ctrl-C, then let open connections finish. The tests never use [`run`]; they
//! start the same `app()` on a free port through the test support instead.
//!
//! From chapter 4 on, the chat page loads the official Socket.IO browser client from our own server, as the
//! Node.js server of the original tutorial does: [`socket_io_client`] serves it from the npm package.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

/// The port a server listens on when `--port` is not given.
pub const DEFAULT_PORT: u16 = 3000;

/// Serves `app` on 127.0.0.1 at the port given by `--port` (default [`DEFAULT_PORT`]) until Ctrl-C.
///
/// Errors (a bad argument, a port already in use) are printed as one line and turn into a failing exit code,
/// so `cargo run` ends with a sentence rather than a panic.
pub async fn run(app: Router) -> ExitCode {
    let program = std::env::args().next().unwrap_or_else(|| "server".into());
    let port = match parse_port(std::env::args().skip(1)) {
        Ok(Some(port)) => port,
        Ok(None) => {
            println!("usage: {program} [--port PORT]   (default port {DEFAULT_PORT}; 0 picks a free one)");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\nusage: {program} [--port PORT]");
            return ExitCode::from(2);
        }
    };
    match serve(app, port).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

// ANCHOR: serve
async fn serve(app: Router, port: u16) -> std::io::Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(address).await.map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot listen on {address}: {error} (is another server using that port? try --port 0)"),
        )
    })?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}/  (Ctrl-C to stop)");
    // `with_connect_info` lets handlers ask which address and port a client connects from (chapter 3).
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(ctrl_c()).await?;
    println!("stopped");
    Ok(())
}
// ANCHOR_END: serve

async fn ctrl_c() {
    // If the signal handler cannot be installed there is nothing to wait for: serve until killed.
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
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
        Ok(script) => ([(header::CONTENT_TYPE, "application/javascript; charset=utf-8")], script).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the Socket.IO browser client is not installed: run `npm ci` in the kit's folder \
             (`cargo xtask check` does it too), then reload the page\n",
        )
            .into_response(),
    }
}

/// Reads `--port N` or `--port=N`. `Ok(None)` means help was asked for.
fn parse_port(mut args: impl Iterator<Item = String>) -> Result<Option<u16>, String> {
    let mut port = DEFAULT_PORT;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" | "-p" => args.next().ok_or("--port needs a number, as in --port 3000")?,
            other => match other.strip_prefix("--port=") {
                Some(value) => value.to_owned(),
                None => return Err(format!("unexpected argument {other:?}")),
            },
        };
        port = value.parse().map_err(|_| format!("--port takes a number from 0 to 65535, not {value:?}"))?;
    }
    Ok(Some(port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<u16>, String> {
        parse_port(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn port_defaults_and_parses_both_spellings() {
        assert_eq!(parse(&[]), Ok(Some(DEFAULT_PORT)));
        assert_eq!(parse(&["--port", "8080"]), Ok(Some(8080)));
        assert_eq!(parse(&["--port=0"]), Ok(Some(0)));
        assert_eq!(parse(&["--help"]), Ok(None));
    }

    #[test]
    fn bad_arguments_are_explained() {
        assert!(parse(&["--port"]).unwrap_err().contains("needs a number"));
        assert!(parse(&["--port", "70000"]).unwrap_err().contains("0 to 65535"));
        assert!(parse(&["--verbose"]).unwrap_err().contains("unexpected argument"));
    }
}
