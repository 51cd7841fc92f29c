//! A solution's source as a student would hand it in. Shared, by `#[path]`, with the grader's tests.

use std::path::Path;

/// The solution reaches the exercise's given files through a `#[path = "../../../exercises/NN-slug/src/..."]`
/// (one `../` more from `src/client/`), where the student's program has them beside it; chapter 1's page is
/// `include_str!`'d from the exercise's folder. `exercise` is the exercise's folder from the kit's root.
pub fn as_submission(solution: &str, exercise: &Path) -> String {
    let given = format!("{}/", exercise.display());
    let kept: String = solution
        .lines()
        .filter(|line| !(line.starts_with("#[path = \"") && line.contains(&given)))
        .map(|line| format!("{line}\n"))
        .collect();
    kept.replace(&format!("../../../{given}"), "../")
}
