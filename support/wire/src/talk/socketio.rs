//! `wire talk --socket-io http://...`: a Socket.IO client written straight on a WebSocket, for chapters 4 on.
//!
//! A library client hides the protocol; this one shows it. It opens Engine.IO's WebSocket transport
//! directly (`/socket.io/?EIO=4&transport=websocket`, skipping the long-polling start a browser makes),
//! reads the server's OPEN packet, sends a Socket.IO CONNECT with the auth payload, and from then on answers
//! each PING with a PONG and prints every packet both ways, raw and decoded, as the spy does.

use std::collections::HashMap;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::commands::{self, Command};
use super::{CONNECT_LIMIT, GOODBYE_LIMIT, Socket, connect, describe_close, typed_lines};
use crate::args::{TALK_HELP, TalkOptions};
use crate::decode::socketio::{self as sio, Kind};
use crate::decode::{Side, engineio, shown};

/// What the typing part of the help says, printed once connected.
const COMMANDS: &str = "\
type: emit EVENT [JSON...]  |  ack EVENT [JSON...] (asks for an acknowledgement)  |  reply ID [JSON...]  |  raw TEXT  |  help
      for example: emit chat message {\"text\":\"hi\"}    (end of input, Ctrl-D, disconnects)";

pub async fn run(options: &TalkOptions) -> Result<(), String> {
    let namespace = namespace_of(&options.url.path);
    let url = format!("ws://{}:{}/socket.io/?EIO=4&transport=websocket", options.url.host, options.url.port);
    let socket = connect(&url).await?;
    println!("connected to {url}");
    let (outgoing, mut incoming) = socket.split();
    let mut session = Session { outgoing, namespace, next_id: 1, asked: HashMap::new() };

    let handshake = session.handshake(&mut incoming, options.auth.as_ref());
    match tokio::time::timeout(CONNECT_LIMIT, handshake).await {
        Err(_) => return Err(format!("the Socket.IO handshake did not finish within {} s", CONNECT_LIMIT.as_secs())),
        Ok(result) => result?,
    }
    println!("{COMMANDS}");

    let mut lines = typed_lines();
    loop {
        tokio::select! {
            line = lines.recv() => match line {
                Some(line) => session.typed(&line).await?,
                None => return session.goodbye(&mut incoming).await,
            },
            message = incoming.next() => match message {
                Some(Ok(message)) => {
                    if let Flow::Ended(why) = session.receive(message).await? {
                        println!("{why}");
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

/// `http://host/admin` connects to the namespace `/admin`, as the official client does; `/` otherwise.
fn namespace_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default().trim_end_matches('/');
    if path.is_empty() { "/".to_owned() } else { path.to_owned() }
}

/// What an arriving message means for the conversation.
enum Flow {
    /// Go on; the Socket.IO packet it carried, if any.
    Packet(Option<sio::Packet>),
    /// The server ended it, in these words.
    Ended(String),
}

struct Session {
    outgoing: SplitSink<Socket, Message>,
    namespace: String,
    /// The next acknowledgement id to ask with.
    next_id: u64,
    /// The events that asked for an acknowledgement and have not had it, by id.
    asked: HashMap<u64, String>,
}

impl Session {
    /// OPEN, then CONNECT and the server's answer to it.
    async fn handshake(&mut self, incoming: &mut SplitStream<Socket>, auth: Option<&Value>) -> Result<(), String> {
        let open = match incoming.next().await {
            Some(Ok(Message::Text(text))) => text.as_str().to_owned(),
            Some(Ok(other)) => return Err(format!("expected Engine.IO's OPEN packet first, got {other:?}")),
            Some(Err(error)) => return Err(format!("the connection broke: {error}")),
            None => return Err("the server closed the connection before its OPEN packet".to_owned()),
        };
        println!("← {}  = {}", shown(&open), engineio::describe(&open, Side::Server));
        if !open.starts_with('0') {
            return Err("that is not Engine.IO's OPEN packet (0{...}): is this a Socket.IO server?".to_owned());
        }
        let connect = sio::encode(Kind::Connect, &self.namespace, None, auth);
        self.send(format!("4{connect}")).await?;
        loop {
            let message = match incoming.next().await {
                Some(Ok(message)) => message,
                Some(Err(error)) => return Err(format!("the connection broke: {error}")),
                None => return Err("the server closed the connection during the handshake".to_owned()),
            };
            match self.receive(message).await? {
                Flow::Packet(Some(packet)) if packet.namespace == self.namespace => match packet.kind {
                    Kind::Connect => return Ok(()),
                    Kind::ConnectError => {
                        return Err(format!("the server refused to connect: {}", sio::describe(&packet, Side::Server)));
                    }
                    _ => {}
                },
                Flow::Packet(_) => {}
                Flow::Ended(why) => return Err(format!("{why} during the handshake")),
            }
        }
    }

    /// Prints an arriving message, answers a PING, and says what it meant.
    async fn receive(&mut self, message: Message) -> Result<Flow, String> {
        let text = match message {
            Message::Text(text) => text.as_str().to_owned(),
            Message::Binary(bytes) => {
                println!("← binary {} bytes  = engine.io binary MESSAGE", bytes.len());
                return Ok(Flow::Packet(None));
            }
            Message::Close(frame) => {
                println!("← ws close  {}", describe_close(frame.as_ref()));
                return Ok(Flow::Ended("the server closed the connection".to_owned()));
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Ok(Flow::Packet(None)),
        };
        println!("← {}  = {}", shown(&text), engineio::describe(&text, Side::Server));
        match engineio::parse(&text) {
            Ok(engineio::Packet::Ping(data)) => {
                // Engine.IO's heartbeat: a server that hears no PONG within its timeout drops the session.
                self.send(format!("3{data}")).await?;
                Ok(Flow::Packet(None))
            }
            Ok(engineio::Packet::Close) => Ok(Flow::Ended("the server closed the Engine.IO session".to_owned())),
            Ok(engineio::Packet::Message(data)) => {
                let Ok(packet) = sio::parse(data) else { return Ok(Flow::Packet(None)) };
                self.remark(&packet);
                if packet.kind == Kind::Disconnect && packet.namespace == self.namespace {
                    return Ok(Flow::Ended("the server disconnected this socket".to_owned()));
                }
                Ok(Flow::Packet(Some(packet)))
            }
            _ => Ok(Flow::Packet(None)),
        }
    }

    /// A line under an arriving packet that needs something from the user, or answers them.
    fn remark(&mut self, packet: &sio::Packet) {
        match (packet.kind, packet.id) {
            (Kind::Event | Kind::BinaryEvent, Some(id)) => {
                println!("   (the server asked for an acknowledgement: answer with  reply {id} [JSON...])");
            }
            (Kind::Ack | Kind::BinaryAck, Some(id)) => match self.asked.remove(&id) {
                Some(event) => println!("   (the acknowledgement of your {event:?}, ack {id})"),
                None => println!("   (an acknowledgement of no event of yours: ack {id})"),
            },
            _ => {}
        }
    }

    /// Does what a typed line says, or says why not.
    async fn typed(&mut self, line: &str) -> Result<(), String> {
        let command = match commands::parse(line) {
            Ok(Some(command)) => command,
            Ok(None) => return Ok(()),
            Err(error) => {
                println!("(! {error})");
                return Ok(());
            }
        };
        let packet = match command {
            Command::Emit { event, mut args, ack } => {
                let id = ack.then(|| {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.asked.insert(id, event.clone());
                    id
                });
                args.insert(0, Value::String(event));
                sio::encode(Kind::Event, &self.namespace, id, Some(&Value::Array(args)))
            }
            Command::Reply { id, args } => sio::encode(Kind::Ack, &self.namespace, Some(id), Some(&Value::Array(args))),
            Command::Raw(text) => return self.send(text).await,
            Command::Help => {
                println!("{TALK_HELP}");
                return Ok(());
            }
        };
        self.send(format!("4{packet}")).await
    }

    /// Prints a packet and sends it as one text message.
    async fn send(&mut self, text: String) -> Result<(), String> {
        println!("→ {}  = {}", shown(&text), engineio::describe(&text, Side::Client));
        self.outgoing.send(Message::text(text)).await.map_err(|error| format!("could not send: {error}"))
    }

    /// At the end of input: DISCONNECT, then a WebSocket close, then what the server still says.
    async fn goodbye(mut self, incoming: &mut SplitStream<Socket>) -> Result<(), String> {
        let disconnect = sio::encode(Kind::Disconnect, &self.namespace, None, None);
        self.send(format!("4{disconnect}")).await?;
        let close = CloseFrame { code: CloseCode::Normal, reason: "".into() };
        println!("→ ws close  {}", describe_close(Some(&close)));
        self.outgoing
            .send(Message::Close(Some(close)))
            .await
            .map_err(|error| format!("could not send the close: {error}"))?;
        let answer = async {
            while let Some(Ok(message)) = incoming.next().await {
                if let Ok(Flow::Ended(_)) | Err(_) = self.receive(message).await {
                    break;
                }
            }
        };
        if tokio::time::timeout(GOODBYE_LIMIT, answer).await.is_err() {
            println!("(the server did not answer the close within {} s)", GOODBYE_LIMIT.as_secs());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_path_is_the_namespace() {
        assert_eq!(namespace_of("/"), "/");
        assert_eq!(namespace_of("/admin/"), "/admin");
        assert_eq!(namespace_of("/admin?x=1"), "/admin");
        assert_eq!(namespace_of("/?x=1"), "/");
    }
}
