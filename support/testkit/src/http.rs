//! A deliberately small HTTP/1.1 client.
//!
//! Tests could use a full client crate, but writing the request by hand keeps what crosses the wire in plain
//! sight (chapter 1 shows these very bytes), costs students no compile time, and lets a test hold a connection
//! open or count connections exactly. It speaks just enough HTTP for our tests: one request per connection
//! (`Connection: close`), and a body delimited by `Content-Length` or by the server closing the connection.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Section, WAIT, within};

/// What the server answered.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case, in the order they arrived.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The client's own address and port for this request, as the operating system chose it.
    pub client_address: SocketAddr,
}

impl Response {
    /// The first header with this name (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str())
    }
}

/// Sends `GET path` to `server` and reads the whole answer, failing the test after [`WAIT`].
#[track_caller]
pub fn get(server: SocketAddr, path: &str, section: Section) -> impl Future<Output = Response> + use<> {
    request(server, "GET", path, section)
}

/// Sends a request without a body and reads the whole answer, failing the test after [`WAIT`].
#[track_caller]
pub fn request(
    server: SocketAddr,
    method: &str,
    path: &str,
    section: Section,
) -> impl Future<Output = Response> + use<> {
    let what = format!("an answer to {method} {path}");
    let exchange = exchange(server, format!("{method} {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n"));
    let answer = within(WAIT, &what, section, exchange);
    let (method, path) = (method.to_owned(), path.to_owned());
    async move {
        match answer.await {
            Ok(response) => response,
            Err(error) => panic!(
                "{method} {path} got no HTTP answer: {error}.\n\
                 A server that panics in its handler (for example on a `todo!()`) drops the connection without \
                 answering.\nRead: {section}"
            ),
        }
    }
}

/// Sends `POST path` with `body` (as `text/plain;charset=UTF-8`, which is what a Socket.IO polling client
/// sends) and reads the whole answer, failing the test after [`WAIT`].
#[track_caller]
pub fn post(server: SocketAddr, path: &str, body: &str, section: Section) -> impl Future<Output = Response> + use<> {
    let what = format!("an answer to POST {path}");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\nContent-Type: text/plain;charset=UTF-8\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = within(WAIT, &what, section, exchange(server, request));
    let path = path.to_owned();
    async move {
        match answer.await {
            Ok(response) => response,
            Err(error) => panic!("POST {path} got no HTTP answer: {error}.\nRead: {section}"),
        }
    }
}

async fn exchange(server: SocketAddr, request: String) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(server).await?;
    let client_address = stream.local_addr()?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse(&raw, client_address)
}

fn parse(raw: &[u8], client_address: SocketAddr) -> std::io::Result<Response> {
    let invalid = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned());
    if raw.is_empty() {
        return Err(invalid("the connection closed before any byte of an answer arrived"));
    }
    let head_end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| invalid("the answer has no blank line after its headers"))?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| invalid("the answer's headers are not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(&format!("the status line {status_line:?} has no status code")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut body = &raw[head_end + 4..];
    if let Some(length) =
        headers.iter().find(|(name, _)| name == "content-length").and_then(|(_, value)| value.parse::<usize>().ok())
    {
        body = &body[..length.min(body.len())];
    }
    if headers.iter().any(|(name, value)| name == "transfer-encoding" && value.contains("chunked")) {
        return Err(invalid("the answer is chunked; serve a body of known length (a &str or String does that)"));
    }
    let body = String::from_utf8_lossy(body).into_owned();
    Ok(Response { status, headers, body, client_address })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> SocketAddr {
        "127.0.0.1:50000".parse().unwrap()
    }

    #[test]
    fn parses_status_headers_and_a_sized_body() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 2\r\n\r\nokEXTRA";
        let response = parse(raw, client()).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.header("Content-Type"), Some("text/plain"));
        assert_eq!(response.body, "ok");
    }

    #[test]
    fn an_empty_or_headless_answer_is_an_error() {
        assert!(parse(b"", client()).is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\n", client()).is_err());
        assert!(parse(b"garbage\r\n\r\n", client()).is_err());
    }
}
