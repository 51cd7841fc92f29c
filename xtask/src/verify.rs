//! `cargo xtask verify`: proves that the kit is a kit.
//!
//! For every chapter of the manifest it checks the layout (folders, package names, the one canonical test
//! file, SUMMARY, the book sections tests point to), compiles every starter and solution, and runs their
//! graded tests: each must *fail* on the untouched starter and *pass* on the solution, and every test the
//! manifest names must be seen to run. Then it builds the book. It prints one row per chapter and every
//! breach by name, and exits non-zero if there is any.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::cargo::{self, Outcome};
use crate::manifest::{Chapter, Manifest};
use crate::{layout, mdbook, progress};

/// Longest a chapter's whole test binary may run before it counts as hung.
const TEST_BINARY_LIMIT: Duration = Duration::from_secs(180);

pub struct Options {
    pub root: PathBuf,
    /// Build the book too (the fixture kits in the tool's own tests have no mdBook to spare).
    pub book: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub chapters: Vec<ChapterReport>,
    /// Breaches that belong to no single chapter: SUMMARY, stray folders, the book build.
    pub kit: Vec<String>,
    /// `None` when the book was not built.
    pub book_builds: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct ChapterReport {
    pub number: u32,
    pub slug: String,
    pub graded_tests: usize,
    pub points: u32,
    /// Graded tests that failed on the starter, as they must.
    pub failing_on_starter: usize,
    /// Graded tests that passed on the solution, as they must; `None` in a kit without solutions.
    pub passing_on_solution: Option<usize>,
    /// Graded tests skipped on the solution because a program they need is missing.
    pub skipped: Vec<Skipped>,
    pub breaches: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Skipped {
    pub test: String,
    pub needs: Vec<String>,
    pub install: Vec<String>,
}

impl Report {
    pub fn breaches(&self) -> usize {
        self.kit.len() + self.chapters.iter().map(|chapter| chapter.breaches.len()).sum::<usize>()
    }
}

pub fn run(options: &Options) -> Result<Report> {
    let root = &options.root;
    let manifest = Manifest::load(root)?;
    let build = cargo::build_tests(root, cargo::Packages::Named(&packages(root, &manifest)))?;
    let sides = sides(root, &manifest, &build);
    let jobs: Vec<cargo::Job> = sides.iter().filter_map(|side| side.job.clone()).collect();
    let bar = progress::bar(jobs.len() as u64, "running tests");
    let mut runs = cargo::run_all(&jobs, cargo::at_once(), |_, _| bar.inc(1)).into_iter();
    bar.finish_and_clear();
    let runs = sides.iter().map(|side| side.job.as_ref().and_then(|_| runs.next())).collect();
    Ok(judge(root, &manifest, sides, runs, options.book))
}

/// The packages verify builds: every starter, and every solution unless this is a class template (which
/// ships without them).
pub fn packages(root: &Path, manifest: &Manifest) -> Vec<String> {
    let with_solutions = root.join("solutions").is_dir();
    manifest
        .chapters
        .iter()
        .flat_map(|chapter| {
            let mut packages = vec![chapter.exercise_package()];
            if with_solutions {
                packages.push(chapter.solution_package());
            }
            packages
        })
        .collect()
}

/// A chapter's starter or solution, and the test binary that judges it.
pub struct Side {
    chapter: u32,
    solution: bool,
    /// `None` when there is nothing to run: see `breach`.
    pub job: Option<cargo::Job>,
    /// Why there is no test binary to run: the package does not compile.
    breach: Option<String>,
}

impl Side {
    pub fn is_solution(&self) -> bool {
        self.solution
    }
}

/// Every side to judge: each chapter's starter, then its solution (unless this is a class template).
pub fn sides(root: &Path, manifest: &Manifest, build: &cargo::Build) -> Vec<Side> {
    let with_solutions = root.join("solutions").is_dir();
    let mut sides = Vec::new();
    for chapter in &manifest.chapters {
        sides.push(side(root, build, chapter, false));
        if with_solutions {
            sides.push(side(root, build, chapter, true));
        }
    }
    sides
}

fn side(root: &Path, build: &cargo::Build, chapter: &Chapter, solution: bool) -> Side {
    let folder = if solution { &chapter.solution } else { &chapter.exercise };
    let manifest_path = cargo::canonical(&root.join(folder).join("Cargo.toml"));
    // The tests never link the program (they run it), so its test binary can build while the program does
    // not: a compiler error anywhere in the package is what counts.
    let binary = build.binaries.get(&manifest_path).filter(|_| !build.errors.contains_key(&manifest_path));
    let (job, breach) = match binary {
        Some(binary) => (Some(cargo::Job::new(binary, &root.join(folder), TEST_BINARY_LIMIT)), None),
        None => {
            let errors = build
                .errors
                .get(&manifest_path)
                .map(|errors| errors.join("\n"))
                .unwrap_or_else(|| "(cargo gave no error message)".into());
            let what = if solution {
                "the solution must compile"
            } else {
                "the starter must compile, so that rust-analyzer works on it"
            };
            (None, Some(format!("{}: does not compile; {what}:\n{}", folder.display(), indent(&errors))))
        }
    };
    Side { chapter: chapter.number, solution, job, breach }
}

/// The report, from each side's run (`None` for a side with nothing to run), in the order of `sides`.
pub fn judge(
    root: &Path,
    manifest: &Manifest,
    sides: Vec<Side>,
    runs: Vec<Option<Result<cargo::TestRun>>>,
    book: bool,
) -> Report {
    let with_solutions = root.join("solutions").is_dir();
    let mut kit = layout::check_kit(root, manifest, with_solutions);
    kit.extend(crate::starters::check(root, manifest));
    let mut chapters: Vec<ChapterReport> = manifest
        .chapters
        .iter()
        .map(|chapter| ChapterReport {
            number: chapter.number,
            slug: chapter.slug.clone(),
            graded_tests: chapter.tests.len(),
            points: chapter.points(),
            failing_on_starter: 0,
            passing_on_solution: with_solutions.then_some(0),
            skipped: Vec::new(),
            breaches: layout::check_chapter(root, manifest, chapter, with_solutions),
        })
        .collect();
    for (side, run) in sides.into_iter().zip(runs) {
        let Some((chapter, report)) =
            manifest.chapters.iter().zip(chapters.iter_mut()).find(|(chapter, _)| chapter.number == side.chapter)
        else {
            continue;
        };
        let folder = if side.solution { &chapter.solution } else { &chapter.exercise };
        let name = if side.solution { "solution" } else { "starter" };
        let run = match (side.breach, run) {
            (Some(breach), _) => Err(breach),
            (None, Some(Ok(run))) if run.timed_out => Err(format!(
                "{}: the {name}'s tests ran longer than {TEST_BINARY_LIMIT:?} and were stopped",
                folder.display()
            )),
            (None, Some(Ok(run))) => Ok(run),
            (None, Some(Err(error))) => Err(format!("{}: {error:#}", folder.display())),
            (None, None) => Err(format!("{}: the {name}'s tests were not run", folder.display())),
        };
        match run {
            Ok(run) if side.solution => check_solution(manifest, chapter, &run, report),
            Ok(run) => check_starter(chapter, &run, report),
            Err(breach) => report.breaches.push(breach),
        }
    }

    let book_builds = book.then(|| match build_book(root, manifest) {
        Ok(()) => true,
        Err(error) => {
            kit.push(format!("the book does not build: {error:#}"));
            false
        }
    });
    Report { chapters, kit, book_builds }
}

fn check_starter(chapter: &Chapter, run: &cargo::TestRun, report: &mut ChapterReport) {
    for test in &chapter.tests {
        match run.outcomes.get(&test.name) {
            Some(Outcome::Failed) => {
                report.failing_on_starter += 1;
                // Invariant 3: the failure must send the student to the book. The testkit's messages and the
                // starters' `todo!()`s all name a chapter and a section.
                let message = cargo::failure_of(&run.output, &test.name).unwrap_or_default();
                let chapter_named = format!("chapter {}", chapter.number);
                if !(message.contains(&chapter_named) && message.contains("section \"")) {
                    report.breaches.push(format!(
                        "{}: graded test `{}` fails on the starter without naming the book section that explains it \
                         (expected \"{chapter_named}\" and \"section \\\"...\\\"\" in the message); it said:\n{}",
                        chapter.exercise.display(),
                        test.name,
                        indent(if message.is_empty() { "(nothing)" } else { message })
                    ));
                }
            }
            Some(Outcome::Passed) => report.breaches.push(format!(
                "{}: graded test `{}` passes on the untouched starter; a student would score it without writing anything",
                chapter.exercise.display(),
                test.name
            )),
            // A test that needs a missing program is skipped on both sides; the solution's report names it.
            Some(Outcome::Ignored) if !test.needs.is_empty() => {}
            Some(Outcome::Ignored) => report.breaches.push(format!(
                "{}: graded test `{}` is ignored; a graded test must run",
                chapter.test_file().display(),
                test.name
            )),
            None => report.breaches.push(never_ran(chapter, &test.name, "starter")),
        }
    }
    // The manifest must list every test the file has: an unlisted test is either worth points nobody gets,
    // or a check nobody is told about.
    for name in run.outcomes.keys().filter(|name| !chapter.tests.iter().any(|test| test.name == **name)) {
        report.breaches.push(format!(
            "{}: test `{name}` is not in course.toml; give it points or remove it",
            chapter.test_file().display()
        ));
    }
}

fn check_solution(manifest: &Manifest, chapter: &Chapter, run: &cargo::TestRun, report: &mut ChapterReport) {
    let outcomes = &run.outcomes;
    for test in &chapter.tests {
        match outcomes.get(&test.name) {
            Some(Outcome::Passed) => *report.passing_on_solution.get_or_insert(0) += 1,
            Some(Outcome::Failed) => report.breaches.push(format!(
                "{}: graded test `{}` fails on the reference solution:\n{}",
                chapter.solution.display(),
                test.name,
                indent(cargo::failure_of(&run.output, &test.name).unwrap_or("(no message)"))
            )),
            Some(Outcome::Ignored) if !test.needs.is_empty() => report.skipped.push(Skipped {
                test: test.name.clone(),
                needs: test.needs.clone(),
                install: test
                    .needs
                    .iter()
                    .filter_map(|name| manifest.program(name))
                    .map(|program| program.install.clone())
                    .collect(),
            }),
            Some(Outcome::Ignored) => report.breaches.push(format!(
                "{}: graded test `{}` is ignored; a graded test must run",
                chapter.test_file().display(),
                test.name
            )),
            None => report.breaches.push(never_ran(chapter, &test.name, "solution")),
        }
    }
}

fn never_ran(chapter: &Chapter, test: &str, side: &str) -> String {
    format!(
        "course.toml: graded test `{test}` of chapter {} never ran on the {side}: no test of that name in {}",
        chapter.number,
        chapter.test_file().display()
    )
}

fn build_book(root: &Path, manifest: &Manifest) -> Result<()> {
    let destination = std::env::temp_dir().join(format!("kit-verify-book-{}", std::process::id()));
    let result = mdbook::build(&root.join(&manifest.book), &destination);
    let _ = std::fs::remove_dir_all(&destination);
    result
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}")).collect::<Vec<_>>().join("\n")
}

/// The table a person reads first, then every breach.
pub fn print(report: &Report) {
    println!("{:<26} {:>7} {:>14} {:>16}  breaches", "chapter", "points", "starter fails", "solution passes");
    for chapter in &report.chapters {
        let name = format!("{:02} {}", chapter.number, chapter.slug);
        let starter = format!("{}/{}", chapter.failing_on_starter, chapter.graded_tests);
        let solution = match chapter.passing_on_solution {
            Some(passing) => format!("{passing}/{}", chapter.graded_tests),
            None => "(no solutions)".to_owned(),
        };
        let status = if chapter.breaches.is_empty() { "none".to_owned() } else { chapter.breaches.len().to_string() };
        println!("{name:<26} {:>7} {starter:>14} {solution:>16}  {status}", chapter.points);
    }
    match report.book_builds {
        Some(true) => println!("{:<26} {:>22}", "book", "builds"),
        Some(false) => println!("{:<26} {:>22}", "book", "FAILS"),
        None => println!("{:<26} {:>22}", "book", "not built"),
    }
    for chapter in &report.chapters {
        for skipped in &chapter.skipped {
            println!(
                "skipped: chapter {} `{}` needs {} (enable with: {})",
                chapter.number,
                skipped.test,
                skipped.needs.join(", "),
                skipped.install.join("; ")
            );
        }
    }
    let breaches: Vec<&String> =
        report.kit.iter().chain(report.chapters.iter().flat_map(|chapter| &chapter.breaches)).collect();
    if breaches.is_empty() {
        let tests: usize = report.chapters.iter().map(|chapter| chapter.graded_tests).sum();
        println!("verify: every invariant holds ({} chapters, {tests} graded tests)", report.chapters.len());
    } else {
        println!("\nverify: {} breach(es):", breaches.len());
        for breach in breaches {
            println!("- {breach}");
        }
    }
}
