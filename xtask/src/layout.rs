//! The kit's shape, checked without compiling anything: folders, package names, the one canonical test
//! file per chapter, the book's SUMMARY, and the book sections that tests and starters point students to.
//!
//! Each breach is one sentence naming the file to fix. Nothing here is fatal to the run: `verify` collects
//! every breach, then compiles and runs what it can, so one mistake does not hide the next.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::manifest::{Chapter, Manifest};

/// Breaches of one chapter's layout.
pub fn check_chapter(root: &Path, manifest: &Manifest, chapter: &Chapter, with_solutions: bool) -> Vec<String> {
    let mut breaches = Vec::new();
    let folder = chapter.folder_name();
    let expected_page = manifest.book.join("src").join(format!("{folder}.md"));
    for (what, actual, expected) in [
        ("page", &chapter.page, expected_page),
        ("exercise", &chapter.exercise, Path::new("exercises").join(&folder)),
        ("solution", &chapter.solution, Path::new("solutions").join(&folder)),
    ] {
        if *actual != expected {
            breaches.push(format!(
                "course.toml: the {what} of chapter {} is {}, but the folder names say {}",
                chapter.number,
                actual.display(),
                expected.display()
            ));
        }
    }
    if !root.join(&chapter.page).is_file() {
        breaches.push(format!("{}: the chapter's book page is missing", chapter.page.display()));
    }
    breaches.extend(check_package(root, &chapter.exercise, &chapter.exercise_package()));
    breaches.extend(check_incremental(root, &chapter.exercise_package()));
    breaches.extend(check_one_test_file(root, chapter));
    if with_solutions {
        breaches.extend(check_package(root, &chapter.solution, &chapter.solution_package()));
        breaches.extend(check_solution_uses_exercise_tests(root, chapter));
    }
    breaches.extend(check_sections(root, chapter));
    if with_solutions {
        breaches.extend(check_mistakes(root, chapter));
    }
    breaches
}

/// Each plausible mistake must apply to its solution, once, and name a graded test and a heading of the
/// page; whether the test does catch it is the grader tests' to prove (`every_plausible_mistake_...`).
fn check_mistakes(root: &Path, chapter: &Chapter) -> Vec<String> {
    let page = fs::read_to_string(root.join(&chapter.page)).unwrap_or_default();
    let mut breaches = Vec::new();
    for mistake in &chapter.mistakes {
        let file = chapter.solution.join("src").join(&mistake.file);
        let what = &mistake.what;
        match fs::read_to_string(root.join(&file)) {
            Ok(text) if text.matches(mistake.replace.as_str()).count() == 1 => {}
            Ok(_) => {
                breaches.push(format!("{}: the mistake {what:?} must match its `replace` exactly once", file.display()))
            }
            Err(_) => breaches.push(format!("{}: missing, but the mistake {what:?} changes it", file.display())),
        }
        if !chapter.tests.iter().any(|test| test.name == mistake.fails) {
            breaches.push(format!("course.toml: the mistake {what:?} names `{}`, not a graded test", mistake.fails));
        }
        let heading = |line: &str| line.trim_start_matches('#').trim() == mistake.section;
        if !page.lines().any(|line| line.starts_with('#') && heading(line)) {
            breaches.push(format!(
                "course.toml: the mistake {what:?} names the section \"{}\", which {} has no heading for",
                mistake.section,
                chapter.page.display()
            ));
        }
    }
    breaches
}

/// Breaches that concern the whole kit: SUMMARY order and folders that no chapter owns.
pub fn check_kit(root: &Path, manifest: &Manifest, with_solutions: bool) -> Vec<String> {
    let mut breaches = check_summary(root, manifest);
    let parents: &[&str] = if with_solutions { &["exercises", "solutions"] } else { &["exercises"] };
    for parent in parents {
        let owned: BTreeSet<String> = manifest.chapters.iter().map(Chapter::folder_name).collect();
        let Ok(entries) = fs::read_dir(root.join(parent)) else {
            breaches.push(format!("{parent}/: the folder is missing"));
            continue;
        };
        for entry in entries.flatten().filter(|entry| entry.path().is_dir()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !owned.contains(&name) {
                breaches.push(format!("{parent}/{name}: no chapter in course.toml owns this folder"));
            }
        }
    }
    breaches
}

fn check_package(root: &Path, folder: &Path, expected_name: &str) -> Vec<String> {
    let path = folder.join("Cargo.toml");
    let text = match fs::read_to_string(root.join(&path)) {
        Ok(text) => text,
        Err(_) => return vec![format!("{}: missing", path.display())],
    };
    let name = toml::from_str::<toml::Table>(&text)
        .ok()
        .and_then(|table| table.get("package")?.get("name")?.as_str().map(str::to_owned));
    match name {
        Some(name) if name == expected_name => vec![],
        Some(name) => vec![format!("{}: the package is named {name}, but should be {expected_name}", path.display())],
        None => vec![format!("{}: not a valid package manifest", path.display())],
    }
}

/// The starter compiles incrementally whatever the rest of the kit does (see the workspace's `Cargo.toml`):
/// a student's edit recompiles only what it changed.
fn check_incremental(root: &Path, package: &str) -> Option<String> {
    let text = fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let table = toml::from_str::<toml::Table>(&text).ok()?;
    let incremental = ["profile", "dev", "package", package, "incremental"]
        .iter()
        .try_fold(&toml::Value::Table(table.clone()), |value, key| value.get(key))
        .and_then(toml::Value::as_bool);
    (incremental != Some(true)).then(|| {
        format!(
            "Cargo.toml: the starter {package} must compile incrementally, or each edit of a student's recompiles \
             the whole program; add `[profile.dev.package.{package}]` with `incremental = true`"
        )
    })
}

/// One test binary per exercise: `tests/chapter.rs` and no other test file.
fn check_one_test_file(root: &Path, chapter: &Chapter) -> Vec<String> {
    let mut breaches = Vec::new();
    if !root.join(chapter.test_file()).is_file() {
        breaches.push(format!("{}: the chapter's graded tests are missing", chapter.test_file().display()));
    }
    let tests_dir = root.join(&chapter.exercise).join("tests");
    for entry in fs::read_dir(&tests_dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|extension| extension == "rs")
            && path.file_name().is_some_and(|name| name != "chapter.rs")
        {
            breaches.push(format!(
                "{}: a second test file makes a second test binary to compile and link; keep all graded tests in tests/chapter.rs",
                chapter.exercise.join("tests").join(entry.file_name()).display()
            ));
        }
    }
    breaches
}

/// Invariant 1: the solution is tested by the exercise's own test file, never by a copy.
fn check_solution_uses_exercise_tests(root: &Path, chapter: &Chapter) -> Vec<String> {
    let mut breaches = Vec::new();
    let manifest_path = chapter.solution.join("Cargo.toml");
    if root.join(&chapter.solution).join("tests").exists() {
        breaches.push(format!(
            "{}: a solution has no tests of its own; it runs the exercise's {}",
            chapter.solution.join("tests").display(),
            chapter.test_file().display()
        ));
    }
    let Ok(text) = fs::read_to_string(root.join(&manifest_path)) else { return breaches };
    let Ok(table) = toml::from_str::<toml::Table>(&text) else { return breaches };
    let test_paths: Vec<PathBuf> = table
        .get("test")
        .and_then(|tests| tests.as_array())
        .into_iter()
        .flatten()
        .filter(|test| test.get("name").and_then(|name| name.as_str()) == Some(crate::cargo::TEST_TARGET))
        .filter_map(|test| test.get("path")?.as_str().map(PathBuf::from))
        .collect();
    let expected = crate::cargo::canonical(&root.join(chapter.test_file()));
    let points_at_exercise =
        test_paths.iter().any(|path| crate::cargo::canonical(&root.join(&chapter.solution).join(path)) == expected);
    if !points_at_exercise {
        breaches.push(format!(
            "{}: needs a [[test]] named \"{}\" whose path is the exercise's {}",
            manifest_path.display(),
            crate::cargo::TEST_TARGET,
            chapter.test_file().display()
        ));
    }
    breaches
}

/// Every book section a test or a starter's `todo!()` names must exist as a heading on the chapter's page.
fn check_sections(root: &Path, chapter: &Chapter) -> Vec<String> {
    let Ok(page) = fs::read_to_string(root.join(&chapter.page)) else { return vec![] };
    let headings: BTreeSet<String> = page
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix('#'))
        .map(|heading| heading.trim_start_matches('#').trim().to_owned())
        .collect();
    let mut sources = vec![chapter.test_file()];
    let src = chapter.exercise.join("src");
    for entry in fs::read_dir(root.join(&src)).into_iter().flatten().flatten() {
        sources.push(src.join(entry.file_name()));
    }
    let mut breaches = Vec::new();
    for source in sources {
        let Ok(text) = fs::read_to_string(root.join(&source)) else { continue };
        for section in referenced_sections(&text) {
            if !headings.contains(&section) {
                breaches.push(format!(
                    "{}: points students to the section \"{section}\", which {} has no heading for",
                    source.display(),
                    chapter.page.display()
                ));
            }
        }
    }
    breaches
}

/// Section names in `section("...")` calls and in `section \"...\"` inside `todo!` messages.
fn referenced_sections(source: &str) -> Vec<String> {
    let mut sections = Vec::new();
    for (marker, closing) in [("section(\"", "\""), ("section \\\"", "\\\"")] {
        let mut rest = source;
        while let Some(start) = rest.find(marker) {
            rest = &rest[start + marker.len()..];
            if let Some(end) = rest.find(closing) {
                sections.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    sections
}

/// The chapters' pages appear in SUMMARY.md as numbered entries, in chapter order, with their titles.
fn check_summary(root: &Path, manifest: &Manifest) -> Vec<String> {
    let summary_path = manifest.book.join("src").join("SUMMARY.md");
    let Ok(summary) = fs::read_to_string(root.join(&summary_path)) else {
        return vec![format!("{}: missing", summary_path.display())];
    };
    // Numbered entries are list items: `- [Title](file.md)`.
    let entries: Vec<(String, String)> = summary
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("- [").or_else(|| line.trim_start().strip_prefix("* [")))
        .filter_map(|rest| {
            let (title, rest) = rest.split_once("](")?;
            let (target, _) = rest.split_once(')')?;
            Some((title.to_owned(), target.to_owned()))
        })
        .collect();
    let mut breaches = Vec::new();
    let mut last_position = None;
    for chapter in &manifest.chapters {
        let file = chapter.page.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        match entries.iter().position(|(_, target)| *target == file) {
            None => {
                breaches.push(format!("{}: chapter {} ({file}) is missing", summary_path.display(), chapter.number))
            }
            Some(position) => {
                if last_position.is_some_and(|last| position < last) {
                    breaches.push(format!(
                        "{}: chapter {} is listed before the chapter it follows",
                        summary_path.display(),
                        chapter.number
                    ));
                }
                last_position = Some(position);
                let title = &entries[position].0;
                if *title != chapter.title {
                    breaches.push(format!(
                        "{}: chapter {} is titled \"{title}\", but course.toml says \"{}\"",
                        summary_path.display(),
                        chapter.number,
                        chapter.title
                    ));
                }
            }
        }
    }
    breaches
}

#[cfg(test)]
mod tests {
    use super::referenced_sections;

    #[test]
    fn finds_sections_in_calls_and_in_todo_messages() {
        let source = r#"
            const A: Section = CHAPTER.section("Routes and handlers");
            todo!("chapter 1, section \"Status codes\": build the router")
        "#;
        assert_eq!(referenced_sections(source), ["Routes and handlers", "Status codes"]);
    }
}
