//! `cargo xtask bench chat`: builds the finished chat and the load generator for release, and runs the
//! generator (`bench/src/main.rs`) against it and against the Node.js server of `bench/node/server.mjs`.
//!
//! A release build, because that is what a deployment runs, and what Node's JIT-compiled JavaScript is fairly
//! compared with. The first one compiles every dependency again with optimizations: a few minutes.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

#[derive(clap::Args)]
pub struct Options {
    /// The numbers of clients, as in 200,1000,5000.
    #[arg(long, default_value = "200,1000,5000")]
    clients: String,
    /// Where the log is kept: memory, disk, or both.
    #[arg(long, default_value = "memory,disk")]
    logs: String,
    /// Also run the finished chat as two nodes on a private redis-server (needs redis-server).
    #[arg(long)]
    nodes: bool,
    /// About how many deliveries each run counts.
    #[arg(long, default_value_t = 300_000)]
    deliveries: u64,
}

pub fn run(root: &Path, options: &Options) -> Result<ExitCode> {
    let script = root.join("bench/node/server.mjs");
    if !root.join("node_modules/socket.io/package.json").is_file() {
        bail!("the Node.js server needs the npm package socket.io: run `npm ci` in {}", root.display());
    }
    println!("building the finished chat and the load generator for release (the first time takes minutes)");
    let status = Command::new(crate::cargo::cargo())
        .current_dir(root)
        .args(["build", "--release", "--quiet", "-p", "sol12-finished-chat", "-p", "kit-bench"])
        .status()
        .context("could not run cargo")?;
    if !status.success() {
        bail!("the release build failed ({status})");
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| root.join("target"));
    let mut bench = Command::new(target.join("release/chat-bench"));
    bench.arg("--rust").arg(target.join("release/sol12-finished-chat")).arg("--node").arg(&script).args([
        "--clients",
        &options.clients,
        "--logs",
        &options.logs,
        "--deliveries",
        &options.deliveries.to_string(),
    ]);
    if options.nodes {
        bench.arg("--nodes");
    }
    let status = bench.status().context("could not run the load generator")?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
