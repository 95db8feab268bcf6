//! Invalid writes change nothing: a refused create leaves no article and
//! no tag behind, a refused update leaves every field, the tags and the
//! version as they were, whether validation or the store refused it.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::json;

use crate::article_support::{create, encode_id, id_of, input};
use crate::validation::{CREATE, UPDATE, assert_bad_input, stored};

async fn refused_writes_leave_nothing(app: &TestApp) {
    let existing = create(app, input("Harbour strike ends", json!({ "tags": ["Keep"], "hero": { "url": "https://img.example/h.jpg", "alt": "Harbour" } }))).await;
    let id = id_of(&existing);
    let unknown_author = encode_id(&format!("Author:{}", uuid::Uuid::now_v7()));

    // Creates failing after tags were named: in validation and in the store.
    let creates = [
        (
            "bad media",
            json!({ "media": [{ "url": "https://img.example/a.jpg" }] }),
            "BAD_USER_INPUT",
        ),
        (
            "unknown author",
            json!({ "authors": [unknown_author] }),
            "BAD_USER_INPUT",
        ),
        (
            "taken slug",
            json!({ "slug": "harbour-strike-ends" }),
            "CONFLICT",
        ),
        (
            "taken derived slug",
            json!({ "headline": "Harbour strike ends!" }),
            "CONFLICT",
        ),
    ];
    for (what, extra, code) in creates {
        let mut body = input("Orphan story", json!({ "tags": ["Orphan Tag", "Keep"] }));
        body.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        let response = app.as_editor(CREATE, json!({ "i": body })).await;
        assert_eq!(error_code(&response), code, "{what}: {response}");
        let state = stored(app, "orphan-tag").await;
        assert!(
            state["tag"].is_null(),
            "{what}: the tag named in a refused create is not left behind"
        );
        assert_eq!(
            state["articles"]["totalCount"], 1,
            "{what}: no article either"
        );
    }

    // Updates that fail change nothing: not the fields before the bad one,
    // not the tags, not the version.
    let other = create(app, input("Other story", json!({}))).await;
    let updates = [
        (
            "bad hero",
            json!({ "headline": "Changed", "hero": { "url": "javascript:x()", "alt": "x" } }),
            "BAD_USER_INPUT",
            "input.hero.url",
        ),
        (
            "unknown section",
            json!({ "headline": "Changed", "section": "sport" }),
            "BAD_USER_INPUT",
            "input.section",
        ),
        (
            "unknown author",
            json!({ "headline": "Changed", "authors": [unknown_author] }),
            "BAD_USER_INPUT",
            "input.authors[0]",
        ),
        (
            "bad slug",
            json!({ "headline": "Changed", "slug": "Bad Slug" }),
            "BAD_USER_INPUT",
            "input.slug",
        ),
        (
            "long headline",
            json!({ "standfirst": "Changed", "headline": "x".repeat(201) }),
            "BAD_USER_INPUT",
            "input.headline",
        ),
        (
            "blank body once published",
            json!({ "headline": "Changed", "body": "<script>x</script>" }),
            "BAD_USER_INPUT",
            "input.body",
        ),
        (
            "slug change once published",
            json!({ "headline": "Changed", "slug": "other-story" }),
            "BAD_USER_INPUT",
            "input.slug",
        ),
    ];
    let published = app
        .as_editor(
            "mutation($id: ID!) { publishArticle(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&published)["publishArticle"]["version"], 2);
    for (what, extra, code, field) in updates {
        let mut change = json!({ "id": id, "expectedVersion": 2, "tags": ["Brand New"] });
        change
            .as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        let response = app.as_editor(UPDATE, json!({ "i": change })).await;
        assert_eq!(error_code(&response), code, "{what}: {response}");
        if !field.is_empty() {
            assert_eq!(
                response["errors"][0]["extensions"]["field"], field,
                "{what}: {response}"
            );
        }
        let state = stored(app, "brand-new").await;
        assert!(state["tag"].is_null(), "{what}: tag left behind");
        let article = state["articles"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .find(|e| e["node"]["id"] == id.as_str())
            .expect("still there")["node"]
            .clone();
        assert_eq!(
            article,
            json!({ "id": id, "headline": "Harbour strike ends", "version": 2, "tags": [{ "slug": "keep" }], "hero": { "url": "https://img.example/h.jpg" } }),
            "{what}: nothing changed"
        );
    }
    assert_eq!(
        stored(app, "x").await["articles"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .find(|e| e["node"]["id"] == id_of(&other).as_str())
            .expect("other")["node"]["version"],
        1
    );

    // Bad ids and enum values in updates.
    let wrong_type = app.as_editor(UPDATE, json!({ "i": { "id": encode_id(&format!("Author:{}", uuid::Uuid::now_v7())), "expectedVersion": 1 } })).await;
    assert_bad_input(&wrong_type, "input.id", "an author id as article id");
    let bad_enum = app
        .as_editor(
            UPDATE,
            json!({ "i": { "id": id, "expectedVersion": 2, "kind": "RUMOUR" } }),
        )
        .await;
    assert_eq!(error_code(&bad_enum), "BAD_USER_INPUT", "{bad_enum}");
    for op in ["publishArticle", "unpublishArticle", "archiveArticle"] {
        let response = app
            .as_editor(
                &format!("mutation {{ {op}(id: \"not-an-id\") {{ id }} }}"),
                json!({}),
            )
            .await;
        assert_bad_input(&response, "id", op);
    }
    let bad_time = app
        .as_editor(
            "mutation($id: ID!) { publishArticle(id: $id, at: \"next tuesday\") { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&bad_time), "BAD_USER_INPUT", "{bad_time}");
    let final_state = stored(app, "brand-new").await;
    assert_eq!(final_state["articles"]["totalCount"], 2);
}

both_backends! {
    refused_article_writes_leave_nothing_behind => refused_writes_leave_nothing;
}
