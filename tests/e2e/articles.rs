//! Articles written through the API: created with every field, tags by
//! name, derived fields, updates with optimistic concurrency, unique slugs,
//! and writes racing each other.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

use crate::article_support::{
    ARTICLE, article_as, create, create_author, encode_id, id_of, input, now, publish, time,
};

// ----- create, read back, derived fields, tags by name --------------------

const FULL: &str =
    "id slug headline standfirst body bodyText wordCount readingTimeMinutes kind status
    section { slug name } authors { id name } tags { id slug name } breaking url version
    hero { kind url caption credit alt width height durationSeconds posterUrl }
    media { kind url caption credit alt width height durationSeconds posterUrl }
    source { name url readMore } createdAt updatedAt publishedAt scheduledAt";

async fn create_with_every_field(app: &TestApp) {
    let jana = create_author(app, "Jana Nováková").await;
    let petr = create_author(app, "Petr Svoboda").await;
    assert_eq!(jana["slug"], "jana-novakova");
    let query =
        format!("mutation($i: CreateArticleInput!) {{ createArticle(input: $i) {{ {FULL} }} }}");
    let full = json!({
        "headline": "Parliament passes the Baltic grid bill",
        "standfirst": "A cross-border pact clears its last hurdle.",
        "body": "<p>One two three.</p><p>Four <em>five</em> six.</p>",
        "kind": "ANALYSIS",
        "section": "economic-developments",
        "authors": [petr["id"], jana["id"]],
        "tags": ["North Korea", "NATO", "nato"],
        "breaking": true,
        "hero": { "url": "https://img.example/hero.jpg", "alt": "The chamber", "caption": "The vote",
                  "credit": "Reuters/Jana Nová", "width": 1600, "height": 900 },
        "media": [
            { "kind": "VIDEO", "url": "https://video.example/v.mp4", "caption": "The debate",
              "durationSeconds": 95, "posterUrl": "https://img.example/poster.jpg" },
            { "url": "https://img.example/2.jpg", "alt": "Delegates" }
        ],
        "source": { "name": "The Independent", "url": "https://www.independent.co.uk/news/world/grid-bill" }
    });
    let before = now();
    let a = data(&app.as_editor(&query, json!({ "i": full })).await)["createArticle"].clone();
    assert_eq!(
        a["slug"], "parliament-passes-the-baltic-grid-bill",
        "slug derived from the headline"
    );
    assert_eq!(
        a["standfirst"],
        "A cross-border pact clears its last hurdle."
    );
    assert_eq!(
        a["body"],
        "<p>One two three.</p><p>Four <em>five</em> six.</p>"
    );
    assert_eq!(a["bodyText"], "One two three.\nFour five six.");
    assert_eq!(a["wordCount"], 6);
    assert_eq!(a["readingTimeMinutes"], 1);
    assert_eq!(
        (a["kind"].as_str(), a["status"].as_str()),
        (Some("ANALYSIS"), Some("DRAFT"))
    );
    assert_eq!(
        a["section"],
        json!({ "slug": "economic-developments", "name": "Economic Developments" })
    );
    let names: Vec<_> = a["authors"]
        .as_array()
        .expect("authors")
        .iter()
        .map(|x| x["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("Petr Svoboda"), json!("Jana Nováková")],
        "byline order as given"
    );
    let slugs: Vec<_> = a["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["slug"].clone())
        .collect();
    assert_eq!(
        slugs,
        [json!("north-korea"), json!("nato")],
        "tags in order, de-duplicated by slug"
    );
    assert_eq!(a["tags"][1]["name"], "NATO");
    assert_eq!(a["breaking"], true);
    assert_eq!(
        a["url"],
        "/economic-developments/parliament-passes-the-baltic-grid-bill"
    );
    assert_eq!(a["version"], 1);
    assert_eq!(
        a["hero"],
        json!({ "kind": "PHOTO", "url": "https://img.example/hero.jpg", "caption": "The vote",
                "credit": "Reuters/Jana Nová", "alt": "The chamber", "width": 1600, "height": 900,
                "durationSeconds": null, "posterUrl": null })
    );
    assert_eq!(
        a["media"][0],
        json!({ "kind": "VIDEO", "url": "https://video.example/v.mp4", "caption": "The debate", "credit": "",
                "alt": "", "width": null, "height": null, "durationSeconds": 95,
                "posterUrl": "https://img.example/poster.jpg" })
    );
    assert_eq!(
        (
            a["media"][1]["kind"].as_str(),
            a["media"][1]["alt"].as_str()
        ),
        (Some("PHOTO"), Some("Delegates"))
    );
    assert_eq!(
        a["source"],
        json!({ "name": "The Independent", "url": "https://www.independent.co.uk/news/world/grid-bill",
                "readMore": "Read more on independent.co.uk" })
    );
    let created = time(&a["createdAt"]);
    assert!(
        created >= before && created <= now(),
        "createdAt {created} is the time of the write"
    );
    assert_eq!(a["createdAt"], a["updatedAt"]);
    assert!(a["publishedAt"].is_null() && a["scheduledAt"].is_null());

    // Read back by slug as the desk: everything as stored.
    let read = app
        .as_editor(
            &format!(
                "{{ article(slug: \"{}\") {{ {FULL} }} }}",
                a["slug"].as_str().expect("slug")
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        data(&read)["article"],
        a,
        "what createArticle returned is what was stored"
    );

    // A tag named again (any case) is the same tag; a new name creates one.
    let query =
        format!("mutation($i: CreateArticleInput!) {{ createArticle(input: $i) {{ {FULL} }} }}");
    let second = app
        .as_editor(
            &query,
            json!({ "i": input("Energy ministers meet", json!({ "tags": ["nato", "Energy"] })) }),
        )
        .await;
    let b = &data(&second)["createArticle"];
    assert_eq!(
        b["tags"][0]["id"], a["tags"][1]["id"],
        "`nato` reuses the tag `NATO` by slug"
    );
    assert_eq!(
        b["tags"][0]["name"], "NATO",
        "the first spelling stays the tag's name"
    );
    assert_eq!(b["tags"][1]["slug"], "energy");
    assert!(b["source"].is_null() && b["hero"].is_null() && b["authors"] == json!([]));
    assert_eq!(
        (b["kind"].as_str(), b["breaking"].as_bool()),
        (Some("NEWS"), Some(false)),
        "defaults"
    );
    let tags = app
        .query(
            "{ tags(first: 100) { totalCount edges { node { slug } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&tags)["tags"]["totalCount"],
        3,
        "north-korea, nato, energy: {tags}"
    );
}

// ----- updates: versions, conflicts, slugs --------------------------------

async fn updates_are_versioned(app: &TestApp) {
    let author = create_author(app, "Eva Malá").await;
    let first = create(
        app,
        input(
            "Coalition talks resume",
            json!({ "tags": ["Coalition"], "authors": [author["id"]],
        "hero": { "url": "https://img.example/h.jpg", "alt": "Talks" },
        "source": { "name": "ČTK", "url": "https://www.ctk.cz/a" } }),
        ),
    )
    .await;
    let id = id_of(&first);
    let update = "mutation($i: UpdateArticleInput!) { updateArticle(input: $i) {
        id slug headline standfirst version hero { url } source { name } authors { id } tags { slug } } }";

    let v2 = app
        .as_editor(update, json!({ "i": { "id": id, "expectedVersion": 1, "headline": "Coalition talks collapse",
            "standfirst": "No deal by midnight.", "tags": ["Government", "Coalition"], "hero": null, "source": null } }))
        .await;
    let v2 = data(&v2)["updateArticle"].clone();
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["headline"], "Coalition talks collapse");
    assert_eq!(
        v2["slug"], "coalition-talks-resume",
        "the slug is stable when the headline changes"
    );
    assert!(
        v2["hero"].is_null() && v2["source"].is_null(),
        "null clears hero and source: {v2}"
    );
    assert_eq!(
        v2["authors"],
        json!([{ "id": author["id"] }]),
        "left-out fields stay as they are"
    );
    assert_eq!(
        v2["tags"],
        json!([{ "slug": "government" }, { "slug": "coalition" }]),
        "tags replaced"
    );

    // A stale version is refused and changes nothing.
    let stale = app
        .as_editor(
            update,
            json!({ "i": { "id": id, "expectedVersion": 1, "headline": "Overwritten" } }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT", "{stale}");
    let now_stored = article_as(app, Some(&app.editor_token), &id).await;
    assert_eq!(
        (
            now_stored["headline"].as_str(),
            now_stored["version"].as_i64()
        ),
        (Some("Coalition talks collapse"), Some(2))
    );
    let ahead = app
        .as_editor(
            update,
            json!({ "i": { "id": id, "expectedVersion": 7, "headline": "X" } }),
        )
        .await;
    assert_eq!(
        error_code(&ahead),
        "CONFLICT",
        "a version from the future is not current either"
    );

    // Slugs are unique: on create and on update.
    let dup = app
        .as_editor(
            &format!(
                "mutation($i: CreateArticleInput!) {{ createArticle(input: $i) {{ {ARTICLE} }} }}"
            ),
            json!({ "i": input("Another story", json!({ "slug": "coalition-talks-resume" })) }),
        )
        .await;
    assert_eq!(error_code(&dup), "CONFLICT", "{dup}");
    let derived_dup = app
        .as_editor(
            &format!(
                "mutation($i: CreateArticleInput!) {{ createArticle(input: $i) {{ {ARTICLE} }} }}"
            ),
            json!({ "i": input("Coalition talks resume", json!({})) }),
        )
        .await;
    assert_eq!(
        error_code(&derived_dup),
        "CONFLICT",
        "a derived slug that is taken: {derived_dup}"
    );
    let other = create(
        app,
        input("Another story", json!({ "slug": "another-story" })),
    )
    .await;
    let taken = app
        .as_editor(update, json!({ "i": { "id": id_of(&other), "expectedVersion": 1, "slug": "coalition-talks-resume" } }))
        .await;
    assert_eq!(error_code(&taken), "CONFLICT", "{taken}");
    let other_now = article_as(app, Some(&app.editor_token), &id_of(&other)).await;
    assert_eq!(
        (other_now["slug"].as_str(), other_now["version"].as_i64()),
        (Some("another-story"), Some(1))
    );

    // A new slug is accepted and the old one no longer resolves.
    let moved = app
        .as_editor(
            update,
            json!({ "i": { "id": id, "expectedVersion": 2, "slug": "coalition-collapse" } }),
        )
        .await;
    assert_eq!(data(&moved)["updateArticle"]["version"], 3);
    let old = app
        .as_editor(
            "{ article(slug: \"coalition-talks-resume\") { id } }",
            json!({}),
        )
        .await;
    assert!(data(&old)["article"].is_null());

    // Unknown article: NOT_FOUND, not CONFLICT.
    let missing = format!("Article:{}", uuid::Uuid::now_v7());
    let missing = encode_id(&missing);
    let gone = app
        .as_editor(
            update,
            json!({ "i": { "id": missing, "expectedVersion": 1, "headline": "X" } }),
        )
        .await;
    assert_eq!(error_code(&gone), "NOT_FOUND", "{gone}");
}

/// Writes racing each other: of several updates from the same version
/// exactly one wins; creates naming the same new tag share one tag.
async fn concurrent_writes(app: &TestApp) {
    let id = id_of(&create(app, input("Race for the chair", json!({}))).await);
    let update =
        "mutation($i: UpdateArticleInput!) { updateArticle(input: $i) { headline version } }";
    let attempts = (0..6).map(|n| {
        app.as_editor(
            update,
            json!({ "i": { "id": id, "expectedVersion": 1, "headline": format!("Edit {n}") } }),
        )
    });
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<_> = results
        .iter()
        .filter(|r| r.get("errors").is_none_or(Value::is_null))
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one update from version 1 wins: {results:#?}"
    );
    for loser in results
        .iter()
        .filter(|r| r.get("errors").is_some_and(|e| !e.is_null()))
    {
        assert_eq!(error_code(loser), "CONFLICT", "{loser}");
    }
    let stored = article_as(app, Some(&app.editor_token), &id).await;
    assert_eq!(stored["version"], 2);
    assert_eq!(
        stored["headline"], winners[0]["data"]["updateArticle"]["headline"],
        "the winner's edit is stored"
    );

    let creates = (0..6).map(|n| {
        let query = format!("mutation($i: CreateArticleInput!) {{ createArticle(input: $i) {{ {ARTICLE} tags {{ id slug }} }} }}");
        let body = json!({ "i": input(&format!("Shared tag story {n}"), json!({ "tags": ["Fresh Shared Tag", format!("Own tag {n}")] })) });
        async move { app.as_editor(&query, body).await }
    });
    let created = futures::future::join_all(creates).await;
    let shared: Vec<_> = created
        .iter()
        .map(|r| data(r)["createArticle"]["tags"][0]["id"].clone())
        .collect();
    assert!(
        shared.iter().all(|t| *t == shared[0]),
        "one tag for one slug: {shared:?}"
    );
    let tag = app.as_editor("{ tag(slug: \"fresh-shared-tag\") { articles { totalCount } } tags(prefix: \"fresh\") { totalCount } }", json!({})).await;
    assert_eq!(data(&tag)["tag"]["articles"]["totalCount"], 6);
    assert_eq!(data(&tag)["tags"]["totalCount"], 1);
}

/// Published URLs are permanent: once readers could have linked to an
/// article, its slug no longer moves (a draft's still can, as above).
async fn a_published_slug_is_stable(app: &TestApp) {
    let article = create(
        app,
        input("Treaty signed", json!({ "slug": "treaty-signed" })),
    )
    .await;
    let id = id_of(&article);
    publish(app, &id, None).await;
    let update = "mutation($i: UpdateArticleInput!) { updateArticle(input: $i) { slug version } }";
    let moved = app
        .as_editor(
            update,
            json!({ "i": { "id": id, "expectedVersion": 2, "slug": "treaty-finally-signed" } }),
        )
        .await;
    assert_eq!(error_code(&moved), "BAD_USER_INPUT", "{moved}");
    assert_eq!(moved["errors"][0]["extensions"]["field"], "input.slug");
    let same = app
        .as_editor(update, json!({ "i": { "id": id, "expectedVersion": 2, "slug": "treaty-signed", "headline": "Treaty signed at last" } }))
        .await;
    assert_eq!(data(&same)["updateArticle"]["slug"], "treaty-signed");
    let found = app
        .query(
            "{ article(slug: \"treaty-signed\") { headline } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&found)["article"]["headline"], "Treaty signed at last");
}

both_backends! {
    an_article_is_created_with_every_field_and_tags_by_name => create_with_every_field;
    updates_are_versioned_and_slugs_unique => updates_are_versioned;
    concurrent_writes_keep_one_winner_and_one_tag => concurrent_writes;
    a_published_slug_is_stable => a_published_slug_is_stable;
}
