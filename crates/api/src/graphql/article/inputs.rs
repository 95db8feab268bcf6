//! Article arguments as clients send them, and their conversion into the
//! domain's request types. Conversions decode global ids and slugs and name
//! the input path of anything wrong (`input.authors[1]`), so the error says
//! which argument to fix.

use async_graphql::{Enum, ID, InputObject, MaybeUndefined};
use chrono::{DateTime, Utc};
use domain::ids::{ArticleId, AuthorId};
use domain::inputs as di;
use domain::ports;
use domain::text::Slug;

use crate::graphql::article::types::{ArticleKind, ArticleStatus};
use crate::graphql::clearable;
use crate::graphql::ids::from_global;
use crate::graphql::media::{MediaInput, SourceInput, media_inputs};

/// Narrows an article list. All given conditions must hold.
#[derive(InputObject, Debug, Clone, Default)]
#[graphql(name = "ArticleFilter")]
pub struct ArticleFilterInput {
    /// Section slug, e.g. `international-relations`.
    pub section: Option<String>,
    /// Tag slug, e.g. `nato`.
    pub tag: Option<String>,
    /// Author slug, e.g. `jana-novakova`.
    pub author: Option<String>,
    pub kind: Option<ArticleKind>,
    pub breaking: Option<bool>,
    /// Published at or after this time.
    pub published_after: Option<DateTime<Utc>>,
    /// Published before this time.
    pub published_before: Option<DateTime<Utc>>,
    /// Desk only: readers see published articles whatever they ask for, so
    /// a reader asking for another status gets an empty list.
    pub status: Option<ArticleStatus>,
}

impl ArticleFilterInput {
    /// `field` is the argument's name, for error paths (`filter.tag`).
    pub fn into_domain(self, field: &str) -> domain::Result<ports::ArticleFilter> {
        let slug = |name: &str, raw: Option<String>| {
            raw.map(|s| Slug::parse(&s).map_err(|e| e.at(&format!("{field}.{name}"))))
                .transpose()
        };
        Ok(ports::ArticleFilter {
            section: slug("section", self.section)?,
            tag: slug("tag", self.tag)?,
            author: slug("author", self.author)?,
            kind: self.kind.map(Into::into),
            breaking: self.breaking,
            published_after: self.published_after,
            published_before: self.published_before,
            status: self.status.map(Into::into),
        })
    }
}

/// What to sort articles by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArticleOrderField {
    /// Publication time; unpublished drafts (desk only) by creation time.
    #[default]
    PublishedAt,
    UpdatedAt,
    CreatedAt,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    Asc,
    /// Newest first.
    #[default]
    Desc,
}

/// The order of an article list; newest published first by default.
#[derive(InputObject, Debug, Clone, Copy, Default)]
#[graphql(name = "ArticleOrder")]
pub struct ArticleOrderInput {
    #[graphql(default)]
    pub field: ArticleOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl From<ArticleOrderInput> for ports::ArticleOrder {
    fn from(order: ArticleOrderInput) -> Self {
        ports::ArticleOrder {
            sort: match order.field {
                ArticleOrderField::PublishedAt => ports::ArticleSort::PublishedAt,
                ArticleOrderField::UpdatedAt => ports::ArticleSort::UpdatedAt,
                ArticleOrderField::CreatedAt => ports::ArticleSort::CreatedAt,
            },
            direction: match order.direction {
                OrderDirection::Asc => ports::SortDirection::Asc,
                OrderDirection::Desc => ports::SortDirection::Desc,
            },
        }
    }
}

/// A new article. It starts as a `DRAFT`; publish it with `publishArticle`.
#[derive(InputObject, Debug, Clone)]
pub struct CreateArticleInput {
    /// 1 to 200 characters on one line.
    pub headline: String,
    /// Derived from the headline when left out.
    pub slug: Option<String>,
    pub standfirst: Option<String>,
    /// HTML; anything outside the safe allow-list is removed.
    pub body: Option<String>,
    #[graphql(default_with = "ArticleKind::News")]
    pub kind: ArticleKind,
    /// Section slug.
    pub section: String,
    /// Author ids in byline order.
    #[graphql(default)]
    pub authors: Vec<ID>,
    /// Tag names; tags that do not exist yet are created.
    #[graphql(default)]
    pub tags: Vec<String>,
    #[graphql(default)]
    pub breaking: bool,
    pub hero: Option<MediaInput>,
    #[graphql(default)]
    pub media: Vec<MediaInput>,
    /// Set for syndicated articles.
    pub source: Option<SourceInput>,
}

impl CreateArticleInput {
    pub fn into_domain(self) -> domain::Result<di::CreateArticleInput> {
        Ok(di::CreateArticleInput {
            authors: author_ids(&self.authors)?,
            headline: self.headline,
            slug: self.slug,
            standfirst: self.standfirst,
            body: self.body,
            kind: self.kind.into(),
            section: self.section,
            tags: self.tags,
            breaking: self.breaking,
            hero: self.hero.map(Into::into),
            media: media_inputs(self.media),
            source: self.source.map(Into::into),
        })
    }
}

/// Changes to an article. Left-out fields stay as they are; `hero` and
/// `source` are cleared by passing `null`.
#[derive(InputObject, Debug, Clone)]
pub struct UpdateArticleInput {
    pub id: ID,
    /// The `version` you read; if someone saved in between, the update is
    /// refused with `CONFLICT` and nothing changes.
    pub expected_version: i32,
    pub headline: Option<String>,
    pub slug: Option<String>,
    pub standfirst: Option<String>,
    pub body: Option<String>,
    pub kind: Option<ArticleKind>,
    /// Section slug.
    pub section: Option<String>,
    /// Author ids in byline order; replaces the bylines.
    pub authors: Option<Vec<ID>>,
    /// Tag names; replaces the tags.
    pub tags: Option<Vec<String>>,
    pub breaking: Option<bool>,
    pub hero: MaybeUndefined<MediaInput>,
    /// Replaces the media list.
    pub media: Option<Vec<MediaInput>>,
    pub source: MaybeUndefined<SourceInput>,
}

impl UpdateArticleInput {
    pub fn into_domain(self) -> domain::Result<(ArticleId, i32, di::UpdateArticleInput)> {
        let id = from_global("id", &self.id)?;
        let update = di::UpdateArticleInput {
            authors: self.authors.as_deref().map(author_ids).transpose()?,
            headline: self.headline,
            slug: self.slug,
            standfirst: self.standfirst,
            body: self.body,
            kind: self.kind.map(Into::into),
            section: self.section,
            tags: self.tags,
            breaking: self.breaking,
            hero: clearable(self.hero.map_value(Into::into)),
            media: self.media.map(media_inputs),
            source: clearable(self.source.map_value(Into::into)),
        };
        Ok((id, self.expected_version, update))
    }
}

fn author_ids(ids: &[ID]) -> domain::Result<Vec<AuthorId>> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| from_global(&format!("authors[{i}]"), id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::ids::to_global;

    #[test]
    fn a_malformed_filter_slug_names_its_argument() {
        let err = ArticleFilterInput {
            tag: Some("Not A Slug".into()),
            ..Default::default()
        }
        .into_domain("filter")
        .unwrap_err();
        assert!(matches!(err, domain::Error::Invalid { ref field, .. } if field == "filter.tag"));
    }

    #[test]
    fn a_wrong_author_id_names_its_position() {
        let ids = [to_global(AuthorId::new()), to_global(ArticleId::new())];
        let err = author_ids(&ids).unwrap_err();
        assert!(matches!(err, domain::Error::Invalid { ref field, .. } if field == "authors[1]"));
    }

    #[test]
    fn the_default_order_is_newest_published_first() {
        let order: ports::ArticleOrder = ArticleOrderInput::default().into();
        assert_eq!(order, ports::ArticleOrder::default());
        assert_eq!(order.cursor_name(), "articles.published.desc");
    }
}
