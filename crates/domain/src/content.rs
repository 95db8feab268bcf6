//! Sections, authors, tags and articles: the published record of the site.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::html::SafeHtml;
use crate::ids::{ArticleId, AuthorId, SectionId, TagId};
use crate::text::{Slug, WebUrl, multi_line, single_line};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub id: SectionId,
    pub slug: Slug,
    pub name: String,
    pub description: String,
    /// Order on the site's navigation bar.
    pub position: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub id: AuthorId,
    pub slug: Slug,
    pub name: String,
    /// Their role on the desk, e.g. "Senior analyst".
    pub title: String,
    pub bio: String,
    pub avatar_url: Option<WebUrl>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub id: TagId,
    pub slug: Slug,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ArticleKind {
    News,
    Analysis,
    Feature,
    Interview,
    Opinion,
    Explainer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ArticleStatus {
    Draft,
    Scheduled,
    Published,
    Archived,
}

/// Storage names of the enums, shared by every repository so that SQLite and
/// PostgreSQL rows read the same.
macro_rules! storage_names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $name),+ }
            }

            pub fn parse(raw: &str) -> Result<Self> {
                match raw {
                    $($name => Ok(<$ty>::$variant),)+
                    other => Err(Error::internal(format!(
                        concat!("unknown ", stringify!($ty), " {:?} in storage"), other
                    ))),
                }
            }
        }
    };
}
pub(crate) use storage_names;

storage_names!(ArticleKind {
    News => "NEWS", Analysis => "ANALYSIS", Feature => "FEATURE",
    Interview => "INTERVIEW", Opinion => "OPINION", Explainer => "EXPLAINER",
});
storage_names!(ArticleStatus {
    Draft => "DRAFT", Scheduled => "SCHEDULED", Published => "PUBLISHED", Archived => "ARCHIVED",
});
storage_names!(MediaKind { Photo => "PHOTO", Video => "VIDEO" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MediaKind {
    Photo,
    Video,
}

/// A photo or video by reference: the files live on the image and video
/// CDNs, the API carries what a page needs to render them accessibly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    pub kind: MediaKind,
    pub url: WebUrl,
    pub caption: String,
    pub credit: String,
    pub alt: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_seconds: Option<u32>,
    pub poster_url: Option<WebUrl>,
}

/// Unvalidated media as clients send it.
#[derive(Debug, Clone, Default)]
pub struct MediaInput {
    pub kind: Option<MediaKind>,
    pub url: String,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub alt: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_seconds: Option<i32>,
    pub poster_url: Option<String>,
}

impl TryFrom<MediaInput> for Media {
    type Error = Error;

    fn try_from(input: MediaInput) -> Result<Self> {
        let kind = input.kind.unwrap_or(MediaKind::Photo);
        let dimension = |field: &str, value: Option<i32>| -> Result<Option<u32>> {
            value
                .map(|v| match u32::try_from(v) {
                    Ok(v @ 1..=20_000) => Ok(v),
                    _ => Err(Error::invalid(field, "must be between 1 and 20000 pixels")),
                })
                .transpose()
        };
        let duration_seconds = input
            .duration_seconds
            .map(|v| match u32::try_from(v) {
                Ok(v @ 1..=86_400) => Ok(v),
                _ => Err(Error::invalid(
                    "durationSeconds",
                    "must be between 1 and 86400",
                )),
            })
            .transpose()?;
        if kind == MediaKind::Photo && (duration_seconds.is_some() || input.poster_url.is_some()) {
            return Err(Error::invalid(
                "kind",
                "durationSeconds and posterUrl are for videos only",
            ));
        }
        let text = |field: &str, value: Option<String>, max| {
            single_line(value.as_deref().unwrap_or(""), 0, max).map_err(|e| e.at(field))
        };
        let alt = text("alt", input.alt, 300)?;
        if kind == MediaKind::Photo && alt.is_empty() {
            return Err(Error::invalid(
                "alt",
                "a photo needs alt text for screen readers",
            ));
        }
        Ok(Media {
            kind,
            url: WebUrl::parse(&input.url).map_err(|e| e.at("url"))?,
            caption: text("caption", input.caption, 500)?,
            credit: text("credit", input.credit, 200)?,
            alt,
            width: dimension("width", input.width)?,
            height: dimension("height", input.height)?,
            duration_seconds,
            poster_url: input
                .poster_url
                .map(|u| WebUrl::parse(&u).map_err(|e| e.at("posterUrl")))
                .transpose()?,
        })
    }
}

/// Where a syndicated item came from; shown as "Read more on {host}".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    pub url: WebUrl,
}

impl Source {
    pub fn parse(name: &str, url: &str) -> Result<Self> {
        Ok(Source {
            name: single_line(name, 1, 120).map_err(|e| e.at("name"))?,
            url: WebUrl::parse(url).map_err(|e| e.at("url"))?,
        })
    }

    pub fn read_more(&self) -> String {
        format!("Read more on {}", self.url.host())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub id: ArticleId,
    pub slug: Slug,
    pub headline: String,
    pub standfirst: String,
    pub body: ArticleBody,
    /// Words in the body, known whether or not the body was read.
    pub word_count: u32,
    pub kind: ArticleKind,
    pub status: ArticleStatus,
    pub section_id: SectionId,
    /// Bylines in the order they are printed.
    pub author_ids: Vec<AuthorId>,
    pub tag_ids: Vec<TagId>,
    pub breaking: bool,
    pub hero: Option<Media>,
    pub media: Vec<Media>,
    pub source: Option<Source>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Bumped by every write; `updateArticle` must name the version it read.
    pub version: i32,
}

impl Article {
    pub fn is_public(&self) -> bool {
        self.status == ArticleStatus::Published
    }

    /// Replaces the body, keeping the word count in step with it.
    pub fn set_body(&mut self, body: SafeHtml) {
        self.word_count = body.word_count();
        self.body = ArticleBody::Read(body);
    }

    /// Minutes at an adult's 230 words a minute, rounded up (see
    /// [`SafeHtml::reading_minutes`]), from the stored word count.
    pub fn reading_minutes(&self) -> u32 {
        crate::html::reading_minutes(self.word_count)
    }
}

/// An article's body as a read brought it back. Lists of headlines leave
/// it in the database: it is most of an article's bytes, and a front page
/// never shows it. Writes always read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArticleBody {
    Read(SafeHtml),
    /// Left in the database by the read ([`crate::ports::ArticleParts`]).
    Unread,
}

impl ArticleBody {
    /// The body, if the read brought it back.
    pub fn read(&self) -> Option<&SafeHtml> {
        match self {
            ArticleBody::Read(body) => Some(body),
            ArticleBody::Unread => None,
        }
    }

    /// The body of an article read for a write, which always reads it.
    pub fn for_write(&self) -> Result<&SafeHtml> {
        self.read()
            .ok_or_else(|| Error::internal("an article was written without its body"))
    }
}

/// Field rules shared by create and update. Each returns the error already
/// labelled with the input field's name.
pub mod rules {
    use super::*;

    pub fn headline(raw: &str) -> Result<String> {
        single_line(raw, 1, 200).map_err(|e| e.at("headline"))
    }

    pub fn standfirst(raw: &str) -> Result<String> {
        multi_line(raw, 600).map_err(|e| e.at("standfirst"))
    }

    pub fn body(raw: &str) -> Result<SafeHtml> {
        SafeHtml::clean(raw).map_err(|e| e.at("body"))
    }

    pub fn slug(field: &str, raw: &str) -> Result<Slug> {
        Slug::parse(raw).map_err(|e| e.at(field))
    }

    pub fn person_name(raw: &str) -> Result<String> {
        single_line(raw, 1, 120).map_err(|e| e.at("name"))
    }

    pub fn title(raw: &str) -> Result<String> {
        single_line(raw, 0, 120).map_err(|e| e.at("title"))
    }

    pub fn bio(raw: &str) -> Result<String> {
        multi_line(raw, 2000).map_err(|e| e.at("bio"))
    }

    pub fn optional_url(field: &str, raw: Option<&str>) -> Result<Option<WebUrl>> {
        raw.filter(|s| !s.trim().is_empty())
            .map(|s| WebUrl::parse(s).map_err(|e| e.at(field)))
            .transpose()
    }

    /// Tag names as editors type them: trimmed, de-duplicated by slug, at
    /// most 20 per article.
    pub fn tag_names(raw: &[String]) -> Result<Vec<(Slug, String)>> {
        if raw.len() > 20 {
            return Err(Error::invalid("tags", "an article has at most 20 tags"));
        }
        let mut tags: Vec<(Slug, String)> = Vec::with_capacity(raw.len());
        for (i, name) in raw.iter().enumerate() {
            let field = format!("tags[{i}]");
            let name = single_line(name, 1, 60).map_err(|e| e.at(&field))?;
            let slug = Slug::derive(&name).map_err(|e| e.at(&field))?;
            if !tags.iter().any(|(s, _)| *s == slug) {
                tags.push((slug, name));
            }
        }
        Ok(tags)
    }

    pub fn media(raw: Vec<MediaInput>) -> Result<Vec<Media>> {
        if raw.len() > 50 {
            return Err(Error::invalid("media", "at most 50 media items"));
        }
        raw.into_iter()
            .enumerate()
            .map(|(i, m)| Media::try_from(m).map_err(|e| e.at(&format!("media[{i}]"))))
            .collect()
    }
}

/// A validated request to create an article. References (section, authors)
/// are resolved against the store by the newsroom service.
#[derive(Debug, Clone)]
pub struct NewArticle {
    pub headline: String,
    pub slug: Slug,
    pub standfirst: String,
    pub body: SafeHtml,
    pub kind: ArticleKind,
    pub section: Slug,
    pub authors: Vec<AuthorId>,
    pub tags: Vec<(Slug, String)>,
    pub breaking: bool,
    pub hero: Option<Media>,
    pub media: Vec<Media>,
    pub source: Option<Source>,
}

/// A validated partial update: `None` leaves a field as it is. For optional
/// fields, `Some(None)` clears them.
#[derive(Debug, Clone, Default)]
pub struct ArticlePatch {
    pub headline: Option<String>,
    pub slug: Option<Slug>,
    pub standfirst: Option<String>,
    pub body: Option<SafeHtml>,
    pub kind: Option<ArticleKind>,
    pub section: Option<Slug>,
    pub authors: Option<Vec<AuthorId>>,
    pub tags: Option<Vec<(Slug, String)>>,
    pub breaking: Option<bool>,
    pub hero: Option<Option<Media>>,
    pub media: Option<Vec<Media>>,
    pub source: Option<Option<Source>>,
}

impl ArticlePatch {
    pub fn is_empty(&self) -> bool {
        self.headline.is_none()
            && self.slug.is_none()
            && self.standfirst.is_none()
            && self.body.is_none()
            && self.kind.is_none()
            && self.section.is_none()
            && self.authors.is_none()
            && self.tags.is_none()
            && self.breaking.is_none()
            && self.hero.is_none()
            && self.media.is_none()
            && self.source.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct NewAuthor {
    pub slug: Slug,
    pub name: String,
    pub title: String,
    pub bio: String,
    pub avatar_url: Option<WebUrl>,
}

#[derive(Debug, Clone, Default)]
pub struct AuthorPatch {
    pub slug: Option<Slug>,
    pub name: Option<String>,
    pub title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<Option<WebUrl>>,
}

#[derive(Debug, Clone)]
pub struct NewSection {
    pub slug: Slug,
    pub name: String,
    pub description: String,
    pub position: i32,
}

/// The five desks of the site, created by the first migration's seed.
pub fn standard_sections() -> Vec<NewSection> {
    [
        (
            "international-relations",
            "International Relations",
            "Diplomacy, alliances, conflicts and the powers that shape them.",
        ),
        (
            "domestic-policies",
            "Domestic Policies",
            "Government at home: health, housing, migration, justice and public services.",
        ),
        (
            "economic-developments",
            "Economic Developments",
            "Growth, inflation, budgets, trade and the policies behind them.",
        ),
        (
            "electoral-processes",
            "Electoral Processes",
            "Campaigns, polls, results and the rules of the vote.",
        ),
        (
            "legislative-updates",
            "Legislative Updates",
            "Bills, votes and debates in parliaments and the courts that test them.",
        ),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (slug, name, description))| NewSection {
        slug: Slug::parse(slug).expect("standard section slugs are valid"),
        name: name.to_owned(),
        description: description.to_owned(),
        position: i32::try_from(i).unwrap_or(i32::MAX),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> MediaInput {
        MediaInput {
            url: "https://img.example/a.jpg".into(),
            alt: Some("A vote".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_photo_needs_alt_text() {
        let err = Media::try_from(MediaInput {
            alt: None,
            ..photo()
        })
        .unwrap_err();
        assert!(matches!(err, Error::Invalid { ref field, .. } if field == "alt"));
    }

    #[test]
    fn a_photo_cannot_carry_a_duration() {
        assert!(
            Media::try_from(MediaInput {
                duration_seconds: Some(3),
                ..photo()
            })
            .is_err()
        );
    }

    #[test]
    fn a_video_may_have_a_duration_and_poster() {
        let video = Media::try_from(MediaInput {
            kind: Some(MediaKind::Video),
            duration_seconds: Some(95),
            poster_url: Some("https://img.example/p.jpg".into()),
            ..photo()
        })
        .unwrap();
        assert_eq!(video.duration_seconds, Some(95));
    }

    #[test]
    fn media_dimensions_must_be_positive() {
        assert!(
            Media::try_from(MediaInput {
                width: Some(0),
                ..photo()
            })
            .is_err()
        );
        assert!(
            Media::try_from(MediaInput {
                width: Some(-5),
                ..photo()
            })
            .is_err()
        );
    }

    #[test]
    fn media_errors_name_their_position() {
        let err = rules::media(vec![
            photo(),
            MediaInput {
                url: "javascript:x".into(),
                ..photo()
            },
        ]);
        assert!(matches!(err, Err(Error::Invalid { ref field, .. }) if field == "media[1].url"));
    }

    #[test]
    fn tag_names_are_deduplicated_by_slug() {
        let tags = rules::tag_names(&["NATO".into(), "nato".into(), "North Korea".into()]).unwrap();
        let slugs: Vec<_> = tags.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(slugs, ["nato", "north-korea"]);
    }

    #[test]
    fn a_blank_tag_name_is_rejected_with_its_index() {
        let err = rules::tag_names(&["NATO".into(), "  ".into()]).unwrap_err();
        assert!(matches!(err, Error::Invalid { ref field, .. } if field == "tags[1]"));
    }

    #[test]
    fn syndicated_items_read_more_on_the_source_host() {
        let source =
            Source::parse("The Independent", "https://www.independent.co.uk/news/x").unwrap();
        assert_eq!(source.read_more(), "Read more on independent.co.uk");
    }

    #[test]
    fn storage_names_round_trip() {
        for kind in ArticleKind::ALL {
            assert_eq!(ArticleKind::parse(kind.as_str()).unwrap(), *kind);
        }
        assert!(ArticleStatus::parse("LIVE").is_err());
    }

    #[test]
    fn there_are_five_standard_sections() {
        assert_eq!(standard_sections().len(), 5);
    }
}
