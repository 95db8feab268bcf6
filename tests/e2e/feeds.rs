//! Feeds out: RSS 2.0 for the site and each section, a sitemap and a
//! Google News sitemap; well-formed XML, escaped, cached, fresh the moment
//! something is published.

use chrono::Duration;
use e2e::{TestApp, both_backends};
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::json;

use crate::article_support::{create, create_author, id_of, input, now, publish};

/// GETs `path`: status, content type, ETag and body.
async fn get(app: &TestApp, path: &str) -> (u16, String, Option<String>, String) {
    let response = app.http.get(app.url(path)).send().await.expect("sent");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or_default().to_owned())
    };
    let (content_type, etag) = (header("content-type").unwrap_or_default(), header("etag"));
    let status = response.status().as_u16();
    (
        status,
        content_type,
        etag,
        response.text().await.expect("text"),
    )
}

/// The text of every `name` element, checking on the way that the whole
/// document is well-formed XML.
fn texts_of(xml: &str, name: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                current = (AsRef::<str>::as_ref(&start.name()) == name).then(String::new);
            }
            Ok(Event::Text(text)) => {
                if let Some(current) = &mut current {
                    current.push_str(&text.xml10_content());
                }
            }
            Ok(Event::GeneralRef(reference)) => {
                if let Some(current) = &mut current {
                    let resolved =
                        quick_xml::escape::resolve_xml_entity(&reference).expect("a known entity");
                    current.push_str(resolved);
                }
            }
            Ok(Event::End(_)) => found.extend(current.take()),
            Ok(Event::Eof) => return found,
            Ok(_) => {}
            Err(error) => panic!(
                "not well-formed at {}: {error}\n{xml}",
                reader.buffer_position()
            ),
        }
    }
}

async fn feeds_list_what_is_published(app: &TestApp) {
    let author = create_author(app, "Maria Keller").await;
    let bill = create(
        app,
        input(
            "Senate passes the <digital> services bill & more",
            json!({
                "section": "legislative-updates",
                "standfirst": "Platforms face new rules.",
                "authors": [author["id"]],
                "tags": ["Parliament"],
                "source": { "name": "The Independent", "url": "https://www.independent.co.uk/bill" },
            }),
        ),
    )
    .await;
    publish(app, &id_of(&bill), None).await;
    let old = create(app, input("Summit ends without a deal", json!({}))).await;
    publish(app, &id_of(&old), Some(now() - Duration::days(3))).await;
    create(app, input("A draft nobody may see", json!({}))).await;

    let (status, content_type, etag, rss) = get(app, "/rss.xml").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/rss+xml"),
        "{content_type}"
    );
    let titles = texts_of(&rss, "title");
    assert_eq!(
        titles,
        [
            "Politmaster",
            "Senate passes the <digital> services bill & more",
            "Summit ends without a deal"
        ],
        "the channel, then the newest first; no draft"
    );
    assert!(
        rss.contains("&lt;digital&gt;") && rss.contains("&amp; more"),
        "escaped"
    );
    let links = texts_of(&rss, "link");
    assert!(
        links[1].starts_with("http://news.test/legislative-updates/senate-passes"),
        "{links:?}"
    );
    assert_eq!(texts_of(&rss, "dc:creator"), ["Maria Keller"]);
    assert!(texts_of(&rss, "category").contains(&"Parliament".to_owned()));
    assert_eq!(texts_of(&rss, "source"), ["The Independent"]);
    assert!(rss.contains(r#"url="https://www.independent.co.uk/bill""#));

    // A section's feed has that section's articles alone.
    let (status, _, _, section) = get(app, "/sections/legislative-updates/rss.xml").await;
    assert_eq!(status, 200);
    assert_eq!(texts_of(&section, "title").len(), 2, "{section}");
    assert_eq!(get(app, "/sections/no-such-section/rss.xml").await.0, 404);

    // Caches may revalidate.
    let etag = etag.expect("an ETag");
    let again = app
        .http
        .get(app.url("/rss.xml"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("sent");
    assert_eq!(again.status().as_u16(), 304);

    // Sitemaps: every section and article; the news sitemap only the last
    // 48 hours.
    let (status, content_type, _, sitemap) = get(app, "/sitemap.xml").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/xml"),
        "{content_type}"
    );
    let locations = texts_of(&sitemap, "loc");
    assert_eq!(
        locations.len(),
        1 + 5 + 2,
        "home, five sections, two articles: {locations:?}"
    );
    assert!(locations.contains(&"http://news.test/international-relations".to_owned()));
    let (_, _, _, news) = get(app, "/news-sitemap.xml").await;
    assert_eq!(
        texts_of(&news, "news:title"),
        ["Senate passes the <digital> services bill & more"]
    );
    assert_eq!(texts_of(&news, "news:name"), ["Politmaster"]);

    // Publishing shows at once, on the feeds as on the API.
    let fresh = create(app, input("Breaking: vote of confidence called", json!({}))).await;
    publish(app, &id_of(&fresh), None).await;
    let (_, _, new_etag, rss) = get(app, "/rss.xml").await;
    assert_eq!(
        texts_of(&rss, "title")[1],
        "Breaking: vote of confidence called"
    );
    assert_ne!(new_etag, Some(etag));
}

both_backends! {
    feeds_and_sitemaps => feeds_list_what_is_published;
}
