//! `cargo run -p ex07-rust-client -- --name alice`, with a chat server (chapter 6's) running on port 3000.

// The reference solution builds this very program: with its `solution` feature on, `chapter` is the solution's
// crate instead of yours. You never need to turn that feature on.
#[cfg(not(feature = "solution"))]
use ex07_rust_client as chapter;
#[cfg(feature = "solution")]
use sol07_rust_client as chapter;

use std::process::ExitCode;

use chapter::{parse_args, run, stdin_lines, usage};

#[tokio::main]
async fn main() -> ExitCode {
    let program = env!("CARGO_BIN_NAME");
    match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => run(args, stdin_lines()).await,
        Ok(None) => {
            println!("{}", usage(program));
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}\n{}", usage(program));
            ExitCode::from(2)
        }
    }
}
