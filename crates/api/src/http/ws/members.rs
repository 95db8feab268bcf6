//! A connection's running subscriptions: each one a [`Member`] (its id and
//! shared render spec) with its own gap-free event stream, all polled from
//! the connection's one task.
//!
//! Why not a task per subscription: at 10,000 subscribers a task each is
//! 10,000 more wake-ups, stacks and channels for what is, per event, a map
//! lookup and one write. And why not `futures`' `SelectAll`: it re-boxes a
//! stream into a new task node for every item it yields and needs an
//! `Abortable` wrapper (a waker registration per poll) to stop one. A
//! connection holds at most [`MAX_OPERATIONS`](super::MAX_OPERATIONS)
//! subscriptions, usually one, so here each stream gets a waker of its own
//! that flags it, and a poll walks the list and polls only flagged streams:
//! nothing is allocated per event, and stopping a subscription drops its
//! stream at once.
//!
//! The loop takes the next event only once the previous write finished:
//! the socket's pace is the subscription's pace, and a subscriber that
//! cannot keep up overflows its bus buffer and is told so
//! (`SLOW_CONSUMER`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use async_graphql::Pos;
use domain::events::{EventRecord, Stream};
use futures::StreamExt;
use futures::task::ArcWake;

use crate::graphql::fanout::{Events, Relevance};
use crate::http::ws::pump::Membership;
use crate::http::ws::render::RenderSpec;
use crate::http::ws::socket::Writer;

/// One subscription of a connection, shared with the pump of its stream
/// while that serves it ([`super::pump`]).
pub struct Member {
    /// The client's operation id.
    pub id: String,
    /// Its results' common start
    /// ([`next_prefix`](crate::http::ws::protocol::next_prefix)).
    pub next_prefix: String,
    /// How its events render, shared with every subscriber of the same
    /// subscription on this node.
    pub spec: Arc<RenderSpec>,
    /// The subscription field's response key and position: where an
    /// error that ends it is reported.
    pub field: String,
    pub pos: Pos,
    /// The stream its events come from, and which of them it may care
    /// about.
    pub stream: Stream,
    pub relevant: Relevance,
    /// The connection's socket.
    pub writer: Arc<Writer>,
    /// Set by the connection when the subscription stops; read under the
    /// writer's lock, so that nothing of it is written after.
    pub stopped: AtomicBool,
    /// Whether a pump serves it now: cleared by whichever side ends that,
    /// the connection (stopping it) or the pump (handing it back).
    pub(super) in_pump: AtomicBool,
    /// Whether a pump took it on once (not merely accepted it as a
    /// joiner): it has been at the live edge, and falling far behind it
    /// since makes it a slow consumer.
    pub(super) was_live: AtomicBool,
    /// The pump that has it (while `in_pump`).
    pump: Mutex<Option<Arc<Membership>>>,
    /// Why the pump handed it back, until the connection takes it.
    returned: Mutex<Option<Returned>>,
    /// Wakes the connection when the pump hands it back.
    owner: Waker,
}

#[cfg(test)]
use crate::http::ws::protocol;

#[cfg(test)]
impl Member {
    /// An `articleUpdated` subscription `id` of `spec`, on a socket that
    /// swallows everything, whose connection nobody wakes.
    pub(super) fn for_test(id: &str, spec: Arc<RenderSpec>) -> Self {
        Member::new(
            id.to_owned(),
            protocol::next_prefix(protocol::Protocol::TransportWs, id),
            spec,
            "articleUpdated".to_owned(),
            Pos::default(),
            Stream::Articles,
            None,
            Arc::new(Writer::new(tokio::io::sink())),
            futures::task::noop_waker(),
        )
    }
}

/// Why a pump handed a member back to its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// It has every event up to this sequence (the last perhaps still in
    /// the writer's backlog), and the pump could not go on writing to it
    /// (its socket was busy, or the pump stopped): it goes on from its own
    /// feed from there.
    Behind(i64),
    /// Its subscription ended with an error, already written with its
    /// `complete`.
    Ended,
}

impl Member {
    /// A member that wakes `owner` when a pump hands it back.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        next_prefix: String,
        spec: Arc<RenderSpec>,
        field: String,
        pos: Pos,
        stream: Stream,
        relevant: Relevance,
        writer: Arc<Writer>,
        owner: Waker,
    ) -> Self {
        Member {
            id,
            next_prefix,
            spec,
            field,
            pos,
            stream,
            relevant,
            writer,
            stopped: AtomicBool::new(false),
            in_pump: AtomicBool::new(false),
            was_live: AtomicBool::new(false),
            pump: Mutex::new(None),
            returned: Mutex::new(None),
            owner,
        }
    }

    /// A pump takes it on.
    pub(super) fn enter_pump(&self, membership: Arc<Membership>) {
        *self.pump.lock().unwrap_or_else(PoisonError::into_inner) = Some(membership);
        self.in_pump.store(true, Ordering::Release);
    }

    /// Whether a pump has it.
    pub fn in_pump(&self) -> bool {
        self.in_pump.load(Ordering::Acquire)
    }

    /// Takes it out of its pump, if it is in one; whether it was.
    fn release(&self) -> bool {
        if !self.in_pump.swap(false, Ordering::AcqRel) {
            return false;
        }
        let membership = self
            .pump
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(membership) = membership {
            membership.leave();
        }
        true
    }

    /// Its subscription stopped: its pump, if any, lets go of it.
    pub fn leave_pump(&self) {
        self.release();
    }

    /// The pump hands the member back, if it still had it.
    pub(super) fn hand_back(&self, why: Returned) -> bool {
        if !self.release() {
            return false;
        }
        *self.returned.lock().unwrap_or_else(PoisonError::into_inner) = Some(why);
        self.owner.wake_by_ref();
        true
    }

    /// Whether the pump handed it back and the connection has not taken
    /// it yet.
    pub fn has_returned(&self) -> bool {
        self.returned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Whether a pump served it once.
    pub fn was_live(&self) -> bool {
        self.was_live.load(Ordering::Acquire)
    }

    /// Takes what the pump handed back if that is the end of the
    /// subscription; whether it was.
    pub fn take_if_ended(&self) -> bool {
        let mut returned = self.returned.lock().unwrap_or_else(PoisonError::into_inner);
        if *returned == Some(Returned::Ended) {
            *returned = None;
            return true;
        }
        false
    }

    /// What the pump handed back, once.
    pub fn take_returned(&self) -> Option<Returned> {
        self.returned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// What a member's stream yields: an event or the error that ends it, or
/// `None` once its events ran out.
pub type Item = (Arc<Member>, Option<domain::Result<Arc<EventRecord>>>);

pub struct Members {
    running: Vec<Running>,
    /// Wakes whoever polls the members when a member's stream may have
    /// something: one waker for the members' whole life, so that a
    /// member's wake-up is two stores and this waker's wake.
    wake_owner: Waker,
    /// Where the next poll starts, so that a busy subscription cannot
    /// starve the others of the connection.
    next_first: usize,
}

struct Running {
    member: Arc<Member>,
    events: Events,
    /// Whether its feed is at the live edge (see `domain::delivery::Feed`).
    live: Arc<AtomicBool>,
    flag: Arc<Flag>,
    waker: Waker,
}

/// Set when a member's stream may have something (or has not been polled
/// yet).
struct Flag {
    woken: AtomicBool,
    owner: Waker,
}

impl ArcWake for Flag {
    fn wake_by_ref(this: &Arc<Self>) {
        this.woken.store(true, Ordering::Release);
        this.owner.wake_by_ref();
    }
}

impl Members {
    /// Members whose streams wake `owner` when they may have something.
    pub fn new(owner: Waker) -> Self {
        Members {
            running: Vec::new(),
            wake_owner: owner,
            next_first: 0,
        }
    }

    /// The members running.
    pub fn members(&self) -> impl Iterator<Item = &Arc<Member>> {
        self.running.iter().map(|running| &running.member)
    }

    /// Subscriptions running.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.running.iter().any(|running| running.member.id == id)
    }

    /// Whether subscription `id` runs, with its feed at the live edge.
    pub fn is_live(&self, id: &str) -> bool {
        self.running
            .iter()
            .any(|running| running.member.id == id && running.live.load(Ordering::Acquire))
    }

    /// Starts delivering `events` for `member`, replacing a running
    /// subscription with the same id.
    pub fn insert(&mut self, member: Arc<Member>, events: Events, live: Arc<AtomicBool>) {
        self.remove(&member.id);
        let flag = Arc::new(Flag {
            woken: AtomicBool::new(true),
            owner: self.wake_owner.clone(),
        });
        self.running.push(Running {
            member,
            events,
            live,
            waker: futures::task::waker(flag.clone()),
            flag,
        });
        // Nothing would poll the new member otherwise: the owner polls
        // the members only after their waker fired.
        self.wake_owner.wake_by_ref();
    }

    /// Stops the subscription `id`; whether it was running.
    pub fn remove(&mut self, id: &str) -> bool {
        self.take(id).is_some()
    }

    /// Takes the subscription `id` out, dropping its stream.
    pub fn take(&mut self, id: &str) -> Option<Arc<Member>> {
        let index = self.running.iter().position(|r| r.member.id == id)?;
        Some(self.running.remove(index).member)
    }

    /// The next item of any member; `None` when none is running. When
    /// pending, the owner's waker is woken once there may be one.
    pub fn poll_next(&mut self) -> Poll<Option<Item>> {
        if self.running.is_empty() {
            return Poll::Ready(None);
        }
        let count = self.running.len();
        let first = self.next_first % count;
        for index in (first..count).chain(0..first) {
            let running = &mut self.running[index];
            if !running.flag.woken.swap(false, Ordering::AcqRel) {
                continue;
            }
            let mut member_cx = Context::from_waker(&running.waker);
            match running.events.poll_next_unpin(&mut member_cx) {
                Poll::Ready(Some(item)) => {
                    // It may have more: poll it again next time, after the
                    // others had their turn.
                    running.flag.woken.store(true, Ordering::Release);
                    self.next_first = index + 1;
                    return Poll::Ready(Some((running.member.clone(), Some(item))));
                }
                Poll::Ready(None) => {
                    let ended = self.running.remove(index);
                    self.next_first = index;
                    return Poll::Ready(Some((ended.member, None)));
                }
                Poll::Pending => {}
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use async_graphql::parser::parse_query;
    use chrono::Utc;
    use domain::events::{Event, Stream};
    use domain::ids::{ArticleId, SectionId};
    use futures::channel::mpsc;

    use super::*;
    use crate::http::ws::render::RenderCache;

    struct Owner(AtomicUsize);

    impl ArcWake for Owner {
        fn wake_by_ref(this: &Arc<Self>) {
            this.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn owner() -> (Arc<Owner>, Members) {
        let owner = Arc::new(Owner(AtomicUsize::new(0)));
        let members = Members::new(futures::task::waker(owner.clone()));
        (owner, members)
    }

    type Feed = mpsc::UnboundedSender<domain::Result<Arc<EventRecord>>>;

    /// Starts member `id` on `members`; returns the feed of its events.
    fn start(members: &mut Members, id: &str) -> Feed {
        let query = "subscription { articleUpdated(id: \"x\") { id } }";
        let spec = RenderCache::new().spec(
            query.to_owned(),
            None,
            serde_json::Map::new(),
            parse_query(query).unwrap(),
            None,
        );
        let member = Member::for_test(id, spec);
        let (feed, events) = mpsc::unbounded();
        members.insert(
            Arc::new(member),
            events.boxed(),
            Arc::new(AtomicBool::new(true)),
        );
        feed
    }

    fn event(seq: i64) -> domain::Result<Arc<EventRecord>> {
        Ok(Arc::new(EventRecord {
            stream: Stream::Articles,
            seq,
            occurred_at: Utc::now(),
            event: Event::ArticleUpdated {
                article_id: ArticleId::new(),
                section_id: SectionId::new(),
                version: 1,
            },
        }))
    }

    /// The next item as (member id, sequence), `None` for an ended member.
    fn next(members: &mut Members) -> Poll<Option<(String, Option<i64>)>> {
        members.poll_next().map(|item| {
            item.map(|(member, item)| (member.id.clone(), item.map(|r| r.unwrap().seq)))
        })
    }

    #[test]
    fn a_new_member_wakes_the_owner_and_is_polled() {
        let (owner, mut members) = owner();
        assert_eq!(next(&mut members), Poll::Ready(None), "nothing running");
        let feed = start(&mut members, "1");
        assert_eq!(owner.0.load(Ordering::SeqCst), 1);
        assert_eq!(next(&mut members), Poll::Pending);
        feed.unbounded_send(event(7)).unwrap();
        assert_eq!(
            owner.0.load(Ordering::SeqCst),
            2,
            "its stream wakes the owner"
        );
        assert_eq!(next(&mut members), Poll::Ready(Some(("1".into(), Some(7)))));
        assert_eq!(next(&mut members), Poll::Pending);
    }

    #[test]
    fn a_stopped_member_drops_its_stream_at_once() {
        let (_owner, mut members) = owner();
        let feed = start(&mut members, "1");
        assert!(members.contains("1"));
        assert!(members.remove("1"));
        assert!(feed.is_closed(), "the stream is gone");
        assert!(!members.remove("1"));
        assert_eq!(members.len(), 0);
    }

    #[test]
    fn a_member_whose_events_end_says_so_once_and_leaves() {
        let (_owner, mut members) = owner();
        let feed = start(&mut members, "1");
        drop(feed);
        assert_eq!(next(&mut members), Poll::Ready(Some(("1".into(), None))));
        assert!(!members.contains("1"));
        assert_eq!(next(&mut members), Poll::Ready(None));
    }

    #[test]
    fn busy_members_take_turns() {
        let (_owner, mut members) = owner();
        let (one, two) = (start(&mut members, "1"), start(&mut members, "2"));
        for seq in 1..=3 {
            one.unbounded_send(event(seq)).unwrap();
            two.unbounded_send(event(seq)).unwrap();
        }
        let order: Vec<_> = (0..6)
            .map(|_| match next(&mut members) {
                Poll::Ready(Some((id, Some(seq)))) => format!("{id}:{seq}"),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(order, ["1:1", "2:1", "1:2", "2:2", "1:3", "2:3"]);
    }

    #[test]
    fn starting_a_member_with_a_running_id_replaces_it() {
        let (_owner, mut members) = owner();
        let old = start(&mut members, "1");
        let _new = start(&mut members, "1");
        assert!(old.is_closed());
        assert_eq!(members.len(), 1);
    }
}
