//! Who may do what with articles: anonymous writes are refused, a bad
//! token is a 401 before anything runs, `me` names the token holder, and
//! drafts are the desk's alone.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

use crate::article_support::{ARTICLE, article_as, create, id_of, input};

async fn anonymous_writes_are_refused(app: &TestApp) {
    let draft = create(app, input("Cabinet reshuffle", json!({}))).await;
    let id = id_of(&draft);
    let writes = [
        (
            "createArticle",
            "mutation { createArticle(input: {headline: \"Sneaky\", body: \"<p>x</p>\", section: \"domestic-policies\", tags: [\"Sneaky tag\"]}) { id } }"
                .to_owned(),
        ),
        (
            "updateArticle",
            format!(
                "mutation {{ updateArticle(input: {{id: \"{id}\", expectedVersion: 1, headline: \"Defaced\"}}) {{ id }} }}"
            ),
        ),
        (
            "publishArticle",
            format!("mutation {{ publishArticle(id: \"{id}\") {{ id }} }}"),
        ),
        (
            "unpublishArticle",
            format!("mutation {{ unpublishArticle(id: \"{id}\") {{ id }} }}"),
        ),
        (
            "archiveArticle",
            format!("mutation {{ archiveArticle(id: \"{id}\") {{ id }} }}"),
        ),
        (
            "deleteArticle",
            format!("mutation {{ deleteArticle(id: \"{id}\") }}"),
        ),
        (
            "createAuthor",
            "mutation { createAuthor(input: {name: \"Sneaky Author\"}) { id } }".to_owned(),
        ),
        // Malformed input does not get a reader further than valid input:
        // the token is checked before the arguments are.
        (
            "publishArticle",
            "mutation { publishArticle(id: \"not-a-global-id\") { id } }".to_owned(),
        ),
        (
            "createArticle",
            "mutation { createArticle(input: {headline: \"\", slug: \"Not A Slug\", section: \"nowhere\"}) { id } }"
                .to_owned(),
        ),
    ];
    for (name, mutation) in &writes {
        let response = app.query(mutation, json!({})).await;
        assert_eq!(
            error_code(&response),
            "UNAUTHENTICATED",
            "{name}: {response}"
        );
        assert!(
            response["data"].is_null() || response["data"][name].is_null(),
            "{name}: {response}"
        );
    }
    let stored = article_as(app, Some(&app.editor_token), &id).await;
    assert_eq!(
        (
            stored["headline"].as_str(),
            stored["status"].as_str(),
            stored["version"].as_i64()
        ),
        (Some("Cabinet reshuffle"), Some("DRAFT"), Some(1)),
        "refused writes change nothing"
    );
    let leftovers = app
        .as_editor("{ articles { totalCount } tag(slug: \"sneaky-tag\") { id } author(slug: \"sneaky-author\") { id } }", json!({}))
        .await;
    assert_eq!(
        data(&leftovers),
        &json!({ "articles": { "totalCount": 1 }, "tag": null, "author": null })
    );
}

/// POSTs with a raw `Authorization` header value.
async fn with_authorization(app: &TestApp, value: &str, query: &str) -> (u16, Value) {
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("Authorization", value)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn a_bad_token_is_a_401(app: &TestApp) {
    let write = "mutation { createArticle(input: {headline: \"x\", body: \"<p>x</p>\", section: \"domestic-policies\"}) { id } }";
    for value in [
        "Bearer pm_not_a_real_token",
        "Bearer ",
        "Basic dXNlcjpwdw==",
        &format!("Token {}", app.editor_token),
    ] {
        for query in ["{ me { name } }", "{ articles { totalCount } }", write] {
            let (status, body) = with_authorization(app, value, query).await;
            assert_eq!(status, 401, "{value:?} {query}: {body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
                "{value:?}: {body}"
            );
            assert!(
                body.get("data").is_none_or(Value::is_null),
                "nothing ran: {body}"
            );
        }
    }
    let listed = app
        .as_editor("{ articles { totalCount } }", json!({}))
        .await;
    assert_eq!(
        data(&listed)["articles"]["totalCount"],
        0,
        "no write got through"
    );
    // The same token, well formed, works; the scheme is case-insensitive.
    let (status, body) = with_authorization(
        app,
        &format!("bearer {}", app.editor_token),
        "{ me { name } }",
    )
    .await;
    assert_eq!(
        (status, &body["data"]["me"]["name"]),
        (200, &json!("test-editor")),
        "{body}"
    );
}

async fn me_names_the_token_holder(app: &TestApp) {
    let query = "{ me { name role } }";
    assert!(data(&app.query(query, json!({})).await)["me"].is_null());
    assert_eq!(
        data(&app.as_editor(query, json!({})).await)["me"],
        json!({ "name": "test-editor", "role": "EDITOR" })
    );
    assert_eq!(
        data(&app.as_admin(query, json!({})).await)["me"],
        json!({ "name": "test-admin", "role": "ADMIN" })
    );
}

async fn drafts_are_for_the_desk(app: &TestApp) {
    let draft = create(
        app,
        input(
            "Draft budget leaks",
            json!({ "tags": ["Budget"], "section": "economic-developments" }),
        ),
    )
    .await;
    let id = id_of(&draft);
    let by_slug = format!("{{ article(slug: \"draft-budget-leaks\") {{ {ARTICLE} }} }}");
    let list = "{ articles(filter: {status: DRAFT}) { totalCount edges { node { id status } } } }";
    let default_list = "{ articles { totalCount edges { node { id } } } }";
    let nested = "{ section(slug: \"economic-developments\") { articles { totalCount } } tag(slug: \"budget\") { articles { totalCount } } }";

    for token in [
        Some(app.editor_token.as_str()),
        Some(app.admin_token.as_str()),
    ] {
        assert_eq!(article_as(app, token, &id).await["status"], "DRAFT");
        let slug = app.graphql_with(token, &by_slug, json!({})).await;
        assert_eq!(data(&slug)["article"]["id"], id.as_str());
        let drafts = app.graphql_with(token, list, json!({})).await;
        assert_eq!(
            data(&drafts)["articles"],
            json!({ "totalCount": 1, "edges": [{ "node": { "id": id, "status": "DRAFT" } }] })
        );
        let all = app.graphql_with(token, default_list, json!({})).await;
        assert_eq!(
            data(&all)["articles"]["totalCount"],
            1,
            "the desk's default list has every status"
        );
        let nested = app.graphql_with(token, nested, json!({})).await;
        assert_eq!(data(&nested)["section"]["articles"]["totalCount"], 1);
        assert_eq!(data(&nested)["tag"]["articles"]["totalCount"], 1);
    }

    assert!(article_as(app, None, &id).await.is_null());
    assert!(data(&app.query(&by_slug, json!({})).await)["article"].is_null());
    let drafts = app.query(list, json!({})).await;
    assert_eq!(
        data(&drafts)["articles"],
        json!({ "totalCount": 0, "edges": [] }),
        "readers asking for drafts get nothing"
    );
    let all = app.query(default_list, json!({})).await;
    assert_eq!(
        data(&all)["articles"],
        json!({ "totalCount": 0, "edges": [] })
    );
    let nested = app.query(nested, json!({})).await;
    assert_eq!(data(&nested)["section"]["articles"]["totalCount"], 0);
    assert_eq!(data(&nested)["tag"]["articles"]["totalCount"], 0);
    let search = app
        .query(
            "{ search(query: \"budget leaks\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&search)["search"]["totalCount"], 0);

    // `article` takes exactly one of id and slug.
    for args in ["", &format!("id: \"{id}\", slug: \"draft-budget-leaks\"")] {
        let response = app
            .as_editor(
                &format!("{{ article({args}) {{ id }} }}").replace("()", ""),
                json!({}),
            )
            .await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "article({args}): {response}"
        );
    }
    // An author's id where an article's is expected is bad input, not null.
    let author = data(
        &app.as_editor(
            "mutation { createAuthor(input: {name: \"Iva Nová\"}) { id } }",
            json!({}),
        )
        .await,
    )["createAuthor"]["id"]
        .clone();
    let wrong = app
        .as_editor(
            "query($id: ID!) { article(id: $id) { id } }",
            json!({ "id": author }),
        )
        .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT", "{wrong}");
}

both_backends! {
    anonymous_article_writes_are_refused => anonymous_writes_are_refused;
    a_bad_token_is_answered_with_401 => a_bad_token_is_a_401;
    me_names_the_token_holder => me_names_the_token_holder;
    drafts_are_visible_to_the_desk_only => drafts_are_for_the_desk;
}
