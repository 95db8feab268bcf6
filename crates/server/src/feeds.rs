//! Feeds in, wired: the importer as `import-feed` and `serve` build it from
//! the feeds file and the command line.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;
use domain::Newsroom;
use syndication::poll::{PollCounts, Poller};
use syndication::{FeedsConfig, Fetcher, Importer};

/// How the reader names itself to publishers: who, and where to find us.
pub fn user_agent(public_url: &str) -> String {
    format!(
        "politmaster/{} (feed reader; +{public_url})",
        env!("CARGO_PKG_VERSION")
    )
}

/// An importer with `config`'s rules and publishers.
pub async fn importer(
    newsroom: &Newsroom,
    config: &FeedsConfig,
    publish: bool,
    public_url: &str,
) -> anyhow::Result<Importer> {
    Importer::new(
        newsroom.clone(),
        Fetcher::new(&user_agent(public_url)),
        config.section_rules(),
        publish,
        config.publishers(),
    )
    .await
    .context("the feeds' section rules")
}

/// The poller `serve` runs for the feeds file at `path`. Fails (and so
/// start-up does) when the file or its rules are wrong.
pub async fn poller(newsroom: &Newsroom, path: &Path, public_url: &str) -> anyhow::Result<Poller> {
    let config = FeedsConfig::read(path)?;
    if config.feeds.is_empty() {
        tracing::warn!(file = %path.display(), "the feeds file lists no feeds");
    }
    Ok(Poller {
        importer: importer(newsroom, &config, config.publish, public_url)
            .await
            .with_context(|| path.display().to_string())?,
        feeds: config
            .feeds
            .iter()
            .map(|feed| feed.source.clone())
            .collect(),
        every: config.poll_every(),
        counts: Arc::default(),
    })
}

/// The poller's counters in the Prometheus text format, for `/metrics`.
pub fn metrics(counts: Arc<PollCounts>) -> api::MoreMetrics {
    Arc::new(move |out: &mut String| {
        let _ = write!(
            out,
            "# HELP politmaster_feed_rounds_total Readings of the configured feeds this node made (one node at a time reads them).\n\
             # TYPE politmaster_feed_rounds_total counter\n\
             politmaster_feed_rounds_total {}\n\
             # HELP politmaster_feed_items_total Feed items this node imported or could not import.\n\
             # TYPE politmaster_feed_items_total counter\n\
             politmaster_feed_items_total{{outcome=\"imported\"}} {}\n\
             politmaster_feed_items_total{{outcome=\"failed\"}} {}\n",
            counts.rounds.load(Ordering::Relaxed),
            counts.imported.load(Ordering::Relaxed),
            counts.failed.load(Ordering::Relaxed),
        );
    })
}
