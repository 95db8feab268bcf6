//! Documents written to hurt: fragment bombs, alias floods, cycles, deep
//! nesting, oversized documents, NUL characters, inputs echoed back. Each is
//! refused before it runs, with a code, and the server goes on serving.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

use crate::article_support::{create, id_of, input, publish};

/// `fragment F0 on Query { ...F1 ...F1 }` … `levels` deep: a few hundred
/// bytes that stand for 2^levels fields.
fn doubling_chain(levels: usize) -> String {
    let mut doc = String::from("query { ...F0 }\n");
    for i in 0..levels {
        doc.push_str(&format!(
            "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    doc.push_str(&format!(
        "fragment F{levels} on Query {{ site {{ name }} }}\n"
    ));
    doc
}

/// The same doubling through fields and aliases rather than bare spreads.
fn doubling_through_fields(levels: usize) -> String {
    let mut doc = String::from("query { sections { ...S0 } }\n");
    for i in 0..levels {
        doc.push_str(&format!(
            "fragment S{i} on Section {{ a: articles(first: 1) {{ edges {{ node {{ section {{ ...S{n} }} }} }} }} \
             b: articles(first: 1) {{ edges {{ node {{ section {{ ...S{n} }} }} }} }} }}\n",
            n = i + 1
        ));
    }
    doc.push_str(&format!("fragment S{levels} on Section {{ name }}\n"));
    doc
}

async fn still_serving(app: &TestApp) {
    let response = app.query("{ sections { slug } }", json!({})).await;
    assert_eq!(
        data(&response)["sections"].as_array().map(Vec::len),
        Some(5)
    );
}

fn message(response: &Value) -> String {
    response["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn fragment_bombs_are_refused(app: &TestApp) {
    for levels in [22, 25, 40] {
        let doc = doubling_chain(levels);
        assert!(doc.len() < 2_000, "the bomb is small: {} bytes", doc.len());
        let response = app.query(&doc, json!({})).await;
        assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX", "{response}");
        assert!(
            response.get("data").is_none_or(Value::is_null),
            "{response}"
        );
        let response = app.query(&doubling_through_fields(levels), json!({})).await;
        assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX", "{response}");
    }
    // Unused, the bomb is still refused: validation expands it all the same.
    let unused = format!("query Ok {{ site {{ name }} }}\n{}", doubling_chain(25));
    let response = app
        .graphql_with(
            None,
            &unused.replace("query { ...F0 }", "query Bomb { ...F0 }"),
            json!({}),
        )
        .await;
    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX", "{response}");
    // A handful of levels is an ordinary document.
    let small = app.query(&doubling_chain(4), json!({})).await;
    assert!(data(&small)["site"]["name"].is_string(), "{small}");
    still_serving(app).await;
}

async fn floods_and_shapes_are_refused(app: &TestApp) {
    let aliases: String = (0..100).map(|i| format!("b{i}: body ")).collect();
    let flood = format!("{{ article(slug: \"x\") {{ {aliases} }} }}");
    let response = app.query(&flood, json!({})).await;
    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX", "{response}");
    assert!(message(&response).contains("aliases"), "{response}");

    let fields: String = (0..1_200).map(|_| "name ").collect();
    let response = app
        .query(&format!("{{ sections {{ {fields} }} }}"), json!({}))
        .await;
    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX", "{response}");

    let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { site { name } ...A }";
    let response = app.query(cycle, json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");

    let deep = format!(
        "{{ {} }}",
        "... on Query { ".repeat(60) + "site { name }" + &" }".repeat(60)
    );
    let response = app.query(&deep, json!({})).await;
    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX", "{response}");

    let long = format!("{{ site {{ name }} }} # {}", "x".repeat(100_000));
    let response = app.query(&long, json!({})).await;
    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX", "{response}");
    still_serving(app).await;
}

async fn nul_characters_are_bad_input(app: &TestApp) {
    let id = id_of(&create(app, input("Budget vote", json!({}))).await);
    publish(app, &id, None).await;
    let page = app
        .query(
            "{ articles(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = data(&page)["articles"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    let cases = [
        (
            "query($q: String!) { search(query: $q) { edges { cursor } } }",
            json!({ "q": "budget\u{0}" }),
        ),
        (
            "query($s: String!) { article(slug: $s) { id } }",
            json!({ "s": "budget\u{0}vote" }),
        ),
        (
            "query($p: String) { tags(prefix: $p) { edges { cursor } } }",
            json!({ "p": "\u{0}" }),
        ),
        (
            "query($a: String) { articles(after: $a) { edges { cursor } } }",
            json!({ "a": format!("{cursor}\u{0}") }),
        ),
        (
            r#"{ search(query: "budget\u0000") { edges { cursor } } }"#,
            json!({}),
        ),
        (r#"{ section(slug: "\u0000") { name } }"#, json!({})),
    ];
    for (query, variables) in cases {
        let response = app.query(query, variables).await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{query}: {response}"
        );
    }
    let write = app
        .as_editor(
            "mutation($i: CreateArticleInput!) { createArticle(input: $i) { id } }",
            json!({ "i": input("Nul\u{0}headline", json!({})) }),
        )
        .await;
    assert_eq!(error_code(&write), "BAD_USER_INPUT", "{write}");
    still_serving(app).await;
}

async fn errors_do_not_echo_large_inputs(app: &TestApp) {
    let name = "x".repeat(5_000);
    for query in [
        format!("{{ {name} }}"),
        format!("{{ search(query: \"{name}\") {{ edges {{ cursor }} }} }}"),
        format!("{{ article(slug: \"a\", id: \"{name}\") {{ id }} }}"),
    ] {
        let response = app.query(&query, json!({})).await;
        let text = message(&response);
        assert!(!text.is_empty(), "{response}");
        assert!(text.len() <= 300, "a {} byte message", text.len());
    }
}

both_backends! {
    fragment_bombs_are_refused_before_they_run => fragment_bombs_are_refused;
    alias_and_field_floods_cycles_depth_and_size_are_refused => floods_and_shapes_are_refused;
    nul_characters_anywhere_are_bad_user_input => nul_characters_are_bad_input;
    error_messages_do_not_echo_large_inputs => errors_do_not_echo_large_inputs;
}
