//! Noticing a submission that tampers with the kit while it is graded.
//!
//! In the sandbox (see `sandbox`), student code cannot see the kit, let alone write to it. Without one, it runs
//! as the same user as the grader, so it could rewrite the kit's pristine tests, its test support or the test
//! binaries, and every test or submission graded after it would be graded against the forgery. The grader
//! fingerprints the kit before the class run and checks it before each submission, and (without a sandbox)
//! checks each test binary before every test, and stops the run when something changed, naming the
//! submission that ran last. It detects; only the sandbox prevents. The hash is keyed at random per run, so
//! a submission cannot forge a matching fingerprint.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

/// What a grading build reads from the kit.
const WATCHED: &[&str] = &["exercises", "support", "Cargo.toml", "Cargo.lock", "course.toml", ".cargo"];

pub struct Fingerprint {
    keys: RandomState,
    value: u64,
}

impl Fingerprint {
    pub fn of(kit: &Path) -> Fingerprint {
        let keys = RandomState::new();
        let value = hash_kit(kit, &keys);
        Fingerprint { keys, value }
    }

    /// True while the kit is as it was when the fingerprint was taken.
    pub fn still_matches(&self, kit: &Path) -> bool {
        hash_kit(kit, &self.keys) == self.value
    }
}

/// The fingerprint of one file (a test binary), under a run's random keys.
pub struct FileFingerprint {
    keys: RandomState,
    value: u64,
}

impl FileFingerprint {
    pub fn of(path: &Path) -> FileFingerprint {
        let keys = RandomState::new();
        let value = hash_files(&[path.to_path_buf()], &keys);
        FileFingerprint { keys, value }
    }

    pub fn still_matches(&self, path: &Path) -> bool {
        hash_files(&[path.to_path_buf()], &self.keys) == self.value
    }
}

fn hash_kit(kit: &Path, keys: &RandomState) -> u64 {
    let mut files = Vec::new();
    for entry in WATCHED {
        collect(&kit.join(entry), &mut files);
    }
    files.sort();
    hash_files(&files, keys)
}

fn hash_files(files: &[PathBuf], keys: &RandomState) -> u64 {
    let mut hasher = keys.build_hasher();
    for file in files {
        hasher.write(file.to_string_lossy().as_bytes());
        hasher.write(&std::fs::read(file).unwrap_or_default());
    }
    hasher.finish()
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    let Ok(metadata) = std::fs::symlink_metadata(path) else { return };
    if metadata.is_file() {
        files.push(path.to_path_buf());
    } else if metadata.is_dir() && !path.ends_with("target") && !path.ends_with("node_modules") {
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            collect(&entry.path(), files);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_test_file_is_noticed() {
        let kit = tempfile::tempdir().unwrap();
        let tests = kit.path().join("exercises/01-x/tests");
        std::fs::create_dir_all(&tests).unwrap();
        std::fs::write(tests.join("chapter.rs"), "#[test] fn t() { assert!(false) }").unwrap();
        let fingerprint = Fingerprint::of(kit.path());
        assert!(fingerprint.still_matches(kit.path()));
        std::fs::write(tests.join("chapter.rs"), "#[test] fn t() {}").unwrap();
        assert!(!fingerprint.still_matches(kit.path()));
    }
}
