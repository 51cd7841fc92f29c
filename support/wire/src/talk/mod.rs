//! `wire talk`: a client to type at, raw WebSocket ([`raw`]) or Socket.IO ([`socketio`]).
//!
//! Both read the terminal line by line on a thread of their own (reading standard input blocks, and the
//! connection must go on receiving meanwhile) and hand each line to the async side through a channel; the end
//! of input closes the channel, which is how the client knows to say goodbye.

mod commands;
mod raw;
mod socketio;

use std::io::BufRead;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Error};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::args::TalkOptions;

/// The longest the connection and the handshakes may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(5);
/// The longest to wait for the server's answer to a goodbye.
const GOODBYE_LIMIT: Duration = Duration::from_secs(2);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn run(options: TalkOptions) -> Result<(), String> {
    if options.socket_io { socketio::run(&options).await } else { raw::run(&options).await }
}

/// The lines typed on standard input, until its end.
fn typed_lines() -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else {
                eprintln!("(that line is not UTF-8 text: ignored)");
                continue;
            };
            if sender.blocking_send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Opens a WebSocket to `url`, with a time limit and an error that says what to check.
async fn connect(url: &str) -> Result<Socket, String> {
    match tokio::time::timeout(CONNECT_LIMIT, tokio_tungstenite::connect_async(url)).await {
        Err(_) => Err(format!("no answer from {url} within {} s", CONNECT_LIMIT.as_secs())),
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(error)) => Err(explain_connect_error(url, error)),
    }
}

fn explain_connect_error(url: &str, error: Error) -> String {
    match error {
        Error::Io(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!(
                "could not connect to {url}: nothing listens there (connection refused); is the server running, on that port?"
            )
        }
        Error::Http(response) => {
            let status = response.status();
            let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            // A refusal's reason is worth its line (a 403 says which origin to allow); a page is not.
            let first_line = body.trim().lines().next().unwrap_or_default();
            let reason = match first_line {
                "" => String::new(),
                line if line.starts_with('<') => String::new(),
                line => format!(": {}", crate::decode::shown(line)),
            };
            let hint = if status.as_u16() == 404 { " (no route there: check the path)" } else { "" };
            format!(
                "{url} answered the WebSocket handshake with HTTP {status} instead of 101 Switching Protocols{hint}{reason}"
            )
        }
        error => format!("could not connect to {url}: {error}"),
    }
}

/// A close frame's code and reason in words, as the spy writes them.
fn describe_close(frame: Option<&tungstenite::protocol::CloseFrame>) -> String {
    match frame {
        None => "no code".to_owned(),
        Some(frame) => {
            let code = u16::from(frame.code);
            let reason = frame.reason.as_str();
            let mut words = format!("code {code} ({})", crate::decode::websocket::close_code_name(code));
            if !reason.is_empty() {
                words.push_str(&format!(", reason {reason:?}"));
            }
            words
        }
    }
}
