//! `cargo xtask bench loop`: measures what a student waits for.
//!
//! The loop: a student edits `src/main.rs` and runs `cargo test -p exNN-...`, again and again. For each
//! exercise this edits the starter (a new comment line, which makes cargo recompile the program just as a
//! real edit does) and times `cargo test` until it has printed its result; the median of several runs is
//! reported, beside the time the tests themselves took (libtest's "finished in"), so that compiling and
//! testing can be told apart. The tests never link the program, so an edit recompiles the program alone.
//! With `--cold` it also times the whole self-check from an empty target directory: the first build of a
//! fresh machine.
//!
//! The loop edits the kit's own starters, as a student would, and puts each file back as it was afterwards
//! (a copy elsewhere would share the target directory and overwrite the kit's own build artifacts). The cold
//! self-check runs in a scratch copy of the kit with an empty target directory of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::manifest::Manifest;

#[derive(clap::Args)]
pub struct Options {
    /// Timed runs per exercise (after one untimed warm-up run).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Only this chapter's exercise.
    #[arg(long)]
    chapter: Option<u32>,
    /// Also time the whole self-check from an empty target directory (takes minutes).
    #[arg(long)]
    cold: bool,
}

/// The target a warm loop should meet, per exercise, median.
const LOOP_TARGET: Duration = Duration::from_millis(1000);

pub fn run(root: &Path, options: &Options) -> Result<ExitCode> {
    if options.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let manifest = Manifest::load(root)?;

    println!(
        "warm loop: edit src/main.rs, run `cargo test -p <exercise>`; {} timed runs each, after a warm-up",
        options.runs
    );
    println!("{:<26} {:>9} {:>9} {:>9} {:>12}", "exercise", "median", "min", "max", "tests alone");
    let mut medians = Vec::new();
    for chapter in
        manifest.chapters.iter().filter(|chapter| options.chapter.is_none_or(|number| number == chapter.number))
    {
        let package = chapter.exercise_package();
        let source = Restored::read(&root.join(&chapter.exercise).join("src").join("main.rs"))?;
        let mut times = Vec::new();
        let mut tests_alone = Vec::new();
        for run in 0..=options.runs {
            source.write_edited(run)?;
            let started = Instant::now();
            let output = Command::new(crate::cargo::cargo())
                .args(["test", "--quiet", "--package", &package])
                .current_dir(root)
                .stderr(Stdio::null())
                .output()
                .context("could not run cargo test")?;
            if run > 0 {
                times.push(started.elapsed());
                tests_alone.extend(finished_in(&String::from_utf8_lossy(&output.stdout)));
            }
        }
        times.sort();
        tests_alone.sort();
        let median = times[times.len() / 2];
        medians.push(median);
        let alone = tests_alone.get(tests_alone.len() / 2).map(|time| seconds(*time)).unwrap_or_else(|| "?".into());
        println!(
            "{package:<26} {:>9} {:>9} {:>9} {alone:>12}",
            seconds(median),
            seconds(times[0]),
            seconds(times[times.len() - 1])
        );
    }
    if let Some(worst) = medians.iter().max() {
        let verdict = if *worst <= LOOP_TARGET { "meets" } else { "MISSES" };
        println!(
            "slowest median {} {verdict} the target of {} ({:.2}x of target)",
            seconds(*worst),
            seconds(LOOP_TARGET),
            worst.as_secs_f64() / LOOP_TARGET.as_secs_f64()
        );
    }

    if options.cold {
        let scratch = Scratch::copy_of(root)?;
        let cold_target = scratch.path.join("target-cold");
        println!("\ncold self-check: `cargo xtask check` from an empty target directory (takes minutes)...");
        let started = Instant::now();
        let status = Command::new(crate::cargo::cargo())
            .args(["xtask", "check"])
            .current_dir(&scratch.path)
            .env("CARGO_TARGET_DIR", &cold_target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("could not run the self-check")?;
        let outcome = if status.success() { "passed" } else { "FAILED" };
        println!("cold self-check: {} ({outcome})", seconds(started.elapsed()));
    }
    Ok(ExitCode::SUCCESS)
}

/// libtest's own timing of a run, from its summary line: `test result: ... finished in 0.60s`.
fn finished_in(stdout: &str) -> Option<Duration> {
    let line = stdout.lines().find(|line| line.starts_with("test result: "))?;
    let seconds = line.rsplit("finished in ").next()?.trim().trim_end_matches('s');
    seconds.parse::<f64>().ok().map(Duration::from_secs_f64)
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

/// A starter's source file, edited for a run and put back as it was when dropped, whatever happened.
struct Restored {
    path: PathBuf,
    original: String,
}

impl Restored {
    fn read(path: &Path) -> Result<Restored> {
        let original = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Restored { path: path.to_path_buf(), original })
    }

    /// A new comment line: cargo sees a changed file and recompiles the crate, as after a real edit.
    fn write_edited(&self, run: usize) -> Result<()> {
        std::fs::write(&self.path, format!("{}\n// bench edit {run}\n", self.original))
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

impl Drop for Restored {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, &self.original);
    }
}

/// A copy of the kit in a temporary folder, deleted when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn copy_of(root: &Path) -> Result<Scratch> {
        let path = std::env::temp_dir().join(format!("kit-bench-{}", std::process::id()));
        let scratch = Scratch { path };
        copy_tree(root, &scratch.path)?;
        Ok(scratch)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Folders that are build output or installed packages, never part of the kit's source.
const NOT_COPIED: &[&str] = &["target", ".git", "node_modules", "build"];

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if !NOT_COPIED.iter().any(|skipped| name == *skipped) {
                copy_tree(&entry.path(), &to.join(&name))?;
            }
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}
