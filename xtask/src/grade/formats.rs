//! The grader's output formats, each written from the one [`ClassReport`].
//!
//! - `grades.csv`: one row per student, one column per chapter, for a spreadsheet;
//! - `canvas.csv`: Canvas's gradebook import (its identity columns, then a "Points Possible" row);
//! - `feedback/STUDENT.md`: what each student reads: every test, its points, and why it failed;
//! - `gradescope/STUDENT/results.json`: Gradescope's autograder results;
//! - `junit.xml`: JUnit XML, for CI dashboards.
//!
//! Every value a student controls (their folder name, their compiler output) is escaped for its format.

use std::fmt::Write as _;

use serde_json::json;

use crate::xml::escape as xml;

#[cfg(test)]
use super::report::ProtectionReport;
use super::report::{ClassReport, ExerciseStatus, SubmissionReport, TestReport, TestStatus};

/// One row per student: points per chapter, total, maximum, and why a submission could not be graded.
pub fn grades_csv(report: &ClassReport) -> String {
    let mut header = vec!["student".to_owned()];
    header.extend(report.chapters.iter().map(|chapter| format!("ch{:02}-{}", chapter.number, chapter.slug)));
    header.extend(["total".into(), "max".into(), "problem".into()]);
    let mut rows = vec![header];
    for submission in &report.submissions {
        let mut row = vec![submission.student.clone()];
        row.extend(submission.exercises.iter().map(|exercise| exercise.score().to_string()));
        row.push(submission.score().to_string());
        row.push(submission.max_score().to_string());
        row.push(submission.problem.clone().unwrap_or_default());
        rows.push(row);
    }
    csv(&rows)
}

/// Canvas's gradebook import: `Student, ID, SIS User ID, SIS Login ID, Section`, then one column per chapter
/// (a new column name creates an assignment), a "Points Possible" row, and one row per student. The grader
/// knows students only by folder name, so that goes in `Student` and `SIS Login ID`: name the folders by SIS
/// login for Canvas to match them.
pub fn canvas_csv(report: &ClassReport) -> String {
    let mut header: Vec<String> =
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"].map(String::from).to_vec();
    header.extend(report.chapters.iter().map(|chapter| format!("Chapter {}: {}", chapter.number, chapter.title)));
    let mut possible: Vec<String> =
        vec!["    Points Possible".into(), String::new(), String::new(), String::new(), String::new()];
    possible.extend(report.chapters.iter().map(|chapter| chapter.points.to_string()));
    let mut rows = vec![header, possible];
    for submission in &report.submissions {
        let mut row =
            vec![submission.student.clone(), String::new(), String::new(), submission.student.clone(), String::new()];
        row.extend(submission.exercises.iter().map(|exercise| exercise.score().to_string()));
        rows.push(row);
    }
    csv(&rows)
}

/// RFC 4180 CSV with CRLF line ends. A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`
/// first) gets a leading `'`: a folder named `=HYPERLINK(...)` stays text.
fn csv(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().map(|cell| csv_cell(cell)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_cell(cell: &str) -> String {
    let defused = if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) || defused.starts_with(' ') || defused.ends_with(' ') {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// The Markdown a student reads.
pub fn feedback(report: &ClassReport, submission: &SubmissionReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}: feedback for {}\n", markdown_text(&report.course), markdown_text(&submission.student));
    let _ = writeln!(out, "**Total: {} / {} points**\n", submission.score(), submission.max_score());
    if let Some(problem) = &submission.problem {
        let _ = writeln!(out, "Your submission could not be graded: {problem}.\n");
    }
    for (exercise, chapter) in submission.exercises.iter().zip(&report.chapters) {
        let _ = writeln!(
            out,
            "## Chapter {}: {} ({} / {})\n",
            chapter.number,
            markdown_text(&chapter.title),
            exercise.score(),
            exercise.max_score()
        );
        match exercise.status {
            ExerciseStatus::Missing => {
                let _ =
                    writeln!(out, "No folder `exercises/{:02}-{}` in your submission.\n", chapter.number, chapter.slug);
            }
            ExerciseStatus::CompileError => {
                let _ = writeln!(out, "Your code does not compile, so no test could run. The compiler said:\n");
                let _ = writeln!(out, "{}", fenced(exercise.compiler_output.as_deref().unwrap_or("")));
            }
            ExerciseStatus::Graded | ExerciseStatus::NotGraded => {}
        }
        if !exercise.overlay.changed_outside_src.is_empty() {
            let files = exercise
                .overlay
                .changed_outside_src
                .iter()
                .map(|file| markdown_text(file))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(out, "Changed outside `src/`, and not used (the kit's own copies were): {files}.\n");
        }
        if !exercise.overlay.skipped.is_empty() {
            let skipped =
                exercise.overlay.skipped.iter().map(|file| markdown_text(file)).collect::<Vec<_>>().join("; ");
            let _ = writeln!(out, "Not copied from `src/`: {skipped}.\n");
        }
        let _ = writeln!(out, "| test | points | result |\n| --- | --- | --- |");
        for test in &exercise.tests {
            let _ =
                writeln!(out, "| `{}` | {} / {} | {} |", test.name, test.points, test.max_points, test.status.label());
        }
        out.push('\n');
        for test in exercise.tests.iter().filter(|test| test.status != TestStatus::Passed && !test.message.is_empty()) {
            let _ = writeln!(out, "### `{}`: {}\n\n{}", test.name, test.status.label(), fenced(&test.message));
        }
    }
    let _ = writeln!(out, "## How this was graded\n\n{}", protections_text(report));
    out
}

/// The protections that held while the class was graded, and those that did not, as a Markdown list.
fn protections_text(report: &ClassReport) -> String {
    let mut text = String::new();
    for held in &report.protections.held {
        let _ = writeln!(text, "- {}", markdown_text(held));
    }
    for missing in &report.protections.missing {
        let _ = writeln!(text, "- **Not in place here:** {}", markdown_text(missing));
    }
    text
}

/// Text a student controls (a folder or file name), made inert in Markdown: no HTML, no formatting.
fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block whose fence is longer than any run of backticks in `text`.
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}\n", text.trim_end())
}

/// Gradescope's `results.json` for one submission: one test entry per graded test, numbered `chapter.test`.
pub fn gradescope(report: &ClassReport, submission: &SubmissionReport) -> String {
    let mut tests = Vec::new();
    for (exercise, chapter) in submission.exercises.iter().zip(&report.chapters) {
        for (index, test) in exercise.tests.iter().enumerate() {
            let output = gradescope_output(exercise.compiler_output.as_deref(), test);
            tests.push(json!({
                "name": format!("Chapter {}: {}", chapter.number, test.name),
                "number": format!("{}.{}", chapter.number, index + 1),
                "score": test.points,
                "max_score": test.max_points,
                "status": if test.status == TestStatus::Passed { "passed" } else { "failed" },
                "output": output,
                "visibility": "visible",
            }));
        }
    }
    let output = match &submission.problem {
        Some(problem) => format!("Your submission could not be graded: {problem}."),
        None => format!(
            "{} / {} points. Each test's output says why it failed.",
            submission.score(),
            submission.max_score()
        ),
    };
    let output = format!("{output}\n\nHow this was graded:\n{}", protections_text(report));
    let results = json!({ "score": submission.score(), "output": output, "visibility": "visible", "tests": tests });
    serde_json::to_string_pretty(&results).unwrap_or_default() + "\n"
}

fn gradescope_output(compiler_output: Option<&str>, test: &TestReport) -> String {
    match (test.status, compiler_output) {
        (TestStatus::Passed, _) => "passed".into(),
        (TestStatus::NotBuilt, Some(errors)) => format!("not built: the exercise does not compile.\n{errors}"),
        (status, _) => format!("{}: {}", status.label(), test.message),
    }
}

/// The GitHub Classroom reporter's results (`autograding-grading-reporter`): one runner, one entry per test.
pub fn github_classroom(report: &ClassReport, submission: &SubmissionReport) -> String {
    let mut tests = Vec::new();
    for (exercise, chapter) in submission.exercises.iter().zip(&report.chapters) {
        for test in &exercise.tests {
            tests.push(json!({
                "name": format!("Chapter {}: {}", chapter.number, test.name),
                "status": if test.status == TestStatus::Passed { "pass" } else { "fail" },
                "score": test.points,
                "max_score": test.max_points,
                "message": gradescope_output(exercise.compiler_output.as_deref(), test),
            }));
        }
    }
    let status = if submission.score() == submission.max_score() { "pass" } else { "fail" };
    let results = json!({ "version": 1, "status": status, "max_score": submission.max_score(), "tests": tests });
    serde_json::to_string(&results).unwrap_or_default() + "\n"
}

/// JUnit XML: a `testsuite` per student and chapter, a `testcase` per graded test.
pub fn junit(report: &ClassReport) -> String {
    let mut suites = String::new();
    let (mut total, mut failures, mut errors) = (0, 0, 0);
    for submission in &report.submissions {
        for (exercise, chapter) in submission.exercises.iter().zip(&report.chapters) {
            let mut cases = String::new();
            let (mut suite_failures, mut suite_errors) = (0, 0);
            for test in &exercise.tests {
                let _ = write!(
                    cases,
                    "    <testcase classname=\"{}.ch{:02}\" name=\"{}\">",
                    xml(&submission.student),
                    chapter.number,
                    xml(&test.name)
                );
                match test.status {
                    TestStatus::Passed => {}
                    TestStatus::Failed | TestStatus::Panicked => {
                        suite_failures += 1;
                        let _ = write!(
                            cases,
                            "<failure type=\"{}\" message=\"{}\">{}</failure>",
                            test.status.label(),
                            xml(first_line(&test.message)),
                            xml(&test.message)
                        );
                    }
                    _ => {
                        suite_errors += 1;
                        let detail = match (test.status, &exercise.compiler_output) {
                            (TestStatus::NotBuilt, Some(errors)) => errors.clone(),
                            _ => test.message.clone(),
                        };
                        let _ = write!(
                            cases,
                            "<error type=\"{}\" message=\"{}\">{}</error>",
                            test.status.label(),
                            xml(first_line(&detail)),
                            xml(&detail)
                        );
                    }
                }
                cases.push_str("</testcase>\n");
            }
            total += exercise.tests.len();
            failures += suite_failures;
            errors += suite_errors;
            let _ = write!(
                suites,
                "  <testsuite name=\"{} ch{:02} {}\" tests=\"{}\" failures=\"{suite_failures}\" errors=\"{suite_errors}\" skipped=\"0\">\n    <properties><property name=\"points\" value=\"{}/{}\"/></properties>\n{cases}  </testsuite>\n",
                xml(&submission.student),
                chapter.number,
                xml(&chapter.slug),
                exercise.tests.len(),
                exercise.score(),
                exercise.max_score()
            );
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\">\n{suites}</testsuites>\n",
        xml(&report.course)
    )
}

fn first_line(text: &str) -> &str {
    text.lines().find(|line| !line.trim().is_empty()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    //! Golden files: each format written from one sample report, compared byte for byte with the files in
    //! xtask/tests/golden/. After a deliberate change, `UPDATE_GOLDEN=1 cargo test -p xtask golden` rewrites
    //! them; read the diff before committing it.

    use super::*;
    use crate::grade::report::{ChapterInfo, ExerciseReport};
    use crate::grade::submission::Overlay;
    use std::path::Path;

    fn test(name: &str, points: u32, status: TestStatus, message: &str) -> TestReport {
        let earned = if status == TestStatus::Passed { points } else { 0 };
        TestReport { name: name.into(), points: earned, max_points: points, status, message: message.into() }
    }

    fn exercise(chapter: u32, slug: &str, status: ExerciseStatus, tests: Vec<TestReport>) -> ExerciseReport {
        ExerciseReport {
            chapter,
            slug: slug.into(),
            status,
            compiler_output: None,
            overlay: Overlay { present: true, ..Overlay::default() },
            tests,
        }
    }

    /// Three students: one with every kind of result, one whose code does not compile, one not gradable, and
    /// names chosen to break careless CSV and XML writers.
    fn sample() -> ClassReport {
        let mut edited = exercise(
            1,
            "clients-servers",
            ExerciseStatus::Graded,
            vec![
                test("health_route_answers_ok", 2, TestStatus::Passed, ""),
                test(
                    "chat_page_is_served_as_html",
                    2,
                    TestStatus::Failed,
                    "assertion `left == right` failed: <html> & \"quotes\"\n  left: 404\n right: 200",
                ),
                test("fifty_clients", 3, TestStatus::TimedOut, "killed after 30s: the test did not finish in time"),
            ],
        );
        edited.overlay.changed_outside_src = vec!["tests/chapter.rs".into()];
        let second = exercise(
            2,
            "websockets",
            ExerciseStatus::Graded,
            vec![
                test(
                    "server_speaks_first",
                    2,
                    TestStatus::Panicked,
                    "thread 'server_speaks_first' panicked at exercises/02-websockets/src/lib.rs:9:5:\nnot yet implemented: ```code```",
                ),
                test("echo", 1, TestStatus::OutputLimit, "killed: the test printed more than 256 KiB"),
            ],
        );
        let mut broken = exercise(
            1,
            "clients-servers",
            ExerciseStatus::CompileError,
            vec![
                test("health_route_answers_ok", 2, TestStatus::NotBuilt, "the exercise does not compile"),
                test("chat_page_is_served_as_html", 2, TestStatus::NotBuilt, "the exercise does not compile"),
                test("fifty_clients", 3, TestStatus::NotBuilt, "the exercise does not compile"),
            ],
        );
        broken.compiler_output =
            Some("error: expected expression\n --> exercises/01-clients-servers/src/lib.rs:3:1".into());
        let missing = exercise(
            2,
            "websockets",
            ExerciseStatus::Missing,
            vec![
                test(
                    "server_speaks_first",
                    2,
                    TestStatus::NotBuilt,
                    "the exercise's folder is missing from the submission",
                ),
                test("echo", 1, TestStatus::NotBuilt, "the exercise's folder is missing from the submission"),
            ],
        );
        let mut not_graded = vec![broken.clone(), missing.clone()];
        for exercise in &mut not_graded {
            exercise.status = ExerciseStatus::NotGraded;
            exercise.compiler_output = None;
            for test in &mut exercise.tests {
                test.message = "the submission is empty".into();
            }
        }
        ClassReport {
            course: "Real-time <messaging> & more".into(),
            protections: ProtectionReport {
                held: vec!["each test ran in its own process, with a time limit and an output cap".into()],
                missing: vec!["no sandbox (bubblewrap is not installed): student code ran as the grader's user".into()],
            },
            chapters: vec![
                ChapterInfo {
                    number: 1,
                    slug: "clients-servers".into(),
                    title: "Clients and servers".into(),
                    points: 7,
                },
                ChapterInfo { number: 2, slug: "websockets".into(), title: "WebSockets, \"really\"".into(), points: 3 },
            ],
            submissions: vec![
                SubmissionReport {
                    student: "=HYPERLINK(\"x\")".into(),
                    problem: None,
                    exercises: vec![edited, second],
                },
                SubmissionReport { student: "bob, jr".into(), problem: None, exercises: vec![broken, missing] },
                SubmissionReport {
                    student: "carol<script>".into(),
                    problem: Some("the submission is empty".into()),
                    exercises: not_graded,
                },
            ],
        }
    }

    fn check(name: &str, actual: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).expect("write the golden file");
        }
        let expected =
            std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
        assert!(
            expected == actual,
            "{name} differs from its golden file; if the change is deliberate, UPDATE_GOLDEN=1"
        );
    }

    #[test]
    fn golden_grades_csv() {
        check("grades.csv", &grades_csv(&sample()));
    }

    #[test]
    fn golden_canvas_csv() {
        check("canvas.csv", &canvas_csv(&sample()));
    }

    #[test]
    fn golden_junit_xml() {
        check("junit.xml", &junit(&sample()));
    }

    #[test]
    fn golden_feedback() {
        let report = sample();
        let all: String = report
            .submissions
            .iter()
            .map(|submission| feedback(&report, submission))
            .collect::<Vec<_>>()
            .join("\n---\n\n");
        check("feedback.md", &all);
    }

    #[test]
    fn golden_gradescope() {
        let report = sample();
        check("gradescope-results.json", &gradescope(&report, &report.submissions[0]));
    }

    #[test]
    fn golden_github_classroom() {
        let report = sample();
        check("github-classroom.json", &github_classroom(&report, &report.submissions[0]));
    }

    #[test]
    fn gradescope_results_have_the_fields_gradescope_reads() {
        let report = sample();
        let results: serde_json::Value = serde_json::from_str(&gradescope(&report, &report.submissions[1])).unwrap();
        assert_eq!(results["score"], 0);
        for test in results["tests"].as_array().unwrap() {
            for field in ["name", "number", "score", "max_score", "status", "output", "visibility"] {
                assert!(test.get(field).is_some(), "a test lacks {field}: {test}");
            }
            assert!(["passed", "failed"].contains(&test["status"].as_str().unwrap()));
        }
    }

    #[test]
    fn a_formula_in_a_student_id_stays_text() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-3"), "-3", "a negative number is a number, not a formula");
        assert_eq!(csv_cell("plain"), "plain");
    }

    #[test]
    fn a_fence_outlasts_the_backticks_inside() {
        assert!(fenced("a ```` b").starts_with("`````text\n"));
    }
}
