//! What the subscriber tasks share: the current round (which entry to watch
//! for and when it was posted), the latencies seen so far, and why any
//! subscriber stopped early.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::round::Latency;
use crate::ws::Arrival;

pub struct Tracker {
    subscribers: usize,
    /// One lock for the marker, t0 and the latencies: a subscriber's check
    /// ("is this the current entry?") and its record must see the same
    /// round, or a late event of a timed-out round could be counted in the
    /// next. The count is the vector's length for the same reason, rather
    /// than a separate atomic that would have to be reset in step. Each
    /// subscriber takes it for every result it reads (a few per round).
    round: Mutex<Round>,
    /// Woken when the last subscriber of the round records (or the last
    /// one drops).
    all_in: Notify,
    /// Subscribers whose socket or subscription ended, by reason.
    ended: Mutex<BTreeMap<String, usize>>,
}

struct Round {
    /// The text of the entry posted this round; empty between rounds.
    marker: String,
    /// How the marker shows in a result's raw JSON.
    needle: String,
    t0: Instant,
    /// t0 on the clock of the kernel's receive timestamps.
    t0_wall: SystemTime,
    latencies: Vec<Latency>,
}

impl Tracker {
    pub fn new(subscribers: usize) -> Self {
        Tracker {
            subscribers,
            round: Mutex::new(Round {
                marker: String::new(),
                needle: String::new(),
                t0: Instant::now(),
                t0_wall: SystemTime::now(),
                latencies: Vec::with_capacity(subscribers),
            }),
            all_in: Notify::new(),
            ended: Mutex::new(BTreeMap::new()),
        }
    }

    /// Starts watching for an entry with text `marker`; returns t0, to be
    /// taken just before the entry is posted.
    pub fn start_round(&self, marker: String) -> Instant {
        let mut round = lock(&self.round);
        round.needle = format!("\"bodyText\":\"{marker}\"");
        round.marker = marker;
        round.latencies = Vec::with_capacity(self.subscribers);
        round.t0_wall = SystemTime::now();
        round.t0 = Instant::now();
        round.t0
    }

    /// A subscriber received an entry with text `text`, arrived `at`. Each
    /// subscriber sees the round's entry once (the server delivers exactly
    /// once), so there is no per-subscriber de-duplication here.
    pub fn record(&self, text: &str, at: Arrival) {
        let mut round = lock(&self.round);
        if round.marker.is_empty() || text.trim() != round.marker {
            return;
        }
        self.push(&mut round, at);
    }

    /// The fast path of [`Tracker::record`], on a result's raw JSON text:
    /// records it and returns true if it is an error-free result carrying
    /// this round's entry. Only a posted entry has a `bodyText` in what the
    /// bench subscribes to, so the text alone identifies it. Spares the client a full parse of the one
    /// message per subscriber and round that matters, so that the bench,
    /// which shares the machine with the server, takes less of it.
    pub fn record_raw(&self, text: &str, at: Arrival) -> bool {
        let mut round = lock(&self.round);
        if round.marker.is_empty() || !text.contains(&round.needle) || text.contains("\"errors\"") {
            return false;
        }
        self.push(&mut round, at);
        true
    }

    /// Records one subscriber's arrival in the current round.
    fn push(&self, round: &mut Round, at: Arrival) {
        let landed = at
            .landed
            .map(|landed| landed.duration_since(round.t0_wall).unwrap_or_default());
        round.latencies.push(Latency {
            read: at.read.saturating_duration_since(round.t0),
            landed,
        });
        if round.latencies.len() == self.subscribers {
            // notify_one keeps a permit if the waiter is not waiting yet.
            self.all_in.notify_one();
        }
    }

    /// Waits until every subscriber has recorded or `deadline` passes, ends
    /// the round and returns the latencies recorded (fewer than the number
    /// of subscribers on a timeout). Also stops waiting once every
    /// subscriber has dropped (the server died, say): nobody is left to
    /// record.
    pub async fn finish_round(&self, deadline: Instant) -> Vec<Latency> {
        loop {
            if lock(&self.round).latencies.len() >= self.subscribers
                || self.ended_count() >= self.subscribers
            {
                break;
            }
            // A permit left over from an earlier round that completed after
            // its timeout only costs one more turn of this loop.
            if tokio::time::timeout_at(deadline, self.all_in.notified())
                .await
                .is_err()
            {
                break;
            }
        }
        let mut round = lock(&self.round);
        round.marker.clear();
        std::mem::take(&mut round.latencies)
    }

    /// A subscriber stopped, for `reason`.
    pub fn ended(&self, reason: String) {
        let mut ended = lock(&self.ended);
        *ended.entry(reason).or_default() += 1;
        if ended.values().sum::<usize>() == self.subscribers {
            self.all_in.notify_one();
        }
    }

    fn ended_count(&self) -> usize {
        lock(&self.ended).values().sum()
    }

    /// Why subscribers stopped, with how many stopped for each reason.
    pub fn ended_reasons(&self) -> BTreeMap<String, usize> {
        lock(&self.ended).clone()
    }
}

/// A panicking subscriber task must not take the others' bookkeeping down.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Read at `read`, with no kernel timestamp.
    fn read(read: Instant) -> Arrival {
        Arrival { read, landed: None }
    }

    fn reads(latencies: &[Latency]) -> Vec<Duration> {
        latencies.iter().map(|latency| latency.read).collect()
    }

    #[tokio::test]
    async fn a_round_ends_when_every_subscriber_has_it() {
        let tracker = Tracker::new(2);
        let t0 = tracker.start_round("round-1".to_owned());
        tracker.record("something else", read(Instant::now()));
        tracker.record("round-1", read(t0 + Duration::from_millis(3)));
        tracker.record(" round-1\n", read(t0 + Duration::from_millis(5)));
        let latencies = tracker
            .finish_round(Instant::now() + Duration::from_secs(5))
            .await;
        assert_eq!(
            reads(&latencies),
            [Duration::from_millis(3), Duration::from_millis(5)]
        );
        // Between rounds, late arrivals are not counted anywhere.
        tracker.record("round-1", read(Instant::now()));
        tracker.start_round("round-2".to_owned());
        tracker.record("round-1", read(Instant::now()));
        let timed_out = tracker
            .finish_round(Instant::now() + Duration::from_millis(50))
            .await;
        assert!(timed_out.is_empty());
    }

    #[tokio::test]
    async fn raw_results_are_recognised_by_the_rounds_entry_only() {
        let tracker = Tracker::new(1);
        let result = |text: &str| {
            format!(
                r#"{{"type":"next","id":"1","payload":{{"data":{{"liveBlog":{{"entry":{{"bodyText":"{text}"}}}}}}}}}}"#
            )
        };
        let t0 = tracker.start_round("round-1".to_owned());
        assert!(!tracker.record_raw(&result("round-10"), read(Instant::now())));
        let with_errors = result("round-1").replace(r#""data""#, r#""errors":[],"data""#);
        assert!(!tracker.record_raw(&with_errors, read(Instant::now())));
        assert!(tracker.record_raw(&result("round-1"), read(t0 + Duration::from_millis(4))));
        let latencies = tracker
            .finish_round(Instant::now() + Duration::from_secs(5))
            .await;
        assert_eq!(reads(&latencies), [Duration::from_millis(4)]);
        assert!(
            !tracker.record_raw(&result("round-1"), read(Instant::now())),
            "between rounds"
        );
    }

    #[tokio::test]
    async fn kernel_timestamps_count_from_t0_on_their_own_clock() {
        let tracker = Tracker::new(1);
        let t0 = tracker.start_round("round-1".to_owned());
        let landed = SystemTime::now() + Duration::from_millis(7);
        tracker.record(
            "round-1",
            Arrival {
                read: t0 + Duration::from_millis(20),
                landed: Some(landed),
            },
        );
        let latencies = tracker
            .finish_round(Instant::now() + Duration::from_secs(5))
            .await;
        let landed = latencies[0].landed.expect("stamped");
        assert!(
            landed >= Duration::from_millis(7) && landed < Duration::from_secs(5),
            "{landed:?}"
        );
        assert_eq!(latencies[0].read, Duration::from_millis(20));
    }

    #[tokio::test]
    async fn a_round_stops_waiting_when_every_subscriber_has_dropped() {
        let tracker = Tracker::new(2);
        tracker.start_round("round-1".to_owned());
        tracker.ended("socket closed".to_owned());
        tracker.ended("socket closed".to_owned());
        let started = Instant::now();
        let latencies = tracker
            .finish_round(started + Duration::from_secs(60))
            .await;
        assert!(latencies.is_empty());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn ended_subscribers_are_counted_by_reason() {
        let tracker = Tracker::new(3);
        tracker.ended("closed 1012".to_owned());
        tracker.ended("closed 1012".to_owned());
        tracker.ended("socket closed".to_owned());
        let reasons = tracker.ended_reasons();
        assert_eq!(reasons.get("closed 1012"), Some(&2));
        assert_eq!(reasons.get("socket closed"), Some(&1));
    }
}
