//! `wire`: the kit's tools for seeing what goes over the wire, from a terminal.
//!
//! - `wire spy --to 3000` is a proxy: point the browser at it instead of the server, and it prints every HTTP
//!   request and response, every WebSocket frame and every Engine.IO and Socket.IO packet that passes, while
//!   passing every byte on unchanged;
//! - `wire talk ws://...` and `wire talk --socket-io http://...` are clients to type at: lines in, every
//!   message or packet that arrives printed.
//!
//! So that no step of the book needs a browser's developer tools, and so that what those tools show is the
//! same thing, written down.

mod args;
mod decode;
mod spy;
mod talk;

use std::process::ExitCode;

use args::Command;

fn main() -> ExitCode {
    let args: Result<Vec<String>, _> = std::env::args_os().skip(1).map(|arg| arg.into_string()).collect();
    let command = match args {
        Ok(args) => args::parse(&args),
        Err(arg) => Err(format!("{}: an argument that is not UTF-8 (see wire --help)", arg.to_string_lossy())),
    };
    let command = match command {
        Ok(Command::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(command) => command,
        Err(message) => {
            eprintln!("wire {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("wire: could not start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(async {
        match command {
            Command::Spy(options) => spy::run(options).await,
            Command::Talk(options) => talk::run(options).await,
            Command::Help(_) => Ok(()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("wire: {message}");
            ExitCode::from(1)
        }
    }
}
