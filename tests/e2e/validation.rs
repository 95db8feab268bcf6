//! Invalid article input: bodies are cleaned to the allow-list, and bad
//! fields are refused with `BAD_USER_INPUT` naming the field.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

use crate::article_support::{create, create_author, encode_id, id_of, input};

pub(crate) const CREATE: &str =
    "mutation($i: CreateArticleInput!) { createArticle(input: $i) { id body bodyText wordCount } }";
pub(crate) const UPDATE: &str =
    "mutation($i: UpdateArticleInput!) { updateArticle(input: $i) { id version } }";

/// What the desk has stored: every article and the given tag.
pub(crate) async fn stored(app: &TestApp, tag: &str) -> Value {
    let response = app
        .as_editor(
            "query($t: String!) { articles(first: 100) { totalCount edges { node { id headline version tags { slug } hero { url } } } }
                tag(slug: $t) { id } }",
            json!({ "t": tag }),
        )
        .await;
    data(&response).clone()
}

pub(crate) fn assert_bad_input(response: &Value, field: &str, what: &str) {
    assert_eq!(error_code(response), "BAD_USER_INPUT", "{what}: {response}");
    assert_eq!(
        response["errors"][0]["extensions"]["field"], field,
        "{what}: {response}"
    );
    assert!(response["data"].is_null(), "{what}: {response}");
}

async fn bodies_are_cleaned(app: &TestApp) {
    let raw = r#"<p onclick="steal()">Hello <a href="javascript:alert(1)">bad link</a> and <a href="https://example.org/ok" onmouseover="x()">good link</a>.</p><script>alert('xss')</script><style>p { color: red }</style><img src="https://img.example/x.jpg" onerror="alert(2)"><iframe src="https://evil.example/"></iframe><h2 style="color:red">Heading</h2><!-- note -->"#;
    let created = app
        .as_editor(
            CREATE,
            json!({ "i": input("Clean me", json!({ "body": raw })) }),
        )
        .await;
    let a = &data(&created)["createArticle"];
    let body = a["body"].as_str().expect("body");
    for banned in [
        "<script",
        "alert",
        "onclick",
        "onmouseover",
        "onerror",
        "javascript:",
        "<img",
        "<iframe",
        "style",
        "<!--",
        "steal",
    ] {
        assert!(
            !body.contains(banned),
            "`{banned}` survived cleaning: {body}"
        );
    }
    assert!(body.starts_with("<p>Hello "), "{body}");
    assert!(
        body.contains(r#"href="https://example.org/ok""#),
        "safe links stay: {body}"
    );
    assert!(body.contains("<h2>Heading</h2>"), "{body}");
    assert_eq!(a["bodyText"], "Hello bad link and good link.\nHeading");
    assert_eq!(a["wordCount"], 7);
    let read = app
        .as_editor(
            "query($id: ID!) { article(id: $id) { body } }",
            json!({ "id": a["id"] }),
        )
        .await;
    assert_eq!(
        data(&read)["article"]["body"],
        body,
        "what is stored is the cleaned body"
    );

    let words = |n: usize| format!("<p>{}</p>", vec!["word"; n].join(" "));
    for (n, minutes) in [(0, 0), (1, 1), (230, 1), (231, 2), (460, 2), (461, 3)] {
        let r = app.as_editor(
            "mutation($i: CreateArticleInput!) { createArticle(input: $i) { wordCount readingTimeMinutes } }",
            json!({ "i": input(&format!("Length {n}"), json!({ "body": words(n) })) }),
        ).await;
        assert_eq!(
            data(&r)["createArticle"],
            json!({ "wordCount": n, "readingTimeMinutes": minutes }),
            "{n} words"
        );
    }
    let entities = app.as_editor(CREATE, json!({ "i": input("Entities", json!({ "body": "<p>Fish &amp; chips&nbsp;today &lt;3</p>" })) })).await;
    assert_eq!(
        data(&entities)["createArticle"]["bodyText"],
        "Fish & chips today <3"
    );
    assert_eq!(data(&entities)["createArticle"]["wordCount"], 5);

    let updated = app
        .as_editor(
            "mutation($i: UpdateArticleInput!) { updateArticle(input: $i) { body bodyText } }",
            json!({ "i": { "id": a["id"], "expectedVersion": 1, "body": "<p>Safe</p><script>document.cookie</script><a href=\"JaVaScRiPt:void(0)\">x</a>" } }),
        )
        .await;
    let updated = &data(&updated)["updateArticle"];
    let body = updated["body"].as_str().expect("body");
    assert!(
        !body.contains("script")
            && !body.to_lowercase().contains("javascript")
            && !body.contains("cookie"),
        "{body}"
    );
    assert_eq!(updated["bodyText"], "Safe\nx");
}

async fn bad_fields_are_named(app: &TestApp) {
    let author = create_author(app, "Real Author").await;
    let unknown_author = encode_id(&format!("Author:{}", uuid::Uuid::now_v7()));
    let taken = create(app, input("Existing story", json!({}))).await;
    let article_id = id_of(&taken);
    let photo = json!({ "url": "https://img.example/a.jpg", "alt": "A photo" });
    let cases = [
        ("slug", json!({ "slug": "Not A Slug" }), "input.slug"),
        (
            "slug with an edge hyphen",
            json!({ "slug": "-edge" }),
            "input.slug",
        ),
        (
            "unknown section",
            json!({ "section": "sport" }),
            "input.section",
        ),
        (
            "malformed section",
            json!({ "section": "Not A Section" }),
            "input.section",
        ),
        (
            "javascript hero",
            json!({ "hero": { "url": "javascript:alert(1)", "alt": "x" } }),
            "input.hero.url",
        ),
        (
            "relative hero",
            json!({ "hero": { "url": "/img/a.jpg", "alt": "x" } }),
            "input.hero.url",
        ),
        (
            "photo without alt",
            json!({ "media": [{ "url": "https://img.example/a.jpg" }] }),
            "input.media[0].alt",
        ),
        (
            "photo with a duration",
            json!({ "media": [photo, { "url": "https://img.example/b.jpg", "alt": "b", "durationSeconds": 3 }] }),
            "input.media[1].kind",
        ),
        (
            "zero width",
            json!({ "media": [{ "url": "https://img.example/a.jpg", "alt": "a", "width": 0 }] }),
            "input.media[0].width",
        ),
        (
            "negative duration",
            json!({ "media": [{ "kind": "VIDEO", "url": "https://v.example/a.mp4", "durationSeconds": -5 }] }),
            "input.media[0].durationSeconds",
        ),
        (
            "data poster",
            json!({ "media": [{ "kind": "VIDEO", "url": "https://v.example/a.mp4", "posterUrl": "data:image/png;base64,AA" }] }),
            "input.media[0].posterUrl",
        ),
        (
            "ftp source",
            json!({ "source": { "name": "Agency", "url": "ftp://agency.example/a" } }),
            "input.source.url",
        ),
        (
            "blank source name",
            json!({ "source": { "name": " ", "url": "https://agency.example/a" } }),
            "input.source.name",
        ),
        (
            "201-char headline",
            json!({ "headline": "h".repeat(201) }),
            "input.headline",
        ),
        (
            "blank headline",
            json!({ "headline": "   " }),
            "input.headline",
        ),
        (
            "two-line headline",
            json!({ "headline": "One\nTwo" }),
            "input.headline",
        ),
        (
            "601-char standfirst",
            json!({ "standfirst": "s".repeat(601) }),
            "input.standfirst",
        ),
        (
            "blank tag",
            json!({ "tags": ["Leftover tag", " "] }),
            "input.tags[1]",
        ),
        (
            "21 tags",
            json!({ "tags": (0..21).map(|i| format!("Tag {i}")).collect::<Vec<_>>() }),
            "input.tags",
        ),
        (
            "unknown author",
            json!({ "authors": [author["id"], unknown_author] }),
            "input.authors[1]",
        ),
        (
            "an article id as author",
            json!({ "authors": [article_id] }),
            "input.authors[0]",
        ),
        (
            "malformed author id",
            json!({ "authors": ["garbage"] }),
            "input.authors[0]",
        ),
        (
            "eleven authors",
            json!({ "authors": vec![author["id"].clone(); 11] }),
            "input.authors",
        ),
        (
            "no slug derivable",
            json!({ "headline": "Путин и Си" }),
            "input.headline",
        ),
    ];
    for (what, extra, field) in cases {
        let mut body = input("Refused story", json!({ "tags": ["Leftover tag"] }));
        body.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        assert_bad_input(
            &app.as_editor(CREATE, json!({ "i": body })).await,
            field,
            what,
        );
    }
    // Enum values outside the schema are refused before anything runs.
    let enum_var = app
        .as_editor(
            CREATE,
            json!({ "i": input("Refused story", json!({ "kind": "GOSSIP" })) }),
        )
        .await;
    assert_eq!(error_code(&enum_var), "BAD_USER_INPUT", "{enum_var}");
    let enum_literal = app
        .as_editor("mutation { createArticle(input: {headline: \"Refused story\", section: \"domestic-policies\", kind: GOSSIP}) { id } }", json!({}))
        .await;
    assert_eq!(
        error_code(&enum_literal),
        "BAD_USER_INPUT",
        "{enum_literal}"
    );
    let media_kind = app.as_editor(CREATE, json!({ "i": input("Refused story", json!({ "media": [{ "kind": "AUDIO", "url": "https://a.example/a.mp3" }] })) })).await;
    assert_eq!(error_code(&media_kind), "BAD_USER_INPUT", "{media_kind}");
    let missing_section = app
        .as_editor(CREATE, json!({ "i": { "headline": "Refused story" } }))
        .await;
    assert_eq!(
        error_code(&missing_section),
        "BAD_USER_INPUT",
        "{missing_section}"
    );

    let state = stored(app, "leftover-tag").await;
    assert_eq!(
        state["articles"]["totalCount"], 1,
        "only the existing story: {state:#}"
    );
    assert!(
        state["tag"].is_null(),
        "no refused write left its tag behind"
    );

    // Boundaries that are fine.
    let longest = app
        .as_editor(
            CREATE,
            json!({ "i": input(&"h".repeat(200), json!({ "slug": "longest" })) }),
        )
        .await;
    data(&longest);
    let video = app
        .as_editor(CREATE, json!({ "i": input("Video without alt", json!({ "hero": { "kind": "VIDEO", "url": "https://v.example/a.mp4", "durationSeconds": 86400 } })) }))
        .await;
    data(&video);
    let derived = app
        .as_editor("mutation($i: CreateArticleInput!) { createArticle(input: $i) { slug authors { name } } }",
            json!({ "i": input(&format!("{} end", "Word ".repeat(39)), json!({ "authors": [author["id"], author["id"]] })) }))
        .await;
    let derived = &data(&derived)["createArticle"];
    let slug = derived["slug"].as_str().expect("slug");
    assert!(
        slug.len() <= 120 && slug.starts_with("word-word-") && !slug.ends_with('-'),
        "{slug}"
    );
    assert_eq!(
        derived["authors"],
        json!([{ "name": "Real Author" }]),
        "a repeated byline is printed once"
    );
}

both_backends! {
    article_bodies_are_cleaned_to_the_allow_list => bodies_are_cleaned;
    bad_article_fields_are_refused_by_name => bad_fields_are_named;
}
