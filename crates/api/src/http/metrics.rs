//! `GET /metrics` in the Prometheus text format: a few hand-written
//! counters until a full metrics stack replaces them.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::graphql::cache::CacheCounts;
use crate::http::AppState;
use crate::http::limits::Refusal;
use crate::http::ws::pump::PumpCounts;
use crate::http::ws::render::RenderCounts;

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Requests answered, by status class (1xx to 5xx). Counters only go up,
/// so relaxed atomics are enough.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    by_class: [AtomicU64; 5],
}

impl HttpMetrics {
    fn record(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
    }

    fn render(
        &self,
        db_statements: u64,
        websockets: usize,
        subscriptions: RenderCounts,
        pumps: PumpCounts,
        cache: CacheCounts,
        refusals: &[(Refusal, u64)],
    ) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP politmaster_http_requests_total HTTP requests answered, by status class.\n\
             # TYPE politmaster_http_requests_total counter\n",
        );
        for (i, counter) in self.by_class.iter().enumerate() {
            let _ = writeln!(
                out,
                "politmaster_http_requests_total{{status=\"{}xx\"}} {}",
                i + 1,
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = write!(
            out,
            "# HELP politmaster_db_statements_total SQL statements executed since start-up.\n\
             # TYPE politmaster_db_statements_total counter\n\
             politmaster_db_statements_total {db_statements}\n\
             # HELP politmaster_websocket_connections WebSocket connections open now.\n\
             # TYPE politmaster_websocket_connections gauge\n\
             politmaster_websocket_connections {websockets}\n\
             # HELP politmaster_subscription_renders_total Subscription events rendered: once per event and distinct subscription, however many subscribe to it.\n\
             # TYPE politmaster_subscription_renders_total counter\n\
             politmaster_subscription_renders_total {renders}\n\
             # HELP politmaster_subscription_deliveries_total Rendered subscription events written to a subscriber.\n\
             # TYPE politmaster_subscription_deliveries_total counter\n\
             politmaster_subscription_deliveries_total {deliveries}\n\
             # HELP politmaster_subscription_pumped WebSocket subscribers at the live edge, written to by their stream's pump.\n\
             # TYPE politmaster_subscription_pumped gauge\n\
             politmaster_subscription_pumped {pumped}\n\
             # HELP politmaster_subscription_handbacks_total Subscribers a pump handed back to their connection (a busy socket, or a pump that stopped), to catch up from the log.\n\
             # TYPE politmaster_subscription_handbacks_total counter\n\
             politmaster_subscription_handbacks_total {handbacks}\n\
             # HELP politmaster_response_cache_hits_total Anonymous queries answered from the response cache.\n\
             # TYPE politmaster_response_cache_hits_total counter\n\
             politmaster_response_cache_hits_total {hits}\n\
             # HELP politmaster_response_cache_misses_total Anonymous queries the response cache could not answer.\n\
             # TYPE politmaster_response_cache_misses_total counter\n\
             politmaster_response_cache_misses_total {misses}\n\
             # HELP politmaster_response_cache_bytes Bytes the response cache holds.\n\
             # TYPE politmaster_response_cache_bytes gauge\n\
             politmaster_response_cache_bytes {cache_bytes}\n",
            hits = cache.hits,
            misses = cache.misses,
            cache_bytes = cache.bytes,
            renders = subscriptions.renders,
            deliveries = subscriptions.deliveries,
            pumped = pumps.subscribers,
            handbacks = pumps.handbacks,
        );
        out.push_str(
            "# HELP politmaster_refusals_total Requests, connections and subscriptions refused by a rate or connection limit, by limit.\n\
             # TYPE politmaster_refusals_total counter\n",
        );
        for (refusal, count) in refusals {
            let _ = writeln!(
                out,
                "politmaster_refusals_total{{limit=\"{}\"}} {count}",
                refusal.label()
            );
        }
        out
    }
}

/// Middleware counting every response, whatever route produced it.
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    state.metrics.record(response.status().as_u16());
    response
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let db_statements = state.newsroom.store().statements_executed();
    let mut text = state.metrics.render(
        db_statements,
        state.shutdown.open_connections(),
        state.renders.counts(),
        state.pumps.counts(),
        state.cache.counts(),
        &state.limits.refusals().collect::<Vec<_>>(),
    );
    if let Some(more) = &state.more_metrics {
        more(&mut text);
    }
    ([(CONTENT_TYPE, TEXT_FORMAT)], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_the_prometheus_text_format() {
        let metrics = HttpMetrics::default();
        metrics.record(200);
        metrics.record(204);
        metrics.record(503);
        let counts = RenderCounts {
            renders: 2,
            deliveries: 400,
        };
        let pumps = PumpCounts {
            subscribers: 5,
            handbacks: 1,
        };
        let cache = CacheCounts {
            hits: 7,
            misses: 2,
            bytes: 1024,
        };
        let refusals = [(Refusal::RequestsPerIp, 4), (Refusal::SubscriptionBytes, 0)];
        let text = metrics.render(42, 3, counts, pumps, cache, &refusals);
        assert!(text.contains("politmaster_http_requests_total{status=\"2xx\"} 2\n"));
        assert!(text.contains("politmaster_http_requests_total{status=\"5xx\"} 1\n"));
        assert!(text.contains("# TYPE politmaster_db_statements_total counter\n"));
        assert!(text.contains("politmaster_db_statements_total 42\n"));
        assert!(text.contains("politmaster_websocket_connections 3\n"));
        assert!(text.contains("politmaster_subscription_renders_total 2\n"));
        assert!(text.contains("politmaster_subscription_deliveries_total 400\n"));
        assert!(text.contains("politmaster_subscription_pumped 5\n"));
        assert!(text.contains("politmaster_subscription_handbacks_total 1\n"));
        assert!(text.contains("politmaster_response_cache_hits_total 7\n"));
        assert!(text.contains("politmaster_response_cache_bytes 1024\n"));
        assert!(text.contains("politmaster_refusals_total{limit=\"requests_per_ip\"} 4\n"));
        assert!(text.ends_with("politmaster_refusals_total{limit=\"subscription_bytes\"} 0\n"));
    }
}
