//! Feeds in: the fixture feeds (`tests/fixtures/feeds`) imported through
//! the importer `import-feed` and `serve` use, and feeds served over HTTP
//! that two nodes poll. Every story lands once, credits its publisher, and
//! goes where the rules send it; what cannot be imported is reported item
//! by item and stops nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::{Backend, Options, TestApp, both_backends, data, spawn_app};
use serde_json::{Value, json};
use syndication::{FeedReport, FeedsConfig, ItemOutcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/feeds")
}

fn fixture(name: &str) -> String {
    syndication::config::resolve_source(name, &fixtures())
}

/// Imports the broken, world and politics fixtures with the fixture rules,
/// publishing, as `politmaster import-feed --config feeds.toml --publish`
/// does.
async fn import_fixtures(app: &TestApp) -> Vec<FeedReport> {
    let config = FeedsConfig::read(&fixtures().join("feeds.toml")).expect("the feeds file");
    let newsroom = app.command_line().await;
    let importer = politmaster::feeds::importer(&newsroom, &config, true, "http://news.test")
        .await
        .expect("the rules name existing sections");
    let mut reports = Vec::new();
    for name in ["broken.xml", "world.rss", "politics.atom"] {
        reports.push(importer.import(&fixture(name)).await);
    }
    reports
}

const ARTICLE: &str = "query($slug: String!) { article(slug: $slug) {
    headline standfirst body status publishedAt section { slug } jsonLd
    authors { name title } tags { name }
    hero { url caption credit alt }
    source { name url readMore }
} }";

async fn article(app: &TestApp, slug: &str) -> Value {
    let response = app.as_editor(ARTICLE, json!({ "slug": slug })).await;
    let article = data(&response)["article"].clone();
    assert!(!article.is_null(), "no article {slug}");
    article
}

/// Articles the desk sees, drafts included (the desk is never served
/// from the response cache, so counts are current).
async fn article_count(app: &TestApp) -> i64 {
    let response = app
        .as_editor("{ articles(first: 1) { totalCount } }", json!({}))
        .await;
    data(&response)["articles"]["totalCount"]
        .as_i64()
        .expect("a count")
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item["name"].as_str().expect("a name"))
        .collect()
}

fn failure(report: &FeedReport, position: usize) -> &str {
    match &report.items[position - 1].outcome {
        ItemOutcome::Failed(why) => why,
        other => panic!("item {position} of {}: {other:?}", report.location),
    }
}

async fn fixture_feeds_are_imported_once_with_credit(app: &TestApp) {
    let reports = import_fixtures(app).await;
    let [broken, world, politics] = &reports[..] else {
        panic!("three reports")
    };
    assert!(
        broken
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("not a feed")),
        "{broken}"
    );
    assert_eq!(
        (world.items.len(), world.imported(), world.failed()),
        (5, 3, 2),
        "{world}"
    );
    assert!(failure(world, 3).starts_with("title:"), "{world}");
    assert!(failure(world, 4).starts_with("link:"), "{world}");
    assert_eq!(
        (politics.imported(), politics.failed()),
        (3, 0),
        "{politics}"
    );
    assert_eq!(article_count(app).await, 6);

    // An RSS item: keyword rule, bylines, tags, picture, cleaned body,
    // published at its own time, crediting the configured publisher at
    // the story's address without its campaign tags.
    let snap = article(app, "snap-election-called-as-coalition-collapses").await;
    assert_eq!(snap["section"]["slug"], "electoral-processes");
    assert_eq!(snap["status"], "PUBLISHED");
    assert_eq!(snap["publishedAt"], "2026-12-03T18:00:00+00:00");
    assert_eq!(names(&snap["authors"]), ["Jane Doe", "Omar Haddad"]);
    assert_eq!(snap["authors"][0]["title"], "The Northern Ledger");
    assert_eq!(names(&snap["tags"]), ["Elections", "Europe"]);
    assert_eq!(
        snap["source"],
        json!({
            "name": "The Northern Ledger",
            "url": "https://www.northernledger.example/world/snap-election-called",
            "readMore": "Read more on northernledger.example",
        })
    );
    let structured: Value =
        serde_json::from_str(snap["jsonLd"].as_str().expect("JSON-LD")).expect("JSON");
    assert_eq!(
        structured["isBasedOn"],
        "https://www.northernledger.example/world/snap-election-called"
    );
    assert_eq!(
        structured["sourceOrganization"]["name"],
        "The Northern Ledger"
    );
    assert_eq!(
        snap["hero"]["url"],
        "https://img.northernledger.example/2026/12/parliament.jpg"
    );
    assert_eq!(snap["hero"]["caption"], "The parliament building at dusk");
    assert_eq!(snap["hero"]["credit"], "The Northern Ledger");
    assert_eq!(
        snap["standfirst"],
        "The prime minister asked for a dissolution after the junior partner walked out."
    );
    let body = snap["body"].as_str().expect("a body");
    for unsafe_part in ["<script", "steal", "onclick", "javascript:"] {
        assert!(!body.contains(unsafe_part), "{unsafe_part} in {body}");
    }
    assert!(
        body.contains("href=\"https://www.northernledger.example/world/timeline\""),
        "{body}"
    );
    // A link relative to the publisher's page leads there.
    assert!(
        body.contains("href=\"https://www.northernledger.example/politics/parties\""),
        "{body}"
    );

    // The feed's own section; an address-only <author> gives its name.
    let talks = article(app, "ceasefire-talks-resume-in-geneva").await;
    assert_eq!(talks["section"]["slug"], "international-relations");
    assert_eq!(names(&talks["authors"]), ["Tom Baker"]);
    assert!(
        talks["body"]
            .as_str()
            .is_some_and(|b| b.contains("<b>three months</b>"))
    );

    // A rule for one feed's keywords; the link's #fragment is not part of it.
    let truce = article(app, "trade-ministers-agree-tariff-truce").await;
    assert_eq!(truce["section"]["slug"], "economic-developments");
    assert_eq!(
        truce["source"]["url"],
        "https://www.northernledger.example/world/tariff-truce"
    );
    assert!(names(&truce["authors"]).is_empty());

    // Atom: an HTML title becomes text, the feed's title is the publisher.
    let senate = article(app, "senate-passes-the-data-protection-bill").await;
    assert_eq!(senate["headline"], "Senate passes the data protection bill");
    assert_eq!(senate["section"]["slug"], "legislative-updates");
    assert_eq!(senate["source"]["name"], "Capital Wire: Politics");
    assert_eq!(
        senate["source"]["readMore"],
        "Read more on capitalwire.example"
    );
    assert_eq!(names(&senate["authors"]), ["Priya Raman", "Luis Ortega"]);
    assert_eq!(names(&senate["tags"]), ["Legislation", "Privacy"]);
    assert_eq!(senate["publishedAt"], "2026-12-03T19:40:00+00:00");
    assert!(
        !senate["body"]
            .as_str()
            .unwrap_or_default()
            .contains("onerror")
    );
    let ballot = article(app, "ballot-design-dispute-reaches-the-supreme-court").await;
    assert_eq!(ballot["section"]["slug"], "electoral-processes");
    // The same writer in two stories is one author.
    assert_eq!(names(&ballot["authors"]), ["Priya Raman"]);
    let authors = app
        .as_editor(
            "{ author(slug: \"priya-raman\") { articles(first: 5) { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&authors)["author"]["articles"]["totalCount"], 2);
    let budget = article(app, "budget-committee-hearing-postponed").await;
    assert_eq!(budget["section"]["slug"], "legislative-updates");
    assert!(
        budget["body"]
            .as_str()
            .is_some_and(|b| b.contains("minister fell ill"))
    );

    // Again: nothing new, the same two items refused, the same count.
    let again = import_fixtures(app).await;
    assert!(again[0].problem.is_some());
    assert_eq!(
        (
            again[1].imported(),
            again[1].already_imported(),
            again[1].failed()
        ),
        (0, 3, 2),
        "{}",
        again[1]
    );
    assert_eq!(
        (again[2].imported(), again[2].already_imported()),
        (0, 3),
        "{}",
        again[2]
    );
    assert_eq!(article_count(app).await, 6);

    // An editor deletes a syndicated story: the next reading does not
    // bring it back.
    let id = app
        .as_editor(
            "{ article(slug: \"budget-committee-hearing-postponed\") { id } }",
            json!({}),
        )
        .await;
    let id = data(&id)["article"]["id"].clone();
    let deleted = app
        .as_admin(
            "mutation($id: ID!) { deleteArticle(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    data(&deleted);
    let third = import_fixtures(app).await;
    assert_eq!((third[2].imported(), third[2].already_imported()), (0, 3));
    assert_eq!(article_count(app).await, 5);
}

both_backends! {
    fixture_feeds => fixture_feeds_are_imported_once_with_credit;
}

/// A publisher's feed on a local port: RSS of the stories added so far,
/// newest first, with an `ETag`; a reader that sends it back gets `304`
/// while nothing was added (counted).
#[derive(Clone, Default)]
struct FeedServer {
    stories: Arc<Mutex<Vec<String>>>,
    not_modified: Arc<AtomicUsize>,
}

impl FeedServer {
    async fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("an address");
        let (stories, not_modified) = (self.stories.clone(), self.not_modified.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (stories, not_modified) = (stories.clone(), not_modified.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let stories = stories.lock().expect("stories").clone();
                    let etag = format!("\"{}\"", stories.len());
                    let request = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    if request.contains(&format!("if-none-match: {etag}")) {
                        not_modified.fetch_add(1, Ordering::SeqCst);
                        let _ = socket
                            .write_all(b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                    let body = rss(&stories);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}/feed.rss")
    }

    fn add(&self, title: &str) {
        self.stories.lock().expect("stories").push(title.to_owned());
    }
}

fn rss(stories: &[String]) -> String {
    let items: String = stories
        .iter()
        .enumerate()
        .rev()
        .map(|(i, title)| {
            format!(
                "<item><title>{title}</title><guid isPermaLink=\"false\">story-{i}</guid>\
                 <link>https://loopback.example/stories/{i}</link>\
                 <description>What happened in story {i}.</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Loopback Times</title>\
         <link>https://loopback.example/</link><description>Tests</description>{items}</channel></rss>"
    )
}

async fn headlines(app: &TestApp) -> Vec<String> {
    let response = app
        .as_editor(
            "{ articles(first: 50) { edges { node { headline } } } }",
            json!({}),
        )
        .await;
    let mut headlines: Vec<String> = data(&response)["articles"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| {
            edge["node"]["headline"]
                .as_str()
                .expect("a headline")
                .to_owned()
        })
        .collect();
    headlines.sort();
    headlines
}

/// Waits until the desk sees exactly `expected` headlines.
async fn until_headlines(app: &TestApp, expected: &[&str]) {
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen = headlines(app).await;
        if seen == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {expected:?}, the desk sees {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Two nodes with the same feeds file: one reads the feeds, each story is
/// imported once, and when that node stops the other takes over.
async fn one_node_polls(backend: Backend) {
    let feed = FeedServer::default();
    feed.add("Polls open in the north");
    feed.add("Turnout passes forty per cent");
    let url = feed.start().await;
    let dir = std::env::temp_dir().join(format!(
        "politmaster-feeds-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("a directory");
    let file = dir.join("feeds.toml");
    std::fs::write(
        &file,
        format!(
            "poll_every_seconds = 1\npublish = true\ndefault_section = \"electoral-processes\"\n\
             [[feed]]\nsource = \"{url}\"\n"
        ),
    )
    .expect("the feeds file");
    let options = Options {
        feeds: Some(file),
        ..Options::default()
    };
    let Some(mut first) = spawn_app(backend, options).await else {
        return;
    };
    let mut second = first.another_node().await;

    until_headlines(
        &first,
        &["Polls open in the north", "Turnout passes forty per cent"],
    )
    .await;
    feed.add("Counting begins");
    until_headlines(
        &first,
        &[
            "Counting begins",
            "Polls open in the north",
            "Turnout passes forty per cent",
        ],
    )
    .await;
    let rounds = [
        first.metric("politmaster_feed_rounds_total").await,
        second.metric("politmaster_feed_rounds_total").await,
    ];
    assert!(
        (rounds[0] > 0) != (rounds[1] > 0),
        "exactly one node reads the feeds: rounds {rounds:?}"
    );
    // Readings of an unchanged feed ask only for changes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while feed.not_modified.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no conditional reading"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let imported = first.metric("politmaster_feed_items_total").await
        + second.metric("politmaster_feed_items_total").await;
    assert_eq!(imported, 3, "each story imported once");

    // The reading node stops; the other takes over at once.
    let (standby, standby_rounds) = if rounds[0] > 0 {
        first.stop().await;
        (&second, rounds[1])
    } else {
        second.stop().await;
        (&first, rounds[0])
    };
    feed.add("Results expected at dawn");
    until_headlines(
        standby,
        &[
            "Counting begins",
            "Polls open in the north",
            "Results expected at dawn",
            "Turnout passes forty per cent",
        ],
    )
    .await;
    assert!(standby.metric("politmaster_feed_rounds_total").await > standby_rounds);
    drop(second);
    drop(first);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_polls_the_feeds_sqlite() {
    one_node_polls(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_polls_the_feeds_postgres() {
    one_node_polls(Backend::Postgres).await;
}
