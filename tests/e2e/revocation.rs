//! A desk token that is revoked, or expires, stops working everywhere:
//! on the next HTTP request, and on every WebSocket that authenticated
//! with it, on every node, within seconds (the check runs every two).

use std::time::Duration;

use domain::Role;
use e2e::ws::{Connection, Protocol, Received};
use e2e::{TestApp, both_backends, data, error_code};
use serde_json::json;

/// How long a socket may stay open after its token stopped working: the
/// node checks every two seconds; the rest is slack for a loaded machine.
const WITHIN: Duration = Duration::from_secs(12);

/// `me` over the socket: the caller the connection runs as.
async fn me_over(socket: &mut Connection) -> serde_json::Value {
    let id = socket
        .subscribe("{ me { name role } }", json!({}))
        .await
        .expect("sent");
    loop {
        match socket
            .next(Duration::from_secs(5))
            .await
            .expect("an answer")
        {
            (Some(from), Received::Next(payload)) if from == id => return payload,
            (_, Received::Complete) => {}
            (_, other) => panic!("unexpected {other:?}"),
        }
    }
}

/// Waits for the socket to be closed by the server; its code and reason.
/// The legacy protocol hears why in a `connection_error` first.
async fn closed(socket: &mut Connection) -> (u16, String) {
    loop {
        match socket.next(WITHIN).await {
            Ok((_, Received::Closed(Some(frame)))) => return frame,
            Ok((_, Received::Closed(None))) => panic!("closed without a close frame"),
            Ok(_) => {}
            Err(error) if error.to_string().contains("connection_error") => {
                assert!(error.to_string().contains("UNAUTHENTICATED"), "{error}");
            }
            Err(error) => panic!("still open: {error}"),
        }
    }
}

async fn revoking_closes_the_sockets_of_the_token_on_every_node(app: &TestApp) {
    let desk = app.command_line().await;
    let night = desk
        .issue_token("night-desk", Role::Editor, None, [7; 32])
        .await
        .expect("issued")
        .secret;
    let other_node = app.another_node().await;
    let mut sockets = Vec::new();
    for node in [app, &other_node] {
        for protocol in Protocol::BOTH {
            let mut socket = Connection::open(node.addr, protocol, Some(&night))
                .await
                .expect("opens with the token");
            assert_eq!(
                me_over(&mut socket).await["data"]["me"],
                json!({ "name": "night-desk", "role": "EDITOR" })
            );
            sockets.push(socket);
        }
    }
    let mut bystander = Connection::open(app.addr, Protocol::TransportWs, Some(&app.editor_token))
        .await
        .expect("opens");

    assert_eq!(desk.revoke_tokens("night-desk").await.expect("revoked"), 1);

    for socket in &mut sockets {
        let (code, reason) = closed(socket).await;
        assert_eq!(code, 4403, "{reason}");
        assert!(reason.starts_with("UNAUTHENTICATED: "), "{reason}");
        assert!(reason.contains("revoked"), "{reason}");
    }
    // HTTP never saw the token as valid again.
    let response = app
        .graphql_with(Some(&night), "{ me { name } }", json!({}))
        .await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED", "{response}");
    // Sockets of other tokens are left alone.
    assert_eq!(
        me_over(&mut bystander).await["data"]["me"]["name"],
        "test-editor"
    );
    // And the revoked token cannot open a new one.
    let refused = Connection::open(app.addr, Protocol::TransportWs, Some(&night)).await;
    assert!(refused.is_err(), "a revoked token was accepted");
}

async fn an_expired_token_closes_its_sockets(app: &TestApp) {
    let desk = app.command_line().await;
    let expires_at = domain::clock::now() + chrono::Duration::seconds(5);
    let shift = desk
        .issue_token("short-shift", Role::Editor, Some(expires_at), [9; 32])
        .await
        .expect("issued")
        .secret;
    let mut socket = Connection::open(app.addr, Protocol::TransportWs, Some(&shift))
        .await
        .expect("opens before it expires");
    let me = app
        .graphql_with(Some(&shift), "{ me { name } }", json!({}))
        .await;
    assert_eq!(data(&me)["me"]["name"], "short-shift");

    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 4403, "{reason}");
    assert!(
        domain::clock::now() >= expires_at,
        "closed before the token expired"
    );
    let me = app
        .graphql_with(Some(&shift), "{ me { name } }", json!({}))
        .await;
    assert_eq!(error_code(&me), "UNAUTHENTICATED", "{me}");
}

both_backends! {
    revoking_closes_sockets => revoking_closes_the_sockets_of_the_token_on_every_node;
    expiry_closes_sockets => an_expired_token_closes_its_sockets;
}
