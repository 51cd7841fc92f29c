//! chromedriver, started on a free port on 127.0.0.1 and ready to take WebDriver sessions.
//!
//! chromedriver is the W3C WebDriver server for Chromium: a test asks it over HTTP for a browser session, and
//! it starts a Chromium and drives it. It takes a moment to start listening; its `/status` endpoint answering
//! `"ready": true` is the documented sign that it can take sessions, so we wait for that, with a limit.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::port::free_port;
use crate::process::ChildGuard;

/// How long chromedriver may take to answer `/status` (it usually takes about 50 ms).
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A running chromedriver; dropping it kills chromedriver and every browser it started.
pub struct Chromedriver {
    port: u16,
    _process: ChildGuard,
}

impl Chromedriver {
    /// Starts `chromedriver` (found on `PATH`) on a free port and waits until it is ready.
    pub fn start() -> Result<Chromedriver, String> {
        let port = free_port().map_err(|error| format!("no free port on 127.0.0.1: {error}"))?;
        // By default chromedriver listens on the loopback interface only. (`--allowed-ips`, despite its name,
        // makes it listen on every interface and filter afterwards: not wanted.)
        let mut command = Command::new("chromedriver");
        command.arg(format!("--port={port}")).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let process =
            ChildGuard::spawn(&mut command).map_err(|error| format!("could not start chromedriver: {error}"))?;
        let chromedriver = Chromedriver { port, _process: process };
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            match status(port) {
                Ok(body) if body.contains("\"ready\":true") => return Ok(chromedriver),
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    // `/status` is the documented sign of readiness, and there is no event to await: poll it.
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(body) => return Err(format!("chromedriver on port {port} is not ready: {body}")),
                Err(error) => {
                    return Err(format!("chromedriver did not answer on port {port} within {READY_WITHIN:?}: {error}"));
                }
            }
        }
    }

    /// `http://127.0.0.1:PORT`, the WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// `GET /status`, by hand: one small request, not worth an HTTP client. chromedriver keeps the connection
/// open whatever the request says, so the body ends where its `Content-Length` says, not at end of stream.
fn status(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let read = stream.read(&mut chunk)?;
        answer.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
            });
            if read == 0 || length.is_some_and(|length| body.len() >= length) {
                return Ok(body.replace([' ', '\n'], ""));
            }
        } else if read == 0 {
            return Ok(text.into_owned());
        }
    }
}
