//! `cargo xtask bench cold`: what a new user waits for, from a fresh clone.
//!
//! A clone of the kit's last commit (uncommitted changes are not measured) in a temporary folder, with an
//! empty target folder and no `node_modules/`; the crates themselves come from cargo's download cache, as on
//! a machine that has fetched them once. It times, each from nothing:
//!
//! 1. `cargo xtask book` until the book's first page answers 200;
//! 2. `cargo xtask check` (the quick one, as a new user runs it; `npm ci` included) until it ends, and
//!    whether it was green;
//!
//! and then proves that every dependency was compiled once for the whole kit: after the self-check,
//! `cargo test -p` of each starter compiles that exercise and nothing else.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::manifest::Manifest;

/// The longest the book may take to appear before the measurement gives up.
const BOOK_LIMIT: Duration = Duration::from_secs(900);

pub fn run(root: &Path) -> Result<ExitCode> {
    let manifest = Manifest::load(root)?;
    let scratch = Scratch(std::env::temp_dir().join(format!("kit-cold-{}", std::process::id())));
    let clone = scratch.0.join("kit");
    let status = Command::new("git")
        .args(["clone", "--quiet", "--local", "--no-hardlinks"])
        .arg(root)
        .arg(&clone)
        .status()
        .context("could not run git clone")?;
    if !status.success() {
        bail!("git clone of {} failed", root.display());
    }
    println!("measuring a fresh clone of the last commit in {} (this takes several minutes)", clone.display());

    let book = first_page(&clone)?;
    println!("first page of the book: {:.0} s", book.as_secs_f64());

    for leftover in ["target", "node_modules", "book/build"] {
        let _ = std::fs::remove_dir_all(clone.join(leftover));
    }
    let started = Instant::now();
    let check = Command::new(crate::cargo::cargo())
        .args(["xtask", "check"])
        .current_dir(&clone)
        .env_remove("CI")
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .context("could not run cargo xtask check")?;
    let check_time = started.elapsed();
    let summary = String::from_utf8_lossy(&check.stdout)
        .lines()
        .filter(|line| line.starts_with("check: "))
        .collect::<Vec<_>>()
        .join("; ");
    println!("green self-check: {:.0} s ({summary})", check_time.as_secs_f64());
    if !check.status.success() {
        // The clone goes with the scratch folder: what failed must be shown now or never.
        println!("the self-check's report:\n{}", String::from_utf8_lossy(&check.stdout));
    }

    let mut only_the_exercise = 0;
    for chapter in &manifest.chapters {
        let package = chapter.exercise_package();
        let compiled = compiled_by(&clone, &package)?;
        let others: Vec<&String> = compiled.iter().filter(|name| **name != package).collect();
        if others.is_empty() {
            only_the_exercise += 1;
        } else {
            println!("`cargo test -p {package}` compiled more than the exercise: {others:?}");
        }
    }

    println!("\n| from a fresh clone | seconds |\n| --- | ---: |");
    println!("| `cargo xtask book`: first page served | {:.0} |", book.as_secs_f64());
    println!(
        "| `cargo xtask check`: done, {} | {:.0} |",
        if check.status.success() { "green" } else { "FAILED" },
        check_time.as_secs_f64()
    );
    println!(
        "\nafter the self-check, `cargo test -p` compiled the exercise alone for {only_the_exercise} of {} starters",
        manifest.chapters.len()
    );
    Ok(if check.status.success() && only_the_exercise == manifest.chapters.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The temporary folder of one measurement, removed however it ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `cargo xtask book` in `kit` and waits until its first page answers; then stops it.
fn first_page(kit: &Path) -> Result<Duration> {
    let started = Instant::now();
    let mut book = Command::new(crate::cargo::cargo())
        .args(["xtask", "book", "--port", "0"])
        .current_dir(kit)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group: cargo, the xtask it runs and the server all stop together.
        .process_group(0)
        .spawn()
        .context("could not run cargo xtask book")?;
    let group = book.id();
    let stdout = book.stdout.take().context("no output from cargo xtask book")?;
    let (address, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("serving the book at http://") {
                let _ = address.send(rest.split('/').next().unwrap_or("").to_owned());
            }
        }
    });
    let result = (|| {
        let address = lines.recv_timeout(BOOK_LIMIT).context("the book was not served in time")?;
        while started.elapsed() < BOOK_LIMIT {
            if page_answers(&address) {
                return Ok(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("the book's first page did not answer within {BOOK_LIMIT:?}")
    })();
    let _ = Command::new("kill").args(["-TERM", "--", &format!("-{group}")]).status();
    let _ = book.wait();
    result
}

fn page_answers(address: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(address) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

/// The packages `cargo test -p package --no-run` compiles.
fn compiled_by(kit: &Path, package: &str) -> Result<Vec<String>> {
    let output = Command::new(crate::cargo::cargo())
        .args(["test", "--no-run", "--message-format=json", "--package", package])
        .current_dir(kit)
        .env_remove("CARGO_TARGET_DIR")
        .stderr(Stdio::null())
        .output()
        .context("could not run cargo test")?;
    let mut compiled = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if message["reason"] == "compiler-artifact" && message["fresh"] == false {
            let package_name = crate::cargo::package_name(message["package_id"].as_str().unwrap_or(""));
            if !compiled.iter().any(|known| known == package_name) {
                compiled.push(package_name.to_owned());
            }
        }
    }
    Ok(compiled)
}
