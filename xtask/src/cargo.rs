//! Building test binaries with cargo and running them, with results read per test.
//!
//! `verify` (and later the grader) must know, for every graded test, whether it ran and how it ended. Cargo's
//! JSON messages say which executable belongs to which package; the test binary's own output, one line per
//! test (`test name ... ok`), says how each test ended. A test that printed no such line did not run.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Deserialize;

/// What building the test binaries of some packages produced.
#[derive(Debug, Default)]
pub struct Build {
    /// The `chapter` test executable of each package, by the package's `Cargo.toml` path.
    pub binaries: HashMap<PathBuf, PathBuf>,
    /// The compiler's error messages for each package that failed to build, by `Cargo.toml` path.
    pub errors: HashMap<PathBuf, Vec<String>>,
}

/// The test target every chapter has: `tests/chapter.rs`.
pub const TEST_TARGET: &str = "chapter";

/// Builds the test binaries of `packages` in the workspace at `root`, carrying on past packages that fail.
pub fn build_tests(root: &Path, packages: &[String]) -> Result<Build> {
    let mut command = Command::new(cargo());
    command.current_dir(root).args(["build", "--tests", "--keep-going", "--message-format=json"]);
    for package in packages {
        command.args(["--package", package]);
    }
    // Cargo's own progress goes to stderr, which the person running us sees; JSON comes on stdout.
    let output = command.stderr(Stdio::inherit()).output().context("could not run cargo")?;
    Ok(read_build_messages(&String::from_utf8_lossy(&output.stdout)))
}

/// Reads cargo's `--message-format=json` output: test executables and compiler errors, per package.
pub fn read_build_messages(stdout: &str) -> Build {
    let mut build = Build::default();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<Message>(line) else { continue };
        let manifest = canonical(&message.manifest_path);
        match message.reason.as_str() {
            "compiler-artifact" if message.target.as_ref().is_some_and(|target| target.name == TEST_TARGET) => {
                if let Some(executable) = message.executable {
                    build.binaries.insert(manifest, executable);
                }
            }
            "compiler-message" => {
                if let Some(diagnostic) = message.message.filter(|diagnostic| diagnostic.level == "error") {
                    build.errors.entry(manifest).or_default().push(diagnostic.rendered.unwrap_or(diagnostic.message));
                }
            }
            _ => {}
        }
    }
    build
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    manifest_path: PathBuf,
    target: Option<Target>,
    executable: Option<PathBuf>,
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    message: String,
    rendered: Option<String>,
}

/// How one test ended, as the test binary reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Ignored,
}

/// One run of a test binary.
#[derive(Debug)]
pub struct TestRun {
    /// Every test that reported an ending, by name.
    pub outcomes: BTreeMap<String, Outcome>,
    /// Everything the binary printed, stdout then stderr.
    pub output: String,
    /// Killed for running longer than allowed.
    pub timed_out: bool,
}

/// Runs a test binary the way `cargo test` would (from the package's folder), for at most `limit`.
pub fn run_tests(binary: &Path, package_dir: &Path, limit: Duration) -> Result<TestRun> {
    let mut child = Command::new(binary)
        .args(["--color", "never"])
        .current_dir(package_dir)
        // Failing snapshots fail; they never write `.snap.new` files into the kit.
        .env("INSTA_UPDATE", "no")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start the test binary {}", binary.display()))?;
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let (_, timed_out) = wait_at_most(&mut child, limit)?;
    let output = format!("{}{}", join_reader(stdout), join_reader(stderr));
    Ok(TestRun { outcomes: parse_outcomes(&output), output, timed_out })
}

/// Reads a child's pipe to its end on a thread of its own, so the child never blocks on a full pipe while we wait.
pub fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

pub fn join_reader(reader: std::thread::JoinHandle<String>) -> String {
    reader.join().unwrap_or_default()
}

/// Waits for the child to exit; kills it once `limit` has passed. Returns its status and whether it was killed.
pub fn wait_at_most(child: &mut std::process::Child, limit: Duration) -> Result<(Option<ExitStatus>, bool)> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((Some(status), false));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let status = child.wait().ok();
            return Ok((status, true));
        }
        // The standard library cannot wait for a child with a timeout; polling its status is the portable way.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The totals of a `cargo test` run.
pub struct Totals {
    pub passed: u64,
    pub failed: u64,
    /// Tests reported `ignored`: the kit's interop tests on a machine without the programs they need.
    pub skipped: u64,
    /// The `skipped: NAME: needs PROGRAM (enable with: COMMAND)` lines those tests printed, to repeat at the end.
    pub skipped_lines: Vec<String>,
    pub success: bool,
}

/// Runs a plain `cargo test` in `root`, showing its output as it comes, and adds up its `test result:` lines.
/// With `full`, the tests that take minutes run too (see `harness::Need::FullCheck`).
pub fn test_workspace(root: &Path, full: bool) -> Result<Totals> {
    // `--no-fail-fast`: every test binary runs, so one failure does not hide the next.
    let mut child = Command::new(cargo())
        .args(["test", "--no-fail-fast"])
        .current_dir(root)
        .env("KIT_FULL_CHECK", if full { "1" } else { "0" })
        .stdout(Stdio::piped())
        .spawn()
        .context("could not run cargo test")?;
    let mut totals = Totals { passed: 0, failed: 0, skipped: 0, skipped_lines: Vec::new(), success: false };
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            println!("{line}");
            if let Some(summary) = line.strip_prefix("test result: ") {
                totals.passed += count_before(summary, " passed");
                totals.failed += count_before(summary, " failed");
                totals.skipped += count_before(summary, " ignored");
            } else if line.starts_with("skipped: ") {
                totals.skipped_lines.push(line);
            }
        }
    }
    totals.success = child.wait().context("cargo test did not finish")?.success();
    Ok(totals)
}

/// In `ok. 5 passed; 1 failed; ...`, the number before `label`.
fn count_before(summary: &str, label: &str) -> u64 {
    summary
        .split(';')
        .find(|part| part.ends_with(label))
        .and_then(|part| part.trim_end_matches(label).rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// What libtest printed for one failed test: its `---- NAME stdout ----` section, without the backtrace. (The
/// kit's own harness, libtest-mimic, heads it `---- NAME ----`, and says `test panicked: ` first.)
pub fn failure_of<'a>(output: &'a str, test: &str) -> Option<&'a str> {
    let libtest = format!("---- {test} stdout ----");
    let mimic = format!("---- {test} ----\ntest panicked: ");
    let start = match output.find(&libtest) {
        Some(at) => at + libtest.len(),
        None => output.find(&mimic)? + mimic.len(),
    };
    let rest = &output[start..];
    let end = ["\n---- ", "\nfailures:", "\nstack backtrace:", "\nnote: run with `RUST_BACKTRACE"]
        .iter()
        .filter_map(|marker| rest.find(marker))
        .min()
        .unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Reads libtest's lines `test NAME ... ok|FAILED|ignored[, reason]`.
pub fn parse_outcomes(output: &str) -> BTreeMap<String, Outcome> {
    let mut outcomes = BTreeMap::new();
    for line in output.lines() {
        let Some(rest) = line.strip_prefix("test ") else { continue };
        let Some((name, result)) = rest.split_once(" ... ") else { continue };
        let outcome = match result.split(',').next().unwrap_or_default().trim() {
            "ok" => Outcome::Passed,
            "FAILED" => Outcome::Failed,
            "ignored" => Outcome::Ignored,
            _ => continue,
        };
        outcomes.insert(name.trim().to_owned(), outcome);
    }
    outcomes
}

/// Where a shell would find `program`: itself if it is a path, else the first file of that name in a folder
/// of `PATH`.
pub fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return Some(program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|folder| folder.join(program)).find(|candidate| candidate.is_file())
}

/// The cargo that runs us (cargo sets `CARGO` for `cargo run`), or the one on `PATH`.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("cargo"))
}

/// Paths from cargo and from the manifest are compared after resolving `..` and links.
pub fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_found_in_either_harness_s_words() {
        let libtest = "---- a stdout ----\nthread 'a' panicked at x.rs:1:1:\nbroken\n\nfailures:\n    a\n";
        assert_eq!(failure_of(libtest, "a"), Some("thread 'a' panicked at x.rs:1:1:\nbroken"));
        let mimic = "failures:\n\n---- b ----\ntest panicked: broken too\nRead: here\n\n\nfailures:\n    b\n";
        assert_eq!(failure_of(mimic, "b"), Some("broken too\nRead: here"));
        assert_eq!(failure_of(mimic, "c"), None);
    }

    #[test]
    fn reads_each_ending_and_ignores_everything_else() {
        let output = "\nrunning 4 tests\n\
            test a_passes ... ok\n\
            test b_fails ... FAILED\n\
            test c_skipped ... ignored, needs chromium\n\
            test d_is_printing ... some noise\n\
            thread 'b_fails' panicked at src/lib.rs:1:1:\n\
            test result: FAILED. 1 passed; 1 failed; 1 ignored\n";
        let outcomes = parse_outcomes(output);
        assert_eq!(outcomes.get("a_passes"), Some(&Outcome::Passed));
        assert_eq!(outcomes.get("b_fails"), Some(&Outcome::Failed));
        assert_eq!(outcomes.get("c_skipped"), Some(&Outcome::Ignored));
        assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    }

    #[test]
    fn counts_a_summary_line() {
        let summary = "FAILED. 5 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        assert_eq!(count_before(summary, " passed"), 5);
        assert_eq!(count_before(summary, " failed"), 1);
        assert_eq!(count_before(summary, " ignored"), 0);
    }

    #[test]
    fn finds_the_message_of_one_failed_test() {
        let output = "failures:\n\n---- b_fails stdout ----\n\nthread 'b_fails' panicked at x.rs:1:1:\nexpected 1\n\
            note: run with `RUST_BACKTRACE=1`\n\n---- c stdout ----\nother\n\nfailures:\n    b_fails\n";
        assert_eq!(failure_of(output, "b_fails"), Some("thread 'b_fails' panicked at x.rs:1:1:\nexpected 1"));
        assert_eq!(failure_of(output, "c"), Some("other"));
        assert_eq!(failure_of(output, "missing"), None);
    }
}
