//! Proof that the kit's chat speaks real Socket.IO: its servers against code nobody here wrote.
//!
//! The chapters' own tests use a Rust client (rust_socketio). A server and a client written against each other
//! can agree on a mistake; the checks in `tests/` therefore drive the reference solutions with the official
//! JavaScript client under node (`node_client`) and with a real headless Chromium (`browser`). Those programs
//! do not come with the Rust toolchain, so this crate also holds what such checks need around them:
//!
//! - [`process`]: a child process that is killed when the check ends, however it ends;
//! - [`port`]: a free port on 127.0.0.1 for a program that must be told its port (chromedriver);
//! - [`Served`]: a reference solution's own program, started for one check;
//! - [`chromedriver`]: starts chromedriver on a free port and waits until it answers.
//!
//! The checks run under the kit's `harness`, which reports one whose program is missing as skipped, by name,
//! with the command that enables it, never as a pass; on CI (`CI` set) a missing program fails instead
//! (invariant 7).

pub mod chromedriver;
pub mod port;
pub mod process;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use testkit::{Chapter, Server};
use tokio::runtime::Runtime;

pub use harness::kit_root;

/// The packages whose programs the checks drive: the reference solutions, and this crate (its
/// `reference-chat`, the tests' reference server as a program). Built once per test binary.
const SOLUTIONS: &[&str] = &[
    "sol02-websockets",
    "sol03-many-sockets",
    "sol04-socket-io",
    "sol05-events",
    "sol06-broadcasting",
    "sol08-rooms-presence",
    "sol09-server-delivery",
    "sol10-client-delivery",
    "sol11-scaling-out",
    "sol12-finished-chat",
    "kit-interop",
];

/// The path of a reference solution's program (`sol05-events`, say), built up to date first. With
/// `KIT_PROGRAMS_DIR` set, the program of that name in that folder instead (to measure another build of the
/// kit, an older one say, against the same checks).
///
/// The solutions are programs, not libraries (the chapters' tests run them, invariant 8), so a check starts
/// one the same way. The first call runs `cargo build` for all of them, which is quick when `cargo test` has
/// just built them, and makes sure a check never drives a stale binary when run on its own.
pub fn solution_program(name: &str) -> PathBuf {
    if let Some(folder) = std::env::var_os("KIT_PROGRAMS_DIR") {
        return PathBuf::from(folder).join(name);
    }
    static BUILT: OnceLock<Result<HashMap<String, PathBuf>, String>> = OnceLock::new();
    let built = BUILT.get_or_init(build_solutions);
    match built {
        Ok(programs) => programs.get(name).cloned().unwrap_or_else(|| panic!("no solution program named {name}")),
        Err(error) => panic!("{error}"),
    }
}

fn build_solutions() -> Result<HashMap<String, PathBuf>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(kit_root()).args(["build", "--quiet", "--bins", "--message-format=json"]);
    for name in SOLUTIONS {
        command.args(["--package", name]);
    }
    let output = command.stderr(Stdio::inherit()).output().map_err(|error| format!("could not run cargo: {error}"))?;
    if !output.status.success() {
        return Err(format!("`cargo build` of the solutions failed ({})", output.status));
    }
    let mut programs = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let (Some(name), Some(executable)) = (message["target"]["name"].as_str(), message["executable"].as_str())
        else {
            continue;
        };
        programs.insert(name.to_owned(), PathBuf::from(executable));
    }
    Ok(programs)
}

/// The chapter named in a failure to start a solution: the interop checks belong to no chapter of the book.
const INTEROP: Chapter = Chapter { number: 0, title: "Interoperability", page: "support/interop" };

/// A solution's server program on 127.0.0.1, port 0, for the length of one check.
///
/// The program's output is read on its own runtime's worker thread, so the check itself can block (on a node
/// process, say) while the server keeps running. Fields drop in order: the server stops, then its runtime.
pub struct Served {
    pub server: Server,
    pub runtime: Runtime,
}

impl Served {
    /// Starts the solution program called `name` (`sol05-events`, say).
    pub fn start(name: &str) -> Served {
        Served::start_with(name, &[], &[])
    }

    /// Starts it with more arguments (`--db PATH`, say), allowed to write in the folders `writable`.
    pub fn start_with(name: &str, args: &[&str], writable: &[&std::path::Path]) -> Served {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("could not start a tokio runtime for the server");
        let program = solution_program(name);
        let program = program.to_str().expect("a UTF-8 path").to_owned();
        let section = INTEROP.section("starting the server");
        let server = runtime.block_on(Server::start_with(&program, args, writable, section));
        Served { server, runtime }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        self.server.http_url(path)
    }
}
