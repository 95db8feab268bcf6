//! One contract, every bus. Each case runs against the in-process bus and
//! against two Redis buses on the same Redis and prefix, which model two
//! nodes: A publishes, B receives. (For the in-process bus A and B are the
//! same bus.) Redis cases skip when Redis is down, unless
//! POLITMASTER_REQUIRE_SERVICES=1.

mod support;

use std::sync::Arc;

use domain::events::Stream;
use domain::ports::{BusMessage, Change, EventBus};
use events::{Hub, LocalBus, RedisBus, STREAM_BUFFER};
use futures::StreamExt;
use support::{WAIT, blog, next, next_event, random_prefix, record, records, redis_url};

struct Nodes {
    /// Where events are published.
    a: Arc<dyn EventBus>,
    /// Where they are received.
    b: Arc<dyn EventBus>,
    hub_b: Hub,
    redis: Vec<Arc<RedisBus>>,
}

impl Nodes {
    fn local() -> Nodes {
        let bus = Arc::new(LocalBus::new());
        Nodes {
            a: bus.clone(),
            b: bus.clone(),
            hub_b: bus.hub().clone(),
            redis: Vec::new(),
        }
    }

    async fn redis() -> Option<Nodes> {
        let url = redis_url().await?;
        let prefix = random_prefix();
        let connect = || async {
            Arc::new(
                RedisBus::connect(&url, &prefix)
                    .await
                    .expect("Redis answered a ping but the bus cannot connect"),
            )
        };
        let (a, b) = (connect().await, connect().await);
        Some(Nodes {
            a: a.clone(),
            b: b.clone(),
            hub_b: b.hub().clone(),
            redis: vec![a, b],
        })
    }

    async fn close(self) {
        for bus in self.redis {
            bus.shutdown().await;
        }
    }
}

macro_rules! contract {
    ($($case:ident),+ $(,)?) => {
        mod local_bus {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let nodes = super::Nodes::local();
                    super::$case(&nodes).await;
                    nodes.close().await;
                }
            )+
        }
        mod redis_bus {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(nodes) = super::Nodes::redis().await else { return };
                    super::$case(&nodes).await;
                    nodes.close().await;
                }
            )+
        }
    };
}

contract!(
    both_nodes_are_connected,
    an_event_published_on_one_node_reaches_the_other,
    a_burst_of_1000_events_arrives_in_order,
    every_subscriber_gets_every_event,
    the_publishing_node_gets_its_own_events_exactly_once,
    a_subscriber_gets_its_own_stream_only,
    a_subscriber_that_never_reads_lags_while_others_continue,
    a_stream_has_a_channel_only_while_somebody_watches,
    changes_of_every_stream_and_announcements_reach_every_node,
);

async fn changes_of_every_stream_and_announcements_reach_every_node(nodes: &Nodes) {
    let mut changes = nodes.b.changes();
    // Nobody on B subscribes to these streams: caches hear of them anyway.
    let (one, two) = (blog(), blog());
    nodes.a.publish(&[record(one, 1), record(two, 1)]).await;
    nodes.a.announce_change().await;
    let mut heard = Vec::new();
    while heard.len() < 3 {
        let change = tokio::time::timeout(WAIT, changes.next())
            .await
            .expect("a change within the wait")
            .expect("the bus is open");
        heard.push(change);
    }
    for expected in [Change::Stream(one), Change::Stream(two), Change::Content] {
        assert!(heard.contains(&expected), "{expected:?} not in {heard:?}");
    }
}

async fn both_nodes_are_connected(nodes: &Nodes) {
    assert!(nodes.a.is_connected());
    assert!(nodes.b.is_connected());
}

async fn an_event_published_on_one_node_reaches_the_other(nodes: &Nodes) {
    let stream = blog();
    let mut sub = nodes.b.subscribe(&stream);
    let sent = record(stream, 1);
    nodes.a.publish(std::slice::from_ref(&sent)).await;
    assert_eq!(*next_event(&mut sub).await, sent);
}

async fn a_burst_of_1000_events_arrives_in_order(nodes: &Nodes) {
    let stream = blog();
    let mut sub = nodes.b.subscribe(&stream);
    let reader = tokio::spawn(async move {
        let mut seqs = Vec::with_capacity(1000);
        while seqs.len() < 1000 {
            seqs.push(next_event(&mut sub).await.seq);
        }
        seqs
    });
    // One publish per event, as the writes of a busy live blog would.
    for seq in 1..=1000 {
        nodes.a.publish(&[record(stream, seq)]).await;
    }
    let seqs = tokio::time::timeout(WAIT, reader)
        .await
        .expect("the burst did not arrive in time")
        .expect("reader panicked");
    assert_eq!(seqs, (1..=1000).collect::<Vec<_>>());
}

async fn every_subscriber_gets_every_event(nodes: &Nodes) {
    let stream = blog();
    let mut subs: Vec<_> = (0..100).map(|_| nodes.b.subscribe(&stream)).collect();
    assert_eq!(nodes.hub_b.subscribers(&stream), 100);
    nodes.a.publish(&records(stream, 1..=200)).await;
    for sub in &mut subs {
        for seq in 1..=200 {
            assert_eq!(next_event(sub).await.seq, seq);
        }
    }
}

async fn the_publishing_node_gets_its_own_events_exactly_once(nodes: &Nodes) {
    let stream = blog();
    let mut sub = nodes.a.subscribe(&stream);
    nodes.a.publish(&records(stream, 1..=2)).await;
    nodes.a.publish(&[record(stream, 3)]).await;
    for seq in 1..=3 {
        assert_eq!(next_event(&mut sub).await.seq, seq);
    }
    // A repeat of anything would arrive before this marker.
    nodes.a.publish(&[record(stream, 100)]).await;
    assert_eq!(next_event(&mut sub).await.seq, 100);
}

async fn a_subscriber_gets_its_own_stream_only(nodes: &Nodes) {
    let (mine, other) = (blog(), blog());
    let mut sub = nodes.b.subscribe(&mine);
    let mut breaking = nodes.b.subscribe(&Stream::Breaking);
    let _other_sub = nodes.b.subscribe(&other);
    nodes
        .a
        .publish(&[
            record(other, 1),
            record(Stream::Breaking, 1),
            record(mine, 1),
            record(other, 2),
            record(Stream::Articles, 1),
            record(mine, 2),
        ])
        .await;
    for seq in 1..=2 {
        let got = next_event(&mut sub).await;
        assert_eq!((got.stream, got.seq), (mine, seq));
    }
    let got = next_event(&mut breaking).await;
    assert_eq!((got.stream, got.seq), (Stream::Breaking, 1));
    // Nothing foreign is waiting: the next thing is the next event of ours.
    nodes
        .a
        .publish(&[
            record(other, 3),
            record(Stream::Breaking, 2),
            record(mine, 3),
        ])
        .await;
    let got = next_event(&mut sub).await;
    assert_eq!((got.stream, got.seq), (mine, 3));
}

async fn a_subscriber_that_never_reads_lags_while_others_continue(nodes: &Nodes) {
    let stream = blog();
    let mut idle = nodes.b.subscribe(&stream);
    let mut active = nodes.b.subscribe(&stream);
    let total = STREAM_BUFFER as i64 + 50;
    let mut last = 0;
    // In batches the active subscriber drains, so that only the idle one
    // overflows, whatever the scheduling.
    while last < total {
        let upto = (last + 100).min(total);
        nodes.a.publish(&records(stream, last + 1..=upto)).await;
        for seq in last + 1..=upto {
            assert_eq!(next_event(&mut active).await.seq, seq);
        }
        last = upto;
    }
    assert!(matches!(next(&mut idle).await, Some(BusMessage::Lagged)));
    nodes.a.publish(&[record(stream, total + 1)]).await;
    assert_eq!(next_event(&mut active).await.seq, total + 1);
}

async fn a_stream_has_a_channel_only_while_somebody_watches(nodes: &Nodes) {
    let hub = &nodes.hub_b;
    assert_eq!(hub.watched_streams(), 0);
    let (x, y) = (blog(), blog());
    let first_x = nodes.b.subscribe(&x);
    let mut second_x = nodes.b.subscribe(&x);
    let only_y = nodes.b.subscribe(&y);
    assert_eq!(hub.watched_streams(), 2);
    drop(first_x);
    assert_eq!(hub.watched_streams(), 2);
    drop(only_y);
    assert_eq!(hub.watched_streams(), 1);
    assert!(!hub.is_watched(&y));

    // Events of streams nobody watches create nothing on arrival. They are
    // published before one of x, so they have been handled once it is here.
    nodes
        .a
        .publish(&[record(y, 1), record(blog(), 1), record(x, 1)])
        .await;
    assert_eq!(next_event(&mut second_x).await.stream, x);
    assert_eq!(hub.watched_streams(), 1);
    drop(second_x);
    assert_eq!(hub.watched_streams(), 0);
}
