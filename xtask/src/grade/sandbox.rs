//! Running student code: a scrubbed environment, its own process group, a time limit, an output cap, and
//! (where the platform allows it) no network but loopback.
//!
//! Everything a submission's tests do happens in processes started here. When a limit is hit, the whole
//! process group is killed, so a test that spawned children (a server, a `sleep`) leaves nothing behind.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// How a sandboxed process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It exited by itself with this code (`None`: killed by a signal it did not get from us).
    Exited(Option<i32>),
    /// We killed it: it ran past its time limit.
    TimedOut,
    /// We killed it: it printed more than the output cap.
    OutputLimit,
}

pub struct Outcome {
    pub ending: Ending,
    /// Stdout then stderr, each cut at the cap.
    pub output: String,
}

/// What the grader may do to keep student code off the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Each run gets a network namespace of its own with only loopback up (`unshare -rn`, Linux).
    LoopbackOnly,
    /// The platform does not allow it; the report says so.
    Unrestricted,
}

impl Network {
    /// Tries `unshare -rn` once: if a user and network namespace can be made here, and loopback brought up in
    /// it, every run is isolated that way.
    pub fn detect() -> Network {
        let works = Command::new("unshare")
            .args(["-rn", "sh", "-c", "ip link set lo up"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if works { Network::LoopbackOnly } else { Network::Unrestricted }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Network::LoopbackOnly => {
                "student code ran in a network namespace of its own: loopback only, no outside network"
            }
            Network::Unrestricted => {
                "student code ran with the machine's network (this platform does not allow `unshare -rn`): \
                 run the grader on a machine without network access if that matters"
            }
        }
    }
}

/// One sandboxed command.
pub struct Sandbox<'a> {
    pub program: &'a Path,
    pub args: Vec<String>,
    pub working_dir: &'a Path,
    /// A private folder: HOME and TMPDIR point into it.
    pub scratch: &'a Path,
    pub limit: Duration,
    pub output_cap: usize,
    pub network: Network,
}

impl Sandbox<'_> {
    pub fn run(&self) -> Result<Outcome> {
        let home = self.scratch.join("home");
        let tmp = self.scratch.join("tmp");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&tmp)?;
        let mut command = match self.network {
            Network::LoopbackOnly => {
                // `ip link set lo up` inside the new namespace, then replace the shell with the real program.
                let mut command = Command::new("unshare");
                command.args(["-rn", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""]).arg(self.program);
                command
            }
            Network::Unrestricted => Command::new(self.program),
        };
        command
            .args(&self.args)
            .current_dir(self.working_dir)
            // Nothing of the grader's environment leaks in: no tokens, no CARGO_* paths to the kit.
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .env("LANG", "C.UTF-8")
            .env("RUST_BACKTRACE", "0")
            // Snapshot tests compare and fail; they never write files.
            .env("INSTA_UPDATE", "no")
            .env("CI", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);

        let started = Instant::now();
        let mut child = command.spawn().with_context(|| format!("could not start {}", self.program.display()))?;
        let group = child.id();
        let overflowed = Arc::new(Mutex::new(false));
        let stdout = capture(child.stdout.take(), self.output_cap, Arc::clone(&overflowed));
        let stderr = capture(child.stderr.take(), self.output_cap, Arc::clone(&overflowed));

        let deadline = started + self.limit;
        let ending = loop {
            if let Some(status) = child.try_wait()? {
                break Ending::Exited(status.code());
            }
            if *overflowed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) {
                kill_group(group);
                let _ = child.wait();
                break Ending::OutputLimit;
            }
            if Instant::now() >= deadline {
                kill_group(group);
                let _ = child.wait();
                break Ending::TimedOut;
            }
            // The standard library has no wait-with-timeout for a child; polling its status is the portable way.
            std::thread::sleep(Duration::from_millis(10));
        };
        // Whatever the test left running in its group (a server, a child process) goes too.
        kill_group(group);
        let output = format!("{}{}", stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
        Ok(Outcome { ending, output })
    }
}

/// Reads a pipe to its end, keeping at most `cap` bytes; flags `overflowed` when there was more.
fn capture(
    pipe: Option<impl Read + Send + 'static>,
    cap: usize,
    overflowed: Arc<Mutex<bool>>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let Some(mut pipe) = pipe else { return String::new() };
        let mut buffer = [0u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    let room = cap.saturating_sub(kept.len());
                    kept.extend_from_slice(&buffer[..read.min(room)]);
                    if read > room {
                        *overflowed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
                        // Keep draining, so the child is never blocked on a full pipe while we kill it.
                    }
                }
            }
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

/// Kills a whole process group. Uses the `kill` program: no unsafe code, and present on every Unix.
fn kill_group(group: u32) {
    #[cfg(unix)]
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A folder for one run's private files, removed afterwards.
pub fn private_folder(parent: &Path, name: &str) -> Result<PathBuf> {
    let folder = parent.join(name);
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder)?;
    Ok(folder)
}
