//! What operators and other origins see: bearer tokens, GraphiQL, health
//! and readiness, metrics, CORS.

use e2e::{TestApp, both_backends, data, error_code};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Status, content type and JSON body of a response.
async fn read(response: Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let content = content_type(&response);
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, content, body)
}

async fn tokens_decide_who_is_asking(app: &TestApp) {
    let me = "{ me { name role } }";
    assert_eq!(data(&app.query(me, json!({})).await)["me"], Value::Null);
    assert_eq!(
        data(&app.as_editor(me, json!({})).await)["me"],
        json!({ "name": "test-editor", "role": "EDITOR" })
    );
    assert_eq!(
        data(&app.as_admin(me, json!({})).await)["me"]["role"],
        "ADMIN"
    );

    for header in ["Bearer pm_0000", "Bearer ", "Basic dXNlcjpwYXNz", "pm_0000"] {
        let response = app
            .http
            .post(app.url("/graphql"))
            .header(AUTHORIZATION, header)
            .json(&json!({ "query": "{ site { name } }" }))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{header:?}: {challenge:?}");
        let (_, _, body) = read(response).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{header:?}");
        assert!(body.get("data").is_none());
    }
}

async fn operators_get_graphiql_health_metrics_and_cors(app: &TestApp) {
    let graphiql = app
        .http
        .get(app.url("/graphiql"))
        .send()
        .await
        .expect("sent");
    assert_eq!(graphiql.status(), StatusCode::OK);
    assert!(content_type(&graphiql).starts_with("text/html"));
    let html = graphiql.text().await.expect("html");
    assert!(html.to_lowercase().contains("graphiql"), "{html}");
    assert!(html.contains("/graphql"));

    for path in ["/healthz", "/readyz"] {
        let response = app.http.get(app.url(path)).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let missing = app
        .http
        .get(app.url("/no-such-page"))
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let scrape = async || {
        app.http
            .get(app.url("/metrics"))
            .send()
            .await
            .expect("sent")
            .text()
            .await
            .expect("text")
    };
    let value = |text: &str, key: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{key} not in:\n{text}"))
    };
    let before = scrape().await;
    assert!(
        before.contains("# TYPE politmaster_http_requests_total counter"),
        "{before}"
    );
    assert!(
        before.contains("politmaster_db_statements_total"),
        "{before}"
    );
    data(&app.query("{ authors { totalCount } }", json!({})).await);
    let after = scrape().await;
    let ok = "politmaster_http_requests_total{status=\"2xx\"}";
    assert!(
        value(&after, ok) > value(&before, ok),
        "2xx responses are counted"
    );
    assert!(
        value(&after, "politmaster_http_requests_total{status=\"4xx\"}") >= 1.0,
        "the 404 above is counted"
    );
    let statements = "politmaster_db_statements_total";
    assert!(
        value(&after, statements) > value(&before, statements),
        "the query ran SQL"
    );

    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("Origin", "https://widgets.example.org")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("sent");
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let header = |name: &str| {
        preflight
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_lowercase()
    };
    let origin = header("access-control-allow-origin");
    assert!(
        origin == "*" || origin == "https://widgets.example.org",
        "{origin:?}"
    );
    assert!(header("access-control-allow-methods").contains("post"));
    let allowed = header("access-control-allow-headers");
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed:?}"
    );

    let cross_origin = app
        .http
        .post(app.url("/graphql"))
        .header("Origin", "https://widgets.example.org")
        .json(&json!({ "query": "{ site { name } }" }))
        .send()
        .await
        .expect("sent");
    assert!(
        cross_origin
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

fn locked_down() -> e2e::Options {
    e2e::Options {
        introspection: false,
        graphiql: false,
        ..e2e::Options::default()
    }
}

/// A node with introspection and GraphiQL switched off still serves
/// queries, and tells each request its id.
async fn introspection_and_graphiql_can_be_switched_off(app: &TestApp) {
    // Answered as if the schema had nothing to tell (async-graphql's way):
    // null, not the types.
    let introspection = app
        .query("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(data(&introspection)["__schema"], Value::Null);
    let typed = app
        .query("{ __type(name: \"Article\") { name } }", json!({}))
        .await;
    assert_eq!(data(&typed)["__type"], Value::Null);
    let ordinary = app
        .query("{ __typename sections { slug } }", json!({}))
        .await;
    assert_eq!(data(&ordinary)["__typename"], "Query");
    let graphiql = app
        .http
        .get(app.url("/graphiql"))
        .send()
        .await
        .expect("sent");
    assert_eq!(graphiql.status(), StatusCode::NOT_FOUND);
}

/// `GET /healthz`, sending `X-Request-Id: id` if given; the id answered.
async fn request_id_of_healthz(app: &TestApp, id: Option<&str>) -> String {
    let mut request = app.http.get(app.url("/healthz"));
    if let Some(id) = id {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.expect("sent");
    response.headers()["x-request-id"]
        .to_str()
        .expect("text")
        .to_owned()
}

async fn every_response_carries_a_request_id(app: &TestApp) {
    let made = request_id_of_healthz(app, None).await;
    assert_eq!(made.len(), 32, "{made}");
    assert_ne!(
        made,
        request_id_of_healthz(app, None).await,
        "one per request"
    );
    assert_eq!(
        request_id_of_healthz(app, Some("edge-7f3c.1")).await,
        "edge-7f3c.1",
        "the proxy's id is kept"
    );
    let long = "x".repeat(200);
    let replaced = request_id_of_healthz(app, Some(&long)).await;
    assert_eq!(replaced.len(), 32, "{replaced}");
}

both_backends! {
    tokens_decide_who_is_asking => tokens_decide_who_is_asking;
    graphiql_health_metrics_cors => operators_get_graphiql_health_metrics_and_cors;
    locked_down_node => introspection_and_graphiql_can_be_switched_off, locked_down();
    request_ids => every_response_carries_a_request_id;
}
