//! `wire talk ws://...`: raw WebSocket messages, for chapters 2 and 3.
//!
//! Each typed line goes out as one text message; whatever arrives is printed as it comes, including while
//! you type, because a WebSocket server may speak first and at any time. Pings are answered by the library
//! (tungstenite queues the pong when it reads a ping), so only the printed line shows them.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{GOODBYE_LIMIT, connect, describe_close, typed_lines};
use crate::args::TalkOptions;
use crate::decode::shown;

pub async fn run(options: &TalkOptions) -> Result<(), String> {
    let url = format!("ws://{}:{}{}", options.url.host, options.url.port, options.url.path);
    let socket = connect(&url).await?;
    println!("connected to {url}: each line you type goes as a text message; end of input (Ctrl-D) closes");
    let (mut outgoing, mut incoming) = socket.split();
    let mut lines = typed_lines();
    loop {
        tokio::select! {
            line = lines.recv() => match line {
                Some(line) => outgoing
                    .send(Message::text(line))
                    .await
                    .map_err(|error| format!("could not send: {error}"))?,
                None => {
                    let goodbye = CloseFrame { code: CloseCode::Normal, reason: "".into() };
                    println!("→ close  {}", describe_close(Some(&goodbye)));
                    outgoing.send(Message::Close(Some(goodbye))).await.map_err(|error| format!("could not send the close: {error}"))?;
                    // The server answers with a close of its own; what comes before it is still worth printing.
                    let answer = async {
                        while let Some(Ok(message)) = incoming.next().await {
                            if print(&message) {
                                break;
                            }
                        }
                    };
                    if tokio::time::timeout(GOODBYE_LIMIT, answer).await.is_err() {
                        println!("(the server did not answer the close within {} s)", GOODBYE_LIMIT.as_secs());
                    }
                    return Ok(());
                }
            },
            message = incoming.next() => match message {
                Some(Ok(message)) => {
                    if print(&message) {
                        println!("the server closed the connection");
                        return Ok(());
                    }
                }
                Some(Err(error)) => return Err(format!("the connection broke: {error}")),
                None => {
                    println!("the connection ended");
                    return Ok(());
                }
            },
        }
    }
}

/// Prints one arriving message; `true` if it was the close.
fn print(message: &Message) -> bool {
    match message {
        Message::Text(text) => println!("← text  {}", shown(text.as_str())),
        Message::Binary(bytes) => println!("← binary  {} bytes", bytes.len()),
        Message::Ping(_) => println!("← ping  (answered with a pong)"),
        Message::Pong(_) => println!("← pong"),
        Message::Close(frame) => {
            println!("← close  {}", describe_close(frame.as_ref()));
            return true;
        }
        Message::Frame(_) => {}
    }
    false
}
