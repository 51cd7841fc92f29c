//! Proof that every dependency is compiled once for the whole kit, and the list that makes it so.
//!
//! Cargo picks a dependency's features from the packages a command builds, so `cargo test -p ex01-...` could
//! compile hyper with other features than the self-check did, and compile it, and everything above it, again.
//! `support/unify` asks for the union (see its `src/lib.rs`). This module asks cargo, without building
//! anything, which units each way of building the kit would compile (`--unit-graph`), and names every
//! dependency whose features differ between two of them, with what to write into `support/unify/Cargo.toml`.
//! The xtask's test `one_build` fails while there is any.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::manifest::Manifest;

/// One unit of compilation of a dependency: its package (`hyper@1.12.0`), its target and its mode.
type Unit = (String, String, String);
type Features = BTreeSet<String>;

/// A way of building the kit that someone uses: a name for the report, and cargo's arguments.
struct Selection {
    name: String,
    arguments: Vec<String>,
}

fn selections(root: &Path, manifest: &Manifest) -> Vec<Selection> {
    let with_solutions = root.join("solutions").is_dir();
    let mut all = vec![
        Selection { name: "the self-check's build".into(), arguments: args(&["build", "--tests", "--workspace"]) },
        Selection { name: "a plain `cargo test`".into(), arguments: args(&["test", "--no-run"]) },
        Selection { name: "`cargo xtask`".into(), arguments: args(&["build", "--package", "xtask"]) },
    ];
    let mut verify = args(&["build", "--tests"]);
    for chapter in &manifest.chapters {
        let exercise = chapter.exercise_package();
        verify.extend(args(&["--package", &exercise]));
        if with_solutions {
            verify.extend(args(&["--package", &chapter.solution_package()]));
        }
        all.push(Selection {
            name: format!("`cargo test -p {exercise}`"),
            arguments: args(&["test", "--no-run", "--package", &exercise]),
        });
        all.push(Selection {
            name: format!("`cargo run -p {exercise}`"),
            arguments: args(&["build", "--bins", "--package", &exercise]),
        });
    }
    all.push(Selection { name: "`cargo xtask verify`".into(), arguments: verify });
    // The student's tools for seeing the wire, run beside the exercises.
    if root.join("support/wire").is_dir() {
        all.push(Selection {
            name: "`cargo run -p kit-wire`".into(),
            arguments: args(&["build", "--bins", "--package", "kit-wire"]),
        });
    }
    all
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| (*word).to_owned()).collect()
}

/// The features of every dependency's unit, as cargo would build them for `selection`.
fn units(root: &Path, selection: &Selection) -> Result<BTreeMap<Unit, Features>> {
    let output = Command::new(crate::cargo::cargo())
        .current_dir(root)
        .args(&selection.arguments)
        .args(["--unit-graph", "-Z", "unstable-options"])
        // `--unit-graph` is still unstable; this lets the stable toolchain answer it. Nothing is built.
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .context("could not run cargo")?;
    if !output.status.success() {
        bail!(
            "cargo {} --unit-graph: {}",
            selection.arguments.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let graph: Value = serde_json::from_slice(&output.stdout).context("cargo's unit graph is not JSON")?;
    let mut units = BTreeMap::new();
    for unit in graph["units"].as_array().into_iter().flatten() {
        let package = unit["pkg_id"].as_str().unwrap_or("");
        // The kit's own packages are compiled for each selection anyway; only dependencies are shared.
        let Some((_, name)) = package.split_once('#').filter(|_| package.starts_with("registry+")) else { continue };
        let target = unit["target"]["name"].as_str().unwrap_or("").to_owned();
        if target == "build-script-build" {
            continue; // a build script's features are its library's
        }
        let mode = unit["mode"].as_str().unwrap_or("").to_owned();
        let features = unit["features"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned);
        units.insert((name.to_owned(), target, mode), features.collect());
    }
    Ok(units)
}

/// Every dependency unit built with different features by two selections: per unit, each feature set and
/// the selections that build it.
fn differences(root: &Path, manifest: &Manifest) -> Result<BTreeMap<Unit, BTreeMap<Features, Vec<String>>>> {
    let mut seen: BTreeMap<Unit, BTreeMap<Features, Vec<String>>> = BTreeMap::new();
    for selection in selections(root, manifest) {
        for (unit, features) in units(root, &selection)? {
            seen.entry(unit).or_default().entry(features).or_default().push(selection.name.clone());
        }
    }
    seen.retain(|_, sets| sets.len() > 1);
    Ok(seen)
}

/// `cargo xtask unify`: the differences, and the union to ask for in `support/unify/Cargo.toml`.
pub fn run(root: &Path) -> Result<ExitCode> {
    let manifest = Manifest::load(root)?;
    let differences = differences(root, &manifest)?;
    if differences.is_empty() {
        println!("every dependency is compiled with one set of features, whatever cargo is asked to build");
        return Ok(ExitCode::SUCCESS);
    }
    println!("compiled more than once, with these features:\n");
    let mut union: BTreeMap<String, Features> = BTreeMap::new();
    for ((package, target, mode), sets) in &differences {
        println!("{package} ({target}, {mode})");
        for (features, names) in sets {
            println!("    [{}]: {}", join(features), names.join(", "));
            union.entry(package.clone()).or_default().extend(features.iter().cloned());
        }
    }
    println!(
        "\nAsk for the union in support/unify/Cargo.toml (a dependency only derive macros and build scripts use \
         goes under [build-dependencies]; one only the xtask uses, in xtask/Cargo.toml):\n"
    );
    for (package, features) in &union {
        let (name, version) = package.split_once('@').unwrap_or((package, ""));
        let requirement: Vec<&str> = version.split(['.', '+']).take(2).collect();
        let defaults = features.contains("default");
        let listed: Vec<String> =
            features.iter().filter(|feature| *feature != "default").map(|feature| format!("{feature:?}")).collect();
        println!(
            "{name} = {{ version = \"{}\", default-features = {defaults}, features = [{}] }}",
            requirement.join("."),
            listed.join(", ")
        );
    }
    Ok(ExitCode::FAILURE)
}

fn join(features: &Features) -> String {
    features.iter().cloned().collect::<Vec<_>>().join(", ")
}
