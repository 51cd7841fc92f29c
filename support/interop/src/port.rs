//! A free TCP port on 127.0.0.1, for a program that must be told which port to listen on.
//!
//! Our own servers bind port 0 and ask the listener which port they got. chromedriver cannot tell us which
//! port it picked, so we do the same on its behalf: bind port 0, read the port, release it, and pass it on.
//! Another program could take the port in between; on a test machine that is rare, and it shows as
//! chromedriver failing to start, with its own message, never as a wrong result.

use std::net::{Ipv4Addr, TcpListener};

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
