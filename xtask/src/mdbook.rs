//! The pinned mdBook: found, or installed into the kit's own `.tools/` folder, then used to build the book.
//!
//! The book must build the same everywhere, so the kit pins one mdBook version. A fresh machine needs nothing
//! but the Rust toolchain: the first `cargo xtask book` (or `check`) compiles that version from crates.io into
//! `.tools/bin/`, which later runs reuse. An `mdbook` already on `PATH` is used only if it is that version.
//! It is compiled with its search and nothing else: the kit serves the book itself (see `serve.rs`), so
//! mdBook's own web server and file watcher would be compile time for nothing.

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
    println!(
        "== installing the book's tool, mdBook {VERSION}, into {TOOLS_DIR}/ (first time only: it compiles for \
         about a minute on two cores; nothing needs doing afterwards)"
    );
    let status = install_command(root, false).status().context("could not run `cargo install`")?;
    installed(root, status, "see cargo's messages above")
}

/// Like [`ensure`], on a thread of its own and at the lowest priority, its messages kept in a log: for the
/// self-check, whose own compiling comes first and which needs the book only at its end. `None` when the
/// tool is here already.
pub fn ensure_in_background(root: &Path) -> Option<std::thread::JoinHandle<Result<PathBuf>>> {
    if find(root).is_some() {
        return None;
    }
    let root = root.to_path_buf();
    Some(std::thread::spawn(move || {
        let log_path = root.join(TOOLS_DIR).join("install.log");
        std::fs::create_dir_all(root.join(TOOLS_DIR))?;
        let log = std::fs::File::create(&log_path).context("cannot write the install log")?;
        let status = install_command(&root, true)
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .context("could not run `cargo install`")?;
        installed(&root, status, &format!("its messages are in {}", log_path.display()))
    }))
}

/// `cargo install` of the pinned mdBook; `at_low_priority`, under `nice`, so that the self-check's own build
/// has the processor first (without `nice`, the two just share it).
fn install_command(root: &Path, at_low_priority: bool) -> Command {
    let tools = root.join(TOOLS_DIR);
    let mut command = match crate::cargo::find_program(Path::new("nice")).filter(|_| at_low_priority) {
        Some(nice) => {
            let mut command = Command::new(nice);
            command.arg("-n19").arg(crate::cargo::cargo());
            command
        }
        None => Command::new(crate::cargo::cargo()),
    };
    command
        .args(["install", "mdbook", "--locked", "--version", &format!("={VERSION}")])
        .args(["--no-default-features", "--features", "search", "--root"])
        .arg(&tools)
        // With the install folder on its PATH, cargo has no reason to print its "be sure to add it to your
        // PATH" warning, which reads like an instruction: the kit finds the tool there by itself.
        .env("PATH", with_on_path(&tools.join("bin")))
        // Optimised a little rather than fully: measured on two cores, 70 s to compile instead of 84, and the
        // book still builds in well under a second (without optimisation: 45 s, but 4 s per build).
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1");
    command
}

fn installed(root: &Path, status: std::process::ExitStatus, messages: &str) -> Result<PathBuf> {
    if !status.success() {
        bail!("installing mdbook {VERSION} failed ({messages}); crates.io must be reachable the first time");
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

/// `folder` first, then the rest of `PATH`.
fn with_on_path(folder: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let folders = std::iter::once(folder.to_path_buf()).chain(std::env::split_paths(&rest));
    std::env::join_paths(folders).unwrap_or(rest)
}

/// Builds the book in `book_dir` into `destination`. On failure, the error carries mdBook's own messages.
///
/// `book.toml` runs the kit's preprocessor through `cargo run`, which works for anyone who builds the book
/// with a plain `mdbook build`; from here the preprocessor is this very program, already built, so mdBook is
/// told to call it directly (an environment variable overrides that key of `book.toml`).
pub fn build(mdbook: &Path, book_dir: &Path, destination: &Path) -> Result<()> {
    let this_program = std::env::current_exe().context("cannot find the running xtask program")?;
    let output = Command::new(mdbook)
        .arg("build")
        .arg(book_dir)
        .arg("--dest-dir")
        .arg(destination)
        .env(
            "MDBOOK_PREPROCESSOR__SEQUENCE_DIAGRAMS__COMMAND",
            format!("{} mdbook-preprocessor", shell_quoted(&this_program)),
        )
        .output()
        .context("could not run mdbook")?;
    if output.status.success() { Ok(()) } else { bail!("{}", String::from_utf8_lossy(&output.stderr).trim()) }
}

/// A path as one word of a POSIX shell command line, which is how mdBook splits a preprocessor's command.
fn shell_quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_with_spaces_and_quotes_stays_one_word() {
        assert_eq!(shell_quoted(Path::new("/a b/x")), "'/a b/x'");
        assert_eq!(shell_quoted(Path::new("/it's")), r"'/it'\''s'");
    }
}
