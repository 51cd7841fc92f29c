//! `cargo xtask export`: the kit, packaged for the platforms instructors grade on.
//!
//! - `export gradescope` writes a Gradescope autograder zip: `setup.sh` installs Rust and compiles the kit
//!   once, `run_autograder` grades `/autograder/submission` with this kit's grader and writes
//!   `/autograder/results/results.json`.
//! - `export classroom` writes a template repository for GitHub Classroom: everything a student needs (book,
//!   exercises, test support, tools), no solutions, and a workflow that grades each push and reports points.
//!
//! Both leave out the solutions and anything built. The classroom template is checked by `verify`, which
//! proves, with no solutions present, that every starter compiles and fails its graded tests.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::manifest::Manifest;
use crate::zip;

#[derive(clap::Subcommand)]
pub enum Target {
    /// A Gradescope autograder zip.
    Gradescope {
        #[arg(long, default_value = "gradescope-autograder.zip")]
        out: PathBuf,
    },
    /// A GitHub Classroom template repository, as a folder.
    Classroom {
        #[arg(long, default_value = "classroom-template")]
        out: PathBuf,
    },
}

/// Top-level entries of the kit that a student or a grader needs. Everything else stays home.
const SHIPPED: &[&str] = &[
    "README.md",
    "Cargo.toml",
    "Cargo.lock",
    "course.toml",
    "rustfmt.toml",
    "package.json",
    "package-lock.json",
    ".cargo",
    ".gitignore",
    "book",
    "exercises",
    "support",
    "xtask",
];

/// Folders never shipped, wherever they are: build output, installed packages, and tests that need solutions.
const NEVER: &[&str] = &["target", "node_modules", "build", "interop"];

pub fn run(kit: &Path, target: &Target) -> Result<ExitCode> {
    let manifest = Manifest::load(kit)?;
    match target {
        Target::Gradescope { out } => {
            let mut entries = vec![
                text_entry("setup.sh", GRADESCOPE_SETUP, 0o755),
                text_entry("run_autograder", GRADESCOPE_RUN, 0o755),
            ];
            for (relative, data) in kit_files(kit)? {
                entries.push(zip::Entry { name: format!("source/{relative}"), data, mode: 0o644 });
            }
            let mut file = std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
            zip::write(&mut file, &entries)?;
            println!(
                "wrote {} ({} files): upload it as the autograder of a Gradescope programming assignment \
                 (\"{}\", {} points)",
                out.display(),
                entries.len(),
                manifest.title,
                manifest.chapters.iter().map(|chapter| chapter.points()).sum::<u32>()
            );
        }
        Target::Classroom { out } => {
            if out.exists() {
                bail!("{} exists already: choose another --out, or remove it first", out.display());
            }
            for (relative, data) in kit_files(kit)? {
                write_file(&out.join(&relative), &data)?;
            }
            write_file(&out.join(".github/workflows/classroom.yml"), CLASSROOM_WORKFLOW.as_bytes())?;
            println!(
                "wrote the template repository to {}: push it to GitHub, mark it as a template, and use it for a \
                 GitHub Classroom assignment. Check it first with: cargo xtask --root {} verify",
                out.display(),
                out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn text_entry(name: &str, text: &str, mode: u32) -> zip::Entry {
    zip::Entry { name: name.to_owned(), data: text.as_bytes().to_vec(), mode }
}

/// Every shipped file of the kit, as (path relative to the kit with forward slashes, contents), sorted; the
/// workspace manifest is the template's, without the solutions.
fn kit_files(kit: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for top in SHIPPED {
        collect(kit, &kit.join(top), &mut files)?;
    }
    for (relative, data) in &mut files {
        if relative == "Cargo.toml" {
            *data = template_manifest(kit)?.into_bytes();
        }
        if relative == "README.md" {
            *data = template_readme(kit, &String::from_utf8_lossy(data))?.into_bytes();
        }
        if relative == "course.toml" {
            *data = without_mistakes(&String::from_utf8_lossy(data))?.into_bytes();
        }
    }
    files.sort();
    Ok(files)
}

fn collect(kit: &Path, path: &Path, files: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    let Ok(metadata) = std::fs::symlink_metadata(path) else { return Ok(()) };
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    if metadata.is_dir() {
        if NEVER.contains(&name.as_str()) {
            return Ok(());
        }
        for entry in std::fs::read_dir(path)? {
            collect(kit, &entry?.path(), files)?;
        }
    } else if metadata.is_file() && !name.ends_with(".snap.new") {
        let relative = path.strip_prefix(kit).unwrap_or(path).to_string_lossy().replace('\\', "/");
        files.push((relative, std::fs::read(path)?));
    }
    Ok(())
}

/// `course.toml` without its `[[chapter.mistake]]` tables (and the comments just above them): each quotes
/// a line of a solution, which is not for students' eyes, and only the kit's own tests use them. The rest is
/// kept as written, comments and all; the result is checked to say exactly what the original says but those.
fn without_mistakes(manifest: &str) -> Result<String> {
    // A table's header alone on its line, `[[chapter]]` or `[x.y]`: where a mistake's table ends.
    let is_header = |line: &str| {
        let name = line.trim_end().trim_start_matches('[').trim_end_matches(']');
        line.starts_with('[')
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    let mut kept: Vec<&str> = Vec::new();
    let mut in_mistake = false;
    for line in manifest.lines() {
        if line.trim_end() == "[[chapter.mistake]]" {
            while kept.last().is_some_and(|previous| previous.starts_with('#')) {
                kept.pop();
            }
            in_mistake = true;
        } else if is_header(line) {
            in_mistake = false;
        }
        if !in_mistake {
            kept.push(line);
        }
    }
    let stripped = format!("{}\n", kept.join("\n"));
    let mut expected: toml::Table = toml::from_str(manifest).context("course.toml is not valid")?;
    for chapter in expected.get_mut("chapter").and_then(toml::Value::as_array_mut).into_iter().flatten() {
        if let Some(chapter) = chapter.as_table_mut() {
            chapter.remove("mistake");
        }
    }
    let actual: toml::Table = toml::from_str(&stripped).context("course.toml without its mistakes is not valid")?;
    if actual != expected {
        bail!(
            "course.toml without its mistakes says something else than course.toml; check its [[chapter.mistake]] tables"
        );
    }
    Ok(stripped)
}

/// The kit's workspace manifest without the solutions and the tests that need them.
fn template_manifest(kit: &Path) -> Result<String> {
    let text = std::fs::read_to_string(kit.join("Cargo.toml")).context("cannot read the kit's Cargo.toml")?;
    let mut table: toml::Table = toml::from_str(&text)?;
    if let Some(workspace) = table.get_mut("workspace").and_then(|value| value.as_table_mut()) {
        for key in ["members", "default-members"] {
            if let Some(list) = workspace.get_mut(key).and_then(|value| value.as_array_mut()) {
                // Only what is shipped: no solutions, nor the benchmark (which runs them).
                list.retain(|member| {
                    member.as_str().is_some_and(|member| {
                        let top = member.split('/').next().unwrap_or(member);
                        !member.starts_with("solutions") && SHIPPED.contains(&top)
                    })
                });
            }
        }
        workspace.insert("exclude".into(), toml::Value::Array(vec!["support/interop".into()]));
    }
    Ok(format!(
        "# The class template of the kit: the exercises, their tests and the tools, without the solutions.\n{}",
        toml::to_string(&table)?
    ))
}

/// The README of a class's copy: the student's, not the maintainer's. What this is, the two commands, the
/// loop, the chapters (the kit README's own table), and what some tests need; no solutions, no grading, no
/// tools for whoever maintains the kit.
fn template_readme(kit: &Path, kit_readme: &str) -> Result<String> {
    let manifest = Manifest::load(kit)?;
    let table: Vec<&str> = kit_readme
        .lines()
        .skip_while(|line| !line.starts_with("| chapter |"))
        .take_while(|line| line.starts_with('|'))
        .collect();
    let first = manifest.chapters.first().map(|chapter| chapter.exercise_package()).unwrap_or_default();
    Ok(format!(
        "# {title}\n\n\
         A workbook and test-driven exercises. Read a chapter of the book, then make the failing tests of that \
         chapter's exercise pass, one chapter after another, until you have built a chat that works in a real \
         browser, loses nothing when connections drop, and runs on several servers.\n\n\
         ## Set up\n\n\
         You need Rust 1.94 or newer (<https://rustup.rs>) and, on Linux, OpenSSL's headers \
         (`apt-get install libssl-dev pkg-config`). From this folder:\n\n\
         ```sh\n\
         cargo xtask book           # the book, at http://127.0.0.1:3300/ (the first run installs its tool)\n\
         cargo test -p {first}   # chapter 1's tests: they fail until you do the work\n\
         ```\n\n\
         The first build compiles the dependencies once, for every chapter (a few minutes); after that an \
         edit-and-test round takes seconds, offline.\n\n\
         ## How you work\n\n\
         Each chapter has a page in the book and a crate in `exercises/NN-slug/`. Fill in its `todo!()`s \
         under `src/` until `cargo test -p exNN-slug` is green. Every failing test says what it expected \
         and which section of the book explains it; `cargo xtask hint N` gives a hint for chapter N, \
         `cargo xtask hint N 2` a more specific one. Edit only `src/`: your work is graded with pristine \
         copies of the tests, and each push is graded by the class's workflow.\n\n\
         ```sh\n\
         cargo xtask progress     # every chapter: passing tests and points, and what to do next\n\
         cargo xtask watch 1      # chapter 1's tests again on every save; Enter shows the next hint\n\
         cargo xtask reset 1      # chapter 1's src/ back to its starter (it asks first, and keeps a copy)\n\
         cargo run -p kit-wire -- spy --to 3000 --port 4000   # every request, frame and packet, decoded\n\
         cargo run -p kit-wire -- talk --socket-io http://127.0.0.1:3000   # a terminal Socket.IO client\n\
         ```\n\n\
         The book always quotes the starters as shipped, whatever you have written since. A failing test \
         prints its message without a backtrace; `KIT_BACKTRACE=1` shows one.\n\n\
         {table}\n\n\
         ## Programs some chapters need\n\n\
         - From chapter 4 on, the chat page loads the official Socket.IO client from the npm package \
         `socket.io-client`: run `npm ci` once in this folder (it needs node and npm) to see the page work in \
         your browser. The graded tests do not need it.\n\
         - Chapters 11 and 12 start a private `redis-server` for some of their tests \
         (`apt-get install redis-server`). Without it, those tests say so by name and are skipped.\n",
        title = manifest.title,
        table = table.join("\n"),
    ))
}

fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, data).with_context(|| format!("cannot write {}", path.display()))
}

/// Gradescope runs this once, when the autograder is built.
const GRADESCOPE_SETUP: &str = r#"#!/usr/bin/env bash
# Gradescope autograder setup: install Rust, the C libraries the kit links against, the grader's sandbox
# (bubblewrap) and the programs some tests use; then compile everything once, so that grading a submission
# compiles only the student's code.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends build-essential pkg-config libssl-dev curl ca-certificates iproute2 \
    bubblewrap nodejs npm
curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
source "$HOME/.cargo/env"
cd /autograder/source
npm ci --no-audit --no-fund
cargo build --workspace --tests
# Grading the untouched starters builds the kit's test binaries and the grader's own copy of the
# dependencies, which every submission then reuses.
cargo xtask grade . --single --out /tmp/warm-up > /dev/null
"#;

/// Gradescope runs this for every submission.
const GRADESCOPE_RUN: &str = r#"#!/usr/bin/env bash
# Grades /autograder/submission with the kit's own grader and writes Gradescope's results.json.
set -euo pipefail
source "$HOME/.cargo/env"
root="${AUTOGRADER_ROOT:-/autograder}"
mkdir -p "$root/results"
cd "$root/source"
cargo xtask grade "$root/submission" --single --gradescope-results "$root/results/results.json"
"#;

/// GitHub Classroom: grade every push with the kit's grader and report the points.
const CLASSROOM_WORKFLOW: &str = r#"# Grades each push with the kit's grader (`cargo xtask grade`) and reports the points to GitHub Classroom.
# Students can change files in their own repository, this one included: the points shown here are feedback.
# The grade of record comes from the instructor's own `cargo xtask grade` on the collected repositories,
# which always uses the kit's pristine tests.
name: Autograding Tests
on:
  - push
  - repository_dispatch
  - workflow_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    name: Autograding Tests
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - name: Check out the code
        uses: actions/checkout@v4
      - name: Grade with the kit's grader
        id: kit
        run: |
          cargo xtask grade . --single --out grades --github-classroom grades/github-classroom.json
          echo "result=$(base64 -w0 grades/github-classroom.json)" >> "$GITHUB_OUTPUT"
      - name: Report the points
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          KIT_RESULTS: "${{ steps.kit.outputs.result }}"
        with:
          runners: kit
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_manifest_has_no_mistakes_and_keeps_the_rest() {
        let manifest = "[[chapter]]\nnumber = 1\n\n[[chapter.test]]\nname = \"a\"\n\n# About the mistakes.\n\
                        [[chapter.mistake]]\nwhat = \"x\"\nreplace = \"\"\"\nsolution line\n[not a header\n\"\"\"\n\n\
                        [[chapter]]\nnumber = 2\n";
        let stripped = without_mistakes(manifest).expect("strips");
        assert!(!stripped.contains("mistake") && !stripped.contains("solution line"), "{stripped}");
        assert!(stripped.contains("name = \"a\"") && stripped.contains("number = 2"), "{stripped}");
    }

    #[test]
    fn the_kits_own_manifest_loses_its_mistakes_and_nothing_else() {
        let kit = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the kit");
        let manifest = std::fs::read_to_string(kit.join("course.toml")).expect("course.toml");
        let stripped = without_mistakes(&manifest).expect("strips");
        assert!(manifest.contains("[[chapter.mistake]]") && !stripped.contains("[[chapter.mistake]]"));
    }
}
