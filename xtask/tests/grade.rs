//! `cargo xtask grade` on classes of fixture submissions against the miniature fixture kit, and one forger
//! against the real kit: each submission gets the score and the status it deserves, the class run completes,
//! and no submission can forge a score or change anything but its own scratch copy.
//!
//! The hostile classes need bubblewrap, the grader's sandbox: without it a check is reported as skipped, by
//! name, with the command that installs it (and fails on CI, which installs it).

#[path = "../src/grade/as_submission.rs"]
mod as_submission;
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

use as_submission::as_submission;
use common::{Kit, copy_tree, fixtures};
use harness::{Check, Need};
use serde_json::Value;

const SANDBOX: &[Need] = &[Need::Program("bwrap")];
/// Grading the whole kit compiles every dependency again, in the grader's own target folder (minutes, the
/// first time): the first self-check on a new machine leaves it to `cargo xtask check --full`.
const SANDBOX_AND_TIME: &[Need] = &[Need::Program("bwrap"), Need::FullCheck];

fn main() -> ExitCode {
    let checks = vec![
        Check::new("a_complete_submission_scores_everything", &[], || {
            assert_student(class(), "complete", 3, &["passed", "passed"]);
        }),
        Check::new("a_partial_submission_scores_what_it_earned", &[], || {
            assert_student(class(), "partial", 1, &["passed", "failed"]);
        }),
        Check::new("code_that_does_not_compile_scores_zero_with_the_compiler_message", &[], not_compiling),
        Check::new("an_infinite_loop_is_stopped_and_scores_zero", &[], || {
            assert_student(class(), "infinite-loop", 0, &["timed_out", "timed_out"]);
        }),
        Check::new("a_panic_in_student_code_is_named_as_such", &[], || {
            assert_student(class(), "panicking", 0, &["panicked", "panicked"]);
        }),
        Check::new("a_flood_of_output_is_read_and_never_reaches_the_report", &[], flood),
        Check::new("edited_tests_are_replaced_by_the_kits_own", &[], edited_tests),
        Check::new("deleted_tests_are_restored", &[], deleted_tests),
        Check::new("a_hand_in_of_src_alone_reports_no_changes", &[], || {
            let row = submission(class(), "complete");
            assert_eq!(row["exercises"][0]["overlay"]["changed_outside_src"], serde_json::json!([]));
        }),
        Check::new("an_edited_cargo_toml_is_reported_and_not_used", &[], edited_manifest),
        Check::new("a_test_cannot_write_its_own_score", &[], writes_results),
        Check::new("a_missing_exercise_scores_zero_and_says_so", &[], missing_exercise),
        Check::new("an_empty_folder_still_gets_a_row", &[], empty_folder),
        Check::new("grading_the_same_submission_twice_gives_the_same_report", &[], reproducible),
        Check::new("every_report_says_which_protections_held", &[], protections_reported),
        Check::new("hostile_submissions_score_nothing_and_change_nothing", SANDBOX, hostile_class),
        Check::new("a_forged_result_is_worth_nothing", SANDBOX, || {
            hostile_scores_zero("forger");
            let said = messages(&hostile().graded, "forger");
            assert!(said.contains("left: \"ok\""), "the feedback shows what the program printed:\n{said}");
        }),
        Check::new("writing_into_the_tests_output_through_proc_is_worth_nothing", SANDBOX, || {
            hostile_scores_zero("proc-forger")
        }),
        Check::new("the_test_binaries_are_out_of_reach", SANDBOX, || hostile_scores_zero("binary-overwriter")),
        Check::new("killing_the_test_is_worth_nothing", SANDBOX, || hostile_scores_zero("parent-killer")),
        Check::new("the_kit_and_the_other_submissions_cannot_be_rewritten", SANDBOX, || {
            hostile_scores_zero("kit-rewriter")
        }),
        Check::new("a_build_cannot_read_the_kits_solutions", SANDBOX, compile_time_reader),
        Check::new("a_tamperer_cannot_stop_the_class", SANDBOX, tampering_in_the_sandbox),
        Check::new("without_a_sandbox_tampering_with_the_kit_stops_the_run", &[], tampering_without_sandbox),
        Check::new("without_a_sandbox_a_replaced_test_binary_stops_the_run", &[], binary_overwriter_without_sandbox),
        Check::new("a_forger_in_every_chapter_of_the_real_kit_scores_zero", SANDBOX_AND_TIME, forger_in_every_chapter),
        Check::new(
            "every_plausible_mistake_fails_its_own_test_and_names_its_section",
            SANDBOX_AND_TIME,
            plausible_mistakes,
        ),
    ];
    harness::run(checks)
}

/// A graded class: its report, its gradebook, and everything the xtask printed.
struct Graded {
    report: Value,
    grades: String,
}

/// Grades a class folder with the fixture kit; `extra` are more arguments to `grade`.
fn grade(kit: &Kit, class: &Path, extra: &[&str]) -> (i32, String, Option<Graded>) {
    let out = kit.path("grades");
    let mut args = vec![
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
    ];
    args.extend_from_slice(extra);
    let (code, output) = kit.xtask(&args);
    let graded = std::fs::read_to_string(out.join("report.json")).ok().map(|report| Graded {
        report: serde_json::from_str(&report).expect("report.json parses"),
        grades: std::fs::read_to_string(out.join("grades.csv")).expect("grades.csv is written with report.json"),
    });
    (code, output, graded)
}

/// The fixture class (tests/fixtures/submissions, and an empty folder), graded once for all its checks.
fn class() -> &'static Graded {
    static CLASS: OnceLock<Graded> = OnceLock::new();
    CLASS.get_or_init(|| {
        let kit = Kit::new();
        let class = kit.path("class");
        copy_tree(&fixtures().join("submissions"), &class);
        std::fs::create_dir_all(class.join("empty")).expect("an empty submission folder");
        let (code, output, graded) = grade(&kit, &class, &[]);
        assert_eq!(code, 0, "the class run completes:\n{output}");
        graded.unwrap_or_else(|| panic!("the reports are written:\n{output}"))
    })
}

/// The hostile class (tests/fixtures/hostile), graded once, with the fingerprints of the kit and of the class
/// taken before and after.
struct Hostile {
    graded: Graded,
    kit_before: BTreeMap<String, Vec<u8>>,
    kit_after: BTreeMap<String, Vec<u8>>,
    class_before: BTreeMap<String, Vec<u8>>,
    class_after: BTreeMap<String, Vec<u8>>,
}

fn hostile() -> &'static Hostile {
    static HOSTILE: OnceLock<Hostile> = OnceLock::new();
    HOSTILE.get_or_init(|| {
        let kit = Kit::new();
        let class = kit.path("class");
        copy_tree(&fixtures().join("hostile"), &class);
        let (kit_before, class_before) = (files(&kit.path(""), &["target", "class", "grades"]), files(&class, &[]));
        let (code, output, graded) = grade(&kit, &class, &[]);
        assert_eq!(code, 0, "the class run completes, whatever the submissions did:\n{output}");
        let graded = graded.unwrap_or_else(|| panic!("the reports are written:\n{output}"));
        let (kit_after, class_after) = (files(&kit.path(""), &["target", "class", "grades"]), files(&class, &[]));
        Hostile { graded, kit_before, kit_after, class_before, class_after }
    })
}

/// Every file under `root` (but the folders named in `skip`), by relative path, with its content.
fn files(root: &Path, skip: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(root).expect("under the root").to_string_lossy().into_owned();
            if skip.iter().any(|skipped| relative == *skipped) {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else {
                found.insert(relative, std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    found
}

/// The report's row for one student.
fn submission<'a>(graded: &'a Graded, student: &str) -> &'a Value {
    let rows = graded.report["submissions"].as_array().expect("submissions");
    rows.iter().find(|row| row["student"] == student).unwrap_or_else(|| panic!("no row for {student}"))
}

/// Checks a student's points and the status of each test, in the manifest's order.
fn assert_student(graded: &Graded, student: &str, score: u64, statuses: &[&str]) {
    let tests = submission(graded, student)["exercises"][0]["tests"].as_array().expect("tests");
    let actual_score: u64 = tests.iter().map(|test| test["points"].as_u64().unwrap_or(0)).sum();
    let actual: Vec<&str> = tests.iter().map(|test| test["status"].as_str().unwrap_or("?")).collect();
    assert_eq!((actual_score, actual.as_slice()), (score, statuses), "{student}: {tests:#?}");
}

fn messages(graded: &Graded, student: &str) -> String {
    let tests = submission(graded, student)["exercises"][0]["tests"].as_array().expect("tests");
    tests.iter().map(|test| test["message"].as_str().unwrap_or_default()).collect::<Vec<_>>().join("\n---\n")
}

fn not_compiling() {
    assert_student(class(), "not-compiling", 0, &["not_built", "not_built"]);
    let message = submission(class(), "not-compiling")["exercises"][0]["compiler_output"].as_str().unwrap_or_default();
    assert!(message.contains("exercises/01-adding/src/main.rs"), "paths are relative to the submission:\n{message}");
    assert!(!message.contains("/tmp/"), "no scratch paths leak into the message:\n{message}");
}

fn flood() {
    // 100 MB on its standard error, then the right answer: the test reads it all and keeps a few lines.
    assert_student(class(), "huge-output", 3, &["passed", "passed"]);
}

fn edited_tests() {
    assert_student(class(), "tests-edited", 0, &["panicked", "panicked"]);
    let changed = &submission(class(), "tests-edited")["exercises"][0]["overlay"]["changed_outside_src"];
    assert!(changed.to_string().contains("tests/chapter.rs"), "the edit is reported: {changed}");
}

fn deleted_tests() {
    assert_student(class(), "tests-deleted", 3, &["passed", "passed"]);
    let changed = submission(class(), "tests-deleted")["exercises"][0]["overlay"]["changed_outside_src"].to_string();
    assert!(changed.contains("tests/chapter.rs"), "a full copy without its tests is reported: {changed}");
}

fn edited_manifest() {
    assert_student(class(), "cargo-edited", 3, &["passed", "passed"]);
    let row = submission(class(), "cargo-edited");
    assert!(row["exercises"][0]["overlay"]["changed_outside_src"].to_string().contains("Cargo.toml"));
}

fn writes_results() {
    // The submission looks for the grader's --out folder to write a forged gradebook there; the grader writes
    // every report after the student's processes are gone (and, in the sandbox, the folder is not in sight).
    assert_student(class(), "writes-results", 0, &["panicked", "panicked"]);
    let graded = class();
    assert!(graded.report.get("forged").is_none(), "report.json is the grader's: {}", graded.report);
    assert!(!graded.grades.contains("999"), "the forged gradebook did not survive:\n{}", graded.grades);
    assert!(graded.grades.lines().any(|line| line.starts_with("writes-results,0,")), "{}", graded.grades);
}

fn missing_exercise() {
    assert_student(class(), "missing-exercise", 0, &["not_built", "not_built"]);
    assert_eq!(submission(class(), "missing-exercise")["exercises"][0]["status"], "missing");
}

fn empty_folder() {
    assert_eq!(submission(class(), "empty")["problem"], "the submission is empty");
    assert!(class().grades.lines().any(|line| line.starts_with("empty,0,0,3,")), "{}", class().grades);
}

fn reproducible() {
    let kit = Kit::new();
    let student = fixtures().join("submissions").join("partial");
    let mut reports = Vec::new();
    for run in 0..2 {
        let out = kit.path(&format!("grades-{run}"));
        let (code, output) = kit.xtask(&["grade", student.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert_eq!(code, 0, "{output}");
        reports.push(std::fs::read(out.join("report.json")).expect("report.json"));
    }
    assert!(reports[0] == reports[1], "two gradings of one submission differ");
}

fn protections_reported() {
    let protections = &class().report["protections"];
    let held = protections["held"].as_array().expect("a list of what held");
    assert!(!held.is_empty(), "{protections}");
    let kit = Kit::new();
    let out = kit.path("grades");
    let student = fixtures().join("submissions").join("complete");
    let (code, output) =
        kit.xtask(&["grade", student.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-sandbox"]);
    assert_eq!(code, 0, "{output}");
    let feedback = std::fs::read_to_string(out.join("feedback/complete.md")).expect("feedback is written");
    assert!(feedback.contains("## How this was graded"), "{feedback}");
    assert!(feedback.contains("Not in place here:** no sandbox (turned off with --no-sandbox)"), "{feedback}");
    assert!(output.contains("NOT HELD: no sandbox"), "the summary says so too:\n{output}");
}

fn hostile_class() {
    let hostile = hostile();
    assert_student(&hostile.graded, "z-honest", 3, &["passed", "passed"]);
    assert!(
        hostile.kit_before == hostile.kit_after,
        "the kit is byte for byte what it was: {}",
        changed(&hostile.kit_before, &hostile.kit_after)
    );
    assert!(
        hostile.class_before == hostile.class_after,
        "every submission is byte for byte what it was: {}",
        changed(&hostile.class_before, &hostile.class_after)
    );
    let missing = &hostile.graded.report["protections"]["missing"];
    assert_eq!(missing, &serde_json::json!([]), "every protection held on this machine");
}

fn changed(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) -> String {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| before.get(*name) != after.get(*name))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn hostile_scores_zero(student: &str) {
    let graded = &hostile().graded;
    let tests = submission(graded, student)["exercises"][0]["tests"].as_array().expect("tests");
    let points: u64 = tests.iter().map(|test| test["points"].as_u64().unwrap_or(0)).sum();
    assert_eq!(points, 0, "{student} scores nothing: {tests:#?}");
    assert!(tests.iter().all(|test| test["status"] != "passed"), "{student}: {tests:#?}");
}

fn compile_time_reader() {
    hostile_scores_zero("compile-time-reader");
    let row = submission(&hostile().graded, "compile-time-reader");
    assert_eq!(row["exercises"][0]["status"], "compile_error", "{row:#}");
    let message = row["exercises"][0]["compiler_output"].as_str().unwrap_or_default();
    assert!(
        message.contains("couldn't read") && message.contains("solutions/01-adding"),
        "the feedback says why:\n{message}"
    );
}

fn tampering_in_the_sandbox() {
    let kit = Kit::new();
    let before = files(&kit.path(""), &["target", "grades"]);
    let (code, output, graded) = grade(&kit, &fixtures().join("tampering"), &[]);
    assert_eq!(code, 0, "the tamperer cannot reach the kit, so the class is graded:\n{output}");
    let graded = graded.expect("reports are written");
    assert_student(&graded, "a-tamperer", 0, &["panicked", "panicked"]);
    assert_student(&graded, "b-honest", 3, &["passed", "passed"]);
    let after = files(&kit.path(""), &["target", "grades"]);
    assert!(before == after, "the kit is unchanged: {}", changed(&before, &after));
}

fn tampering_without_sandbox() {
    let kit = Kit::new();
    let (code, output, graded) = grade(&kit, &fixtures().join("tampering"), &["--no-sandbox"]);
    assert_eq!(code, 2, "tampering is the grader's failure to finish, exit code 2:\n{output}");
    assert!(output.contains("changed during grading"), "{output}");
    assert!(graded.is_none(), "no report is written from a tampered run");
}

fn binary_overwriter_without_sandbox() {
    let kit = Kit::new();
    let class = kit.path("class");
    copy_tree(&fixtures().join("hostile/binary-overwriter"), &class.join("binary-overwriter"));
    let (code, output, graded) = grade(&kit, &class, &["--no-sandbox"]);
    assert_eq!(code, 2, "a replaced test binary stops the run:\n{output}");
    assert!(output.contains("test binary of chapter 1 changed"), "{output}");
    assert!(graded.is_none(), "no report is written from a tampered run");
}

/// The forgery of the in-process days, in every chapter of the real kit: each `todo!(...)` of every starter
/// replaced by a function that writes `ok` to standard output and exits with success. An honest classmate,
/// the reference solutions handed in as a student would, is graded in the same run: the forger's zero must be
/// the grader's doing, not a broken run's.
fn forger_in_every_chapter() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the kit's root").to_path_buf();
    let work = tempfile::tempdir().expect("a temporary folder");
    let class = work.path().join("class");
    let exercises = std::fs::read_dir(root.join("exercises")).expect("the kit's exercises").flatten();
    // Every exercise's folder (beside them is `starters.lock`, a file).
    for exercise in exercises.filter(|entry| entry.path().is_dir()) {
        let name = exercise.file_name();
        let relative = Path::new("exercises").join(&name);
        for (student, from, transform) in [
            ("forger", exercise.path().join("src"), forge as fn(&str, &Path) -> String),
            ("honest", root.join("solutions").join(&name).join("src"), as_submission),
        ] {
            let into = class.join(student).join(&relative).join("src");
            std::fs::create_dir_all(&into).expect("a folder");
            // The starter's files first (the given ones), then the student's own over them, folders and all
            // (chapter 10's client is in `src/client/`).
            for folder in [exercise.path().join("src"), from] {
                copy_sources(&folder, &into, &|text| transform(text, &relative));
            }
        }
    }
    let graded = grade_with_the_real_kit(&root, &class, &work.path().join("grades"));
    for exercise in submission(&graded, "forger")["exercises"].as_array().expect("exercises") {
        let tests = exercise["tests"].as_array().expect("tests");
        let passed: Vec<&str> =
            tests.iter().filter(|test| test["status"] == "passed").filter_map(|test| test["name"].as_str()).collect();
        assert!(passed.is_empty(), "chapter {}: the forger passed {passed:?}", exercise["chapter"]);
        assert_eq!(exercise["status"], "graded", "chapter {} was graded: {exercise:#}", exercise["chapter"]);
    }
    for exercise in submission(&graded, "honest")["exercises"].as_array().expect("exercises") {
        let tests = exercise["tests"].as_array().expect("tests");
        let failed: Vec<&Value> = tests.iter().filter(|test| test["status"] != "passed").collect();
        assert!(failed.is_empty(), "chapter {}: the honest submission lost {failed:#?}", exercise["chapter"]);
    }
}

/// The mistakes of `course.toml` (`[[chapter.mistake]]`), each made in a copy of its chapter's solution and
/// graded as a student's work: the named test must fail, and its message must name the named section.
fn plausible_mistakes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the kit's root").to_path_buf();
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("course.toml")).expect("course.toml")).expect("parses");
    let work = tempfile::tempdir().expect("a temporary folder");
    let class = work.path().join("class");
    // (student, chapter number, the mistake's words, the test, the section)
    let mut expected: Vec<(String, i64, String, String, String)> = Vec::new();
    for chapter in manifest["chapter"].as_array().expect("chapters") {
        let number = chapter["number"].as_integer().expect("a number");
        let relative = Path::new(chapter["exercise"].as_str().expect("an exercise")).to_path_buf();
        let solution = root.join(chapter["solution"].as_str().expect("a solution")).join("src");
        for (index, mistake) in chapter.get("mistake").and_then(|m| m.as_array()).into_iter().flatten().enumerate() {
            let field = |name: &str| mistake[name].as_str().expect("a string field").to_owned();
            let student = format!("mistake-{number:02}-{}", index + 1);
            let into = class.join(&student).join(&relative).join("src");
            for folder in [root.join(&relative).join("src"), solution.clone()] {
                copy_sources(&folder, &into, &|text| as_submission(text, &relative));
            }
            let file = into.join(field("file"));
            let text = std::fs::read_to_string(&file).expect("the mistake's file");
            assert!(text.contains(&field("replace")), "{student}: {:?} is not in {}", field("replace"), file.display());
            std::fs::write(&file, text.replacen(&field("replace"), &field("with"), 1)).expect("write the mistake");
            expected.push((student, number, field("what"), field("fails"), field("section")));
        }
    }
    assert!(!expected.is_empty(), "course.toml lists no mistakes");
    let graded = grade_with_the_real_kit(&root, &class, &work.path().join("grades"));
    let mut wrong = Vec::new();
    for (student, number, what, fails, section) in &expected {
        let exercises = submission(&graded, student)["exercises"].as_array().expect("exercises");
        let exercise = exercises.iter().find(|exercise| exercise["chapter"] == *number).expect("the chapter's row");
        let tests = exercise["tests"].as_array().expect("tests");
        let test = tests.iter().find(|test| test["name"] == fails.as_str()).expect("the named test");
        let message = test["message"].as_str().unwrap_or("");
        let named =
            message.contains(&format!("chapter {number} ")) && message.contains(&format!("section \"{section}\""));
        if test["status"] == "passed" || !named {
            let others: Vec<&str> = tests
                .iter()
                .filter(|test| test["status"] != "passed")
                .filter_map(|test| test["name"].as_str())
                .collect();
            wrong.push(format!(
                "chapter {number}, {what:?}: `{fails}` should fail naming section {section:?}; it {}: {message}\n  \
                 (failing: {others:?})",
                test["status"]
            ));
        }
    }
    assert!(wrong.is_empty(), "mistakes the tests do not catch, or send to the wrong section:\n{}", wrong.join("\n"));
}

/// Grades the class folder `class` with the kit this test belongs to, its reports written to `out`.
fn grade_with_the_real_kit(root: &Path, class: &Path, out: &Path) -> Graded {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--root")
        .arg(root)
        .args(["grade", class.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .expect("run the grader");
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the grader finishes:\n{printed}");
    let text = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    Graded { report: serde_json::from_str(&text).expect("parses"), grades: String::new() }
}

/// Copies the Rust sources of `from` into `into`, through `transform`, keeping their folders.
fn copy_sources(from: &Path, into: &Path, transform: &dyn Fn(&str) -> String) {
    std::fs::create_dir_all(into).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a source folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_sources(&path, &into.join(entry.file_name()), transform);
        } else {
            let text = std::fs::read_to_string(&path).expect("a source file");
            std::fs::write(into.join(entry.file_name()), transform(&text)).expect("write");
        }
    }
}

/// `text` with every `todo!(...)` replaced by a call to `forge()`, and `forge` defined at the end of the file
/// that has `fn main`.
fn forge(text: &str, _exercise: &Path) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("todo!(") {
        out.push_str(&rest[..start]);
        let mut depth = 0;
        let mut end = start;
        for (offset, c) in rest[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + offset + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push_str("crate::forge()");
        rest = &rest[end..];
    }
    out.push_str(rest);
    if out.contains("fn main()") {
        out.push_str(
            "\n#[allow(dead_code)]\nfn forge() -> ! {\n    use std::io::Write;\n    let _ = std::io::stdout().write_all(b\"ok\\n\");\n    \
             let _ = std::io::stdout().flush();\n    std::process::exit(0)\n}\n",
        );
    }
    out
}
