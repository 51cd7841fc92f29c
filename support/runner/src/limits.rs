//! The accept loop, with the limits that keep one client from holding what others need.
//!
//! `axum::serve` is the simplest way to run a router, but it sets no timeout at all: a client that connects
//! and sends nothing, or one byte every few seconds, holds its connection (and a file descriptor) for ever.
//! This loop does what `axum::serve` does (accept, hand each connection to hyper, the HTTP library under
//! axum), and adds three limits: a deadline for each request's headers, a cap on open connections, and a
//! limit on how long a write may wait for a peer that stopped reading.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Sleep;
use tower::ServiceExt;

/// How long a client has to send a request's headers: from connecting, and again between two requests.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How many connections may be open at once, unless `--max-connections` says otherwise. Below the usual
/// limit of 1024 open files per process, with room for the server's own.
pub const DEFAULT_MAX_CONNECTIONS: usize = 900;

/// How long a write may wait for a peer that does not read: then the connection is closed.
pub const WRITE_STALL_LIMIT: Duration = Duration::from_secs(10);

/// Largest request head (request line and headers) read before answering 431. Hyper's minimum is 8 KiB.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Accepts connections until `shutdown` resolves, then gives open requests [`super::SHUTDOWN_GRACE`].
pub async fn serve(listener: TcpListener, app: Router, max_connections: usize, shutdown: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(max_connections));
    let make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    // Dropping the sender tells every connection to finish its request and close.
    let (stop, stopping) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, or a connection reset before it was accepted: wait a moment
                // rather than spin, as `axum::serve` does.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Full: close this one at once (the client sees the connection reset), keep serving the others.
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else { continue };
        let _ = stream.set_nodelay(true);
        let Ok(service) = make_service.clone().oneshot(remote).await;
        let service = TowerToHyperService::new(
            service.map_request(|request: Request<Incoming>| with_own_head(request).map(Body::new)),
        );
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            // The slot goes with the connection itself, not with this task: a WebSocket outlives the HTTP
            // exchange that upgraded it, and holds its file descriptor until it closes.
            let io = TokioIo::new(StallGuard::new(stream, WRITE_STALL_LIMIT).holding(slot));
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).max_buf_size(MAX_HEAD_BYTES);
            let connection = http.serve_connection(io, service).with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(stop);
    // The connections answer what they were answering, then close; the slots come back as they do.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(super::SHUTDOWN_GRACE, slots.acquire_many(all)).await;
}

/// The request with its head copied out of the connection's read buffer.
///
/// Hyper parses a request without copying it: the URI and every header value share the buffer its bytes
/// arrived in (8 KiB). Whatever keeps a request's head keeps that whole buffer, and engineioxide keeps each
/// Socket.IO session's handshake request for as long as the session lives: measured with valgrind's massif,
/// 8 KiB held for every connected client. With copies, a session holds its head's own few hundred bytes.
fn with_own_head<B>(request: Request<B>) -> Request<B> {
    let (mut head, body) = request.into_parts();
    // A URI printed and read back is the same URI (`Uri`'s `Display` writes exactly what it parsed).
    if let Ok(uri) = head.uri.to_string().parse() {
        head.uri = uri;
    }
    for value in head.headers.values_mut() {
        if let Ok(mut copy) = axum::http::HeaderValue::from_bytes(value.as_bytes()) {
            copy.set_sensitive(value.is_sensitive());
            *value = copy;
        }
    }
    Request::from_parts(head, body)
}

/// A connection whose writes give up when the peer has not read for [`WRITE_STALL_LIMIT`].
///
/// A client that stops reading fills its TCP receive window, then the server's send buffer; from then on
/// every write to it waits. Without a limit the wait has no end, and whatever holds the connection waits too
/// (in engineioxide, the WebSocket writer holds a lock that closing the session needs, so even a heartbeat
/// timeout cannot evict such a client). With it, the write fails, the connection closes, and that client is
/// gone.
pub struct StallGuard<T> {
    inner: T,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
    /// Set once a write has waited past the limit: from then on every write fails at once. The peer is gone
    /// for all practical purposes, and whoever writes to it next must not wait the limit again.
    given_up: bool,
    /// The connection's place under the cap, given back when the connection is dropped.
    slot: Option<OwnedSemaphorePermit>,
}

impl<T> StallGuard<T> {
    pub fn new(inner: T, limit: Duration) -> StallGuard<T> {
        StallGuard { inner, limit, stalled: None, given_up: false, slot: None }
    }

    /// Holds `slot` for as long as the connection lives.
    pub fn holding(mut self, slot: OwnedSemaphorePermit) -> StallGuard<T> {
        self.slot = Some(slot);
        self
    }

    /// Passes on a write's result; while it is pending, counts down to the limit.
    fn watch<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if self.given_up {
            return Poll::Ready(Err(self.stall_error()));
        }
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.given_up = true;
                Poll::Ready(Err(self.stall_error()))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn stall_error(&self) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, format!("the peer has read nothing for {:?}", self.limit))
    }
}

impl AsyncRead for StallGuard<TcpStream> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard<TcpStream> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        self.watch(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, buffers);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, Uri};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn a_requests_head_no_longer_shares_the_bytes_it_was_parsed_from() {
        // As hyper does: the URI and the header values are slices of the bytes the request arrived in.
        static ARRIVED: &[u8] = b"/socket.io/?EIO=4&transport=websocketsecret-cookie";
        let arrived = axum::body::Bytes::from_static(ARRIVED);
        let uri = Uri::from_maybe_shared(arrived.slice(..37)).unwrap();
        let mut cookie = HeaderValue::from_maybe_shared(arrived.slice(37..)).unwrap();
        cookie.set_sensitive(true);
        let request = Request::builder().uri(uri).header("cookie", cookie).body(()).unwrap();
        let inside = |pointer: *const u8| ARRIVED.as_ptr_range().contains(&pointer);
        assert!(inside(request.uri().path().as_ptr()) && inside(request.headers()["cookie"].as_bytes().as_ptr()));

        let request = with_own_head(request);
        assert_eq!(request.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(request.headers()["cookie"], "secret-cookie");
        assert!(request.headers()["cookie"].is_sensitive());
        assert!(!inside(request.uri().path().as_ptr()), "the URI still points into the arrived bytes");
        assert!(!inside(request.headers()["cookie"].as_bytes().as_ptr()), "a header still points into them");
    }

    #[tokio::test]
    async fn a_write_to_a_peer_that_never_reads_gives_up_at_the_limit() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        // The peer connects and never reads.
        let _peer = TcpStream::connect(address).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let mut guarded = StallGuard::new(stream, Duration::from_millis(300));
        let chunk = vec![0u8; 64 * 1024];
        let error = loop {
            if let Err(error) = guarded.write_all(&chunk).await {
                break error;
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
    }

    #[tokio::test]
    async fn a_peer_that_reads_is_never_cut_off() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            let mut peer = TcpStream::connect(address).await.unwrap();
            let mut all = Vec::new();
            peer.read_to_end(&mut all).await.unwrap();
            all.len()
        });
        let (stream, _) = listener.accept().await.unwrap();
        let mut guarded = StallGuard::new(stream, Duration::from_millis(200));
        for _ in 0..64 {
            guarded.write_all(&[1u8; 64 * 1024]).await.unwrap();
        }
        guarded.shutdown().await.unwrap();
        drop(guarded);
        assert_eq!(reader.await.unwrap(), 64 * 64 * 1024);
    }
}
