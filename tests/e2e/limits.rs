//! What one client may take: requests per second by address and by token
//! (`429` with `Retry-After` and `RATE_LIMITED`), WebSocket connections by
//! address, subscription starts and subscription bytes per connection,
//! connections that send no request head in time, queries that run out
//! of time. Each refusal is counted on `/metrics`, and everyone else goes
//! on being served.

use std::time::Duration;

use e2e::ws::{Connection, Protocol, Received};
use e2e::{Options, TestApp, both_backends, data, error_code};
use futures::{SinkExt, StreamExt};
use politmaster::{HttpConfig, LimitsConfig, Rate};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const QUERY: &str = "{ sections { slug } }";

/// POSTs `QUERY` as `token` (if any) claiming to come from `forwarded_for`
/// (if any); the status, `Retry-After` and body.
async fn post(
    app: &TestApp,
    token: Option<&str>,
    forwarded_for: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut request = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({ "query": QUERY }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    (status, retry_after, response.json().await.expect("JSON"))
}

fn limited(limits: LimitsConfig) -> Options {
    Options {
        limits,
        ..Options::default()
    }
}

fn requests_limited() -> Options {
    limited(LimitsConfig {
        requests_per_ip: Rate::new(1, 5),
        requests_per_token: Rate::new(1, 3),
        ..LimitsConfig::unlimited()
    })
}

/// Sends until refused (a slow machine may earn a slot back meanwhile);
/// how many were answered, and the refusal.
async fn until_refused(
    app: &TestApp,
    token: Option<&str>,
) -> (usize, (u16, Option<String>, Value)) {
    for answered in 0..20 {
        let (status, retry_after, body) = post(app, token, None).await;
        if status != 200 {
            return (answered, (status, retry_after, body));
        }
    }
    panic!("twenty requests, none refused");
}

async fn requests_are_limited_per_address_and_per_token(app: &TestApp) {
    let (answered, (status, retry_after, body)) = until_refused(app, None).await;
    assert!(answered >= 5, "the burst is five: {answered}");
    assert_eq!(status, 429, "{body}");
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    assert!(body.get("data").is_none(), "nothing ran: {body}");
    let seconds: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=2).contains(&seconds), "{seconds}");
    // The header is not trusted unless configured: a client cannot pick a
    // fresh bucket by inventing an address.
    let (status, _, _) = post(app, None, Some("198.51.100.9")).await;
    assert_eq!(status, 429);
    // A second later there is room for one more.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(post(app, None, None).await.0, 200);
    assert!(
        app.metric("politmaster_refusals_total{limit=\"requests_per_ip\"}")
            .await
            >= 2
    );
}

fn tokens_limited() -> Options {
    limited(LimitsConfig {
        requests_per_token: Rate::new(1, 3),
        ..LimitsConfig::unlimited()
    })
}

async fn a_token_has_its_own_budget(app: &TestApp) {
    let (answered, (status, retry_after, body)) = until_refused(app, Some(&app.editor_token)).await;
    assert!(answered >= 3, "the burst is three: {answered}");
    assert_eq!((status, error_code(&body).as_str()), (429, "RATE_LIMITED"));
    assert!(retry_after.is_some());
    // Another token, and readers, are not held back by it.
    assert_eq!(post(app, Some(&app.admin_token), None).await.0, 200);
    assert_eq!(post(app, None, None).await.0, 200);
    assert_eq!(
        app.metric("politmaster_refusals_total{limit=\"requests_per_token\"}")
            .await,
        1
    );
}

fn behind_a_proxy() -> Options {
    limited(LimitsConfig {
        requests_per_ip: Rate::new(1, 2),
        client_ip_header: Some("x-forwarded-for".parse().expect("a header name")),
        ..LimitsConfig::unlimited()
    })
}

async fn behind_a_proxy_the_trusted_header_names_the_client(app: &TestApp) {
    // The proxy appends the address it saw; what the client wrote before
    // it is not believed.
    for _ in 0..2 {
        assert_eq!(post(app, None, Some("203.0.113.1")).await.0, 200);
    }
    assert_eq!(post(app, None, Some("203.0.113.1")).await.0, 429);
    assert_eq!(
        post(app, None, Some("203.0.113.2, 203.0.113.1")).await.0,
        429,
        "the last entry is the client"
    );
    assert_eq!(
        post(app, None, Some("203.0.113.1, 203.0.113.2")).await.0,
        200
    );
    assert_eq!(post(app, None, Some("2001:db8::1")).await.0, 200);

    // Queries over a WebSocket are requests too: the upgrade is one, and
    // of two queries the second finds the budget spent.
    let mut socket = socket_from(app, "203.0.113.9").await;
    let mut codes = Vec::new();
    for id in ["a", "b"] {
        let query = json!({ "id": id, "type": "subscribe", "payload": { "query": QUERY } });
        socket
            .send(Message::text(query.to_string()))
            .await
            .expect("sent");
        loop {
            let Some(Ok(Message::Text(text))) = socket.next().await else {
                panic!("the socket closed");
            };
            let message: Value = serde_json::from_str(&text).expect("JSON");
            let code = |errors: &Value| {
                errors[0]["extensions"]["code"]
                    .as_str()
                    .unwrap_or("none")
                    .to_owned()
            };
            match message["type"].as_str() {
                Some("next") => codes.push(code(&message["payload"]["errors"])),
                // The protocol's `error` ends the operation by itself.
                Some("error") => {
                    codes.push(code(&message["payload"]));
                    break;
                }
                Some("complete") => break,
                _ => {}
            }
        }
    }
    assert_eq!(codes, ["none", "RATE_LIMITED"]);
}

/// A `graphql-transport-ws` socket, acknowledged, whose proxy says it
/// comes from `address`.
async fn socket_from(
    app: &TestApp,
    address: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>> {
    let mut request = format!("ws://{}/graphql", app.addr)
        .into_client_request()
        .expect("a request");
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("value"),
    );
    headers.insert("x-forwarded-for", address.parse().expect("value"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("opens");
    socket
        .send(Message::text(
            json!({ "type": "connection_init" }).to_string(),
        ))
        .await
        .expect("sent");
    let Some(Ok(Message::Text(ack))) = socket.next().await else {
        panic!("no acknowledgement");
    };
    assert!(ack.contains("connection_ack"), "{ack}");
    socket
}

fn websockets_limited() -> Options {
    limited(LimitsConfig {
        websockets_per_ip: 2,
        subscribes_per_connection: Rate::new(1, 3),
        subscription_bytes_per_connection: 700,
        ..LimitsConfig::unlimited()
    })
}

/// The code of an operation's refusal: `graphql-transport-ws` sends an
/// `error` (the errors), the legacy protocol a result with `errors`.
fn code_of(received: &Received) -> String {
    let errors = match received {
        Received::Error(errors) => errors,
        Received::Next(payload) => &payload["errors"],
        other => panic!("expected a refusal, got {other:?}"),
    };
    errors[0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

const SUBSCRIPTION: &str = "subscription { breakingNews { __typename } }";

async fn websockets_are_limited_per_address_and_connection(app: &TestApp) {
    let first = Connection::open(app.addr, Protocol::TransportWs, None)
        .await
        .expect("first");
    let _second = Connection::open(app.addr, Protocol::Legacy, None)
        .await
        .expect("second");
    let refused = Connection::open(app.addr, Protocol::TransportWs, None)
        .await
        .err()
        .expect("a third from the same address is refused");
    assert!(refused.to_string().contains("429"), "{refused}");
    assert_eq!(
        app.metric("politmaster_refusals_total{limit=\"websockets_per_ip\"}")
            .await,
        1
    );
    first.close().await;
    // The slot is freed once the server has seen the close.
    let mut third = None;
    for _ in 0..50 {
        if let Ok(socket) = Connection::open(app.addr, Protocol::TransportWs, None).await {
            third = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut socket = third.expect("a closed connection frees its slot");

    // Subscriptions: three at once, then one a second.
    for _ in 0..3 {
        socket
            .subscribe(SUBSCRIPTION, json!({}))
            .await
            .expect("sent");
    }
    let fourth = socket
        .subscribe(SUBSCRIPTION, json!({}))
        .await
        .expect("sent");
    let (from, refusal) = socket.next(Duration::from_secs(5)).await.expect("answered");
    assert_eq!(from.as_deref(), Some(fourth.as_str()));
    assert_eq!(code_of(&refusal), "RATE_LIMITED", "{refusal:?}");
    // The connection stays, and so do its subscriptions.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // What it holds: three documents of 45 bytes; a fourth of 600 is too much.
    let padded = format!(
        "subscription {{ breakingNews {{ __typename }} }} # {}",
        "x".repeat(560)
    );
    let big = socket.subscribe(&padded, json!({})).await.expect("sent");
    let (from, refusal) = socket.next(Duration::from_secs(5)).await.expect("answered");
    assert_eq!(from.as_deref(), Some(big.as_str()));
    assert_eq!(code_of(&refusal), "RATE_LIMITED", "{refusal:?}");
    assert_eq!(
        app.metric("politmaster_refusals_total{limit=\"subscription_bytes\"}")
            .await,
        1
    );
    assert!(
        app.metric("politmaster_refusals_total{limit=\"subscribes_per_connection\"}")
            .await
            >= 1
    );
    socket.sync().await.expect("still served");
}

fn quick_timeouts() -> Options {
    Options {
        http: HttpConfig {
            request_head_timeout: Duration::from_millis(500),
        },
        request_timeout: Duration::from_secs(1),
        ..Options::default()
    }
}

/// Reads until the server closes the connection; how long that took, or
/// `None` if it stayed open for `patience`.
async fn closed_within(tcp: &mut TcpStream, patience: Duration) -> Option<Duration> {
    let start = std::time::Instant::now();
    let mut buffer = vec![0; 4096];
    loop {
        match tokio::time::timeout(patience, tcp.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

async fn slow_and_silent_connections_are_closed(app: &TestApp) {
    let patience = Duration::from_secs(5);
    // Nothing at all.
    let mut silent = TcpStream::connect(app.addr).await.expect("connects");
    assert!(
        closed_within(&mut silent, patience).await.is_some(),
        "a silent connection stays"
    );
    // Half a request head, then nothing.
    let mut trickle = TcpStream::connect(app.addr).await.expect("connects");
    trickle
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Ty")
        .await
        .expect("written");
    assert!(
        closed_within(&mut trickle, patience).await.is_some(),
        "half a head stays"
    );
    // A request answered, then an idle keep-alive connection.
    let mut idle = TcpStream::connect(app.addr).await.expect("connects");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("written");
    let mut answer = vec![0; 1024];
    let read = idle.read(&mut answer).await.expect("answered");
    assert!(
        answer[..read].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer[..read])
    );
    assert!(
        closed_within(&mut idle, patience).await.is_some(),
        "an idle connection stays"
    );
    // Requests in quick succession keep one connection.
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let ok = client.get(app.url("/healthz")).send().await.expect("sent");
        assert_eq!(ok.status(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A query stuck behind a lock on PostgreSQL (a migration, a long
/// transaction) is answered when its time is up, and the node goes on
/// serving. PostgreSQL only: SQLite readers are never blocked by a writer,
/// and nothing else makes a read wait that long there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_stuck_on_the_database_runs_out_of_time() {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    let Some(app) = e2e::spawn_app(e2e::Backend::Postgres, quick_timeouts()).await else {
        return;
    };
    let query = "{ articles(first: 5) { totalCount edges { node { headline } } } }";
    let blocker = sea_orm::Database::connect(app.database_url())
        .await
        .expect("a second connection");
    let lock = blocker.begin().await.expect("a transaction");
    lock.execute_unprepared("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("locked");

    let started = std::time::Instant::now();
    let response = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 503);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Mutations are never cut short: they commit, or fail, whole.
    let created = app
        .as_editor(
            "mutation { createAuthor(input: {name: \"Timed Writer\"}) { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&created)["createAuthor"]["slug"], "timed-writer");

    lock.rollback().await.expect("released");
    let response = app.query(query, json!({})).await;
    assert_eq!(data(&response)["articles"]["totalCount"], 0, "{response}");
}

both_backends! {
    requests_per_address_and_token => requests_are_limited_per_address_and_per_token, requests_limited();
    token_budgets => a_token_has_its_own_budget, tokens_limited();
    trusted_client_ip_header => behind_a_proxy_the_trusted_header_names_the_client, behind_a_proxy();
    websocket_limits => websockets_are_limited_per_address_and_connection, websockets_limited();
    head_and_idle_timeouts => slow_and_silent_connections_are_closed, quick_timeouts();
}
