//! What grading found, in one serialisable model that every output format is written from.

use serde::Serialize;

use super::submission::Overlay;

#[derive(Debug, Clone, Serialize)]
pub struct ClassReport {
    pub course: String,
    /// What kept student code from harming the grading, and what this machine could not arrange.
    pub protections: ProtectionReport,
    pub submissions: Vec<SubmissionReport>,
    /// Per chapter: (number, title, points possible).
    pub chapters: Vec<ChapterInfo>,
}

/// Which protections held while this class was graded, each in a sentence.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProtectionReport {
    pub held: Vec<String>,
    /// Empty when everything held.
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChapterInfo {
    pub number: u32,
    pub slug: String,
    pub title: String,
    pub points: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubmissionReport {
    pub student: String,
    /// Set when the submission could not be graded at all (empty, not a workspace): every exercise scores 0.
    pub problem: Option<String>,
    pub exercises: Vec<ExerciseReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExerciseReport {
    pub chapter: u32,
    pub slug: String,
    pub status: ExerciseStatus,
    /// The compiler's errors, paths relative to the submission (when `status` is `compile_error`).
    pub compiler_output: Option<String>,
    pub overlay: Overlay,
    pub tests: Vec<TestReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExerciseStatus {
    Graded,
    /// The submission has no folder for this exercise.
    Missing,
    CompileError,
    /// The submission itself could not be graded.
    NotGraded,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub name: String,
    pub points: u32,
    pub max_points: u32,
    pub status: TestStatus,
    /// What the student should read: the failure message, or why the test did not count.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    Passed,
    /// An assertion in the test failed.
    Failed,
    /// The student's code panicked (a `todo!()`, an `unwrap()` on an error, ...).
    Panicked,
    /// Killed after the per-test or per-exercise time limit.
    TimedOut,
    /// Killed for printing more than the output cap.
    OutputLimit,
    /// The test was never seen to run (the binary exited without reporting it, or it was skipped).
    NotRun,
    /// The exercise did not compile, was missing, or the submission could not be graded.
    NotBuilt,
}

impl TestStatus {
    pub fn label(self) -> &'static str {
        match self {
            TestStatus::Passed => "passed",
            TestStatus::Failed => "failed",
            TestStatus::Panicked => "panicked",
            TestStatus::TimedOut => "timed out",
            TestStatus::OutputLimit => "output limit",
            TestStatus::NotRun => "did not run",
            TestStatus::NotBuilt => "not built",
        }
    }
}

impl ExerciseReport {
    pub fn score(&self) -> u32 {
        self.tests.iter().map(|test| test.points).sum()
    }

    pub fn max_score(&self) -> u32 {
        self.tests.iter().map(|test| test.max_points).sum()
    }
}

impl SubmissionReport {
    pub fn score(&self) -> u32 {
        self.exercises.iter().map(ExerciseReport::score).sum()
    }

    pub fn max_score(&self) -> u32 {
        self.exercises.iter().map(ExerciseReport::max_score).sum()
    }
}
