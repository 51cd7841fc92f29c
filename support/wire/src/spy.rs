//! `wire spy`: a TCP proxy on 127.0.0.1 that shows what passes through it.
//!
//! Each accepted connection gets a number and a connection of its own to the server; two pumps copy bytes
//! each way, unchanged. Before a pump writes a chunk on, it hands a copy to the printer, a thread of its own
//! that decodes and prints. The hand-over never waits: if the printer falls behind (a terminal paused with
//! Ctrl-S, a pipe nobody reads), the copies of that connection stop and its traffic goes on undecoded, so
//! looking at the traffic can never slow it down or change it. The copy is handed over *before* the write,
//! so the printer always hears of a server's `101 Switching Protocols` before the client, which must wait
//! for it, can send its first WebSocket frame.

use std::collections::HashMap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use crate::args::SpyOptions;
use crate::decode::{Connection, Side, bytes};

/// How many chunks, and how many bytes in all, may wait for the printer before it counts as fallen behind.
const PRINTER_QUEUE: usize = 4096;
const PRINTER_QUEUE_BYTES: usize = 8 * 1024 * 1024;
/// The most one read takes from a socket.
const CHUNK: usize = 16 * 1024;

/// Listens, and relays every connection to the server until the spy is stopped (Ctrl-C).
pub async fn run(options: SpyOptions) -> Result<(), String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).await.map_err(|error| {
        format!("could not listen on 127.0.0.1:{}: {error} (another program there? try --port 0)", options.port)
    })?;
    let address = listener.local_addr().map_err(|error| format!("the listening socket has no address: {error}"))?;
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, options.to));
    println!("spying on {server}: open http://{address}/ instead  (Ctrl-C to stop)");
    println!(
        "  (a page loaded from here has the origin http://{address}: start a kit server with \
         --allow-origin http://{address}, or it refuses the page's Socket.IO and WebSocket requests)"
    );
    if TcpStream::connect(server).await.is_err() {
        println!("  (nothing answers on {server} yet: start your server there; the spy waits)");
    }

    let (sender, receiver) = sync_channel(PRINTER_QUEUE);
    let queued = Arc::new(AtomicUsize::new(0));
    let printed = queued.clone();
    std::thread::Builder::new()
        .name("printer".to_owned())
        .spawn(move || print_all(receiver, &printed))
        .map_err(|error| format!("could not start the printer thread: {error}"))?;

    let mut number = 0;
    loop {
        match listener.accept().await {
            Ok((client, peer)) => {
                number += 1;
                let behind = Arc::new(AtomicBool::new(false));
                let tap = Tap { number, sender: sender.clone(), queued: queued.clone(), behind };
                tokio::spawn(relay(tap, client, peer, server));
            }
            Err(error) => {
                // Out of file descriptors, most likely: say so, and give the system a moment to free some.
                println!("(could not accept a connection: {error})");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// What the relays tell the printer.
enum Event {
    Opened { number: u64, peer: SocketAddr, behind: Arc<AtomicBool> },
    Bytes { number: u64, side: Side, bytes: Vec<u8> },
    Ended { number: u64, summary: String },
}

/// One connection's way to the printer.
struct Tap {
    number: u64,
    sender: SyncSender<Event>,
    /// The bytes of all connections waiting for the printer.
    queued: Arc<AtomicUsize>,
    /// Set when the printer's queue was full: from then on, this connection is not decoded.
    behind: Arc<AtomicBool>,
}

impl Tap {
    /// Hands an event to the printer if there is room, and never waits.
    fn offer(&self, event: Event) {
        if self.behind.load(Ordering::Relaxed) {
            return;
        }
        if self.sender.try_send(event).is_err() {
            self.behind.store(true, Ordering::Relaxed);
        }
    }

    fn copy(&self, side: Side, bytes: &[u8]) {
        if self.behind.load(Ordering::Relaxed) {
            return;
        }
        if self.queued.fetch_add(bytes.len(), Ordering::Relaxed) + bytes.len() > PRINTER_QUEUE_BYTES {
            self.queued.fetch_sub(bytes.len(), Ordering::Relaxed);
            self.behind.store(true, Ordering::Relaxed);
            return;
        }
        let event = Event::Bytes { number: self.number, side, bytes: bytes.to_vec() };
        if self.sender.try_send(event).is_err() {
            self.queued.fetch_sub(bytes.len(), Ordering::Relaxed);
            self.behind.store(true, Ordering::Relaxed);
        }
    }

    /// The connection's last line. The relay is done with the sockets by now, so this one may wait for
    /// room, on a thread made for waiting.
    async fn end(self, summary: String) {
        let sender = self.sender;
        let event = Event::Ended { number: self.number, summary };
        let _ = tokio::task::spawn_blocking(move || sender.send(event)).await;
    }
}

/// Relays one client's connection to the server, both ways, until both are done.
async fn relay(tap: Tap, client: TcpStream, peer: SocketAddr, server: SocketAddr) {
    tap.offer(Event::Opened { number: tap.number, peer, behind: tap.behind.clone() });
    let upstream = match TcpStream::connect(server).await {
        Ok(upstream) => upstream,
        Err(error) => {
            let summary = format!(
                "could not reach the server at {server} ({error}): is it running? closed the client's connection"
            );
            return tap.end(summary).await;
        }
    };
    // Small writes (a WebSocket frame, a ping) go on at once, as they would without the spy in between.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let started = Instant::now();
    let counts = [AtomicU64::new(0), AtomicU64::new(0)];
    let ending = {
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = upstream.into_split();
        let to_server = pump(client_read, server_write, Side::Client, &tap, &counts[0]);
        let to_client = pump(server_read, client_write, Side::Server, &tap, &counts[1]);
        tokio::pin!(to_server, to_client);
        let (first, outcome) = tokio::select! {
            outcome = &mut to_server => (Side::Client, outcome),
            outcome = &mut to_client => (Side::Server, outcome),
        };
        match outcome {
            // One side finished sending: the other may still have something to say (a half-close).
            Ok(()) => {
                let rest = match first {
                    Side::Client => to_client.await,
                    Side::Server => to_server.await,
                };
                match rest {
                    Ok(()) => format!("closed by the {}", name(first)),
                    Err(error) => format!("closed by the {}, then {error}", name(first)),
                }
            }
            // Dropping both pumps closes both sockets: a broken side breaks the other, as it would end to end.
            Err(error) => error,
        }
    };
    let summary = format!(
        "{ending}, after {:.1} s: → {}, ← {}",
        started.elapsed().as_secs_f64(),
        bytes(counts[0].load(Ordering::Relaxed)),
        bytes(counts[1].load(Ordering::Relaxed))
    );
    tap.end(summary).await;
}

/// Copies what `side` sends until it closes its end, then closes that end towards the other side too.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    side: Side,
    tap: &Tap,
    count: &AtomicU64,
) -> Result<(), String> {
    let other = match side {
        Side::Client => Side::Server,
        Side::Server => Side::Client,
    };
    let mut buffer = vec![0; CHUNK];
    loop {
        let read = from
            .read(&mut buffer)
            .await
            .map_err(|error| format!("the {} broke the connection ({error})", name(side)))?;
        if read == 0 {
            let _ = to.shutdown().await;
            return Ok(());
        }
        tap.copy(side, &buffer[..read]);
        to.write_all(&buffer[..read]).await.map_err(|error| format!("the {} went away ({error})", name(other)))?;
        count.fetch_add(read as u64, Ordering::Relaxed);
    }
}

fn name(side: Side) -> &'static str {
    match side {
        Side::Client => "client",
        Side::Server => "server",
    }
}

/// One connection, as the printer sees it.
struct Decoding {
    connection: Connection,
    behind: Arc<AtomicBool>,
}

/// The printer: decodes each connection's copies in order and prints the lines, until the spy stops.
fn print_all(events: Receiver<Event>, queued: &AtomicUsize) {
    let mut connections: HashMap<u64, Decoding> = HashMap::new();
    let stdout = std::io::stdout();
    for event in events {
        // A closed standard output (`wire spy | head`) is no reason to stop: the traffic goes on regardless.
        let mut out = stdout.lock();
        match event {
            Event::Opened { number, peer, behind } => {
                let _ = writeln!(out, "#{number} new connection from {peer}");
                connections.insert(number, Decoding { connection: Connection::new(), behind });
            }
            Event::Bytes { number, side, bytes } => {
                queued.fetch_sub(bytes.len(), Ordering::Relaxed);
                if let Some(decoding) = connections.get_mut(&number) {
                    for line in decoding.connection.feed(side, &bytes) {
                        let _ = writeln!(out, "#{number} {} {}", line.side.arrow(), line.text);
                    }
                }
            }
            Event::Ended { number, summary } => {
                if let Some(mut decoding) = connections.remove(&number) {
                    for line in decoding.connection.finish() {
                        let _ = writeln!(out, "#{number} {} {}", line.side.arrow(), line.text);
                    }
                    if decoding.behind.load(Ordering::Relaxed) {
                        let _ = writeln!(
                            out,
                            "#{number} (the printer fell behind, so part of this connection passed without being shown)"
                        );
                    }
                }
                let _ = writeln!(out, "#{number} {summary}");
            }
        }
    }
}
