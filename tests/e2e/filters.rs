//! Narrowing article lists: every filter, the nested `Section`, `Tag` and
//! `Author` connections, refused page arguments and foreign cursors, and
//! the cost of a page with its nested fields (no N+1).

use e2e::{TestApp, assert_flat, both_backends, data, error_code};
use serde_json::{Value, json};

use crate::article_support::{create, create_author, id_of, input, publish, rfc3339};
use crate::listing::{SECTIONS, fixture, ids, page};

async fn filters_and_nested_connections(app: &TestApp) {
    let f = fixture(app).await;
    let filtered = |filter: Value| async move {
        let p = page(app, None, "first: 100", json!({ "filter": filter })).await;
        assert_eq!(
            p["totalCount"].as_u64(),
            Some(p["edges"].as_array().expect("edges").len() as u64),
            "{filter}"
        );
        ids(&p)
    };
    let author = |i: usize| f.authors[i]["slug"].as_str().expect("slug").to_owned();

    assert_eq!(
        filtered(json!({ "section": SECTIONS[1] })).await,
        f.ids(|i| i.section == SECTIONS[1])
    );
    assert_eq!(
        filtered(json!({ "tag": "alpha" })).await,
        f.ids(|i| i.tags.contains(&"alpha"))
    );
    assert_eq!(
        filtered(json!({ "author": author(1) })).await,
        f.ids(|i| i.author == 1)
    );
    assert_eq!(
        filtered(json!({ "kind": "ANALYSIS" })).await,
        f.ids(|i| i.analysis)
    );
    assert_eq!(
        filtered(json!({ "breaking": true })).await,
        f.ids(|i| i.breaking)
    );
    assert_eq!(
        filtered(json!({ "breaking": false })).await,
        f.ids(|i| !i.breaking)
    );
    let (from, to) = (f.items[10].published_at, f.items[5].published_at);
    assert_eq!(
        filtered(json!({ "publishedAfter": rfc3339(from), "publishedBefore": rfc3339(to) })).await,
        f.ids(|i| i.published_at >= from && i.published_at < to),
        "publishedAfter inclusive, publishedBefore exclusive"
    );
    assert_eq!(
        filtered(json!({ "publishedAfter": rfc3339(from) })).await,
        f.ids(|i| i.published_at >= from)
    );
    assert_eq!(
        filtered(json!({ "section": SECTIONS[0], "tag": "beta", "author": author(0) })).await,
        f.ids(|i| i.section == SECTIONS[0] && i.tags.contains(&"beta") && i.author == 0),
        "conditions combine"
    );
    assert_eq!(
        filtered(json!({ "tag": "no-such-tag" })).await,
        Vec::<String>::new()
    );

    for (after, before) in [(to, from), (from, from)] {
        let bad = app
            .query("query($f: ArticleFilter) { articles(filter: $f) { totalCount } }",
                json!({ "f": { "publishedAfter": rfc3339(after), "publishedBefore": rfc3339(before) } }))
            .await;
        assert_eq!(
            error_code(&bad),
            "BAD_USER_INPUT",
            "publishedAfter >= publishedBefore: {bad}"
        );
        assert_eq!(
            bad["errors"][0]["extensions"]["field"],
            "filter.publishedBefore"
        );
    }
    let bad_slug = app
        .query(
            "{ articles(filter: {tag: \"Not A Slug\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&bad_slug), "BAD_USER_INPUT");

    // Section.articles, Tag.articles, Author.articles.
    let nested = |root: String| async move {
        let query = format!(
            "{{ {root} {{ articles(first: 100) {{ totalCount edges {{ node {{ id }} }} }} }} }}"
        );
        let response = app.query(&query, json!({})).await;
        let root = data(&response)
            .as_object()
            .expect("object")
            .values()
            .next()
            .expect("root")
            .clone();
        assert_eq!(
            root["articles"]["totalCount"].as_u64(),
            Some(root["articles"]["edges"].as_array().expect("edges").len() as u64)
        );
        ids(&root["articles"])
    };
    assert_eq!(
        nested(format!("section(slug: \"{}\")", SECTIONS[0])).await,
        f.ids(|i| i.section == SECTIONS[0])
    );
    assert_eq!(
        nested("tag(slug: \"beta\")".into()).await,
        f.ids(|i| i.tags.contains(&"beta"))
    );
    assert_eq!(
        nested(format!("author(slug: \"{}\")", author(0))).await,
        f.ids(|i| i.author == 0)
    );
    let tag_in_section = app
        .query("{ tag(slug: \"alpha\") { articles(first: 100, filter: {section: \"domestic-policies\", tag: \"beta\"}) { edges { node { id } } } } }", json!({}))
        .await;
    assert_eq!(
        ids(&data(&tag_in_section)["tag"]["articles"]),
        f.ids(|i| i.tags.contains(&"alpha") && i.section == SECTIONS[1]),
        "Tag.articles ignores filter.tag and applies the rest"
    );
    let section_page = app
        .query("{ section(slug: \"international-relations\") { articles(first: 5, orderBy: {direction: ASC}) { pageInfo { hasNextPage } edges { node { id } } } } }", json!({}))
        .await;
    let mut oldest_ir = f.ids(|i| i.section == SECTIONS[0]);
    oldest_ir.reverse();
    assert_eq!(
        ids(&data(&section_page)["section"]["articles"]),
        oldest_ir[..5]
    );
    let editor_tag = app
        .as_editor(
            "{ tag(slug: \"alpha\") { articles { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&editor_tag)["tag"]["articles"]["totalCount"],
        f.ids(|i| i.tags.contains(&"alpha")).len() + 1,
        "the desk sees the draft"
    );
}

async fn bad_page_arguments_and_cursors(app: &TestApp) {
    let f = fixture(app).await;
    let q =
        |args: &str| format!("query($c: String) {{ articles({args}) {{ edges {{ cursor }} }} }}");
    for args in ["first: 101", "last: 101", "first: -1", "first: 2, last: 2"] {
        let response = app
            .query(
                &format!("{{ articles({args}) {{ edges {{ cursor }} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{args}: {response}"
        );
    }
    for nested in [
        "section(slug: \"domestic-policies\")",
        "tag(slug: \"alpha\")",
    ] {
        let response = app
            .query(
                &format!("{{ {nested} {{ articles(first: 1000) {{ totalCount }} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{nested}: {response}"
        );
    }
    assert_eq!(
        ids(&page(app, None, "first: 100", json!({})).await).len(),
        f.items.len()
    );

    let desc = page(app, None, "first: 2", json!({})).await;
    let asc = page(
        app,
        None,
        "first: 2",
        json!({ "orderBy": { "direction": "ASC" } }),
    )
    .await;
    let authors = data(
        &app.query("{ authors(first: 1) { edges { cursor } } }", json!({}))
            .await,
    )["authors"]
        .clone();
    let search = data(
        &app.query(
            "{ search(query: \"story\", first: 1) { edges { cursor } } }",
            json!({}),
        )
        .await,
    )["search"]
        .clone();
    let foreign = [
        ("garbage", json!("garbage!!")),
        ("base64 garbage", json!("bm90IGEgY3Vyc29y")),
        ("an authors cursor", authors["edges"][0]["cursor"].clone()),
        ("a search cursor", search["edges"][0]["cursor"].clone()),
        ("an ASC cursor on DESC", asc["edges"][0]["cursor"].clone()),
    ];
    for (what, cursor) in &foreign {
        for args in ["first: 5, after: $c", "last: 5, before: $c"] {
            let response = app.query(&q(args), json!({ "c": cursor })).await;
            assert_eq!(
                error_code(&response),
                "CURSOR_INVALID",
                "{what} as {args}: {response}"
            );
        }
    }
    let desc_cursor = desc["edges"][0]["cursor"].clone();
    let response = app
        .query("query($c: String) { articles(after: $c, orderBy: {field: UPDATED_AT}) { totalCount } }", json!({ "c": desc_cursor }))
        .await;
    assert_eq!(
        error_code(&response),
        "CURSOR_INVALID",
        "a PUBLISHED_AT cursor on UPDATED_AT: {response}"
    );
    let response = app
        .query("query($c: String) { section(slug: \"domestic-policies\") { articles(after: $c) { totalCount } } }", json!({ "c": "garbage" }))
        .await;
    assert_eq!(error_code(&response), "CURSOR_INVALID", "{response}");
}

/// A page of articles with sections, authors and tags costs the same
/// number of statements whatever its size.
async fn no_n_plus_one(app: &TestApp) {
    let mut authors = Vec::new();
    for name in ["Ada One", "Ben Two", "Cyril Three", "Dana Four"] {
        authors.push(create_author(app, name).await["id"].clone());
    }
    for i in 0..22_usize {
        let tags = [format!("Topic {}", i % 5), format!("Place {}", i % 3)];
        let id = id_of(
            &create(
                app,
                input(
                    &format!("Report {i}"),
                    json!({ "tags": tags, "section": SECTIONS[i % 2],
                "authors": [authors[i % 4], authors[(i + 1) % 4]] }),
                ),
            )
            .await,
        );
        publish(app, &id, None).await;
    }
    let query = |n: usize| {
        format!(
            "{{ articles(first: {n}) {{ edges {{ node {{ id section {{ name }} authors {{ name }} tags {{ name }} }} }} }} }}"
        )
    };
    let cost = |n: usize| async move {
        let before = app.metric("politmaster_db_statements_total").await;
        let response = app.query(&query(n), json!({})).await;
        let after = app.metric("politmaster_db_statements_total").await;
        let edges = data(&response)["articles"]["edges"]
            .as_array()
            .expect("edges")
            .clone();
        assert_eq!(edges.len(), n);
        assert!(
            edges
                .iter()
                .all(|e| e["node"]["authors"].as_array().map(Vec::len) == Some(2)
                    && e["node"]["tags"].as_array().map(Vec::len) == Some(2)
                    && e["node"]["section"]["name"].is_string()),
            "{response}"
        );
        after - before
    };
    let (twenty, five) = (cost(20).await, cost(5).await);
    println!(
        "{:?}: statements for 20 articles: {twenty}, for 5: {five}",
        app.backend
    );
    // The page, then its bylines and tags with the authors and tags they
    // name; sections are in memory.
    assert_flat(twenty, five, 2, "articles");

    let search = |n: usize| async move {
        let query = format!(
            "{{ search(query: \"report\", first: {n}) {{ edges {{ node {{ section {{ name }} authors {{ name }} tags {{ name }} }} }} }} }}"
        );
        let before = app.metric("politmaster_db_statements_total").await;
        let response = app.query(&query, json!({})).await;
        let after = app.metric("politmaster_db_statements_total").await;
        assert_eq!(
            data(&response)["search"]["edges"].as_array().map(Vec::len),
            Some(n)
        );
        after - before
    };
    let (twenty, five) = (search(20).await, search(5).await);
    println!(
        "{:?}: statements for 20 search hits: {twenty}, for 5: {five}",
        app.backend
    );
    // The hits, their rows and snippets, their links.
    assert_flat(twenty, five, 3, "search hits");
}

both_backends! {
    articles_filter_and_nest_under_section_tag_and_author => filters_and_nested_connections;
    bad_page_arguments_and_foreign_cursors_are_refused => bad_page_arguments_and_cursors;
    a_page_with_nested_fields_costs_a_fixed_number_of_statements => no_n_plus_one;
}
