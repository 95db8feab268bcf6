//! A big night: while attackers flood the node with requests and sockets,
//! hold connections open without sending, send oversized and malformed
//! requests and frames, and a desk token is revoked under an open socket,
//! a reader's queries keep being answered and a live-blog subscriber gets
//! every entry the desk posts, once and in order. `/metrics` counts the
//! refusals.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use domain::Role;
use e2e::ws::{Connection, Protocol};
use e2e::{Options, TestApp, both_backends, data};
use futures::SinkExt;
use politmaster::{HttpConfig, LimitsConfig, Rate};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::delivery_support::{blog_events, live_blog, post, posted_texts, subscribe_blog, texts};

const ATTACKER: &str = "203.0.113.66";
/// Opens sockets (from an address of its own: the flood has spent the
/// first one's requests, upgrades included).
const SOCKET_ATTACKER: &str = "203.0.113.77";
const READER: &str = "198.51.100.7";
/// Sends what is too big or not JSON at all.
const NEIGHBOUR: &str = "198.51.100.8";
const ENTRIES: usize = 20;

fn big_night() -> Options {
    Options {
        limits: LimitsConfig {
            requests_per_ip: Rate::new(50, 100),
            websockets_per_ip: 5,
            client_ip_header: Some("x-forwarded-for".parse().expect("a header name")),
            ..LimitsConfig::default()
        },
        http: HttpConfig {
            request_head_timeout: Duration::from_secs(1),
        },
        ..Options::default()
    }
}

/// The node's GraphQL endpoint, for tasks of their own.
#[derive(Clone)]
struct Endpoint {
    http: reqwest::Client,
    url: String,
}

impl Endpoint {
    fn of(app: &TestApp) -> Self {
        Endpoint {
            http: reqwest::Client::new(),
            url: app.url("/graphql"),
        }
    }

    /// One that opens a connection per request: after refusing a body
    /// too large to read the server closes the connection, and it closes
    /// idle ones, which a pooled client might pick for its next request.
    fn unpooled(app: &TestApp) -> Self {
        Endpoint {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("a client"),
            url: app.url("/graphql"),
        }
    }

    /// POSTs `body` as JSON from `address`; the status (0: no answer).
    async fn post(&self, address: &str, body: Vec<u8>) -> u16 {
        self.http
            .post(&self.url)
            .header("x-forwarded-for", address)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_or(0, |response| response.status().as_u16())
    }
}

/// The attacker's request flood, until `stop`; counts the refusals.
async fn flood(endpoint: Endpoint, stop: Arc<AtomicBool>, refused: Arc<AtomicU64>) {
    let body = json!({ "query": "{ articles(first: 50) { edges { node { headline body } } } }" })
        .to_string()
        .into_bytes();
    while !stop.load(Ordering::Relaxed) {
        if endpoint.post(ATTACKER, body.clone()).await == 429 {
            refused.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn under_attack(app: &TestApp) {
    let blog = live_blog(app, "Election night").await;
    let mut subscriber = subscribe_blog(app, Protocol::TransportWs, &blog, None).await;
    subscriber.sync().await.expect("subscribed");
    let desk = app.command_line().await;
    let night_token = desk
        .issue_token("night-shift", Role::Editor, None, [3; 32])
        .await
        .expect("issued")
        .secret;
    let mut desk_socket = Connection::open(app.addr, Protocol::Legacy, Some(&night_token))
        .await
        .expect("the desk's socket");

    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));
    let endpoint = Endpoint::of(app);
    let neighbour = Endpoint::unpooled(app);
    // Not the flood's pool either: a connection it left idle may be closed
    // by the request-head timeout just as the reader takes it.
    let reader = Endpoint::unpooled(app);
    let mut attacks = Vec::new();
    // Three flooding clients: enough to be refused thousands of times, not
    // so many that the rest of the suite, running beside it, starves.
    for _ in 0..3 {
        attacks.push(tokio::spawn(flood(
            endpoint.clone(),
            stop.clone(),
            refused.clone(),
        )));
    }
    // Slow clients: half a request head, then nothing.
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut tcp = TcpStream::connect(app.addr).await.expect("connects");
        tcp.write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Le")
            .await
            .expect("written");
        slow.push(tcp);
    }
    // Sockets beyond the attacker's allowance, and bytes that are not
    // WebSocket on the ones it gets.
    let mut socket_refusals = 0;
    let mut garbage = Vec::new();
    for _ in 0..10 {
        let mut request = format!("ws://{}/graphql", app.addr)
            .into_client_request()
            .expect("a request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().expect("value"),
        );
        request
            .headers_mut()
            .insert("x-forwarded-for", SOCKET_ATTACKER.parse().expect("value"));
        match tokio_tungstenite::connect_async(request).await {
            Ok((mut socket, _)) => {
                // A message that is no protocol's, then bytes that are not
                // WebSocket at all.
                let _ = socket.send(Message::binary(vec![0xFF; 70_000])).await;
                if let MaybeTlsStream::Plain(tcp) = socket.get_mut() {
                    let _ = tcp.write_all(&[0xFF; 64]).await;
                }
                garbage.push(socket);
            }
            Err(_) => socket_refusals += 1,
        }
    }
    assert_eq!(socket_refusals, 5, "five sockets per address");

    // Meanwhile, the desk posts and a reader reads.
    let mut reader_failures = Vec::new();
    for i in 1..=ENTRIES {
        post(app, &blog, &format!("Update {i}")).await;
        let query = json!({ "query": "{ sections { slug } }" });
        let status = reader.post(READER, query.to_string().into_bytes()).await;
        if status != 200 {
            reader_failures.push(status);
        }
        // Oversized and malformed requests, from the reader's neighbour.
        // Refused from its length: `413`, unless the refusal (and the
        // connection's close) reached the client while it was still
        // sending, which it then sees as a reset.
        let oversized = neighbour.post(NEIGHBOUR, vec![b'{'; 2 << 20]).await;
        assert!(matches!(oversized, 413 | 0), "{oversized}");
        assert_eq!(
            neighbour.post(NEIGHBOUR, b"{\"query\":".to_vec()).await,
            400
        );
        if i == ENTRIES / 2 {
            assert_eq!(desk.revoke_tokens("night-shift").await.expect("revoked"), 1);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        reader_failures.is_empty(),
        "the reader was refused: {reader_failures:?}"
    );

    // Every entry, once, in order.
    let events = blog_events(&mut subscriber, ENTRIES).await;
    assert_eq!(posted_texts(&events), texts("Update", 1..=ENTRIES));
    subscriber
        .expect_silence(Duration::from_millis(500))
        .await
        .expect("nothing twice");

    // The revoked token's socket was closed.
    let mut closed = None;
    for _ in 0..20 {
        if let Ok((_, e2e::ws::Received::Closed(frame))) =
            desk_socket.next(Duration::from_secs(1)).await
        {
            closed = frame;
            break;
        }
    }
    assert_eq!(closed.map(|(code, _)| code), Some(4403));

    stop.store(true, Ordering::Relaxed);
    for attack in attacks {
        attack.await.expect("the flood ends");
    }
    assert!(
        refused.load(Ordering::Relaxed) > 0,
        "the flood was never refused"
    );
    // The slow clients were shown the door.
    for mut tcp in slow {
        let mut buffer = [0; 64];
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::io::AsyncReadExt::read(&mut tcp, &mut buffer),
        )
        .await;
        assert!(
            matches!(read, Ok(Ok(_) | Err(_))),
            "a slow client is still connected"
        );
    }
    drop(garbage);

    assert!(
        app.metric("politmaster_refusals_total{limit=\"requests_per_ip\"}")
            .await
            > 0
    );
    assert_eq!(
        app.metric("politmaster_refusals_total{limit=\"websockets_per_ip\"}")
            .await,
        5
    );
    // And after it all, an ordinary query.
    let after = app.query("{ sections { slug } }", json!({})).await;
    assert_eq!(data(&after)["sections"].as_array().map(Vec::len), Some(5));
}

both_backends! {
    a_big_night => under_attack, big_night();
}
