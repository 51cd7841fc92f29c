//! `cargo run -p ex05-events -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(ex05_events::app()).await
}
