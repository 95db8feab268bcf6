//! An article's life after it is written: published now, backdated,
//! scheduled (and published by the scheduler), unpublished, archived,
//! deleted; and found again by `node(id)`.

use std::time::{Duration, Instant};

use e2e::{Options, TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

use crate::article_support::{
    TimeDelta, article_as, create, encode_id, id_of, input, mutate, now, publish, reader_list,
    rfc3339, time,
};

async fn publish_lifecycle(app: &TestApp) {
    let draft = create(app, input("Senate votes on the levy", json!({}))).await;
    let id = id_of(&draft);
    let editor = Some(app.editor_token.as_str());
    assert!(
        article_as(app, None, &id).await.is_null(),
        "readers do not see drafts"
    );

    let before = now();
    let published = publish(app, &id, None).await;
    assert_eq!(published["status"], "PUBLISHED");
    assert_eq!(published["version"], 2);
    let at = time(&published["publishedAt"]);
    assert!(at >= before && at <= now(), "published now: {at}");
    assert_eq!(article_as(app, None, &id).await["status"], "PUBLISHED");
    assert_eq!(reader_list(app).await, std::slice::from_ref(&id));

    let unpublished =
        data(&mutate(app, &app.editor_token, "unpublishArticle", &id).await)["unpublishArticle"]
            .clone();
    assert_eq!(unpublished["status"], "DRAFT");
    assert!(unpublished["publishedAt"].is_null());
    assert!(
        article_as(app, None, &id).await.is_null(),
        "unpublished: hidden again"
    );
    assert!(reader_list(app).await.is_empty());

    let later = now() + TimeDelta::hours(2);
    let scheduled = publish(app, &id, Some(later)).await;
    assert_eq!(scheduled["status"], "SCHEDULED");
    assert_eq!(time(&scheduled["scheduledAt"]), later);
    assert!(scheduled["publishedAt"].is_null());
    assert!(
        article_as(app, None, &id).await.is_null(),
        "scheduled: not visible yet"
    );
    assert!(reader_list(app).await.is_empty());
    assert_eq!(article_as(app, editor, &id).await["status"], "SCHEDULED");

    // Publishing now overrides the schedule; a past `at` backdates.
    let yesterday = now() - TimeDelta::days(1);
    let backdated = publish(app, &id, Some(yesterday)).await;
    assert_eq!(backdated["status"], "PUBLISHED");
    assert_eq!(time(&backdated["publishedAt"]), yesterday);
    assert!(backdated["scheduledAt"].is_null());

    let archived =
        data(&mutate(app, &app.editor_token, "archiveArticle", &id).await)["archiveArticle"]
            .clone();
    assert_eq!(archived["status"], "ARCHIVED");
    assert!(
        article_as(app, None, &id).await.is_null(),
        "archived: hidden from readers"
    );
    let by_slug = app
        .query(
            "{ article(slug: \"senate-votes-on-the-levy\") { id } }",
            json!({}),
        )
        .await;
    assert!(data(&by_slug)["article"].is_null());
    assert!(reader_list(app).await.is_empty());
    let found = app
        .query("{ search(query: \"levy\") { totalCount } }", json!({}))
        .await;
    assert_eq!(
        data(&found)["search"]["totalCount"],
        0,
        "archived: not found by readers"
    );
    assert_eq!(
        article_as(app, editor, &id).await["status"],
        "ARCHIVED",
        "the desk still sees it"
    );

    // An article without a body cannot be published.
    let empty = create(
        app,
        json!({ "headline": "Placeholder", "section": "domestic-policies", "body": "<p> </p>" }),
    )
    .await;
    let refused = mutate(app, &app.editor_token, "publishArticle", &id_of(&empty)).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    assert_eq!(
        article_as(app, editor, &id_of(&empty)).await["status"],
        "DRAFT"
    );
    let scheduled_empty = app
        .as_editor(
            "mutation($id: ID!, $at: DateTime) { publishArticle(id: $id, at: $at) { id } }",
            json!({ "id": id_of(&empty), "at": rfc3339(now() + TimeDelta::hours(1)) }),
        )
        .await;
    assert_eq!(
        error_code(&scheduled_empty),
        "BAD_USER_INPUT",
        "scheduling needs a body too"
    );

    let missing = encode_id(&format!("Article:{}", uuid::Uuid::now_v7()));
    for op in ["publishArticle", "unpublishArticle", "archiveArticle"] {
        let response = mutate(app, &app.editor_token, op, &missing).await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{op}: {response}");
    }
}

async fn the_scheduler_publishes_on_time(app: &TestApp) {
    let draft = create(app, input("Polls open at dawn", json!({}))).await;
    let id = id_of(&draft);
    // Seconds ahead, not milliseconds: on a loaded CI machine the next
    // request may well take longer than a short window.
    let at = now() + TimeDelta::seconds(3);
    assert_eq!(publish(app, &id, Some(at)).await["status"], "SCHEDULED");
    assert!(
        article_as(app, None, &id).await.is_null(),
        "not before its time"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let seen = loop {
        let article = article_as(app, None, &id).await;
        if !article.is_null() {
            break article;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduler did not publish within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(now() >= at, "published no earlier than scheduled");
    assert_eq!(seen["status"], "PUBLISHED");
    assert_eq!(
        time(&seen["publishedAt"]),
        at,
        "publishedAt is the scheduled time"
    );
    assert!(seen["scheduledAt"].is_null());
    assert_eq!(seen["version"], 3, "created, scheduled, published");
    assert_eq!(reader_list(app).await, [id]);
    // What was unscheduled (unpublished or archived) before its time stays so.
    let editor = Some(app.editor_token.as_str());
    for state in ["DRAFT", "ARCHIVED"] {
        let id = id_of(&create(app, input(&format!("Withdrawn {state}"), json!({}))).await);
        let at = now() + TimeDelta::seconds(3);
        publish(app, &id, Some(at)).await;
        let op = if state == "DRAFT" {
            "unpublishArticle"
        } else {
            "archiveArticle"
        };
        let withdrawn = data(&mutate(app, &app.editor_token, op, &id).await)[op].clone();
        assert_eq!(
            (withdrawn["status"].as_str(), &withdrawn["scheduledAt"]),
            (Some(state), &Value::Null)
        );
        // Past its time, and then some of the scheduler's 200 ms rounds.
        let past = (at - now() + TimeDelta::milliseconds(600))
            .to_std()
            .unwrap_or_default();
        tokio::time::sleep(past).await;
        let after = article_as(app, editor, &id).await;
        assert_eq!(
            (after["status"].as_str(), &after["publishedAt"]),
            (Some(state), &Value::Null),
            "{after}"
        );
    }
}

// ----- delete and node ----------------------------------------------------------

async fn deleting_takes_an_admin(app: &TestApp) {
    let article = create(
        app,
        input("Minister resigns", json!({ "tags": ["Cabinet"] })),
    )
    .await;
    let id = id_of(&article);
    publish(app, &id, None).await;
    let by_editor = app
        .as_editor(
            "mutation($id: ID!) { deleteArticle(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&by_editor), "FORBIDDEN", "{by_editor}");
    assert_eq!(
        by_editor["errors"][0]["extensions"]["requiredRole"],
        "ADMIN"
    );
    assert_eq!(
        article_as(app, None, &id).await["id"],
        id.as_str(),
        "still there"
    );

    let deleted = app
        .as_admin(
            "mutation($id: ID!) { deleteArticle(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&deleted)["deleteArticle"], id.as_str());
    assert!(
        article_as(app, Some(&app.admin_token), &id).await.is_null(),
        "gone for the desk too"
    );
    let node = app
        .as_admin(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert!(
        data(&node)["node"].is_null(),
        "a deleted article's id resolves to null"
    );
    assert!(reader_list(app).await.is_empty());
    let tag = app
        .query(
            "{ tag(slug: \"cabinet\") { articles { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&tag)["tag"]["articles"]["totalCount"], 0);
    let again = app
        .as_admin(
            "mutation($id: ID!) { deleteArticle(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&again), "NOT_FOUND", "{again}");
}

async fn node_finds_articles_by_global_id(app: &TestApp) {
    let mut ids = Vec::new();
    for headline in ["Summit opens", "Summit closes"] {
        let id = id_of(&create(app, input(headline, json!({}))).await);
        publish(app, &id, None).await;
        ids.push((id, headline));
    }
    let draft = id_of(&create(app, input("Summit leaks", json!({}))).await);
    let query =
        "query($id: ID!) { node(id: $id) { __typename id ... on Article { headline status } } }";
    for (id, headline) in &ids {
        let node = app.query(query, json!({ "id": id })).await;
        assert_eq!(
            data(&node)["node"],
            json!({ "__typename": "Article", "id": id, "headline": headline, "status": "PUBLISHED" })
        );
    }
    assert!(
        data(&app.query(query, json!({ "id": draft })).await)["node"].is_null(),
        "readers: drafts are null"
    );
    assert_eq!(
        data(&app.as_editor(query, json!({ "id": draft })).await)["node"]["status"],
        "DRAFT"
    );

    for bad in [
        "not-an-id",
        "",
        "QXJ0aWNsZQ",
        &encode_id("Article:not-a-uuid"),
        &encode_id(&format!("Planet:{}", uuid::Uuid::nil())),
    ] {
        let response = app.query(query, json!({ "id": bad })).await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{bad:?}: {response}"
        );
    }
    let unknown = app
        .query(
            query,
            json!({ "id": encode_id(&format!("Article:{}", uuid::Uuid::now_v7())) }),
        )
        .await;
    assert!(
        data(&unknown)["node"].is_null(),
        "well-formed but unknown: null"
    );
    let deleted = app
        .as_admin(
            "mutation($id: ID!) { deleteArticle(id: $id) }",
            json!({ "id": ids[0].0 }),
        )
        .await;
    data(&deleted);
    assert!(
        data(&app.query(query, json!({ "id": ids[0].0 })).await)["node"].is_null(),
        "deleted: null"
    );
}

both_backends! {
    publishing_moves_an_article_through_its_states => publish_lifecycle;
    deleting_an_article_takes_an_admin => deleting_takes_an_admin;
    node_finds_articles_by_global_id => node_finds_articles_by_global_id;
    the_scheduler_publishes_a_scheduled_article_on_time => the_scheduler_publishes_on_time,
        Options { scheduler_interval: Duration::from_millis(200), ..Default::default() };
}
