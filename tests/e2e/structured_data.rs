//! Structured data for search engines: `Article.jsonLd` (schema.org
//! `NewsArticle` and its kinds) and `LiveBlog.jsonLd` (`LiveBlogPosting`),
//! as JSON text that can go inside a `<script>` element as it is.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

use crate::article_support::{create, create_author, id_of, input, publish};
use crate::delivery_support::live_blog;

/// The JSON-LD text as served, checked safe to embed, and parsed.
fn parsed(text: &Value) -> Value {
    let text = text.as_str().expect("JSON-LD is text");
    assert!(
        !text.contains('<') && !text.contains('>'),
        "could close its <script>: {text}"
    );
    serde_json::from_str(text).expect("valid JSON")
}

async fn articles_describe_themselves_as_news_articles(app: &TestApp) {
    let author = create_author(app, "Maria Keller").await;
    let draft = create(
        app,
        input(
            "Treaty signed </script><script>alert(1)</script>",
            json!({
                "standfirst": "Leaders agree on mutual defence.",
                "kind": "ANALYSIS",
                "authors": [author["id"]],
                "tags": ["Russia", "North Korea"],
                "hero": { "url": "https://images.example/treaty.jpg", "width": 1200, "height": 800,
                          "caption": "The signing", "credit": "Pool", "alt": "Two leaders sign" },
                "source": { "name": "The Independent", "url": "https://www.independent.co.uk/treaty" },
            }),
        ),
    )
    .await;
    let id = id_of(&draft);
    publish(app, &id, None).await;
    let response = app
        .query(
            "query($id: ID!) { article(id: $id) { url publishedAt jsonLd } }",
            json!({ "id": id }),
        )
        .await;
    let article = &data(&response)["article"];
    let ld = parsed(&article["jsonLd"]);
    assert_eq!(ld["@context"], "https://schema.org");
    assert_eq!(ld["@type"], "AnalysisNewsArticle");
    assert_eq!(
        ld["headline"],
        "Treaty signed </script><script>alert(1)</script>"
    );
    assert_eq!(ld["description"], "Leaders agree on mutual defence.");
    let url = format!(
        "http://news.test{}",
        article["url"].as_str().expect("a path")
    );
    assert_eq!(ld["url"], url);
    assert_eq!(ld["mainEntityOfPage"]["@id"], url);
    assert!(
        ld["datePublished"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z'))
    );
    assert_eq!(ld["author"][0]["@type"], "Person");
    assert_eq!(ld["author"][0]["name"], "Maria Keller");
    assert_eq!(ld["author"][0]["jobTitle"], "Senior analyst");
    assert_eq!(ld["publisher"]["@type"], "NewsMediaOrganization");
    assert_eq!(ld["publisher"]["url"], "http://news.test");
    assert_eq!(ld["image"][0]["url"], "https://images.example/treaty.jpg");
    assert_eq!(ld["image"][0]["width"], 1200);
    assert_eq!(ld["articleSection"], "International Relations");
    assert_eq!(ld["keywords"], json!(["Russia", "North Korea"]));
    assert_eq!(ld["isBasedOn"], "https://www.independent.co.uk/treaty");
    assert_eq!(ld["sourceOrganization"]["name"], "The Independent");
    assert!(ld["wordCount"].as_u64().is_some_and(|n| n > 0));

    // An article of our own, not yet published: no publication date, no
    // source.
    let draft = create(app, input("Cabinet meets", json!({}))).await;
    let response = app
        .as_editor(
            "query($id: ID!) { article(id: $id) { jsonLd } }",
            json!({ "id": id_of(&draft) }),
        )
        .await;
    let ld = parsed(&data(&response)["article"]["jsonLd"]);
    assert_eq!(ld["@type"], "NewsArticle");
    assert!(
        ld.get("datePublished").is_none() && ld.get("isBasedOn").is_none(),
        "{ld}"
    );
}

async fn live_blogs_describe_themselves_as_live_blog_postings(app: &TestApp) {
    let author = create_author(app, "Jan Novak").await;
    let blog = live_blog(app, "Budget vote").await;
    for (i, body) in ["Debate opens.", "Amendments fall.", "The vote passes."]
        .iter()
        .enumerate()
    {
        let author = (i == 2).then(|| author["id"].clone());
        let posted = app
            .as_editor(
                "mutation($i: PostLiveEntryInput!) { postLiveEntry(input: $i) { id } }",
                json!({ "i": { "liveBlog": blog, "body": format!("<p>{body}</p>"), "author": author } }),
            )
            .await;
        data(&posted);
    }
    let response = app
        .query(
            "query($id: ID!) { liveBlog(id: $id) { url startedAt jsonLd(updates: 2) } }",
            json!({ "id": blog }),
        )
        .await;
    let found = &data(&response)["liveBlog"];
    let ld = parsed(&found["jsonLd"]);
    assert_eq!(ld["@type"], "LiveBlogPosting");
    assert_eq!(ld["headline"], "Budget vote");
    assert_eq!(
        ld["url"],
        format!("http://news.test{}", found["url"].as_str().expect("a path"))
    );
    assert!(ld["coverageStartTime"].is_string(), "{ld}");
    assert!(ld.get("coverageEndTime").is_none(), "still live: {ld}");
    let updates = ld["liveBlogUpdate"].as_array().expect("updates");
    assert_eq!(updates.len(), 2, "as many as asked for");
    assert_eq!(updates[0]["@type"], "BlogPosting");
    assert_eq!(
        updates[0]["articleBody"], "The vote passes.",
        "newest first"
    );
    assert_eq!(updates[0]["headline"], "The vote passes.");
    assert_eq!(updates[0]["author"]["name"], "Jan Novak");
    assert_eq!(updates[1]["articleBody"], "Amendments fall.");
    assert!(updates[1].get("author").is_none());

    let ended = app
        .as_editor(
            "mutation($id: ID!) { setLiveBlogStatus(id: $id, status: ENDED) { status } }",
            json!({ "id": blog }),
        )
        .await;
    data(&ended);
    let response = app
        .query(
            "query($id: ID!) { liveBlog(id: $id) { jsonLd } }",
            json!({ "id": blog }),
        )
        .await;
    let ld = parsed(&data(&response)["liveBlog"]["jsonLd"]);
    assert!(ld["coverageEndTime"].is_string(), "{ld}");
    assert_eq!(ld["liveBlogUpdate"].as_array().map(Vec::len), Some(3));

    let too_many = app
        .query(
            "query($id: ID!) { liveBlog(id: $id) { jsonLd(updates: 51) } }",
            json!({ "id": blog }),
        )
        .await;
    assert_eq!(error_code(&too_many), "BAD_USER_INPUT", "{too_many}");
}

both_backends! {
    article_json_ld => articles_describe_themselves_as_news_articles;
    live_blog_json_ld => live_blogs_describe_themselves_as_live_blog_postings;
}
