//! GraphQL over HTTP as the spec has it: GET and POST, media types and
//! status codes, malformed requests.

use e2e::{TestApp, both_backends, data, error_code};
use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use reqwest::{Response, StatusCode, Url};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SPEC_TYPE: &str = "application/graphql-response+json";

fn get_url(app: &TestApp, params: &[(&str, &str)]) -> Url {
    Url::parse_with_params(&app.url("/graphql"), params).expect("a valid URL")
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// POSTs a raw body with the given content type and accept headers.
async fn post_raw(
    app: &TestApp,
    content: Option<&str>,
    accept: Option<&str>,
    body: &str,
) -> Response {
    let mut request = app.http.post(app.url("/graphql")).body(body.to_owned());
    if let Some(content) = content {
        request = request.header(CONTENT_TYPE, content);
    }
    if let Some(accept) = accept {
        request = request.header(ACCEPT, accept);
    }
    request.send().await.expect("request sent")
}

/// Status, content type and JSON body of a response.
async fn read(response: Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let content = content_type(&response);
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, content, body)
}

/// A request error: GraphQL-shaped, coded, with a message and no `data`.
fn assert_request_error(body: &Value, what: &str) {
    assert!(
        body.get("data").is_none(),
        "{what}: a request error has no data: {body:#}"
    );
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty(),
        "{what}: the error says what is wrong: {body:#}"
    );
    assert_eq!(error_code(body), "BAD_USER_INPUT", "{what}");
}

async fn queries_run_over_get_and_mutations_do_not(app: &TestApp) {
    let response = app
        .http
        .get(get_url(app, &[("query", "{sections{slug}}")]))
        .send()
        .await
        .expect("sent");
    let (status, content, body) = read(response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content.starts_with("application/json"), "{content}");
    assert_eq!(data(&body)["sections"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        data(&body)["sections"][0]["slug"],
        "international-relations"
    );

    let with_variables = get_url(
        app,
        &[
            (
                "query",
                "query Section($slug: String!) { section(slug: $slug) { name } }",
            ),
            ("variables", r#"{"slug":"domestic-policies"}"#),
            ("operationName", "Section"),
        ],
    );
    let (status, _, body) = read(app.http.get(with_variables).send().await.expect("sent")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(data(&body)["section"]["name"], "Domestic Policies");

    // A token works over GET too.
    let me = app
        .http
        .get(get_url(app, &[("query", "{ me { name role } }")]))
        .bearer_auth(&app.editor_token)
        .send()
        .await;
    let (_, _, body) = read(me.expect("sent")).await;
    assert_eq!(data(&body)["me"]["role"], "EDITOR");

    for params in [
        vec![("query", "mutation { deleteArticle(id: \"QXJ0aWNsZQ\") }")],
        vec![
            (
                "query",
                "query R { site { name } } mutation W { deleteArticle(id: \"x\") }",
            ),
            ("operationName", "W"),
        ],
    ] {
        let response = app
            .http
            .get(get_url(app, &params))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .expect("sent");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{params:?}"
        );
        let allow = response
            .headers()
            .get(ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(allow.contains("POST"), "Allow: {allow:?}");
        let (_, _, body) = read(response).await;
        assert_request_error(&body, "a mutation over GET");
    }

    for (params, what) in [
        (vec![], "no query parameter"),
        (
            vec![("query", "{ site { name } }"), ("variables", "{not json")],
            "variables that are not JSON",
        ),
        (
            vec![("query", "{ site { name } }"), ("variables", "[1,2]")],
            "variables that are not an object",
        ),
    ] {
        let response = app
            .http
            .get(get_url(app, &params))
            .send()
            .await
            .expect("sent");
        let (status, _, body) = read(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        assert_request_error(&body, what);
    }
}

async fn malformed_posts_get_graphql_shaped_errors(app: &TestApp) {
    for (body, what) in [
        ("{\"query\": ", "invalid JSON"),
        ("not json at all", "not JSON"),
        (r#"{"variables": {}}"#, "no query"),
        (r#"{"query": 42}"#, "a query that is not a string"),
        (
            r#"{"query": "{ site { name } }", "variables": [1]}"#,
            "variables as an array",
        ),
        (
            r#"{"query": "{ site { name } }", "variables": "{}"}"#,
            "variables as a string",
        ),
        (
            r#"{"query": "{ site { name } }", "operationName": 7}"#,
            "an operationName that is not a string",
        ),
        (
            r#"{"query": "{ site { name } }", "extensions": [1]}"#,
            "extensions that are not an object",
        ),
        (r#"[{"query": "{ site { name } }"}]"#, "a batch"),
        (r#""{ site { name } }""#, "a bare string"),
    ] {
        let (status, content, body) =
            read(post_raw(app, Some("application/json"), None, body).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body:#}");
        assert!(content.starts_with("application/json"), "{what}: {content}");
        assert_request_error(&body, what);
    }

    for content in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=latin1"),
        None,
    ] {
        let response = post_raw(app, content, None, r#"{"query": "{ site { name } }"}"#).await;
        let (status, _, body) = read(response).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content:?}");
        assert!(body["errors"][0]["message"].is_string(), "{body:#}");
    }

    let refused = post_raw(
        app,
        Some("application/json"),
        Some("text/html"),
        r#"{"query": "{ site { name } }"}"#,
    )
    .await;
    assert_eq!(refused.status(), StatusCode::NOT_ACCEPTABLE);

    // A document sent as application/graphql is read as is.
    let (status, _, body) = read(
        post_raw(
            app,
            Some("application/graphql"),
            None,
            "{ site { publisher { name } } }",
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(data(&body)["site"]["publisher"]["name"], "SNOWLAND s.r.o.");

    // More than a megabyte is refused before it is read: announcing the size
    // is enough, and sending no body at all keeps the test free of the race
    // between the early answer and a client still writing.
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 1100000\r\n\r\n",
        app.addr
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("request head sent");
    let mut answer = vec![0u8; 64];
    let received = stream.read(&mut answer).await.expect("an answer");
    let status_line = String::from_utf8_lossy(&answer[..received])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");

    // Subscriptions are not served over plain POST.
    let (status, _, body) = read(
        post_raw(
            app,
            Some("application/json"),
            None,
            r#"{"query": "subscription { breakingNews { cursor } }"}"#,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

async fn status_codes_follow_the_negotiated_media_type(app: &TestApp) {
    let good = r#"{"query": "{ sections { slug } }"}"#;
    for accept in [
        SPEC_TYPE,
        "application/graphql-response+json, application/json;q=0.9",
    ] {
        let (status, content, body) =
            read(post_raw(app, Some("application/json"), Some(accept), good).await).await;
        assert_eq!(status, StatusCode::OK);
        assert!(content.starts_with(SPEC_TYPE), "{accept}: {content}");
        assert_eq!(data(&body)["sections"].as_array().map(Vec::len), Some(5));
    }
    let (_, content, _) = read(post_raw(app, Some("application/json"), None, good).await).await;
    assert!(
        content.starts_with("application/json"),
        "no Accept gets legacy JSON: {content}"
    );

    let syntax_error = r#"{"query": "{ sections { slug "}"#;
    let unknown_field = r#"{"query": "{ sections { nonsense } }"}"#;
    let bad_variable = r#"{"query": "query($n: Int) { authors(first: $n) { totalCount } }", "variables": {"n": "many"}}"#;
    let unknown_operation = r#"{"query": "query A { site { name } }", "operationName": "B"}"#;
    for (request, what) in [
        (syntax_error, "a syntax error"),
        (unknown_field, "an unknown field"),
        (bad_variable, "a bad variable"),
        (unknown_operation, "an unknown operation name"),
    ] {
        let (status, content, body) =
            read(post_raw(app, Some("application/json"), Some(SPEC_TYPE), request).await).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{what} with the spec type: {body:#}"
        );
        assert!(content.starts_with(SPEC_TYPE), "{content}");
        assert_request_error(&body, what);

        let (status, content, body) = read(
            post_raw(
                app,
                Some("application/json"),
                Some("application/json"),
                request,
            )
            .await,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{what} with application/json is still 200"
        );
        assert!(content.starts_with("application/json"), "{content}");
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{what}");
    }

    // An error inside an executed operation is 200 with data, either way.
    let field_error = r#"{"query": "{ site { name } liveBlog { id } }"}"#;
    let (status, _, body) =
        read(post_raw(app, Some("application/json"), Some(SPEC_TYPE), field_error).await).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(
        body["data"].is_object(),
        "an executed operation has data: {body:#}"
    );
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

both_backends! {
    get_queries_and_no_get_mutations => queries_run_over_get_and_mutations_do_not;
    malformed_posts => malformed_posts_get_graphql_shaped_errors;
    status_codes_follow_media_type => status_codes_follow_the_negotiated_media_type;
}
