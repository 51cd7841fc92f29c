//! `cargo xtask export` on the miniature fixture kit: the class template has no solutions and still verifies,
//! the Gradescope zip holds what Gradescope runs, and the grader writes Gradescope's results.

mod common;

use std::process::Command;

use common::{Kit, fixtures};

#[test]
fn the_classroom_template_has_no_solutions_and_its_starters_fail() {
    let kit = Kit::new();
    let template = kit.path("template");
    let (code, output) = kit.xtask(&["export", "classroom", "--out", template.to_str().unwrap()]);
    assert_eq!(code, 0, "{output}");
    assert!(!template.join("solutions").exists(), "no solutions in a class template");
    assert!(template.join(".github/workflows/classroom.yml").is_file(), "the grading workflow is there");
    let manifest = std::fs::read_to_string(template.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("\"solutions/"), "the workspace names no solutions:\n{manifest}");

    // verify, run on the template itself: the starters compile and fail every graded test.
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--root")
        .arg(&template)
        .args(["verify", "--no-book"])
        .env("CARGO_TARGET_DIR", kit.path("target"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "verify passes on the template:\n{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("2/2") && text.contains("(no solutions)"), "{text}");
}

#[test]
fn exporting_over_an_existing_folder_is_refused() {
    let kit = Kit::new();
    let (code, output) = kit.xtask(&["export", "classroom", "--out", kit.path("exercises").to_str().unwrap()]);
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("exists already"), "{output}");
}

#[test]
fn the_gradescope_zip_holds_the_scripts_and_the_kit_without_solutions() {
    let kit = Kit::new();
    let zip = kit.path("autograder.zip");
    let (code, output) = kit.xtask(&["export", "gradescope", "--out", zip.to_str().unwrap()]);
    assert_eq!(code, 0, "{output}");
    let Ok(listing) = Command::new("python3").args(["-m", "zipfile", "-l"]).arg(&zip).output() else {
        panic!("this test reads the zip with python3's zipfile module; install python3");
    };
    let listing = String::from_utf8_lossy(&listing.stdout);
    for expected in ["setup.sh", "run_autograder", "source/course.toml", "source/exercises/01-adding/tests/chapter.rs"]
    {
        assert!(listing.contains(expected), "{expected} is missing:\n{listing}");
    }
    assert!(!listing.contains("solutions/"), "no solutions in the autograder:\n{listing}");
}

#[test]
fn the_grader_writes_gradescope_results_for_one_submission() {
    let kit = Kit::new();
    let results = kit.path("results/results.json");
    let submission = fixtures().join("submissions/partial");
    let (code, output) = kit.xtask(&[
        "grade",
        submission.to_str().unwrap(),
        "--single",
        "--out",
        kit.path("grades").to_str().unwrap(),
        "--gradescope-results",
        results.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{output}");
    let results: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(results).unwrap()).unwrap();
    assert_eq!(results["score"], 1, "{results}");
    assert_eq!(results["tests"].as_array().map(Vec::len), Some(2), "{results}");
}
