//! Tags: created by name when an article uses them; readers find them by
//! slug, by prefix, and page through them and their published articles.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

/// Creates an article with `tags` and `authors` (ids); publishes it when
/// asked. Returns its slug.
async fn article(
    app: &TestApp,
    headline: &str,
    tags: &[&str],
    authors: &[&str],
    publish: bool,
) -> String {
    let created = app
        .as_editor(
            "mutation($input: CreateArticleInput!) { createArticle(input: $input) { id slug } }",
            json!({ "input": {
                "headline": headline,
                "body": format!("<p>{headline}, reported at length.</p>"),
                "section": "international-relations",
                "tags": tags,
                "authors": authors,
            }}),
        )
        .await;
    let article = &data(&created)["createArticle"];
    if publish {
        let published = app
            .as_editor(
                "mutation($id: ID!) { publishArticle(id: $id) { status } }",
                json!({ "id": article["id"] }),
            )
            .await;
        assert_eq!(data(&published)["publishArticle"]["status"], "PUBLISHED");
    }
    article["slug"].as_str().expect("a slug").to_owned()
}

async fn create_author(app: &TestApp, name: &str) -> Value {
    let response = app
        .as_editor(
            "mutation($name: String!) { createAuthor(input: { name: $name }) { id slug } }",
            json!({ "name": name }),
        )
        .await;
    data(&response)["createAuthor"].clone()
}

fn slugs(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["slug"].as_str().expect("a slug").to_owned())
        .collect()
}

async fn tags_are_created_by_name_and_list_published_articles(app: &TestApp) {
    let author = create_author(app, "Tomáš Král").await;
    let author_id = author["id"].as_str().expect("an id");
    let public = article(
        app,
        "Pyongyang hosts summit",
        &["North Korea", "NATO"],
        &[author_id],
        true,
    )
    .await;
    let draft = article(
        app,
        "Embargoed summit analysis",
        &["north korea", "Norway"],
        &[],
        false,
    )
    .await;
    article(
        app,
        "Alliance meets in Oslo",
        &["NATO", "Norway", "Nordic Council"],
        &[],
        true,
    )
    .await;

    let tag = "query($slug: String!) { tag(slug: $slug) { id slug name url articles { totalCount edges { node { slug authors { slug } } } } } }";
    let read = app.query(tag, json!({ "slug": "north-korea" })).await;
    let north_korea = &data(&read)["tag"];
    assert_eq!(
        north_korea["name"], "North Korea",
        "the first spelling names the tag"
    );
    assert_eq!(north_korea["url"], "/tags/north-korea");
    assert_eq!(
        north_korea["articles"]["totalCount"], 1,
        "readers see published articles only"
    );
    assert_eq!(slugs(&north_korea["articles"]), [public.as_str()]);
    assert_eq!(
        north_korea["articles"]["edges"][0]["node"]["authors"][0]["slug"],
        "tomas-kral"
    );

    let desk = app.as_editor(tag, json!({ "slug": "north-korea" })).await;
    let desk_slugs = slugs(&data(&desk)["tag"]["articles"]);
    assert_eq!(
        desk_slugs.len(),
        2,
        "the desk sees the draft too: {desk_slugs:?}"
    );
    assert!(desk_slugs.contains(&draft));

    let nato = app.query(tag, json!({ "slug": "nato" })).await;
    assert_eq!(data(&nato)["tag"]["articles"]["totalCount"], 2);
    let unknown = app.query(tag, json!({ "slug": "atlantis" })).await;
    assert_eq!(data(&unknown)["tag"], Value::Null);

    // The author page lists the same published article.
    let by_author = app
        .query(
            "{ author(slug: \"tomas-kral\") { articles { totalCount edges { node { slug } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(slugs(&data(&by_author)["author"]["articles"]), [public]);

    // Prefix search on name or slug, ignoring case.
    let prefixed = "query($prefix: String) { tags(prefix: $prefix, first: 50) { totalCount edges { node { name } } } }";
    for (prefix, expected) in [
        ("nor", vec!["Nordic Council", "North Korea", "Norway"]),
        ("NOR", vec!["Nordic Council", "North Korea", "Norway"]),
        ("North K", vec!["North Korea"]),
        ("north-k", vec!["North Korea"]),
        ("nAtO", vec!["NATO"]),
        ("zz", vec![]),
        ("%", vec![]),
        ("_", vec![]),
        ("N_R", vec![]),
        (
            "  ",
            vec!["NATO", "Nordic Council", "North Korea", "Norway"],
        ),
    ] {
        let response = app.query(prefixed, json!({ "prefix": prefix })).await;
        let tags = &data(&response)["tags"];
        let names: Vec<&str> = tags["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, expected, "prefix {prefix:?}");
        assert_eq!(
            tags["totalCount"],
            json!(expected.len()),
            "prefix {prefix:?}"
        );
    }

    // Paging through all four tags, two at a time, in name order.
    let page = "query($after: String) { tags(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }";
    let one = app.query(page, json!({ "after": null })).await;
    let one = &data(&one)["tags"];
    assert_eq!(one["totalCount"], 4);
    assert_eq!(one["pageInfo"]["hasNextPage"], true);
    let two = app
        .query(page, json!({ "after": one["pageInfo"]["endCursor"] }))
        .await;
    let two = &data(&two)["tags"];
    assert_eq!(two["pageInfo"]["hasNextPage"], false);
    let names: Vec<&Value> = one["edges"]
        .as_array()
        .into_iter()
        .chain(two["edges"].as_array())
        .flatten()
        .map(|e| &e["node"]["name"])
        .collect();
    assert_eq!(
        names,
        [
            &json!("NATO"),
            &json!("Nordic Council"),
            &json!("North Korea"),
            &json!("Norway")
        ]
    );

    // A cursor of another list is refused.
    let author_cursor = app
        .query("{ authors(first: 1) { edges { cursor } } }", json!({}))
        .await;
    let cursor = data(&author_cursor)["authors"]["edges"][0]["cursor"].clone();
    let refused = app.query(page, json!({ "after": cursor })).await;
    assert_eq!(error_code(&refused), "CURSOR_INVALID");
}

async fn tags_need_a_known_section_and_valid_names(app: &TestApp) {
    let create = "mutation($input: CreateArticleInput!) { createArticle(input: $input) { id } }";
    let unknown_section = app
        .as_editor(
            create,
            json!({ "input": { "headline": "Lost", "section": "sport", "tags": ["Football"] } }),
        )
        .await;
    assert_eq!(error_code(&unknown_section), "BAD_USER_INPUT");
    let blank_tag = app
        .as_editor(create, json!({ "input": { "headline": "Blank", "section": "domestic-policies", "tags": ["Elections", "  "] } }))
        .await;
    assert_eq!(error_code(&blank_tag), "BAD_USER_INPUT");
    let anonymous = app
        .query(
            create,
            json!({ "input": { "headline": "Anon", "section": "domestic-policies" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    // No tag was left behind by the refused writes.
    let tags = app.query("{ tags { totalCount } }", json!({})).await;
    assert_eq!(data(&tags)["tags"]["totalCount"], 0);
}

async fn tag_prefixes_fold_case_and_diacritics(app: &TestApp) {
    article(
        app,
        "Prague and Beijing talk trade",
        &["Česká republika", "Čína", "Cestovní ruch"],
        &[],
        true,
    )
    .await;
    let prefixed = "query($prefix: String) { tags(prefix: $prefix) { totalCount edges { node { name slug } } } }";
    for (prefix, expected) in [
        ("česká", vec!["Česká republika"]),
        ("ČESKÁ R", vec!["Česká republika"]),
        ("ceska", vec!["Česká republika"]),
        ("čí", vec!["Čína"]),
        ("CINA", vec!["Čína"]),
        ("cest", vec!["Cestovní ruch"]),
    ] {
        let response = app.query(prefixed, json!({ "prefix": prefix })).await;
        let tags = &data(&response)["tags"];
        let names: Vec<&str> = tags["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, expected, "prefix {prefix:?}");
        assert_eq!(
            tags["totalCount"],
            json!(expected.len()),
            "prefix {prefix:?}"
        );
    }
    let tag = app
        .query(
            "{ tag(slug: \"ceska-republika\") { name articles { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&tag)["tag"]["name"], "Česká republika");
    assert_eq!(data(&tag)["tag"]["articles"]["totalCount"], 1);
}

both_backends! {
    tags_are_created_by_name => tags_are_created_by_name_and_list_published_articles;
    tags_need_valid_input => tags_need_a_known_section_and_valid_names;
    tag_prefixes_fold_case_and_diacritics => tag_prefixes_fold_case_and_diacritics;
}
