//! Proof that the kit's chat speaks real Socket.IO: its servers against code nobody here wrote.
//!
//! The chapters' own tests use a Rust client (rust_socketio). A server and a client written against each other
//! can agree on a mistake; the checks in `tests/` therefore drive the reference solutions with the official
//! JavaScript client under node (`node_client`) and with a real headless Chromium (`browser`). Those programs
//! do not come with the Rust toolchain, so this crate also holds what such checks need around them:
//!
//! - [`process`]: a child process that is killed when the check ends, however it ends;
//! - [`port`]: a free port on 127.0.0.1 for a program that must be told its port (chromedriver);
//! - [`programs`]: whether a program or npm package is installed, and the command that installs it;
//! - [`harness`]: runs the checks, and reports one whose program is missing as skipped, by name, with the
//!   command that enables it, never as a pass; on CI (`CI` set) a missing program fails instead (invariant 7);
//! - [`chromedriver`]: starts chromedriver on a free port and waits until it answers.

pub mod chromedriver;
pub mod harness;
pub mod port;
pub mod process;
pub mod programs;

use std::path::{Path, PathBuf};

use axum::Router;
use testkit::TestServer;
use tokio::runtime::Runtime;

/// The kit's root folder: where `course.toml`, `package.json` and `node_modules/` are.
pub fn kit_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.ancestors().nth(2).unwrap_or(crate_dir).to_path_buf()
}

/// A solution's `app()` served on 127.0.0.1, port 0, for the length of one check.
///
/// The server runs on its own runtime's worker thread, so the check itself can block (on a node process, say)
/// while the server keeps answering. Fields drop in order: the server stops, then its runtime shuts down.
pub struct Served {
    pub server: TestServer,
    pub runtime: Runtime,
}

impl Served {
    pub fn start(app: Router) -> Served {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("could not start a tokio runtime for the server");
        let server = runtime.block_on(TestServer::start(app));
        Served { server, runtime }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        self.server.http_url(path)
    }
}
