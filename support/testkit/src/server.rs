//! A server under test: the student's `Router`, served on a free port for the length of one test.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The student's app, listening on 127.0.0.1 at a port the operating system picked.
///
/// Dropping it stops the server, so tests never leak servers into each other.
pub struct TestServer {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Binds 127.0.0.1 port 0 and serves `app` in the background. Port 0 asks the operating system for any
    /// free port, so tests can run in parallel and never collide with a server the student left running.
    pub async fn start(app: Router) -> TestServer {
        crate::lesson::watch_for_server_panics();
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("the test could not bind a port on 127.0.0.1; is the loopback interface up?");
        let address = listener.local_addr().expect("a bound listener has an address");
        let (stop, stopped) = oneshot::channel::<()>();
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            // Errors here would be accept errors on a healthy loopback listener; the test notices them as
            // failed connections, with a better message than we could give from here.
            let _ = axum::serve(listener, service).with_graceful_shutdown(shutdown).await;
        });
        TestServer { address, stop: Some(stop) }
    }

    /// The address and port the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `ws://127.0.0.1:PORT{path}`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.address)
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
