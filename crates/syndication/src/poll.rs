//! `serve` reads the configured feeds on an interval. Every node runs the
//! poller, but only the holder of a lease in the database reads: the
//! others wait to take over should it stop renewing (a crash), or at once
//! when it gives the lease up (a shutdown). Should two ever read at the
//! same moment (a lease that lapsed mid-reading), the items' unique keys
//! still let each be imported once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::import::Importer;

const LEASE: &str = "feed-poller";
/// How often a node looks at the lease, at most.
const MAX_TICK: Duration = Duration::from_secs(10);
/// How long a lease runs unless renewed: three ticks, and never so short
/// that a holder busy for a few seconds loses it. A holder that stops
/// gives it up at once; one that crashed is replaced when it runs out.
const MIN_LEASE: Duration = Duration::from_secs(15);

/// What this node's poller did, for `/metrics`.
#[derive(Debug, Default)]
pub struct PollCounts {
    /// Readings of all feeds this node made.
    pub rounds: AtomicU64,
    pub imported: AtomicU64,
    pub failed: AtomicU64,
}

pub struct Poller {
    pub importer: Importer,
    pub feeds: Vec<String>,
    pub every: Duration,
    pub counts: Arc<PollCounts>,
}

impl Poller {
    /// Runs until `stop` turns true, then gives the lease up.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let holder = uuid::Uuid::new_v4().to_string();
        let tick = self.every.min(MAX_TICK);
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_round = Instant::now();
        let mut holding = false;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => break,
            }
            let held = self.claim(&holder, tick).await;
            if held != holding {
                tracing::info!(
                    feeds = self.feeds.len(),
                    "{}",
                    if held {
                        "this node now reads the feeds"
                    } else {
                        "another node reads the feeds now"
                    }
                );
                holding = held;
                // A new holder reads at once: it cannot know when the last
                // one did.
                next_round = Instant::now();
            }
            if held && Instant::now() >= next_round {
                // A stop does not wait for slow feeds: an import cut short
                // rolls back, and the next holder reads the item again.
                tokio::select! {
                    _ = self.round(&holder, tick) => {}
                    _ = stop.changed() => break,
                }
                next_round = Instant::now() + self.every;
            }
        }
        if let Err(error) = self
            .importer
            .newsroom()
            .store()
            .release_lease(LEASE, &holder)
            .await
        {
            tracing::warn!(%error, "could not give up the feed-reading lease");
        }
    }

    /// Takes or renews the lease.
    async fn claim(&self, holder: &str, tick: Duration) -> bool {
        let now = domain::clock::now();
        let lease = (tick * 3).max(MIN_LEASE);
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        match self
            .importer
            .newsroom()
            .store()
            .claim_lease(LEASE, holder, now, until)
            .await
        {
            Ok(held) => held,
            Err(error) => {
                tracing::warn!(%error, "cannot reach the feed-reading lease");
                false
            }
        }
    }

    /// Reads every feed, renewing the lease before each (a round of slow
    /// feeds can outlast it) and stopping if it was lost.
    async fn round(&self, holder: &str, tick: Duration) {
        let started = Utc::now();
        self.counts.rounds.fetch_add(1, Ordering::Relaxed);
        for location in &self.feeds {
            if !self.claim(holder, tick).await {
                return;
            }
            let report = self.importer.import(location).await;
            self.counts
                .imported
                .fetch_add(report.imported() as u64, Ordering::Relaxed);
            self.counts
                .failed
                .fetch_add(report.failed() as u64, Ordering::Relaxed);
            if let Some(problem) = &report.problem {
                tracing::warn!(feed = %location, %problem, "feed could not be read");
            }
            for item in &report.items {
                if let crate::ItemOutcome::Failed(why) = &item.outcome {
                    tracing::warn!(feed = %location, item = item.position, title = %item.label, %why, "feed item not imported");
                }
            }
            if report.imported() > 0 {
                tracing::info!(feed = %location, imported = report.imported(), "imported from feed");
            }
        }
        tracing::debug!(
            took_ms = (Utc::now() - started).num_milliseconds(),
            "read the feeds"
        );
    }
}
