//! GraphQL over WebSocket on `GET /graphql`, through a real socket: the
//! upgrade, both subprotocols, the caller taken from `connection_init`,
//! live subscriptions, keep-alive, timeouts and graceful shutdown.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::Role;
use domain::events::Stream;
use domain::ports::BusMessage;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::TestApp;

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) async fn serve(app: &TestApp) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// The two subprotocols and their message names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Protocol {
    pub name: &'static str,
    pub subscribe: &'static str,
    pub next: &'static str,
}

pub(crate) const TRANSPORT_WS: Protocol = Protocol {
    name: "graphql-transport-ws",
    subscribe: "subscribe",
    next: "next",
};
pub(crate) const LEGACY: Protocol = Protocol {
    name: "graphql-ws",
    subscribe: "start",
    next: "data",
};
pub(crate) const BOTH: [Protocol; 2] = [TRANSPORT_WS, LEGACY];

pub(crate) async fn connect(addr: std::net::SocketAddr, protocols: &str) -> (Socket, String) {
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocols.parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    let chosen = response.headers()["sec-websocket-protocol"]
        .to_str()
        .unwrap()
        .to_owned();
    (socket, chosen)
}

/// Connects, sends `connection_init` with `payload` and expects the ack.
pub(crate) async fn open(addr: std::net::SocketAddr, protocol: Protocol, payload: Value) -> Socket {
    let (mut socket, _) = connect(addr, protocol.name).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    socket
}

pub(crate) async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

pub(crate) async fn subscribe(
    socket: &mut Socket,
    protocol: Protocol,
    id: &str,
    query: &str,
    variables: Value,
) {
    let message = json!({
        "id": id, "type": protocol.subscribe,
        "payload": { "query": query, "variables": variables },
    });
    send(socket, message).await;
}

/// Waits until the server has handled everything sent on `socket` so far:
/// it answers a connection's messages in order, so once a query sent now
/// is answered, a subscription sent before it is live.
pub(crate) async fn sync(socket: &mut Socket, protocol: Protocol) {
    subscribe(socket, protocol, "sync", "{ __typename }", json!({})).await;
    loop {
        let message = next_json(socket).await;
        if message["id"] == "sync" && message["type"] == "complete" {
            return;
        }
        assert_eq!(message["id"], "sync", "{message}");
    }
}

/// The next frame of any kind, within five seconds.
pub(crate) async fn next_frame(socket: &mut Socket) -> Message {
    tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a frame within 5 s")
        .expect("socket open")
        .expect("a frame")
}

/// The next protocol message, skipping keep-alives (pings, pongs, `ka`).
pub(crate) async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match next_frame(socket).await {
            Message::Text(text) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                if message["type"] != "ka" {
                    return message;
                }
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Reads until the close frame, skipping everything else; its code and
/// reason.
pub(crate) async fn close_frame(socket: &mut Socket) -> (u16, String) {
    loop {
        match next_frame(socket).await {
            Message::Close(Some(frame)) => return (frame.code.into(), frame.reason.to_string()),
            Message::Close(None) => panic!("a close frame without a code"),
            _ => continue,
        }
    }
}

#[tokio::test]
async fn operations_over_graphql_transport_ws_see_the_token_from_connection_init() {
    let app = TestApp::with_articles(0);
    let token = app.token(Role::Admin).await;
    let addr = serve(&app).await;

    let (mut socket, chosen) = connect(addr, "graphql-transport-ws").await;
    assert_eq!(chosen, "graphql-transport-ws");
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    send(&mut socket, init).await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");

    subscribe(&mut socket, TRANSPORT_WS, "1", "{ me { role } }", json!({})).await;
    let next = next_json(&mut socket).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["payload"]["data"]["me"]["role"], "ADMIN");
    assert_eq!(next_json(&mut socket).await["type"], "complete");
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_is_accepted_and_spoken_when_listed_first() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    let (mut socket, chosen) = connect(addr, "graphql-ws, graphql-transport-ws").await;
    assert_eq!(
        chosen, "graphql-ws",
        "the protocol spoken is the one echoed"
    );
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    subscribe(&mut socket, LEGACY, "1", "{ site { name } }", json!({})).await;
    assert_eq!(next_json(&mut socket).await["type"], "data");
}

#[tokio::test]
async fn the_protocol_is_echoed_exactly_as_the_client_wrote_it() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    // A client checks the echo byte for byte against what it sent.
    let (mut socket, chosen) = connect(addr, "chat, GraphQL-Transport-WS").await;
    assert_eq!(chosen, "GraphQL-Transport-WS");
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
}

#[tokio::test]
async fn an_upgrade_with_a_bad_token_is_refused_before_upgrading() {
    let app = TestApp::with_articles(0);
    let request = Request::builder()
        .uri("/graphql")
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-protocol", "graphql-transport-ws")
        .header("authorization", "Bearer nope")
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_bad_token_in_connection_init_closes_the_socket_with_4403() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    for (protocol, payload) in [
        (TRANSPORT_WS, json!({ "authorization": "Bearer nope" })),
        (LEGACY, json!({ "Authorization": "Basic dXNlcjpwdw==" })),
    ] {
        let (mut socket, _) = connect(addr, protocol.name).await;
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": payload }),
        )
        .await;
        if protocol.name == "graphql-ws" {
            let error = next_json(&mut socket).await;
            assert_eq!(error["type"], "connection_error", "{error}");
            assert_eq!(error["payload"]["extensions"]["code"], "UNAUTHENTICATED");
        }
        let (code, reason) = close_frame(&mut socket).await;
        assert_eq!(code, 4403, "{protocol:?}");
        assert!(reason.starts_with("UNAUTHENTICATED: "), "{reason}");
    }
}

pub(crate) const LIVE_BLOG: &str = "subscription($id: ID!, $after: String) {
  liveBlog(id: $id, after: $after) {
    __typename cursor
    ... on LiveEntryPosted { entry { bodyText } }
  }
}";

/// A live blog created by the desk: its id and its cursor.
pub(crate) async fn live_blog(app: &TestApp, token: &str) -> (Value, String) {
    let reply = app
        .query(
            "mutation { createLiveBlog(input: { title: \"Election night\", section: \"electoral-processes\" }) { id cursor } }",
            json!({}),
            Some(token),
        )
        .await;
    let blog = &reply.body["data"]["createLiveBlog"];
    (
        blog["id"].clone(),
        blog["cursor"].as_str().unwrap().to_owned(),
    )
}

pub(crate) async fn post(app: &TestApp, token: &str, blog: &Value, body: &str) {
    let reply = app
        .query(
            "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) { id } }",
            json!({ "input": { "liveBlog": blog, "body": body } }),
            Some(token),
        )
        .await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.body);
}

#[tokio::test]
async fn live_entries_reach_subscribers_over_both_protocols_and_resume_from_a_cursor() {
    let app = TestApp::with_articles(0);
    let editor = app.token(Role::Editor).await;
    let addr = serve(&app).await;
    for protocol in BOTH {
        let (blog, cursor) = live_blog(&app, &editor).await;
        let mut socket = open(addr, protocol, json!({})).await;
        // From the cursor read with the page: nothing posted after it can
        // be missed, however long the subscription takes to start.
        subscribe(
            &mut socket,
            protocol,
            "live",
            LIVE_BLOG,
            json!({ "id": blog, "after": cursor }),
        )
        .await;
        post(&app, &editor, &blog, "<p>First results</p>").await;
        let message = next_json(&mut socket).await;
        assert_eq!(
            (&message["type"], &message["id"]),
            (&json!(protocol.next), &json!("live")),
            "{message}"
        );
        let event = &message["payload"]["data"]["liveBlog"];
        assert_eq!(event["__typename"], "LiveEntryPosted");
        assert_eq!(event["entry"]["bodyText"], "First results");
        let first_cursor = event["cursor"].as_str().unwrap().to_owned();
        assert_ne!(first_cursor, cursor);

        // The widget drops off; two more entries are posted meanwhile.
        drop(socket);
        post(&app, &editor, &blog, "<p>Second</p>").await;
        post(&app, &editor, &blog, "<p>Third</p>").await;
        let mut socket = open(addr, protocol, json!({})).await;
        subscribe(
            &mut socket,
            protocol,
            "again",
            LIVE_BLOG,
            json!({ "id": blog, "after": first_cursor }),
        )
        .await;
        for expected in ["Second", "Third"] {
            let message = next_json(&mut socket).await;
            assert_eq!(
                message["payload"]["data"]["liveBlog"]["entry"]["bodyText"],
                expected
            );
        }
        post(&app, &editor, &blog, "<p>Fourth</p>").await;
        let message = next_json(&mut socket).await;
        assert_eq!(
            message["payload"]["data"]["liveBlog"]["entry"]["bodyText"],
            "Fourth"
        );
    }
}

#[tokio::test]
async fn a_bad_cursor_is_a_cursor_invalid_error_on_the_socket() {
    let app = TestApp::with_articles(0);
    let editor = app.token(Role::Editor).await;
    let (blog, _) = live_blog(&app, &editor).await;
    let addr = serve(&app).await;
    for protocol in BOTH {
        let mut socket = open(addr, protocol, json!({})).await;
        subscribe(
            &mut socket,
            protocol,
            "bad",
            LIVE_BLOG,
            json!({ "id": blog, "after": "bm90IGEgY3Vyc29y" }),
        )
        .await;
        let message = next_json(&mut socket).await;
        assert_eq!(message["type"], protocol.next, "{message}");
        let error = &message["payload"]["errors"][0];
        assert_eq!(error["extensions"]["code"], "CURSOR_INVALID", "{message}");
        assert_eq!(error["path"], json!(["liveBlog"]));
        let complete = next_json(&mut socket).await;
        assert_eq!(
            (&complete["type"], &complete["id"]),
            (&json!("complete"), &json!("bad"))
        );
    }
}

/// The node's pump follows the stream for its subscribers; when it falls
/// behind the bus (messages lost), it reads on from the log, and nobody
/// misses anything or hears of it.
#[tokio::test]
async fn messages_lost_on_the_bus_reach_websocket_subscribers_from_the_log() {
    let app = TestApp::with_articles(0);
    let editor = app.token(Role::Editor).await;
    let (blog, _) = live_blog(&app, &editor).await;
    let id: domain::ids::LiveBlogId =
        api::graphql::ids::from_global("id", blog.as_str().unwrap()).unwrap();
    let addr = serve(&app).await;
    let mut sockets = Vec::new();
    for protocol in BOTH {
        let mut socket = open(addr, protocol, json!({})).await;
        subscribe(&mut socket, protocol, "1", LIVE_BLOG, json!({ "id": blog })).await;
        sync(&mut socket, protocol).await;
        sockets.push(socket);
    }
    post(&app, &editor, &blog, "Heard").await;
    for socket in &mut sockets {
        let message = next_json(socket).await;
        assert_eq!(
            message["payload"]["data"]["liveBlog"]["entry"]["bodyText"], "Heard",
            "{message}"
        );
    }
    // Lost on the bus, which then says it overflowed.
    app.bus
        .losing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    post(&app, &editor, &blog, "Lost").await;
    app.bus
        .losing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    app.bus.inject(&Stream::LiveBlog(id), BusMessage::Lagged);
    post(&app, &editor, &blog, "After").await;
    for socket in &mut sockets {
        for body in ["Lost", "After"] {
            let message = next_json(socket).await;
            assert_eq!(
                message["payload"]["data"]["liveBlog"]["entry"]["bodyText"], body,
                "{message}"
            );
        }
    }
}

pub(crate) fn quick(shutdown: api::Shutdown) -> api::Options {
    api::Options {
        shutdown,
        websocket: api::WebSocketConfig {
            ping_interval: Duration::from_millis(50),
            idle_timeout: Duration::from_millis(300),
            init_timeout: Duration::from_millis(400),
            write_timeout: Duration::from_secs(1),
        },
        ..api::Options::default()
    }
}

#[tokio::test]
async fn shutdown_closes_open_sockets_with_1012_and_readyz_fails() {
    let shutdown = api::Shutdown::new();
    let app = TestApp::with_options(0, quick(shutdown.clone()));
    let editor = app.token(Role::Editor).await;
    let (blog, cursor) = live_blog(&app, &editor).await;
    let addr = serve(&app).await;
    let mut sockets = Vec::new();
    for protocol in BOTH {
        let mut socket = open(addr, protocol, json!({})).await;
        subscribe(
            &mut socket,
            protocol,
            "1",
            LIVE_BLOG,
            json!({ "id": blog, "after": cursor }),
        )
        .await;
        sockets.push(socket);
    }
    assert_eq!(shutdown.open_connections(), 2);

    shutdown.trigger();
    for socket in &mut sockets {
        let (code, reason) = close_frame(socket).await;
        assert_eq!(code, 1012);
        assert!(reason.contains("cursor"), "{reason}");
    }
    tokio::time::timeout(Duration::from_secs(5), shutdown.drained())
        .await
        .expect("every socket said goodbye");

    let reply = app
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body.as_str(), Some("shutting down"));
}

#[tokio::test]
async fn the_server_pings_both_protocols_and_sends_ka_on_the_legacy_one() {
    let app = TestApp::with_options(0, quick(api::Shutdown::new()));
    let addr = serve(&app).await;
    for protocol in BOTH {
        let (mut socket, _) = connect(addr, protocol.name).await;
        send(&mut socket, json!({ "type": "connection_init" })).await;
        let (mut pinged, mut ka) = (false, false);
        for _ in 0..10 {
            match next_frame(&mut socket).await {
                Message::Ping(_) => pinged = true,
                Message::Text(text) if text.contains(r#""type":"ka""#) => ka = true,
                _ => {}
            }
            if pinged && (ka || protocol.name == "graphql-transport-ws") {
                break;
            }
        }
        assert!(pinged, "{protocol:?} pinged");
        assert_eq!(ka, protocol.name == "graphql-ws", "{protocol:?} ka");
        // A client that reads answers the pings, so it stays connected
        // past the idle timeout.
        let until = tokio::time::Instant::now() + Duration::from_millis(600);
        while let Ok(frame) = tokio::time::timeout_at(until, socket.next()).await {
            let frame = frame.expect("socket open").expect("a frame");
            assert!(!frame.is_close(), "{frame:?}");
        }
        subscribe(&mut socket, protocol, "1", "{ site { name } }", json!({})).await;
        assert_eq!(next_json(&mut socket).await["type"], protocol.next);
    }
}

#[tokio::test]
async fn a_client_that_answers_nothing_is_closed_after_the_idle_timeout() {
    let app = TestApp::with_options(0, quick(api::Shutdown::new()));
    let addr = serve(&app).await;
    let (mut socket, _) = connect(addr, "graphql-transport-ws").await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    // Not reading means not answering pings.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(close_frame(&mut socket).await.0, 3008);
}

#[tokio::test]
async fn a_client_that_never_sends_connection_init_is_closed_with_4408() {
    let app = TestApp::with_options(0, quick(api::Shutdown::new()));
    let addr = serve(&app).await;
    let (mut socket, _) = connect(addr, "graphql-transport-ws").await;
    assert_eq!(close_frame(&mut socket).await.0, 4408);
}
