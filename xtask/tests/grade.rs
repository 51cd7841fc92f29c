//! `cargo xtask grade` on a class of fixture submissions (tests/fixtures/submissions) against the miniature
//! fixture kit: each submission gets the score and the status it deserves, and the class run completes.

mod common;

use common::{Kit, copy_tree, fixtures};
use serde_json::Value;

/// Grades every fixture submission once and keeps the report for all the tests below.
fn class_report() -> &'static (Value, String) {
    static REPORT: std::sync::OnceLock<(Value, String)> = std::sync::OnceLock::new();
    REPORT.get_or_init(|| {
        let kit = Kit::new();
        let class = kit.path("class");
        copy_tree(&fixtures().join("submissions"), &class);
        std::fs::create_dir_all(class.join("empty")).expect("an empty submission folder");
        let out = kit.path("grades");
        let (code, output) = kit.xtask(&[
            "grade",
            class.to_str().expect("a UTF-8 path"),
            "--out",
            out.to_str().expect("a UTF-8 path"),
            "--test-seconds",
            "5",
            "--exercise-seconds",
            "20",
            "--output-kib",
            "64",
        ]);
        assert_eq!(code, 0, "the class run completes:\n{output}");
        let report = std::fs::read_to_string(out.join("report.json")).expect("report.json is written");
        let grades = std::fs::read_to_string(out.join("grades.csv")).expect("grades.csv is written");
        (serde_json::from_str(&report).expect("report.json parses"), grades)
    })
}

/// The report's row for one student.
fn submission(student: &str) -> &'static Value {
    let (report, _) = class_report();
    let rows = report["submissions"].as_array().expect("submissions");
    rows.iter().find(|row| row["student"] == student).unwrap_or_else(|| panic!("no row for {student}"))
}

/// Checks a student's points and the status of each test, in the manifest's order.
fn assert_student(student: &str, score: u64, statuses: &[&str]) {
    let tests = submission(student)["exercises"][0]["tests"].as_array().expect("tests");
    let actual_score: u64 = tests.iter().map(|test| test["points"].as_u64().unwrap_or(0)).sum();
    let actual: Vec<&str> = tests.iter().map(|test| test["status"].as_str().unwrap_or("?")).collect();
    assert_eq!((actual_score, actual.as_slice()), (score, statuses), "{student}");
}

#[test]
fn a_complete_submission_scores_everything() {
    assert_student("complete", 3, &["passed", "passed"]);
}

#[test]
fn a_partial_submission_scores_what_it_earned() {
    assert_student("partial", 1, &["passed", "failed"]);
}

#[test]
fn code_that_does_not_compile_scores_zero_with_the_compiler_message() {
    assert_student("not-compiling", 0, &["not_built", "not_built"]);
    let submission = submission("not-compiling");
    let message = submission["exercises"][0]["compiler_output"].as_str().unwrap_or_default();
    assert!(message.contains("exercises/01-adding/src/lib.rs"), "paths are relative to the submission:\n{message}");
    assert!(!message.contains("/tmp/"), "no scratch paths leak into the message:\n{message}");
}

#[test]
fn an_infinite_loop_is_stopped_and_scores_zero() {
    assert_student("infinite-loop", 0, &["timed_out", "timed_out"]);
}

#[test]
fn a_panic_in_student_code_is_named_as_such() {
    assert_student("panicking", 0, &["panicked", "panicked"]);
}

#[test]
fn huge_output_is_stopped_at_the_cap() {
    assert_student("huge-output", 0, &["output_limit", "output_limit"]);
}

#[test]
fn edited_tests_are_replaced_by_the_kits_own() {
    assert_student("tests-edited", 0, &["panicked", "panicked"]);
    let submission = submission("tests-edited");
    let changed = &submission["exercises"][0]["overlay"]["changed_outside_src"];
    assert!(changed.to_string().contains("tests/chapter.rs"), "the edit is reported: {changed}");
}

#[test]
fn deleted_tests_are_restored() {
    assert_student("tests-deleted", 3, &["passed", "passed"]);
    let submission = submission("tests-deleted");
    let changed = submission["exercises"][0]["overlay"]["changed_outside_src"].to_string();
    assert!(changed.contains("tests/chapter.rs"), "a full copy without its tests is reported: {changed}");
}

#[test]
fn a_hand_in_of_src_alone_reports_no_changes() {
    let submission = submission("complete");
    assert_eq!(submission["exercises"][0]["overlay"]["changed_outside_src"], serde_json::json!([]));
}

#[test]
fn an_edited_cargo_toml_is_reported_and_not_used() {
    assert_student("cargo-edited", 3, &["passed", "passed"]);
    let submission = submission("cargo-edited");
    assert!(submission["exercises"][0]["overlay"]["changed_outside_src"].to_string().contains("Cargo.toml"));
}

#[test]
fn a_test_cannot_write_its_own_score() {
    // The submission finds the grader's --out folder and writes a forged gradebook, report and feedback there
    // while its tests run; the grader writes every report after the student's processes are gone.
    assert_student("writes-results", 0, &["panicked", "panicked"]);
    let (report, grades) = class_report();
    assert!(report.get("forged").is_none(), "report.json is the grader's: {report}");
    assert!(!grades.contains("999"), "the forged gradebook did not survive:\n{grades}");
    assert!(grades.lines().any(|line| line.starts_with("writes-results,0,")), "{grades}");
}

#[test]
fn a_missing_exercise_scores_zero_and_says_so() {
    assert_student("missing-exercise", 0, &["not_built", "not_built"]);
    let submission = submission("missing-exercise");
    assert_eq!(submission["exercises"][0]["status"], "missing");
}

#[test]
fn an_empty_folder_still_gets_a_row() {
    let (_, grades) = class_report();
    let submission = submission("empty");
    assert_eq!(submission["problem"], "the submission is empty");
    assert!(grades.lines().any(|line| line.starts_with("empty,0,0,3,")), "{grades}");
}

#[test]
fn grading_the_same_submission_twice_gives_the_same_report() {
    let kit = Kit::new();
    let submission = fixtures().join("submissions").join("partial");
    let mut reports = Vec::new();
    for run in 0..2 {
        let out = kit.path(&format!("grades-{run}"));
        let (code, output) = kit.xtask(&["grade", submission.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert_eq!(code, 0, "{output}");
        reports.push(std::fs::read(out.join("report.json")).expect("report.json"));
    }
    assert!(reports[0] == reports[1], "two gradings of one submission differ");
}

#[test]
fn a_submission_that_rewrites_the_kits_tests_stops_the_run() {
    let kit = Kit::new();
    let class = fixtures().join("tampering");
    let out = kit.path("grades");
    let (code, output) =
        kit.xtask(&["grade", class.to_str().unwrap(), "--out", out.to_str().unwrap(), "--test-seconds", "5"]);
    assert_eq!(code, 2, "tampering is the grader's failure to finish, exit code 2:\n{output}");
    assert!(output.contains("changed during grading"), "{output}");
    assert!(!out.join("grades.csv").exists(), "no report is written from a tampered run");
}
