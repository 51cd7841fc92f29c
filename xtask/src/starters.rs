//! The starters as shipped, whatever a student has since done to `src/`.
//!
//! `exercises/starters.lock` names every file under each exercise's `src/` with its git blob id, the hash git
//! gives a file's contents. The kit's history (and a class template's first commit) holds those blobs, so
//! the pristine text of a starter can always be read back from git, even once the file on disk is a
//! student's solution: the book quotes it (see `diagrams::pristine_includes`), and `cargo xtask reset N`
//! restores it. `verify` proves that the lock matches the starters on disk and that every blob reads back to
//! the same bytes; after editing a starter, a maintainer runs `cargo xtask reset --pin` to record it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::manifest::{Chapter, Manifest};

/// The lock's path in the kit.
pub const LOCK: &str = "exercises/starters.lock";

/// One starter file: its git blob id and its path from the kit's root, with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub blob: String,
    pub path: String,
}

/// The lock, read from the kit.
pub fn load(root: &Path) -> Result<Vec<Entry>> {
    let text = fs::read_to_string(root.join(LOCK))
        .with_context(|| format!("cannot read {LOCK}; a maintainer writes it with `cargo xtask reset --pin`"))?;
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((blob, path)) = line.split_once(char::is_whitespace) else {
            bail!("{LOCK}, line {}: expected `BLOB-ID PATH`, got {line:?}", number + 1);
        };
        let (blob, path) = (blob.to_owned(), path.trim().to_owned());
        if blob.len() < 40 || !blob.bytes().all(|byte| byte.is_ascii_hexdigit()) || path.contains("..") {
            bail!("{LOCK}, line {}: {line:?} is not a blob id and a path inside the kit", number + 1);
        }
        entries.push(Entry { blob, path });
    }
    Ok(entries)
}

/// The files under every starter's `src/` as they are on disk, each with its blob id. With `store`, the
/// blobs are also written into git's object store, so that they can be read back before anyone commits.
pub fn on_disk(root: &Path, manifest: &Manifest, store: bool) -> Result<Vec<Entry>> {
    let mut paths = Vec::new();
    for chapter in &manifest.chapters {
        paths.extend(files_under(root, &chapter.exercise.join("src"))?);
    }
    let mut arguments = vec!["hash-object".to_owned()];
    if store {
        arguments.push("-w".to_owned());
    }
    arguments.push("--".to_owned());
    arguments.extend(paths.iter().cloned());
    let ids = git(root, &arguments)?;
    let ids = String::from_utf8(ids).context("git hash-object printed something that is not text")?;
    Ok(ids.split_whitespace().zip(paths).map(|(blob, path)| Entry { blob: blob.to_owned(), path }).collect())
}

/// Every file under `folder` (relative to `root`), sorted, as `/`-separated paths from `root`.
fn files_under(root: &Path, folder: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = fs::read_dir(root.join(&folder)).with_context(|| format!("cannot read {}", folder.display()))?;
        for entry in entries {
            let entry = entry?;
            let relative = folder.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(relative);
            } else {
                files.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Records the starters on disk as the pristine ones.
pub fn pin(root: &Path, manifest: &Manifest) -> Result<usize> {
    let entries = on_disk(root, manifest, true)?;
    let mut text = String::from(
        "# The starters as shipped: the git blob id and path of every file under each exercise's src/.\n\
         # `cargo xtask reset N` restores chapter N's files from them, and the book quotes them.\n\
         # Written by `cargo xtask reset --pin`; `cargo xtask verify` checks it.\n",
    );
    for entry in &entries {
        text.push_str(&format!("{} {}\n", entry.blob, entry.path));
    }
    fs::write(root.join(LOCK), text).with_context(|| format!("cannot write {LOCK}"))?;
    Ok(entries.len())
}

/// The pristine bytes of one starter file, read back from git.
pub fn pristine(root: &Path, entry: &Entry) -> Result<Vec<u8>> {
    git(root, &["cat-file".to_owned(), "blob".to_owned(), entry.blob.clone()]).with_context(|| {
        format!(
            "the starter {} ({}) is not in this folder's git history: was the kit copied without its .git?",
            entry.path, entry.blob
        )
    })
}

/// Breaches for `verify`: the lock must name exactly the files on disk, with their contents, and each blob
/// must read back from git to those very bytes (which is all that `reset` does).
pub fn check(root: &Path, manifest: &Manifest) -> Vec<String> {
    let locked = match load(root) {
        Ok(locked) => locked,
        Err(error) => return vec![format!("{error:#}")],
    };
    let disk = match on_disk(root, manifest, false) {
        Ok(disk) => disk,
        Err(error) => return vec![format!("cannot hash the starters: {error:#}")],
    };
    let mut breaches = Vec::new();
    if locked != disk {
        let stale: Vec<&str> = disk.iter().filter(|entry| !locked.contains(entry)).map(|e| e.path.as_str()).collect();
        let gone: Vec<&str> = locked.iter().filter(|entry| !disk.contains(entry)).map(|e| e.path.as_str()).collect();
        breaches.push(format!(
            "{LOCK} does not match the starters on disk (changed or new: {stale:?}; locked but different or gone: \
             {gone:?}); after editing a starter, run `cargo xtask reset --pin`"
        ));
    }
    // A folder outside git (a template not pushed yet, a test's copy) has no history to read back from; its
    // files on disk match the lock, which is all there is to check.
    if !in_git_work_tree(root) {
        return breaches;
    }
    for entry in &locked {
        match pristine(root, entry) {
            Ok(bytes) if fs::read(root.join(&entry.path)).is_ok_and(|disk| disk == bytes) => {}
            Ok(_) => breaches.push(format!("{}: its locked blob reads back different from the file", entry.path)),
            Err(error) => breaches.push(format!("{error:#}")),
        }
    }
    breaches
}

/// Writes every locked starter file under `destination`, at its path from the kit's root. A blob git cannot
/// read falls back to the file on disk, with a warning: the book then shows what is there.
pub fn materialize(root: &Path, destination: &Path) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    // A template not yet committed, or a copy without its history: the files on disk are all there is.
    let from_git = in_git_work_tree(root);
    if !from_git {
        warnings
            .push("this folder is not in a git repository: the book quotes the starters as they are on disk".into());
    }
    for entry in load(root)? {
        let read_back =
            if from_git { pristine(root, &entry) } else { fs::read(root.join(&entry.path)).map_err(Into::into) };
        let bytes = match read_back {
            Ok(bytes) => bytes,
            Err(error) => {
                warnings.push(format!("{error:#}; the book quotes the file on disk instead"));
                fs::read(root.join(&entry.path)).with_context(|| format!("cannot read {}", entry.path))?
            }
        };
        let path = destination.join(&entry.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(warnings)
}

/// `cargo xtask reset N`: chapter N's `src/` back to its starter, after asking, with a copy of what was there.
pub fn reset(root: &Path, chapter: &Chapter, confirmed: bool) -> Result<()> {
    let source = chapter.exercise.join("src");
    let prefix = format!("{}/", source.to_string_lossy().replace('\\', "/"));
    let entries: Vec<Entry> = load(root)?.into_iter().filter(|entry| entry.path.starts_with(&prefix)).collect();
    if entries.is_empty() {
        bail!("{LOCK} has no files for chapter {}", chapter.number);
    }
    // Every blob first: a reset that cannot finish must not begin.
    let pristine: Vec<(Entry, Vec<u8>)> =
        entries.into_iter().map(|entry| pristine(root, &entry).map(|bytes| (entry, bytes))).collect::<Result<_>>()?;

    let backup = root.join("target").join("reset-backup").join(format!(
        "{}-{}",
        chapter.folder_name(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|time| time.as_secs()).unwrap_or(0)
    ));
    if !confirmed
        && !ask(&format!(
            "Reset {} to chapter {}'s starter? Your files there now are copied to {} first. Type yes to go on: ",
            source.display(),
            chapter.number,
            backup.strip_prefix(root).unwrap_or(&backup).display()
        ))?
    {
        println!("nothing changed");
        return Ok(());
    }
    for path in files_under(root, &source)? {
        let copy = backup.join(Path::new(&path).strip_prefix(&source).unwrap_or(Path::new(&path)));
        if let Some(parent) = copy.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(root.join(&path), &copy).with_context(|| format!("cannot copy {path} to {}", copy.display()))?;
        fs::remove_file(root.join(&path)).with_context(|| format!("cannot remove {path}"))?;
    }
    for (entry, bytes) in &pristine {
        let path: PathBuf = root.join(&entry.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, bytes).with_context(|| format!("cannot write {}", entry.path))?;
    }
    println!(
        "{} is chapter {}'s starter again ({} file{}); your version is in {}",
        source.display(),
        chapter.number,
        pristine.len(),
        if pristine.len() == 1 { "" } else { "s" },
        backup.display()
    );
    Ok(())
}

fn ask(question: &str) -> Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        bail!("reset asks before it overwrites anything; without a terminal to ask on, pass --yes");
    }
    print!("{question}");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim().eq_ignore_ascii_case("yes"))
}

fn in_git_work_tree(root: &Path) -> bool {
    git(root, &["rev-parse".to_owned(), "--is-inside-work-tree".to_owned()]).is_ok_and(|out| out.starts_with(b"true"))
}

fn git(root: &Path, arguments: &[String]) -> Result<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(arguments)
        .stdin(Stdio::null())
        .output()
        .context("could not run git (the starters' pristine copies are read from git)")?;
    if !output.status.success() {
        bail!("git {}: {}", arguments.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(output.stdout)
}

/// The kit whose book is at `book_root`: the nearest folder above it that holds `course.toml`.
pub fn kit_of(book_root: &Path) -> Option<PathBuf> {
    book_root.ancestors().find(|folder| folder.join("course.toml").is_file()).map(Path::to_path_buf)
}

/// Points every `{{#include}}` of a starter file (under an exercise's `src/`) in one page at its pristine copy
/// under `pristine` (see [`materialize`]); every other include is left as it is. `page_folder` is the folder
/// the page's relative paths start from.
pub fn rewrite_includes(markdown: &str, page_folder: &Path, kit: &Path, pristine: &Path) -> String {
    const DIRECTIVE: &str = "{{#include ";
    let mut rewritten = String::with_capacity(markdown.len());
    let mut rest = markdown;
    while let Some(start) = rest.find(DIRECTIVE) {
        let (before, directive) = rest.split_at(start + DIRECTIVE.len());
        rewritten.push_str(before);
        let path_end = directive.find([':', '}']).unwrap_or(directive.len());
        let (path, after) = directive.split_at(path_end);
        match starter_file(&page_folder.join(path.trim()), kit) {
            Some(relative) => rewritten.push_str(&pristine.join(relative).to_string_lossy()),
            None => rewritten.push_str(path),
        }
        rest = after;
    }
    rewritten.push_str(rest);
    rewritten
}

/// `exercises/NN-slug/src/...` relative to `kit`, if `path` names a file there.
fn starter_file(path: &Path, kit: &Path) -> Option<PathBuf> {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                normal.pop();
            }
            std::path::Component::CurDir => {}
            other => normal.push(other),
        }
    }
    let relative = normal.strip_prefix(kit).ok()?;
    let parts: Vec<_> = relative.components().collect();
    (parts.len() > 3 && parts[0].as_os_str() == "exercises" && parts[2].as_os_str() == "src")
        .then(|| relative.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_includes_of_starter_sources_move_to_the_pristine_copy() {
        let kit = Path::new("/kit");
        let page = kit.join("book/src");
        let pristine = Path::new("/kit/target/pristine");
        let markdown = "a {{#include ../../exercises/01-x/src/main.rs:anchor}} b \
                        {{#include ../../exercises/01-x/tests/snapshots/s.snap}} c {{#include ../../support/runner/src/lib.rs}}";
        assert_eq!(
            rewrite_includes(markdown, &page, kit, pristine),
            "a {{#include /kit/target/pristine/exercises/01-x/src/main.rs:anchor}} b \
             {{#include ../../exercises/01-x/tests/snapshots/s.snap}} c {{#include ../../support/runner/src/lib.rs}}"
        );
    }
}
