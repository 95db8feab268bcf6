//! Live blogs and their entries as readers and the desk see them.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use domain::events::{EventCursor, Stream};
use domain::ids::LiveEntryId;
use domain::live as dl;
use domain::page::PageRequest;
use domain::ports::LIVE_ENTRIES_CURSOR;

use crate::graphql::author::Author;
use crate::graphql::connection::{
    Connection, Edge, LiveEntryConnection, PageArgs, Total, page_cost,
};
use crate::graphql::context::{loaders, newsroom, site_config};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::{from_global, to_global};
use crate::graphql::media::Media;
use crate::graphql::section::Section;
use crate::graphql::structured;

/// Where a live blog is in its life.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::live::LiveBlogStatus")]
pub enum LiveBlogStatus {
    /// Announced, not started.
    Scheduled,
    /// Entries are being posted.
    Live,
    /// A break; entries may still be posted.
    Paused,
    /// Over; reopen it (set `LIVE`) to post again.
    Ended,
}

/// Rolling coverage of an event: a stream of short entries, newest first.
#[derive(Debug, Clone)]
pub struct LiveBlog(pub dl::LiveBlog);

#[Object]
impl LiveBlog {
    pub async fn id(&self) -> ID {
        to_global(self.0.id)
    }

    async fn slug(&self) -> &str {
        self.0.slug.as_str()
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn summary(&self) -> &str {
        &self.0.summary
    }

    async fn section(&self, ctx: &Context<'_>) -> ApiResult<Section> {
        Ok(Section(loaders(ctx)?.section(self.0.section_id).await?))
    }

    async fn status(&self) -> LiveBlogStatus {
        self.0.status.into()
    }

    /// When it first went live.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }

    /// When it ended; cleared if it is reopened.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The live blog page's path, `/live/{slug}`.
    async fn url(&self) -> String {
        format!("/live/{}", self.0.slug)
    }

    /// Structured data for search engines: schema.org `LiveBlogPosting`
    /// with its coverage times and the `updates` newest entries (at most
    /// 50) as `liveBlogUpdate`s. JSON text to put inside
    /// `<script type="application/ld+json">` as it is.
    async fn json_ld(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] updates: i32,
    ) -> ApiResult<String> {
        const MAX_UPDATES: i32 = 50;
        if !(0..=MAX_UPDATES).contains(&updates) {
            return Err(domain::Error::invalid(
                "updates",
                format!("must be between 0 and {MAX_UPDATES}"),
            )
            .into());
        }
        let loaders = loaders(ctx)?;
        let section = loaders.section(self.0.section_id).await?;
        let entries = if updates == 0 {
            Vec::new()
        } else {
            let page = PageRequest::parse(LIVE_ENTRIES_CURSOR, Some(updates), None, None, None)?;
            let entries = newsroom(ctx)?.live_entries(self.0.id, false, &page).await?;
            entries.items.into_iter().map(|(_, entry)| entry).collect()
        };
        let author_ids: Vec<_> = entries.iter().filter_map(|e| e.author_id).collect();
        let authors = loaders.authors(&author_ids).await?;
        let with_authors: Vec<_> = entries
            .into_iter()
            .map(|entry| {
                let author = entry
                    .author_id
                    .and_then(|id| authors.iter().find(|a| a.id == id).cloned());
                (entry, author)
            })
            .collect();
        let data =
            structured::live_blog_posting(site_config(ctx)?, &self.0, &section, &with_authors);
        Ok(structured::script_text(&data))
    }

    /// Entries, newest first. With `around` (an entry's id, from a shared
    /// link) the page is centred on that entry: about half newer, the entry,
    /// the rest older; `around` cannot be combined with `after`/`before`.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default)] key_events_only: bool,
        around: Option<ID>,
    ) -> ApiResult<LiveEntryConnection> {
        let newsroom = newsroom(ctx)?;
        let blog = self.0.id;
        let page = match around {
            Some(entry) => {
                if after.is_some() || before.is_some() {
                    return Err(domain::Error::invalid(
                        "around",
                        "cannot be combined with `after` or `before`",
                    )
                    .into());
                }
                let size = PageRequest::parse(LIVE_ENTRIES_CURSOR, first, None, last, None)?.limit;
                let entry: LiveEntryId = from_global("around", &entry)?;
                newsroom
                    .live_entries_around(blog, key_events_only, entry, size)
                    .await?
            }
            None => {
                let page = PageArgs {
                    first,
                    after,
                    last,
                    before,
                };
                let request = page.request(LIVE_ENTRIES_CURSOR)?;
                newsroom
                    .live_entries(blog, key_events_only, &request)
                    .await?
            }
        };
        let total = Total::LiveEntries {
            blog,
            key_events_only,
        };
        Ok(Connection::from_page(
            page,
            LIVE_ENTRIES_CURSOR,
            total,
            |cursor, entry| Edge {
                cursor,
                node: LiveEntry(entry),
            },
        ))
    }

    /// The entry the desk pinned to the top, if any.
    async fn pinned_entry(&self, ctx: &Context<'_>) -> ApiResult<Option<LiveEntry>> {
        Ok(loaders(ctx)?.pinned_entry(self.0.id).await?.map(LiveEntry))
    }

    /// The latest key events, newest first, for a summary box.
    async fn key_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(10)")] first: Option<i32>,
    ) -> ApiResult<Vec<LiveEntry>> {
        let first = first.unwrap_or(10);
        let request = PageRequest::parse(LIVE_ENTRIES_CURSOR, Some(first), None, None, None)?;
        let entries = loaders(ctx)?.key_events(self.0.id, request.limit).await?;
        Ok(entries.into_iter().map(LiveEntry).collect())
    }

    /// The position of this blog's latest event (an opaque token). Read it
    /// with the page, then subscribe with `liveBlog(id:, after:)` set to it
    /// to receive every update made since, with no gap between the page
    /// load and the subscription.
    async fn cursor(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let seq = loaders(ctx)?.blog_cursor(self.0.id).await?;
        let cursor = EventCursor {
            stream: Stream::LiveBlog(self.0.id),
            seq,
        };
        Ok(cursor.encode())
    }
}

/// One update in a live blog.
#[derive(Debug, Clone)]
pub struct LiveEntry(pub dl::LiveEntry);

#[Object]
impl LiveEntry {
    pub async fn id(&self) -> ID {
        to_global(self.0.id)
    }

    async fn live_blog(&self, ctx: &Context<'_>) -> ApiResult<LiveBlog> {
        let blog = loaders(ctx)?.live_blog(self.0.live_blog_id).await?;
        blog.map(LiveBlog).ok_or_else(|| {
            domain::Error::internal(format!(
                "live entry {} belongs to missing blog {}",
                self.0.id, self.0.live_blog_id
            ))
            .into()
        })
    }

    /// HTML, cleaned to the same allow-list as article bodies.
    async fn body(&self) -> &str {
        self.0.body.html()
    }

    async fn body_text(&self) -> &str {
        self.0.body.text()
    }

    async fn author(&self, ctx: &Context<'_>) -> ApiResult<Option<Author>> {
        match self.0.author_id {
            Some(id) => Ok(loaders(ctx)?.author(id).await?.map(Author)),
            None => Ok(None),
        }
    }

    /// Marked by the desk as a key moment (goal, vote, resignation).
    async fn key_event(&self) -> bool {
        self.0.key_event
    }

    /// Shown above the stream; a blog has at most one pinned entry.
    async fn pinned(&self) -> bool {
        self.0.pinned
    }

    async fn media(&self) -> Vec<Media> {
        self.0.media.iter().cloned().map(Media).collect()
    }

    async fn posted_at(&self) -> DateTime<Utc> {
        self.0.posted_at
    }

    /// Set once the entry has been edited.
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.0.edited_at
    }
}
