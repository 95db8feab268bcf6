//! A connection's running subscriptions: each one a [`Member`] (its id and
//! shared render spec) with its own gap-free event stream, all polled from
//! the connection's one task.
//!
//! Why not a task per subscription: at 10,000 subscribers a task each is
//! 10,000 wake-ups, stacks and channels for what is, per event, a map
//! lookup and one write. Here the event streams sit in one
//! [`SelectAll`], which polls only the streams that were woken, and the
//! loop takes the next event only once the previous write finished: the
//! socket's pace is the subscription's pace, and a subscriber that cannot
//! keep up overflows its bus buffer and is told so (`SLOW_CONSUMER`).
//!
//! `SelectAll` cannot remove a stream by key, so each is wrapped in
//! [`futures::stream::Abortable`]: stopping a subscription aborts its
//! stream, which then ends and is dropped by `SelectAll` at the next poll.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use async_graphql::Pos;
use domain::events::EventRecord;
use futures::stream::{self, AbortHandle, Abortable, SelectAll, Stream, StreamExt};

use crate::graphql::fanout::Events;
use crate::http::ws::render::RenderSpec;

/// One subscription of a connection.
pub struct Member {
    /// The client's operation id.
    pub id: String,
    /// How its events render, shared with every subscriber of the same
    /// subscription on this node.
    pub spec: Arc<RenderSpec>,
    /// The subscription field's response key and position: where an
    /// error that ends it is reported.
    pub field: String,
    pub pos: Pos,
}

/// What a member's stream yields: an event or the error that ends it, or
/// `None` once its events ran out.
pub type Item = (Arc<Member>, Option<domain::Result<Arc<EventRecord>>>);

#[derive(Default)]
pub struct Members {
    streams: SelectAll<Tagged>,
    running: HashMap<String, (Arc<Member>, AbortHandle)>,
}

impl Members {
    /// Subscriptions running.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.running.contains_key(id)
    }

    /// Whether [`Members::next`] has anything to poll. An empty
    /// `SelectAll` answers `None` at once, which a `select!` loop would
    /// spin on.
    pub fn is_polled(&self) -> bool {
        !self.streams.is_empty()
    }

    /// Starts delivering `events` for `member`, replacing a running
    /// subscription with the same id.
    pub fn insert(&mut self, member: Member, events: Events) {
        self.remove(&member.id);
        let member = Arc::new(member);
        let (events, abort) = stream::abortable(events);
        self.streams.push(Tagged {
            member: member.clone(),
            events,
            ended: false,
        });
        self.running.insert(member.id.clone(), (member, abort));
    }

    /// Stops the subscription `id`; whether it was running.
    pub fn remove(&mut self, id: &str) -> bool {
        match self.running.remove(id) {
            Some((_, abort)) => {
                abort.abort();
                true
            }
            None => false,
        }
    }

    /// Whether `member` is still running (not stopped or replaced since it
    /// yielded an item).
    pub fn is_running(&self, member: &Arc<Member>) -> bool {
        self.running
            .get(&member.id)
            .is_some_and(|(running, _)| Arc::ptr_eq(running, member))
    }

    /// The next item of any member; `None` when no stream is left.
    pub async fn next(&mut self) -> Option<Item> {
        self.streams.next().await
    }
}

/// A member's events as [`Item`]s, then one `None` item when they run out
/// (not when aborted): one adapter instead of a chain of them.
struct Tagged {
    member: Arc<Member>,
    events: Abortable<Events>,
    ended: bool,
}

impl Stream for Tagged {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        let item = match ready!(this.events.poll_next_unpin(cx)) {
            Some(item) => Some(item),
            // Aborted: end without an item.
            None if this.events.is_aborted() => return Poll::Ready(None),
            None => {
                this.ended = true;
                None
            }
        };
        Poll::Ready(Some((this.member.clone(), item)))
    }
}
