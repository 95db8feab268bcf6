//! Helpers shared by the article suites of this binary: creating authors
//! and articles through the API, publishing, reading back, forging ids and
//! handling times.

use e2e::{TestApp, data};
pub(crate) use sea_orm::sea_query::value::prelude::chrono::{
    DateTime, SecondsFormat, TimeDelta, Utc,
};
use serde_json::{Value, json};

pub(crate) const ARTICLE: &str = "id slug headline status version publishedAt scheduledAt";

pub(crate) fn now() -> DateTime<Utc> {
    domain::clock::now()
}

/// RFC 3339 with microseconds, the precision both databases keep.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a DateTime, got {value}"))
        .parse()
        .unwrap_or_else(|e| panic!("{value} is not RFC 3339: {e}"))
}

pub(crate) fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_owned()
}

/// A valid, publishable draft input; override fields with `extra`.
pub(crate) fn input(headline: &str, extra: Value) -> Value {
    let mut input = json!({
        "headline": headline,
        "body": format!("<p>{headline}: the full report.</p>"),
        "section": "international-relations",
    });
    input
        .as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
    input
}

/// Creates a draft as the editor and returns it (`ARTICLE` fields).
pub(crate) async fn create(app: &TestApp, input: Value) -> Value {
    let query =
        format!("mutation($i: CreateArticleInput!) {{ createArticle(input: $i) {{ {ARTICLE} }} }}");
    data(&app.as_editor(&query, json!({ "i": input })).await)["createArticle"].clone()
}

/// Publishes now (`at` None) or at `at`, as the editor.
pub(crate) async fn publish(app: &TestApp, id: &str, at: Option<DateTime<Utc>>) -> Value {
    let query = format!(
        "mutation($id: ID!, $at: DateTime) {{ publishArticle(id: $id, at: $at) {{ {ARTICLE} }} }}"
    );
    let at = at.map(rfc3339);
    data(&app.as_editor(&query, json!({ "id": id, "at": at })).await)["publishArticle"].clone()
}

/// Creates an author as the editor and returns `{ id slug name }`.
pub(crate) async fn create_author(app: &TestApp, name: &str) -> Value {
    let response = app
        .as_editor(
            "mutation($i: CreateAuthorInput!) { createAuthor(input: $i) { id slug name } }",
            json!({ "i": { "name": name, "title": "Senior analyst" } }),
        )
        .await;
    data(&response)["createAuthor"].clone()
}

/// `article(id:)` as the reader (`token` None) or a token holder.
pub(crate) async fn article_as(app: &TestApp, token: Option<&str>, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ article(id: $id) {{ {ARTICLE} }} }}");
    data(&app.graphql_with(token, &query, json!({ "id": id })).await)["article"].clone()
}

pub(crate) async fn mutate(app: &TestApp, token: &str, op: &str, id: &str) -> Value {
    let query = format!("mutation($id: ID!) {{ {op}(id: $id) {{ {ARTICLE} }} }}");
    app.graphql_with(Some(token), &query, json!({ "id": id }))
        .await
}

/// Relay ids are unpadded base64url of `Type:uuid`; tests forge some.
pub(crate) fn encode_id(raw: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = raw.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The ids readers see in the default list.
pub(crate) async fn reader_list(app: &TestApp) -> Vec<String> {
    let list = app
        .query(
            "{ articles(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    data(&list)["articles"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| id_of(&e["node"]))
        .collect()
}
