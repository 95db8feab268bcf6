//! The figures of a `query` run: each run as measured, and per scenario and
//! concurrency the median over the repeats with their spread, as text and
//! as JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::load::LoadResult;
use crate::procfs::CpuUse;
use crate::query::Scenario;

/// One measured run.
pub struct Row {
    pub scenario: Scenario,
    pub concurrency: usize,
    pub result: LoadResult,
    pub cpu: CpuUse,
    pub server_rss: Option<u64>,
}

impl Row {
    /// CPU time over the measured window, in cores (1.0: one core busy).
    fn cores(&self, time: Option<Duration>) -> Option<f64> {
        Some(time?.as_secs_f64() / self.result.duration.as_secs_f64())
    }
}

pub struct QueryReport {
    pub server: String,
    pub warmup: Duration,
    pub duration: Duration,
    pub rows: Vec<Row>,
    pub server_peak_rss: Option<u64>,
    /// The server's anonymous memory at the end (without mapped files).
    pub server_anon_rss: Option<u64>,
}

/// The repeats of one scenario at one concurrency, summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub scenario: Scenario,
    pub concurrency: usize,
    pub runs: usize,
    pub rps: f64,
    pub rps_min: f64,
    pub rps_max: f64,
    pub p50: Option<Duration>,
    pub p95: Option<Duration>,
    pub p99: Option<Duration>,
    pub max: Option<Duration>,
    pub errors: usize,
    pub first_error: Option<String>,
    pub server_cores: Option<f64>,
    pub other_cores: Option<f64>,
    pub bench_cores: Option<f64>,
    pub server_rss: Option<u64>,
    pub bytes_per_response: Option<u64>,
}

impl Summary {
    /// How far the repeats spread around their median, in percent.
    pub fn spread_percent(&self) -> f64 {
        if self.rps <= 0.0 {
            return 0.0;
        }
        (self.rps_max - self.rps_min) / self.rps * 100.0
    }
}

impl QueryReport {
    /// One summary per scenario and concurrency, in the order measured.
    pub fn summaries(&self) -> Vec<Summary> {
        let mut keys: Vec<(Scenario, usize)> = Vec::new();
        for row in &self.rows {
            if !keys.contains(&(row.scenario, row.concurrency)) {
                keys.push((row.scenario, row.concurrency));
            }
        }
        keys.into_iter()
            .map(|(scenario, concurrency)| {
                let runs: Vec<&Row> = self
                    .rows
                    .iter()
                    .filter(|r| r.scenario == scenario && r.concurrency == concurrency)
                    .collect();
                summarise(scenario, concurrency, &runs)
            })
            .collect()
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "politmaster-bench query");
        let _ = writeln!(out, "  server    {}", self.server);
        let _ = writeln!(
            out,
            "  runs      {} s warm-up, {} s measured; closed loop, one request per connection at a time",
            self.warmup.as_secs(),
            self.duration.as_secs()
        );
        if let Some(peak) = self.server_peak_rss {
            let _ = writeln!(out, "  peak mem  server {}{}", mib(peak), self.anon_note());
        }
        let _ = writeln!(
            out,
            "\n  {:<10} {:>4} {:>4} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6} {:>9}",
            "scenario",
            "c",
            "runs",
            "req/s",
            "spread",
            "p50",
            "p95",
            "p99",
            "max",
            "errors",
            "srv",
            "other",
            "bench",
            "resp"
        );
        for s in self.summaries() {
            let _ = writeln!(
                out,
                "  {:<10} {:>4} {:>4} {:>9.0} {:>6.1}% {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6} {:>9}",
                s.scenario.name(),
                s.concurrency,
                s.runs,
                s.rps,
                s.spread_percent(),
                ms(s.p50),
                ms(s.p95),
                ms(s.p99),
                ms(s.max),
                s.errors,
                cores(s.server_cores),
                cores(s.other_cores),
                cores(s.bench_cores),
                s.bytes_per_response
                    .map_or_else(|| "–".to_owned(), |b| format!("{b} B")),
            );
            if let Some(error) = &s.first_error {
                let _ = writeln!(out, "      first error: {error}");
            }
        }
        let _ = writeln!(
            out,
            "\n  req/s: median of the runs (spread: max - min, as a share of it); latencies: median \
             of the runs' percentiles;\n  srv, other, bench: CPU in cores over the measured window \
             (other: every other process, the database included)"
        );
        out
    }

    /// ", anonymous now: N MiB", when known.
    pub fn anon_note(&self) -> String {
        self.server_anon_rss
            .map(|anon| format!(" (anonymous memory at the end: {})", mib(anon)))
            .unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        let summaries: Vec<Value> = self
            .summaries()
            .iter()
            .map(|s| {
                json!({
                    "scenario": s.scenario.name(),
                    "concurrency": s.concurrency,
                    "runs": s.runs,
                    "requests_per_second": s.rps.round(),
                    "requests_per_second_min": s.rps_min.round(),
                    "requests_per_second_max": s.rps_max.round(),
                    "p50_ms": s.p50.map(millis),
                    "p95_ms": s.p95.map(millis),
                    "p99_ms": s.p99.map(millis),
                    "max_ms": s.max.map(millis),
                    "errors": s.errors,
                    "first_error": s.first_error,
                    "server_cores": s.server_cores,
                    "other_cores": s.other_cores,
                    "bench_cores": s.bench_cores,
                    "server_rss_bytes": s.server_rss,
                    "bytes_per_response": s.bytes_per_response,
                })
            })
            .collect();
        json!({
            "benchmark": "query",
            "server": self.server,
            "warmup_seconds": self.warmup.as_secs(),
            "duration_seconds": self.duration.as_secs(),
            "server_peak_rss_bytes": self.server_peak_rss,
            "server_anon_rss_bytes": self.server_anon_rss,
            "results": summaries,
        })
    }
}

fn summarise(scenario: Scenario, concurrency: usize, runs: &[&Row]) -> Summary {
    let rps: Vec<f64> = runs
        .iter()
        .map(|r| r.result.requests_per_second())
        .collect();
    let percentile = |p: f64| median_duration(runs.iter().filter_map(|r| r.result.percentile(p)));
    let cores = |pick: fn(&CpuUse) -> Option<Duration>| {
        median_f64(runs.iter().filter_map(|r| r.cores(pick(&r.cpu))))
    };
    let requests: usize = runs.iter().map(|r| r.result.latencies.len()).sum();
    let bytes: u64 = runs.iter().map(|r| r.result.body_bytes).sum();
    Summary {
        scenario,
        concurrency,
        runs: runs.len(),
        rps: median_f64(rps.iter().copied()).unwrap_or(0.0),
        rps_min: rps.iter().copied().fold(f64::INFINITY, f64::min),
        rps_max: rps.iter().copied().fold(0.0, f64::max),
        p50: percentile(0.50),
        p95: percentile(0.95),
        p99: percentile(0.99),
        max: runs.iter().filter_map(|r| r.result.max()).max(),
        errors: runs.iter().map(|r| r.result.errors).sum(),
        first_error: runs.iter().find_map(|r| r.result.first_error.clone()),
        server_cores: cores(|c| c.server),
        other_cores: cores(|c| c.others),
        bench_cores: cores(|c| c.bench),
        server_rss: runs.iter().filter_map(|r| r.server_rss).max(),
        bytes_per_response: (requests > 0).then(|| bytes / requests as u64),
    }
}

pub fn median_f64(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 0 => Some((values[middle - 1] + values[middle]) / 2.0),
        _ => Some(values[middle]),
    }
}

fn median_duration(values: impl Iterator<Item = Duration>) -> Option<Duration> {
    let mut values: Vec<Duration> = values.collect();
    values.sort_unstable();
    crate::round::median(&values)
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

pub fn ms(d: Option<Duration>) -> String {
    d.map_or_else(
        || "–".to_owned(),
        |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0),
    )
}

fn cores(c: Option<f64>) -> String {
    c.map_or_else(|| "–".to_owned(), |c| format!("{c:.2}"))
}

pub fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(requests: u64, p50_ms: u64) -> Row {
        Row {
            scenario: Scenario::Feed,
            concurrency: 32,
            result: LoadResult {
                duration: Duration::from_secs(1),
                latencies: (0..requests)
                    .map(|_| Duration::from_millis(p50_ms))
                    .collect(),
                body_bytes: requests * 100,
                ..LoadResult::default()
            },
            cpu: CpuUse {
                server: Some(Duration::from_millis(1500)),
                ..CpuUse::default()
            },
            server_rss: Some(10),
        }
    }

    #[test]
    fn repeats_are_summarised_by_their_median_and_spread() {
        let report = QueryReport {
            server: "test".into(),
            warmup: Duration::ZERO,
            duration: Duration::from_secs(1),
            rows: vec![row(90, 3), row(100, 2), row(120, 1)],
            server_peak_rss: None,
            server_anon_rss: None,
        };
        let summaries = report.summaries();
        assert_eq!(summaries.len(), 1);
        let s = &summaries[0];
        assert_eq!(s.runs, 3);
        assert_eq!(s.rps, 100.0);
        assert!((s.spread_percent() - 30.0).abs() < 1e-9);
        assert_eq!(s.p50, Some(Duration::from_millis(2)));
        assert_eq!(s.server_cores, Some(1.5));
        assert_eq!(s.bytes_per_response, Some(100));
        assert!(report.text().contains("feed"));
    }
}
