//! The tasks (a few per watched stream) that write each live event to
//! every subscriber at the live edge on this node.
//!
//! **Why.** With a task per connection, one event for 10,000 widgets is
//! 10,000 task wake-ups, each walking its connection's state and its own
//! gap-free delivery (a bus receiver, a sequence check) to write the same
//! bytes. A pump does the walking once: it follows the stream with one
//! gap-free feed of its own, renders each event once per distinct
//! subscription, and writes the frame straight to each subscriber's socket
//! with a write that never waits ([`Writer::offer`]). The connections'
//! tasks sleep through it.
//!
//! A stream has as many pumps as the runtime has worker threads, each
//! serving its share of the subscribers, so that the writes of one event
//! use every core.
//!
//! **Who it serves.** A subscriber starts on its own feed, in its
//! connection's task (replaying from its cursor, if it has one). Whenever
//! it has delivered everything up to where the pump is, it joins
//! ([`Pumps::join`]) and drops its own feed, bus receiver and all. The pump
//! takes it on only at an exact sequence: a joiner that has seen event `n`
//! is written `n + 1` on; one ahead of the pump waits until the pump gets
//! there; one behind is turned away and stays on its own feed.
//!
//! **Who it hands back.** A subscriber whose socket is busy (the frame did
//! not fit in its buffer, or an earlier one is still queued) goes back to
//! its connection with the sequence it has ([`Returned::Behind`]): the
//! connection flushes, reopens its own feed from that cursor (the log has
//! everything) and joins again once caught up. A slow reader thus never
//! holds the pump up. One that falls more than [`MAX_LAG`] events behind
//! the live edge after having been at it cannot keep up, and its
//! subscription ends with `SLOW_CONSUMER` (it resumes from its cursor).
//! When the pump's own feed fails, everyone is handed back the same way
//! and the pump ends.
//!
//! **Ordering.** The connection writes its own frames through the same
//! [`Writer`], whole and under its lock; a member stopped by its client is
//! flagged before the connection writes anything after, and the pump
//! checks that flag under the same lock. A joiner is taken on only after
//! the frame of its last event was written, so the pump's frames follow it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use domain::events::{EventCursor, EventRecord, Stream};
use domain::{Error, Newsroom};
use futures::StreamExt;
use tokio::runtime::RuntimeFlavor;
use tokio::sync::Notify;

use crate::graphql::ApiSchema;
use crate::http::ws::frame::{self, Opcode};
use crate::http::ws::members::{Member, Returned};
use crate::http::ws::protocol;
use crate::http::ws::render::{RenderCache, RenderSpec, Rendered};
use crate::http::ws::socket::Offer;

/// How many events a subscriber that was at the live edge may fall behind
/// it before it is closed as a slow consumer: as many as the bus buffers
/// per stream, the bound it was held to on the bus.
pub const MAX_LAG: i64 = 1024;

/// The node's pumps, one per stream that has subscribers at its live edge.
pub struct Pumps {
    schema: ApiSchema,
    newsroom: Newsroom,
    renders: Arc<RenderCache>,
    streams: Mutex<HashMap<(Stream, usize), Arc<Pump>>>,
    /// Pumps per stream: one per core.
    shards: usize,
    /// The shard the next joiner goes to.
    next_shard: AtomicUsize,
    /// Members handed back to their connections, ever.
    handbacks: Arc<AtomicU64>,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PumpCounts {
    /// Subscribers a pump serves now.
    pub subscribers: u64,
    /// Subscribers handed back to their connection (a busy socket, or a
    /// pump that stopped), ever.
    pub handbacks: u64,
}

/// What joiners and leavers share with a pump's task.
struct Pump {
    stream: Stream,
    shard: usize,
    inbox: Mutex<Inbox>,
    membership: Arc<Membership>,
}

/// Who belongs to a pump: held by the pump and by each of its members, so
/// that whoever takes a member out (its connection stopping it, or the
/// pump handing it back) updates the very pump it joined.
#[derive(Default)]
pub(super) struct Membership {
    /// Members handed to the pump and neither stopped nor handed back.
    members: AtomicUsize,
    /// Wakes the task when a member left: to let go of it (and its
    /// socket), and to end once nobody is left.
    left: Notify,
}

impl Membership {
    pub(super) fn leave(&self) {
        self.members.fetch_sub(1, Ordering::AcqRel);
        self.left.notify_one();
    }
}

#[derive(Default)]
struct Inbox {
    /// The last event the pump has started writing; `None` until its feed
    /// is open.
    last: Option<i64>,
    /// Members that joined since, each with the last sequence it has.
    joining: Vec<(i64, Arc<Member>)>,
}

impl Pumps {
    pub fn new(schema: ApiSchema, newsroom: Newsroom, renders: Arc<RenderCache>) -> Arc<Self> {
        Arc::new(Pumps {
            schema,
            newsroom,
            renders,
            streams: Mutex::default(),
            // As many as tokio's default worker threads.
            shards: std::thread::available_parallelism().map_or(1, usize::from),
            next_shard: AtomicUsize::new(0),
            handbacks: Arc::default(),
        })
    }

    /// Hands `member`, which has every event of its stream up to `last`
    /// (written, nothing queued), to its stream's pump. `false`: the pump
    /// is past `last`, and the member stays on its own feed.
    pub fn join(self: &Arc<Self>, member: &Arc<Member>, last: i64) -> bool {
        let shard = self.next_shard.fetch_add(1, Ordering::Relaxed) % self.shards;
        let mut streams = lock(&self.streams);
        let pump = streams
            .entry((member.stream, shard))
            .or_insert_with(|| {
                let pump = Arc::new(Pump {
                    stream: member.stream,
                    shard,
                    inbox: Mutex::default(),
                    membership: Arc::default(),
                });
                // Unconstrained: the pump writes to thousands of sockets in
                // one go, and tokio's cooperative budget would otherwise
                // make those writes look busy after the first hundred.
                tokio::spawn(tokio::task::unconstrained(run(self.clone(), pump.clone())));
                pump
            })
            .clone();
        let mut inbox = lock(&pump.inbox);
        if inbox.last.is_some_and(|pumped| last < pumped) {
            return false;
        }
        pump.membership.members.fetch_add(1, Ordering::AcqRel);
        member.enter_pump(pump.membership.clone());
        inbox.joining.push((last, member.clone()));
        true
    }

    pub fn counts(&self) -> PumpCounts {
        let subscribers = lock(&self.streams)
            .values()
            .map(|pump| pump.membership.members.load(Ordering::Relaxed) as u64)
            .sum();
        PumpCounts {
            subscribers,
            handbacks: self.handbacks.load(Ordering::Relaxed),
        }
    }

    /// The last event `stream`'s pump started writing, if it has a pump:
    /// the live edge on this node.
    pub fn live_edge(&self, stream: &Stream) -> Option<i64> {
        let pumps: Vec<Arc<Pump>> = {
            let streams = lock(&self.streams);
            (0..self.shards)
                .filter_map(|shard| streams.get(&(*stream, shard)).cloned())
                .collect()
        };
        pumps.iter().filter_map(|pump| lock(&pump.inbox).last).max()
    }

    /// Removes `pump`, when `force`d or once nobody is left in it, and
    /// returns who was still joining. Under the registry's lock, which
    /// every join takes first, so that nobody joins a pump that is ending.
    fn retire(&self, pump: &Arc<Pump>, force: bool) -> Option<Vec<(i64, Arc<Member>)>> {
        let mut streams = lock(&self.streams);
        if !force && pump.membership.members.load(Ordering::Acquire) > 0 {
            return None;
        }
        let key = (pump.stream, pump.shard);
        if streams.get(&key).is_some_and(|p| Arc::ptr_eq(p, pump)) {
            streams.remove(&key);
        }
        Some(std::mem::take(&mut lock(&pump.inbox).joining))
    }
}

/// The members a pump serves, by distinct subscription, and those that
/// joined ahead of it.
#[derive(Default)]
struct Served {
    groups: Vec<Group>,
    ahead: Vec<(i64, Arc<Member>)>,
    /// Counts the members handed back.
    handbacks: Arc<AtomicU64>,
}

/// The members of one distinct subscription: each event is rendered once
/// for all of them.
struct Group {
    spec: Arc<RenderSpec>,
    members: Vec<Arc<Member>>,
}

impl Served {
    /// Takes on `joiners` now that the pump has written every event up to
    /// `through`.
    fn admit(&mut self, joiners: Vec<(i64, Arc<Member>)>, through: i64) {
        for (last, member) in joiners {
            self.place(last, member, through);
        }
        let ahead = std::mem::take(&mut self.ahead);
        for (last, member) in ahead {
            self.place(last, member, through);
        }
    }

    fn place(&mut self, last: i64, member: Arc<Member>, through: i64) {
        if !member.in_pump() {
            return;
        }
        if last > through {
            self.ahead.push((last, member));
        } else if last < through {
            hand_back(&self.handbacks, &member, Returned::Behind(last));
        } else {
            self.add(member);
        }
    }

    fn add(&mut self, member: Arc<Member>) {
        member.was_live.store(true, Ordering::Release);
        match self
            .groups
            .iter_mut()
            .find(|group| Arc::ptr_eq(&group.spec, &member.spec))
        {
            Some(group) => group.members.push(member),
            None => self.groups.push(Group {
                spec: member.spec.clone(),
                members: vec![member],
            }),
        }
    }

    /// Lets go of members that left.
    fn compact(&mut self) {
        for group in &mut self.groups {
            group.members.retain(|member| member.in_pump());
        }
        self.groups.retain(|group| !group.members.is_empty());
        self.ahead.retain(|(_, member)| member.in_pump());
    }

    /// Hands everyone back: each has every event up to `through` (those
    /// ahead, and those still `joining`, up to their own).
    fn hand_back_all(&mut self, through: i64, joining: Vec<(i64, Arc<Member>)>) {
        for group in std::mem::take(&mut self.groups) {
            for member in group.members {
                hand_back(&self.handbacks, &member, Returned::Behind(through));
            }
        }
        for (last, member) in std::mem::take(&mut self.ahead).into_iter().chain(joining) {
            hand_back(&self.handbacks, &member, Returned::Behind(last));
        }
    }
}

/// Hands `member` back to its connection, if its pump still had it.
fn hand_back(handbacks: &AtomicU64, member: &Member, why: Returned) {
    if member.hand_back(why) {
        handbacks.fetch_add(1, Ordering::Relaxed);
    }
}

/// A pump's task: whichever way it ends (its feed failed, or it panicked),
/// everyone it had goes back to their connections.
struct Running {
    pumps: Arc<Pumps>,
    pump: Arc<Pump>,
    served: Served,
    /// The last event written to everyone served; `None` until the feed
    /// first opened.
    through: Option<i64>,
    /// Retired with nobody left: nothing to hand back.
    retired: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.retired {
            return;
        }
        let joining = self.pumps.retire(&self.pump, true).unwrap_or_default();
        // Before the feed opened, nobody was written anything by the pump.
        let through = self.through.unwrap_or(i64::MAX);
        self.served.hand_back_all(through, joining);
    }
}

async fn run(pumps: Arc<Pumps>, pump: Arc<Pump>) {
    let mut running = Running {
        served: Served {
            handbacks: pumps.handbacks.clone(),
            ..Served::default()
        },
        pumps,
        pump,
        through: None,
        retired: false,
    };
    let Running {
        pumps,
        pump,
        served,
        through,
        retired,
    } = &mut running;
    'feeds: loop {
        // Open the pump's feed, or reopen it after the pump fell behind the
        // bus: from the log, after the last event it wrote.
        let after = through.map(|seq| {
            EventCursor {
                stream: pump.stream,
                seq,
            }
            .encode()
        });
        let mut feed = match pumps.newsroom.feed(pump.stream, after.as_deref()).await {
            Ok(feed) => feed,
            Err(error) => {
                tracing::warn!(stream = %pump.stream.key(), %error, "a stream's pump could not open its feed");
                break 'feeds;
            }
        };
        if through.is_none() {
            *through = Some(feed.after);
            served.admit(pump.advance(feed.after), feed.after);
        }
        loop {
            if pump.membership.members.load(Ordering::Acquire) == 0
                && let Some(joining) = pumps.retire(pump, false)
            {
                // Nobody is left: anyone still listed has left too (or, if
                // the count were ever wrong, goes back rather than hang).
                *retired = true;
                for (last, member) in joining {
                    hand_back(&served.handbacks, &member, Returned::Behind(last));
                }
                return;
            }
            tokio::select! {
                biased;
                () = pump.membership.left.notified() => served.compact(),
                item = feed.events.next() => match item {
                    Some(Ok(record)) => {
                        let seq = record.seq;
                        served.admit(pump.advance(seq), seq - 1);
                        deliver(pumps, served, &record).await;
                        *through = Some(seq);
                        served.admit(Vec::new(), seq);
                    }
                    Some(Err(Error::SlowConsumer)) => continue 'feeds,
                    Some(Err(error)) => {
                        tracing::warn!(stream = %pump.stream.key(), %error, "a stream's pump stopped");
                        break 'feeds;
                    }
                    None => break 'feeds,
                },
            }
        }
    }
    // Dropping `running` hands everyone back.
}

impl Pump {
    /// The pump starts on the event after `seq`: takes who joined so far.
    fn advance(&self, seq: i64) -> Vec<(i64, Arc<Member>)> {
        let mut inbox = lock(&self.inbox);
        inbox.last = Some(seq);
        std::mem::take(&mut inbox.joining)
    }
}

/// Members beyond which writing an event is worth moving the runtime's
/// other tasks off this thread (a write is some microseconds).
const MANY: usize = 256;

/// Writes `record` to every member, rendered once per distinct
/// subscription.
async fn deliver(pumps: &Pumps, served: &mut Served, record: &Arc<EventRecord>) {
    let mut rendered = Vec::with_capacity(served.groups.len());
    for group in &served.groups {
        let relevant = group.members.first().is_some_and(|first| {
            first
                .relevant
                .as_ref()
                .is_none_or(|relevant| relevant(&record.event))
        });
        rendered.push(match relevant {
            true => Some(
                pumps
                    .renders
                    .render(&pumps.schema, &group.spec, record)
                    .await,
            ),
            false => None,
        });
    }
    // Thousands of non-blocking writes in a row hold this thread for tens
    // of milliseconds: tell the runtime, so that its other tasks (another
    // pump of the stream among them) move to another worker meanwhile
    // instead of waiting behind this one.
    let rendered = &rendered;
    let many = served.groups.iter().map(|g| g.members.len()).sum::<usize>() > MANY;
    let mut write = move || write_all(served, rendered, record.seq);
    let delivered = match tokio::runtime::Handle::current().runtime_flavor() {
        RuntimeFlavor::MultiThread if many => tokio::task::block_in_place(write),
        _ => write(),
    };
    pumps.renders.delivered(delivered);
}

/// Writes each group's rendering of event `seq` to its members; how many
/// were written.
fn write_all(served: &mut Served, rendered: &[Option<Rendered>], seq: i64) -> u64 {
    let mut delivered = 0;
    let handbacks = &served.handbacks;
    for (group, rendered) in served.groups.iter_mut().zip(rendered) {
        let Some(rendered) = rendered else {
            continue;
        };
        if rendered.payload.is_none() && !rendered.ends {
            continue;
        }
        let payload = rendered.payload.as_deref();
        // The frame, built once for each operation id in a row (clients
        // that number their operations share it).
        let mut frame = Vec::new();
        let mut framed_for = String::new();
        group.members.retain(|member| {
            if !member.in_pump() {
                return false;
            }
            if let Some(payload) = payload
                && (frame.is_empty() || framed_for != member.next_prefix)
            {
                frame_into(&mut frame, &member.next_prefix, payload);
                framed_for.clear();
                framed_for.push_str(&member.next_prefix);
            }
            let complete;
            let offered = if rendered.ends {
                // The error and the end, in one go: nothing may come
                // between them, nor after a stop.
                complete = frame::encode(Opcode::Text, protocol::complete(&member.id).as_bytes());
                member.writer.offer(&[&frame, &complete], &member.stopped)
            } else {
                member.writer.offer(&[&frame], &member.stopped)
            };
            let returned = match (offered, rendered.ends) {
                (Offer::Written, false) => {
                    delivered += 1;
                    return true;
                }
                // Written, or on its way: its connection forgets it.
                (Offer::Written | Offer::Backlogged, true) => {
                    delivered += u64::from(payload.is_some());
                    Returned::Ended
                }
                // It has this event, but its socket is busy.
                (Offer::Backlogged, false) => {
                    delivered += 1;
                    Returned::Behind(seq)
                }
                (Offer::Refused, _) => Returned::Behind(seq - 1),
            };
            hand_back(handbacks, member, returned);
            false
        });
    }
    served.groups.retain(|group| !group.members.is_empty());
    delivered
}

/// A result's text frame: `prefix`, `payload` and the closing brace.
fn frame_into(frame: &mut Vec<u8>, prefix: &str, payload: &str) {
    let body_len = prefix.len() + payload.len() + 1;
    let mut header = [0; 10];
    let header_len = frame::write_header(Opcode::Text, body_len, &mut header);
    frame.clear();
    frame.reserve(header_len + body_len);
    frame.extend_from_slice(&header[..header_len]);
    frame.extend_from_slice(prefix.as_bytes());
    frame.extend_from_slice(payload.as_bytes());
    frame.push(b'}');
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its data consistent.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn spec(cache: &Arc<RenderCache>, id: &str) -> Arc<RenderSpec> {
        let query = format!("subscription {{ articleUpdated(id: \"{id}\") {{ id }} }}");
        cache.spec(
            query.clone(),
            None,
            serde_json::Map::new(),
            parse_query(&query).unwrap(),
            None,
        )
    }

    /// A member of `spec` that a pump has taken on.
    fn member(spec: &Arc<RenderSpec>) -> Arc<Member> {
        let member = Arc::new(Member::for_test("1", spec.clone()));
        let membership = Arc::new(Membership::default());
        membership.members.fetch_add(1, Ordering::AcqRel);
        member.enter_pump(membership);
        member
    }

    fn served_count(served: &Served) -> usize {
        served.groups.iter().map(|g| g.members.len()).sum()
    }

    #[test]
    fn a_joiner_is_taken_on_only_at_the_pumps_position() {
        let cache = RenderCache::new();
        let spec = spec(&cache, "a");
        let (at, ahead, behind) = (member(&spec), member(&spec), member(&spec));
        let mut served = Served::default();
        served.admit(
            vec![(5, at.clone()), (7, ahead.clone()), (3, behind.clone())],
            5,
        );
        assert_eq!(served_count(&served), 1, "the one at 5");
        assert_eq!(served.ahead.len(), 1, "the one at 7 waits");
        assert_eq!(behind.take_returned(), Some(Returned::Behind(3)));
        assert!(!behind.in_pump.load(Ordering::Acquire));
        assert!(!behind.was_live(), "turned away: never at the live edge");
        assert_eq!(at.take_returned(), None);
        assert!(at.was_live());
        assert!(!ahead.was_live(), "not yet");

        served.admit(Vec::new(), 6);
        assert_eq!(served_count(&served), 1, "7 is still ahead");
        served.admit(Vec::new(), 7);
        assert_eq!(served_count(&served), 2);
        assert!(served.ahead.is_empty());
        assert_eq!(served.groups.len(), 1, "one subscription, one group");
    }

    #[test]
    fn whoever_takes_a_member_out_updates_the_pump_it_joined() {
        let cache = RenderCache::new();
        let member = member(&spec(&cache, "a"));
        member.leave_pump();
        let (first, second) = (
            Arc::new(Membership::default()),
            Arc::new(Membership::default()),
        );
        first.members.fetch_add(1, Ordering::AcqRel);
        member.enter_pump(first.clone());
        assert!(member.hand_back(Returned::Behind(1)));
        assert_eq!(first.members.load(Ordering::Acquire), 0);
        second.members.fetch_add(1, Ordering::AcqRel);
        member.enter_pump(second.clone());
        member.leave_pump();
        member.leave_pump();
        assert!(!member.hand_back(Returned::Behind(2)), "it left");
        assert_eq!(first.members.load(Ordering::Acquire), 0);
        assert_eq!(second.members.load(Ordering::Acquire), 0, "once, not twice");
    }

    #[test]
    fn members_of_distinct_subscriptions_are_grouped_apart() {
        let cache = RenderCache::new();
        let (a, b) = (spec(&cache, "a"), spec(&cache, "b"));
        let mut served = Served::default();
        served.admit(vec![(1, member(&a)), (1, member(&b)), (1, member(&a))], 1);
        let sizes: Vec<usize> = served.groups.iter().map(|g| g.members.len()).collect();
        assert_eq!(sizes, [2, 1]);
    }

    #[test]
    fn members_that_left_are_let_go() {
        let cache = RenderCache::new();
        let spec = spec(&cache, "a");
        let (stays, leaves, left_ahead) = (member(&spec), member(&spec), member(&spec));
        let mut served = Served::default();
        served.admit(
            vec![
                (1, stays.clone()),
                (1, leaves.clone()),
                (9, left_ahead.clone()),
            ],
            1,
        );
        leaves.in_pump.store(false, Ordering::Release);
        left_ahead.in_pump.store(false, Ordering::Release);
        served.compact();
        assert_eq!(served_count(&served), 1);
        assert!(served.ahead.is_empty());
        // A joiner that left before it was taken on is not taken on.
        let gone = member(&spec);
        gone.in_pump.store(false, Ordering::Release);
        served.admit(vec![(1, gone)], 1);
        assert_eq!(served_count(&served), 1);
    }

    #[test]
    fn a_stopped_pump_hands_everyone_back_with_what_they_have() {
        let cache = RenderCache::new();
        let spec = spec(&cache, "a");
        let (at, ahead, joining) = (member(&spec), member(&spec), member(&spec));
        let mut served = Served::default();
        served.admit(vec![(4, at.clone()), (6, ahead.clone())], 4);
        served.hand_back_all(4, vec![(7, joining.clone())]);
        assert_eq!(at.take_returned(), Some(Returned::Behind(4)));
        assert_eq!(ahead.take_returned(), Some(Returned::Behind(6)));
        assert_eq!(joining.take_returned(), Some(Returned::Behind(7)));
        assert_eq!(served_count(&served), 0);
        assert!(!at.hand_back(Returned::Ended), "handed back once");
    }
}
