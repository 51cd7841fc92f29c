//! `cargo xtask`: the kit's own tools, one verb each.
//!
//! - `check`   the whole self-check: the tools' tests and `verify` (which builds the book), side by side;
//! - `verify`  proves the kit's invariants: starters fail, solutions pass, manifest, folders and book agree;
//! - `book`    builds and serves the book on localhost, with the pinned mdBook built into this program;
//! - `grade`   grades students' workspaces against the kit's pristine tests;
//! - `export`  packages the kit for Gradescope or GitHub Classroom;
//! - `hint`    shows a chapter's hints, one at a time;
//! - `bench`   measures what a student waits for: the edit-and-test loop, and a cold self-check.

mod bench;
mod cargo;
mod chat_bench;
mod check;
mod cold_bench;
mod diagrams;
mod export;
mod grade;
mod layout;
mod manifest;
mod mdbook;
mod progress;
mod serve;
mod starters;
mod student;
mod unify;
mod verify;
mod xml;
mod zip;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "The kit's tools: check, verify, book, hint, bench.")]
struct Cli {
    /// The kit's root folder (holding course.toml); by default, the workspace this xtask belongs to.
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// The whole self-check: what `cargo test` and `verify` prove (the tools' tests, every starter failing and every
    /// solution passing its graded tests, the book building), in one build; the tests that take minutes only with
    /// --full (or on CI).
    Check {
        /// Also the tests that take minutes: hostile clients, every browser scenario, the grader on the whole
        /// kit. CI runs them (it sets `CI`), whatever this says.
        #[arg(long)]
        full: bool,
    },
    /// Prove the invariants: every starter compiles and fails each graded test, every solution passes them,
    /// and manifest, folders, SUMMARY and book agree.
    Verify {
        /// Skip building the book.
        #[arg(long)]
        no_book: bool,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Build the book and serve it at http://127.0.0.1:PORT/ (live reload while you edit).
    Book {
        #[arg(long, default_value_t = 3300)]
        port: u16,
        /// Only build it, into book/build/, and do not serve.
        #[arg(long)]
        build_only: bool,
    },
    /// Package the kit for a grading platform: a Gradescope autograder, or a GitHub Classroom template.
    #[command(subcommand)]
    Export(export::Target),
    /// Grade one student's workspace, or a folder of them: reports for a spreadsheet, Canvas, Gradescope, JUnit.
    Grade(grade::Options),
    /// Show hint N (default 1) of a chapter: `cargo xtask hint 2`, then `cargo xtask hint 2 2`.
    Hint { chapter: u32, number: Option<usize> },
    /// Measure what people wait for: the student's edit-and-test loop, or grading a class.
    #[command(subcommand)]
    Bench(BenchTarget),
    /// The grader's sandbox around one student program; graded tests call it through `KIT_SANDBOX`.
    #[command(hide = true)]
    SandboxExec {
        /// A file or folder the program may read, at its own path.
        #[arg(long)]
        readable: Vec<PathBuf>,
        /// A folder the program may write to, at its own path.
        #[arg(long)]
        writable: Vec<PathBuf>,
        /// The program and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Where you stand: every chapter's passing tests and points, and the next thing to do.
    Progress,
    /// Run chapter N's tests again on every save of its `src/`; press Enter for the next hint.
    Watch {
        /// The chapter to watch; by default, the first one not done yet.
        chapter: Option<u32>,
    },
    /// Put chapter N's `src/` back as its starter was (it asks first, and keeps a copy of your files).
    Reset {
        /// The chapter whose exercise to reset.
        #[arg(required_unless_present = "pin")]
        chapter: Option<u32>,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
        /// For maintainers: record the starters on disk as the pristine ones (exercises/starters.lock).
        #[arg(long, conflicts_with = "chapter")]
        pin: bool,
    },
    /// For maintainers: name every dependency that two ways of building the kit would compile with different
    /// features, and print what support/unify/Cargo.toml must ask for instead.
    Unify,
    /// mdBook calls this to render ```sequence diagrams (see book/book.toml).
    #[command(hide = true)]
    MdbookPreprocessor {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Edit a starter and run its tests, as a student does; median of several runs per exercise.
    Loop(bench::Options),
    /// Grade a generated class of 30 submissions, and a sample of them the naive way, side by side.
    Grade(grade::bench::Options),
    /// The finished chat (a release build) against an equivalent Node.js socket.io server, same load.
    Chat(chat_bench::Options),
    /// A fresh clone of the last commit: seconds to the book's first page, and to a green self-check.
    Cold,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            // Exit code 2: the tool itself could not do its job, as opposed to 1, "it found breaches".
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let root = match cli.root {
        Some(root) => root.canonicalize().with_context(|| format!("no kit at {}", root.display()))?,
        None => workspace_root(),
    };
    match cli.verb {
        Verb::Check { full } => check::run(&root, full),
        Verb::Verify { no_book, json } => {
            let report = verify::run(&verify::Options { root, book: !no_book })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                verify::print(&report);
            }
            Ok(if report.breaches() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Verb::Book { port, build_only } => book(&root, port, build_only),
        Verb::Grade(options) => grade::run(&root, &options),
        Verb::Export(target) => export::run(&root, &target),
        Verb::Hint { chapter, number } => hint(&root, chapter, number.unwrap_or(1)),
        Verb::Bench(BenchTarget::Loop(options)) => bench::run(&root, &options),
        Verb::Bench(BenchTarget::Grade(options)) => grade::bench::run(&root, &options),
        Verb::Bench(BenchTarget::Chat(options)) => chat_bench::run(&root, &options),
        Verb::Bench(BenchTarget::Cold) => cold_bench::run(&root),
        Verb::Reset { chapter, yes, pin } => reset(&root, chapter, yes, pin),
        Verb::Unify => unify::run(&root),
        Verb::Progress => student::progress(&root),
        Verb::Watch { chapter } => student::watch(&root, chapter),
        Verb::MdbookPreprocessor { args } => diagrams::run_preprocessor(&args),
        Verb::SandboxExec { readable, writable, command } => grade::sandbox_exec(readable, writable, &command),
    }
}

/// The folder holding the workspace's Cargo.toml: the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_path_buf()
}

fn book(root: &Path, port: u16, build_only: bool) -> Result<ExitCode> {
    let manifest = manifest::Manifest::load(root)?;
    let book_dir = root.join(&manifest.book);
    if build_only {
        let destination = book_dir.join("build");
        mdbook::build(&book_dir, &destination)?;
        println!("built the book into {}", destination.display());
        return Ok(ExitCode::SUCCESS);
    }
    // What the book is made of: its own folder (but not its builds), and the kit's sources that it quotes.
    let mut watched = vec![book_dir.join("src"), book_dir.join("book.toml"), root.join("support")];
    watched.extend(manifest.chapters.iter().map(|chapter| root.join(&chapter.exercise).join("tests")));
    let book_source = book_dir.clone();
    serve::serve(&book_dir, watched, port, move |destination| mdbook::build(&book_source, destination))?;
    Ok(ExitCode::SUCCESS)
}

fn reset(root: &Path, chapter: Option<u32>, yes: bool, pin: bool) -> Result<ExitCode> {
    let manifest = manifest::Manifest::load(root)?;
    if pin {
        let count = starters::pin(root, &manifest)?;
        println!("recorded {count} starter files in {}", starters::LOCK);
        return Ok(ExitCode::SUCCESS);
    }
    let chapter = manifest.chapter(chapter.context("which chapter? `cargo xtask reset N`")?)?;
    starters::reset(root, chapter, yes)?;
    Ok(ExitCode::SUCCESS)
}

fn hint(root: &Path, chapter: u32, number: usize) -> Result<ExitCode> {
    let manifest = manifest::Manifest::load(root)?;
    let chapter = manifest.chapter(chapter)?;
    let count = chapter.hints.len();
    let Some(text) = number.checked_sub(1).and_then(|index| chapter.hints.get(index)) else {
        bail!("chapter {} has hints 1 to {count}", chapter.number);
    };
    println!("Chapter {} \"{}\", hint {number} of {count}:\n\n{text}\n", chapter.number, chapter.title);
    if number < count {
        println!("More specific: cargo xtask hint {} {}", chapter.number, number + 1);
    } else {
        println!("That was the last hint. The book page {} explains the rest.", chapter.page.display());
    }
    Ok(ExitCode::SUCCESS)
}
