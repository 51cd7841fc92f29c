//! Compiling one submission: its scratch workspace, one `cargo build --tests` for all its exercises.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use super::submission::{self, Overlay};
use crate::cargo;
use crate::manifest::{Chapter, Manifest};

/// What every build of a class shares.
pub struct Settings {
    kit: PathBuf,
    manifest: Manifest,
    work: PathBuf,
    /// Two target directories, used in turn: see [`Settings::build`].
    target_dirs: [PathBuf; 2],
    workspace_manifest: String,
    limit: Duration,
}

/// One compiled submission.
pub struct Built {
    pub scratch: PathBuf,
    pub overlays: Vec<Overlay>,
    build: cargo::Build,
    timed_out: bool,
}

impl Settings {
    pub fn new(kit: &Path, manifest: &Manifest, work: &Path, limit: Duration) -> Result<Settings> {
        // The kit's own target directory: the dependencies a class needs are the ones the kit has compiled. The
        // second one, inside it, compiles them once per machine, the first time a class is graded.
        let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| kit.join("target"));
        let second = target_dir.join("grader");
        Ok(Settings {
            kit: kit.to_path_buf(),
            manifest: manifest.clone(),
            work: work.to_path_buf(),
            target_dirs: [target_dir, second],
            workspace_manifest: submission::workspace_manifest(kit, &manifest.chapters)?,
            limit,
        })
    }

    /// Prepares the scratch workspace for one submission and compiles it, carrying on past exercises that fail.
    ///
    /// `turn` picks the target directory. While one submission's tests run, the next one builds, and it must
    /// not build into the same directory: every submission's programs land at the same paths there (cargo
    /// names them by the package's place in its workspace), and a test that runs the exercise's own binary
    /// (chapter 7's) finds it by that path. So consecutive submissions build into different directories.
    pub fn build(&self, student: &str, root: &Path, turn: usize) -> Result<Built> {
        let scratch = self.work.join(super::file_name(student));
        let overlays = submission::prepare(&self.kit, &self.manifest, root, &scratch)?;
        std::fs::write(scratch.join("Cargo.toml"), &self.workspace_manifest)?;
        std::fs::copy(self.kit.join("Cargo.lock"), scratch.join("Cargo.lock")).context("the kit has no Cargo.lock")?;
        // The kit's cargo settings (insta's workspace root, among others), if it has any.
        let config = self.kit.join(".cargo/config.toml");
        if config.is_file() {
            std::fs::create_dir_all(scratch.join(".cargo"))?;
            std::fs::copy(config, scratch.join(".cargo/config.toml"))?;
        }

        let mut child = Command::new(cargo::cargo())
            .args(["build", "--tests", "--keep-going", "--offline", "--message-format=json"])
            .current_dir(&scratch)
            .env("CARGO_TARGET_DIR", &self.target_dirs[turn % 2])
            // One-off builds gain nothing from incremental caches, which would only fill the disk.
            .env("CARGO_INCREMENTAL", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("could not run cargo")?;
        let stdout = cargo::read_in_background(child.stdout.take());
        let (_, timed_out) = cargo::wait_at_most(&mut child, self.limit)?;
        let mut build = cargo::read_build_messages(&cargo::join_reader(stdout));
        // Test binaries are large and each is run once: keep them with the submission, which is deleted after
        // grading, rather than in the target directory.
        let binaries = scratch.join(".grader-bin");
        std::fs::create_dir_all(&binaries)?;
        for (index, binary) in build.binaries.values_mut().enumerate() {
            let moved = binaries.join(format!("tests-{index}"));
            if std::fs::rename(&*binary, &moved).is_err() {
                std::fs::copy(&*binary, &moved)?;
                let _ = std::fs::remove_file(&*binary);
            }
            *binary = moved;
        }
        Ok(Built { scratch, overlays, build, timed_out })
    }
}

impl Built {
    /// The chapter's test executable, if its exercise compiled.
    pub fn binary(&self, chapter: &Chapter) -> Option<PathBuf> {
        let manifest = cargo::canonical(&self.scratch.join(&chapter.exercise).join("Cargo.toml"));
        self.build.binaries.get(&manifest).cloned()
    }

    /// Why the chapter's exercise did not compile, in the compiler's words, paths relative to the submission.
    pub fn compiler_output(&self, chapter: &Chapter) -> String {
        if self.timed_out {
            return "compiling the submission took longer than the grader allows".into();
        }
        let manifest = cargo::canonical(&self.scratch.join(&chapter.exercise).join("Cargo.toml"));
        let errors =
            self.build.errors.get(&manifest).map(|errors| errors.join("\n")).unwrap_or_else(|| {
                "the compiler stopped before this exercise (see the other exercises' errors)".into()
            });
        super::run::tidy(&errors, &self.scratch)
    }
}
