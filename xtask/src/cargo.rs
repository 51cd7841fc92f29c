//! Building test binaries with cargo and running them, with results read per test.
//!
//! `verify` (and later the grader) must know, for every graded test, whether it ran and how it ended. Cargo's
//! JSON messages say which executable belongs to which package; the test binary's own output, one line per
//! test (`test name ... ok`), says how each test ended. A test that printed no such line did not run.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Deserialize;

/// What building the test binaries of some packages produced.
#[derive(Debug, Default)]
pub struct Build {
    /// The `chapter` test executable of each package, by the package's `Cargo.toml` path.
    pub binaries: HashMap<PathBuf, PathBuf>,
    /// Every other test executable: the unit and integration tests of the kit's own crates.
    pub others: Vec<TestBinary>,
    /// The compiler's error messages for each package that failed to build, by `Cargo.toml` path.
    pub errors: HashMap<PathBuf, Vec<String>>,
    /// The compiler's warnings, each once, as it wrote them.
    pub warnings: Vec<String>,
    /// Cargo ended with success: everything built.
    pub success: bool,
}

/// A test executable that is not a chapter's.
#[derive(Debug)]
pub struct TestBinary {
    /// `kit-interop tests/browser.rs`, `xtask src/main.rs`: its package and its source, as `cargo test` names it.
    pub label: String,
    /// The package's folder, where `cargo test` would run it from.
    pub folder: PathBuf,
    pub executable: PathBuf,
    /// An integration test (`tests/*.rs`), rather than the unit tests of a library or a program.
    pub integration: bool,
}

/// The test target every chapter has: `tests/chapter.rs`.
pub const TEST_TARGET: &str = "chapter";

/// Which packages to build.
pub enum Packages<'a> {
    /// These, by name.
    Named(&'a [String]),
    /// Every member of the workspace, the starters too.
    All,
}

/// Builds the test binaries of `packages` in the workspace at `root`, carrying on past packages that fail.
pub fn build_tests(root: &Path, packages: Packages) -> Result<Build> {
    let mut command = Command::new(cargo());
    command.current_dir(root).args(["build", "--tests", "--keep-going", "--message-format=json"]);
    match packages {
        Packages::Named(names) => {
            for package in names {
                command.args(["--package", package]);
            }
        }
        Packages::All => {
            command.arg("--workspace");
        }
    }
    // Cargo's own progress goes to stderr, which the person running us sees; JSON comes on stdout.
    let output = command.stderr(Stdio::inherit()).output().context("could not run cargo")?;
    let mut build = read_build_messages(&String::from_utf8_lossy(&output.stdout));
    build.success = output.status.success();
    Ok(build)
}

/// Reads cargo's `--message-format=json` output: test executables and compiler errors, per package.
pub fn read_build_messages(stdout: &str) -> Build {
    let mut build = Build::default();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<Message>(line) else { continue };
        let manifest = canonical(&message.manifest_path);
        match message.reason.as_str() {
            // A program the tests run is an artifact with an executable too, but not one built to test.
            "compiler-artifact" if message.profile.as_ref().is_some_and(|profile| profile.test) => {
                let (Some(executable), Some(target)) = (message.executable, message.target) else { continue };
                if target.name == TEST_TARGET {
                    build.binaries.insert(manifest, executable);
                } else {
                    let folder = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
                    let source = target.src_path.strip_prefix(&folder).unwrap_or(&target.src_path);
                    let label = format!("{} {}", package_name(&message.package_id), source.display());
                    let integration = target.kind.iter().any(|kind| kind == "test");
                    build.others.push(TestBinary { label, folder, executable, integration });
                }
            }
            "compiler-message" => {
                let Some(diagnostic) = message.message else { continue };
                let text = diagnostic.rendered.unwrap_or(diagnostic.message);
                match diagnostic.level.as_str() {
                    "error" => build.errors.entry(manifest).or_default().push(text),
                    // A summary ("`xtask` generated 1 warning") has no place of its own in the code.
                    "warning" if diagnostic.spans.is_some_and(|spans| !spans.is_empty()) => {
                        if !build.warnings.contains(&text) {
                            build.warnings.push(text);
                        }
                    }
                    _ => {}
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
    package_id: String,
    #[serde(default)]
    manifest_path: PathBuf,
    target: Option<Target>,
    profile: Option<Profile>,
    executable: Option<PathBuf>,
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    #[serde(default)]
    kind: Vec<String>,
    #[serde(default)]
    src_path: PathBuf,
}

#[derive(Deserialize)]
struct Profile {
    test: bool,
}

/// The name in a package id: `path+file:///.../exercises/01-clients-servers#ex01-clients-servers@0.1.0`,
/// `registry+https://...#serde@1.0.0`, or `path+file:///.../xtask#0.1.0` when the folder has the package's name.
pub fn package_name(package_id: &str) -> &str {
    let Some((url, fragment)) = package_id.rsplit_once('#') else { return package_id };
    match fragment.split_once('@') {
        Some((name, _version)) => name,
        None => url.rsplit('/').next().unwrap_or(url),
    }
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    message: String,
    rendered: Option<String>,
    spans: Option<Vec<serde_json::Value>>,
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
    /// It exited with success: every test it ran passed (a crash before any test ended is not a success).
    pub success: bool,
    /// How long it ran.
    pub took: Duration,
}

/// A test binary to run, and how.
#[derive(Debug, Clone)]
pub struct Job {
    pub binary: PathBuf,
    /// The folder to run it from: its package's, as `cargo test` does.
    pub folder: PathBuf,
    /// The longest it may run before it counts as hung and is stopped.
    pub limit: Duration,
    /// Whether the tests that take minutes run too (`KIT_FULL_CHECK`, see `harness::Need::FullCheck`).
    pub full_check: bool,
    /// Runs with no other test binary beside it: it measures how a server copes with load, and the others'
    /// load would be measured instead.
    pub alone: bool,
}

impl Job {
    pub fn new(binary: &Path, folder: &Path, limit: Duration) -> Job {
        Job { binary: binary.to_path_buf(), folder: folder.to_path_buf(), limit, full_check: false, alone: false }
    }
}

/// Runs a test binary the way `cargo test` would (from the package's folder), for at most its limit.
pub fn run_tests(job: &Job) -> Result<TestRun> {
    let started = Instant::now();
    let mut child = Command::new(&job.binary)
        .args(["--color", "never"])
        .current_dir(&job.folder)
        // Failing snapshots fail; they never write `.snap.new` files into the kit.
        .env("INSTA_UPDATE", "no")
        .env("RUST_BACKTRACE", "0")
        .env("KIT_FULL_CHECK", if job.full_check { "1" } else { "0" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start the test binary {}", job.binary.display()))?;
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let (status, timed_out) = wait_at_most(&mut child, job.limit)?;
    let output = format!("{}{}", join_reader(stdout), join_reader(stderr));
    let success = !timed_out && status.is_some_and(|status| status.success());
    Ok(TestRun { outcomes: parse_outcomes(&output), output, timed_out, success, took: started.elapsed() })
}

/// How many test binaries run at once. A test spends most of its time waiting (for a server to answer, for
/// a timeout that proves nothing comes), so twice as many as there are processors keeps them busy.
pub fn at_once() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get) * 2
}

/// Runs every job, `at_once` at a time, starting them in the order given; then those that run `alone`, one
/// after the other. `ended` is called (on this thread) with each job's index as it ends, for progress; the
/// runs come back in the order of `jobs`.
pub fn run_all(jobs: &[Job], at_once: usize, mut ended: impl FnMut(usize, &Result<TestRun>)) -> Vec<Result<TestRun>> {
    let mut runs: Vec<Option<Result<TestRun>>> = jobs.iter().map(|_| None).collect();
    let together: Vec<usize> = (0..jobs.len()).filter(|&index| !jobs[index].alone).collect();
    let alone = (0..jobs.len()).filter(|&index| jobs[index].alone);
    let mut record = |index: usize, run: Result<TestRun>| {
        ended(index, &run);
        runs[index] = Some(run);
    };
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel();
        for _ in 0..at_once.clamp(1, together.len().max(1)) {
            let (sender, next, together) = (sender.clone(), &next, &together);
            scope.spawn(move || {
                while let Some(&index) = together.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if sender.send((index, run_tests(&jobs[index]))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for (index, run) in receiver {
            record(index, run);
        }
    });
    for index in alone {
        record(index, run_tests(&jobs[index]));
    }
    runs.into_iter().map(|run| run.unwrap_or_else(|| Err(anyhow::anyhow!("the test binary was never run")))).collect()
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
    fn runs_every_job_and_those_that_run_alone_after_the_others() {
        let true_program = find_program(Path::new("true")).expect("`true` is on PATH");
        let mut jobs: Vec<Job> =
            (0..5).map(|_| Job::new(&true_program, Path::new("."), Duration::from_secs(10))).collect();
        jobs[1].alone = true;
        let mut order = Vec::new();
        let runs = run_all(&jobs, 3, |index, _| order.push(index));
        assert_eq!(runs.len(), 5);
        assert!(runs.iter().all(|run| run.as_ref().is_ok_and(|run| run.success)));
        assert_eq!(order.len(), 5);
        assert_eq!(order.last(), Some(&1), "the job that runs alone starts after the others ended: {order:?}");
    }

    #[test]
    fn names_the_package_of_every_kind_of_package_id() {
        assert_eq!(package_name("path+file:///k/exercises/01-a#ex01-a@0.1.0"), "ex01-a");
        assert_eq!(package_name("path+file:///k/xtask#0.1.0"), "xtask");
        assert_eq!(package_name("registry+https://github.com/rust-lang/crates.io-index#serde@1.0.228"), "serde");
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
