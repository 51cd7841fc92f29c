//! Chapter 11, reference solution: one node of several, on one Redis and one shared log.
//!
//! Run it with `cargo run -p sol11-scaling-out -- --port 3001 --redis redis://127.0.0.1:6379`.

// The given code is the exercise's own file, not a copy.
#[path = "../../../exercises/11-scaling-out/src/protocol.rs"]
mod protocol;
use protocol::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run_with(runner::Takes::DATABASE_AND_REDIS, app).await
}

async fn follow(chat: Chat, io: Io) {
    loop {
        chat.wait_for_news().await;
        // One delivery at a time on this node, and none while a socket is being made live.
        let _turn = chat.turn.lock().await;
        loop {
            match chat.store.after(chat.delivered(), REPLAY_PAGE).await {
                Ok(page) if page.is_empty() => break,
                Ok(page) => {
                    for message in &page {
                        deliver(&chat, &io, message);
                        chat.set_delivered(message.offset);
                    }
                }
                Err(error) => {
                    eprintln!("the follower could not read the log: {error}");
                    break;
                }
            }
        }
    }
}

async fn catch_up(chat: &Chat, socket: &Socket, mut after: u64) -> Result<(), Stopped> {
    chat.delivered_up_to(after).await;
    loop {
        // Without the turn: the log up to what this node has delivered, and not beyond (the follower will
        // deliver the rest to the live sockets, this one among them).
        let until = chat.delivered();
        while after < until {
            let page = chat.store.after(after, REPLAY_PAGE).await?;
            let due: Vec<&Stored> = page.iter().filter(|message| message.offset <= until).collect();
            if due.is_empty() {
                after = until;
            }
            for message in due {
                replay(socket, message).await?;
                after = message.offset;
            }
        }
        // With the turn, the follower is not delivering: if it has not moved since, going live misses nothing.
        let _turn = chat.turn.lock().await;
        if after == chat.delivered() {
            socket.join(LIVE);
            return Ok(());
        }
    }
}

async fn online(io: &Io) -> Result<Vec<String>, String> {
    let rooms = io.rooms().await.map_err(|error| error.to_string())?;
    let mut names: Vec<String> =
        rooms.iter().filter_map(|room| room.strip_prefix("name:").map(str::to_owned)).collect();
    // By name whatever its case, then by the name itself: repeats side by side, for `dedup`. Each name is
    // lowered once, not at every comparison (with thousands online, that was most of a newcomer's welcome).
    names.sort_by_cached_key(|name| (name.to_lowercase(), name.clone()));
    names.dedup();
    Ok(names)
}

async fn whisper(io: &Io, socket: &Socket, from: &str, message: &PrivateMessage) -> Result<(), String> {
    let text = validate_text(&message.text)?;
    let to = message.to.trim();
    let there = io.within(user_room(to)).fetch_sockets().await.map_err(|error| error.to_string())?;
    if there.is_empty() {
        return Err(not_online(to));
    }
    socket
        .to(user_room(to))
        .emit("private message", &Whisper { from, text: &text })
        .await
        .map_err(|error| format!("the message could not be sent: {error}"))
}
