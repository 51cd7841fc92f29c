//! Test support shared by every exercise's tests.
//!
//! Each exercise's tests start the student's program (never link it: invariant 8), connect clients to it, and
//! wait for what should happen, never longer than a timeout. Doing that well (no fixed ports, no sleeps,
//! failure messages that teach) takes more code than a test should carry, so it lives here once:
//!
//! - [`Server`] runs the exercise's binary with `--port 0` for the length of a test, and reads where it listens;
//! - [`http`] is a deliberately small HTTP/1.1 client, so a test can show exactly what goes over the wire;
//! - [`ws`] wraps a WebSocket client whose every receive has a timeout;
//! - [`sio`] does the same for a Socket.IO client, and `eio` speaks Socket.IO by hand, for
//!   tests that must see (or send) exact packets;
//! - [`cli`] runs the student's command-line program: its input, output and exit code;
//! - [`reference`] is a finished chat server, for the tests of a client;
//! - [`html::outline`] reduces a page to its element structure, for snapshots that survive a reworded sentence;
//! - [`Section`] names the part of the book that explains a behaviour, so a failing test says where to read.

pub mod cli;
pub mod eio;
pub mod html;
pub mod http;
mod lesson;
mod panics;
pub mod proxy;
pub mod redis;
pub mod reference;
mod server;
pub mod sio;
pub mod ws;

pub use launch::Program;
pub use lesson::{Chapter, Section, WAIT, within};
pub use server::Server;

/// Runs futures concurrently and returns their outputs in order: "many clients at once" in one line.
pub use futures_util::future::join_all;
