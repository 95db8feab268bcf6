//! Breaking-news alerts: issuing (linked to a published article, to a URL,
//! or to nothing), expiry rules, the active list, retraction. And the one
//! admin-only write, deleting an article, with what it leaves of an alert.

use std::time::Duration;

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

const ISSUE: &str = "mutation($input: IssueBreakingNewsInput!) { issueBreakingNews(input: $input) {
    id headline priority url issuedAt expiresAt retractedAt active article { slug } } }";
const RETRACT: &str =
    "mutation($id: ID!) { retractBreakingNews(id: $id) { id active retractedAt } }";
const ACTIVE: &str = "{ breakingNews { id headline priority url active article { slug } } }";
/// base64url("BreakingNews:01930000-0000-7000-8000-000000000000"): well formed, never issued.
const UNKNOWN_ALERT: &str = "QnJlYWtpbmdOZXdzOjAxOTMwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMA";

/// Creates an article in `domestic-policies`; publishes it when asked.
/// Returns its id.
async fn article(app: &TestApp, slug: &str, publish: bool) -> Value {
    let created = app
        .as_editor(
            "mutation($input: CreateArticleInput!) { createArticle(input: $input) { id } }",
            json!({ "input": { "headline": format!("Story {slug}"), "slug": slug, "section": "domestic-policies", "body": "<p>Text.</p>" } }),
        )
        .await;
    let id = data(&created)["createArticle"]["id"].clone();
    if publish {
        let published = app
            .as_editor(
                "mutation($id: ID!) { publishArticle(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data(&published)["publishArticle"]["status"], "PUBLISHED");
    }
    id
}

async fn issue(app: &TestApp, input: Value) -> Value {
    let response = app.as_editor(ISSUE, json!({ "input": input })).await;
    data(&response)["issueBreakingNews"].clone()
}

async fn active_ids(app: &TestApp) -> Vec<Value> {
    let response = app.query(ACTIVE, json!({})).await;
    data(&response)["breakingNews"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|a| a["id"].clone())
        .collect()
}

fn in_hours(hours: i64) -> String {
    let now = std::time::SystemTime::now();
    let span = Duration::from_secs(hours.unsigned_abs() * 3600);
    rfc3339(if hours < 0 { now - span } else { now + span })
}

/// RFC 3339 in UTC from a system time (no date library in this crate).
fn rfc3339(at: std::time::SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let days = i64::try_from(secs / 86_400).expect("a sane date");
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

async fn alerts_are_issued_listed_and_retracted(app: &TestApp) {
    let story = article(app, "minister-resigns", true).await;
    let linked = issue(
        app,
        json!({ "headline": "Interior minister resigns", "article": story, "priority": "URGENT", "expiresAt": in_hours(6) }),
    )
    .await;
    assert_eq!(linked["priority"], "URGENT");
    assert_eq!(linked["article"]["slug"], "minister-resigns");
    assert_eq!(
        linked["url"], "/domestic-policies/minister-resigns",
        "the banner links to the article's path"
    );
    assert_eq!(linked["active"], true);
    assert!(linked["issuedAt"].is_string());
    assert!(linked["expiresAt"].is_string());
    assert_eq!(linked["retractedAt"], Value::Null);

    let external = issue(
        app,
        json!({ "headline": "Storm warning for Bohemia", "url": "https://www.chmi.cz/warnings" }),
    )
    .await;
    assert_eq!(external["priority"], "NORMAL", "the default priority");
    assert_eq!(external["url"], "https://www.chmi.cz/warnings");
    assert_eq!(external["article"], Value::Null);
    assert_eq!(external["expiresAt"], Value::Null);

    let bare = issue(
        app,
        json!({ "headline": "Polls close at 14:00", "priority": "HIGH" }),
    )
    .await;
    assert_eq!(bare["url"], Value::Null);
    assert_eq!(bare["article"], Value::Null);

    // Readers see the active alerts, newest first.
    let response = app.query(ACTIVE, json!({})).await;
    let list = data(&response)["breakingNews"]
        .as_array()
        .expect("a list")
        .clone();
    let headlines: Vec<&str> = list
        .iter()
        .map(|a| a["headline"].as_str().expect("headline"))
        .collect();
    assert_eq!(
        headlines,
        [
            "Polls close at 14:00",
            "Storm warning for Bohemia",
            "Interior minister resigns"
        ]
    );
    assert_eq!(list[2]["article"]["slug"], "minister-resigns");
    assert!(list.iter().all(|a| a["active"] == true));

    let retracted = app
        .as_editor(RETRACT, json!({ "id": external["id"] }))
        .await;
    let retracted = &data(&retracted)["retractBreakingNews"];
    assert_eq!(retracted["active"], false);
    let retracted_at = retracted["retractedAt"]
        .as_str()
        .expect("retractedAt")
        .to_owned();
    assert_eq!(
        active_ids(app).await,
        [bare["id"].clone(), linked["id"].clone()]
    );

    // Retracting again changes nothing; the alert stays findable by id.
    let again = app
        .as_editor(RETRACT, json!({ "id": external["id"] }))
        .await;
    assert_eq!(
        data(&again)["retractBreakingNews"]["retractedAt"],
        retracted_at.as_str()
    );
    let node = app
        .query("query($id: ID!) { node(id: $id) { __typename ... on BreakingNews { active retractedAt } } }", json!({ "id": external["id"] }))
        .await;
    assert_eq!(data(&node)["node"]["__typename"], "BreakingNews");
    assert_eq!(data(&node)["node"]["active"], false);

    // Unpublishing the linked article hides the link from readers (there
    // is nothing to read behind it), not from the desk.
    let unpublished = app
        .as_editor(
            "mutation($id: ID!) { unpublishArticle(id: $id) { status } }",
            json!({ "id": story }),
        )
        .await;
    assert_eq!(data(&unpublished)["unpublishArticle"]["status"], "DRAFT");
    let reader = app.query(ACTIVE, json!({})).await;
    let reader_alert = &data(&reader)["breakingNews"][1];
    assert_eq!(reader_alert["id"], linked["id"]);
    assert_eq!(reader_alert["article"], Value::Null);
    assert_eq!(reader_alert["url"], Value::Null);
    let desk = app.as_editor(ACTIVE, json!({})).await;
    assert_eq!(
        data(&desk)["breakingNews"][1]["article"]["slug"],
        "minister-resigns"
    );

    let unknown = app.as_editor(RETRACT, json!({ "id": UNKNOWN_ALERT })).await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let wrong_kind = app.as_editor(RETRACT, json!({ "id": story })).await;
    assert_eq!(error_code(&wrong_kind), "BAD_USER_INPUT");
    let anonymous = app.query(RETRACT, json!({ "id": bare["id"] })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    assert_eq!(
        active_ids(app).await.len(),
        2,
        "the anonymous retraction did nothing"
    );
}

async fn bad_alerts_are_refused_and_change_nothing(app: &TestApp) {
    let published = article(app, "published-story", true).await;
    let draft = article(app, "draft-story", false).await;
    let archived = article(app, "archived-story", true).await;
    let archive = app
        .as_editor(
            "mutation($id: ID!) { archiveArticle(id: $id) { status } }",
            json!({ "id": archived }),
        )
        .await;
    assert_eq!(data(&archive)["archiveArticle"]["status"], "ARCHIVED");

    for (input, why) in [
        (
            json!({ "headline": "Both", "article": published, "url": "https://example.com/" }),
            "article and url",
        ),
        (json!({ "headline": "Draft", "article": draft }), "a draft"),
        (
            json!({ "headline": "Archived", "article": archived }),
            "an archived article",
        ),
        (
            json!({ "headline": "Unknown", "article": "QXJ0aWNsZTowMTkzMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA" }),
            "an unknown article",
        ),
        (
            json!({ "headline": "Not an article", "article": UNKNOWN_ALERT }),
            "an alert's id as article",
        ),
        (
            json!({ "headline": "Script", "url": "javascript:alert(document.cookie)" }),
            "a javascript: url",
        ),
        (
            json!({ "headline": "Data", "url": "data:text/html,<script>alert(1)</script>" }),
            "a data: url",
        ),
        (
            json!({ "headline": "Relative", "url": "/domestic-policies/published-story" }),
            "a relative url",
        ),
        (
            json!({ "headline": "Past", "expiresAt": in_hours(-1) }),
            "expiry in the past",
        ),
        (
            json!({ "headline": "Too long", "expiresAt": in_hours(7 * 24 + 1) }),
            "expiry beyond 7 days",
        ),
        (
            json!({ "headline": "Not a date", "expiresAt": "tomorrow" }),
            "a malformed expiry",
        ),
        (json!({ "headline": "   " }), "a blank headline"),
        (
            json!({ "headline": "Line\nbreak" }),
            "a headline on two lines",
        ),
        (
            json!({ "headline": "Loud", "priority": "EXTREME" }),
            "an unknown priority",
        ),
    ] {
        let response = app.as_editor(ISSUE, json!({ "input": input })).await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{why}: {response:#}"
        );
    }
    let anonymous = app
        .query(ISSUE, json!({ "input": { "headline": "Anonymous alert" } }))
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let bad_token = app
        .graphql_with(
            Some("pm_not-a-real-token"),
            ISSUE,
            json!({ "input": { "headline": "Forged" } }),
        )
        .await;
    assert_eq!(error_code(&bad_token), "UNAUTHENTICATED");
    assert!(
        active_ids(app).await.is_empty(),
        "no refused alert was stored"
    );

    // Just inside the limits is fine.
    let week = issue(app, json!({ "headline": "Almost a week", "article": published, "expiresAt": in_hours(7 * 24 - 1) })).await;
    assert_eq!(week["active"], true);
    assert_eq!(active_ids(app).await, [week["id"].clone()]);
}

async fn alerts_expire_by_themselves(app: &TestApp) {
    let expiry = std::time::SystemTime::now() + Duration::from_secs(5);
    let soon = rfc3339(expiry);
    let short = issue(app, json!({ "headline": "Brief alert", "expiresAt": soon })).await;
    let lasting = issue(app, json!({ "headline": "Lasting alert" })).await;
    assert_eq!(
        active_ids(app).await,
        [lasting["id"].clone(), short["id"].clone()]
    );
    let past = expiry
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(past + Duration::from_millis(500)).await;
    assert_eq!(
        active_ids(app).await,
        [lasting["id"].clone()],
        "the expired alert came down"
    );
    let node = app
        .query(
            "query($id: ID!) { node(id: $id) { ... on BreakingNews { active retractedAt } } }",
            json!({ "id": short["id"] }),
        )
        .await;
    assert_eq!(data(&node)["node"]["active"], false);
    assert_eq!(data(&node)["node"]["retractedAt"], Value::Null);
}

async fn only_admins_delete_articles(app: &TestApp) {
    let story = article(app, "to-be-deleted", true).await;
    let alert = issue(app, json!({ "headline": "Linked alert", "article": story })).await;
    let delete = "mutation($id: ID!) { deleteArticle(id: $id) }";

    let by_editor = app.as_editor(delete, json!({ "id": story })).await;
    assert_eq!(error_code(&by_editor), "FORBIDDEN");
    assert_eq!(
        by_editor["errors"][0]["extensions"]["requiredRole"],
        "ADMIN"
    );
    let anonymous = app.query(delete, json!({ "id": story })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let still = app
        .query("{ article(slug: \"to-be-deleted\") { id } }", json!({}))
        .await;
    assert_eq!(
        data(&still)["article"]["id"],
        story,
        "the refused deletes changed nothing"
    );

    let by_admin = app.as_admin(delete, json!({ "id": story })).await;
    assert_eq!(data(&by_admin)["deleteArticle"], story);
    let gone = app
        .query("{ article(slug: \"to-be-deleted\") { id } }", json!({}))
        .await;
    assert_eq!(data(&gone)["article"], Value::Null);
    let again = app.as_admin(delete, json!({ "id": story })).await;
    assert_eq!(error_code(&again), "NOT_FOUND");

    // The alert keeps its text but loses its link.
    let response = app.query(ACTIVE, json!({})).await;
    let list = &data(&response)["breakingNews"];
    assert_eq!(list[0]["id"], alert["id"]);
    assert_eq!(list[0]["article"], Value::Null);
    assert_eq!(list[0]["url"], Value::Null);
}

both_backends! {
    alerts_issued_listed_retracted => alerts_are_issued_listed_and_retracted;
    bad_alerts_refused => bad_alerts_are_refused_and_change_nothing;
    alerts_expire => alerts_expire_by_themselves;
    only_admins_delete_articles => only_admins_delete_articles;
}
