//! Which of the programs a check needs are installed, and the command that installs each.
//!
//! The install commands live in `course.toml` (`[[program]]` entries), the manifest every kit tool reads, so
//! the sentence a student sees when a check is skipped is the same one the instructor's tools print.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::kit_root;

/// Something a check needs that the Rust toolchain does not bring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A program found on `PATH`, named as in a `[[program]]` entry of `course.toml`.
    Program(&'static str),
    /// An npm package installed by `npm ci` into the kit's `node_modules/`.
    NpmPackage(&'static str),
    /// Minutes of running: the hostile clients, the real browser, the grader on the whole kit. The first
    /// self-check on a new machine leaves these to `cargo xtask check --full`, which CI runs (`CI` is set).
    FullCheck,
}

/// Set by `cargo xtask check --full` for the tests it runs.
pub const FULL_CHECK_VARIABLE: &str = "KIT_FULL_CHECK";

impl Need {
    pub fn is_met(self) -> bool {
        match self {
            Need::Program(name) => find_on_path(name).is_some(),
            Need::NpmPackage(name) => kit_root().join("node_modules").join(name).join("package.json").is_file(),
            Need::FullCheck => {
                crate::on_ci() || std::env::var_os(FULL_CHECK_VARIABLE).is_some_and(|value| value == "1")
            }
        }
    }
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Need::Program(name) => write!(f, "{name}"),
            Need::NpmPackage(name) => write!(f, "the npm package {name}"),
            Need::FullCheck => write!(f, "minutes of running, which the full self-check spends"),
        }
    }
}

/// The first executable file called `name` in the folders of `PATH`, as a shell would find it.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|folder| folder.join(name)).find(|candidate| {
        candidate.metadata().is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
    })
}

/// The install command of every `[[program]]` in `course.toml`, by program name.
#[derive(Debug)]
pub struct InstallCommands(BTreeMap<String, String>);

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    program: Vec<Program>,
}

#[derive(Deserialize)]
struct Program {
    name: String,
    install: String,
}

impl InstallCommands {
    /// Reads `course.toml` at the kit's root.
    pub fn load() -> Result<InstallCommands, String> {
        let path = kit_root().join("course.toml");
        let text =
            std::fs::read_to_string(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let manifest: Manifest =
            toml::from_str(&text).map_err(|error| format!("{} is not valid: {error}", path.display()))?;
        Ok(InstallCommands(manifest.program.into_iter().map(|program| (program.name, program.install)).collect()))
    }

    /// The command that provides `need`. A program missing from `course.toml` is the kit's mistake, and
    /// is said so: every program a check needs must be listed there.
    pub fn for_need(&self, need: Need) -> Result<&str, String> {
        match need {
            // The kit's package.json and package-lock.json pin every npm package; one command installs them all.
            Need::NpmPackage(_) => Ok("npm ci"),
            Need::FullCheck => Ok("cargo xtask check --full, as CI does"),
            Need::Program(name) => self.0.get(name).map(String::as_str).ok_or_else(|| {
                format!("course.toml has no [[program]] entry named {name:?}; add one with its install command")
            }),
        }
    }
}
