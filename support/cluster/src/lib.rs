//! Several chat servers ("nodes") on one Redis, from chapter 11 on.
//!
//! socketioxide's Redis adapter (the `socketioxide-redis` crate) lets a node broadcast to the sockets of every
//! other node, and ask them which rooms exist, through Redis's publish/subscribe. It talks to Redis through a
//! *driver*. The one it brings for the `redis` crate holds a single connection, and when that connection
//! breaks (Redis restarted, say) it is gone for good: the node can no longer reach the others until it is
//! itself restarted. [`ManagedDriver`] is the same driver on the `redis` crate's `ConnectionManager`, which
//! reconnects by itself and subscribes again to every channel it had: a node rides out a Redis restart.
//!
//! Besides the adapter's own traffic, nodes ring a *doorbell* ([`Doorbell`]) when they append to the shared
//! log, so that the other nodes look for new messages at once instead of at their next check.
//!
//! A server that runs alone (chapter 12 without `--redis`) uses the same adapter on a driver with no Redis
//! behind it ([`alone`]): it publishes nowhere and counts one node, itself, so the adapter answers every
//! question from this node's sockets, as socketioxide's local adapter would. One type of adapter for both
//! ways of running keeps the code free of type parameters.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, FromRedisValue, PushInfo, PushKind};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};
use tokio::sync::mpsc;

/// The adapter of a node, on the [`ManagedDriver`]: `SocketIo::builder().with_adapter::<Adapter<_>>(..)`.
pub type Adapter<E> = CustomRedisAdapter<E, ManagedDriver>;

/// How long a reconnection may wait between two attempts, at most.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// How long one command to Redis may take before it fails (Redis gone, say).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

type Handlers = Arc<RwLock<HashMap<String, mpsc::Sender<ChanItem>>>>;

/// socketioxide-redis's `Driver` on a connection that reconnects and resubscribes by itself; or, for a
/// server alone, on none.
#[derive(Clone)]
pub struct ManagedDriver {
    handlers: Handlers,
    /// `None` for a server alone.
    connection: Option<ConnectionManager>,
}

/// What went wrong with Redis.
#[derive(Debug)]
pub struct RedisError(redis::RedisError);

impl std::fmt::Display for RedisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for RedisError {}

impl From<redis::RedisError> for RedisError {
    fn from(error: redis::RedisError) -> RedisError {
        RedisError(error)
    }
}

impl ManagedDriver {
    /// Connects to the Redis at `url` (`redis://127.0.0.1:6379`; the RESP3 protocol the adapter needs is
    /// asked for here, so the URL need not say `?protocol=resp3`).
    pub async fn connect(url: &str) -> Result<ManagedDriver, String> {
        let url = with_resp3(url);
        let client = redis::Client::open(url.as_str()).map_err(|error| format!("{url} is not a Redis URL: {error}"))?;
        let handlers: Handlers = Arc::default();
        let deliver = Arc::clone(&handlers);
        let config = ConnectionManagerConfig::new()
            .set_push_sender(move |message: PushInfo| {
                hand_over(message, &deliver);
                Ok::<(), std::convert::Infallible>(())
            })
            .set_automatic_resubscription()
            .set_max_delay(MAX_RECONNECT_DELAY)
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(RESPONSE_TIMEOUT));
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|error| format!("cannot reach Redis at {url}: {error}"))?;
        tokio::spawn(keep_alive(connection.clone()));
        Ok(ManagedDriver { handlers, connection: Some(connection) })
    }

    /// The driver of a server that runs alone: no Redis, and no other node.
    pub fn alone() -> ManagedDriver {
        ManagedDriver { handlers: Handlers::default(), connection: None }
    }
}

/// How often an idle node asks Redis whether it is there.
const KEEP_ALIVE: Duration = Duration::from_secs(1);

/// The connection manager reconnects when a command finds the connection broken, and gives up on that
/// command after a few tries. A node with nothing to say would notice a Redis restart only at its next
/// command, and until then hear nothing from the others: so it says something, a `PING`, every second.
async fn keep_alive(connection: ConnectionManager) {
    loop {
        tokio::time::sleep(KEEP_ALIVE).await;
        let _: Result<String, _> = redis::cmd("PING").query_async(&mut connection.clone()).await;
    }
}

/// The redis crate speaks RESP2 unless the URL asks for RESP3, and the adapter's driver needs RESP3's push
/// messages.
fn with_resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

/// Hands a message that came on a subscribed channel to whoever subscribed to it.
fn hand_over(message: PushInfo, handlers: &Handlers) {
    if !matches!(message.kind, PushKind::Message | PushKind::SMessage) || message.data.len() < 2 {
        return;
    }
    let mut data = message.data.into_iter();
    let (Some(channel), Some(payload)) = (data.next(), data.next()) else { return };
    let (Ok(channel), Ok(payload)) = (String::from_redis_value(channel), Vec::<u8>::from_redis_value(payload)) else {
        return;
    };
    let handlers = handlers.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(subscriber) = handlers.get(&channel) {
        // A subscriber that cannot keep up loses this message: Redis pub/sub is at-most-once anyway.
        let _ = subscriber.try_send((channel, payload));
    }
}

impl Driver for ManagedDriver {
    type Error = RedisError;

    async fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), RedisError> {
        if let Some(connection) = &self.connection {
            connection.clone().publish::<_, _, redis::Value>(channel, payload).await?;
        }
        Ok(())
    }

    async fn subscribe(&self, channel: String, size: usize) -> Result<MessageStream<ChanItem>, RedisError> {
        let Some(connection) = &self.connection else { return Ok(MessageStream::new_empty()) };
        let (sender, receiver) = mpsc::channel(size);
        self.handlers.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(channel.clone(), sender);
        connection.clone().subscribe(channel.as_str()).await?;
        Ok(MessageStream::new(receiver))
    }

    async fn unsubscribe(&self, channel: String) -> Result<(), RedisError> {
        self.handlers.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&channel);
        if let Some(connection) = &self.connection {
            connection.clone().unsubscribe(channel).await?;
        }
        Ok(())
    }

    /// How many nodes listen on `channel`: asked of Redis, or one (this one) for a server alone.
    async fn num_serv(&self, channel: &str) -> Result<u16, RedisError> {
        let Some(connection) = &self.connection else { return Ok(1) };
        let (_, count): (String, u16) =
            redis::cmd("PUBSUB").arg("NUMSUB").arg(channel).query_async(&mut connection.clone()).await?;
        Ok(count)
    }
}

/// The adapter's constructor for one node: its driver, with `prefix` in front of every channel it uses, so
/// that several chats (several tests, say) can share one Redis without hearing each other.
pub async fn adapter(url: &str, prefix: &str) -> Result<(RedisAdapterCtr<ManagedDriver>, Doorbell), String> {
    let driver = ManagedDriver::connect(url).await?;
    let doorbell = Doorbell::new(driver.clone(), prefix).await?;
    let config = RedisAdapterConfig::new().with_prefix(prefix.to_owned());
    Ok((RedisAdapterCtr::new_with_driver(driver, config), doorbell))
}

/// The adapter's constructor, and a doorbell that never rings, for a server that runs alone.
pub async fn alone() -> (RedisAdapterCtr<ManagedDriver>, Doorbell) {
    let driver = ManagedDriver::alone();
    let doorbell = Doorbell::new(driver.clone(), "alone").await.expect("a driver alone cannot fail");
    (RedisAdapterCtr::new_with_driver(driver, RedisAdapterConfig::new()), doorbell)
}

/// Tells every node that the shared log has grown: a publish on the channel `PREFIX-log`, whose message is
/// the newest offset. It is a hint, not a delivery: a ring lost (Redis down) only delays the others until they
/// look by themselves.
#[derive(Clone)]
pub struct Doorbell {
    driver: ManagedDriver,
    channel: String,
    rings: Arc<tokio::sync::Mutex<MessageStream<ChanItem>>>,
}

impl Doorbell {
    async fn new(driver: ManagedDriver, prefix: &str) -> Result<Doorbell, String> {
        let channel = format!("{prefix}-log");
        let rings = driver.subscribe(channel.clone(), 64).await.map_err(|error| error.to_string())?;
        Ok(Doorbell { driver, channel, rings: Arc::new(tokio::sync::Mutex::new(rings)) })
    }

    /// Rings: the log now reaches `offset`. Fails silently when Redis is unreachable (see above).
    pub async fn ring(&self, offset: u64) {
        let _ = self.driver.publish(self.channel.clone(), offset.to_string().into_bytes()).await;
    }

    /// Waits for the next ring, from any node (this one's own included).
    pub async fn next_ring(&self) {
        if self.rings.lock().await.next().await.is_none() {
            // The stream ended (the driver dropped it): no more rings; the caller falls back on its timer.
            std::future::pending::<()>().await;
        }
    }
}
