//! `cargo xtask check`: the kit's whole self-check, in as little time as two cores allow.
//!
//! What it proves is what `cargo test` at the root and then `cargo xtask verify` prove, in fewer steps:
//!
//! 1. one `cargo build --tests --workspace`: the kit's own crates, the solutions and the starters together,
//!    so that both cores are busy until the last crate is compiled (verify needs the starters anyway);
//! 2. every test binary, several at once (most of a test's time is spent waiting on a server or a timeout):
//!    the tests of the kit's own crates, and verify's runs of each chapter's tests against its starter and its
//!    solution. A solution's tests run once, in verify, rather than once more before it, as `cargo test` would;
//! 3. the book, built in this process.
//!
//! The tests that take minutes (hostile clients, every browser scenario, the grader on the whole kit) run
//! only with `--full`, or on CI; the quick check names each one it leaves out.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cargo::{self, Job, Outcome, Packages, TestBinary, TestRun};
use crate::manifest::Manifest;
use crate::{progress, verify};

/// The longest one of the kit's own test binaries may run (with `--full`, the hostile suite takes minutes).
const TOOL_TESTS_LIMIT: Duration = Duration::from_secs(30 * 60);

/// The test binaries that run with no other beside them. The hostile suite proves that one client's attack
/// costs the server's other clients nothing, by canaries that must be answered within seconds: beside the
/// other tests, on two cores, it would measure their load instead (seen: a canary too slow during the grader's
/// tests, which compile whole submissions).
const ALONE: &[&str] = &["kit-interop tests/hostile.rs"];

pub fn run(root: &Path, full: bool) -> Result<ExitCode> {
    let started = Instant::now();
    let full = full || on_ci();
    let manifest = Manifest::load(root)?;
    install_npm_packages(root);

    println!("== building the tests of the whole kit: its tools, the solutions and the starters");
    if !root.join("target").join("debug").is_dir() {
        println!(
            "   (the first time, cargo compiles every dependency once for the whole kit: about two minutes on two \
             cores; after that, seconds)"
        );
    }
    let build = cargo::build_tests(root, Packages::All)?;
    for warning in &build.warnings {
        eprintln!("{warning}");
    }
    let chapter_manifests = chapter_manifests(root, &manifest);
    // A chapter's compiler errors are verify's to report; any other package's stop its own tests.
    let broken: Vec<String> = build
        .errors
        .iter()
        .filter(|(manifest_path, _)| !chapter_manifests.contains(manifest_path))
        .flat_map(|(_, errors)| errors.iter().cloned())
        .collect();
    if !build.success && build.errors.is_empty() {
        println!("check: FAILED: cargo could not build the kit (see its messages above)");
        return Ok(ExitCode::FAILURE);
    }

    for label in ALONE.iter().filter(|label| !build.others.iter().any(|binary| binary.label == **label)) {
        println!("note: no test binary is called {label} any more; check.rs's ALONE names it");
    }
    let sides = verify::sides(root, &manifest, &build);
    // The longest first, so that the last ones do not run alone: the kit's own integration tests (the grader's
    // and verify's on fixture kits, the interop suites) take longest, the chapters' a few seconds, unit tests less.
    let (integration, unit): (Vec<&TestBinary>, Vec<&TestBinary>) =
        build.others.iter().partition(|binary| binary.integration);
    let chapters = sides.iter().enumerate().filter(|(_, side)| side.job.is_some()).map(|(index, _)| Work::Side(index));
    let work: Vec<Work> =
        integration.into_iter().map(Work::Tool).chain(chapters).chain(unit.into_iter().map(Work::Tool)).collect();
    let jobs: Vec<Job> = work
        .iter()
        .filter_map(|work| match work {
            Work::Tool(binary) => Some(Job {
                full_check: full,
                alone: ALONE.contains(&binary.label.as_str()),
                ..Job::new(&binary.executable, &binary.folder, TOOL_TESTS_LIMIT)
            }),
            Work::Side(index) => sides[*index].job.clone(),
        })
        .collect();
    let tests_that_take_minutes = if full { "all of them" } else { "but those that take minutes" };
    println!(
        "\n== running {} test programs, {} at a time: the kit's own tests ({tests_that_take_minutes}), and every \
         chapter's graded tests on its starter and on its solution",
        jobs.len(),
        cargo::at_once()
    );
    let bar = progress::bar(jobs.len() as u64, "running tests");
    let runs = cargo::run_all(&jobs, cargo::at_once(), |index, run| {
        if let Some(Work::Tool(binary)) = work.get(index) {
            bar.suspend(|| print_tool_run(&binary.label, run));
        }
        bar.inc(1);
    });
    bar.finish_and_clear();

    let mut totals = Totals::default();
    let mut side_runs: Vec<Option<Result<TestRun>>> = sides.iter().map(|_| None).collect();
    for (work, run) in work.iter().zip(runs) {
        match work {
            Work::Tool(binary) => totals.add_tool(&binary.label, &run),
            Work::Side(index) => {
                if let (true, Ok(run)) = (sides[*index].is_solution(), &run) {
                    totals.add_outcomes(run);
                }
                side_runs[*index] = Some(run);
            }
        }
    }

    println!("\n== verify: every starter fails its graded tests, every solution passes them; the book builds");
    let report = verify::judge(root, &manifest, sides, side_runs, true);
    verify::print(&report);

    for error in &broken {
        println!("\n{error}");
    }
    // The tests skipped for a missing program, again, where the reader looks last (invariant 7).
    if !totals.skipped_lines.is_empty() {
        println!();
        for line in &totals.skipped_lines {
            println!("{line}");
        }
    }
    // One closing line in the plain form CI systems read: the tests of the kit and of the solutions.
    println!(
        "\ncheck: {} passed, {} failed, {} skipped, in {:.0} s",
        totals.passed,
        totals.failed,
        totals.skipped,
        started.elapsed().as_secs_f64()
    );
    if !broken.is_empty() {
        println!("check: FAILED: some of the kit's own crates do not compile (see above)");
        return Ok(ExitCode::FAILURE);
    }
    if !totals.failed_binaries.is_empty() {
        println!("check: FAILED: {} (see above)", totals.failed_binaries.join(", "));
        return Ok(ExitCode::FAILURE);
    }
    if report.breaches() > 0 {
        println!("check: FAILED: verify found breaches (see above)");
        return Ok(ExitCode::FAILURE);
    }
    if totals.skipped > 0 {
        println!("check: everything that ran passes; {} skipped (see above for what enables them)", totals.skipped);
    } else {
        println!("check: everything passes");
    }
    Ok(ExitCode::SUCCESS)
}

/// One test binary to run: one of the kit's own, or a chapter's on a starter or a solution (by its index
/// among verify's sides).
enum Work<'a> {
    Tool(&'a TestBinary),
    Side(usize),
}

/// What the check counts: the tests of the kit's own crates, and the graded tests run on the solutions.
#[derive(Default)]
struct Totals {
    passed: usize,
    failed: usize,
    skipped: usize,
    /// The `skipped: NAME: needs PROGRAM (enable with: COMMAND)` lines, to repeat at the end.
    skipped_lines: Vec<String>,
    /// The kit's test binaries that failed, hung or did not run.
    failed_binaries: Vec<String>,
}

impl Totals {
    fn add_tool(&mut self, label: &str, run: &Result<TestRun>) {
        match run {
            Ok(run) => {
                self.add_outcomes(run);
                let skipped_lines = run.output.lines().filter(|line| line.starts_with("skipped: "));
                self.skipped_lines.extend(skipped_lines.map(str::to_owned));
                if !run.success {
                    self.failed_binaries.push(label.to_owned());
                }
            }
            Err(_) => self.failed_binaries.push(label.to_owned()),
        }
    }

    fn add_outcomes(&mut self, run: &TestRun) {
        for outcome in run.outcomes.values() {
            match outcome {
                Outcome::Passed => self.passed += 1,
                Outcome::Failed => self.failed += 1,
                Outcome::Ignored => self.skipped += 1,
            }
        }
    }
}

/// Every chapter's exercise and solution, by `Cargo.toml` path, as cargo names them.
fn chapter_manifests(root: &Path, manifest: &Manifest) -> Vec<std::path::PathBuf> {
    manifest
        .chapters
        .iter()
        .flat_map(|chapter| [&chapter.exercise, &chapter.solution])
        .map(|folder| cargo::canonical(&root.join(folder).join("Cargo.toml")))
        .collect()
}

/// One line for a test binary of the kit's own that ended; all it printed, if it failed.
fn print_tool_run(label: &str, run: &Result<TestRun>) {
    match run {
        Ok(run) => {
            let count = |wanted: Outcome| run.outcomes.values().filter(|outcome| **outcome == wanted).count();
            let (passed, failed, skipped) = (count(Outcome::Passed), count(Outcome::Failed), count(Outcome::Ignored));
            let verdict = if run.success { "ok" } else { "FAILED" };
            let skipped = if skipped > 0 { format!(", {skipped} skipped") } else { String::new() };
            let failed = if failed > 0 { format!(", {failed} failed") } else { String::new() };
            let seconds = run.took.as_secs_f64();
            println!("{verdict:>6}  {label:<36} {passed:>3} passed{failed}{skipped} ({seconds:.1} s)");
            if run.timed_out {
                println!("        stopped after {TOOL_TESTS_LIMIT:?}: it hung");
            }
            if !run.success {
                println!("{}", indented(failures_of(&run.output)));
            }
        }
        Err(error) => println!("FAILED  {label}: {error:#}"),
    }
}

/// What a failed test binary printed from its first `failures:` on, or all of it (a crash has none).
fn failures_of(output: &str) -> &str {
    output.find("\nfailures:\n").map_or(output, |at| &output[at + 1..])
}

fn indented(text: &str) -> String {
    text.lines().map(|line| format!("        {line}")).collect::<Vec<_>>().join("\n")
}

/// Whether CI runs us: then the tests that take minutes run too (the same rule as the kit's test harness).
fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.trim(), "" | "0" | "false"))
}

/// `npm ci`, if the official Socket.IO client is not installed yet and npm is here: the chat pages serve it,
/// and the interop tests run it. Without npm those tests are skipped by name; a failed `npm ci` is reported
/// and the check goes on, so the same skips say what is missing.
fn install_npm_packages(root: &Path) {
    if root.join("node_modules/socket.io-client/package.json").is_file() {
        return;
    }
    if cargo::find_program(Path::new("npm")).is_none() {
        return;
    }
    println!("== npm ci (installs socket.io-client, pinned by package-lock.json, into node_modules/)");
    match Command::new("npm").arg("ci").current_dir(root).status() {
        Ok(status) if status.success() => {}
        Ok(status) => println!("npm ci failed ({status}); the tests that need socket.io-client will say so"),
        Err(error) => println!("could not run npm ci ({error}); the tests that need socket.io-client will say so"),
    }
}
