//! Article lists: Relay paging forward and backward, every ordering, the
//! desk's view with drafts, and publication times that differ below the
//! second. The fixture here is shared with `filters`.

use e2e::{TestApp, both_backends, data};
use serde_json::{Value, json};

use crate::article_support::{
    DateTime, TimeDelta, Utc, create, create_author, id_of, input, now, publish, rfc3339, time,
};

pub(crate) const SECTIONS: [&str; 2] = ["international-relations", "domestic-policies"];

/// One published article of the fixture and what it was made with.
pub(crate) struct Item {
    pub(crate) id: String,
    pub(crate) section: &'static str,
    pub(crate) tags: Vec<&'static str>,
    pub(crate) author: usize,
    pub(crate) analysis: bool,
    pub(crate) breaking: bool,
    pub(crate) published_at: DateTime<Utc>,
}

pub(crate) struct Fixture {
    /// Newest published first (the default order).
    pub(crate) items: Vec<Item>,
    pub(crate) authors: Vec<Value>,
    pub(crate) draft: String,
}

impl Fixture {
    pub(crate) fn ids(&self, keep: impl Fn(&Item) -> bool) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| keep(i))
            .map(|i| i.id.clone())
            .collect()
    }
}

/// 25 articles published an hour apart (the newest an hour ago) across two
/// sections, two tags and two authors, and one draft.
pub(crate) async fn fixture(app: &TestApp) -> Fixture {
    let authors = vec![
        create_author(app, "Alena Dvořák").await,
        create_author(app, "Boris Kral").await,
    ];
    let base = now();
    let mut items = Vec::new();
    for i in 0..25_usize {
        let tags = match i % 3 {
            0 => vec!["alpha", "beta"],
            1 => vec!["alpha"],
            _ => vec!["beta"],
        };
        let item = Item {
            id: String::new(),
            section: SECTIONS[i % 2],
            tags,
            author: usize::from(i % 4 >= 2),
            analysis: i % 5 == 0,
            breaking: i % 7 == 0,
            published_at: base - TimeDelta::hours(i64::try_from(i).expect("small") + 1),
        };
        let names: Vec<_> = item
            .tags
            .iter()
            .map(|t| if *t == "alpha" { "Alpha" } else { "Beta" })
            .collect();
        let created = create(
            app,
            input(
                &format!("Story number {i}"),
                json!({ "section": item.section, "tags": names, "authors": [authors[item.author]["id"]],
                        "kind": if item.analysis { "ANALYSIS" } else { "NEWS" }, "breaking": item.breaking }),
            ),
        )
        .await;
        let id = id_of(&created);
        let published = publish(app, &id, Some(item.published_at)).await;
        assert_eq!(
            published["status"], "PUBLISHED",
            "a past `at` backdates: {published}"
        );
        items.push(Item { id, ..item });
    }
    let draft = id_of(&create(app, input("Unfinished draft", json!({ "tags": ["Alpha"] }))).await);
    Fixture {
        items,
        authors,
        draft,
    }
}

const PAGE: &str = "totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }";

/// `articles` with `size` ("first: 10") and the variables `after`, `before`,
/// `filter` and `orderBy` (each may be absent).
pub(crate) async fn page(app: &TestApp, token: Option<&str>, size: &str, vars: Value) -> Value {
    let query = format!(
        "query($after: String, $before: String, $filter: ArticleFilter, $orderBy: ArticleOrder) {{
            articles({size}, after: $after, before: $before, filter: $filter, orderBy: $orderBy) {{ {PAGE} }} }}"
    );
    data(&app.graphql_with(token, &query, vars).await)["articles"].clone()
}

pub(crate) fn ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| id_of(&e["node"]))
        .collect()
}

async fn all(app: &TestApp, vars: Value) -> Vec<String> {
    ids(&page(app, None, "first: 100", vars).await)
}

async fn paging_forward_and_backward(app: &TestApp) {
    let f = fixture(app).await;
    let expected = f.ids(|_| true);

    let mut seen = Vec::new();
    let mut after = Value::Null;
    for (n, (size, more)) in [(10, true), (10, true), (5, false)].into_iter().enumerate() {
        let p = page(app, None, "first: 10", json!({ "after": after })).await;
        assert_eq!(p["totalCount"], 25, "totalCount counts the whole list");
        assert_eq!(
            p["edges"].as_array().expect("edges").len(),
            size,
            "page {n}"
        );
        assert_eq!(p["pageInfo"]["hasNextPage"], more, "page {n}");
        assert_eq!(p["pageInfo"]["hasPreviousPage"], n > 0, "page {n}");
        assert_eq!(p["pageInfo"]["startCursor"], p["edges"][0]["cursor"]);
        assert_eq!(p["pageInfo"]["endCursor"], p["edges"][size - 1]["cursor"]);
        seen.extend(ids(&p));
        after = p["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        seen, expected,
        "forward pages: newest first, no gap, no duplicate"
    );
    let past_end = page(app, None, "first: 10", json!({ "after": after })).await;
    assert_eq!(past_end["edges"], json!([]));
    assert_eq!(past_end["pageInfo"]["hasNextPage"], false);

    let mut pages = Vec::new();
    let mut before = Value::Null;
    for (n, (size, more)) in [(10, true), (10, true), (5, false)].into_iter().enumerate() {
        let p = page(app, None, "last: 10", json!({ "before": before })).await;
        assert_eq!(
            p["edges"].as_array().expect("edges").len(),
            size,
            "backward page {n}"
        );
        assert_eq!(p["pageInfo"]["hasPreviousPage"], more, "backward page {n}");
        assert_eq!(p["pageInfo"]["hasNextPage"], n > 0, "backward page {n}");
        before = p["pageInfo"]["startCursor"].clone();
        pages.push(ids(&p));
    }
    let backward: Vec<String> = pages.into_iter().rev().flatten().collect();
    assert_eq!(
        backward, expected,
        "backward pages keep list order and meet up exactly"
    );

    // A window between two cursors.
    let cursors = page(app, None, "first: 25", json!({})).await;
    let window = page(
        app,
        None,
        "first: 100",
        json!({ "after": cursors["edges"][3]["cursor"], "before": cursors["edges"][8]["cursor"] }),
    )
    .await;
    assert_eq!(ids(&window), expected[4..8]);

    // Orderings.
    let asc = json!({ "orderBy": { "field": "PUBLISHED_AT", "direction": "ASC" } });
    let oldest_first: Vec<String> = expected.iter().rev().cloned().collect();
    assert_eq!(all(app, asc.clone()).await, oldest_first);
    let first_asc = page(app, None, "first: 10", asc.clone()).await;
    let rest_asc = page(
        app,
        None,
        "first: 20",
        json!({ "after": first_asc["pageInfo"]["endCursor"], "orderBy": asc["orderBy"] }),
    )
    .await;
    assert_eq!(
        [ids(&first_asc), ids(&rest_asc)].concat(),
        oldest_first,
        "paging ascending"
    );
    // Created (and published, hence updated) in fixture order: 0 first.
    let created =
        |direction| json!({ "orderBy": { "field": "CREATED_AT", "direction": direction } });
    assert_eq!(all(app, created("ASC")).await, expected);
    assert_eq!(all(app, created("DESC")).await, oldest_first);
    let updated = json!({ "orderBy": { "field": "UPDATED_AT" } });
    assert_eq!(
        all(app, updated.clone()).await,
        oldest_first,
        "the default direction is DESC"
    );
    let touched = app
        .as_editor("mutation($id: ID!) { updateArticle(input: {id: $id, expectedVersion: 2, standfirst: \"Now with a summary.\"}) { version } }",
            json!({ "id": expected[10] }))
        .await;
    assert_eq!(data(&touched)["updateArticle"]["version"], 3);
    assert_eq!(
        all(app, updated).await[0],
        expected[10],
        "the last updated comes first"
    );
    assert_eq!(
        all(app, json!({})).await,
        expected,
        "an edit does not move it in the published order"
    );

    // The desk's published order puts the draft where it was written
    // (now, so first), and pages through everything.
    let mut desk = Vec::new();
    let mut after = Value::Null;
    loop {
        let p = page(
            app,
            Some(&app.editor_token),
            "first: 7",
            json!({ "after": after }),
        )
        .await;
        desk.extend(ids(&p));
        if p["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(desk, [vec![f.draft.clone()], expected.clone()].concat());
    let desk_back = page(app, Some(&app.editor_token), "last: 3", json!({})).await;
    assert_eq!(ids(&desk_back), expected[22..]);

    // Relay's mixed forms: `last` after a cursor, `first` before one.
    let last_after = page(
        app,
        None,
        "last: 2",
        json!({ "after": cursors["edges"][3]["cursor"] }),
    )
    .await;
    assert_eq!(ids(&last_after), expected[23..]);
    let first_before = page(
        app,
        None,
        "first: 2",
        json!({ "before": cursors["edges"][10]["cursor"] }),
    )
    .await;
    assert_eq!(ids(&first_before), expected[..2]);
    assert_eq!(first_before["pageInfo"]["hasNextPage"], true);

    // The draft: readers never, the desk when it asks.
    assert!(!all(app, json!({})).await.contains(&f.draft));
    let drafts = page(
        app,
        Some(&app.editor_token),
        "first: 100",
        json!({ "filter": { "status": "DRAFT" } }),
    )
    .await;
    assert_eq!(
        (ids(&drafts), drafts["totalCount"].as_i64()),
        (vec![f.draft.clone()], Some(1))
    );
    let reader_drafts = page(
        app,
        None,
        "first: 100",
        json!({ "filter": { "status": "DRAFT" } }),
    )
    .await;
    assert_eq!(
        (
            reader_drafts["edges"].clone(),
            reader_drafts["totalCount"].as_i64()
        ),
        (json!([]), Some(0))
    );
}

/// Publication times that differ below the second, at every precision a
/// client may send, sort, page and filter exactly.
async fn sub_second_times(app: &TestApp) {
    let day_ago = now() - TimeDelta::days(1);
    let t0 = DateTime::<Utc>::from_timestamp(day_ago.timestamp(), 0).expect("a time");
    let offsets_us = [
        0_i64, 1, 100_000, 100_001, 500_000, 999_999, 1_000_000, 1_000_500,
    ];
    let mut items = Vec::new();
    for (n, us) in offsets_us.iter().enumerate() {
        let id = id_of(&create(app, input(&format!("Precise {n}"), json!({}))).await);
        let at = t0 + TimeDelta::microseconds(*us);
        let published = publish(app, &id, Some(at)).await;
        assert_eq!(time(&published["publishedAt"]), at);
        items.push((id, at));
    }
    // Nanoseconds are cut to the microseconds both databases keep, and
    // what publishArticle answers is what is stored.
    let id = id_of(&create(app, input("Precise nanos", json!({}))).await);
    let nanos = app
        .as_editor("mutation($id: ID!) { publishArticle(id: $id, at: \"2020-05-05T10:00:00.123456789Z\") { publishedAt } }", json!({ "id": id }))
        .await;
    let answered = time(&data(&nanos)["publishArticle"]["publishedAt"]);
    assert_eq!(rfc3339(answered), "2020-05-05T10:00:00.123456Z");
    let read = app
        .query(
            "query($id: ID!) { article(id: $id) { publishedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(time(&data(&read)["article"]["publishedAt"]), answered);

    let newest_first: Vec<String> = items.iter().rev().map(|(id, _)| id.clone()).collect();
    for (direction, expected) in [
        ("DESC", newest_first.clone()),
        ("ASC", newest_first.iter().rev().cloned().collect()),
    ] {
        let order = json!({ "field": "PUBLISHED_AT", "direction": direction });
        let mut seen = Vec::new();
        let mut after = Value::Null;
        let filter = json!({ "publishedAfter": rfc3339(t0 - TimeDelta::seconds(1)) });
        for _ in 0..items.len() {
            let p = page(
                app,
                None,
                "first: 1",
                json!({ "after": after, "orderBy": order, "filter": filter }),
            )
            .await;
            seen.extend(ids(&p));
            after = p["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen, expected, "{direction}, one at a time");
    }
    for (n, (_, at)) in items.iter().enumerate() {
        let from = page(app, None, "first: 100", json!({ "filter": { "publishedAfter": rfc3339(*at), "publishedBefore": rfc3339(t0 + TimeDelta::seconds(2)) } })).await;
        assert_eq!(
            ids(&from),
            newest_first[..items.len() - n],
            "publishedAfter {at} is inclusive"
        );
        let until = page(app, None, "first: 100", json!({ "filter": { "publishedBefore": rfc3339(*at), "publishedAfter": rfc3339(t0 - TimeDelta::seconds(1)) } })).await;
        assert_eq!(
            ids(&until),
            newest_first[items.len() - n..],
            "publishedBefore {at} is exclusive"
        );
    }
}

both_backends! {
    articles_page_forward_and_backward_in_every_order => paging_forward_and_backward;
    sub_second_publication_times_sort_page_and_filter_exactly => sub_second_times;
}
