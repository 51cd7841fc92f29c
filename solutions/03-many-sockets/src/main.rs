//! `cargo run -p sol03-many-sockets -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(sol03_many_sockets::app()).await
}
