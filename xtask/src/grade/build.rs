//! Compiling for grading: the kit's own test binaries once per class, and each submission's programs.
//!
//! The graded tests are black-box (invariant 8): they run the student's program and never link it. So the
//! test binaries are the same for every submission, and are built once, from the kit's pristine tests, in
//! the kit's own target directory (nothing a student wrote goes into them). Each submission then builds only
//! its programs, `cargo build --bins`, in a scratch workspace of its own, inside the sandbox, into a target
//! directory that only the grader uses: it never holds the kit's solutions, nor, once a submission's
//! programs have been moved out, anything of another student's.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::integrity::FileFingerprint;
use super::sandbox::{Protections, View};
use super::submission::{self, Overlay, Purpose};
use crate::cargo;
use crate::manifest::{Chapter, Manifest};

/// What every build of a class shares.
pub struct Settings {
    /// Held for as long as this grading run lasts: see [`lock_target_dir`].
    _target_lock: std::fs::File,
    kit: PathBuf,
    manifest: Manifest,
    work: PathBuf,
    /// The grader's own target directory, `target/grader`: dependencies compile there once per machine.
    target_dir: PathBuf,
    workspace_manifest: String,
    /// The kit's own crates the programs use (the runner, the store): the build's sandbox may read them.
    kit_crates: Vec<PathBuf>,
    limit: Duration,
    protections: Protections,
    /// The kit's test binary of each chapter, by chapter number, copied where no sandboxed student code can
    /// reach, with its fingerprint (checked before every test when there is no sandbox).
    tests: HashMap<u32, (PathBuf, FileFingerprint)>,
}

/// One compiled submission.
pub struct Built {
    pub scratch: PathBuf,
    pub overlays: Vec<Overlay>,
    /// The folder holding the submission's programs, under their cargo names (`ex05-events`).
    pub programs: PathBuf,
    /// Each exercise's programs (chapter 10 has two), by the exercise's `Cargo.toml` path.
    built: HashMap<PathBuf, Vec<PathBuf>>,
    errors: HashMap<PathBuf, Vec<String>>,
    timed_out: bool,
}

/// Waits until no other grading run uses `target_dir`, and keeps it to this one. Each submission's programs
/// are moved out of the shared target directory, and every exercise's artifacts scrubbed, as soon as they are
/// built: two runs at once (an instructor's two terminals, or two tests) would take each other's programs.
fn lock_target_dir(target_dir: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(target_dir)?;
    let path = target_dir.join(".grading.lock");
    let file = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    if file.try_lock().is_err() {
        eprintln!("waiting for another grading run to finish (it uses {} too)...", target_dir.display());
        file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
    }
    Ok(file)
}

impl Settings {
    pub fn new(
        kit: &Path,
        manifest: &Manifest,
        work: &Path,
        limit: Duration,
        protections: &Protections,
    ) -> Result<Settings> {
        let kit_target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| kit.join("target"));
        let workspace = submission::workspace(kit, &manifest.chapters, Purpose::Programs)?;
        let target_dir = kit_target.join("grader");
        let target_lock = lock_target_dir(&target_dir)?;
        let tests = build_kit_tests(kit, manifest, &work.join("tests"))?;
        let programs: Vec<String> = manifest.chapters.iter().map(Chapter::exercise_package).collect();
        // Only time is at stake: without the copy, the first submission's build compiles the dependencies.
        if let Err(error) = super::seed::dependencies(kit, &kit_target, &target_dir, &programs) {
            eprintln!("note: the grader compiles the dependencies itself ({error:#})");
        }
        let settings = Settings {
            _target_lock: target_lock,
            kit: kit.to_path_buf(),
            manifest: manifest.clone(),
            work: work.to_path_buf(),
            target_dir,
            workspace_manifest: workspace.manifest,
            kit_crates: workspace.kit_crates,
            limit,
            protections: protections.clone(),
            tests,
        };
        Ok(settings)
    }

    /// The kit's test binary for `chapter`, and its fingerprint.
    pub fn test_binary(&self, chapter: &Chapter) -> Option<(&Path, &FileFingerprint)> {
        self.tests.get(&chapter.number).map(|(path, fingerprint)| (path.as_path(), fingerprint))
    }

    /// Prepares the scratch workspace for one submission and compiles its programs, carrying on past
    /// exercises that fail.
    pub fn build(&self, student: &str, root: &Path) -> Result<Built> {
        let scratch = self.work.join("students").join(super::file_name(student));
        let overlays = submission::prepare(&self.kit, &self.manifest, root, &scratch, Purpose::Programs)?;
        std::fs::write(scratch.join("Cargo.toml"), &self.workspace_manifest)?;
        std::fs::copy(self.kit.join("Cargo.lock"), scratch.join("Cargo.lock")).context("the kit has no Cargo.lock")?;

        let cargo_args: Vec<OsString> =
            ["build", "--bins", "--keep-going", "--offline", "--message-format=json"].map(OsString::from).to_vec();
        let env = [("CARGO_TARGET_DIR", self.target_dir.as_os_str().to_owned()), ("CARGO_INCREMENTAL", "0".into())];
        let mut command = if self.protections.sandboxed() {
            let toolchain = Toolchain::find();
            let mut readable = toolchain.folders.clone();
            // The kit's crates the programs use (the runner, the store), and the workspace manifest they inherit
            // their settings from; nothing else of the kit.
            readable.extend(self.kit_crates.iter().cloned());
            readable.push(self.kit.join("Cargo.toml"));
            let mut view = View {
                readable,
                writable: vec![scratch.clone(), self.target_dir.clone()],
                share_network: false,
                env: toolchain.env.clone(),
                working_dir: Some(scratch.clone()),
            };
            view.env.extend(env.iter().map(|(name, value)| ((*name).to_owned(), value.clone())));
            view.command(&toolchain.cargo, &cargo_args)
        } else {
            let mut command = Command::new(cargo::cargo());
            command.args(&cargo_args).current_dir(&scratch).envs(env);
            command
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // The compiler's messages come as JSON on stdout; cargo's own progress is not for the report.
            .stderr(Stdio::null())
            .spawn()
            .context("could not run cargo")?;
        let stdout = cargo::read_in_background(child.stdout.take());
        let (_, timed_out) = cargo::wait_at_most(&mut child, self.limit)?;
        let messages = cargo::join_reader(stdout);
        let (built, errors) = read_programs(&messages);

        // The programs leave the shared target directory at once: the next submission builds there, and must
        // find nothing of this one's.
        let programs = scratch.join(".grader-bin");
        std::fs::create_dir_all(&programs)?;
        let mut moved: HashMap<PathBuf, Vec<PathBuf>> = HashMap::new();
        for (manifest, executables) in built {
            for executable in executables {
                let Some(name) = executable.file_name() else { continue };
                let destination = programs.join(name);
                if std::fs::rename(&executable, &destination).is_err() {
                    std::fs::copy(&executable, &destination)?;
                }
                moved.entry(manifest.clone()).or_default().push(destination);
            }
        }
        self.scrub_exercise_artifacts();
        Ok(Built { scratch, overlays, programs, built: moved, errors, timed_out })
    }

    /// Removes every exercise's compiled program and its bookkeeping from the grader's target directory, so
    /// that nothing a submission compiled can be read by the next one's build (`include_bytes!` takes any
    /// path it can see). The dependencies stay: they are the same for everyone.
    fn scrub_exercise_artifacts(&self) {
        let debug = self.target_dir.join("debug");
        for chapter in &self.manifest.chapters {
            // Every program of the exercise is called after it (`ex10-client-delivery`, `ex10-client`): all
            // that starts with `ex10-` or `ex10_`. In `debug/` the programs and their `.d`; in `deps/` the
            // compiled crates; in `.fingerprint/` what tells cargo they are up to date.
            let package = chapter.exercise_package();
            let number = package.split('-').next().unwrap_or(&package).to_owned();
            let ours = |name: &str| name.starts_with(&format!("{number}-")) || name.starts_with(&format!("{number}_"));
            for folder in [debug.clone(), debug.join("deps"), debug.join(".fingerprint")] {
                remove_entries(&folder, ours);
            }
        }
    }
}

/// Removes the files and folders in `folder` whose names `doomed` picks.
fn remove_entries(folder: &Path, doomed: impl Fn(&str) -> bool) {
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        if doomed(&entry.file_name().to_string_lossy()) {
            let path = entry.path();
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        }
    }
}

impl Built {
    /// The chapter's programs, if its exercise compiled: all of them, without an error.
    pub fn programs(&self, chapter: &Chapter) -> Option<&[PathBuf]> {
        let manifest = cargo::canonical(&self.scratch.join(&chapter.exercise).join("Cargo.toml"));
        if self.errors.get(&manifest).is_some_and(|errors| !errors.is_empty()) {
            return None;
        }
        self.built.get(&manifest).map(Vec::as_slice)
    }

    /// Why the chapter's exercise did not compile, in the compiler's words, paths relative to the submission.
    pub fn compiler_output(&self, chapter: &Chapter) -> String {
        if self.timed_out {
            return "compiling the submission took longer than the grader allows".into();
        }
        let manifest = cargo::canonical(&self.scratch.join(&chapter.exercise).join("Cargo.toml"));
        let errors =
            self.errors.get(&manifest).map(|errors| errors.join("\n")).unwrap_or_else(|| {
                "the compiler stopped before this exercise (see the other exercises' errors)".into()
            });
        super::run::tidy(&errors, &self.scratch)
    }
}

/// Builds the graded test binaries of every exercise in the kit itself, and copies each into `into`.
fn build_kit_tests(kit: &Path, manifest: &Manifest, into: &Path) -> Result<HashMap<u32, (PathBuf, FileFingerprint)>> {
    let packages: Vec<String> = manifest.chapters.iter().map(Chapter::exercise_package).collect();
    let build = cargo::build_tests(kit, cargo::Packages::Named(&packages))?;
    std::fs::create_dir_all(into)?;
    let mut tests = HashMap::new();
    for chapter in &manifest.chapters {
        let manifest_path = cargo::canonical(&kit.join(&chapter.exercise).join("Cargo.toml"));
        let Some(binary) = build.binaries.get(&manifest_path) else {
            let errors = build.errors.get(&manifest_path).map(|errors| errors.join("\n")).unwrap_or_default();
            bail!("the kit's own tests of chapter {} do not build; fix the kit first:\n{errors}", chapter.number);
        };
        let copy = into.join(format!("chapter-{:02}", chapter.number));
        std::fs::copy(binary, &copy).with_context(|| format!("cannot copy {}", binary.display()))?;
        let fingerprint = FileFingerprint::of(&copy);
        tests.insert(chapter.number, (copy, fingerprint));
    }
    Ok(tests)
}

/// The programs cargo built (by package manifest) and the compiler's errors (by package manifest).
fn read_programs(stdout: &str) -> (HashMap<PathBuf, Vec<PathBuf>>, HashMap<PathBuf, Vec<String>>) {
    #[derive(Deserialize)]
    struct Message {
        reason: String,
        #[serde(default)]
        manifest_path: PathBuf,
        target: Option<Target>,
        executable: Option<PathBuf>,
    }
    #[derive(Deserialize)]
    struct Target {
        kind: Vec<String>,
    }
    let mut programs: HashMap<PathBuf, Vec<PathBuf>> = HashMap::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<Message>(line) else { continue };
        let is_bin = message.target.as_ref().is_some_and(|target| target.kind.iter().any(|kind| kind == "bin"));
        if message.reason == "compiler-artifact"
            && is_bin
            && let Some(executable) = message.executable
        {
            programs.entry(cargo::canonical(&message.manifest_path)).or_default().push(executable);
        }
    }
    (programs, cargo::read_build_messages(stdout).errors)
}

/// Where the Rust toolchain is, so that a sandboxed build can see it (and nothing else of the home folder).
struct Toolchain {
    cargo: PathBuf,
    folders: Vec<PathBuf>,
    env: Vec<(String, OsString)>,
}

impl Toolchain {
    fn find() -> Toolchain {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
        let cargo_home = std::env::var_os("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|| home.join(".cargo"));
        let rustup_home = std::env::var_os("RUSTUP_HOME").map(PathBuf::from).unwrap_or_else(|| home.join(".rustup"));
        // The cargo running us (`cargo xtask` sets CARGO to the real binary, not rustup's proxy), and the rustc
        // beside it: the build uses exactly the toolchain the kit uses, whatever rustup's default is.
        let cargo = cargo::find_program(&cargo::cargo()).unwrap_or_else(cargo::cargo);
        let cargo = cargo.canonicalize().unwrap_or(cargo);
        let mut env = vec![
            ("CARGO_HOME".to_owned(), cargo_home.clone().into_os_string()),
            ("RUSTUP_HOME".to_owned(), rustup_home.clone().into_os_string()),
        ];
        let rustc = cargo.with_file_name("rustc");
        if rustc.is_file() {
            env.push(("RUSTC".to_owned(), rustc.into_os_string()));
        }
        let mut folders = vec![cargo_home, rustup_home];
        if let Some(toolchain) = cargo.parent().and_then(Path::parent) {
            folders.push(toolchain.to_path_buf());
        }
        folders.retain(|folder| folder.exists() && !folder.starts_with("/usr"));
        folders.dedup();
        Toolchain { cargo, folders, env }
    }
}
