//! Finding submissions, and preparing each one for grading in a scratch workspace.
//!
//! The scratch workspace is the kit's pristine exercises (their `Cargo.toml`, pages, given files) with only the
//! student's `src/` folders laid over them. Whatever else the student changed is listed, never used: a
//! student cannot edit a test, a manifest or a dependency into passing. It builds the programs alone: the
//! tests are the kit's own binaries (see `build`), so the scratch copy has no tests and no test dependencies.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::manifest::{Chapter, Manifest};

/// Largest source file copied from a submission; a larger one is left out and reported.
const MAX_SOURCE_FILE_BYTES: u64 = 1024 * 1024;

/// One student's work, as handed in.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The folder's name: the student's id in every report.
    pub student: String,
    /// The folder holding `exercises/`, if there is one.
    pub root: Option<PathBuf>,
    /// Why there is no root: empty, or not a kit workspace.
    pub problem: Option<String>,
}

/// `input` is one student's workspace (it has `exercises/`), or a folder holding one folder per student.
pub fn discover(input: &Path) -> Result<Vec<Submission>> {
    let metadata =
        fs::metadata(input).with_context(|| format!("cannot read the submissions at {}", input.display()))?;
    if !metadata.is_dir() {
        anyhow::bail!("{} is not a folder: pass one student's workspace, or a folder of them", input.display());
    }
    if input.join("exercises").is_dir() {
        return Ok(vec![examine(input)]);
    }
    let mut folders: Vec<PathBuf> = fs::read_dir(input)?
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.path())
        .filter(|path| !path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.')))
        .collect();
    folders.sort();
    Ok(folders.iter().map(|folder| examine(folder)).collect())
}

/// `input` is one submission, whatever it holds (Gradescope and GitHub Classroom hand over exactly one).
pub fn single(input: &Path) -> Result<Submission> {
    if !input.is_dir() {
        anyhow::bail!("{} is not a folder", input.display());
    }
    Ok(examine(input))
}

fn examine(folder: &Path) -> Submission {
    let student =
        folder.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_else(|| "submission".into());
    // An archive often unpacks to one folder inside the student's folder: look one level down too.
    let mut candidate = folder.to_path_buf();
    for _ in 0..2 {
        if candidate.join("exercises").is_dir() {
            return Submission { student, root: Some(candidate), problem: None };
        }
        let inner: Vec<PathBuf> = fs::read_dir(&candidate)
            .map(|entries| entries.flatten().filter(|entry| entry.path().is_dir()).map(|entry| entry.path()).collect())
            .unwrap_or_default();
        match inner.as_slice() {
            [only] => candidate = only.clone(),
            _ => break,
        }
    }
    let empty = fs::read_dir(folder).map(|mut entries| entries.next().is_none()).unwrap_or(true);
    let problem = if empty { "the submission is empty" } else { "not a kit workspace: no exercises/ folder found" };
    Submission { student, root: None, problem: Some(problem.into()) }
}

/// What the scratch copy of one exercise took from the student, and what it left out.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Overlay {
    /// False when the submission has no folder for this exercise.
    pub present: bool,
    /// Files outside `src/` that differ from the kit's (changed, added or deleted): reported, not used.
    pub changed_outside_src: Vec<String>,
    /// Files under `src/` that were not copied (links, oversized files).
    pub skipped: Vec<String>,
}

/// What a scratch workspace is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The grader's: it builds the programs, and the kit's own test binaries run against them.
    Programs,
    /// A plain `cargo test` in the copy, tests and test support included (the benchmark's naive way).
    ProgramsAndTests,
}

/// Builds the scratch workspace for `submission` at `scratch`: the kit's exercises, the student's `src/`.
pub fn prepare(
    kit: &Path,
    manifest: &Manifest,
    submission: &Path,
    scratch: &Path,
    purpose: Purpose,
) -> Result<Vec<Overlay>> {
    let _ = fs::remove_dir_all(scratch);
    fs::create_dir_all(scratch)?;
    let mut overlays = Vec::new();
    for chapter in &manifest.chapters {
        let pristine = kit.join(&chapter.exercise);
        let target = scratch.join(&chapter.exercise);
        copy_tree(&pristine, &target, &mut Vec::new())?;
        if purpose == Purpose::Programs {
            programs_only(&target)?;
        }
        let theirs = submission.join(&chapter.exercise);
        let mut overlay = Overlay { present: theirs.is_dir(), ..Overlay::default() };
        if overlay.present {
            overlay.changed_outside_src = changes_outside_src(&pristine, &theirs);
            let _ = fs::remove_dir_all(target.join("src"));
            copy_tree(&theirs.join("src"), &target.join("src"), &mut overlay.skipped)?;
        }
        overlays.push(overlay);
    }
    Ok(overlays)
}

/// Turns a copy of an exercise into its program alone: no tests, no test-only dependencies.
fn programs_only(exercise: &Path) -> Result<()> {
    let _ = fs::remove_dir_all(exercise.join("tests"));
    let manifest_path = exercise.join("Cargo.toml");
    let text =
        fs::read_to_string(&manifest_path).with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let mut table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid", manifest_path.display()))?;
    table.remove("dev-dependencies");
    table.remove("test");
    if let Some(package) = table.get_mut("package").and_then(|value| value.as_table_mut()) {
        package.insert("autotests".into(), toml::Value::Boolean(false));
    }
    fs::write(&manifest_path, toml::to_string(&table)?)?;
    Ok(())
}

/// Relative paths (from the exercise folder) of files outside `src/` that the student changed, added, or (in
/// a full copy of the exercise, one with its `Cargo.toml`) deleted. A hand-in of `src/` alone changes nothing.
fn changes_outside_src(pristine: &Path, theirs: &Path) -> Vec<String> {
    let ours = files_outside_src(pristine);
    let mine = files_outside_src(theirs);
    let full_copy = mine.contains("Cargo.toml");
    let candidates: BTreeSet<&String> = if full_copy { ours.union(&mine).collect() } else { mine.iter().collect() };
    let mut changed: Vec<String> = candidates
        .into_iter()
        .filter(|relative| fs::read(pristine.join(relative)).ok() != fs::read(theirs.join(relative)).ok())
        .cloned()
        .collect();
    changed.sort();
    changed
}

fn files_outside_src(root: &Path) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(relative) = path.strip_prefix(root) else { continue };
            let first = relative.components().next().map(|part| part.as_os_str().to_string_lossy().into_owned());
            if matches!(first.as_deref(), Some("src" | "target")) {
                continue;
            }
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(path),
                Ok(kind) if kind.is_file() => {
                    files.insert(relative.to_string_lossy().replace('\\', "/"));
                }
                _ => {}
            }
        }
    }
    files
}

/// Copies a folder, never following links and leaving out oversized files; both are listed in `skipped`.
fn copy_tree(from: &Path, to: &Path, skipped: &mut Vec<String>) -> Result<()> {
    fs::create_dir_all(to)?;
    let Ok(entries) = fs::read_dir(from) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            skipped.push(format!("{} (a link; links are not followed)", path.display()));
        } else if kind.is_dir() {
            if name != "target" {
                copy_tree(&path, &to.join(&name), skipped)?;
            }
        } else if entry.metadata().map(|meta| meta.len()).unwrap_or(0) > MAX_SOURCE_FILE_BYTES {
            skipped.push(format!("{} (larger than {} KiB)", path.display(), MAX_SOURCE_FILE_BYTES / 1024));
        } else {
            fs::copy(&path, to.join(&name))?;
        }
    }
    Ok(())
}

/// The grading workspace's `Cargo.toml`: the kit's own, with only the exercises as members, and of the kit's
/// own crates only those an exercise's program depends on (the runner, the store), taken from the kit by
/// absolute path. The test support is not among them: the programs never link it, and the build never sees it.
pub fn workspace_manifest(kit: &Path, chapters: &[Chapter], purpose: Purpose) -> Result<String> {
    Ok(workspace(kit, chapters, purpose)?.manifest)
}

/// The grading workspace: its `Cargo.toml`, and the folders of the kit's own crates it uses (which the
/// build's sandbox must let cargo read).
pub struct Workspace {
    pub manifest: String,
    pub kit_crates: Vec<PathBuf>,
}

pub fn workspace(kit: &Path, chapters: &[Chapter], purpose: Purpose) -> Result<Workspace> {
    let text = fs::read_to_string(kit.join("Cargo.toml")).context("cannot read the kit's Cargo.toml")?;
    let mut table: toml::Table = toml::from_str(&text).context("the kit's Cargo.toml is not valid")?;
    let mut used = BTreeSet::new();
    for chapter in chapters {
        let path = kit.join(&chapter.exercise).join("Cargo.toml");
        let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let exercise: toml::Table =
            toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        let kinds: &[&str] =
            if purpose == Purpose::Programs { &["dependencies"] } else { &["dependencies", "dev-dependencies"] };
        for kind in kinds {
            if let Some(dependencies) = exercise.get(*kind).and_then(|value| value.as_table()) {
                used.extend(dependencies.keys().cloned());
            }
        }
    }
    let workspace = table
        .get_mut("workspace")
        .and_then(|value| value.as_table_mut())
        .context("the kit's Cargo.toml has no [workspace]")?;
    let members: Vec<toml::Value> =
        chapters.iter().map(|chapter| toml::Value::from(chapter.exercise.to_string_lossy().into_owned())).collect();
    workspace.insert("members".into(), toml::Value::Array(members));
    workspace.remove("default-members");
    let mut kit_crates = Vec::new();
    if let Some(dependencies) = workspace.get_mut("dependencies").and_then(|value| value.as_table_mut()) {
        dependencies.retain(|name, dependency| dependency.get("path").is_none() || used.contains(name));
        for (_, dependency) in dependencies.iter_mut() {
            if let Some(path) = dependency.get("path").and_then(|path| path.as_str()).map(str::to_owned) {
                let absolute = kit.join(path);
                if let Some(dependency) = dependency.as_table_mut() {
                    dependency.insert("path".into(), toml::Value::from(absolute.to_string_lossy().into_owned()));
                }
                kit_crates.push(absolute);
            }
        }
    }
    Ok(Workspace { manifest: toml::to_string(&table)?, kit_crates })
}
