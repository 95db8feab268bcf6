//! `articlePublished(section, tag)` and `articleUpdated(id)`: articles as
//! they go out and change, for front pages and article pages.
//!
//! Both follow the newsroom's articles stream, whose events carry only the
//! article's id (and section): subscribers want the article as it is now,
//! so each matching event loads it, as an anonymous reader would see it.
//! An article that is no longer published by then is skipped.

use std::sync::Arc;

use async_graphql::{Context, ID, Subscription};
use domain::content::Article as DomainArticle;
use domain::events::{Event, Stream};
use domain::ids::{ArticleId, SectionId, TagId};
use domain::text::Slug;
use domain::{Caller, Newsroom};
use futures::stream::{self, StreamExt};

use crate::graphql::article::types::Article;
use crate::graphql::context::newsroom;
use crate::graphql::errors::ApiError;
use crate::graphql::fanout::{Events, Relevance, deliver, hand_over, only, pinned};
use crate::graphql::ids::from_global;
use crate::graphql::subscription::EventStream;

#[derive(Default)]
pub struct ArticleSubscriptions;

#[Subscription]
impl ArticleSubscriptions {
    /// Articles as they are published (including scheduled ones when their
    /// time comes), optionally only those in one section (by slug: an
    /// unknown section is `BAD_USER_INPUT`) and/or with one tag (by slug; a
    /// tag nobody has used yet is allowed and matches once it is). Starts
    /// with the next publication: there is no replay.
    async fn article_published(
        &self,
        ctx: &Context<'_>,
        section: Option<String>,
        tag: Option<String>,
    ) -> Result<EventStream<Article>, ApiError> {
        let newsroom = newsroom(ctx)?.clone();
        let section = match section {
            None => None,
            Some(slug) => Some(
                newsroom
                    .section(&slug)
                    .await?
                    .ok_or_else(|| {
                        domain::Error::invalid("section", format!("there is no section `{slug}`"))
                    })?
                    .id,
            ),
        };
        let tag = tag
            .map(|raw| Slug::parse(&raw).map_err(|e| e.at("tag")))
            .transpose()?
            .map(|slug| TagFilter { slug, id: None });
        let relevant: Relevance = Some(Arc::new(move |event: &Event| match event {
            Event::ArticlePublished { section_id, .. } => section.is_none_or(|s| s == *section_id),
            _ => false,
        }));
        let events = match pinned(ctx, Stream::Articles) {
            Some(event) => only(event, &relevant),
            None => {
                let feed = newsroom.feed(Stream::Articles, None).await?;
                hand_over(ctx, Stream::Articles, feed, relevant, None)
            }
        };
        let published = Published {
            newsroom,
            events,
            section,
            tag,
        };
        let articles = stream::unfold(published, |mut p| async move {
            p.next().await.map(|item| (item, p))
        });
        Ok(deliver(ctx, articles.map(|item| item.map(Article))))
    }

    /// One article's changes as they are saved, while it is published: the
    /// article as it is after each change. Edits made while it is not
    /// published are not shown (nor is its unpublishing). An article that
    /// does not exist or is not published is `NOT_FOUND`; a malformed id is
    /// `BAD_USER_INPUT`.
    async fn article_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<EventStream<Article>, ApiError> {
        let newsroom = newsroom(ctx)?.clone();
        let id: ArticleId = from_global("id", &id)?;
        let relevant: Relevance = Some(Arc::new(
            move |event: &Event| matches!(event, Event::ArticleUpdated { article_id, .. } if *article_id == id),
        ));
        let events = match pinned(ctx, Stream::Articles) {
            // The article is loaded below, as for every event.
            Some(event) => only(event, &relevant),
            None => {
                // Listen first, so that nothing saved after the check is
                // missed.
                let feed = newsroom.feed(Stream::Articles, None).await?;
                if !newsroom.article_is_published(id).await? {
                    return Err(domain::Error::NotFound("article").into());
                }
                hand_over(ctx, Stream::Articles, feed, relevant, None)
            }
        };
        let articles = events.filter_map(move |item| {
            let newsroom = newsroom.clone();
            async move {
                let record = match item {
                    Ok(record) => record,
                    Err(error) => return Some(Err(error)),
                };
                let Event::ArticleUpdated {
                    article_id,
                    version,
                    ..
                } = record.event
                else {
                    return None;
                };
                if article_id != id {
                    return None;
                }
                match public_article(&newsroom, id).await {
                    // Changed again since: that change's own event brings
                    // it, so the subscriber sees each version once.
                    Ok(Some(article)) if article.version > version => None,
                    Ok(article) => article.map(|a| Ok(Article(a))),
                    Err(error) => Some(Err(error)),
                }
            }
        });
        Ok(deliver(ctx, articles))
    }
}

async fn public_article(
    newsroom: &Newsroom,
    id: ArticleId,
) -> domain::Result<Option<DomainArticle>> {
    newsroom.article_by_id(&Caller::anonymous(), id).await
}

/// A tag to match by slug; its id is looked up once the tag exists.
struct TagFilter {
    slug: Slug,
    id: Option<TagId>,
}

/// The state of an `articlePublished` subscription.
struct Published {
    newsroom: Newsroom,
    events: Events,
    section: Option<SectionId>,
    tag: Option<TagFilter>,
}

impl Published {
    /// The next published article that matches, or the error that ends
    /// the subscription.
    async fn next(&mut self) -> Option<domain::Result<DomainArticle>> {
        loop {
            let record = match self.events.next().await? {
                Ok(record) => record,
                Err(error) => return Some(Err(error)),
            };
            let Event::ArticlePublished {
                article_id,
                section_id,
                ..
            } = record.event
            else {
                continue;
            };
            if self.section.is_some_and(|wanted| wanted != section_id) {
                continue;
            }
            match self.matching(article_id).await {
                Ok(Some(article)) => return Some(Ok(article)),
                Ok(None) => continue,
                Err(error) => return Some(Err(error)),
            }
        }
    }

    async fn matching(&mut self, id: ArticleId) -> domain::Result<Option<DomainArticle>> {
        let tag = match &mut self.tag {
            None => None,
            Some(TagFilter { id: Some(tag), .. }) => Some(*tag),
            Some(filter) => match self.newsroom.tag(filter.slug.as_str()).await? {
                Some(tag) => {
                    filter.id = Some(tag.id);
                    Some(tag.id)
                }
                // No article can carry a tag that does not exist yet.
                None => return Ok(None),
            },
        };
        let article = public_article(&self.newsroom, id).await?;
        Ok(article.filter(|a| tag.is_none_or(|tag| a.tag_ids.contains(&tag))))
    }
}
