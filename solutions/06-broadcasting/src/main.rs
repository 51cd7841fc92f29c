//! `cargo run -p sol06-broadcasting -- --port 3000`, then open http://127.0.0.1:3000/?name=alice in one tab
//! and http://127.0.0.1:3000/?name=bob in another.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(sol06_broadcasting::app()).await
}
