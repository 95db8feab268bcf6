//! Feeds out, for feed readers, aggregators and search engines:
//! `/rss.xml` and `/sections/{slug}/rss.xml` (RSS 2.0, the 50 newest
//! published articles), `/sitemap.xml` (the home page, every section and
//! the newest 50,000 published articles, the most one sitemap may list)
//! and `/news-sitemap.xml` (Google News: what was published in the last
//! 48 hours, at most 1,000).
//!
//! Each is written with an XML writer (escaping is its job) from the same
//! reads as the API, kept in the node's response cache, and dropped the
//! moment published content changes on any node, like an anonymous query's
//! response; HTTP caches get `Cache-Control` and an `ETag`.

use std::collections::HashMap;
use std::io;

use axum::extract::{Path, State};
use axum::http::header::IF_NONE_MATCH;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use domain::content::{Article, Section};
use domain::page::{Direction, PageRequest};
use domain::ports::{ArticleFilter, ArticleOrder, ArticleParts, Linked};
use domain::{Caller, Newsroom};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::graphql::cache::{Cached, Topics};
use crate::graphql::site::SiteConfig;
use crate::http::AppState;
use crate::http::reply::{self, HttpCaching};

/// Articles in an RSS feed.
const RSS_ITEMS: usize = 50;
/// URLs one sitemap may list (sitemaps.org).
const SITEMAP_URLS: usize = 50_000;
/// Articles a Google News sitemap may list, and how far back.
const NEWS_ITEMS: usize = 1_000;
const NEWS_WINDOW_HOURS: i64 = 48;
/// The language feeds declare.
const LANGUAGE: &str = "en";

/// Published content is what every feed shows.
const TOPICS: Topics = Topics {
    content: true,
    live_blogs: false,
    breaking: false,
};

pub async fn rss(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, &headers, "/rss.xml", RSS, |state| async move {
        let site = state.site.clone();
        let articles = newest(&state.newsroom, ArticleFilter::default(), RSS_ITEMS).await?;
        Ok(Some(write(|w| rss_channel(w, &site, None, &articles))?))
    })
    .await
}

pub async fn section_rss(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let key = format!("/sections/{slug}/rss.xml");
    serve(&state, &headers, &key, RSS, |state| async move {
        let Some(section) = state.newsroom.section(&slug).await? else {
            return Ok(None);
        };
        let filter = ArticleFilter {
            section: Some(section.slug.clone()),
            ..ArticleFilter::default()
        };
        let articles = newest(&state.newsroom, filter, RSS_ITEMS).await?;
        let site = state.site.clone();
        Ok(Some(write(|w| {
            rss_channel(w, &site, Some(&section), &articles)
        })?))
    })
    .await
}

pub async fn sitemap(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, &headers, "/sitemap.xml", XML, |state| async move {
        let sections = state.newsroom.sections().await?;
        let room = SITEMAP_URLS - 1 - sections.len();
        let articles = newest(&state.newsroom, ArticleFilter::default(), room).await?;
        let site = state.site.clone();
        Ok(Some(write(|w| {
            sitemap_urls(w, &site, &sections, &articles)
        })?))
    })
    .await
}

pub async fn news_sitemap(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(
        &state,
        &headers,
        "/news-sitemap.xml",
        XML,
        |state| async move {
            let filter = ArticleFilter {
                published_after: Some(domain::clock::now() - Duration::hours(NEWS_WINDOW_HOURS)),
                ..ArticleFilter::default()
            };
            let articles = newest(&state.newsroom, filter, NEWS_ITEMS).await?;
            let site = state.site.clone();
            Ok(Some(write(|w| news_urls(w, &site, &articles))?))
        },
    )
    .await
}

const RSS: &str = "application/rss+xml; charset=utf-8";
const XML: &str = "application/xml; charset=utf-8";

/// A published article with its section and bylines.
struct Item {
    article: Article,
    section: Section,
    authors: Vec<String>,
    tags: Vec<String>,
}

/// Answers from the cache, or computes (once, however many ask at once)
/// and keeps it; `None` from `compute` is a 404.
async fn serve<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    key: &str,
    content_type: &'static str,
    compute: F,
) -> Response
where
    F: FnOnce(AppState) -> Fut,
    Fut: Future<Output = domain::Result<Option<Vec<u8>>>>,
{
    let key = format!("feed\u{0}{key}");
    let built = async {
        match compute(state.clone()).await {
            Ok(Some(body)) => Ok(Bytes::from(body)),
            Ok(None) => Err((StatusCode::NOT_FOUND, "no such section").into_response()),
            Err(error) => {
                tracing::error!(%error, "cannot build a feed");
                Err((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
            }
        }
    };
    match state.cache.get_or_compute(key, TOPICS, built).await {
        Ok(cached) => reply(&cached, headers, content_type, state),
        Err(answer) => answer,
    }
}

fn reply(
    cached: &Cached,
    headers: &HeaderMap,
    content_type: &'static str,
    state: &AppState,
) -> Response {
    let http = HttpCaching {
        method: &Method::GET,
        if_none_match: headers.get(IF_NONE_MATCH),
        max_age: state.max_age,
    };
    reply::cached_as(content_type, cached, &http)
}

/// The newest published articles matching `filter`, up to `limit`, with
/// their sections and bylines, read a page at a time.
async fn newest(
    newsroom: &Newsroom,
    filter: ArticleFilter,
    limit: usize,
) -> domain::Result<Vec<Item>> {
    let query = Newsroom::article_query(&Caller::anonymous(), filter, ArticleOrder::default())?;
    let sections: HashMap<_, _> = newsroom
        .sections()
        .await?
        .iter()
        .map(|s| (s.id, s.clone()))
        .collect();
    let mut items = Vec::new();
    let mut after = None;
    let mut linked = Linked::default();
    while items.len() < limit {
        let page = PageRequest {
            limit: u32::try_from((limit - items.len()).min(100)).unwrap_or(100),
            direction: Direction::Forward,
            after: after.take(),
            before: None,
        };
        let found = newsroom
            .articles(&query, &page, ArticleParts { body: false })
            .await?;
        linked.extend(found.linked);
        let more = found.value.has_next_page;
        for (position, article) in found.value.items {
            after = Some(position);
            let Some(section) = sections.get(&article.section_id).cloned() else {
                continue;
            };
            items.push(Item {
                section,
                authors: Vec::new(),
                tags: Vec::new(),
                article,
            });
        }
        if !more || after.is_none() {
            break;
        }
    }
    let authors: HashMap<_, _> = linked
        .authors
        .iter()
        .map(|a| (a.id, a.name.clone()))
        .collect();
    let tags: HashMap<_, _> = linked.tags.iter().map(|t| (t.id, t.name.clone())).collect();
    for item in &mut items {
        item.authors = item
            .article
            .author_ids
            .iter()
            .filter_map(|id| authors.get(id).cloned())
            .collect();
        item.tags = item
            .article
            .tag_ids
            .iter()
            .filter_map(|id| tags.get(id).cloned())
            .collect();
    }
    Ok(items)
}

fn write(body: impl FnOnce(&mut Writer<Vec<u8>>) -> io::Result<()>) -> domain::Result<Vec<u8>> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 1);
    writer
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .and_then(|()| body(&mut writer))
        .map_err(|e| domain::Error::internal(format!("writing XML: {e}")))?;
    let mut xml = writer.into_inner();
    xml.push(b'\n');
    Ok(xml)
}

/// Text as XML 1.0 may hold it: the control characters it forbids (which a
/// pasted headline can carry) are dropped; escaping is the writer's.
fn xml_text(text: &str) -> String {
    text.chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
        .collect()
}

fn element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(&xml_text(text)))?;
    Ok(())
}

fn article_url(site: &SiteConfig, item: &Item) -> String {
    format!("{}/{}/{}", site.url, item.section.slug, item.article.slug)
}

fn rss_channel(
    w: &mut Writer<Vec<u8>>,
    site: &SiteConfig,
    section: Option<&Section>,
    items: &[Item],
) -> io::Result<()> {
    let (title, link, own) = match section {
        Some(section) => (
            format!("{} — {}", site.name, section.name),
            format!("{}/{}", site.url, section.slug),
            format!("{}/sections/{}/rss.xml", site.url, section.slug),
        ),
        None => (
            site.name.clone(),
            site.url.clone(),
            format!("{}/rss.xml", site.url),
        ),
    };
    let description = section.map_or(site.description.as_str(), |s| s.description.as_str());
    w.create_element("rss")
        .with_attribute(("version", "2.0"))
        .with_attribute(("xmlns:atom", "http://www.w3.org/2005/Atom"))
        .with_attribute(("xmlns:dc", "http://purl.org/dc/elements/1.1/"))
        .write_inner_content(|w| {
            w.create_element("channel").write_inner_content(|w| {
                element(w, "title", &title)?;
                element(w, "link", &link)?;
                element(w, "description", description)?;
                element(w, "language", LANGUAGE)?;
                if let Some(newest) = items.first().and_then(|i| i.article.published_at) {
                    element(w, "lastBuildDate", &newest.to_rfc2822())?;
                }
                w.create_element("atom:link")
                    .with_attribute(("href", own.as_str()))
                    .with_attribute(("rel", "self"))
                    .with_attribute(("type", "application/rss+xml"))
                    .write_empty()?;
                for item in items {
                    rss_item(w, site, item)?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    Ok(())
}

fn rss_item(w: &mut Writer<Vec<u8>>, site: &SiteConfig, item: &Item) -> io::Result<()> {
    let url = article_url(site, item);
    w.create_element("item").write_inner_content(|w| {
        element(w, "title", &item.article.headline)?;
        element(w, "link", &url)?;
        w.create_element("guid")
            .with_attribute(("isPermaLink", "true"))
            .write_text_content(BytesText::new(&url))?;
        if !item.article.standfirst.is_empty() {
            element(w, "description", &item.article.standfirst)?;
        }
        if let Some(published) = item.article.published_at {
            element(w, "pubDate", &published.to_rfc2822())?;
        }
        for author in &item.authors {
            element(w, "dc:creator", author)?;
        }
        element(w, "category", &item.section.name)?;
        for tag in &item.tags {
            element(w, "category", tag)?;
        }
        if let Some(source) = &item.article.source {
            // RSS 2.0's attribution: the name, and where it came from.
            w.create_element("source")
                .with_attribute(("url", source.url.as_str()))
                .write_text_content(BytesText::new(&xml_text(&source.name)))?;
        }
        Ok(())
    })?;
    Ok(())
}

fn sitemap_urls(
    w: &mut Writer<Vec<u8>>,
    site: &SiteConfig,
    sections: &[Section],
    items: &[Item],
) -> io::Result<()> {
    w.create_element("urlset")
        .with_attribute(("xmlns", "http://www.sitemaps.org/schemas/sitemap/0.9"))
        .write_inner_content(|w| {
            let newest = items.first().map(|i| i.article.updated_at);
            url(w, &format!("{}/", site.url), newest)?;
            for section in sections {
                let newest = items
                    .iter()
                    .find(|i| i.section.id == section.id)
                    .map(|i| i.article.updated_at);
                url(w, &format!("{}/{}", site.url, section.slug), newest)?;
            }
            for item in items {
                url(w, &article_url(site, item), Some(item.article.updated_at))?;
            }
            Ok(())
        })?;
    Ok(())
}

fn url(w: &mut Writer<Vec<u8>>, location: &str, modified: Option<DateTime<Utc>>) -> io::Result<()> {
    w.create_element("url").write_inner_content(|w| {
        element(w, "loc", location)?;
        if let Some(modified) = modified {
            element(w, "lastmod", &w3c_date(modified))?;
        }
        Ok(())
    })?;
    Ok(())
}

fn news_urls(w: &mut Writer<Vec<u8>>, site: &SiteConfig, items: &[Item]) -> io::Result<()> {
    w.create_element("urlset")
        .with_attribute(("xmlns", "http://www.sitemaps.org/schemas/sitemap/0.9"))
        .with_attribute((
            "xmlns:news",
            "http://www.google.com/schemas/sitemap-news/0.9",
        ))
        .write_inner_content(|w| {
            for item in items {
                let Some(published) = item.article.published_at else {
                    continue;
                };
                w.create_element("url").write_inner_content(|w| {
                    element(w, "loc", &article_url(site, item))?;
                    w.create_element("news:news").write_inner_content(|w| {
                        w.create_element("news:publication")
                            .write_inner_content(|w| {
                                element(w, "news:name", &site.name)?;
                                element(w, "news:language", LANGUAGE)
                            })?;
                        element(w, "news:publication_date", &w3c_date(published))?;
                        element(w, "news:title", &item.article.headline)
                    })?;
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(())
}

fn w3c_date(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_loses_what_xml_cannot_hold() {
        assert_eq!(xml_text("a\u{1}b\u{8}c\td\u{FFFE}e"), "abc\tde");
        assert_eq!(xml_text("Fish & <chips> ✓"), "Fish & <chips> ✓");
    }
}
