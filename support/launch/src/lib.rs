//! How a test starts the program it tests.
//!
//! A graded test never links the student's code (invariant 8 of the kit's design): it runs the exercise's own
//! binary, the one `cargo run -p exNN-...` runs, and talks to it from outside. Locally that binary is where
//! cargo built it, and cargo tells the test its path at compile time (`env!("CARGO_BIN_EXE_<name>")`).
//!
//! The grader builds a submission's binaries elsewhere, and runs the kit's own test binaries against them.
//! Two environment variables, which only the grader sets, say how:
//!
//! - [`BIN_DIR`] (`KIT_BIN_DIR`): the folder that holds the submission's binaries, under the same file names;
//! - [`SANDBOX`] (`KIT_SANDBOX`): a program that runs a command inside the grader's sandbox, called as
//!   `$KIT_SANDBOX [--writable DIR]... -- PROGRAM ARGS...`. A folder passed with `--writable` stays writable
//!   inside the sandbox (a test's database folder, say); everything else is read-only or hidden.
//!
//! This crate uses nothing but the standard library, so that every test binary (and the grader's own
//! miniature fixture kit) can afford it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder holding the binaries to test, when they are not where cargo built them.
pub const BIN_DIR: &str = "KIT_BIN_DIR";

/// The program that runs a command in the grader's sandbox.
pub const SANDBOX: &str = "KIT_SANDBOX";

/// The program under test: a binary of the exercise (or, for the reference solution, of the solution).
#[derive(Debug, Clone)]
pub struct Program {
    path: PathBuf,
}

impl Program {
    /// `built` is the path cargo gave at compile time, `env!("CARGO_BIN_EXE_<name>")`. Under the grader, the
    /// binary of the same name in `KIT_BIN_DIR` is used instead.
    pub fn new(built: &str) -> Program {
        let built = Path::new(built);
        let path = match (std::env::var_os(BIN_DIR), built.file_name()) {
            (Some(folder), Some(name)) if !folder.is_empty() => Path::new(&folder).join(name),
            _ => built.to_path_buf(),
        };
        Program { path }
    }

    /// Where the binary is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The binary's name, `ex05-events`: what the program calls itself in its usage line.
    pub fn name(&self) -> String {
        self.path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// A command that runs the program with `args`. Under the grader it runs inside the sandbox, where only
    /// the folders in `writable` can be written to.
    ///
    /// Backtraces are off whatever the caller's environment says: a failing test shows the kit's message and
    /// the program's own error, not sixty lines of the async runtime's frames.
    pub fn command<I, S>(&self, args: I, writable: &[&Path]) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = match std::env::var_os(SANDBOX).filter(|launcher| !launcher.is_empty()) {
            Some(launcher) => {
                let mut command = Command::new(launcher);
                for folder in writable {
                    command.arg("--writable").arg(folder);
                }
                command.arg("--").arg(&self.path);
                command
            }
            None => Command::new(&self.path),
        };
        command.args(args).env("RUST_BACKTRACE", "0").env("RUST_LIB_BACKTRACE", "0");
        command
    }

    /// True when this run is the grader's: the program runs in its sandbox.
    pub fn sandboxed() -> bool {
        std::env::var_os(SANDBOX).is_some_and(|launcher| !launcher.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_runs_with_backtraces_off() {
        let program = Program { path: PathBuf::from("/bin/true") };
        let command = program.command(["--port", "0"], &[]);
        let envs: Vec<_> = command.get_envs().collect();
        assert!(envs.contains(&(OsStr::new("RUST_BACKTRACE"), Some(OsStr::new("0")))), "{envs:?}");
        if !Program::sandboxed() {
            assert_eq!(command.get_program(), "/bin/true");
            let args: Vec<_> = command.get_args().collect();
            assert_eq!(args, ["--port", "0"]);
        }
    }

    #[test]
    fn the_name_is_the_file_stem() {
        assert_eq!(Program { path: PathBuf::from("/x/target/debug/ex05-events") }.name(), "ex05-events");
    }
}
