//! What the xtask's integration tests share: a private copy of the miniature fixture kit, and a way to run
//! the real `xtask` binary on it.

#![allow(dead_code, reason = "each test binary uses its own part of this module")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of tests/fixtures/kit in a temporary folder, deleted with it.
pub struct Kit {
    dir: tempfile::TempDir,
}

impl Kit {
    pub fn new() -> Kit {
        let dir = tempfile::tempdir().expect("a temporary folder");
        copy_tree(&fixtures().join("kit"), dir.path());
        let kit = Kit { dir };
        // The fixture names the kit's own `launch` crate by a path relative to where it lives in the repository.
        let launch = Path::new(env!("CARGO_MANIFEST_DIR")).join("../support/launch");
        let launch = launch.canonicalize().expect("support/launch is in the kit");
        kit.edit("Cargo.toml", "../../../../support/launch", launch.to_str().expect("a UTF-8 path"));
        kit
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, content: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("a file has a folder")).expect("create folders");
        std::fs::write(path, content).expect("write the file");
    }

    /// Replaces `from` by `to` in a file, insisting that `from` is there (or the test would break nothing).
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path(relative)).expect("read the file");
        assert!(text.contains(from), "{relative} does not contain {from:?}");
        self.write(relative, &text.replace(from, to));
    }

    /// Runs `xtask --root KIT <args>`; returns its exit code and everything it printed.
    pub fn xtask(&self, args: &[&str]) -> (i32, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("--root")
            .arg(self.dir.path())
            .args(args)
            .env("CARGO_TARGET_DIR", self.path("target"))
            .output()
            .expect("run xtask");
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.code().unwrap_or(-1), text)
    }

    /// Runs `xtask verify --no-book` on the kit.
    pub fn verify(&self) -> (i32, String) {
        self.xtask(&["verify", "--no-book"])
    }

    pub fn assert_breach(&self, expected: &str) {
        let (code, output) = self.verify();
        assert_eq!(code, 1, "verify should exit 1 for a breach; output:\n{output}");
        assert!(output.contains(expected), "verify should name the breach {expected:?}; output:\n{output}");
    }
}

/// The xtask's tests/fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy fixture file");
        }
    }
}
