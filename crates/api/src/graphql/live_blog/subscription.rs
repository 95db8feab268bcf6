//! `liveBlog(id, after)`: a live blog's updates as they happen, for the
//! widget on its page.

use async_graphql::{Context, ID, Interface, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use domain::events::{Event, EventRecord, Stream};
use domain::ids::LiveBlogId;
use futures::StreamExt;

use crate::graphql::context::newsroom;
use crate::graphql::errors::ApiError;
use crate::graphql::fanout::{deliver, hand_over, pinned, resume_from};
use crate::graphql::ids::{from_global, to_global};
use crate::graphql::live_blog::types::{LiveBlog, LiveBlogStatus, LiveEntry};
use crate::graphql::subscription::EventStream;

/// Something that happened in a live blog. Events arrive in the order they
/// were committed, each exactly once; keep the `cursor` of the last one
/// you handled to resume from it after a disconnect.
// Built per event and resolved at once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(
    field(
        name = "cursor",
        ty = "&String",
        desc = "This event's position in the blog's updates: subscribe with `after:` set to it to receive everything after this event."
    ),
    field(
        name = "occurred_at",
        ty = "&DateTime<Utc>",
        desc = "When the change was committed."
    )
)]
pub enum LiveBlogEvent {
    LiveEntryPosted(LiveEntryPosted),
    LiveEntryEdited(LiveEntryEdited),
    LiveEntryDeleted(LiveEntryDeleted),
    LiveEntryPinned(LiveEntryPinned),
    LiveBlogStatusChanged(LiveBlogStatusChanged),
}

/// A new entry was posted.
#[derive(SimpleObject)]
pub struct LiveEntryPosted {
    /// This event's position in the blog's updates: subscribe with `after:`
    /// set to it to receive everything after this event.
    pub cursor: String,
    /// When the change was committed.
    pub occurred_at: DateTime<Utc>,
    /// The entry as it was posted.
    pub entry: LiveEntry,
}

/// An entry's text, key-event flag or media changed.
#[derive(SimpleObject)]
pub struct LiveEntryEdited {
    /// This event's position in the blog's updates: subscribe with `after:`
    /// set to it to receive everything after this event.
    pub cursor: String,
    /// When the change was committed.
    pub occurred_at: DateTime<Utc>,
    /// The entry as it was after the edit.
    pub entry: LiveEntry,
}

/// An entry was deleted: remove it from the page.
#[derive(SimpleObject)]
pub struct LiveEntryDeleted {
    /// This event's position in the blog's updates: subscribe with `after:`
    /// set to it to receive everything after this event.
    pub cursor: String,
    /// When the change was committed.
    pub occurred_at: DateTime<Utc>,
    /// The deleted entry's id.
    pub entry_id: ID,
}

/// An entry was pinned to the top of the blog, or unpinned. A blog has at
/// most one pinned entry: pinning one unpins any other (without a separate
/// event for it).
#[derive(SimpleObject)]
pub struct LiveEntryPinned {
    /// This event's position in the blog's updates: subscribe with `after:`
    /// set to it to receive everything after this event.
    pub cursor: String,
    /// When the change was committed.
    pub occurred_at: DateTime<Utc>,
    /// The entry as it was after the change.
    pub entry: LiveEntry,
    /// Whether it is now pinned (false: it was unpinned).
    pub pinned: bool,
}

/// The blog went live, paused, ended or was reopened.
#[derive(SimpleObject)]
pub struct LiveBlogStatusChanged {
    /// This event's position in the blog's updates: subscribe with `after:`
    /// set to it to receive everything after this event.
    pub cursor: String,
    /// When the change was committed.
    pub occurred_at: DateTime<Utc>,
    /// The blog as it was after the change.
    pub live_blog: LiveBlog,
    /// The new status.
    pub status: LiveBlogStatus,
}

impl LiveBlogEvent {
    /// The GraphQL form of a live-blog event; `None` for events of other
    /// streams, which a live blog's stream never carries.
    pub fn from_record(record: &EventRecord) -> Option<Self> {
        let cursor = record.cursor().encode();
        let occurred_at = record.occurred_at;
        Some(match &record.event {
            Event::LiveEntryPosted { entry } => Self::LiveEntryPosted(LiveEntryPosted {
                cursor,
                occurred_at,
                entry: LiveEntry(entry.clone()),
            }),
            Event::LiveEntryEdited { entry } => Self::LiveEntryEdited(LiveEntryEdited {
                cursor,
                occurred_at,
                entry: LiveEntry(entry.clone()),
            }),
            Event::LiveEntryDeleted { entry_id, .. } => Self::LiveEntryDeleted(LiveEntryDeleted {
                cursor,
                occurred_at,
                entry_id: to_global(*entry_id),
            }),
            Event::LiveEntryPinned { entry } => Self::LiveEntryPinned(LiveEntryPinned {
                cursor,
                occurred_at,
                pinned: entry.pinned,
                entry: LiveEntry(entry.clone()),
            }),
            Event::LiveBlogStatusChanged { blog } => {
                Self::LiveBlogStatusChanged(LiveBlogStatusChanged {
                    cursor,
                    occurred_at,
                    status: blog.status.into(),
                    live_blog: LiveBlog(blog.clone()),
                })
            }
            Event::BreakingNewsIssued { .. }
            | Event::BreakingNewsRetracted { .. }
            | Event::ArticlePublished { .. }
            | Event::ArticleUpdated { .. } => return None,
        })
    }
}

#[derive(Default)]
pub struct LiveBlogSubscriptions;

#[Subscription]
impl LiveBlogSubscriptions {
    /// A live blog's updates as they happen. Without `after`, from the next
    /// one on; with `after` (the blog's `cursor` read with the page, or the
    /// `cursor` of the last event received), first every event after it in
    /// order, then live ones: no gap, no duplicate, across reconnects and
    /// server restarts. An unknown blog is `NOT_FOUND`; a cursor that is
    /// malformed or belongs to another stream is `CURSOR_INVALID`. If the
    /// subscriber falls too far behind, a last `SLOW_CONSUMER` error ends the
    /// subscription: resubscribe with the cursor of the last event received.
    async fn live_blog(
        &self,
        ctx: &Context<'_>,
        id: ID,
        after: Option<String>,
    ) -> Result<EventStream<LiveBlogEvent>, ApiError> {
        let newsroom = newsroom(ctx)?;
        let id: LiveBlogId = from_global("id", &id)?;
        let stream = Stream::LiveBlog(id);
        // Rendering one event for subscribers already checked at subscribe
        // time: the event itself shows the blog exists.
        let events = match pinned(ctx, stream) {
            Some(event) => event,
            None => {
                if !newsroom.live_blog_exists(id).await? {
                    return Err(domain::Error::NotFound("live blog").into());
                }
                let after = resume_from(ctx, after);
                let feed = newsroom.feed(stream, after.as_deref()).await?;
                hand_over(ctx, stream, feed, None, Some("after"))
            }
        };
        Ok(deliver(
            ctx,
            events.filter_map(|item| {
                futures::future::ready(match item {
                    Ok(record) => LiveBlogEvent::from_record(&record).map(Ok),
                    Err(error) => Some(Err(error)),
                })
            }),
        ))
    }
}
