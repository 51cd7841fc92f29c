//! Nothing to call: this crate exists for its `Cargo.toml`.
//!
//! Cargo turns on a dependency's features according to the packages it is building at that moment. The
//! self-check builds every solution and tool at once, a student builds one exercise, its program alone with
//! `cargo run` or with its tests; each choice would see a different set of features for hyper, tower or serde,
//! and compile them, and everything above them, once more. Every exercise and solution depends on this crate,
//! which asks for the union of those features: every choice sees the same set, and every dependency is
//! compiled once for the whole kit. `cargo xtask unify` says when the list needs changing, and `verify` fails
//! until it has been changed.
