//! A loopback proxy that breaks a connection on cue: the network of chapter 10's tests.
//!
//! A client connects to the proxy instead of the server; the proxy connects to the server and passes every
//! byte along, both ways, until the test says otherwise:
//!
//! - [`FaultProxy::cut`] ends every open connection at once, as a lost Wi-Fi does (both sides see the end);
//! - [`FaultProxy::refuse`] turns new connections away for as long as it is on, as an outage does;
//! - [`FaultProxy::on`] sets a [`Fault`] for the next WebSocket messages that match: swallow them (they never
//!   arrive), swallow them and cut the connection right there, or pass them on twice;
//! - [`FaultProxy::delay`] holds every message in one direction for a while before passing it on.
//!
//! Over a WebSocket the proxy reads the frames (RFC 6455, section 5.2) once the upgrade is through, so a
//! fault can pick out one Socket.IO packet (`43...`, an acknowledgement). It keeps a log of the text
//! messages that went through ([`FaultProxy::messages`]), for tests that check what a client sent. Long-polling
//! requests go through as they are: only `cut`, `refuse` and `delay` apply to them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Which way a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// What happens to a message that a rule picks out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// It is dropped: the other side never gets it, and the connection carries on.
    Swallow,
    /// It is dropped, and the connection is cut right there, as if the network died with it on the way.
    SwallowAndCut,
    /// It is passed on twice, as a sender that retried too eagerly would send it.
    Repeat,
}

/// One text message that went through the proxy (or was stopped by it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed {
    pub direction: Direction,
    pub text: String,
    /// `false` if a fault stopped it.
    pub delivered: bool,
}

type Matcher = Box<dyn Fn(&str) -> bool + Send + Sync>;

struct Rule {
    direction: Direction,
    matches: Matcher,
    fault: Fault,
    /// How many more messages this rule picks out.
    remaining: usize,
}

#[derive(Default)]
struct State {
    refusing: bool,
    rules: Vec<Rule>,
    log: Vec<Passed>,
    delay_to_server: Duration,
    delay_to_client: Duration,
    accepted: usize,
}

struct Shared {
    /// Where connections go; `None` until [`FaultProxy::forward_to`] says.
    upstream: Mutex<Option<SocketAddr>>,
    state: Mutex<State>,
    /// Bumped by every cut: each connection ends when it changes.
    cuts: watch::Sender<u64>,
    /// How many WebSocket upgrades have gone through.
    websockets: watch::Sender<usize>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The proxy, listening on 127.0.0.1 at a free port. Dropping it stops it and ends its connections.
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    accepting: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy in front of the server at `upstream`.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let proxy = FaultProxy::listen().await;
        proxy.forward_to(upstream);
        proxy
    }

    /// Starts a proxy that does not know its server yet, for a server that must be told the proxy's address
    /// first (a page served through the proxy has the proxy's origin, which the server must allow). Until
    /// [`FaultProxy::forward_to`], connections are closed at once.
    pub async fn listen() -> FaultProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("the proxy can listen on 127.0.0.1");
        let address = listener.local_addr().expect("a bound listener has an address");
        let (cuts, _) = watch::channel(0);
        let (websockets, _) = watch::channel(0);
        let shared =
            Arc::new(Shared { upstream: Mutex::new(None), state: Mutex::new(State::default()), cuts, websockets });
        let accepting = tokio::spawn(accept(listener, Arc::clone(&shared)));
        FaultProxy { address, shared, accepting }
    }

    /// Where the proxy's connections go from now on.
    pub fn forward_to(&self, upstream: SocketAddr) {
        *self.shared.upstream.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(upstream);
    }

    /// Waits (at most `limit`) until `count` WebSocket upgrades have gone through the proxy: a browser's page
    /// starts over long-polling, and a fault on WebSocket messages applies only once it has upgraded.
    pub async fn wait_for_websockets(&self, count: usize, limit: Duration) -> bool {
        let mut websockets = self.shared.websockets.subscribe();
        tokio::time::timeout(limit, websockets.wait_for(|opened| *opened >= count)).await.is_ok_and(|seen| seen.is_ok())
    }

    /// Where clients connect: the proxy's own address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Ends every connection open now, both ways at once.
    pub fn cut(&self) {
        self.shared.cuts.send_modify(|generation| *generation += 1);
    }

    /// While `true`, a new connection is closed as soon as it is accepted.
    pub fn refuse(&self, refusing: bool) {
        self.shared.state().refusing = refusing;
    }

    /// For the next `times` WebSocket text messages going `direction` for which `matches` is true: `fault`.
    pub fn on(
        &self,
        direction: Direction,
        times: usize,
        fault: Fault,
        matches: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) {
        self.shared.state().rules.push(Rule { direction, matches: Box::new(matches), fault, remaining: times });
    }

    /// Holds every message going `direction` for `delay` before passing it on (zero: no delay).
    pub fn delay(&self, direction: Direction, delay: Duration) {
        let mut state = self.shared.state();
        match direction {
            Direction::ToServer => state.delay_to_server = delay,
            Direction::ToClient => state.delay_to_client = delay,
        }
    }

    /// How many of the rules' picks are still to come: 0 once every fault set has happened.
    pub fn faults_to_come(&self) -> usize {
        self.shared.state().rules.iter().map(|rule| rule.remaining).sum()
    }

    /// Every WebSocket text message that went through so far, or was stopped, in order.
    pub fn messages(&self) -> Vec<Passed> {
        self.shared.state().log.clone()
    }

    /// How many connections the proxy has accepted so far (refused ones included).
    pub fn connections(&self) -> usize {
        self.shared.state().accepted
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        let refusing = {
            let mut state = shared.state();
            state.accepted += 1;
            state.refusing
        };
        if refusing {
            drop(client);
            continue;
        }
        tokio::spawn(relay(client, Arc::clone(&shared)));
    }
}

/// One connection: to the server, then both directions until either ends or the test cuts.
async fn relay(client: TcpStream, shared: Arc<Shared>) {
    let upstream = *shared.upstream.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(upstream) = upstream else { return };
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let mut cuts = shared.cuts.subscribe();
    cuts.mark_unchanged();
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (cut_here, mut cut_requested) = watch::channel(false);
    let to_server = pump(client_read, server_write, Direction::ToServer, Arc::clone(&shared), cut_here.clone());
    let to_client = pump(server_read, client_write, Direction::ToClient, Arc::clone(&shared), cut_here);
    // Whichever comes first ends the connection: a side closing, a cut for all, a fault's cut for this one.
    tokio::select! {
        _ = async { tokio::join!(to_server, to_client) } => {}
        _ = cuts.changed() => {}
        _ = cut_requested.wait_for(|cut| *cut) => {}
    }
}

/// Copies one direction. Until a WebSocket upgrade is seen, bytes go through as they are; after it, frame by
/// frame, so that faults can pick out messages.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    direction: Direction,
    shared: Arc<Shared>,
    cut: watch::Sender<bool>,
) {
    let mut buffer = Vec::new();
    // The HTTP head of this direction: the request (to the server) or the response (to the client).
    let websocket = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            if forward(&mut to, &buffer[..end + 4], direction, &shared).await.is_err() {
                return;
            }
            buffer.drain(..end + 4);
            // The server's answer says whether the upgrade happened: 101 Switching Protocols.
            let upgraded = head.contains("upgrade: websocket");
            if upgraded && direction == Direction::ToClient && head.starts_with("http/1.1 101") {
                shared.websockets.send_modify(|opened| *opened += 1);
            }
            break upgraded;
        }
        if !read_more(&mut from, &mut buffer).await {
            let _ = forward(&mut to, &buffer, direction, &shared).await;
            let _ = to.shutdown().await;
            return;
        }
    };
    if !websocket {
        // Long-polling, or anything else: bytes as they come.
        loop {
            if !buffer.is_empty() && forward(&mut to, &buffer, direction, &shared).await.is_err() {
                return;
            }
            buffer.clear();
            if !read_more(&mut from, &mut buffer).await {
                let _ = to.shutdown().await;
                return;
            }
        }
    }
    loop {
        while let Some(frame) = Frame::parse(&buffer) {
            let bytes: Vec<u8> = buffer.drain(..frame.length).collect();
            match decide(&shared, direction, &frame.text) {
                None => {
                    if forward(&mut to, &bytes, direction, &shared).await.is_err() {
                        return;
                    }
                }
                Some(Fault::Swallow) => {}
                Some(Fault::Repeat) => {
                    let twice = [bytes.as_slice(), bytes.as_slice()].concat();
                    if forward(&mut to, &twice, direction, &shared).await.is_err() {
                        return;
                    }
                }
                Some(Fault::SwallowAndCut) => {
                    let _ = cut.send(true);
                    return;
                }
            }
        }
        if !read_more(&mut from, &mut buffer).await {
            let _ = to.shutdown().await;
            return;
        }
    }
}

/// Whether a rule picks out this message (and which fault), logging it either way.
fn decide(shared: &Shared, direction: Direction, text: &Option<String>) -> Option<Fault> {
    let Some(text) = text else { return None };
    let mut state = shared.state();
    let fault = state
        .rules
        .iter_mut()
        .find(|rule| rule.remaining > 0 && rule.direction == direction && (rule.matches)(text))
        .map(|rule| {
            rule.remaining -= 1;
            rule.fault
        });
    let delivered = matches!(fault, None | Some(Fault::Repeat));
    state.log.push(Passed { direction, text: text.clone(), delivered });
    fault
}

async fn forward(
    to: &mut (impl AsyncWrite + Unpin),
    bytes: &[u8],
    direction: Direction,
    shared: &Shared,
) -> std::io::Result<()> {
    let delay = {
        let state = shared.state();
        match direction {
            Direction::ToServer => state.delay_to_server,
            Direction::ToClient => state.delay_to_client,
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    to.write_all(bytes).await
}

async fn read_more(from: &mut (impl AsyncRead + Unpin), buffer: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    match from.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(read) => {
            buffer.extend_from_slice(&chunk[..read]);
            true
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// One WebSocket frame at the start of a buffer: its whole length in bytes, and its text if it is a whole
/// text message (FIN set, opcode 1), unmasked.
struct Frame {
    length: usize,
    text: Option<String>,
}

impl Frame {
    /// `None` until the buffer holds the whole frame.
    fn parse(buffer: &[u8]) -> Option<Frame> {
        let (&first, &second) = (buffer.first()?, buffer.get(1)?);
        let (fin, opcode) = (first & 0x80 != 0, first & 0x0F);
        let masked = second & 0x80 != 0;
        let (payload_length, mut at) = match second & 0x7F {
            126 => (u64::from(u16::from_be_bytes([*buffer.get(2)?, *buffer.get(3)?])), 4),
            127 => (u64::from_be_bytes(buffer.get(2..10)?.try_into().ok()?), 10),
            short => (u64::from(short), 2),
        };
        let mask: Option<[u8; 4]> = if masked {
            let key = buffer.get(at..at + 4)?.try_into().ok()?;
            at += 4;
            Some(key)
        } else {
            None
        };
        let end = at.checked_add(usize::try_from(payload_length).ok()?)?;
        let payload = buffer.get(at..end)?;
        let text = (fin && opcode == 1).then(|| {
            let bytes: Vec<u8> = match mask {
                Some(key) => payload.iter().enumerate().map(|(index, byte)| byte ^ key[index % 4]).collect(),
                None => payload.to_vec(),
            };
            String::from_utf8_lossy(&bytes).into_owned()
        });
        Some(Frame { length: end, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    /// A WebSocket echo server on a free port.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
                    while let Some(Ok(message)) = ws.next().await {
                        if message.is_text() && ws.send(message).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        address
    }

    async fn next_text(
        ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    ) -> Option<String> {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => Some(text.to_string()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn messages_pass_faults_pick_some_out_and_a_cut_ends_the_connection() {
        let proxy = FaultProxy::start(echo_server().await).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/", proxy.address())).await.unwrap();
        ws.send(Message::text("one")).await.unwrap();
        assert_eq!(next_text(&mut ws).await.as_deref(), Some("one"));

        // The echo of "two" is swallowed on its way back; "three" comes through.
        proxy.on(Direction::ToClient, 1, Fault::Swallow, |text| text == "two");
        ws.send(Message::text("two")).await.unwrap();
        ws.send(Message::text("three")).await.unwrap();
        assert_eq!(next_text(&mut ws).await.as_deref(), Some("three"));
        assert_eq!(proxy.faults_to_come(), 0);
        let log: Vec<(Direction, String, bool)> =
            proxy.messages().into_iter().map(|passed| (passed.direction, passed.text, passed.delivered)).collect();
        assert!(log.contains(&(Direction::ToClient, "two".into(), false)), "{log:?}");
        assert!(log.contains(&(Direction::ToServer, "two".into(), true)), "{log:?}");

        proxy.on(Direction::ToClient, 1, Fault::Repeat, |text| text == "four");
        ws.send(Message::text("four")).await.unwrap();
        assert_eq!(next_text(&mut ws).await.as_deref(), Some("four"));
        assert_eq!(next_text(&mut ws).await.as_deref(), Some("four"), "passed on twice");

        proxy.cut();
        assert_eq!(next_text(&mut ws).await, None, "the connection ends at the cut");

        // While refusing, nobody gets through; afterwards, a new connection works.
        proxy.refuse(true);
        assert!(tokio_tungstenite::connect_async(format!("ws://{}/", proxy.address())).await.is_err());
        proxy.refuse(false);
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/", proxy.address())).await.unwrap();
        proxy.on(Direction::ToServer, 1, Fault::SwallowAndCut, |text| text == "lost");
        ws.send(Message::text("lost")).await.unwrap();
        assert_eq!(next_text(&mut ws).await, None, "the connection is cut with the message on its way");
        assert_eq!(proxy.connections(), 3);
        assert!(proxy.wait_for_websockets(2, Duration::from_secs(1)).await, "two upgrades went through");
    }

    #[test]
    fn frames_are_read_masked_or_not_and_only_when_whole() {
        // "hi", unmasked, as a server sends it.
        let frame = Frame::parse(&[0x81, 0x02, b'h', b'i', 0xFF]).expect("a whole frame");
        assert_eq!((frame.length, frame.text.as_deref()), (4, Some("hi")));
        // "hi", masked with 1 2 3 4, as a client sends it.
        let masked = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
        let frame = Frame::parse(&masked).expect("a whole frame");
        assert_eq!((frame.length, frame.text.as_deref()), (8, Some("hi")));
        assert!(Frame::parse(&masked[..7]).is_none(), "half a frame is not a frame yet");
        // A ping (opcode 9) has no text.
        assert_eq!(Frame::parse(&[0x89, 0x00]).map(|frame| frame.text), Some(None));
        // A 300-byte text: the 16-bit length.
        let mut long = vec![0x81, 126, 0x01, 0x2C];
        long.extend(std::iter::repeat_n(b'x', 300));
        assert_eq!(Frame::parse(&long).map(|frame| frame.length), Some(304));
    }
}
