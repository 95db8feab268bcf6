//! The two WebSocket protocols message by message: what the server answers
//! to each client message, the close codes of `graphql-transport-ws` for
//! protocol violations, queries and mutations over the socket, stopping a
//! subscription and the per-connection limit.

use std::time::Duration;

use domain::Role;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::TestApp;
use crate::ws::{
    BOTH, LEGACY, LIVE_BLOG, Socket, TRANSPORT_WS, close_frame, connect, live_blog, next_frame,
    next_json, open, post, send, serve, subscribe,
};

/// Nothing but keep-alives arrives for a little while.
async fn silence(socket: &mut Socket) {
    let quiet = tokio::time::timeout(Duration::from_millis(300), async {
        loop {
            match next_frame(socket).await {
                Message::Text(text) if !text.contains(r#""type":"ka""#) => return text,
                _ => continue,
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "expected silence, got {quiet:?}");
}

/// Waits until the server has handled everything sent before: messages
/// are handled in order, so a query's answer comes after.
async fn sync(socket: &mut Socket, protocol: crate::ws::Protocol) {
    subscribe(socket, protocol, "sync", "{ site { name } }", json!({})).await;
    loop {
        let message = next_json(socket).await;
        if message["id"] == "sync" && message["type"] == "complete" {
            return;
        }
        assert_eq!(message["id"], "sync", "{message}");
    }
}

async fn raw(socket: &mut Socket, text: &str) {
    use futures::SinkExt;
    socket.send(Message::text(text)).await.unwrap();
}

#[tokio::test]
async fn transport_ws_closes_with_4400_on_a_message_it_does_not_define() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    for bad in [
        r#"{"type":"start","id":"1","payload":{"query":"{ site { name } }"}}"#,
        r#"{"type":"subscribe","id":"1"}"#,
        r#"{"type":"subscribe","id":1,"payload":{"query":"{ site { name } }"}}"#,
        "not json",
    ] {
        let mut socket = open(addr, TRANSPORT_WS, json!({})).await;
        raw(&mut socket, bad).await;
        assert_eq!(close_frame(&mut socket).await.0, 4400, "{bad}");
    }
}

#[tokio::test]
async fn the_legacy_protocol_answers_a_bad_message_with_an_error_and_goes_on() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    let mut socket = open(addr, LEGACY, json!({})).await;
    raw(&mut socket, r#"{"type":"subscribe","id":"1"}"#).await;
    let error = next_json(&mut socket).await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["payload"]["extensions"]["code"], "BAD_USER_INPUT");
    subscribe(&mut socket, LEGACY, "2", "{ site { name } }", json!({})).await;
    assert_eq!(next_json(&mut socket).await["type"], "data");
}

#[tokio::test]
async fn subscribing_before_the_ack_closes_with_4401() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    for protocol in BOTH {
        let (mut socket, _) = connect(addr, protocol.name).await;
        subscribe(&mut socket, protocol, "1", "{ site { name } }", json!({})).await;
        assert_eq!(close_frame(&mut socket).await.0, 4401, "{protocol:?}");
    }
}

#[tokio::test]
async fn a_second_connection_init_closes_with_4429() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    for protocol in BOTH {
        let mut socket = open(addr, protocol, json!({})).await;
        send(&mut socket, json!({ "type": "connection_init" })).await;
        if protocol.name == LEGACY.name {
            assert_eq!(next_json(&mut socket).await["type"], "connection_error");
        }
        assert_eq!(close_frame(&mut socket).await.0, 4429, "{protocol:?}");
    }
}

#[tokio::test]
async fn a_duplicate_subscription_id_closes_transport_ws_with_4409_and_restarts_on_legacy() {
    let app = TestApp::with_articles(0);
    let editor = app.token(Role::Editor).await;
    let (blog, cursor) = live_blog(&app, &editor).await;
    let addr = serve(&app).await;
    let variables = json!({ "id": blog, "after": cursor });

    let mut socket = open(addr, TRANSPORT_WS, json!({})).await;
    subscribe(&mut socket, TRANSPORT_WS, "1", LIVE_BLOG, variables.clone()).await;
    subscribe(&mut socket, TRANSPORT_WS, "1", LIVE_BLOG, variables.clone()).await;
    let (code, reason) = close_frame(&mut socket).await;
    assert_eq!(code, 4409);
    assert!(reason.contains("already exists"), "{reason}");

    // The legacy reference server replaces the operation: one stream of
    // events for the id, not two.
    let mut socket = open(addr, LEGACY, json!({})).await;
    subscribe(&mut socket, LEGACY, "1", LIVE_BLOG, variables.clone()).await;
    subscribe(&mut socket, LEGACY, "1", LIVE_BLOG, variables).await;
    sync(&mut socket, LEGACY).await;
    post(&app, &editor, &blog, "<p>Once</p>").await;
    let message = next_json(&mut socket).await;
    assert_eq!(
        (&message["type"], &message["id"]),
        (&json!("data"), &json!("1"))
    );
    silence(&mut socket).await;
}

#[tokio::test]
async fn queries_and_mutations_run_once_over_the_socket_as_the_connection_caller() {
    let app = TestApp::with_articles(2);
    let editor = app.token(Role::Editor).await;
    let addr = serve(&app).await;
    for protocol in BOTH {
        let auth = json!({ "authorization": format!("Bearer {editor}") });
        let mut socket = open(addr, protocol, auth).await;
        let create = "mutation { createLiveBlog(input: { title: \"Socket\", section: \"domestic-policies\" }) { title } }";
        subscribe(&mut socket, protocol, "m", create, json!({})).await;
        let result = next_json(&mut socket).await;
        assert_eq!(
            (&result["type"], &result["id"]),
            (&json!(protocol.next), &json!("m"))
        );
        assert_eq!(
            result["payload"]["data"]["createLiveBlog"]["title"],
            "Socket"
        );
        let done = next_json(&mut socket).await;
        assert_eq!(
            (&done["type"], &done["id"]),
            (&json!("complete"), &json!("m"))
        );

        let query = "query($n: Int) { articles(first: $n) { totalCount } }";
        subscribe(&mut socket, protocol, "q", query, json!({ "n": 1 })).await;
        let result = next_json(&mut socket).await;
        assert_eq!(
            result["payload"]["data"]["articles"]["totalCount"], 2,
            "{result}"
        );
        assert_eq!(next_json(&mut socket).await["type"], "complete");

        // Without a token, the same mutation is refused by the newsroom.
        let mut anonymous = open(addr, protocol, json!({})).await;
        subscribe(&mut anonymous, protocol, "m", create, json!({})).await;
        let result = next_json(&mut anonymous).await;
        assert_eq!(
            result["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{result}"
        );
        assert_eq!(next_json(&mut anonymous).await["type"], "complete");
    }
}

#[tokio::test]
async fn a_document_that_does_not_validate_is_an_error_message_on_transport_ws() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    for query in [
        "{ nope }",
        "subscription { nope",
        "subscription { liveBlog { cursor } }",
    ] {
        let mut socket = open(addr, TRANSPORT_WS, json!({})).await;
        subscribe(&mut socket, TRANSPORT_WS, "1", query, json!({})).await;
        let error = next_json(&mut socket).await;
        assert_eq!(
            (&error["type"], &error["id"]),
            (&json!("error"), &json!("1")),
            "{error}"
        );
        assert_eq!(error["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
        silence(&mut socket).await;
    }
    // The legacy protocol has no such message: a result with the errors.
    let mut socket = open(addr, LEGACY, json!({})).await;
    subscribe(&mut socket, LEGACY, "1", "{ nope }", json!({})).await;
    let result = next_json(&mut socket).await;
    assert_eq!(result["type"], "data");
    assert_eq!(
        result["payload"]["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert_eq!(next_json(&mut socket).await["type"], "complete");
}

#[tokio::test]
async fn a_subscription_selects_exactly_one_field() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    let mut socket = open(addr, TRANSPORT_WS, json!({})).await;
    let two = "subscription { breakingNews { cursor } articlePublished { id } }";
    subscribe(&mut socket, TRANSPORT_WS, "1", two, json!({})).await;
    let error = next_json(&mut socket).await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn stopping_a_subscription_stops_its_events() {
    let app = TestApp::with_articles(0);
    let editor = app.token(Role::Editor).await;
    let addr = serve(&app).await;
    for protocol in BOTH {
        let (blog, cursor) = live_blog(&app, &editor).await;
        let mut socket = open(addr, protocol, json!({})).await;
        let variables = json!({ "id": blog, "after": cursor });
        subscribe(&mut socket, protocol, "1", LIVE_BLOG, variables).await;
        post(&app, &editor, &blog, "<p>One</p>").await;
        assert_eq!(next_json(&mut socket).await["type"], protocol.next);
        let stop = if protocol.name == LEGACY.name {
            "stop"
        } else {
            "complete"
        };
        send(&mut socket, json!({ "id": "1", "type": stop })).await;
        if protocol.name == LEGACY.name {
            // The legacy protocol confirms; transport-ws does not.
            assert_eq!(next_json(&mut socket).await["type"], "complete");
        }
        sync(&mut socket, protocol).await;
        post(&app, &editor, &blog, "<p>Two</p>").await;
        silence(&mut socket).await;
    }
}

#[tokio::test]
async fn the_legacy_connection_terminate_closes_normally() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    let mut socket = open(addr, LEGACY, json!({})).await;
    send(&mut socket, json!({ "type": "connection_terminate" })).await;
    assert_eq!(close_frame(&mut socket).await.0, 1000);
}

#[tokio::test]
async fn transport_ws_pings_are_answered_with_pongs() {
    let app = TestApp::with_articles(0);
    let addr = serve(&app).await;
    let mut socket = open(addr, TRANSPORT_WS, json!({})).await;
    send(
        &mut socket,
        json!({ "type": "ping", "payload": { "n": 1 } }),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({ "type": "pong", "payload": { "n": 1 } })
    );
}

#[tokio::test]
async fn a_connection_runs_at_most_100_subscriptions() {
    // The rate of subscription starts is another limit (see the e2e tests).
    let options = api::Options {
        limits: api::LimitsConfig::unlimited(),
        ..api::Options::default()
    };
    let app = TestApp::with_options(0, options);
    let addr = serve(&app).await;
    for protocol in BOTH {
        let mut socket = open(addr, protocol, json!({})).await;
        let query = "subscription { breakingNews { cursor } }";
        for i in 0..api::http::ws::MAX_OPERATIONS {
            subscribe(&mut socket, protocol, &i.to_string(), query, json!({})).await;
        }
        subscribe(&mut socket, protocol, "extra", query, json!({})).await;
        let refused = next_json(&mut socket).await;
        assert_eq!(refused["id"], "extra", "{refused}");
        let error: &Value = if protocol.name == TRANSPORT_WS.name {
            assert_eq!(refused["type"], "error");
            &refused["payload"][0]
        } else {
            assert_eq!(refused["type"], "data");
            let done = next_json(&mut socket).await;
            assert_eq!(
                (&done["type"], &done["id"]),
                (&json!("complete"), &json!("extra"))
            );
            &refused["payload"]["errors"][0]
        };
        assert_eq!(error["extensions"]["code"], "RATE_LIMITED", "{refused}");
        // Stopping one makes room.
        let stop = if protocol.name == LEGACY.name {
            "stop"
        } else {
            "complete"
        };
        send(&mut socket, json!({ "id": "0", "type": stop })).await;
        if protocol.name == LEGACY.name {
            assert_eq!(next_json(&mut socket).await["id"], "0");
        }
        // Accepted: nothing comes back for it before the next answer.
        subscribe(&mut socket, protocol, "again", query, json!({})).await;
        sync(&mut socket, protocol).await;
    }
}
