//! `cargo run -p sol04-socket-io -- --port 3000`, then open http://127.0.0.1:3000/ in a browser.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    runner::run(sol04_socket_io::app()).await
}
