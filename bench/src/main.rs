//! `cargo xtask bench chat`: the finished chat (chapter 12's solution, a release build) against an equivalent
//! Node.js server on the official socket.io package (`bench/node/server.mjs`), under the same load, in one
//! run, side by side.
//!
//! For each number of clients, and with the log in memory or on disk:
//! 1. the server starts; N clients connect over WebSocket, one name each, and the server announces each
//!    arrival to everyone already there; once nothing more arrives, the server's memory is read: what it
//!    holds per idle connection;
//! 2. S senders send 10 messages each at once (the burst the rate limit allows) to the lobby, where all N
//!    clients are: S × 10 × N deliveries, every one counted. The server's CPU time over that burst, per
//!    100,000 deliveries; the deliveries per second; the time from send to delivery (p50, p99).
//!
//! The generator (this program) prints its own CPU use beside the server's: when it uses less than a core
//! while the server uses about one, the server is the limit.
//!
//! Usage: `chat-bench --rust PATH --node SCRIPT [--clients 200,1000,5000] [--logs memory,disk] [--nodes] [--deliveries 300000]`.

mod load;
mod proc;
mod servers;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use load::Outcome;
use servers::{Kind, Log};

/// About this many deliveries per run, unless `--deliveries` says otherwise: enough for the servers' CPU time
/// to be read to within a few percent (`/proc` counts it in hundredths of a second), few enough to run in
/// seconds. (At 100,000, two runs of the same server differed by a third.)
const DELIVERIES_PER_RUN: u64 = 300_000;
/// Messages each sender sends at once: the rate limit's burst.
const MESSAGES_PER_SENDER: u64 = 10;

struct Settings {
    rust: PathBuf,
    node: PathBuf,
    clients: Vec<u64>,
    logs: Vec<Log>,
    nodes: bool,
    deliveries: u64,
}

fn main() -> ExitCode {
    let settings = match parse(std::env::args().skip(1)) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!(
                "error: {message}\nusage: chat-bench --rust PATH --node SCRIPT [--clients 200,1000,5000] [--logs memory,disk] [--nodes] [--deliveries 300000]"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(run(settings))
}

async fn run(settings: Settings) -> ExitCode {
    println!(
        "chat benchmark: N clients in the lobby; senders send {MESSAGES_PER_SENDER} messages each at once; about \
         {} deliveries per run",
        settings.deliveries
    );
    println!("{}", load::Row::header());
    let mut failed = false;
    for &clients in &settings.clients {
        for &log in &settings.logs {
            let mut pair = Vec::new();
            for kind in [Kind::Rust, Kind::Node] {
                match run_one(&settings, kind, log, clients, 1).await {
                    Ok(outcome) => {
                        println!("{}", outcome.row(kind.label(), log, 1));
                        pair.push(outcome);
                    }
                    Err(error) => {
                        println!("{:<6} {:<6} {clients:>6}  failed: {error}", kind.label(), log.label());
                        failed = true;
                    }
                }
            }
            if let [rust, node] = pair.as_slice() {
                println!("{}", load::ratios(rust, node));
            }
        }
    }
    if settings.nodes {
        for &clients in &settings.clients {
            match run_one(&settings, Kind::Rust, Log::Disk, clients, 2).await {
                Ok(outcome) => println!("{}", outcome.row(Kind::Rust.label(), Log::Disk, 2)),
                Err(error) => {
                    println!("rust   disk   {clients:>6}  on two nodes, failed: {error}");
                    failed = true;
                }
            }
        }
    }
    println!("{}", load::Row::legend());
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

async fn run_one(settings: &Settings, kind: Kind, log: Log, clients: u64, nodes: usize) -> Result<Outcome, String> {
    let senders = (settings.deliveries / (clients * MESSAGES_PER_SENDER)).clamp(1, clients);
    let folder = std::env::temp_dir().join(format!("chat-bench-{}-{}", std::process::id(), kind.label()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    let redis = if nodes > 1 { Some(testkit::redis::RedisServer::start(servers::SECTION).await) } else { None };
    let mut started = Vec::new();
    for _ in 0..nodes {
        let program = match kind {
            Kind::Rust => &settings.rust,
            Kind::Node => &settings.node,
        };
        started.push(servers::Running::start(kind, program, log, &folder, redis.as_ref()).await?);
    }
    let outcome = load::run(&started, clients, senders, MESSAGES_PER_SENDER).await;
    drop(started);
    drop(redis);
    let _ = std::fs::remove_dir_all(&folder);
    outcome
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Settings, String> {
    let (mut rust, mut node) = (None, None);
    let mut clients = vec![200, 1000, 5000];
    let mut logs = vec![Log::Memory, Log::Disk];
    let mut nodes = false;
    let mut deliveries = DELIVERIES_PER_RUN;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rust" => rust = Some(PathBuf::from(value()?)),
            "--node" => node = Some(PathBuf::from(value()?)),
            "--clients" => {
                clients = value()?
                    .split(',')
                    .map(|count| count.trim().parse::<u64>().ok().filter(|count| *count >= 2))
                    .collect::<Option<Vec<u64>>>()
                    .ok_or("--clients takes numbers of at least 2, as in 200,1000")?;
            }
            "--logs" => {
                logs = value()?
                    .split(',')
                    .map(|log| match log.trim() {
                        "memory" => Ok(Log::Memory),
                        "disk" => Ok(Log::Disk),
                        other => Err(format!("--logs takes memory and disk, not {other:?}")),
                    })
                    .collect::<Result<Vec<Log>, String>>()?;
            }
            "--nodes" => nodes = true,
            "--deliveries" => {
                deliveries = value()?
                    .parse::<u64>()
                    .ok()
                    .filter(|count| *count >= 1000)
                    .ok_or("--deliveries takes a number of at least 1000")?;
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Settings {
        rust: rust.ok_or("--rust PATH (the release build of sol12-finished-chat) is required")?,
        node: node.ok_or("--node SCRIPT (bench/node/server.mjs) is required")?,
        clients,
        logs,
        nodes,
        deliveries,
    })
}

/// How long a run may take before it is given up.
pub const RUN_LIMIT: Duration = Duration::from_secs(180);
