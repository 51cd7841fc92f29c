//! A test harness that skips a check by name when a program it needs is missing (invariant 7).
//!
//! Rust's built-in test harness can only ignore a test when it is compiled; whether node is installed is
//! known only when the tests run. libtest-mimic is a harness with the same command line and output as the
//! built-in one (so `cargo test`, filters and the kit's tools read it as usual) whose list of tests is built
//! at run time. A check that lacks a program is marked ignored, and a line
//! `skipped: NAME: needs PROGRAM (enable with: COMMAND)` says why and what to do. On CI (`CI` is set) the
//! same check fails instead: CI installs every program, so a skip there would be a pass that proved nothing.

use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};

pub mod programs;

use std::path::{Path, PathBuf};

use programs::InstallCommands;
pub use programs::{Need, find_on_path};

/// One check: a name, what it needs beyond Rust, and its body, which panics (asserts) to fail.
pub struct Check {
    name: String,
    needs: Vec<Need>,
    body: Box<dyn FnOnce() + Send>,
}

impl Check {
    pub fn new(name: impl Into<String>, needs: &[Need], body: impl FnOnce() + Send + 'static) -> Check {
        Check { name: name.into(), needs: needs.to_vec(), body: Box::new(body) }
    }
}

/// Whether this run is CI's: there, a missing program is a failure, never a skip.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.trim(), "" | "0" | "false"))
}

/// Runs `checks` as a test binary does: parses the command line, prints libtest's lines, returns its exit code.
pub fn run(checks: Vec<Check>) -> ExitCode {
    let arguments = Arguments::from_args();
    let installs = match InstallCommands::load() {
        Ok(installs) => installs,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(101);
        }
    };
    // Every need's install command must be in course.toml, whether or not it is installed here: a missing
    // entry is the kit's mistake, and shows on every machine, not first on the one that lacks the program.
    if let Some(error) = checks.iter().flat_map(|check| &check.needs).find_map(|need| installs.for_need(*need).err()) {
        eprintln!("error: {error}");
        return ExitCode::from(101);
    }
    let on_ci = on_ci();
    let mut trials = Vec::new();
    for Check { name, needs, body } in checks {
        let missing: Vec<Need> = needs.into_iter().filter(|need| !need.is_met()).collect();
        if missing.is_empty() {
            trials.push(Trial::test(name, move || {
                body();
                Ok(())
            }));
            continue;
        }
        let reason = reason(&missing, &installs);
        if on_ci {
            let message = format!("{reason}; CI installs every program a test needs, so there a missing one fails");
            trials.push(Trial::test(name, move || Err(Failed::from(message))));
            continue;
        }
        // Run all the same (`--include-ignored`), it fails with the same sentence.
        let message = reason.clone();
        let trial = Trial::test(name.clone(), move || Err(Failed::from(message))).with_ignored_flag(true);
        // No extra lines for `--list` (tools parse it), nor for checks the command line leaves out.
        if !arguments.list && !arguments.is_filtered_out(&trial) && arguments.is_ignored(&trial) {
            println!("skipped: {name}: {reason}");
        }
        trials.push(trial);
    }
    libtest_mimic::run(&arguments, trials).exit_code()
}

/// `needs node and the npm package socket.io-client (enable with: apt-get install nodejs npm; npm ci)`.
fn reason(missing: &[Need], installs: &InstallCommands) -> String {
    let needs: Vec<String> = missing.iter().map(Need::to_string).collect();
    let mut commands: Vec<&str> = Vec::new();
    for need in missing {
        let command = installs.for_need(*need).unwrap_or("(see course.toml)");
        if !commands.contains(&command) {
            commands.push(command);
        }
    }
    format!("needs {} (enable with: {})", needs.join(" and "), commands.join("; "))
}

/// The kit's root folder: where `course.toml`, `package.json` and `node_modules/` are.
pub fn kit_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.ancestors().nth(2).unwrap_or(crate_dir).to_path_buf()
}
