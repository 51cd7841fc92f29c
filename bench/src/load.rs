//! The load: N clients, S senders, and every delivery counted and timed.
//!
//! Each client is a WebSocket that speaks Socket.IO by hand, as the official client does over its WebSocket
//! transport: it reads the open packet (`0{...}`), sends `40{"name": ...}`, reads `40{...}`, answers every
//! ping (`2`) with a pong (`3`), and sends `chat message` as `42ID["chat message", {...}]`. It parses nothing
//! it does not need: a delivery is recognised by its first bytes, and its send time read from its text.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::proc;
use crate::servers::{Log, Running};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How many clients connect at the same time.
const CONNECTING_AT_ONCE: usize = 64;
/// The arrivals are over when no notice has come for this long.
const SETTLED_AFTER: Duration = Duration::from_secs(1);

/// What every client task adds to.
#[derive(Default)]
struct Counters {
    deliveries: AtomicU64,
    notices: AtomicU64,
    acknowledged: AtomicU64,
    /// The acknowledgements each sender has had, by client and acknowledgement id.
    answered: std::sync::Mutex<std::collections::HashSet<(u64, u64)>>,
    /// Send-to-delivery times, in microseconds, handed over by each client when the run ends.
    latencies: Mutex<Vec<u32>>,
}

/// What one run measured.
pub struct Outcome {
    clients: u64,
    deliveries: u64,
    seconds: f64,
    server_cpu: f64,
    generator_cpu: f64,
    latencies: Vec<u32>,
    bytes_per_connection: f64,
    connecting_seconds: f64,
}

pub struct Row;

impl Row {
    pub fn header() -> String {
        format!(
            "{:<6} {:<6} {:>6} {:>6} {:>10} {:>12} {:>9} {:>9} {:>10} {:>9} {:>9} {:>8}",
            "server",
            "log",
            "nodes",
            "N",
            "deliveries",
            "per second",
            "cpu/100k",
            "p50 ms",
            "p99 ms",
            "KiB/conn",
            "gen cpu",
            "connect"
        )
    }

    pub fn legend() -> String {
        "cpu/100k: the server's CPU seconds per 100,000 deliveries (lower is better); KiB/conn: the server's \
         memory per idle connection; gen cpu: the generator's CPU seconds over the same burst (it is not the \
         limit while it stays well under the burst's duration); connect: seconds for the N clients to connect, \
         each arrival announced to all"
            .into()
    }
}

impl Outcome {
    pub fn row(&self, server: &str, log: Log, nodes: usize) -> String {
        format!(
            "{:<6} {:<6} {:>6} {:>6} {:>10} {:>12.0} {:>9.3} {:>9.2} {:>10.2} {:>9.1} {:>9.2} {:>7.1}s",
            server,
            log.label(),
            nodes,
            self.clients,
            self.deliveries,
            self.deliveries as f64 / self.seconds,
            self.cpu_per_100k(),
            percentile(&self.latencies, 0.50),
            percentile(&self.latencies, 0.99),
            self.bytes_per_connection / 1024.0,
            self.generator_cpu,
            self.connecting_seconds,
        )
    }

    fn cpu_per_100k(&self) -> f64 {
        self.server_cpu / self.deliveries as f64 * 100_000.0
    }
}

/// Node's figures over Rust's: how many times more CPU per delivery, memory per connection, and latency.
pub fn ratios(rust: &Outcome, node: &Outcome) -> String {
    let ratio = |node: f64, rust: f64| if rust > 0.0 { format!("{:.1}x", node / rust) } else { "-".into() };
    format!(
        "  node/rust: cpu per delivery {}, memory per connection {}, p99 latency {}, deliveries per second {}",
        ratio(node.cpu_per_100k(), rust.cpu_per_100k()),
        ratio(node.bytes_per_connection, rust.bytes_per_connection),
        ratio(percentile(&node.latencies, 0.99), percentile(&rust.latencies, 0.99)),
        ratio(node.deliveries as f64 / node.seconds, rust.deliveries as f64 / rust.seconds),
    )
}

fn percentile(latencies: &[u32], quantile: f64) -> f64 {
    if latencies.is_empty() {
        return f64::NAN;
    }
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let at = ((sorted.len() - 1) as f64 * quantile).round() as usize;
    f64::from(sorted[at]) / 1000.0
}

/// Connects `clients` clients, spread over `servers`, and has `senders` of them send `per_sender` messages
/// each at once.
pub async fn run(servers: &[Running], clients: u64, senders: u64, per_sender: u64) -> Result<Outcome, String> {
    let epoch = Instant::now();
    let counters = Arc::new(Counters::default());
    let (stop, stopped) = watch::channel(false);
    let memory_before: u64 = servers.iter().filter_map(|server| proc::resident_bytes(server.pid)).sum();

    // Connect, CONNECTING_AT_ONCE at a time.
    let connecting = Instant::now();
    let mut outboxes = Vec::new();
    let mut tasks = Vec::new();
    let mut index = 0;
    while index < clients {
        let batch: Vec<u64> = (index..(index + CONNECTING_AT_ONCE as u64).min(clients)).collect();
        index += batch.len() as u64;
        let joined = futures_util::future::join_all(batch.iter().map(|&client| {
            let server = &servers[client as usize % servers.len()];
            connect(server.address, client)
        }))
        .await;
        for ws in joined {
            let ws = ws?;
            let (outbox, outgoing) = mpsc::unbounded_channel::<String>();
            let number = outboxes.len() as u64;
            tasks.push(tokio::spawn(client(
                number,
                ws,
                outbox.clone(),
                outgoing,
                Arc::clone(&counters),
                stopped.clone(),
                epoch,
            )));
            outboxes.push(outbox);
        }
    }
    settle(&counters.notices).await;
    let connecting_seconds = connecting.elapsed().as_secs_f64();
    let memory_after: u64 = servers.iter().filter_map(|server| proc::resident_bytes(server.pid)).sum();

    // The burst.
    let expected = senders * per_sender * clients;
    let cpu_before: f64 = servers.iter().filter_map(|server| proc::cpu_seconds(server.pid)).sum();
    let generator_before = proc::cpu_seconds(std::process::id()).unwrap_or(0.0);
    let sending = Instant::now();
    let mut packets = Vec::new();
    for (sender, outbox) in outboxes.iter().take(senders as usize).enumerate() {
        for k in 0..per_sender {
            let sent = epoch.elapsed().as_micros();
            let message = serde_json::json!({ "room": "lobby", "text": format!("t{sent}"), "clientOffset": format!("{sender}:{k}") });
            let packet = format!("42{k}{}", serde_json::json!(["chat message", message]));
            let _ = outbox.send(packet.clone());
            packets.push((sender as u64, k, packet));
        }
    }
    // Done when every delivery has arrived, and every acknowledgement (which may come after the last
    // delivery: a node acknowledges once it has appended, and the others deliver on their own). An
    // acknowledgement can be lost: one that finds its socket's buffer full is dropped by the server. As a
    // real client does (chapter 10), the generator sends such a message again, with its client offset, after a
    // second without an answer; the server stores it once and answers again.
    let finished = tokio::time::timeout(crate::RUN_LIMIT, async {
        let mut last_try = Instant::now();
        while counters.deliveries.load(Ordering::Relaxed) < expected
            || counters.acknowledged.load(Ordering::Relaxed) < senders * per_sender
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
            if last_try.elapsed() > Duration::from_secs(1) {
                last_try = Instant::now();
                let answered = counters.answered.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
                for (sender, k, packet) in &packets {
                    if !answered.contains(&(*sender, *k)) {
                        let _ = outboxes[*sender as usize].send(packet.clone());
                    }
                }
            }
        }
    })
    .await;
    let seconds = sending.elapsed().as_secs_f64();
    let server_cpu = servers.iter().filter_map(|server| proc::cpu_seconds(server.pid)).sum::<f64>() - cpu_before;
    let generator_cpu = proc::cpu_seconds(std::process::id()).unwrap_or(0.0) - generator_before;
    let deliveries = counters.deliveries.load(Ordering::Relaxed);

    let _ = stop.send(true);
    drop(outboxes);
    for task in tasks {
        let _ = task.await;
    }
    let acknowledged = counters.acknowledged.load(Ordering::Relaxed);
    if finished.is_err() {
        return Err(format!(
            "{deliveries} of {expected} deliveries, {acknowledged} of {} acknowledgements, within {:?}",
            senders * per_sender,
            crate::RUN_LIMIT
        ));
    }
    let latencies = std::mem::take(&mut *counters.latencies.lock().await);
    Ok(Outcome {
        clients,
        deliveries,
        seconds,
        server_cpu,
        generator_cpu,
        latencies,
        bytes_per_connection: memory_after.saturating_sub(memory_before) as f64 / clients as f64,
        connecting_seconds,
    })
}

/// Waits until no notice has come for [`SETTLED_AFTER`] (every arrival has been announced to everyone).
async fn settle(notices: &AtomicU64) {
    let mut last = notices.load(Ordering::Relaxed);
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < SETTLED_AFTER {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = notices.load(Ordering::Relaxed);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
}

/// One client's WebSocket, connected to the namespace as `bench-N`.
async fn connect(server: std::net::SocketAddr, client: u64) -> Result<Ws, String> {
    let url = format!("ws://{server}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) =
        tokio_tungstenite::connect_async(url).await.map_err(|error| format!("client {client}: {error}"))?;
    let open = next_text(&mut ws).await.ok_or(format!("client {client}: no open packet"))?;
    if !open.starts_with('0') {
        return Err(format!("client {client}: the open packet was {open:?}"));
    }
    let auth = serde_json::json!({ "name": format!("bench-{client}") });
    ws.send(Message::text(format!("40{auth}"))).await.map_err(|error| format!("client {client}: {error}"))?;
    loop {
        let text = next_text(&mut ws).await.ok_or(format!("client {client}: no CONNECT answer"))?;
        if text == "2" {
            ws.send(Message::text("3")).await.map_err(|error| error.to_string())?;
        } else if text.starts_with("40") {
            return Ok(ws);
        } else if text.starts_with("44") {
            return Err(format!("client {client} was refused: {text}"));
        }
    }
}

async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next()).await.ok()?? {
            Ok(Message::Text(text)) => return Some(text.to_string()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// One client for the length of the run: answers pings, counts notices, deliveries and acknowledgements, and
/// times each delivery from the send time in its text.
async fn client(
    number: u64,
    ws: Ws,
    outbox: mpsc::UnboundedSender<String>,
    mut outgoing: mpsc::UnboundedReceiver<String>,
    counters: Arc<Counters>,
    mut stopped: watch::Receiver<bool>,
    epoch: Instant,
) {
    let (mut sink, mut stream) = ws.split();
    let writer = tokio::spawn(async move {
        while let Some(text) = outgoing.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    let mut latencies = Vec::new();
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            _ = stopped.wait_for(|stop| *stop) => break,
        };
        let Some(Ok(Message::Text(text))) = message else {
            if matches!(message, Some(Ok(_))) {
                continue;
            }
            break;
        };
        let text = text.as_str();
        if text == "2" {
            let _ = outbox.send("3".into());
        } else if let Some(rest) = text.strip_prefix("42[\"chat message\",") {
            counters.deliveries.fetch_add(1, Ordering::Relaxed);
            if let Some(sent) = sent_at(rest) {
                let now = epoch.elapsed().as_micros() as u64;
                latencies.push(u32::try_from(now.saturating_sub(sent)).unwrap_or(u32::MAX));
            }
        } else if text.starts_with("42[\"user joined\"") || text.starts_with("42[\"online\"") {
            counters.notices.fetch_add(1, Ordering::Relaxed);
        } else if let Some(rest) = text.strip_prefix("43") {
            let id: Option<u64> = rest.split('[').next().and_then(|id| id.parse().ok());
            if let Some(id) = id
                && counters.answered.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert((number, id))
            {
                counters.acknowledged.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    drop(outbox);
    writer.abort();
    counters.latencies.lock().await.extend(latencies);
}

/// The send time in a delivery's text, `"text":"t1234567"`: microseconds since the run began.
fn sent_at(delivery: &str) -> Option<u64> {
    let start = delivery.find("\"text\":\"t")? + "\"text\":\"t".len();
    let digits = &delivery[start..];
    let end = digits.find('"')?;
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_says_when_it_was_sent() {
        assert_eq!(sent_at(r#"{"offset":7,"room":"lobby","name":"bench-1","text":"t123456"}]"#), Some(123_456));
        assert_eq!(sent_at(r#"{"text":"hello"}]"#), None);
    }

    #[test]
    fn percentiles_are_read_from_the_sorted_times() {
        let latencies: Vec<u32> = (1..=100).map(|n| n * 1000).collect();
        assert_eq!(percentile(&latencies, 0.5), 51.0);
        assert_eq!(percentile(&latencies, 0.99), 99.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
