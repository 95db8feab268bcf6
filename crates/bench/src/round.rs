//! One round's figures: an entry posted, and when each subscriber had it.

use std::time::Duration;

use crate::procfs::CpuUse;

pub struct RoundResult {
    /// `None` for the warm-up round.
    pub number: Option<u32>,
    /// How long the `postLiveEntry` request took, t0 to response.
    pub post: Duration,
    /// How many subscribers received the entry before the timeout.
    pub received: usize,
    pub expected: usize,
    /// CPU used during the round, by whom: shows whether the machine was
    /// saturated, and by the server, the bench or someone else.
    pub cpu: CpuUse,
    /// t0 to arrival, sorted, one per subscriber that received it.
    latencies: Vec<Duration>,
    /// t0 to the kernel's receive timestamp, sorted, one per subscriber
    /// whose kernel stamped it.
    landed: Vec<Duration>,
}

/// When one subscriber had the round's entry, from t0.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    /// Read by the subscriber.
    pub read: Duration,
    /// Received by the kernel on the subscriber's socket: on loopback, when
    /// the server's write of it completed.
    pub landed: Option<Duration>,
}

impl RoundResult {
    pub fn new(
        number: Option<u32>,
        post: Duration,
        seen: &[Latency],
        expected: usize,
        cpu: CpuUse,
    ) -> Self {
        let mut latencies: Vec<Duration> = seen.iter().map(|latency| latency.read).collect();
        latencies.sort_unstable();
        let mut landed: Vec<Duration> = seen.iter().filter_map(|latency| latency.landed).collect();
        landed.sort_unstable();
        RoundResult {
            number,
            post,
            received: latencies.len(),
            expected,
            cpu,
            latencies,
            landed,
        }
    }

    pub fn complete(&self) -> bool {
        self.received >= self.expected
    }

    /// Nearest-rank percentile (`p` in 0..=1) of the latencies.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        // A rank is an index: the float is only the way to it.
        let rank = (p * self.latencies.len() as f64).ceil() as usize;
        self.latencies
            .get(rank.clamp(1, self.latencies.len()) - 1)
            .copied()
    }

    pub fn first(&self) -> Option<Duration> {
        self.latencies.first().copied()
    }

    /// The headline: t0 to the last subscriber's arrival, if all arrived.
    pub fn time_to_last(&self) -> Option<Duration> {
        self.complete()
            .then(|| self.latencies.last().copied())
            .flatten()
    }

    /// t0 until the entry was in every subscriber's socket, if all
    /// received it and the kernel stamped every one: the server's share of
    /// the time to last subscriber.
    pub fn time_to_landed(&self) -> Option<Duration> {
        (self.complete() && self.landed.len() == self.received)
            .then(|| self.landed.last().copied())
            .flatten()
    }

    pub fn label(&self) -> String {
        self.number
            .map_or_else(|| "warm-up".to_owned(), |n| n.to_string())
    }
}

/// The median of sorted durations (the mean of the middle two for an even
/// count).
pub fn median(sorted: &[Duration]) -> Option<Duration> {
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        Some((*sorted.get(middle.checked_sub(1)?)? + *sorted.get(middle)?) / 2)
    } else {
        sorted.get(middle).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_millis).collect()
    }

    fn round(latencies: Vec<Duration>, expected: usize) -> RoundResult {
        let seen: Vec<Latency> = latencies
            .into_iter()
            .map(|read| Latency {
                read,
                landed: Some(read / 2),
            })
            .collect();
        RoundResult::new(Some(1), Duration::ZERO, &seen, expected, CpuUse::default())
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let round = round(millis((1..=100).rev()), 100);
        assert_eq!(round.first(), Some(Duration::from_millis(1)));
        assert_eq!(round.percentile(0.50), Some(Duration::from_millis(50)));
        assert_eq!(round.percentile(0.99), Some(Duration::from_millis(99)));
        assert_eq!(round.time_to_last(), Some(Duration::from_millis(100)));
        assert_eq!(round.time_to_landed(), Some(Duration::from_millis(50)));
    }

    #[test]
    fn time_to_landed_needs_every_subscribers_timestamp() {
        let read = Duration::from_millis(9);
        let seen = [
            Latency {
                read,
                landed: Some(Duration::from_millis(3)),
            },
            Latency { read, landed: None },
        ];
        let round = RoundResult::new(None, Duration::ZERO, &seen, 2, CpuUse::default());
        assert_eq!(round.time_to_last(), Some(read));
        assert_eq!(round.time_to_landed(), None);
    }

    #[test]
    fn an_incomplete_round_has_no_time_to_last() {
        let partial = round(millis([3, 4]), 3);
        assert!(!partial.complete());
        assert_eq!(partial.time_to_last(), None);
        assert_eq!(partial.time_to_landed(), None);
        assert_eq!(round(Vec::new(), 3).percentile(0.5), None);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&millis([10, 30])), Some(Duration::from_millis(20)));
        assert_eq!(median(&millis([1, 2, 9])), Some(Duration::from_millis(2)));
        assert_eq!(median(&[]), None);
    }
}
