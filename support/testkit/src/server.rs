//! The server under test: the student's own program, started for the length of one test.
//!
//! A test never links the student's code (invariant 8): it runs the exercise's binary with `--port 0`, reads
//! the address the program prints (`listening on http://127.0.0.1:PORT/`), and talks to it over loopback like
//! any other client. The test owns the process: dropping the [`Server`] kills it, whatever ended the test.
//!
//! While the test waits for something, the program may panic (a `todo!()` in a handler) or exit. Either ends
//! the wait at once, with the program's own message (see [`crate::within`]), instead of a timeout. Whatever
//! the program wrote on its standard error is kept (the last lines of it), and shown when a test fails.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

use launch::Program;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::oneshot;

use crate::lesson::{self, Section, WAIT};

/// How many of the program's last lines of standard error a failing test shows.
const TAIL_LINES: usize = 40;
/// Longest line kept from the program's output; a longer one is cut.
const LINE_CHARS: usize = 300;

/// A running server program, on 127.0.0.1 at the port it chose (or was given, on a restart).
pub struct Server {
    program: Program,
    args: Vec<OsString>,
    writable: Vec<PathBuf>,
    address: SocketAddr,
    section: Section,
    running: Option<Running>,
    stderr: Arc<Mutex<Tail>>,
    pid: Option<u32>,
}

/// What a test holds of a running process: a way to stop it, and word of its end.
struct Running {
    /// Tells the supervising task to kill the process; it answers with the exit status.
    stop: Option<oneshot::Sender<oneshot::Sender<Option<ExitStatus>>>>,
}

impl Server {
    /// Starts `program` (the path cargo gives as `env!("CARGO_BIN_EXE_...")`) with `--port 0` and waits until
    /// it says where it listens. `section` is where a failure to start sends the reader.
    pub async fn start(program: &str, section: Section) -> Server {
        Server::start_with(program, &[], &[], section).await
    }

    /// Like [`Server::start`], with more arguments (`--db PATH`, say). Under the grader the program runs in a
    /// sandbox where only the folders in `writable` can be written to.
    pub async fn start_with(program: &str, args: &[&str], writable: &[&Path], section: Section) -> Server {
        crate::panics::report_panics_briefly();
        let mut server = Server {
            program: Program::new(program),
            args: args.iter().map(OsString::from).collect(),
            writable: writable.iter().map(|folder| folder.to_path_buf()).collect(),
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            section,
            running: None,
            stderr: Arc::new(Mutex::new(Tail::default())),
            pid: None,
        };
        server.launch(0).await;
        server
    }

    /// The address and port the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// `ws://127.0.0.1:PORT{path}`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.address)
    }

    /// Kills the program at once (SIGKILL: no clean shutdown, as in a crash or a power cut) and waits until it
    /// is gone. Its end is expected, so it does not fail the test.
    pub async fn kill(&mut self) {
        let Some(mut running) = self.running.take() else { return };
        let Some(stop) = running.stop.take() else { return };
        let (answer, status) = oneshot::channel();
        if stop.send(answer).is_ok() {
            let _ = lesson::within(WAIT, "the killed server to end", self.section, status).await;
        }
    }

    /// Kills the program and starts it again with the same arguments, on the same port: clients that
    /// reconnect find it where it was.
    pub async fn restart(&mut self) {
        self.kill().await;
        let port = self.address.port();
        self.launch(port).await;
    }

    /// The process id of the program (or, in the grader's sandbox, of the sandbox around it).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The last lines the program wrote on its standard error.
    pub fn stderr_tail(&self) -> String {
        self.stderr.lock().map(|tail| tail.render()).unwrap_or_default()
    }

    async fn launch(&mut self, port: u16) {
        let port = port.to_string();
        let mut args: Vec<&std::ffi::OsStr> = vec!["--port".as_ref(), port.as_ref()];
        args.extend(self.args.iter().map(OsString::as_os_str));
        let writable: Vec<&Path> = self.writable.iter().map(PathBuf::as_path).collect();
        let mut command = tokio::process::Command::from(self.program.command(args, &writable));
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let name = self.program.name();
        let section = self.section;
        let mut child = command.spawn().unwrap_or_else(|error| {
            panic!(
                "the test could not start the program {}: {error}. Does the exercise still build (`cargo build -p \
                 {name}`)?\nRead: {section}",
                self.program.path().display()
            )
        });

        self.pid = child.id();
        let (address_tx, address_rx) = oneshot::channel();
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(read_stdout(stdout, address_tx));
        }
        let (stderr_done, stderr_closed) = oneshot::channel();
        if let Some(stderr) = child.stderr.take() {
            let tail = Arc::clone(&self.stderr);
            let name = name.clone();
            tokio::spawn(async move {
                read_stderr(stderr, tail, name).await;
                let _ = stderr_done.send(());
            });
        }
        let (stop, stop_rx) = oneshot::channel();
        tokio::spawn(supervise(child, stop_rx, stderr_closed, name.clone()));
        self.running = Some(Running { stop: Some(stop) });

        let what = format!("{name} to print the address it listens on (\"listening on http://...\")");
        // Standard output closing without the address means the program is ending: then its supervisor
        // reports how (a panic's message, or the exit code), and that ends this wait.
        let address = async {
            match address_rx.await {
                Ok(address) => address,
                Err(_) => std::future::pending().await,
            }
        };
        self.address = lesson::within(WAIT, &what, section, address).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failing test shows what the program said: a panic, an error, its own log lines.
        if std::thread::panicking() {
            let tail = self.stderr_tail();
            if !tail.is_empty() {
                eprintln!("{tail}");
            }
        }
        // Dropping the stop channel tells the supervising task to kill the program; if the runtime is already
        // shutting down, `kill_on_drop` does it.
        self.running.take();
    }
}

/// Owns the child: reports an unexpected end to the test's waits, and kills the child when asked (or when
/// the test lets go of the [`Server`]).
async fn supervise(
    mut child: tokio::process::Child,
    stop: oneshot::Receiver<oneshot::Sender<Option<ExitStatus>>>,
    stderr_closed: oneshot::Receiver<()>,
    name: String,
) {
    tokio::select! {
        status = child.wait() => {
            // A program that panicked has written why on its standard error: let that be read first, so the
            // test reports the panic's message rather than a bare exit code.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), stderr_closed).await;
            let status = status.map(|status| status.to_string()).unwrap_or_else(|error| error.to_string());
            lesson::program_failed(format!("your program `{name}` exited ({status}) while the test still needed it"));
        }
        asked = stop => {
            let _ = child.start_kill();
            let status = child.wait().await.ok();
            if let Ok(answer) = asked {
                let _ = answer.send(status);
            }
        }
    }
}

/// Reads the program's standard output: the first `listening on http://ADDRESS/` line gives the address. The
/// rest is read and dropped, so the program never blocks on a full pipe.
async fn read_stdout(stdout: impl AsyncRead + Unpin, address: oneshot::Sender<SocketAddr>) {
    let mut lines = BufReader::new(stdout).lines();
    let mut address = Some(address);
    while let Ok(Some(line)) = lines.next_line().await {
        if address.is_some()
            && let Some(found) = listening_address(&line)
            && let Some(sender) = address.take()
        {
            let _ = sender.send(found);
        }
    }
}

/// `listening on http://127.0.0.1:3000/  (Ctrl-C to stop)` → `127.0.0.1:3000`.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let rest = line.split("http://").nth(1)?;
    let address = rest.split(['/', ' ']).next()?;
    address.parse().ok()
}

/// Reads the program's standard error into `tail`, and reports its first panic to the test's waits.
async fn read_stderr(stderr: impl AsyncRead + Unpin, tail: Arc<Mutex<Tail>>, name: String) {
    let mut lines = BufReader::new(stderr).lines();
    let mut panic: Option<Panic> = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if let Ok(mut tail) = tail.lock() {
            tail.push(&line);
        }
        match &mut panic {
            None => panic = Panic::starting_at(&line),
            Some(collecting) if collecting.done => {}
            Some(collecting) => {
                if collecting.take(&line) {
                    lesson::program_failed(format!("your program `{name}` panicked: {}", collecting.render()));
                }
            }
        }
    }
    // The program ended in the middle of a panic message: report what there is.
    if let Some(collecting) = panic.filter(|panic| !panic.done) {
        lesson::program_failed(format!("your program `{name}` panicked: {}", collecting.render()));
    }
}

/// A panic message being read from standard error: `thread 'NAME' panicked at FILE:LINE:COL:`, then the
/// message's lines, then (with backtraces off) a `note: run with RUST_BACKTRACE=1 ...` line.
struct Panic {
    location: String,
    message: Vec<String>,
    done: bool,
}

impl Panic {
    fn starting_at(line: &str) -> Option<Panic> {
        let location = line.strip_prefix("thread '")?.split_once(" panicked at ")?.1;
        let location = location.trim_end_matches(':').to_owned();
        Some(Panic { location, message: Vec::new(), done: false })
    }

    /// Adds a line of the message; true once the message is complete.
    fn take(&mut self, line: &str) -> bool {
        if line.starts_with("note: ") || line.starts_with("stack backtrace:") || self.message.len() >= 10 {
            self.done = true;
        } else {
            self.message.push(line.to_owned());
        }
        self.done
    }

    fn render(&self) -> String {
        format!("{} (at {})", self.message.join("\n    "), self.location)
    }
}

/// The last lines of a stream, each cut to a readable length.
#[derive(Default)]
struct Tail {
    lines: std::collections::VecDeque<String>,
    dropped: usize,
}

impl Tail {
    fn push(&mut self, line: &str) {
        if self.lines.is_empty() && line.trim().is_empty() {
            return;
        }
        // The kit starts programs with backtraces off and says so itself: Rust's advice to turn them on with
        // RUST_BACKTRACE would not work, and reads like the next step.
        if line.starts_with("note: run with `RUST_BACKTRACE=1`") {
            return;
        }
        let mut kept: String = line.chars().take(LINE_CHARS).collect();
        if kept.len() < line.len() {
            kept.push_str(" ...");
        }
        self.lines.push_back(kept);
        if self.lines.len() > TAIL_LINES {
            self.lines.pop_front();
            self.dropped += 1;
        }
    }

    /// The lines, each behind a bar: nothing the program prints can pass for a line of the test's own report.
    fn render(&self) -> String {
        if self.lines.is_empty() {
            return String::new();
        }
        let mut text = String::from("--- the server's standard error");
        if self.dropped > 0 {
            text.push_str(&format!(" (its last {TAIL_LINES} lines)"));
        }
        text.push_str(":\n");
        for line in &self.lines {
            text.push_str("  | ");
            text.push_str(line);
            text.push('\n');
        }
        text.push_str("---");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_read_from_the_runners_line() {
        let line = "listening on http://127.0.0.1:40123/  (Ctrl-C to stop)";
        assert_eq!(listening_address(line), Some("127.0.0.1:40123".parse().unwrap()));
        assert_eq!(listening_address("listening on http://[::1]:80/"), Some("[::1]:80".parse().unwrap()));
        assert_eq!(listening_address("starting..."), None);
    }

    #[test]
    fn a_panic_is_read_up_to_its_note() {
        let mut panic =
            Panic::starting_at("thread 'tokio-runtime-worker' panicked at src/main.rs:30:5:").expect("a panic line");
        assert!(!panic.take("not yet implemented: chapter 5, section \"Acknowledgements\""));
        assert!(panic.take("note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"));
        assert_eq!(
            panic.render(),
            "not yet implemented: chapter 5, section \"Acknowledgements\" (at src/main.rs:30:5)"
        );
        assert!(Panic::starting_at("thread 'main' is fine").is_none());
    }

    #[test]
    fn the_tail_keeps_the_last_lines_behind_a_bar() {
        let mut tail = Tail::default();
        for number in 0..(TAIL_LINES + 5) {
            tail.push(&format!("test line_{number} ... ok"));
        }
        tail.push("note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace");
        let text = tail.render();
        assert!(!text.contains("RUST_BACKTRACE"), "the kit turned backtraces off itself: {text}");
        assert!(text.contains("last 40 lines"), "{text}");
        assert!(!text.contains("line_4 "), "{text}");
        assert!(text.lines().filter(|line| line.starts_with("test ")).count() == 0, "{text}");
    }
}
