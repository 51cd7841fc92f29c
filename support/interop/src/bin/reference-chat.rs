//! The tests' reference chat server (chapter 6's protocol, `testkit::reference`) as a program of its own, so
//! that the hostile suite can measure it like every chapter's server: `reference-chat --port 0`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(testkit::reference::app()).await
}
