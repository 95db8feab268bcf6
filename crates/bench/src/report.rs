//! The figures of a fan-out run, as plain text for people and as JSON for
//! scripts: both are rendered from the same [`Report`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::logs::LogKind;
use crate::round::{RoundResult, median};

/// How many kinds of server log line the text report shows.
const LOG_KINDS_SHOWN: usize = 10;

/// The most steal a round may have to count as run on the whole machine:
/// one tick of /proc/stat.
const QUIET_STEAL: Duration = Duration::from_millis(10);

pub struct Report {
    /// Which server was measured, in words.
    pub server: String,
    pub protocol: &'static str,
    pub subscribers: usize,
    pub connect_concurrency: usize,
    pub open_time: Duration,
    pub rounds: Vec<RoundResult>,
    /// Subscribers that stopped during the run, by reason.
    pub dropped: BTreeMap<String, usize>,
    /// The spawned server's warnings and errors, by kind; `None` for a
    /// server started elsewhere.
    pub server_log: Option<Vec<LogKind>>,
    /// How long a round waited for all subscribers.
    pub round_timeout: Duration,
    /// Peak resident memory of this process and of the spawned server.
    pub client_peak_rss: Option<u64>,
    pub server_peak_rss: Option<u64>,
}

/// Median, min and max of one figure over the measured rounds.
struct Summary {
    median: Duration,
    min: Duration,
    max: Duration,
    rounds: usize,
}

impl Report {
    /// `figure` over the measured rounds that have it: the warm-up is left
    /// out.
    fn summary(&self, figure: fn(&RoundResult) -> Option<Duration>) -> Option<Summary> {
        let mut times: Vec<Duration> = self
            .rounds
            .iter()
            .filter(|round| round.number.is_some())
            .filter_map(figure)
            .collect();
        times.sort_unstable();
        Some(Summary {
            median: median(&times)?,
            min: *times.first()?,
            max: *times.last()?,
            rounds: times.len(),
        })
    }

    fn cores() -> usize {
        std::thread::available_parallelism().map_or(1, usize::from)
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "politmaster-bench fanout")?;
        writeln!(out, "  server       {}", self.server)?;
        writeln!(out, "  protocol     {}", self.protocol)?;
        writeln!(
            out,
            "  subscribers  {}, opened in {:.2} s ({} at a time)",
            self.subscribers,
            self.open_time.as_secs_f64(),
            self.connect_concurrency
        )?;
        writeln!(
            out,
            "  machine      {} cores, shared by the bench and the server",
            Self::cores()
        )?;
        writeln!(
            out,
            "  peak memory  server {}, bench {}",
            mib(self.server_peak_rss),
            mib(self.client_peak_rss)
        )?;
        writeln!(out)?;
        // The first column left-aligned, a gap before the CPU columns.
        let row = |out: &mut String, cells: [&str; 12]| {
            write!(out, "  {:<8}", cells[0])?;
            for (index, cell) in cells.iter().enumerate().skip(1) {
                let width = if index == 1 { 11 } else { 9 };
                let gap = if index == 8 { "  " } else { " " };
                write!(out, "{gap}{cell:>width$}")?;
            }
            writeln!(out)
        };
        row(
            out,
            [
                "round",
                "received",
                "post",
                "first",
                "p50",
                "p99",
                "last",
                "in socket",
                "cpu srv",
                "cpu bench",
                "cpu other",
                "steal",
            ],
        )?;
        for round in &self.rounds {
            let last = round
                .time_to_last()
                .map_or_else(|| "timeout".to_owned(), ms);
            row(
                out,
                [
                    &round.label(),
                    &format!("{}/{}", round.received, round.expected),
                    &ms(round.post),
                    &opt_ms(round.first()),
                    &opt_ms(round.percentile(0.50)),
                    &opt_ms(round.percentile(0.99)),
                    &last,
                    &opt_ms(round.time_to_landed()),
                    &opt_ms(round.cpu.server),
                    &opt_ms(round.cpu.bench),
                    &opt_ms(round.cpu.others),
                    &opt_ms(round.cpu.steal),
                ],
            )?;
        }
        writeln!(out)?;
        match self.summary(RoundResult::time_to_last) {
            Some(s) => writeln!(out, "  time to last subscriber: {s}")?,
            None => writeln!(
                out,
                "  time to last subscriber: not reached (no round completed within {} s)",
                self.round_timeout.as_secs()
            )?,
        }
        if let Some(s) = self.summary(quiet_time_to_last) {
            writeln!(
                out,
                "  time to last subscriber, rounds with at most {} of steal: {s}",
                ms(QUIET_STEAL)
            )?;
        }
        if let Some(s) = self.summary(RoundResult::time_to_landed) {
            writeln!(out, "  time until in every subscriber's socket: {s}")?;
            writeln!(
                out,
                "    (the kernel's receive timestamps: when the server's writes landed, \
                 before the subscribers' turn on a core)"
            )?;
        }
        let dropped: usize = self.dropped.values().sum();
        if dropped == 0 {
            writeln!(out, "  dropped subscribers: none")?;
        } else {
            writeln!(out, "  dropped subscribers: {dropped}")?;
            for (reason, count) in &self.dropped {
                writeln!(out, "    {count} × {reason}")?;
            }
        }
        match &self.server_log {
            None => {}
            Some(kinds) if kinds.is_empty() => {
                writeln!(out, "  server log: no warnings or errors")?;
            }
            Some(kinds) => {
                let lines: usize = kinds.iter().map(|k| k.count).sum();
                writeln!(out, "  server log: {lines} warning/error lines")?;
                for kind in kinds.iter().take(LOG_KINDS_SHOWN) {
                    writeln!(out, "    {} × {}", kind.count, kind.kind)?;
                    writeln!(out, "        first: {}", kind.first)?;
                }
                if kinds.len() > LOG_KINDS_SHOWN {
                    writeln!(
                        out,
                        "    … and {} more kinds",
                        kinds.len() - LOG_KINDS_SHOWN
                    )?;
                }
            }
        }
        Ok(())
    }

    pub fn json(&self) -> Value {
        let rounds: Vec<Value> = self
            .rounds
            .iter()
            .map(|round| {
                json!({
                    "round": round.number,
                    "warmup": round.number.is_none(),
                    "received": round.received,
                    "expected": round.expected,
                    "complete": round.complete(),
                    "post_ms": round_ms(round.post),
                    "first_ms": round.first().map(round_ms),
                    "p50_ms": round.percentile(0.50).map(round_ms),
                    "p99_ms": round.percentile(0.99).map(round_ms),
                    "time_to_last_subscriber_ms": round.time_to_last().map(round_ms),
                    "time_to_every_socket_ms": round.time_to_landed().map(round_ms),
                    "cpu_ms": {
                        "server": round.cpu.server.map(round_ms),
                        "bench": round.cpu.bench.map(round_ms),
                        "others": round.cpu.others.map(round_ms),
                        "steal": round.cpu.steal.map(round_ms),
                    },
                })
            })
            .collect();
        let summary = |figure| self.summary(figure).map(|s| s.json());
        let server_log = self.server_log.as_ref().map(|kinds| {
            kinds
                .iter()
                .map(|k| json!({ "kind": k.kind, "count": k.count, "first": k.first }))
                .collect::<Vec<_>>()
        });
        json!({
            "benchmark": "fanout",
            "server": self.server,
            "protocol": self.protocol,
            "subscribers": self.subscribers,
            "connect_concurrency": self.connect_concurrency,
            "open_seconds": (self.open_time.as_secs_f64() * 1000.0).round() / 1000.0,
            "cores": Self::cores(),
            "round_timeout_seconds": self.round_timeout.as_secs(),
            "rounds": rounds,
            "time_to_last_subscriber_ms": summary(RoundResult::time_to_last),
            "time_to_every_socket_ms": summary(RoundResult::time_to_landed),
            "time_to_last_subscriber_without_steal_ms": summary(quiet_time_to_last),
            "dropped_subscribers": {
                "count": self.dropped.values().sum::<usize>(),
                "reasons": self.dropped,
            },
            "server_log": server_log,
            "server_peak_rss_bytes": self.server_peak_rss,
            "client_peak_rss_bytes": self.client_peak_rss,
        })
    }
}

/// The time to last subscriber of a round the hypervisor (almost) did not
/// steal from: on a shared VM, the figure that compares across hours.
fn quiet_time_to_last(round: &RoundResult) -> Option<Duration> {
    round
        .cpu
        .steal
        .filter(|steal| *steal <= QUIET_STEAL)
        .and(round.time_to_last())
}

impl Summary {
    fn json(&self) -> Value {
        json!({
            "median": round_ms(self.median),
            "min": round_ms(self.min),
            "max": round_ms(self.max),
            "rounds": self.rounds,
        })
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (median of {} round{}; min {}, max {})",
            ms(self.median),
            self.rounds,
            if self.rounds == 1 { "" } else { "s" },
            ms(self.min),
            ms(self.max)
        )
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn opt_ms(duration: Option<Duration>) -> String {
    duration.map_or_else(|| "-".to_owned(), ms)
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "-".to_owned(),
        |bytes| format!("{} MiB", bytes / (1024 * 1024)),
    )
}

/// Milliseconds to the microsecond: finer would be noise.
fn round_ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procfs::CpuUse;
    use crate::round::Latency;

    /// Each subscriber's entry landed in its socket 1 ms before it was
    /// read.
    fn round(number: Option<u32>, latencies: &[u64]) -> RoundResult {
        let seen: Vec<Latency> = latencies
            .iter()
            .map(|&ms| Latency {
                read: Duration::from_millis(ms),
                landed: Some(Duration::from_millis(ms - 1)),
            })
            .collect();
        RoundResult::new(
            number,
            Duration::from_millis(2),
            &seen,
            2,
            CpuUse::default(),
        )
    }

    fn report(rounds: Vec<RoundResult>) -> Report {
        Report {
            server: "test".to_owned(),
            protocol: "graphql-transport-ws",
            subscribers: 2,
            connect_concurrency: 1,
            open_time: Duration::ZERO,
            rounds,
            dropped: BTreeMap::new(),
            server_log: Some(Vec::new()),
            round_timeout: Duration::from_secs(120),
            client_peak_rss: None,
            server_peak_rss: None,
        }
    }

    #[test]
    fn the_summary_leaves_out_the_warm_up_and_incomplete_rounds() {
        let report = report(vec![
            round(None, &[1, 900]),
            round(Some(1), &[1, 30]),
            round(Some(2), &[1, 10]),
            round(Some(3), &[1]),
        ]);
        let summary = report
            .summary(RoundResult::time_to_last)
            .expect("two complete rounds");
        assert_eq!(summary.rounds, 2);
        assert_eq!(summary.median, Duration::from_millis(20));
        assert_eq!(summary.min, Duration::from_millis(10));
        assert_eq!(summary.max, Duration::from_millis(30));
        let text = report.text();
        let incomplete = text
            .lines()
            .find(|line| line.contains("1/2"))
            .expect("round 3");
        assert!(incomplete.contains("timeout"), "{text}");
    }

    #[test]
    fn rounds_the_hypervisor_stole_from_are_summed_up_apart() {
        let stolen = |number, last, steal| {
            let mut round = round(Some(number), &[1, last]);
            round.cpu.steal = Some(Duration::from_millis(steal));
            round
        };
        let report = report(vec![
            stolen(1, 50, 0),
            stolen(2, 300, 200),
            stolen(3, 60, 10),
        ]);
        let text = report.text();
        assert!(
            text.contains("time to last subscriber: 60.0 ms (median of 3 rounds"),
            "{text}"
        );
        assert!(
            text.contains(
                "time to last subscriber, rounds with at most 10.0 ms of steal: 55.0 ms (median of 2 rounds"
            ),
            "{text}"
        );
        let json = report.json();
        assert_eq!(
            json["time_to_last_subscriber_without_steal_ms"]["max"],
            60.0
        );
    }

    #[test]
    fn text_and_json_carry_the_same_figures() {
        let report = report(vec![round(Some(1), &[5, 7])]);
        let text = report.text();
        assert!(text.contains("time to last subscriber: 7.0 ms"), "{text}");
        assert!(
            text.contains("time until in every subscriber's socket: 6.0 ms"),
            "{text}"
        );
        assert!(text.contains("server log: no warnings or errors"), "{text}");
        assert!(
            !text.contains("rounds with at most"),
            "no round knows its steal: {text}"
        );
        let json = report.json();
        assert_eq!(json["time_to_last_subscriber_ms"]["median"], 7.0);
        assert_eq!(json["rounds"][0]["post_ms"], 2.0);
        assert_eq!(json["rounds"][0]["time_to_last_subscriber_ms"], 7.0);
        assert_eq!(json["time_to_every_socket_ms"]["median"], 6.0);
        assert_eq!(json["rounds"][0]["time_to_every_socket_ms"], 6.0);
        assert_eq!(json["dropped_subscribers"]["count"], 0);
    }
}
