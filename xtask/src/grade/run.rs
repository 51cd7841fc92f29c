//! Running one exercise's graded tests, one process per test, and deciding what each one earned.
//!
//! One process per test costs a few milliseconds each and buys a lot: a test that hangs or floods its output
//! is killed alone, the others still run and score, and a test counts only if that process reported it
//! passing and then exited cleanly.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;

use std::ffi::OsString;

use super::integrity::FileFingerprint;
use super::report::{TestReport, TestStatus};
use super::sandbox::{Ending, TestProcess};
use crate::cargo::{self, Outcome};
use crate::manifest::Chapter;

/// Limits for one exercise's tests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_test: Duration,
    pub per_exercise: Duration,
    pub output_cap: usize,
    pub loopback_only: bool,
}

/// Where one submission's tests find its programs, and how they start them.
pub struct Student<'a> {
    /// The folder holding the submission's programs (the tests read it as `KIT_BIN_DIR`).
    pub programs: &'a Path,
    /// The script that runs a program in the sandbox (`KIT_SANDBOX`), if there is a sandbox.
    pub sandbox: Option<&'a Path>,
}

impl Student<'_> {
    /// Without a sandbox, the student's program could replace the test binary between two of its tests.
    fn must_check_binaries(&self) -> bool {
        self.sandbox.is_none()
    }
}

/// The longest failure message kept for a report.
const MESSAGE_CHARS: usize = 2000;

/// Runs every graded test of `chapter` from the kit's test `binary` against the student's programs, in the
/// exercise's folder of the scratch workspace.
pub fn run_exercise(
    chapter: &Chapter,
    (binary, fingerprint): (&Path, &FileFingerprint),
    exercise_dir: &Path,
    scratch: &Path,
    student: &Student,
    limits: Limits,
) -> Result<Vec<TestReport>> {
    let mut env = vec![(launch::BIN_DIR, OsString::from(student.programs))];
    if let Some(sandbox) = student.sandbox {
        env.push((launch::SANDBOX, OsString::from(sandbox)));
    }
    let started = Instant::now();
    let mut reports = Vec::new();
    for test in &chapter.tests {
        let report = |status: TestStatus, message: String| TestReport {
            name: test.name.clone(),
            points: if status == TestStatus::Passed { test.points } else { 0 },
            max_points: test.points,
            status,
            message,
        };
        let remaining = limits.per_exercise.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            reports.push(report(
                TestStatus::TimedOut,
                format!("not run: the exercise's time limit of {:?} was used up", limits.per_exercise),
            ));
            continue;
        }
        if student.must_check_binaries() && !fingerprint.still_matches(binary) {
            anyhow::bail!(
                "the kit's test binary of chapter {} changed while a submission's tests ran; no reports were \
                 written. Grade again with bubblewrap installed, which makes this impossible",
                chapter.number
            );
        }
        let limit = limits.per_test.min(remaining);
        let private = super::sandbox::private_folder(scratch, "run")?;
        let outcome = TestProcess {
            program: binary,
            args: vec![
                "--exact".into(),
                test.name.clone(),
                "--test-threads".into(),
                "1".into(),
                "--color".into(),
                "never".into(),
            ],
            working_dir: exercise_dir,
            scratch: &private,
            env: env.clone(),
            limit,
            output_cap: limits.output_cap,
            loopback_only: limits.loopback_only,
        }
        .run()?;
        let _ = std::fs::remove_dir_all(&private);
        let (status, message) = judge(&test.name, outcome.ending, &outcome.output, limit, limits.output_cap);
        reports.push(report(status, tidy(&message, scratch)));
    }
    Ok(reports)
}

/// What one test's process earned, and the message that says why.
fn judge(test: &str, ending: Ending, output: &str, limit: Duration, cap: usize) -> (TestStatus, String) {
    let reported = cargo::parse_outcomes(output).get(test).copied();
    match ending {
        Ending::TimedOut => (TestStatus::TimedOut, format!("killed after {limit:?}: the test did not finish in time")),
        Ending::OutputLimit => {
            (TestStatus::OutputLimit, format!("killed: the test printed more than {} KiB", cap / 1024))
        }
        Ending::Exited(code) => match reported {
            Some(Outcome::Passed) if code == Some(0) => (TestStatus::Passed, String::new()),
            Some(Outcome::Passed) => {
                (TestStatus::NotRun, format!("the test reported success, but its process then exited with {code:?}"))
            }
            Some(Outcome::Failed) => {
                let message = cargo::failure_of(output, test).unwrap_or("(no message)").to_owned();
                (classify_failure(&message), message)
            }
            Some(Outcome::Ignored) => {
                (TestStatus::NotRun, "the test was skipped (ignored), so it earns nothing".into())
            }
            None => (
                TestStatus::NotRun,
                format!(
                    "the test binary exited ({code:?}) without reporting this test: did the code exit the process?"
                ),
            ),
        },
    }
}

/// A test that ended because the student's program panicked (the test support says "your program `NAME`
/// panicked: ...") is "panicked"; one whose assertions or waits failed is "failed".
fn classify_failure(message: &str) -> TestStatus {
    let program_panicked =
        message.lines().any(|line| line.starts_with("your program `") && line.contains("` panicked: "));
    if program_panicked { TestStatus::Panicked } else { TestStatus::Failed }
}

/// Drops the scratch folder's absolute path and the thread ids from messages, and keeps them short: the same
/// submission graded twice gives the same report, to the byte.
pub fn tidy(message: &str, scratch: &Path) -> String {
    let prefix = format!("{}/", scratch.display());
    let relative: String = message.replace(&prefix, "").lines().map(without_thread_id).collect::<Vec<_>>().join("\n");
    if relative.chars().count() > MESSAGE_CHARS {
        let kept: String = relative.chars().take(MESSAGE_CHARS).collect();
        format!("{kept}\n... (cut)")
    } else {
        relative
    }
}

/// `thread 'name' (4242) panicked at ...` → `thread 'name' panicked at ...`.
fn without_thread_id(line: &str) -> String {
    let Some(rest) = line.strip_prefix("thread '") else { return line.to_owned() };
    let Some((name, after)) = rest.split_once("' (") else { return line.to_owned() };
    match after.split_once(") ") {
        Some((id, tail)) if id.chars().all(|c| c.is_ascii_digit()) => format!("thread '{name}' {tail}"),
        _ => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(30);

    #[test]
    fn a_pass_counts_only_with_a_clean_exit() {
        let output = "running 1 test\ntest t ... ok\n\ntest result: ok. 1 passed; 0 failed";
        assert_eq!(judge("t", Ending::Exited(Some(0)), output, LIMIT, 1024).0, TestStatus::Passed);
        assert_eq!(judge("t", Ending::Exited(Some(1)), output, LIMIT, 1024).0, TestStatus::NotRun);
        assert_eq!(judge("t", Ending::Exited(Some(0)), "running 0 tests\n", LIMIT, 1024).0, TestStatus::NotRun);
    }

    #[test]
    fn limits_win_over_whatever_was_printed() {
        let output = "test t ... ok\n";
        assert_eq!(judge("t", Ending::TimedOut, output, LIMIT, 1024).0, TestStatus::TimedOut);
        assert_eq!(judge("t", Ending::OutputLimit, output, LIMIT, 1024).0, TestStatus::OutputLimit);
    }

    #[test]
    fn panics_in_student_code_are_told_apart_from_failed_assertions() {
        let todo = "thread 't' panicked at support/testkit/src/lesson.rs:86:5:\nyour program `ex01-x` panicked: \
                    not yet implemented (at exercises/01-x/src/main.rs:21:5)";
        let assertion =
            "thread 't' panicked at exercises/01-x/tests/chapter.rs:30:5:\nassertion `left == right` failed";
        assert_eq!(classify_failure(todo), TestStatus::Panicked);
        assert_eq!(classify_failure(assertion), TestStatus::Failed);
    }

    #[test]
    fn messages_lose_the_scratch_path() {
        let scratch = Path::new("/tmp/grading/alice");
        assert_eq!(
            tidy("error at /tmp/grading/alice/exercises/01/src/lib.rs", scratch),
            "error at exercises/01/src/lib.rs"
        );
        assert_eq!(tidy("thread 't' (4242) panicked at x.rs:1:1:", scratch), "thread 't' panicked at x.rs:1:1:");
    }
}
