//! `cargo xtask verify` run on a miniature kit (tests/fixtures/kit) that is broken one invariant at a time.
//!
//! Each test copies the fixture to a temporary folder, breaks one thing, runs the real `xtask` binary on it,
//! and checks that the exit code says so and that the breach is named. The pristine fixture must pass, or
//! every "it fails" below would prove nothing.

mod common;

use common::Kit;

const STARTER: &str = "exercises/01-adding/src/main.rs";
const SOLUTION: &str = "solutions/01-adding/src/main.rs";
const TESTS: &str = "exercises/01-adding/tests/chapter.rs";

#[test]
fn the_pristine_fixture_passes() {
    let (code, output) = Kit::new().verify();
    assert_eq!(code, 0, "the untouched fixture kit must pass verify:\n{output}");
    assert!(output.contains("01 adding"), "the table has a row for the chapter:\n{output}");
    assert!(output.contains("2/2"), "both graded tests fail on the starter and pass on the solution:\n{output}");
}

#[test]
fn a_starter_that_already_passes_is_named() {
    let kit = Kit::new();
    kit.edit(STARTER, "let _ = (a, b);\n    todo!(\"chapter 1, section \\\"Adding numbers\\\"\")", "a + b");
    kit.assert_breach("graded test `adds_small_numbers` passes on the untouched starter");
}

#[test]
fn one_test_passing_on_the_starter_is_enough_to_fail() {
    let kit = Kit::new();
    // Right for small numbers only: one graded test passes before the student has done the work.
    kit.edit(
        STARTER,
        "let _ = (a, b);\n    todo!(\"chapter 1, section \\\"Adding numbers\\\"\")",
        "if a > 0 { a + b } else { 0 }",
    );
    let (code, output) = kit.verify();
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("`adds_small_numbers` passes on the untouched starter"), "{output}");
    assert!(!output.contains("`adds_negative_numbers` passes"), "{output}");
}

#[test]
fn a_starter_failure_that_does_not_point_to_the_book_is_named() {
    let kit = Kit::new();
    kit.edit(STARTER, "todo!(\"chapter 1, section \\\"Adding numbers\\\"\")", "todo!()");
    kit.edit(
        TESTS,
        "const ADDING: &str = \"chapter 1, section \\\"Adding numbers\\\"\";",
        "const ADDING: &str = \"the book\";",
    );
    kit.assert_breach("`adds_small_numbers` fails on the starter without naming the book section");
}

#[test]
fn a_solution_that_fails_is_named_with_its_message() {
    let kit = Kit::new();
    kit.edit(SOLUTION, "a + b", "a - b");
    let (code, output) = kit.verify();
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("`adds_small_numbers` fails on the reference solution"), "{output}");
    assert!(output.contains("left: \"-1\""), "the breach quotes the failing assertion:\n{output}");
}

#[test]
fn a_manifest_naming_a_missing_test_is_named() {
    let kit = Kit::new();
    kit.edit("course.toml", "name = \"adds_negative_numbers\"", "name = \"adds_huge_numbers\"");
    let (code, output) = kit.verify();
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("graded test `adds_huge_numbers` of chapter 1 never ran"), "{output}");
    // And the test that exists but is no longer listed is named too.
    assert!(output.contains("test `adds_negative_numbers` is not in course.toml"), "{output}");
}

#[test]
fn a_chapter_missing_from_summary_is_named() {
    let kit = Kit::new();
    kit.write("book/src/SUMMARY.md", "# Summary\n");
    kit.assert_breach("book/src/SUMMARY.md: chapter 1 (01-adding.md) is missing");
}

#[test]
fn a_starter_that_does_not_compile_is_named_with_the_compiler_message() {
    let kit = Kit::new();
    kit.edit(STARTER, "fn add(a: i64, b: i64)", "fn ad(a: i64, b: i64)");
    let (code, output) = kit.verify();
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("exercises/01-adding: does not compile"), "{output}");
    assert!(output.contains("    error"), "the compiler's message is quoted in the breach:\n{output}");
}

#[test]
fn a_solution_with_its_own_copy_of_the_tests_is_named() {
    let kit = Kit::new();
    kit.edit("solutions/01-adding/Cargo.toml", "../../exercises/01-adding/tests/chapter.rs", "tests/chapter.rs");
    let copy = std::fs::read_to_string(kit.path(TESTS)).expect("read tests");
    kit.write("solutions/01-adding/tests/chapter.rs", &copy);
    let (code, output) = kit.verify();
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("a solution has no tests of its own"), "{output}");
    assert!(output.contains("whose path is the exercise's"), "{output}");
}

#[test]
fn a_section_missing_from_the_page_is_named() {
    let kit = Kit::new();
    kit.edit("book/src/01-adding.md", "## Adding numbers", "## Addition");
    kit.assert_breach("points students to the section \"Adding numbers\"");
}

#[test]
fn a_starter_that_would_not_compile_incrementally_is_named() {
    let kit = Kit::new();
    kit.edit("Cargo.toml", "[profile.dev.package.ex01-adding]\nincremental = true", "");
    kit.assert_breach("the starter ex01-adding must compile incrementally");
}

#[test]
fn a_folder_no_chapter_owns_is_named() {
    let kit = Kit::new();
    kit.write(
        "exercises/02-stray/Cargo.toml",
        "[package]\nname = \"ex02-stray\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    );
    kit.write("exercises/02-stray/src/lib.rs", "");
    kit.assert_breach("exercises/02-stray: no chapter in course.toml owns this folder");
}

#[test]
fn an_ignored_graded_test_is_named() {
    let kit = Kit::new();
    kit.edit(TESTS, "#[test]\nfn adds_small_numbers", "#[test]\n#[ignore]\nfn adds_small_numbers");
    kit.assert_breach("graded test `adds_small_numbers` is ignored");
}

#[test]
fn an_invalid_manifest_stops_the_tool_with_exit_code_2() {
    let kit = Kit::new();
    kit.edit("course.toml", "format = 1", "format = 7");
    let (code, output) = kit.verify();
    assert_eq!(code, 2, "a manifest the tool cannot read is the tool's failure, not a breach:\n{output}");
    assert!(output.contains("format 7"), "{output}");
}

#[test]
fn an_edited_starter_that_the_lock_does_not_record_is_named() {
    let kit = Kit::new();
    kit.edit("exercises/01-adding/src/main.rs", "todo!", "unimplemented!");
    kit.assert_breach("exercises/starters.lock does not match the starters on disk");
}

/// Runs git in the kit, as its own author, so that the test needs no git configuration of the machine.
fn git(kit: &Kit, args: &[&str]) {
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(kit.path(""))
        .args(["-c", "user.name=kit", "-c", "user.email=kit@localhost", "-c", "commit.gpgsign=false"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?} failed");
}

/// The fixture kit as a git repository with one commit, as a student's clone of a class template is: the
/// starters' blobs are in its history.
fn kit_in_git() -> Kit {
    let kit = Kit::new();
    git(&kit, &["init", "--quiet"]);
    git(&kit, &["add", "--all"]);
    git(&kit, &["commit", "--quiet", "--message", "the kit"]);
    kit
}

#[test]
fn reset_gives_back_the_pristine_starter_and_keeps_the_students_files() {
    let kit = kit_in_git();
    let starter = std::fs::read(kit.path("exercises/01-adding/src/main.rs")).expect("the starter");
    // A student's work: the starter edited, and committed, and a module of their own.
    kit.write("exercises/01-adding/src/main.rs", "fn main() { println!(\"mine\"); }\n");
    kit.write("exercises/01-adding/src/extra.rs", "// mine too\n");
    git(&kit, &["add", "--all"]);
    git(&kit, &["commit", "--quiet", "--message", "my work"]);

    let (code, output) = kit.xtask(&["reset", "1", "--yes"]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(std::fs::read(kit.path("exercises/01-adding/src/main.rs")).unwrap(), starter, "{output}");
    assert!(!kit.path("exercises/01-adding/src/extra.rs").exists(), "the student's own module is moved away");
    let backups: Vec<_> = std::fs::read_dir(kit.path("target/reset-backup")).unwrap().flatten().collect();
    assert_eq!(backups.len(), 1, "one copy of the student's files");
    let backup = backups[0].path();
    assert_eq!(std::fs::read_to_string(backup.join("main.rs")).unwrap(), "fn main() { println!(\"mine\"); }\n");
    assert_eq!(std::fs::read_to_string(backup.join("extra.rs")).unwrap(), "// mine too\n");
    // The lock and the blobs in git agree with the files on disk again.
    let (code, output) = kit.verify();
    assert_eq!(code, 0, "{output}");
}

#[test]
fn reset_without_a_terminal_asks_for_yes_and_changes_nothing() {
    let kit = kit_in_git();
    kit.write("exercises/01-adding/src/main.rs", "fn main() {}\n");
    let (code, output) = kit.xtask(&["reset", "1"]);
    assert_ne!(code, 0, "{output}");
    assert!(output.contains("pass --yes"), "{output}");
    assert_eq!(std::fs::read_to_string(kit.path("exercises/01-adding/src/main.rs")).unwrap(), "fn main() {}\n");
}
