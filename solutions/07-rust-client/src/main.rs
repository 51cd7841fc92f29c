//! Chapter 7, reference solution: a command-line chat client on rust_socketio.

use std::error::Error;
use std::process::ExitCode;

use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

// The given code is the exercise's own file, not a copy, so the starter and the solution cannot drift apart.
#[path = "../../../exercises/07-rust-client/src/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> ExitCode {
    program().await
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = args.into_iter();
    let (mut name, mut url) = (None, None);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        let slot = match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--name" => &mut name,
            "--url" => &mut url,
            _ => return Err(format!("unexpected argument {arg:?}")),
        };
        let value = inline.or_else(|| args.next()).ok_or_else(|| format!("{flag} needs a value"))?;
        *slot = Some(value);
    }
    let name = name.ok_or("--name is required: who are you in the chat?")?.trim().to_owned();
    if name.is_empty() {
        return Err("--name cannot be blank".to_owned());
    }
    Ok(Some(Args { name, url: url.unwrap_or_else(|| DEFAULT_URL.to_owned()) }))
}

fn format_event(event: &str, data: &Value) -> Option<String> {
    let name = printable(data.get("name")?.as_str()?);
    match event {
        "chat message" => Some(format!("{name}: {}", printable(data.get("text")?.as_str()?))),
        "user joined" => Some(format!("* {name} joined")),
        "user left" => Some(format!("* {name} left")),
        _ => None,
    }
}

fn reason(error: &(dyn Error + 'static)) -> String {
    // Libraries wrap errors in errors; the outer messages ("EngineIO Error") say least. The innermost says
    // what actually happened ("Connection refused").
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

async fn connect(args: &Args) -> Result<Client, String> {
    // `connect()` returns once the transport is open, *before* the server has accepted the socket into the
    // namespace. The answer to that comes later, through a callback: `Connect` (welcome) or `Error` (refused).
    let (status, mut answer) = mpsc::unbounded_channel::<Result<(), String>>();
    let welcomed = status.clone();
    let builder = ClientBuilder::new(args.url.as_str())
        .auth(json!({ "name": args.name }))
        .reconnect(false)
        .on(Event::Connect, move |_, _| {
            let _ = welcomed.send(Ok(()));
            async {}.boxed()
        })
        .on(Event::Error, move |payload, _| {
            let message = match first_argument(payload) {
                Value::String(message) => message,
                other => other.to_string(),
            };
            // While connecting, an error answers "did it work?"; once connected nobody listens on the channel
            // any more, and the error is news for the user (the library gives only its outermost message here).
            if let Err(mpsc::error::SendError(Err(message))) = status.send(Err(message)) {
                eprintln!("error: the connection to the server failed: {message}");
            }
            async {}.boxed()
        })
        .on(Event::Close, |_, _| {
            eprintln!("error: the server closed the connection");
            async {}.boxed()
        })
        .on_any(|event, payload, _| {
            if let Some(line) = format_event(event.as_str(), &first_argument(payload)) {
                println!("{line}");
            }
            async {}.boxed()
        });

    let client = match timeout(CONNECT_TIMEOUT, builder.connect()).await {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => return Err(reason(&error)),
        Err(_) => return Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    };
    let refusal = match timeout(CONNECT_TIMEOUT, answer.recv()).await {
        Ok(Some(Ok(()))) => return Ok(client),
        Ok(Some(Err(message))) => message,
        Ok(None) | Err(_) => format!("the server did not accept the socket within {CONNECT_TIMEOUT:?}"),
    };
    let _ = client.disconnect().await;
    Err(refusal)
}

async fn send_line(client: &Client, line: &str) -> Result<Ack, String> {
    let (answer, acknowledged) = oneshot::channel();
    let mut answer = Some(answer);
    let on_ack = move |payload: Payload, _: Client| {
        if let Some(answer) = answer.take() {
            let _ = answer.send(ack_argument(payload));
        }
        async {}.boxed()
    };
    let message = json!({ "text": line });
    if let Err(error) = client.emit_with_ack("chat message", message, ACK_TIMEOUT, on_ack).await {
        return Err(format!("cannot send to the server: {}", reason(&error)));
    }
    // The library never calls back when no acknowledgement comes: the time limit is ours to keep.
    let ack = match timeout(ACK_TIMEOUT, acknowledged).await {
        Ok(Ok(ack)) => ack,
        Ok(Err(_)) | Err(_) => return Err(format!("the server did not acknowledge a message within {ACK_TIMEOUT:?}")),
    };
    serde_json::from_value(ack.clone())
        .map_err(|_| format!("the server acknowledged with {ack}, not {{\"ok\": ..., \"error\": ...}}"))
}

async fn run(args: Args, mut lines: mpsc::Receiver<String>) -> ExitCode {
    let client = match connect(&args).await {
        Ok(client) => client,
        Err(reason) => {
            eprintln!("error: cannot connect to {}: {reason}", args.url);
            return ExitCode::FAILURE;
        }
    };
    println!("connected to {} as {}", args.url, args.name);

    // One line at a time: the next is sent once the server has answered the last. That keeps them in order,
    // and rust_socketio matches acknowledgements by random ids from 0 to 998, which two outstanding messages
    // can share; with one outstanding there is nothing to mix up.
    let mut failure = None;
    while let Some(line) = lines.recv().await {
        if line.trim().is_empty() {
            continue;
        }
        match send_line(&client, &line).await {
            Ok(Ack { ok: true, .. }) => {}
            Ok(Ack { error, .. }) => println!("! rejected: {}", error.as_deref().unwrap_or("no reason given")),
            Err(reason) => {
                failure = Some(reason);
                break;
            }
        }
    }

    // Every line sent has been answered, so nothing is lost by leaving now.
    let _ = timeout(ACK_TIMEOUT, client.disconnect()).await;
    match failure {
        None => ExitCode::SUCCESS,
        Some(reason) => {
            eprintln!("error: {reason}");
            ExitCode::FAILURE
        }
    }
}
