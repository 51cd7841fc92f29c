//! Every dependency is compiled once for the whole kit: the self-check, verify, the xtask, and each exercise's
//! tests and program see the same features (support/unify makes it so; `cargo xtask unify` says what changed).

use std::path::Path;
use std::process::Command;

#[test]
fn every_way_of_building_the_kit_shares_one_build_of_each_dependency() {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the xtask lives in the kit");
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["unify"])
        .current_dir(kit)
        // Nothing is built; a target folder of its own keeps cargo from waiting on the one this test runs from.
        .env("CARGO_TARGET_DIR", scratch.path())
        .output()
        .expect("run xtask unify");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "some dependency would be compiled twice:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("every dependency is compiled with one set of features"), "{text}");
}
