//! `cargo xtask grade`: grades one student's workspace, or a folder of them, against the kit's own tests.
//!
//! The graded tests are black-box: they run the student's programs and talk to them, and never link them. So
//! the grader builds the kit's own test binaries once, from its pristine tests; then, for each submission, it
//! builds a scratch workspace (the kit's pristine exercises with the student's `src/` laid over them) and
//! compiles its programs in one sandboxed cargo call, and runs each graded test in a process of its own, which
//! starts the student's program in the sandbox. The next submission builds while the previous one's tests
//! run, so both cores work. The results are written by the grader itself, after every student process is gone.

mod as_submission;
pub mod bench;
mod build;
pub mod formats;
mod integrity;
pub mod report;
mod run;
mod sandbox;
mod seed;

pub use sandbox::sandbox_exec;
mod submission;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::manifest::Manifest;
use report::{ChapterInfo, ClassReport, ExerciseReport, ExerciseStatus, SubmissionReport, TestReport, TestStatus};
use run::Limits;
use sandbox::Protections;
use submission::{Overlay, Submission};

#[derive(clap::Args)]
pub struct Options {
    /// One student's workspace, or a folder with one folder per student (the folder name is the student id).
    pub submissions: PathBuf,
    /// Where the reports go: grades.csv, canvas.csv, junit.xml, feedback/, gradescope/.
    #[arg(long, default_value = "grades")]
    pub out: PathBuf,
    /// Time limit for one graded test, in seconds.
    #[arg(long, default_value_t = 30)]
    pub test_seconds: u64,
    /// Time limit for all of one exercise's tests together, in seconds.
    #[arg(long, default_value_t = 120)]
    pub exercise_seconds: u64,
    /// Time limit for compiling one submission, in seconds.
    #[arg(long, default_value_t = 600)]
    pub build_seconds: u64,
    /// Most output kept from one test, in KiB; a test printing more is stopped.
    #[arg(long, default_value_t = 256)]
    pub output_kib: usize,
    /// The folder is one submission, even if it does not look like a workspace (it still gets a row).
    #[arg(long)]
    pub single: bool,
    /// Also write Gradescope's results.json for the (single) submission to this path.
    #[arg(long)]
    pub gradescope_results: Option<PathBuf>,
    /// Also write the GitHub Classroom reporter's results for the (single) submission to this path.
    #[arg(long)]
    pub github_classroom: Option<PathBuf>,
    /// Grade without bubblewrap even where it works: only to compare, or to test the grader's fallback.
    /// Every report says so.
    #[arg(long)]
    pub no_sandbox: bool,
}

pub fn run(kit: &Path, options: &Options) -> Result<ExitCode> {
    let report = grade(kit, options)?;
    if let Some(path) = &options.gradescope_results {
        let submission = report.submissions.first().context("there was no submission to grade")?;
        write_file(path, &formats::gradescope(&report, submission))?;
    }
    if let Some(path) = &options.github_classroom {
        let submission = report.submissions.first().context("there was no submission to grade")?;
        write_file(path, &formats::github_classroom(&report, submission))?;
    }
    write_reports(&report, &options.out)?;
    print_summary(&report);
    println!("\nreports written to {}/", options.out.display());
    for held in &report.protections.held {
        println!("  held: {held}");
    }
    for missing in &report.protections.missing {
        println!("  NOT HELD: {missing}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Grades every submission and returns the report; writes nothing.
pub fn grade(kit: &Path, options: &Options) -> Result<ClassReport> {
    let manifest = Manifest::load(kit)?;
    let submissions = if options.single {
        vec![submission::single(&options.submissions)?]
    } else {
        submission::discover(&options.submissions)?
    };
    let protections = Protections::detect(options.no_sandbox);
    let limits = Limits {
        per_test: Duration::from_secs(options.test_seconds),
        per_exercise: Duration::from_secs(options.exercise_seconds),
        output_cap: options.output_kib * 1024,
        loopback_only: protections.loopback_only,
    };
    let work = std::env::temp_dir().join(format!("kit-grade-{}", std::process::id()));
    let fingerprint = integrity::Fingerprint::of(kit);
    eprintln!("building the kit's own test binaries (once for the whole class)...");
    let settings =
        build::Settings::new(kit, &manifest, &work, Duration::from_secs(options.build_seconds), &protections)?;
    let launcher = if protections.sandboxed() { Some(sandbox::write_launcher(&work, kit)?) } else { None };

    let bar = crate::progress::bar(submissions.len() as u64, "grading");
    // Two stages, so both cores work: this thread compiles submission N+1 while the runner runs N's tests. The
    // channel has no buffer: handing over N+1 waits until the runner has finished N, so at most two
    // submissions' scratch folders exist at a time.
    let (built_tx, built_rx) = mpsc::sync_channel::<(Submission, Option<build::Built>)>(0);
    let reports = std::thread::scope(|scope| -> Result<Vec<SubmissionReport>> {
        let runner = scope.spawn(|| -> Result<Vec<SubmissionReport>> {
            let mut reports = Vec::new();
            for (submission, built) in built_rx {
                bar.set_message(submission.student.clone());
                let report = match built {
                    Some(built) => grade_built(&manifest, &settings, &submission, &built, launcher.as_deref(), limits)
                        .with_context(|| format!("while grading {:?}", submission.student))?,
                    None => not_graded(&manifest, &submission),
                };
                reports.push(report);
                bar.inc(1);
            }
            Ok(reports)
        });
        let mut previous: Option<&str> = None;
        for submission in &submissions {
            if !fingerprint.still_matches(kit) {
                drop(built_tx);
                let suspect = previous.map(|student| format!(" right after grading {student:?}")).unwrap_or_default();
                anyhow::bail!(
                    "the kit's own files (tests, test support, manifests) changed during grading{suspect}; \
                     no reports were written. Restore the kit (git checkout) and grade again without that submission"
                );
            }
            previous = Some(&submission.student);
            let built = match &submission.root {
                Some(root) => Some(settings.build(&submission.student, root)?),
                None => None,
            };
            if built_tx.send((submission.clone(), built)).is_err() {
                break; // The runner stopped on an error; it reports it below.
            }
        }
        drop(built_tx);
        runner.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the test runner thread panicked")))
    });
    bar.finish_and_clear();
    let _ = std::fs::remove_dir_all(&work);
    let mut reports = reports?;
    if !fingerprint.still_matches(kit) {
        anyhow::bail!(
            "the kit's own files (tests, test support, manifests) changed during grading; no reports were written. \
             Restore the kit (git checkout) and grade the class again, watching for the submission that does it"
        );
    }
    reports.sort_by(|a, b| a.student.cmp(&b.student));
    Ok(ClassReport {
        course: manifest.title.clone(),
        protections: report::ProtectionReport { held: protections.held(), missing: protections.missing() },
        submissions: reports,
        chapters: manifest
            .chapters
            .iter()
            .map(|chapter| ChapterInfo {
                number: chapter.number,
                slug: chapter.slug.clone(),
                title: chapter.title.clone(),
                points: chapter.points(),
            })
            .collect(),
    })
}

fn grade_built(
    manifest: &Manifest,
    settings: &build::Settings,
    submission: &Submission,
    built: &build::Built,
    launcher: Option<&Path>,
    limits: Limits,
) -> Result<SubmissionReport> {
    let student = run::Student { programs: &built.programs, sandbox: launcher };
    let mut exercises = Vec::new();
    for (chapter, overlay) in manifest.chapters.iter().zip(&built.overlays) {
        let mut report = ExerciseReport {
            chapter: chapter.number,
            slug: chapter.slug.clone(),
            status: ExerciseStatus::Graded,
            compiler_output: None,
            overlay: overlay.clone(),
            tests: Vec::new(),
        };
        if !overlay.present {
            report.status = ExerciseStatus::Missing;
            report.tests = unbuilt(chapter, "the exercise's folder is missing from the submission");
        } else if let (Some(_), Some(tests)) = (built.programs(chapter), settings.test_binary(chapter)) {
            let exercise_dir = built.scratch.join(&chapter.exercise);
            report.tests = run::run_exercise(chapter, tests, &exercise_dir, &built.scratch, &student, limits)?;
        } else {
            report.status = ExerciseStatus::CompileError;
            report.compiler_output = Some(built.compiler_output(chapter));
            report.tests = unbuilt(chapter, "the exercise does not compile");
        }
        exercises.push(report);
    }
    Ok(SubmissionReport { student: submission.student.clone(), problem: None, exercises })
}

fn not_graded(manifest: &Manifest, submission: &Submission) -> SubmissionReport {
    let problem = submission.problem.clone().unwrap_or_else(|| "not gradable".into());
    let exercises = manifest
        .chapters
        .iter()
        .map(|chapter| ExerciseReport {
            chapter: chapter.number,
            slug: chapter.slug.clone(),
            status: ExerciseStatus::NotGraded,
            compiler_output: None,
            overlay: Overlay::default(),
            tests: unbuilt(chapter, &problem),
        })
        .collect();
    SubmissionReport { student: submission.student.clone(), problem: Some(problem), exercises }
}

fn unbuilt(chapter: &crate::manifest::Chapter, why: &str) -> Vec<TestReport> {
    chapter
        .tests
        .iter()
        .map(|test| TestReport {
            name: test.name.clone(),
            points: 0,
            max_points: test.points,
            status: TestStatus::NotBuilt,
            message: why.to_owned(),
        })
        .collect()
}

/// Writes every report format into `out`. Files are written whole to a temporary name, then renamed.
pub fn write_reports(report: &ClassReport, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_file(&out.join("grades.csv"), &formats::grades_csv(report))?;
    write_file(&out.join("canvas.csv"), &formats::canvas_csv(report))?;
    write_file(&out.join("junit.xml"), &formats::junit(report))?;
    write_file(&out.join("report.json"), &(serde_json::to_string_pretty(report)? + "\n"))?;
    for submission in &report.submissions {
        let name = file_name(&submission.student);
        write_file(&out.join("feedback").join(format!("{name}.md")), &formats::feedback(report, submission))?;
        write_file(&out.join("gradescope").join(&name).join("results.json"), &formats::gradescope(report, submission))?;
    }
    Ok(())
}

fn write_file(path: &Path, content: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, content).with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// A student id made safe as a file name.
pub(crate) fn file_name(student: &str) -> String {
    let safe: String =
        student.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if safe.is_empty() || safe.starts_with('.') { format!("_{safe}") } else { safe }
}

/// The table a person reads first: one row per student, points per chapter.
pub fn print_summary(report: &ClassReport) {
    let mut header = format!("{:<20}", "student");
    for chapter in &report.chapters {
        header.push_str(&format!(" {:>6}", format!("ch{:02}", chapter.number)));
    }
    println!("{header} {:>9}  notes", "total");
    for submission in &report.submissions {
        let mut line = format!("{:<20}", truncate(&submission.student, 20));
        for exercise in &submission.exercises {
            let cell = match exercise.status {
                ExerciseStatus::Graded => format!("{}/{}", exercise.score(), exercise.max_score()),
                ExerciseStatus::Missing => "miss".into(),
                ExerciseStatus::CompileError => "build!".into(),
                ExerciseStatus::NotGraded => "-".into(),
            };
            line.push_str(&format!(" {cell:>6}"));
        }
        let total = format!("{}/{}", submission.score(), submission.max_score());
        let notes = submission.problem.clone().unwrap_or_else(|| notes(submission));
        println!("{line} {total:>9}  {notes}");
    }
}

fn notes(submission: &SubmissionReport) -> String {
    let mut notes = Vec::new();
    let count = |status: TestStatus| {
        submission.exercises.iter().flat_map(|exercise| &exercise.tests).filter(|test| test.status == status).count()
    };
    for status in [TestStatus::TimedOut, TestStatus::OutputLimit, TestStatus::NotRun, TestStatus::Panicked] {
        let n = count(status);
        if n > 0 {
            notes.push(format!("{n} {}", status.label()));
        }
    }
    let edited =
        submission.exercises.iter().filter(|exercise| !exercise.overlay.changed_outside_src.is_empty()).count();
    if edited > 0 {
        notes.push(format!("edits outside src/ ignored in {edited} exercise(s)"));
    }
    notes.join(", ")
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        text.chars().take(width - 1).collect::<String>() + "…"
    }
}
