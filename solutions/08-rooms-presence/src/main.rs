//! Chapter 8, reference solution: names, rooms, presence, typing and private messages.
//!
//! Run it with `cargo run -p sol08-rooms-presence -- --port 3000`, then open http://127.0.0.1:3000/?name=alice
//! in one window and http://127.0.0.1:3000/?name=bob in another.

use std::sync::Arc;

use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::{ParserError, SocketIo};

// The given code is the exercise's own file, not a copy, so the starter and the solution cannot drift apart.
#[path = "../../../exercises/08-rooms-presence/src/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(app()).await
}

/// The name in the handshake's auth, if it may be used, or why not.
fn check_name(name: Option<&str>) -> Result<String, String> {
    let name = name.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        Err(NAME_MISSING.into())
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(NAME_TOO_LONG.into())
    } else if name.chars().any(|c| c.is_control() || is_direction_mark(c)) {
        Err(NAME_INVALID.into())
    } else {
        Ok(name.to_owned())
    }
}

async fn claim_name(io: &SocketIo, socket: &SocketRef, auth: Auth) -> Result<String, String> {
    let name = check_name(auth.name.as_deref())?;
    // Checking and taking in one turn: two clients asking for the same name at the same moment cannot both
    // find it free.
    let _turn = NAMES.lock().await;
    // The rooms of whoever is in the name's room: the adapter's table, which has every server's sockets
    // (chapter 11), and those still being admitted, as this one is.
    let held = io.within(user_room(&name)).rooms().await.map_err(|error| error.to_string())?;
    if !held.is_empty() {
        return Err(name_taken(&name));
    }
    socket.join([user_room(&name), name_room(&name)]);
    Ok(name)
}

fn listen(socket: &SocketRef, name: Arc<str>) {
    // Joined before the client knows it is connected: its first message to the lobby finds it a member.
    socket.join(LOBBY);
    let limit = Arc::new(RateLimit::new());
    let typing = Arc::new(Typing::default());

    let allowance = limit.clone();
    socket.on("join", async move |socket: SocketRef, TryData(request): TryData<RoomRequest>, ack: AckSender| {
        let answer = match request.as_ref().map(|request| valid_room(&request.room)) {
            _ if !allowance.allow() => Ack::error(SLOW_DOWN),
            Ok(Some(room)) if is_member(&socket, room) => Ack::ok(),
            Ok(Some(_)) if chat_rooms(&socket) >= MAX_ROOMS => Ack::error(TOO_MANY_ROOMS),
            Ok(Some(room)) => {
                socket.join(room.to_owned());
                Ack::ok()
            }
            Ok(None) => Ack::error(ROOM_INVALID),
            Err(_) => Ack::error(MALFORMED_ROOM),
        };
        let _ = ack.send(&answer);
    });

    let (leaver, timers) = (name.clone(), typing.clone());
    socket.on("leave", async move |socket: SocketRef, TryData(request): TryData<RoomRequest>, ack: AckSender| {
        let answer = match request.as_ref().map(|request| valid_room(&request.room)) {
            Ok(Some(room)) if is_member(&socket, room) => {
                if timers.stop(room) {
                    announce_stopped_typing(&socket, room, &leaver).await;
                }
                socket.leave(room.to_owned());
                Ack::ok()
            }
            Ok(Some(room)) => Ack::error(not_a_member(room)),
            Ok(None) => Ack::error(ROOM_INVALID),
            Err(_) => Ack::error(MALFORMED_ROOM),
        };
        let _ = ack.send(&answer);
    });

    let (sender, allowance, timers) = (name.clone(), limit.clone(), typing.clone());
    socket.on(
        "chat message",
        async move |socket: SocketRef, TryData(message): TryData<RoomMessage>, ack: AckSender| {
            chat_message(&socket, &sender, &allowance, &timers, message, ack).await;
        },
    );

    let (typist, allowance, timers) = (name.clone(), limit.clone(), typing.clone());
    socket.on("typing", async move |socket: SocketRef, TryData(request): TryData<RoomRequest>| {
        if let Ok(request) = request {
            typing_started(&socket, &typist, &allowance, &timers, &request.room).await;
        }
    });

    let (typist, timers) = (name.clone(), typing.clone());
    socket.on("stop typing", async move |socket: SocketRef, TryData(request): TryData<RoomRequest>| {
        if let Ok(Some(room)) = request.as_ref().map(|request| valid_room(&request.room))
            && timers.stop(room)
        {
            announce_stopped_typing(&socket, room, &typist).await;
        }
    });

    let (sender, allowance) = (name.clone(), limit);
    socket.on(
        "private message",
        async move |socket: SocketRef, io: SocketIo, TryData(message): TryData<PrivateMessage>, ack: AckSender| {
            private_message(&io, &socket, &sender, &allowance, message, ack).await;
        },
    );

    socket.on_disconnect(async move |socket: SocketRef| {
        // A client that vanished while typing has stopped typing.
        for room in typing.stop_all() {
            announce_stopped_typing(&socket, &room, &name).await;
        }
        let _ = socket.broadcast().emit("user left", &Member { name: &name }).await;
    });
}

async fn on_connect(io: &SocketIo, socket: &SocketRef, name: &str) {
    let _ = socket.emit("online", &Online { names: online(io).await });
    let _ = socket.broadcast().emit("user joined", &Member { name }).await;
}

/// Everyone connected, sorted whatever their case: the names of the `name:` rooms.
async fn online(io: &SocketIo) -> Vec<String> {
    let rooms = io.rooms().await.unwrap_or_default();
    let mut names: Vec<String> =
        rooms.iter().filter_map(|room| room.strip_prefix("name:").map(str::to_owned)).collect();
    names.sort_by_key(|name| name.to_lowercase());
    names
}

/// How many chat rooms the socket is in (its own `user:` and `name:` rooms are not chat rooms).
fn chat_rooms(socket: &SocketRef) -> usize {
    socket.rooms().iter().filter(|room| valid_room(room).is_some()).count()
}

fn is_member(socket: &SocketRef, room: &str) -> bool {
    socket.rooms().iter().any(|joined| joined == room)
}

async fn chat_message(
    socket: &SocketRef,
    name: &str,
    limit: &RateLimit,
    typing: &Typing,
    message: Result<RoomMessage, ParserError>,
    ack: AckSender,
) {
    let answer = match checked(socket, limit, message) {
        Ok((room, text)) => {
            // A message ends its author's typing.
            if typing.stop(&room) {
                announce_stopped_typing(socket, &room, name).await;
            }
            // `socket.to(room)`: everyone in the room but the sender, whose page has shown the message already.
            let _ = socket.to(room.clone()).emit("chat message", &Post { room: &room, name, text: &text }).await;
            Ack::ok()
        }
        Err(reason) => Ack::error(reason),
    };
    let _ = ack.send(&answer);
}

/// A room message's room and trimmed text, if it may go; otherwise why not.
fn checked(
    socket: &SocketRef,
    limit: &RateLimit,
    message: Result<RoomMessage, ParserError>,
) -> Result<(String, String), String> {
    if !limit.allow() {
        return Err(SLOW_DOWN.into());
    }
    let message = message.map_err(|_| MALFORMED.to_owned())?;
    let room = valid_room(&message.room).ok_or(ROOM_INVALID)?;
    if !is_member(socket, room) {
        return Err(not_a_member(room));
    }
    let text = validate_text(&message.text)?;
    Ok((room.to_owned(), text))
}

async fn typing_started(socket: &SocketRef, name: &str, limit: &RateLimit, typing: &Arc<Typing>, room: &str) {
    let Some(room) = valid_room(room) else { return };
    if !is_member(socket, room) || !limit.allow() {
        return;
    }
    let _ = socket.to(room.to_owned()).emit("typing", &Typist { room, name }).await;
    let (socket, room_name, typist) = (socket.clone(), room.to_owned(), name.to_owned());
    typing.start(room, async move { announce_stopped_typing(&socket, &room_name, &typist).await });
}

async fn announce_stopped_typing(socket: &SocketRef, room: &str, name: &str) {
    let _ = socket.to(room.to_owned()).emit("stopped typing", &Typist { room, name }).await;
}

async fn private_message(
    io: &SocketIo,
    socket: &SocketRef,
    name: &str,
    limit: &RateLimit,
    message: Result<PrivateMessage, ParserError>,
    ack: AckSender,
) {
    let answer = async {
        if !limit.allow() {
            return Err(SLOW_DOWN.to_owned());
        }
        let message = message.map_err(|_| MALFORMED_PRIVATE.to_owned())?;
        let text = validate_text(&message.text)?;
        let to = message.to.trim();
        let online = io.within(user_room(to)).fetch_sockets().await.map(|sockets| !sockets.is_empty());
        if !online.unwrap_or(false) {
            return Err(not_online(to));
        }
        // To the addressee's room; `socket.to` leaves out the sender, whose page shows it already.
        let _ = socket.to(user_room(to)).emit("private message", &Whisper { from: name, text: &text }).await;
        Ok(())
    };
    let answer = match answer.await {
        Ok(()) => Ack::ok(),
        Err(reason) => Ack::error(reason),
    };
    let _ = ack.send(&answer);
}
