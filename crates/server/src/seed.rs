//! Seed data: the five standard sections (always), the demo newsroom (on
//! request, or on the first run of the embedded default) and the benchmark
//! newsroom (`seed --bench`, see [`bench`]). Demo content lives in
//! `seed/demo.json` and goes through the same validation as the desk's
//! writes; only the back-dating of times touches the store directly.

mod bench;

pub use bench::{BenchReport, BenchSizes, seed as bench};

use std::collections::HashMap;

use anyhow::Context;
use chrono::Duration;
use serde::Deserialize;

use domain::auth::{Caller, Principal, Role};
use domain::content::{ArticleKind, MediaInput, MediaKind, standard_sections};
use domain::events::Event;
use domain::ids::{AuthorId, TokenId};
use domain::inputs::*;
use domain::live::{BreakingPriority, LiveBlogStatus, LiveEntry, entry_body};
use domain::ports::{ArticleFilter, ArticleOrder};
use domain::{Newsroom, Visibility};

const DEMO: &str = include_str!("seed/demo.json");

pub async fn sections(newsroom: &Newsroom) -> anyhow::Result<()> {
    for section in standard_sections() {
        newsroom.store().ensure_section(&section).await?;
    }
    Ok(())
}

/// True when the database holds no article at all, seen as the desk sees it.
pub async fn is_empty(newsroom: &Newsroom) -> anyhow::Result<bool> {
    let query = domain::ports::ArticleQuery {
        filter: ArticleFilter::default(),
        order: ArticleOrder::default(),
        visibility: Visibility::Desk,
    };
    Ok(newsroom.count_articles(&query).await? == 0)
}

/// Who seeds: the desk, with no token of its own.
fn seed_desk() -> Caller {
    Caller::desk(Principal {
        token_id: TokenId::new(),
        name: "seed".into(),
        role: Role::Admin,
    })
}

#[derive(Debug, Default)]
pub struct SeedReport {
    pub authors: usize,
    pub articles: usize,
    pub live_blogs: usize,
    pub live_entries: usize,
    pub breaking_news: usize,
}

/// Adds the demo content; items whose slug already exists are left alone,
/// so running it twice adds nothing the second time.
pub async fn demo(newsroom: &Newsroom) -> anyhow::Result<SeedReport> {
    let demo: Demo = serde_json::from_str(DEMO).context("seed/demo.json is malformed")?;
    let desk = seed_desk();
    let mut report = SeedReport::default();
    let now = domain::clock::now();

    let mut authors: HashMap<String, AuthorId> = HashMap::new();
    for a in demo.authors {
        let author = match newsroom.author(&a.slug).await? {
            Some(existing) => existing,
            None => {
                report.authors += 1;
                let input = CreateAuthorInput {
                    name: a.name,
                    slug: Some(a.slug.clone()),
                    title: Some(a.title),
                    bio: Some(a.bio),
                    avatar_url: a.avatar_url,
                };
                newsroom
                    .create_author(&desk, input)
                    .await
                    .with_context(|| format!("author {}", a.slug))?
            }
        };
        authors.insert(a.slug, author.id);
    }
    let author_id = |slug: &str| {
        authors
            .get(slug)
            .copied()
            .with_context(|| format!("unknown author {slug}"))
    };

    for a in demo.articles {
        if newsroom.article_by_slug(&desk, &a.slug).await?.is_some() {
            continue;
        }
        let context = || format!("article {}", a.slug);
        let input = CreateArticleInput {
            headline: a.headline.clone(),
            slug: Some(a.slug.clone()),
            standfirst: Some(a.standfirst.clone()),
            body: Some(a.body_html.clone()),
            kind: a.kind,
            section: a.section.clone(),
            authors: a
                .authors
                .iter()
                .map(|s| author_id(s))
                .collect::<anyhow::Result<_>>()?,
            tags: a.tags.clone(),
            breaking: a.breaking,
            hero: a.hero.clone().map(DemoMedia::into_input),
            media: a.media.iter().cloned().map(DemoMedia::into_input).collect(),
            source: a.source.clone().map(|s| SourceInput {
                name: s.name,
                url: s.url,
            }),
        };
        let article = newsroom
            .create_article(&desk, input)
            .await
            .with_context(context)?;
        match (a.status.as_str(), a.published_hours_ago) {
            ("PUBLISHED" | "SCHEDULED", Some(hours)) => {
                let at = now - Duration::minutes((hours * 60.0) as i64);
                newsroom
                    .publish_article(&desk, article.id, Some(at))
                    .await
                    .with_context(context)?;
            }
            ("DRAFT", _) => {}
            (status, _) => anyhow::bail!(
                "article {}: status {status} needs publishedHoursAgo",
                a.slug
            ),
        }
        report.articles += 1;
    }

    for b in demo.live_blogs {
        if newsroom.live_blog_by_slug(&b.slug).await?.is_some() {
            continue;
        }
        let context = || format!("live blog {}", b.slug);
        let input = CreateLiveBlogInput {
            title: b.title,
            slug: Some(b.slug.clone()),
            summary: Some(b.summary),
            section: b.section,
        };
        let mut blog = newsroom
            .create_live_blog(&desk, input)
            .await
            .with_context(context)?;
        let started = now - Duration::minutes((b.started_hours_ago * 60.0) as i64);
        blog.transition(LiveBlogStatus::Live, started)?;
        if b.status != LiveBlogStatus::Live {
            blog.transition(b.status, now - Duration::minutes(5))?;
        }
        let status_changed = Event::LiveBlogStatusChanged { blog: blog.clone() };
        newsroom
            .store()
            .update_live_blog(&blog, &[status_changed])
            .await
            .with_context(context)?;
        for e in b.entries {
            let entry = LiveEntry {
                id: domain::ids::LiveEntryId::new(),
                live_blog_id: blog.id,
                body: entry_body(&e.body_html).with_context(context)?,
                author_id: Some(author_id(&e.author)?),
                key_event: e.key_event,
                pinned: e.pinned,
                media: Vec::new(),
                posted_at: domain::clock::truncate(now - Duration::minutes(e.minutes_ago)),
                edited_at: None,
            };
            // Seeded history goes into the event log like any other post,
            // so a widget can replay the blog from its start.
            let posted = Event::LiveEntryPosted {
                entry: entry.clone(),
            };
            newsroom
                .store()
                .insert_live_entry(&entry, &[posted])
                .await
                .with_context(context)?;
            report.live_entries += 1;
        }
        report.live_blogs += 1;
    }

    if newsroom.breaking_news().await?.is_empty() {
        for n in demo.breaking_news {
            let article = newsroom
                .article_by_slug(&desk, &n.article_slug)
                .await?
                .with_context(|| {
                    format!("breaking news links unknown article {}", n.article_slug)
                })?;
            let input = IssueBreakingNewsInput {
                headline: n.headline,
                link: Some(BreakingLinkInput::Article(article.id)),
                priority: n.priority,
                expires_at: Some(now + Duration::minutes((n.expires_in_hours * 60.0) as i64)),
            };
            newsroom
                .issue_breaking_news(&desk, input)
                .await
                .context("breaking news")?;
            report.breaking_news += 1;
        }
    }
    Ok(report)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Demo {
    authors: Vec<DemoAuthor>,
    articles: Vec<DemoArticle>,
    live_blogs: Vec<DemoLiveBlog>,
    breaking_news: Vec<DemoBreakingNews>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoAuthor {
    slug: String,
    name: String,
    title: String,
    bio: String,
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoArticle {
    slug: String,
    headline: String,
    standfirst: String,
    body_html: String,
    kind: ArticleKind,
    section: String,
    authors: Vec<String>,
    tags: Vec<String>,
    breaking: bool,
    status: String,
    published_hours_ago: Option<f64>,
    hero: Option<DemoMedia>,
    #[serde(default)]
    media: Vec<DemoMedia>,
    source: Option<DemoSource>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct DemoMedia {
    kind: Option<MediaKind>,
    url: String,
    caption: Option<String>,
    credit: Option<String>,
    alt: Option<String>,
    width: Option<i32>,
    height: Option<i32>,
    duration_seconds: Option<i32>,
    poster_url: Option<String>,
}

impl DemoMedia {
    fn into_input(self) -> MediaInput {
        MediaInput {
            kind: self.kind,
            url: self.url,
            caption: self.caption,
            credit: self.credit,
            alt: self.alt,
            width: self.width,
            height: self.height,
            duration_seconds: self.duration_seconds,
            poster_url: self.poster_url,
        }
    }
}

#[derive(Deserialize, Clone)]
struct DemoSource {
    name: String,
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoLiveBlog {
    slug: String,
    title: String,
    summary: String,
    section: String,
    status: LiveBlogStatus,
    started_hours_ago: f64,
    entries: Vec<DemoEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoEntry {
    minutes_ago: i64,
    author: String,
    body_html: String,
    key_event: bool,
    pinned: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoBreakingNews {
    headline: String,
    article_slug: String,
    priority: BreakingPriority,
    expires_in_hours: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_content_parses() {
        let demo: Demo = serde_json::from_str(DEMO).expect("demo.json parses");
        assert!(demo.articles.len() >= 30);
        assert!(demo.articles.iter().any(|a| {
            a.slug == "north-korea-russia-mutual-defence-pact"
                && a.source
                    .as_ref()
                    .is_some_and(|s| s.url.contains("independent.co.uk"))
        }));
    }
}
