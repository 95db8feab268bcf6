//! What only the Redis bus does: refuse to start without Redis, survive a
//! Redis restart with a resync, ignore garbage on its channels, and stop
//! cleanly. Cases that need a Redis skip when there is none, unless
//! POLITMASTER_REQUIRE_SERVICES=1.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::ports::{BusMessage, EventBus};
use events::{BusError, RedisBus, RedisBusConfig};
use support::{
    WAIT, blog, init_tracing, next, next_event, ping, random_prefix, record, redis_url, skip,
    wait_until,
};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("no free port")
        .port()
}

/// A `redis-server` of our own, killed when dropped.
struct RedisServer {
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// The binary (`REDIS_SERVER`, else /usr/bin/redis-server), if present.
    fn binary() -> Option<PathBuf> {
        let binary = std::env::var_os("REDIS_SERVER")
            .map_or_else(|| PathBuf::from("/usr/bin/redis-server"), PathBuf::from);
        if binary.exists() {
            Some(binary)
        } else {
            skip(&format!("no redis-server at {}", binary.display()))
        }
    }

    async fn start(binary: &Path, port: u16) -> RedisServer {
        let mut server = RedisServer {
            binary: binary.to_owned(),
            port,
            child: None,
        };
        server.restart().await;
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn restart(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        while let Err(error) = ping(&self.url()).await {
            assert!(
                Instant::now() < deadline,
                "redis-server did not come up: {error}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn starting_without_a_reachable_redis_is_an_error() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let started = tokio::time::timeout(WAIT, RedisBus::connect(&url, "pm"))
        .await
        .expect("connecting hung instead of failing");
    assert!(matches!(started, Err(BusError::Redis(_))), "{started:?}");

    let started = RedisBus::connect("redis://127.0.0.1:6379", "").await;
    assert!(matches!(started, Err(BusError::Config(_))), "{started:?}");
    let started = RedisBus::connect("http://example.com", "pm").await;
    assert!(matches!(started, Err(BusError::Redis(_))), "{started:?}");
}

/// Two nodes on a Redis of our own, which is killed and restarted. B is
/// configured to come back quickly, A slowly, which is the case where A's
/// re-announcing matters: B has already re-read the log when A's outage
/// write is finally announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_is_survived_with_a_resync() {
    init_tracing();
    let Some(binary) = RedisServer::binary() else {
        return;
    };
    let mut server = RedisServer::start(&binary, free_port()).await;
    let prefix = random_prefix();
    let mut slow = RedisBusConfig::new(server.url(), prefix.as_str());
    slow.reconnect_min = Duration::from_secs(2);
    let mut quick = RedisBusConfig::new(server.url(), prefix.as_str());
    quick.reconnect_min = Duration::from_millis(20);
    quick.reconnect_max = Duration::from_millis(200);
    let a = RedisBus::connect_with(slow).await.expect("connect A");
    let b = RedisBus::connect_with(quick).await.expect("connect B");
    let stream = blog();
    let mut on_a = a.subscribe(&stream);
    let mut on_b = b.subscribe(&stream);
    a.publish(&[record(stream, 1)]).await;
    assert_eq!(next_event(&mut on_a).await.seq, 1);
    assert_eq!(next_event(&mut on_b).await.seq, 1);

    server.kill();
    wait_until("both buses notice", WAIT, || {
        !a.is_connected() && !b.is_connected()
    })
    .await;
    // Writes go on while Redis is away: publishing neither hangs nor fails.
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(3), a.publish(&[record(stream, 2)]))
        .await
        .expect("publish hung while Redis was down");
    assert!(started.elapsed() < Duration::from_secs(1));

    server.restart().await;
    wait_until("B reconnects", WAIT, || b.is_connected()).await;
    assert!(!a.is_connected(), "A should come back after B");
    // Subscribed again, B tells its subscribers to re-read the log.
    assert!(matches!(next(&mut on_b).await, Some(BusMessage::Resync(_))));

    wait_until("A reconnects", WAIT, || a.is_connected()).await;
    assert!(matches!(next(&mut on_a).await, Some(BusMessage::Resync(_))));
    // What A published during the outage is announced now, to A's own
    // subscribers and to B's, which resynced before it was; then live
    // events flow again (the two may cross: subscribers go by sequence).
    a.publish(&[record(stream, 3)]).await;
    for sub in [&mut on_a, &mut on_b] {
        let mut seen = vec![next_event(sub).await.seq, next_event(sub).await.seq];
        seen.sort_unstable();
        assert_eq!(seen, [2, 3]);
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_channels_is_dropped_and_delivery_goes_on() {
    let Some(url) = redis_url().await else {
        return;
    };
    let config = RedisBusConfig::new(url.as_str(), random_prefix());
    let bus = RedisBus::connect_with(config.clone())
        .await
        .expect("connect");
    let (stream, other) = (blog(), blog());
    let mut sub = bus.subscribe(&stream);

    let client = redis::Client::open(url.as_str()).expect("url");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let channel = config.channel(&stream);
    let foreign = serde_json::to_string(&record(other, 1)).expect("encode");
    for (channel, payload) in [
        (channel.as_str(), "not json"),
        (channel.as_str(), r#"{"stream":"breaking"}"#),
        // A well-formed event of another stream on our stream's channel.
        (channel.as_str(), foreign.as_str()),
        (
            &format!("{}:events:no-such-stream", config.channel_prefix),
            "{}",
        ),
    ] {
        let _receivers: i64 = redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async(&mut raw)
            .await
            .expect("publish garbage");
    }
    bus.publish(&[record(stream, 1)]).await;
    let got = next_event(&mut sub).await;
    assert_eq!((got.stream, got.seq), (stream, 1));
    assert!(bus.is_connected());
    bus.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_ends_subscriptions_and_every_task() {
    let Some(url) = redis_url().await else {
        return;
    };
    // The test body runs in `block_on`, not as a task: once the bus (and
    // the ping's connection) are gone, no task may be left.
    let metrics = tokio::runtime::Handle::current().metrics();
    let bus = Arc::new(
        RedisBus::connect(&url, &random_prefix())
            .await
            .expect("connect"),
    );
    let mut sub = bus.subscribe(&blog());
    assert!(metrics.num_alive_tasks() > 0);

    bus.shutdown().await;
    assert!(
        next(&mut sub).await.is_none(),
        "the stream ends with the bus"
    );
    assert!(!bus.is_connected());
    // After shutdown: publishing is a no-op, subscribing yields nothing.
    bus.publish(&[record(blog(), 1)]).await;
    assert!(next(&mut bus.subscribe(&blog())).await.is_none());
    drop(bus);
    wait_until("the bus's tasks are gone", WAIT, || {
        metrics.num_alive_tasks() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_bus_stops_it() {
    let Some(url) = redis_url().await else {
        return;
    };
    // The test body runs in `block_on`, not as a task: once the bus (and
    // the ping's connection) are gone, no task may be left.
    let metrics = tokio::runtime::Handle::current().metrics();
    let bus: Arc<dyn EventBus> = Arc::new(
        RedisBus::connect(&url, &random_prefix())
            .await
            .expect("connect"),
    );
    let mut sub = bus.subscribe(&blog());
    drop(bus);
    assert!(
        next(&mut sub).await.is_none(),
        "the stream ends with the bus"
    );
    wait_until("the bus's tasks are gone", WAIT, || {
        metrics.num_alive_tasks() == 0
    })
    .await;
}

/// Redis closes our pub/sub connection (an admin, a proxy, a failover):
/// the bus subscribes again and subscribers re-read the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_subscription_connection_is_replaced() {
    init_tracing();
    let Some(binary) = RedisServer::binary() else {
        return;
    };
    let server = RedisServer::start(&binary, free_port()).await;
    let bus = RedisBus::connect(&server.url(), &random_prefix())
        .await
        .expect("connect");
    let stream = blog();
    let mut sub = bus.subscribe(&stream);

    let _killed: i64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "pubsub"])
        .query_async(&mut raw_connection(&server.url()).await)
        .await
        .expect("CLIENT KILL");
    assert!(matches!(next(&mut sub).await, Some(BusMessage::Resync(_))));
    assert!(bus.is_connected());
    bus.publish(&[record(stream, 1)]).await;
    assert_eq!(next_event(&mut sub).await.seq, 1);
    bus.shutdown().await;
}

/// Redis stops answering without closing anything (a hung server, a
/// partition): the ping notices, the bus reports itself disconnected,
/// publishing does not wait on it, and once Redis answers again the bus
/// reconnects and resyncs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_stops_answering_is_noticed_by_the_ping() {
    init_tracing();
    let Some(binary) = RedisServer::binary() else {
        return;
    };
    let server = RedisServer::start(&binary, free_port()).await;
    let mut config = RedisBusConfig::new(server.url(), random_prefix());
    config.ping_interval = Duration::from_millis(100);
    config.connect_timeout = Duration::from_millis(300);
    config.publish_timeout = Duration::from_millis(300);
    config.reconnect_max = Duration::from_millis(200);
    let bus = RedisBus::connect_with(config).await.expect("connect");
    let stream = blog();
    let mut sub = bus.subscribe(&stream);

    let _: () = redis::cmd("CLIENT")
        .arg(&["PAUSE", "2000", "ALL"])
        .query_async(&mut raw_connection(&server.url()).await)
        .await
        .expect("CLIENT PAUSE");
    wait_until("the bus notices", WAIT, || !bus.is_connected()).await;
    let started = Instant::now();
    bus.publish(&[record(stream, 1)]).await;
    assert!(started.elapsed() < Duration::from_secs(1), "publish waited");

    wait_until("the bus reconnects", WAIT, || bus.is_connected()).await;
    assert!(matches!(next(&mut sub).await, Some(BusMessage::Resync(_))));
    bus.publish(&[record(stream, 2)]).await;
    let mut seen = vec![
        next_event(&mut sub).await.seq,
        next_event(&mut sub).await.seq,
    ];
    seen.sort_unstable();
    assert_eq!(seen, [1, 2], "the paused write is announced after all");
    bus.shutdown().await;
}

async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection")
}
