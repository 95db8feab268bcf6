//! Importing feed items as syndicated articles (see [`crate::syndication`]).

use chrono::{DateTime, Utc};

use super::Newsroom;
use crate::auth::{Caller, Role, Visibility};
use crate::clock;
use crate::content::{
    Article, ArticleBody, ArticleKind, ArticleStatus, Author, Media, MediaInput, MediaKind, Source,
    rules,
};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::html::SafeHtml;
use crate::ids::{ArticleId, AuthorId};
use crate::ports::ArticleParts;
use crate::syndication::{
    FeedItem, FeedOrigin, Imported, SectionRules, SyndicatedItem, canonical_link, fit_line,
    fit_text, guid,
};
use crate::text::{Slug, multi_line, single_line};

/// Feeds carry whatever their CMS holds; what does not fit is dropped
/// rather than failing the story.
const MAX_BYLINES: usize = 10;
const MAX_TAGS: usize = 20;

impl Newsroom {
    /// Makes `item` of `origin` an article crediting its publisher: a draft,
    /// or published (at the item's own time, if that has passed) when
    /// `publish`. An item imported before, by this or any node, is left
    /// alone. Errors name the item's field at fault; nothing is written
    /// then.
    pub async fn import_item(
        &self,
        caller: &Caller,
        origin: &FeedOrigin,
        item: FeedItem,
        rules: &SectionRules,
        publish: bool,
    ) -> Result<Imported> {
        caller.require(Role::Editor)?;
        let guid = guid(item.guid.as_deref())?;
        // Without a link there is nothing to credit; Atom ids and RSS
        // permalink GUIDs are often the story's address.
        let link = item
            .link
            .as_deref()
            .or(guid.as_deref().filter(|g| g.starts_with("http")))
            .ok_or_else(|| Error::invalid("link", "the item has no link to credit"))?;
        let link = canonical_link(link).map_err(|e| e.at("link"))?;
        if self
            .store
            .is_syndicated(&origin.guid_scope, guid.as_deref(), link.as_str())
            .await?
        {
            return Ok(Imported::AlreadyImported);
        }

        let headline = fit_line(item.title.as_deref().unwrap_or(""), 200);
        let headline = single_line(&headline, 1, 200).map_err(|e| e.at("title"))?;
        // Written for the publisher's page: relative links point there.
        let clean = |html: &str| SafeHtml::clean_relative_to(html, &link);
        let summary = item
            .summary
            .as_deref()
            .map(clean)
            .transpose()
            .map_err(|e| e.at("summary"))?;
        let body = match (item.content.as_deref(), &summary) {
            (Some(content), _) if !content.trim().is_empty() => {
                clean(content).map_err(|e| e.at("content"))?
            }
            (_, Some(summary)) => summary.clone(),
            (_, None) => SafeHtml::clean("")?,
        };
        if body.is_blank() {
            return Err(Error::invalid(
                "content",
                "the item has no text: neither content nor a summary",
            ));
        }
        let standfirst = summary.as_ref().map_or_else(
            || fit_text(body.text(), 300),
            |summary| fit_text(summary.text(), 600),
        );
        let standfirst = multi_line(&standfirst, 600).map_err(|e| e.at("summary"))?;
        let categories: Vec<String> = item
            .categories
            .iter()
            .map(|c| fit_line(c, 60))
            .filter(|c| single_line(c, 1, 60).is_ok() && Slug::derive(c).is_ok())
            .collect();
        let about = format!("{headline}\n{standfirst}\n{}", categories.join("\n"));
        let section = rules
            .section_for(&origin.location, &about)
            .ok_or_else(|| {
                Error::invalid(
                    "section",
                    "no rule sends this item to a section, and there is no default section",
                )
            })?
            .to_owned();
        let section_id = self.section_id("section", &section).await?;
        let (author_ids, new_authors) = self.bylines(&item.authors, &origin.publisher).await?;
        let tags = rules::tag_names(&categories.into_iter().take(MAX_TAGS).collect::<Vec<_>>())?;
        let source = Source::parse(&fit_line(&origin.publisher, 120), link.as_str())
            .map_err(|e| e.at("source"))?;
        let hero = item
            .image
            .and_then(|image| photo(image.url, image.caption, &headline, &source.name));

        let id = ArticleId::new();
        let now = clock::now();
        let published_at = publish.then(|| published_time(item.published, now));
        let article = Article {
            id,
            slug: self.free_slug(&headline, id).await?,
            headline,
            standfirst,
            word_count: body.word_count(),
            body: ArticleBody::Read(body),
            kind: ArticleKind::News,
            status: if publish {
                ArticleStatus::Published
            } else {
                ArticleStatus::Draft
            },
            section_id,
            author_ids,
            tag_ids: Vec::new(),
            breaking: false,
            hero,
            media: Vec::new(),
            source: Some(source),
            created_at: now,
            updated_at: now,
            published_at,
            scheduled_at: None,
            version: 1,
        };
        let events = if publish {
            let (article_id, section_id, version) = (id, section_id, 1);
            vec![
                Event::ArticleUpdated {
                    article_id,
                    section_id,
                    version,
                },
                Event::ArticlePublished {
                    article_id,
                    section_id,
                    version,
                },
            ]
        } else {
            Vec::new()
        };
        let record = SyndicatedItem {
            guid_scope: origin.guid_scope.clone(),
            guid,
            link,
            article_id: id,
            imported_at: now,
        };
        let Some((stored, records)) = self
            .store
            .insert_syndicated_article(&article, &tags, &new_authors, &record, &events)
            .await?
        else {
            return Ok(Imported::AlreadyImported);
        };
        self.announce(records).await;
        if !tags.is_empty() || !new_authors.is_empty() {
            self.bus.announce_change().await;
        }
        Ok(Imported::Created(Box::new(stored)))
    }

    /// Checks that every section the rules name exists, so that a typo in
    /// the configuration is reported once, up front, not on every item.
    pub async fn check_section_rules(&self, rules: &SectionRules) -> Result<()> {
        for slug in rules.sections() {
            self.section_id("section", slug).await?;
        }
        Ok(())
    }

    /// The authors of the bylines: those the newsroom knows (by the slug of
    /// their name), and new ones, to be stored with the article.
    async fn bylines(
        &self,
        names: &[String],
        publisher: &str,
    ) -> Result<(Vec<AuthorId>, Vec<Author>)> {
        let now = clock::now();
        let mut ids = Vec::new();
        let mut new_authors: Vec<Author> = Vec::new();
        let mut seen: Vec<Slug> = Vec::new();
        for name in names {
            let name = fit_line(name, 120);
            let (Ok(name), Ok(slug)) = (rules::person_name(&name), Slug::derive(&name)) else {
                continue;
            };
            if seen.contains(&slug) || ids.len() == MAX_BYLINES {
                continue;
            }
            seen.push(slug.clone());
            match self.store.author_by_slug(&slug).await? {
                Some(known) => ids.push(known.id),
                None => {
                    let author = Author {
                        id: AuthorId::new(),
                        slug,
                        name,
                        // What readers see beside the name: whose writer.
                        title: fit_line(publisher, 120),
                        bio: String::new(),
                        avatar_url: None,
                        created_at: now,
                        updated_at: now,
                    };
                    ids.push(author.id);
                    new_authors.push(author);
                }
            }
        }
        Ok((ids, new_authors))
    }

    /// The headline's slug, or, when an article has it already (two
    /// publishers' "Live: election results"), the slug with a piece of the
    /// new article's id.
    async fn free_slug(&self, headline: &str, id: ArticleId) -> Result<Slug> {
        let slug = Slug::derive(headline).map_err(|e| e.at("title"))?;
        let taken = self
            .store
            .article_by_slug(&slug, Visibility::Desk, ArticleParts::HEADLINES)
            .await?
            .is_some();
        if !taken {
            return Ok(slug);
        }
        let suffix = &id.0.simple().to_string()[24..];
        let stem: String = slug
            .as_str()
            .chars()
            .take(Slug::MAX_LEN - suffix.len() - 1)
            .collect();
        Slug::parse(&format!("{}-{suffix}", stem.trim_end_matches('-'))).map_err(|e| e.at("title"))
    }
}

/// When an imported story counts as published: when its publisher says,
/// unless that is still to come (a feed's clock, or a typo), then now.
fn published_time(published: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    published
        .map(clock::truncate)
        .filter(|at| *at <= now)
        .unwrap_or(now)
}

/// The item's picture as the article's hero, when it is a usable photo.
fn photo(url: String, caption: Option<String>, headline: &str, credit: &str) -> Option<Media> {
    let caption = caption.map(|c| fit_line(&c, 300)).filter(|c| !c.is_empty());
    let alt = caption.clone().unwrap_or_else(|| fit_line(headline, 300));
    let input = MediaInput {
        kind: Some(MediaKind::Photo),
        url,
        caption,
        credit: single_line(credit, 0, 120).ok(),
        alt: Some(alt),
        width: None,
        height: None,
        duration_seconds: None,
        poster_url: None,
    };
    Media::try_from(input).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_story_is_published_at_its_own_time_unless_that_is_to_come() {
        let now = clock::now();
        let earlier = now - chrono::Duration::hours(3);
        assert_eq!(published_time(Some(earlier), now), earlier);
        assert_eq!(
            published_time(Some(now + chrono::Duration::hours(1)), now),
            now
        );
        assert_eq!(published_time(None, now), now);
    }
}
