//! The course manifest, `course.toml`: the one list of chapters, exercises, graded tests, points and hints.
//!
//! Everything else is checked against it: `verify` proves that the folders, the book's SUMMARY and the test
//! files agree with it, and the grader awards exactly the points it lists. Its `format` number changes
//! whenever a field changes meaning, so an old tool refuses a new manifest instead of misreading it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The manifest format this tool understands.
pub const FORMAT: u32 = 1;

/// The file's name, at the kit's root.
pub const FILE_NAME: &str = "course.toml";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub title: String,
    /// The book's folder (holding `book.toml`), relative to the kit's root.
    pub book: PathBuf,
    /// Programs that some tests need and that the Rust toolchain does not bring.
    #[serde(default, rename = "program")]
    pub programs: Vec<Program>,
    #[serde(rename = "chapter")]
    pub chapters: Vec<Chapter>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// The command's name, looked up on `PATH`.
    pub name: String,
    /// The command that installs it, shown whenever a test that needs it is skipped.
    pub install: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Chapter {
    pub number: u32,
    /// Names the folders: `exercises/NN-slug`, `solutions/NN-slug`, `book/src/NN-slug.md`.
    pub slug: String,
    pub title: String,
    /// The chapter's book page, relative to the kit's root.
    pub page: PathBuf,
    /// The starter crate, relative to the kit's root.
    pub exercise: PathBuf,
    /// The reference solution crate, relative to the kit's root.
    pub solution: PathBuf,
    /// From gentle to specific; shown one at a time by `cargo xtask hint`.
    pub hints: Vec<String>,
    #[serde(rename = "test")]
    pub tests: Vec<GradedTest>,
    /// Plausible mistakes, each a change to the solution that a student could make, with the graded test
    /// that must catch it and the section its message must name: the tests of the tests.
    #[serde(rename = "mistake", default)]
    pub mistakes: Vec<Mistake>,
}

/// One plausible mistake: `replace` becomes `with` in the solution's file `file` (relative to its `src/`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Mistake {
    /// The mistake, as a student would make it.
    pub what: String,
    pub file: PathBuf,
    pub replace: String,
    pub with: String,
    /// The graded test that must fail,
    pub fails: String,
    /// and the section of the chapter that its failure message must name.
    pub section: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GradedTest {
    /// The test function's name in the exercise's `tests/chapter.rs`.
    pub name: String,
    pub points: u32,
    /// Names of [`Program`]s this test needs; without them it is skipped, and says so.
    #[serde(default)]
    pub needs: Vec<String>,
}

impl Chapter {
    /// `01-clients-servers`: the name shared by the exercise folder, the solution folder and the page.
    pub fn folder_name(&self) -> String {
        format!("{:02}-{}", self.number, self.slug)
    }

    /// The starter's package name, `ex01-clients-servers`.
    pub fn exercise_package(&self) -> String {
        format!("ex{:02}-{}", self.number, self.slug)
    }

    /// The solution's package name, `sol01-clients-servers`.
    pub fn solution_package(&self) -> String {
        format!("sol{:02}-{}", self.number, self.slug)
    }

    /// The one graded test file every chapter has.
    pub fn test_file(&self) -> PathBuf {
        self.exercise.join("tests").join("chapter.rs")
    }

    pub fn points(&self) -> u32 {
        self.tests.iter().map(|test| test.points).sum()
    }
}

impl Manifest {
    /// Reads and checks `course.toml` in `root`. Errors say which file and which field is wrong.
    pub fn load(root: &Path) -> Result<Manifest> {
        let path = root.join(FILE_NAME);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the course manifest {}", path.display()))?;
        Manifest::parse(&text).with_context(|| format!("the course manifest {} is not valid", path.display()))
    }

    pub fn parse(text: &str) -> Result<Manifest> {
        // Read the format first, so that a manifest from a newer kit gets a clear message rather than a
        // complaint about some field this version has never heard of.
        #[derive(Deserialize)]
        struct FormatOnly {
            format: Option<u32>,
        }
        let format = toml::from_str::<FormatOnly>(text)?.format;
        match format {
            Some(FORMAT) => {}
            Some(other) => bail!("it has format {other}, and this tool reads format {FORMAT}: update the kit's tools"),
            None => bail!("it has no `format = {FORMAT}` line"),
        }
        let manifest: Manifest = toml::from_str(text)?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Rules that the types cannot express. Everything that needs the file system is `verify`'s job.
    fn check(&self) -> Result<()> {
        let mut problems = Vec::new();
        let programs: BTreeSet<&str> = self.programs.iter().map(|program| program.name.as_str()).collect();
        for (index, chapter) in self.chapters.iter().enumerate() {
            let expected = index as u32 + 1;
            let name = format!("chapter {} ({})", chapter.number, chapter.slug);
            if chapter.number != expected {
                problems.push(format!("{name}: chapters must be numbered 1, 2, 3, ... in order; expected {expected}"));
            }
            if chapter.slug.is_empty()
                || !chapter.slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                problems.push(format!("{name}: a slug is lower-case letters, digits and dashes"));
            }
            if chapter.hints.len() < 2 {
                problems.push(format!("{name}: needs at least two hints, from gentle to specific"));
            }
            if chapter.tests.is_empty() {
                problems.push(format!("{name}: lists no graded test"));
            }
            let mut seen = BTreeSet::new();
            for test in &chapter.tests {
                if !seen.insert(test.name.as_str()) {
                    problems.push(format!("{name}: test `{}` is listed twice", test.name));
                }
                if test.points == 0 {
                    problems.push(format!(
                        "{name}: test `{}` is worth 0 points; leave it out or give it points",
                        test.name
                    ));
                }
                for program in &test.needs {
                    if !programs.contains(program.as_str()) {
                        problems.push(format!(
                            "{name}: test `{}` needs `{program}`, which no [[program]] entry describes",
                            test.name
                        ));
                    }
                }
            }
        }
        if problems.is_empty() { Ok(()) } else { bail!("{}", problems.join("\n")) }
    }

    /// The chapter with this number, or an error listing the ones there are.
    pub fn chapter(&self, number: u32) -> Result<&Chapter> {
        self.chapters.iter().find(|chapter| chapter.number == number).with_context(|| {
            format!("there is no chapter {number}; the course has chapters 1 to {}", self.chapters.len())
        })
    }

    pub fn program(&self, name: &str) -> Option<&Program> {
        self.programs.iter().find(|program| program.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        format = 1
        title = "T"
        book = "book"
        [[chapter]]
        number = 1
        slug = "first"
        title = "First"
        page = "book/src/01-first.md"
        exercise = "exercises/01-first"
        solution = "solutions/01-first"
        hints = ["gentle", "specific"]
        [[chapter.test]]
        name = "works"
        points = 2
    "#;

    #[test]
    fn a_minimal_manifest_parses() {
        let manifest = Manifest::parse(MINIMAL).unwrap();
        let chapter = manifest.chapter(1).unwrap();
        assert_eq!(chapter.exercise_package(), "ex01-first");
        assert_eq!(chapter.solution_package(), "sol01-first");
        assert_eq!(chapter.points(), 2);
        assert!(manifest.chapter(2).unwrap_err().to_string().contains("chapters 1 to 1"));
    }

    #[test]
    fn another_format_is_refused_by_name() {
        let error = Manifest::parse(&MINIMAL.replace("format = 1", "format = 2")).unwrap_err();
        assert!(error.to_string().contains("format 2"), "{error}");
        let error = Manifest::parse(&MINIMAL.replace("format = 1", "")).unwrap_err();
        assert!(error.to_string().contains("no `format"), "{error}");
    }

    #[test]
    fn rule_breaches_are_all_listed() {
        let broken = MINIMAL
            .replace("number = 1", "number = 3")
            .replace(r#"["gentle", "specific"]"#, r#"["only one"]"#)
            .replace("points = 2", "points = 0\nneeds = [\"chromium\"]");
        let error = format!("{:#}", Manifest::parse(&broken).unwrap_err());
        for expected in ["expected 1", "at least two hints", "0 points", "needs `chromium`"] {
            assert!(error.contains(expected), "missing {expected:?} in: {error}");
        }
    }

    #[test]
    fn a_misspelt_field_is_an_error() {
        let error = Manifest::parse(&MINIMAL.replace("points = 2", "point = 2")).unwrap_err();
        assert!(format!("{error:#}").contains("point"), "{error:#}");
    }
}
