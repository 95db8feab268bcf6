//! Domain values to store, built directly (the newsroom's validation is not
//! under test here).

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::clock;
use domain::content::{
    Article, ArticleBody, ArticleKind, ArticleStatus, Author, Media, MediaKind, NewSection,
    Section, Source,
};
use domain::html::SafeHtml;
use domain::ids::{ArticleId, AuthorId, LiveBlogId, LiveEntryId, SectionId};
use domain::live::{LiveBlog, LiveBlogStatus, LiveEntry};
use domain::page::{Page, PageRequest};
use domain::ports::{
    ArticleParts, ArticleQuery, ArticleRepository, AuthorRepository, LiveBlogRepository, SearchHit,
    SearchQuery, SectionRepository, Store,
};
use domain::text::{Slug, WebUrl};
use domain::{Result, Visibility};

/// Whole-article reads without what came along, for the tests that check
/// articles rather than reads (see `articles::reads_bring_*` for those).
#[async_trait::async_trait]
pub trait WholeReads {
    async fn article(&self, id: ArticleId, visibility: Visibility) -> Result<Option<Article>>;
    async fn article_at(&self, slug: &Slug, visibility: Visibility) -> Result<Option<Article>>;
    async fn articles(&self, query: &ArticleQuery, page: &PageRequest) -> Result<Page<Article>>;
    async fn search_hits(&self, query: &SearchQuery, page: &PageRequest)
    -> Result<Page<SearchHit>>;
}

#[async_trait::async_trait]
impl<T: ArticleRepository + ?Sized> WholeReads for T {
    async fn article(&self, id: ArticleId, visibility: Visibility) -> Result<Option<Article>> {
        let read = self.article_by_id(id, visibility, ArticleParts::WHOLE);
        Ok(read.await?.map(|read| read.value))
    }

    async fn article_at(&self, slug: &Slug, visibility: Visibility) -> Result<Option<Article>> {
        let read = self.article_by_slug(slug, visibility, ArticleParts::WHOLE);
        Ok(read.await?.map(|read| read.value))
    }

    async fn articles(&self, query: &ArticleQuery, page: &PageRequest) -> Result<Page<Article>> {
        let read = self.list_articles(query, page, ArticleParts::WHOLE);
        Ok(read.await?.value)
    }

    async fn search_hits(
        &self,
        query: &SearchQuery,
        page: &PageRequest,
    ) -> Result<Page<SearchHit>> {
        Ok(self.search(query, page, ArticleParts::WHOLE).await?.value)
    }
}

pub fn slug(s: &str) -> Slug {
    Slug::parse(s).expect("test slugs are valid")
}

pub fn tags(names: &[&str]) -> Vec<(Slug, String)> {
    names
        .iter()
        .map(|n| {
            (
                Slug::derive(n).expect("tag names make slugs"),
                (*n).to_owned(),
            )
        })
        .collect()
}

/// A fixed instant with microseconds, so ordering tests are reproducible.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 59, 59)
        .single()
        .expect("valid time")
        + Duration::microseconds(999_990)
}

pub async fn section(db: &impl SectionRepository, slug_: &str) -> Section {
    db.ensure_section(&NewSection {
        slug: slug(slug_),
        name: slug_.replace('-', " "),
        description: String::new(),
        position: 0,
    })
    .await
    .expect("section")
}

pub async fn author(db: &impl AuthorRepository, name: &str) -> Author {
    let now = clock::now();
    let author = Author {
        id: AuthorId::new(),
        slug: Slug::derive(name).expect("author slug"),
        name: name.to_owned(),
        title: "Reporter".into(),
        bio: String::new(),
        avatar_url: Some(WebUrl::parse("https://img.example/a.jpg").expect("url")),
        created_at: now,
        updated_at: now,
    };
    db.insert_author(&author).await.expect("author");
    author
}

pub fn photo() -> Media {
    Media {
        kind: MediaKind::Photo,
        url: WebUrl::parse("https://img.example/p.jpg").expect("url"),
        caption: "The chamber".into(),
        credit: "Agency".into(),
        alt: "MPs voting".into(),
        width: Some(1200),
        height: Some(800),
        duration_seconds: None,
        poster_url: None,
    }
}

/// A draft with a body, created at `clock::now()`.
pub fn draft(section: SectionId, slug_: &str) -> Article {
    let now = clock::now();
    Article {
        id: ArticleId::new(),
        slug: slug(slug_),
        headline: format!("Headline of {slug_}"),
        standfirst: "What happened, in short.".into(),
        body: ArticleBody::Read(
            SafeHtml::clean("<p>Some plain words about the weather.</p>").expect("body"),
        ),
        word_count: 6,
        kind: ArticleKind::News,
        status: ArticleStatus::Draft,
        section_id: section,
        author_ids: Vec::new(),
        tag_ids: Vec::new(),
        breaking: false,
        hero: None,
        media: Vec::new(),
        source: None,
        created_at: now,
        updated_at: now,
        published_at: None,
        scheduled_at: None,
        version: 1,
    }
}

pub fn published(mut article: Article, at: DateTime<Utc>) -> Article {
    article.status = ArticleStatus::Published;
    article.published_at = Some(at);
    article
}

pub fn syndicated(mut article: Article) -> Article {
    article.source = Some(
        Source::parse("The Independent", "https://www.independent.co.uk/news/x").expect("source"),
    );
    article.hero = Some(photo());
    article.media = vec![photo(), photo()];
    article
}

pub async fn store(db: &impl ArticleRepository, article: Article, tags_: &[&str]) -> Article {
    db.insert_article(&article, &tags(tags_))
        .await
        .expect("insert article")
}

pub fn statements(db: &impl Store) -> u64 {
    db.statements_executed()
}

/// A scheduled live blog in a section of its own slug.
pub async fn blog<D>(db: &D, slug_: &str) -> LiveBlog
where
    D: SectionRepository + LiveBlogRepository,
{
    let section = section(db, "electoral-processes").await;
    let now = clock::now();
    let blog = LiveBlog {
        id: LiveBlogId::new(),
        slug: slug(slug_),
        title: "Election night".into(),
        summary: "Results as they come".into(),
        section_id: section.id,
        status: LiveBlogStatus::Scheduled,
        started_at: None,
        ended_at: None,
        created_at: now,
        updated_at: now,
    };
    db.insert_live_blog(&blog).await.expect("blog");
    blog
}

/// Entry `n` of `blog`, posted `n` microseconds after [`t0`]; every third
/// is a key event.
pub fn entry(blog: &LiveBlog, n: i64, pinned: bool) -> LiveEntry {
    LiveEntry {
        id: LiveEntryId::new(),
        live_blog_id: blog.id,
        body: SafeHtml::clean(&format!("<p>Update {n}</p>")).expect("body"),
        author_id: None,
        key_event: n % 3 == 0,
        pinned,
        media: vec![photo()],
        posted_at: t0() + Duration::microseconds(n),
        edited_at: None,
    }
}
