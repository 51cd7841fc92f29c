//! What the given code of the chapters that keep a log (chapter 9 on) promises, checked on the reference
//! solutions: a database that cannot be the chat's is refused at start with a sentence that says why, and a
//! `serverOffset` that is not one is refused with a `connect_error`.
//!
//! These are not graded: the student does not write this code. They run with the kit's own tests.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use interop::process::run_with_limit;
use serde_json::json;
use testkit::eio::RawClient;
use testkit::{Chapter, Server};

/// The solutions whose programs take `--db`.
const KEEP_A_LOG: &[&str] = &["sol09-server-delivery"];

const GIVEN: Chapter =
    Chapter { number: 0, title: "The given code of the chapters with a log", page: "support/interop" };

/// Runs `solution` with `--db database` and returns what it printed on its standard error, insisting that it
/// refused to start (a failing exit code, within a few seconds).
fn refusal(solution: &str, database: &Path) -> String {
    let program = interop::solution_program(solution);
    let mut command = Command::new(&program);
    command.args(["--port", "0", "--db"]).arg(database);
    let finished = run_with_limit(&mut command, Duration::from_secs(10)).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        !finished.status.success() && finished.status.code().is_some(),
        "{solution} should refuse to start on {} with a failing exit code; it ended with {} and printed:\n{}{}",
        database.display(),
        finished.status,
        finished.stdout,
        finished.stderr
    );
    assert!(!finished.stdout.contains("listening on"), "{solution} must not listen at all: {}", finished.stdout);
    finished.stderr
}

#[test]
fn a_database_that_cannot_be_the_chats_is_refused_at_start() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let garbage = folder.path().join("notes.db");
    std::fs::write(&garbage, "not a database at all\n".repeat(500)).expect("write a file");
    let foreign = folder.path().join("recipes.db");
    {
        let connection = rusqlite::Connection::open(&foreign).expect("create another program's database");
        connection.execute_batch("CREATE TABLE recipes (name TEXT)").expect("a table");
    }
    let cases = [
        (garbage.clone(), "is not an SQLite database"),
        (foreign, "not this chat's"),
        (folder.path().join("no such folder").join("chat.db"), "check that its folder exists"),
        (folder.path().to_path_buf(), "cannot open"),
    ];
    for solution in KEEP_A_LOG {
        for (database, expected) in &cases {
            let stderr = refusal(solution, database);
            let first = stderr.lines().next().unwrap_or_default();
            assert!(
                first.starts_with("error: ")
                    && first.contains(expected)
                    && first.contains(&*database.to_string_lossy()),
                "{solution} on {}: its first line of error output should start with `error: `, name the file and \
                 say {expected:?}; it was {first:?}",
                database.display()
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(&garbage).expect("the file is still there"),
        "not a database at all\n".repeat(500),
        "a refused file is left exactly as it was"
    );
}

#[tokio::test]
async fn a_server_offset_that_is_not_one_is_refused() {
    for solution in KEEP_A_LOG {
        let program = interop::solution_program(solution);
        let program = program.to_str().expect("a UTF-8 path");
        let server = Server::start_with(program, &["--db", ":memory:"], &[], GIVEN.section("starting")).await;
        let cases = [
            (json!({ "name": "a", "serverOffset": -1 }), "serverOffset must be a whole number, 0 or more, not -1"),
            (json!({ "name": "a", "serverOffset": 1.5 }), "serverOffset must be a whole number, 0 or more, not 1.5"),
            (json!({ "name": "a", "serverOffset": "7" }), "serverOffset must be a whole number, 0 or more, not \"7\""),
            (
                json!({ "name": "a", "serverOffset": 3 }),
                "serverOffset 3 is beyond the end of the log (the newest offset is 0): connect with 0",
            ),
            (json!(["a"]), "the auth must be an object: {\"name\": \"...\", \"serverOffset\": 0}"),
        ];
        for (auth, reason) in cases {
            let mut raw = RawClient::open(server.address(), GIVEN.section("connecting")).await;
            raw.send_text(format!("40{auth}")).await;
            let answer = raw.next_text("the answer to the CONNECT").await;
            assert_eq!(answer, format!("44{}", json!({ "message": reason })), "{solution}, auth {auth}");
        }
        // 0 and null are the start of the log.
        for auth in [json!({ "name": "a", "serverOffset": 0 }), json!({ "name": "a", "serverOffset": null })] {
            let mut raw = RawClient::open(server.address(), GIVEN.section("connecting")).await;
            raw.send_text(format!("40{auth}")).await;
            let answer = raw.next_text("the answer to the CONNECT").await;
            assert!(answer.starts_with("40{"), "{solution} admits the auth {auth}: {answer}");
        }
    }
}
