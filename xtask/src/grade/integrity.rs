//! Noticing a submission that tampers with the kit while it is graded.
//!
//! Student code runs as the same user as the grader, so a hostile test could rewrite the kit's pristine tests
//! or its test support, and every submission graded after it would be graded against the forgery. The grader
//! fingerprints everything a build reads from the kit before the class run, checks the fingerprint before each
//! submission, and stops the run if it changed, naming the submission that ran last. It detects; it cannot
//! prevent. The hash is keyed at random per run, so a submission cannot forge a matching fingerprint.

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

fn hash_kit(kit: &Path, keys: &RandomState) -> u64 {
    let mut files = Vec::new();
    for entry in WATCHED {
        collect(&kit.join(entry), &mut files);
    }
    files.sort();
    let mut hasher = keys.build_hasher();
    for file in files {
        hasher.write(file.to_string_lossy().as_bytes());
        hasher.write(&std::fs::read(&file).unwrap_or_default());
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
