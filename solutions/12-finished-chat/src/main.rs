//! Chapter 12, reference solution: the finished chat.
//!
//! Run it with `cargo run -p sol12-finished-chat -- --port 3000`, or as one of several nodes with
//! `--redis redis://127.0.0.1:6379`.

use std::collections::HashSet;

use socketioxide::socket::Sid;

// The given code is the exercise's own file, not a copy.
#[path = "../../../exercises/12-finished-chat/src/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run_with(runner::Takes::DATABASE_AND_REDIS, app).await
}

async fn claim_name(io: &Io, socket: &Socket, auth: &Auth) -> Result<(), String> {
    let _turn = NAMES.lock().await;
    let held = io.within(user_room(&auth.name)).rooms().await.map_err(|error| error.to_string())?;
    if !held.is_empty() {
        let ours = auth.session.as_ref().is_some_and(|session| {
            let room = session_room(&auth.name, session);
            held.iter().any(|held| *held == room)
        });
        if !ours {
            return Err(name_taken(&auth.name));
        }
        // Our own page, back before its old connection was noticed gone: the old one goes.
        take_over(io, &auth.name).await;
    }
    let mut rooms = vec![user_room(&auth.name), name_room(&auth.name)];
    rooms.extend(auth.session.iter().map(|session| session_room(&auth.name, session)));
    socket.join(rooms);
    Ok(())
}

fn deliver(chat: &Chat, io: &Io, message: &Stored) {
    let live: HashSet<Sid> = io.within(LIVE).sockets().iter().map(|socket| socket.id).collect();
    let prepared = Prepared::new(message);
    for socket in io.within(message.room.clone()).sockets() {
        if live.contains(&socket.id) {
            send_live(chat, &socket, &prepared);
        }
    }
}

async fn catch_up(chat: &Chat, socket: &Socket, mut after: u64) -> Result<(), Stopped> {
    chat.delivered_up_to(after).await;
    loop {
        let until = chat.delivered();
        while after < until {
            let page = chat.store.after_in(after, &chat_rooms(socket), REPLAY_PAGE).await?;
            let due: Vec<&Stored> = page.iter().filter(|message| message.offset <= until).collect();
            if due.is_empty() {
                // Nothing more in these rooms up to `until`: the other rooms' messages are not this socket's.
                after = until;
            }
            for message in due {
                replay(socket, message).await?;
                after = message.offset;
            }
        }
        let _turn = chat.turn.lock().await;
        if after == chat.delivered() {
            socket.join(LIVE);
            return Ok(());
        }
    }
}
