//! The two servers under test, as processes of their own.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use testkit::redis::RedisServer;
use testkit::{Chapter, Section};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// For the test support's messages (the redis-server it starts).
pub const SECTION: Section = Chapter { number: 12, title: "The finished chat", page: "bench" }.section("the benchmark");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The kit's capstone, `sol12-finished-chat`, a release build.
    Rust,
    /// `bench/node/server.mjs` under node, on socket.io 4.8.
    Node,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Rust => "rust",
            Kind::Node => "node",
        }
    }
}

/// Where the log is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// In memory: SQLite's `:memory:` for the Rust server, an array for Node's.
    Memory,
    /// On disk, every message synced before it is acknowledged: SQLite with synchronous=FULL for the Rust
    /// server, an append-only file and `fsync` for Node's.
    Disk,
}

impl Log {
    pub fn label(self) -> &'static str {
        match self {
            Log::Memory => "memory",
            Log::Disk => "disk",
        }
    }
}

/// A server process, killed when dropped.
pub struct Running {
    pub address: SocketAddr,
    pub pid: u32,
    _child: Child,
}

impl Running {
    pub async fn start(
        kind: Kind,
        program: &Path,
        log: Log,
        folder: &Path,
        redis: Option<&RedisServer>,
    ) -> Result<Running, String> {
        let database = folder.join("chat.db");
        let mut command = match kind {
            Kind::Rust => {
                let mut command = Command::new(program);
                command.args(["--port", "0", "--max-connections", "20000", "--db"]);
                match log {
                    Log::Memory => command.arg(":memory:"),
                    Log::Disk => command.arg(&database),
                };
                if let Some(redis) = redis {
                    command.args(["--redis", &redis.url(), "--redis-prefix", "bench"]);
                }
                command
            }
            Kind::Node => {
                let mut command = Command::new("node");
                command.arg(program).args(["--port", "0"]);
                if log == Log::Disk {
                    command.arg("--db").arg(folder.join("chat.jsonl"));
                }
                command
            }
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", program.display()))?;
        let pid = child.id().ok_or("the server ended at once")?;
        let stdout = child.stdout.take().ok_or("no output")?;
        let mut lines = BufReader::new(stdout).lines();
        let address = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.strip_prefix("listening on http://") {
                    return rest.split('/').next().and_then(|address| address.parse().ok());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or(format!("{} did not say where it listens", program.display()))?;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Running { address, pid, _child: child })
    }
}
