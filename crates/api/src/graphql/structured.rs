//! schema.org structured data (JSON-LD) for the pages front ends render:
//! `NewsArticle` for an article, `LiveBlogPosting` for a live blog. Search
//! engines read it from a `<script type="application/ld+json">` element,
//! which is why it is served as text ready to go inside one (see
//! [`script_text`]), not as a GraphQL object.

use chrono::{DateTime, SecondsFormat, Utc};
use domain::content::{self as dc, ArticleKind, MediaKind};
use domain::live as dl;
use serde_json::{Map, Value, json};

use crate::graphql::site::SiteConfig;

/// An article's `NewsArticle` (or the schema.org subtype for its kind).
pub fn news_article(
    site: &SiteConfig,
    article: &dc::Article,
    section: &dc::Section,
    authors: &[dc::Author],
    tags: &[dc::Tag],
) -> Value {
    let url = format!("{}/{}/{}", site.url, section.slug, article.slug);
    let mut data = Map::new();
    data.insert("@context".into(), json!("https://schema.org"));
    data.insert("@type".into(), json!(article_type(article.kind)));
    data.insert("headline".into(), json!(article.headline));
    if !article.standfirst.is_empty() {
        data.insert("description".into(), json!(article.standfirst));
    }
    data.insert("url".into(), json!(url));
    data.insert(
        "mainEntityOfPage".into(),
        json!({ "@type": "WebPage", "@id": url }),
    );
    if let Some(published) = article.published_at {
        data.insert("datePublished".into(), json!(timestamp(published)));
    }
    data.insert("dateModified".into(), json!(timestamp(article.updated_at)));
    data.insert(
        "author".into(),
        Value::Array(authors.iter().map(|a| person(site, a)).collect()),
    );
    data.insert("publisher".into(), publisher(site));
    let images: Vec<Value> = article
        .hero
        .iter()
        .chain(&article.media)
        .filter_map(image)
        .collect();
    if !images.is_empty() {
        data.insert("image".into(), Value::Array(images));
    }
    data.insert("articleSection".into(), json!(section.name));
    if !tags.is_empty() {
        let keywords: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        data.insert("keywords".into(), json!(keywords));
    }
    data.insert("wordCount".into(), json!(article.word_count));
    data.insert("isAccessibleForFree".into(), json!(true));
    if let Some(source) = &article.source {
        // A syndicated story: the original it is based on, and who
        // published it.
        data.insert("isBasedOn".into(), json!(source.url.as_str()));
        data.insert(
            "sourceOrganization".into(),
            json!({ "@type": "NewsMediaOrganization", "name": source.name }),
        );
    }
    Value::Object(data)
}

/// A live blog's `LiveBlogPosting`, with `updates` (newest first, each with
/// its author if it has one) as its `liveBlogUpdate`s.
pub fn live_blog_posting(
    site: &SiteConfig,
    blog: &dl::LiveBlog,
    section: &dc::Section,
    updates: &[(dl::LiveEntry, Option<dc::Author>)],
) -> Value {
    let url = format!("{}/live/{}", site.url, blog.slug);
    let mut data = Map::new();
    data.insert("@context".into(), json!("https://schema.org"));
    data.insert("@type".into(), json!("LiveBlogPosting"));
    data.insert("headline".into(), json!(blog.title));
    if !blog.summary.is_empty() {
        data.insert("description".into(), json!(blog.summary));
    }
    data.insert("url".into(), json!(url));
    data.insert(
        "mainEntityOfPage".into(),
        json!({ "@type": "WebPage", "@id": url }),
    );
    if let Some(started) = blog.started_at {
        data.insert("coverageStartTime".into(), json!(timestamp(started)));
        data.insert("datePublished".into(), json!(timestamp(started)));
    }
    if let (Some(ended), dl::LiveBlogStatus::Ended) = (blog.ended_at, blog.status) {
        data.insert("coverageEndTime".into(), json!(timestamp(ended)));
    }
    let modified = updates
        .iter()
        .map(|(entry, _)| entry.edited_at.unwrap_or(entry.posted_at))
        .chain([blog.updated_at])
        .max()
        .unwrap_or(blog.updated_at);
    data.insert("dateModified".into(), json!(timestamp(modified)));
    data.insert("articleSection".into(), json!(section.name));
    data.insert("publisher".into(), publisher(site));
    let updates: Vec<Value> = updates
        .iter()
        .map(|(entry, author)| blog_posting(site, entry, author.as_ref()))
        .collect();
    data.insert("liveBlogUpdate".into(), Value::Array(updates));
    Value::Object(data)
}

/// JSON text that can sit inside a `<script>` element as it is: `<`, `>`
/// and `&` are written as `\u003c`, `\u003e` and `\u0026` (equal JSON), so
/// that no headline can close the element (`</script>`) or open a comment.
pub fn script_text(data: &Value) -> String {
    let json = data.to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            // Line terminators JavaScript once did not allow in strings.
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn article_type(kind: ArticleKind) -> &'static str {
    match kind {
        ArticleKind::Analysis => "AnalysisNewsArticle",
        ArticleKind::Opinion => "OpinionNewsArticle",
        ArticleKind::Explainer => "BackgroundNewsArticle",
        ArticleKind::News | ArticleKind::Feature | ArticleKind::Interview => "NewsArticle",
    }
}

fn blog_posting(site: &SiteConfig, entry: &dl::LiveEntry, author: Option<&dc::Author>) -> Value {
    let text = entry.body.text().trim();
    let mut data = Map::new();
    data.insert("@type".into(), json!("BlogPosting"));
    data.insert("headline".into(), json!(headline_of(text)));
    data.insert("articleBody".into(), json!(text));
    data.insert("datePublished".into(), json!(timestamp(entry.posted_at)));
    if let Some(edited) = entry.edited_at {
        data.insert("dateModified".into(), json!(timestamp(edited)));
    }
    if let Some(author) = author {
        data.insert("author".into(), person(site, author));
    }
    let images: Vec<Value> = entry.media.iter().filter_map(image).collect();
    if !images.is_empty() {
        data.insert("image".into(), Value::Array(images));
    }
    Value::Object(data)
}

/// An entry's headline: its first 110 characters (what Google shows), cut
/// at a word.
fn headline_of(text: &str) -> String {
    const MAX_CHARS: usize = 110;
    let first_line = text.lines().next().unwrap_or_default();
    if first_line.chars().count() <= MAX_CHARS {
        return first_line.to_owned();
    }
    let cut: String = first_line.chars().take(MAX_CHARS - 1).collect();
    let at_word = cut.rfind(' ').map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end())
}

fn person(site: &SiteConfig, author: &dc::Author) -> Value {
    let mut data = Map::new();
    data.insert("@type".into(), json!("Person"));
    data.insert("name".into(), json!(author.name));
    if !author.title.is_empty() {
        data.insert("jobTitle".into(), json!(author.title));
    }
    data.insert(
        "url".into(),
        json!(format!("{}/authors/{}", site.url, author.slug)),
    );
    if let Some(avatar) = &author.avatar_url {
        data.insert("image".into(), json!(avatar.as_str()));
    }
    Value::Object(data)
}

fn publisher(site: &SiteConfig) -> Value {
    json!({
        "@type": "NewsMediaOrganization",
        "name": site.name,
        "legalName": site.publisher.name,
        "url": site.url,
    })
}

/// A photo as an `ImageObject`; a video by its poster, if it has one.
fn image(media: &dc::Media) -> Option<Value> {
    let url = match media.kind {
        MediaKind::Photo => media.url.as_str(),
        MediaKind::Video => media.poster_url.as_ref()?.as_str(),
    };
    let mut data = Map::new();
    data.insert("@type".into(), json!("ImageObject"));
    data.insert("url".into(), json!(url));
    if let (Some(width), Some(height), MediaKind::Photo) = (media.width, media.height, media.kind) {
        data.insert("width".into(), json!(width));
        data.insert("height".into(), json!(height));
    }
    if !media.caption.is_empty() {
        data.insert("caption".into(), json!(media.caption));
    }
    if !media.credit.is_empty() {
        data.insert("creditText".into(), json!(media.credit));
    }
    Some(Value::Object(data))
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_text_cannot_close_its_element() {
        let data = json!({ "headline": "</script><script>alert(1)</script> & <!--" });
        let text = script_text(&data);
        assert!(
            !text.contains('<') && !text.contains('>') && !text.contains('&'),
            "{text}"
        );
        let back: Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back, data, "and the same JSON");
    }

    #[test]
    fn entry_headlines_are_cut_at_a_word() {
        assert_eq!(
            headline_of("The vote passes.\nMore soon."),
            "The vote passes."
        );
        let long = "word ".repeat(40);
        let headline = headline_of(&long);
        assert!(headline.chars().count() <= 110, "{headline}");
        assert!(headline.ends_with("word…"), "{headline}");
    }
}
