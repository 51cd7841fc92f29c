//! `cargo xtask bench grade`: how long grading a class takes, against the naive way.
//!
//! It generates a class (complete, partial and broken submissions, in turn), grades it the kit's way (one
//! shared target directory, builds overlapping test runs), and then grades a sample of the same submissions
//! the naive way: each in a fresh copy of the kit with a target directory of its own, by `cargo test`.
//! Both are reported in seconds per submission, side by side, with their ratio.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::as_submission::as_submission;

use super::Options as GradeOptions;
use super::submission::{self, Purpose};
use crate::manifest::Manifest;

#[derive(clap::Args)]
pub struct Options {
    /// Submissions in the generated class.
    #[arg(long, default_value_t = 30)]
    submissions: usize,
    /// How many of them to grade the naive way too (each compiles every dependency: about a minute apiece).
    #[arg(long, default_value_t = 3)]
    naive_sample: usize,
    /// Keep the generated class and its reports (their folder is printed).
    #[arg(long)]
    keep: bool,
}

/// The kinds of submission the class is made of, in turn.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Complete,
    Partial,
    Broken,
}

pub fn run(kit: &Path, options: &Options) -> Result<ExitCode> {
    let manifest = Manifest::load(kit)?;
    let work = std::env::temp_dir().join(format!("kit-bench-grade-{}", std::process::id()));
    let class = work.join("class");
    let kinds = [Kind::Complete, Kind::Partial, Kind::Broken];
    for index in 0..options.submissions {
        let kind = kinds[index % kinds.len()];
        generate(kit, &manifest, kind, &class.join(format!("student-{index:02}-{kind:?}").to_lowercase()))?;
    }
    println!(
        "generated {} submissions (complete, partial, broken in turn) in {}",
        options.submissions,
        class.display()
    );

    let grade_options = GradeOptions {
        submissions: class.clone(),
        out: work.join("grades"),
        test_seconds: 30,
        exercise_seconds: 120,
        build_seconds: 600,
        output_kib: 256,
        single: false,
        gradescope_results: None,
        github_classroom: None,
        no_sandbox: false,
    };
    let started = Instant::now();
    let report = super::grade(kit, &grade_options)?;
    let ours = started.elapsed();
    let ours_each = ours.as_secs_f64() / options.submissions.max(1) as f64;
    let points: u32 = report.submissions.iter().map(|submission| submission.score()).sum();
    println!(
        "kit grader: {:.1} s for {} submissions = {ours_each:.2} s per submission ({points} points awarded)",
        ours.as_secs_f64(),
        options.submissions
    );
    // A complete submission is the reference solution: any point it loses is the grader's (or a test's) fault.
    for submission in report.submissions.iter().filter(|submission| submission.student.ends_with("complete")) {
        for exercise in &submission.exercises {
            for test in exercise.tests.iter().filter(|test| test.points < test.max_points) {
                println!(
                    "  {} lost ch{:02} {} ({}): {}",
                    submission.student,
                    exercise.chapter,
                    test.name,
                    test.status.label(),
                    test.message.lines().next().unwrap_or("")
                );
            }
        }
    }
    if options.keep {
        super::write_reports(&report, &work.join("grades"))?;
    }

    let sample = options.naive_sample.min(options.submissions);
    if sample > 0 {
        let mut naive = Duration::ZERO;
        for index in 0..sample {
            let student = class.join(format!("student-{index:02}-{:?}", kinds[index % kinds.len()]).to_lowercase());
            naive += grade_naively(kit, &manifest, &student, &work.join(format!("naive-{index}")))?;
        }
        let naive_each = naive.as_secs_f64() / sample as f64;
        println!(
            "naive way:  {naive_each:.2} s per submission (mean of {sample}: a fresh copy and target directory each)"
        );
        println!("the kit grader is {:.1}x faster per submission", naive_each / ours_each);
    }
    if options.keep {
        println!("kept the class and its reports in {}", work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(ExitCode::SUCCESS)
}

/// A student's workspace: the starters, with the solutions' code copied in where the student "did the work".
fn generate(kit: &Path, manifest: &Manifest, kind: Kind, folder: &Path) -> Result<()> {
    let done = match kind {
        Kind::Complete | Kind::Broken => manifest.chapters.len(),
        Kind::Partial => manifest.chapters.len() / 2,
    };
    for (index, chapter) in manifest.chapters.iter().enumerate() {
        let source = folder.join(&chapter.exercise).join("src");
        std::fs::create_dir_all(&source)?;
        // The starter's files first (the given `protocol.rs`, which a solution uses by path, and a `main.rs` it
        // may share), then, where the student "did the work", the solution's files over them.
        let mut layers = vec![(kit.join(&chapter.exercise).join("src"), false)];
        if index < done {
            layers.push((kit.join(&chapter.solution).join("src"), true));
        }
        for (from, is_solution) in layers {
            copy_sources(&from, &source, &|text| {
                if is_solution { as_submission(text, &chapter.exercise) } else { text.to_owned() }
            })?;
        }
    }
    if let (Kind::Broken, Some(chapter)) = (kind, manifest.chapters.last()) {
        let lib = folder.join(&chapter.exercise).join("src/main.rs");
        let text = std::fs::read_to_string(&lib)?;
        std::fs::write(&lib, format!("{text}\nfn broken( {{\n"))?;
    }
    Ok(())
}

/// Copies the files of `from` into `into` through `transform`, folders and all (chapter 10's client is in
/// `src/client/`).
fn copy_sources(from: &Path, into: &Path, transform: &dyn Fn(&str) -> String) -> Result<()> {
    std::fs::create_dir_all(into)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            copy_sources(&entry.path(), &into.join(entry.file_name()), transform)?;
        } else {
            let text = std::fs::read_to_string(entry.path())?;
            std::fs::write(into.join(entry.file_name()), transform(&text))?;
        }
    }
    Ok(())
}

/// The naive way: a fresh copy of the kit with the student's code, its own target directory, `cargo test`.
fn grade_naively(kit: &Path, manifest: &Manifest, student: &Path, copy: &Path) -> Result<Duration> {
    submission::prepare(kit, manifest, student, copy, Purpose::ProgramsAndTests)?;
    let workspace = submission::workspace_manifest(kit, &manifest.chapters, Purpose::ProgramsAndTests)?;
    std::fs::write(copy.join("Cargo.toml"), workspace)?;
    std::fs::copy(kit.join("Cargo.lock"), copy.join("Cargo.lock"))?;
    let started = Instant::now();
    let output = Command::new(crate::cargo::cargo())
        .args(["test", "--offline", "--no-fail-fast", "--workspace"])
        .current_dir(copy)
        .env("CARGO_TARGET_DIR", copy.join("target"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("could not run cargo test")?;
    let elapsed = started.elapsed();
    // Failing tests are part of grading; a workspace that cargo cannot even load is a broken measurement.
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.contains("Compiling") {
        bail!("the naive run compiled nothing, so its time means nothing; cargo said:\n{}", stderr.trim());
    }
    let _ = std::fs::remove_dir_all(copy);
    Ok(elapsed)
}
