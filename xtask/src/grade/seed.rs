//! The grader's target directory starts with the dependencies the kit has compiled already.
//!
//! Every submission's programs are built in `target/grader`, apart from the kit's own target directory: a
//! sandboxed build writes there, and must never reach the kit's artifacts. But the dependencies are the same
//! for every build of the kit (`support/unify` gives each one set of features, whatever is being built), so the
//! first grading need not compile them again: the units of the exercises' programs that come from crates.io
//! are copied from the kit's target directory, with their fingerprints and build scripts' outputs, before the
//! first submission is built. Copied, never linked, so that nothing written in one reaches the other; with
//! their modification times, which cargo compares to decide what is up to date. Whatever does not match is
//! simply compiled again by cargo, as it would have been without the copy.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// Copies into `grader_target` the units of `packages`' programs that came from a registry, as compiled in
/// `kit_target`, unless `grader_target` has been used already. Returns how many units were copied.
pub fn dependencies(kit: &Path, kit_target: &Path, grader_target: &Path, packages: &[String]) -> Result<usize> {
    let destination = grader_target.join("debug");
    if destination.join(".fingerprint").exists() {
        return Ok(0);
    }
    let hashes = registry_units(kit, packages)?;
    let source = kit_target.join("debug");
    for folder in ["deps", "build", ".fingerprint"] {
        fs::create_dir_all(destination.join(folder))?;
        for entry in fs::read_dir(source.join(folder))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if hashes.iter().any(|hash| belongs_to(&name, hash)) {
                copy_keeping_times(&entry.path(), &destination.join(folder).join(&name))?;
            }
        }
    }
    Ok(hashes.len())
}

/// The hash cargo gives each unit that `cargo build --bins` of `packages` uses from a registry (the part after
/// the last `-` in `libserde-0123456789abcdef.rlib`, or in a build script's folder `build/serde-0123...`).
fn registry_units(kit: &Path, packages: &[String]) -> Result<BTreeSet<String>> {
    #[derive(Deserialize)]
    struct Message {
        reason: String,
        #[serde(default)]
        package_id: String,
        #[serde(default)]
        filenames: Vec<std::path::PathBuf>,
        out_dir: Option<std::path::PathBuf>,
    }
    let mut command = Command::new(crate::cargo::cargo());
    command.current_dir(kit).args(["build", "--bins", "--message-format=json"]);
    for package in packages {
        command.args(["--package", package]);
    }
    let output = command.stderr(Stdio::null()).output().context("could not run cargo")?;
    if !output.status.success() {
        bail!("cargo could not build the exercises' programs in the kit");
    }
    let mut hashes = BTreeSet::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Message>(line) else { continue };
        if !message.package_id.starts_with("registry+") {
            continue;
        }
        // A compiled crate names its files after its hash; a build script is a file in a folder named so.
        let files =
            message.filenames.iter().flat_map(|file| [file.file_stem(), file.parent().and_then(Path::file_name)]);
        let out_dir = message.out_dir.as_deref().and_then(Path::parent).and_then(Path::file_name);
        let names = files.chain([out_dir]).flatten().map(|name| name.to_string_lossy().into_owned());
        match message.reason.as_str() {
            "compiler-artifact" | "build-script-executed" => hashes.extend(names.filter_map(|name| hash_of(&name))),
            _ => {}
        }
    }
    Ok(hashes)
}

/// `libserde-0123456789abcdef` gives `0123456789abcdef`: sixteen hexadecimal digits after the last `-`.
fn hash_of(name: &str) -> Option<String> {
    let (_, hash) = name.rsplit_once('-')?;
    (hash.len() == 16 && hash.bytes().all(|byte| byte.is_ascii_hexdigit())).then(|| hash.to_owned())
}

/// Whether a file or folder of `deps/`, `build/` or `.fingerprint/` belongs to the unit with this hash:
/// `libserde-HASH.rlib`, `serde-HASH.d`, `serde-HASH/`.
fn belongs_to(name: &str, hash: &str) -> bool {
    let stem = name.split_once('.').map_or(name, |(stem, _)| stem);
    stem.strip_suffix(hash).is_some_and(|rest| rest.ends_with('-'))
}

/// Copies a file, or a folder and everything in it, giving every copy its original's modification time.
fn copy_keeping_times(from: &Path, to: &Path) -> Result<()> {
    let metadata = fs::symlink_metadata(from)?;
    if metadata.is_dir() {
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)?.flatten() {
            copy_keeping_times(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else if metadata.is_file() {
        fs::copy(from, to).with_context(|| format!("cannot copy {}", from.display()))?;
    } else {
        return Ok(());
    }
    let modified = metadata.modified()?;
    fs::File::options().write(true).open(to).and_then(|file| file.set_modified(modified)).or_else(|error| {
        // A folder cannot be opened for writing; its own time does not matter to cargo.
        if metadata.is_dir() { Ok(()) } else { Err(error) }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_units_hash_and_its_files() {
        assert_eq!(hash_of("libserde-0123456789abcdef").as_deref(), Some("0123456789abcdef"));
        assert_eq!(hash_of("build-script-build"), None);
        assert_eq!(hash_of("ex01-clients-servers"), None);
        let hash = "0123456789abcdef";
        assert!(belongs_to("libserde-0123456789abcdef.rlib", hash));
        assert!(belongs_to("serde-0123456789abcdef.d", hash));
        assert!(belongs_to("serde-0123456789abcdef", hash));
        assert!(!belongs_to("serde-1123456789abcdef", hash));
        assert!(!belongs_to("serde0123456789abcdef", hash));
    }
}
