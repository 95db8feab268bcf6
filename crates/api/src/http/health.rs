//! Liveness and readiness for the orchestrator.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;

use crate::http::AppState;

/// How long readiness waits for the database before calling it down: a
/// probe that hangs is worse than one that says no.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is up and serving HTTP.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can do useful work: the database answers, the event bus is
/// connected (else subscribers would only hear of changes late, from the
/// log), and it is not shutting down. The body names what is down.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let mut down = Vec::new();
    if state.shutdown.is_triggered() {
        down.push("shutting down");
    }
    match tokio::time::timeout(PING_TIMEOUT, state.newsroom.store().ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            // The detail names hosts and drivers: logs only.
            tracing::warn!(error = %err, "readiness: database ping failed");
            down.push("database unreachable");
        }
        Err(_) => {
            tracing::warn!("readiness: database ping timed out");
            down.push("database ping timed out");
        }
    }
    if !state.newsroom.bus().is_connected() {
        tracing::warn!("readiness: event bus disconnected");
        down.push("event bus disconnected");
    }
    if down.is_empty() {
        (StatusCode::OK, "ready".to_owned())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, down.join("; "))
    }
}
