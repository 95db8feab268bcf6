//! HTTP behaviour: the GraphQL-over-HTTP rules, auth, health and metrics.

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::TestApp;

fn get(uri: &str) -> Request<Body> {
    Request::builder().uri(uri).body(Body::empty()).unwrap()
}

fn post(content_type: &str, accept: Option<&str>, body: &str) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/graphql")
        .header("content-type", content_type);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn a_query_over_post_answers_json_with_the_publisher() {
    let app = TestApp::with_articles(0);
    let reply = app
        .query(
            "{ site { publisher { name registration country } } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json; charset=utf-8");
    assert_eq!(
        reply.body["data"]["site"]["publisher"],
        json!({ "name": "SNOWLAND s.r.o.", "registration": "06691200", "country": "Czech Republic" })
    );
}

#[tokio::test]
async fn a_query_over_get_works_and_a_mutation_over_get_is_405() {
    let app = TestApp::with_articles(0);
    let reply = app
        .send(get("/graphql?query=%7B%20me%20%7B%20name%20%7D%20%7D"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["data"]["me"], json!(null));

    let mutation = "/graphql?query=mutation%20%7B%20deleteArticle(id%3A%22x%22)%20%7D";
    let reply = app.send(get(mutation)).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "POST");
    assert_eq!(reply.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn request_errors_are_400_with_the_spec_media_type_and_200_with_json() {
    let app = TestApp::with_articles(0);
    let body = r#"{"query":"{ nope }"}"#;
    let spec = "application/graphql-response+json";

    let reply = app.send(post("application/json", Some(spec), body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.content_type().starts_with(spec));
    assert!(reply.body.get("data").is_none());
    assert_eq!(reply.code(), "BAD_USER_INPUT");

    let reply = app.send(post("application/json", None, body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_field_error_with_the_spec_media_type_is_still_200() {
    let app = TestApp::with_articles(0);
    let body = r#"{"query":"{ article(slug: \"a\", id: \"b\") { id } }"}"#;
    let reply = app
        .send(post(
            "application/json",
            Some("application/graphql-response+json"),
            body,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["data"]["article"], json!(null));
    assert_eq!(reply.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn malformed_requests_get_useful_graphql_shaped_errors() {
    let app = TestApp::with_articles(0);
    let cases = [
        (
            "application/json",
            "{not json",
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "application/json",
            r#"{"variables":{}}"#,
            StatusCode::BAD_REQUEST,
            "no `query`",
        ),
        (
            "application/json",
            r#"{"query":"{ me { name } }","variables":[]}"#,
            StatusCode::BAD_REQUEST,
            "`variables` must be an object",
        ),
        (
            "text/plain",
            "{ me { name } }",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not supported",
        ),
    ];
    for (content_type, body, status, message) in cases {
        let reply = app.send(post(content_type, None, body)).await;
        assert_eq!(reply.status, status, "{body}");
        let text = reply.body["errors"][0]["message"].as_str().unwrap();
        assert!(text.contains(message), "{text}");
        assert_eq!(reply.code(), "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn an_application_graphql_body_is_a_document() {
    let app = TestApp::with_articles(0);
    let reply = app
        .send(post("application/graphql", None, "{ site { name } }"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["data"]["site"]["name"], "Politmaster");
}

#[tokio::test]
async fn a_client_accepting_neither_json_type_gets_406() {
    let app = TestApp::with_articles(0);
    let reply = app
        .send(post(
            "application/json",
            Some("text/html"),
            r#"{"query":"{ me { name } }"}"#,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn a_bad_token_is_401_before_anything_runs() {
    let app = TestApp::with_articles(0);
    let reply = app
        .query("{ site { name } }", json!({}), Some("pm_revoked"))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.headers["www-authenticate"], "Bearer");
    assert_eq!(reply.code(), "UNAUTHENTICATED");
    assert!(reply.body.get("data").is_none());
}

#[tokio::test]
async fn a_valid_token_makes_the_caller_the_viewer() {
    let app = TestApp::with_articles(0);
    let token = app.token(domain::Role::Editor).await;
    let reply = app
        .query("{ me { name role } }", json!({}), Some(&token))
        .await;
    assert_eq!(
        reply.body["data"]["me"],
        json!({ "name": "desk-EDITOR", "role": "EDITOR" })
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::with_articles(0);
    let body = format!(
        r#"{{"query":"{{ me {{ name }} }}","x":"{}"}}"#,
        "a".repeat(1 << 21)
    );
    let reply = app.send(post("application/json", None, &body)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::with_articles(0);
    let reply = app.send(get("/healthz")).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("ok"))
    );

    assert_eq!(app.send(get("/readyz")).await.status, StatusCode::OK);
    app.store.down.store(true, Ordering::SeqCst);
    let reply = app.send(get("/readyz")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    // The driver's detail stays in the logs.
    assert_eq!(reply.body.as_str(), Some("database unreachable"));
    app.bus.connected.store(false, Ordering::SeqCst);
    let reply = app.send(get("/readyz")).await;
    assert_eq!(
        reply.body.as_str(),
        Some("database unreachable; event bus disconnected")
    );
    app.store.down.store(false, Ordering::SeqCst);
    let reply = app.send(get("/readyz")).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("event bus disconnected")
        )
    );

    let reply = app.send(get("/metrics")).await;
    let text = reply.body.as_str().unwrap();
    assert!(
        text.contains("politmaster_http_requests_total{status=\"2xx\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("politmaster_http_requests_total{status=\"5xx\"} 3"),
        "{text}"
    );
    assert!(text.contains("politmaster_db_statements_total "), "{text}");
    assert!(
        text.contains("politmaster_websocket_connections 0"),
        "{text}"
    );
}

#[tokio::test]
async fn graphiql_is_served() {
    let app = TestApp::with_articles(0);
    let reply = app.send(get("/graphiql")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.as_str().unwrap().contains("graphiql"));
}

#[tokio::test]
async fn cors_preflight_allows_other_origins_with_authorization() {
    let app = TestApp::with_articles(0);
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri("/graphql")
        .header("origin", "https://widgets.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["access-control-allow-origin"], "*");
    let allowed = reply.headers["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(allowed.contains("authorization"), "{allowed}");
}

#[tokio::test]
async fn a_subscription_over_plain_http_is_refused_with_a_hint() {
    let app = TestApp::with_articles(0);
    let reply = app
        .send(post(
            "application/json",
            Some("application/graphql-response+json"),
            r#"{"query":"subscription { x }"}"#,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let message = reply.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("WebSocket"), "{message}");
}
