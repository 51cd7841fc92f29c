//! The student's own views of their work: `cargo xtask progress` (every chapter at a glance) and
//! `cargo xtask watch N` (one chapter's tests again on every save).
//!
//! Both run the very test binaries that `cargo test -p exNN-...` runs, and read their results the way
//! `verify` and the grader do (see `cargo.rs`), so what they report is what a grade would count. Nothing here
//! needs the network, and after the first build each run takes seconds.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use anyhow::Result;

use crate::cargo::{self, Outcome, TestRun};
use crate::manifest::{Chapter, Manifest};

/// The longest one chapter's tests may run (the longest takes seconds; this only stops one that hangs).
const TEST_LIMIT: Duration = Duration::from_secs(300);
/// How often `watch` looks at the exercise's files.
const POLL: Duration = Duration::from_millis(400);

/// Where one chapter stands.
struct Standing {
    passed: usize,
    skipped: usize,
    earned: u32,
    /// The first graded test that fails, with its message; or what stops the tests from running at all.
    first_failure: Option<(String, String)>,
}

fn standing(root: &Path, chapter: &Chapter, build: &cargo::Build) -> Standing {
    match tests_of(root, chapter, build) {
        Ok(job) => standing_after(chapter, cargo::run_tests(&job)),
        Err(standing) => standing,
    }
}

/// Every chapter's standing, their tests run side by side.
fn standings(root: &Path, chapters: &[Chapter], build: &cargo::Build) -> Vec<Standing> {
    let prepared: Vec<Result<cargo::Job, Standing>> =
        chapters.iter().map(|chapter| tests_of(root, chapter, build)).collect();
    let jobs: Vec<cargo::Job> = prepared.iter().filter_map(|job| job.as_ref().ok().cloned()).collect();
    let mut runs = cargo::run_all(&jobs, cargo::at_once(), |_, _| {}).into_iter();
    prepared
        .into_iter()
        .zip(chapters)
        .map(|(job, chapter)| match job {
            Ok(_) => standing_after(chapter, runs.next().unwrap_or_else(|| Err(anyhow::anyhow!("not run")))),
            Err(standing) => standing,
        })
        .collect()
}

/// The chapter's test binary, or, when there is none to run, where the chapter stands without it.
fn tests_of(root: &Path, chapter: &Chapter, build: &cargo::Build) -> Result<cargo::Job, Standing> {
    let manifest_path = cargo::canonical(&root.join(&chapter.exercise).join("Cargo.toml"));
    let not_run = |why: &str, detail: String| Standing {
        passed: 0,
        skipped: 0,
        earned: 0,
        first_failure: Some((why.to_owned(), detail)),
    };
    if let Some(errors) = build.errors.get(&manifest_path) {
        return Err(not_run("it does not compile", errors.first().cloned().unwrap_or_default()));
    }
    match build.binaries.get(&manifest_path) {
        Some(binary) => Ok(cargo::Job::new(binary, &root.join(&chapter.exercise), TEST_LIMIT)),
        None => Err(not_run("its tests were not built", "(cargo said nothing about them)".to_owned())),
    }
}

fn standing_after(chapter: &Chapter, run: Result<TestRun>) -> Standing {
    match run {
        Ok(run) => standing_of(chapter, &run),
        Err(error) => Standing {
            passed: 0,
            skipped: 0,
            earned: 0,
            first_failure: Some(("its tests could not run".into(), format!("{error:#}"))),
        },
    }
}

fn standing_of(chapter: &Chapter, run: &TestRun) -> Standing {
    let mut standing = Standing { passed: 0, skipped: 0, earned: 0, first_failure: None };
    for test in &chapter.tests {
        match run.outcomes.get(&test.name) {
            Some(Outcome::Passed) => {
                standing.passed += 1;
                standing.earned += test.points;
            }
            Some(Outcome::Ignored) => standing.skipped += 1,
            Some(Outcome::Failed) | None => {
                if standing.first_failure.is_none() {
                    let message = cargo::failure_of(&run.output, &test.name).unwrap_or("(it printed nothing)");
                    standing.first_failure = Some((format!("`{}`", test.name), message.to_owned()));
                }
            }
        }
    }
    if run.timed_out && standing.first_failure.is_none() {
        standing.first_failure = Some(("its tests".into(), format!("ran longer than {TEST_LIMIT:?} and were stopped")));
    }
    standing
}

/// The line of a failure message that says where to read, if it has one.
fn where_to_read(message: &str) -> Option<&str> {
    message.lines().find_map(|line| line.trim().strip_prefix("Read: "))
}

/// `cargo xtask progress`: a table of every chapter, and the next thing to do.
pub fn progress(root: &Path) -> Result<ExitCode> {
    let manifest = Manifest::load(root)?;
    let packages: Vec<String> = manifest.chapters.iter().map(Chapter::exercise_package).collect();
    println!("building every exercise's tests (the first time takes a few minutes, then seconds)...");
    let build = cargo::build_tests(root, cargo::Packages::Named(&packages))?;
    println!("running every exercise's tests...");
    let standings = standings(root, &manifest.chapters, &build);
    println!("\nchapter  exercise                  tests    points");
    let mut next: Option<(&Chapter, Standing)> = None;
    let (mut earned, mut possible) = (0, 0);
    for (chapter, standing) in manifest.chapters.iter().zip(standings) {
        let total = chapter.tests.len();
        let skipped = if standing.skipped > 0 {
            format!("  ({} skipped: a program is missing)", standing.skipped)
        } else {
            String::new()
        };
        let done = if standing.passed == total { "  done" } else { "" };
        println!(
            "{:>7}  {:<24}  {:>2}/{:<2}    {:>3}/{:<3}{done}{skipped}",
            chapter.number,
            chapter.exercise_package(),
            standing.passed,
            total,
            standing.earned,
            chapter.points()
        );
        earned += standing.earned;
        possible += chapter.points();
        if next.is_none() && standing.first_failure.is_some() {
            next = Some((chapter, standing));
        }
    }
    println!("{:>7}  {:<24}  {:>5}    {earned:>3}/{possible:<3}", "all", "", "");
    match next {
        None => println!("\nEvery graded test passes. Well done!"),
        Some((chapter, standing)) => {
            let (test, message) = standing.first_failure.unwrap_or_default();
            println!(
                "\nNext: chapter {} \"{}\": `cargo test -p {}`.",
                chapter.number,
                chapter.title,
                chapter.exercise_package()
            );
            match where_to_read(&message) {
                Some(section) => println!("The first failing test, {test}, says to read {section}."),
                None => println!("First, {test}:\n{}", indented(&message, 12)),
            }
            println!(
                "Stuck? `cargo xtask hint {}`; to re-run on every save, `cargo xtask watch {}`.",
                chapter.number, chapter.number
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask watch [N]`: chapter N's tests on every save of its `src/` (by default, the first chapter
/// not done); Enter shows the next hint.
pub fn watch(root: &Path, number: Option<u32>) -> Result<ExitCode> {
    let manifest = Manifest::load(root)?;
    let chapter = match number {
        Some(number) => manifest.chapter(number)?.clone(),
        None => {
            println!("finding the first chapter not done yet...");
            let packages: Vec<String> = manifest.chapters.iter().map(Chapter::exercise_package).collect();
            let build = cargo::build_tests(root, cargo::Packages::Named(&packages))?;
            let unfinished =
                manifest.chapters.iter().find(|chapter| standing(root, chapter, &build).first_failure.is_some());
            match unfinished {
                Some(chapter) => chapter.clone(),
                None => {
                    println!("Every graded test passes: there is nothing left to watch. Well done!");
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
    };
    let source = root.join(&chapter.exercise).join("src");
    let (keys, pressed) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if keys.send(line.trim().to_owned()).is_err() {
                break;
            }
        }
    });
    let mut hints_shown = 0;
    let mut seen = None;
    loop {
        let now = modification_times(&source);
        if seen.as_ref() != Some(&now) {
            seen = Some(now);
            run_once(root, &chapter, hints_shown);
        }
        match pressed.recv_timeout(POLL) {
            Ok(key) if key == "q" => return Ok(ExitCode::SUCCESS),
            Ok(_) if hints_shown < chapter.hints.len() => {
                hints_shown += 1;
                println!("\nHint {hints_shown} of {}:\n{}\n", chapter.hints.len(), chapter.hints[hints_shown - 1]);
            }
            Ok(_) => println!("\nThat was the last hint; the book page {} explains the rest.", chapter.page.display()),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // No terminal to read keys from (stdin closed): keep watching, without hints.
            Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
    }
}

fn run_once(root: &Path, chapter: &Chapter, hints_shown: usize) {
    // Clear the screen, so that only this run's results are on it.
    print!("\x1b[2J\x1b[H");
    println!(
        "chapter {} \"{}\": building and testing {}...",
        chapter.number,
        chapter.title,
        chapter.exercise_package()
    );
    let _ = std::io::stdout().flush();
    let build = match cargo::build_tests(root, cargo::Packages::Named(&[chapter.exercise_package()])) {
        Ok(build) => build,
        Err(error) => {
            println!("could not run cargo: {error:#}");
            return;
        }
    };
    let standing = standing(root, chapter, &build);
    println!(
        "\n{} of {} graded tests pass ({} of {} points){}.",
        standing.passed,
        chapter.tests.len(),
        standing.earned,
        chapter.points(),
        if standing.skipped > 0 {
            format!("; {} skipped for a missing program", standing.skipped)
        } else {
            String::new()
        }
    );
    match &standing.first_failure {
        None => println!("Chapter {} is done. Next: the book's chapter {}.", chapter.number, chapter.number + 1),
        Some((what, message)) => println!("\nFirst, {what}:\n{}", indented(message, 60)),
    }
    let more = if hints_shown < chapter.hints.len() { "Enter: the next hint; " } else { "" };
    println!("\nWatching {} for changes. {more}q then Enter: stop.", chapter.exercise.join("src").display());
}

/// Every file's modification time under `folder`: a save anywhere changes it.
fn modification_times(folder: &Path) -> BTreeMap<PathBuf, Option<SystemTime>> {
    let mut times = BTreeMap::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                times.insert(path, entry.metadata().and_then(|metadata| metadata.modified()).ok());
            }
        }
    }
    times
}

/// At most `lines` lines of `text`, each indented, with a note of how many more there were.
fn indented(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let mut shown: Vec<String> = all.iter().take(lines).map(|line| format!("    {line}")).collect();
    if all.len() > lines {
        shown.push(format!("    ... ({} more lines: `cargo test` shows them all)", all.len() - lines));
    }
    shown.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_to_read_is_found_in_a_failure_message() {
        let message =
            "expected 200, got 404.\nRead: chapter 1 \"Clients and servers\", section \"Routes\" (book/src/01.md)";
        assert_eq!(
            where_to_read(message),
            Some("chapter 1 \"Clients and servers\", section \"Routes\" (book/src/01.md)")
        );
        assert_eq!(where_to_read("no pointer here"), None);
    }

    #[test]
    fn a_long_message_is_cut_and_says_so() {
        let text = (0..10).map(|n| format!("line {n}")).collect::<Vec<_>>().join("\n");
        let cut = indented(&text, 3);
        assert_eq!(cut.lines().count(), 4, "{cut}");
        assert!(cut.ends_with("(7 more lines: `cargo test` shows them all)"), "{cut}");
    }
}
