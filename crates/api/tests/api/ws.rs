//! GraphQL over WebSocket on `GET /graphql`, through a real socket: the
//! upgrade, the subprotocols, and the caller taken from `connection_init`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::TestApp;

async fn serve(app: &TestApp) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

async fn next_json<S>(socket: &mut S) -> Value
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match socket.next().await.expect("socket open").expect("message") {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn operations_over_graphql_transport_ws_see_the_token_from_connection_init() {
    let app = TestApp::with_articles(0);
    let token = app.token(domain::Role::Admin).await;
    let addr = serve(&app).await;

    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );

    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await.unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");

    let subscribe =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ me { role } }" } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .unwrap();
    let next = next_json(&mut socket).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["payload"]["data"]["me"]["role"], "ADMIN");
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_is_accepted() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::text(
            json!({ "type": "connection_init" }).to_string(),
        ))
        .await
        .unwrap();
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
