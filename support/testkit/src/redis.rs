//! A private `redis-server` for one test, on a free port of 127.0.0.1 (chapter 11 on).
//!
//! Each test that needs Redis starts its own: nothing is shared between tests, nothing is left behind (the
//! server is killed when the [`RedisServer`] is dropped), and nothing is written to disk (no snapshots, no
//! append-only file). A test can also kill it and start it again on the same port, as an operator restarting
//! Redis under running nodes would.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{Section, WAIT, within};

/// How many ports to try before giving up (another program may take a free port between our look and
/// Redis's bind).
const ATTEMPTS: usize = 5;

/// A running `redis-server`.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    section: Section,
}

impl RedisServer {
    /// Starts `redis-server` on a free port and waits until it accepts connections.
    pub async fn start(section: Section) -> RedisServer {
        let mut last_error = String::new();
        for _ in 0..ATTEMPTS {
            let port = free_port();
            match launch(port).await {
                Ok(child) => return RedisServer { port, child: Some(child), section },
                Err(error) => last_error = error,
            }
        }
        panic!("the test could not start redis-server: {last_error}.\nRead: {section}")
    }

    /// `redis://127.0.0.1:PORT`, for `--redis`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Kills it (SIGKILL) and waits until it is gone: every connection to it breaks.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = within(WAIT, "redis-server to end", self.section, child.wait()).await;
        }
    }

    /// Kills it if it runs, and starts it again, empty, on the same port.
    pub async fn restart(&mut self) {
        self.kill().await;
        match launch(self.port).await {
            Ok(child) => self.child = Some(child),
            Err(error) => panic!("the test could not start redis-server again: {error}.\nRead: {}", self.section),
        }
    }
}

impl RedisServer {
    /// Waits (at most `limit`) until `count` clients are subscribed to `channel`: after a restart, until the
    /// nodes have reconnected and subscribed again. `false` if they have not by then.
    pub async fn wait_for_subscribers(&self, channel: &str, count: u64, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if subscribers(self.address(), channel).await.is_some_and(|subscribed| subscribed >= count) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// `PUBSUB NUMSUB channel`, spoken by hand (RESP, the Redis protocol): how many clients are subscribed.
async fn subscribers(address: SocketAddr, channel: &str) -> Option<u64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    let command = format!("*3\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n${}\r\n{channel}\r\n", channel.len());
    stream.write_all(command.as_bytes()).await.ok()?;
    // The answer: *2 $LEN CHANNEL :COUNT, each line ending with CRLF.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 512];
    while !String::from_utf8_lossy(&answer).lines().any(|line| line.starts_with(':')) {
        let read = tokio::time::timeout(WAIT, stream.read(&mut chunk)).await.ok()?.ok()?;
        if read == 0 {
            return None;
        }
        answer.extend_from_slice(&chunk[..read]);
    }
    let answer = String::from_utf8_lossy(&answer);
    answer.lines().find_map(|line| line.strip_prefix(':')?.trim().parse().ok())
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port on 127.0.0.1");
    listener.local_addr().expect("a bound listener has an address").port()
}

async fn launch(port: u16) -> Result<Child, String> {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--daemonize", "no", "--loglevel", "notice", "--databases", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| {
            format!("cannot run redis-server ({error}); install it with `apt-get install redis-server`")
        })?;
    let stdout = child.stdout.take().ok_or("redis-server has no output")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = async {
        let mut said = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("Ready to accept connections") {
                return Ok(());
            }
            said.push(line);
        }
        Err(said.into_iter().rev().take(3).collect::<Vec<_>>().join(" / "))
    };
    match tokio::time::timeout(Duration::from_secs(10), ready).await {
        Ok(Ok(())) => {
            // Its later output is read and dropped, so that it never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            Ok(child)
        }
        Ok(Err(said)) => Err(format!("redis-server on port {port} ended: {said}")),
        Err(_) => Err(format!("redis-server on port {port} was not ready within 10 s")),
    }
}
