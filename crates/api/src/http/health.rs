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

/// The process can do useful work: the database answers.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(PING_TIMEOUT, state.newsroom.store().ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(err)) => {
            // The detail names hosts and drivers: logs only.
            tracing::warn!(error = %err, "readiness: database ping failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
        Err(_) => {
            tracing::warn!("readiness: database ping timed out");
            (StatusCode::SERVICE_UNAVAILABLE, "database ping timed out")
        }
    }
}
