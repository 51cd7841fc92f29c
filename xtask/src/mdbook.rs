//! The pinned mdBook: found, or installed into the kit's own `.tools/` folder, then used to build or serve.
//!
//! The book must build the same everywhere, so the kit pins one mdBook version. A fresh machine needs nothing
//! but the Rust toolchain: the first `cargo xtask book` (or `check`) compiles that version from crates.io into
//! `.tools/bin/`, which later runs reuse. An `mdbook` already on `PATH` is used only if it is that version.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The mdBook version the book is written for.
pub const VERSION: &str = "0.5.4";

/// The kit-local folder where tools are installed, relative to the kit's root (ignored by git).
pub const TOOLS_DIR: &str = ".tools";

/// The pinned `mdbook` executable, installing it first if no copy of the right version is found.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    if let Some(found) = find(root) {
        return Ok(found);
    }
    let tools = root.join(TOOLS_DIR);
    eprintln!(
        "installing mdbook {VERSION} into {} (first time only; it compiles for a few minutes)...",
        tools.display()
    );
    let status = Command::new(crate::cargo::cargo())
        .args(["install", "mdbook", "--locked", "--version", &format!("={VERSION}"), "--root"])
        .arg(&tools)
        // Cargo prints its own progress line as it compiles.
        .status()
        .context("could not run `cargo install`")?;
    if !status.success() {
        bail!(
            "installing mdbook {VERSION} failed (see cargo's messages above); crates.io must be reachable the first time"
        );
    }
    find(root)
        .with_context(|| format!("mdbook {VERSION} was installed, but {} does not run", local_path(root).display()))
}

/// The pinned mdBook, if it is already here: in `.tools/bin`, or on `PATH` at the same version.
pub fn find(root: &Path) -> Option<PathBuf> {
    [local_path(root), PathBuf::from("mdbook")]
        .into_iter()
        .find(|candidate| version_of(candidate).as_deref() == Some(VERSION))
}

fn local_path(root: &Path) -> PathBuf {
    root.join(TOOLS_DIR).join("bin").join(if cfg!(windows) { "mdbook.exe" } else { "mdbook" })
}

/// `mdbook --version` prints `mdbook v0.5.4`.
fn version_of(program: &Path) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().trim_start_matches("mdbook").trim().trim_start_matches('v').to_owned())
}

/// Builds the book in `book_dir` into `destination`. On failure, the error carries mdBook's own messages.
pub fn build(mdbook: &Path, book_dir: &Path, destination: &Path) -> Result<()> {
    let output = Command::new(mdbook)
        .arg("build")
        .arg(book_dir)
        .arg("--dest-dir")
        .arg(destination)
        .output()
        .context("could not run mdbook")?;
    if output.status.success() { Ok(()) } else { bail!("{}", String::from_utf8_lossy(&output.stderr).trim()) }
}
