//! `breakingNews(after)`: alerts as they are issued and retracted, for the
//! banner across the site.

use async_graphql::{Context, Interface, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use domain::events::{Event, EventRecord, Stream};
use futures::StreamExt;

use crate::graphql::breaking::BreakingNews;
use crate::graphql::context::newsroom;
use crate::graphql::errors::ApiError;
use crate::graphql::fanout::{deliver, hand_over, pinned, resume_from};
use crate::graphql::subscription::EventStream;

/// A breaking-news alert went up or came down. Events arrive in the order
/// they were committed, each exactly once; keep the `cursor` of the last
/// one you handled to resume from it after a disconnect.
#[derive(Interface)]
#[graphql(
    field(
        name = "cursor",
        ty = "&String",
        desc = "This event's position in the breaking-news updates: subscribe with `after:` set to it to receive everything after this event."
    ),
    field(
        name = "occurred_at",
        ty = "&DateTime<Utc>",
        desc = "When the change was committed."
    )
)]
pub enum BreakingNewsEvent {
    BreakingNewsIssued(BreakingNewsIssued),
    BreakingNewsRetracted(BreakingNewsRetracted),
}

/// An alert was issued: show the banner.
#[derive(SimpleObject)]
pub struct BreakingNewsIssued {
    /// This event's position in the breaking-news updates: subscribe with
    /// `after:` set to it to receive everything after this event.
    pub cursor: String,
    /// When the change was committed.
    pub occurred_at: DateTime<Utc>,
    /// The alert as it was issued.
    pub alert: BreakingNews,
}

/// An alert was retracted: take the banner down.
#[derive(SimpleObject)]
pub struct BreakingNewsRetracted {
    /// This event's position in the breaking-news updates: subscribe with
    /// `after:` set to it to receive everything after this event.
    pub cursor: String,
    /// When the change was committed.
    pub occurred_at: DateTime<Utc>,
    /// The alert, with its `retractedAt`.
    pub alert: BreakingNews,
}

impl BreakingNewsEvent {
    /// The GraphQL form of a breaking-news event; `None` for events of
    /// other streams, which the breaking-news stream never carries.
    pub fn from_record(record: &EventRecord) -> Option<Self> {
        let cursor = record.cursor().encode();
        let occurred_at = record.occurred_at;
        match &record.event {
            Event::BreakingNewsIssued { alert } => {
                Some(Self::BreakingNewsIssued(BreakingNewsIssued {
                    cursor,
                    occurred_at,
                    alert: BreakingNews(alert.clone()),
                }))
            }
            Event::BreakingNewsRetracted { alert } => {
                Some(Self::BreakingNewsRetracted(BreakingNewsRetracted {
                    cursor,
                    occurred_at,
                    alert: BreakingNews(alert.clone()),
                }))
            }
            _ => None,
        }
    }
}

#[derive(Default)]
pub struct BreakingSubscriptions;

#[Subscription]
impl BreakingSubscriptions {
    /// Breaking-news alerts as they are issued and retracted. Without
    /// `after`, from the next one on; with `after` (`breakingNewsCursor`
    /// read with the banner, or the `cursor` of the last event received),
    /// first every event after it in order, then live ones: no gap, no
    /// duplicate. A cursor that is malformed or belongs to another stream
    /// is `CURSOR_INVALID`. If the subscriber falls too far behind, a last
    /// `SLOW_CONSUMER` error ends the subscription: resubscribe with the
    /// cursor of the last event received.
    async fn breaking_news(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> Result<EventStream<BreakingNewsEvent>, ApiError> {
        let events = match pinned(ctx, Stream::Breaking) {
            Some(event) => event,
            None => {
                let after = resume_from(ctx, after);
                let feed = newsroom(ctx)?
                    .feed(Stream::Breaking, after.as_deref())
                    .await?;
                hand_over(ctx, Stream::Breaking, feed, None, Some("after"))
            }
        };
        Ok(deliver(
            ctx,
            events.filter_map(|item| {
                futures::future::ready(match item {
                    Ok(record) => BreakingNewsEvent::from_record(&record).map(Ok),
                    Err(error) => Some(Err(error)),
                })
            }),
        ))
    }
}
