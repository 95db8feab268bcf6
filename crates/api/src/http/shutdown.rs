//! Graceful shutdown of long-lived connections.
//!
//! The accept loop's graceful shutdown ([`crate::serve`]) stops accepting
//! and waits for HTTP requests in flight, but a WebSocket, once upgraded,
//! is a task of its own that HTTP neither tracks nor stops. [`Shutdown`] is the handle through which the
//! server tells open WebSockets to go: each sends a close frame (`1012
//! service restart`) and ends, so that clients reconnect (to another node,
//! or this one once it is back) and resume from the cursor of the last
//! event they received. `/readyz` answers 503 from then on, so that load
//! balancers send nobody new.
//!
//! ```no_run
//! # async fn run(newsroom: domain::Newsroom, listener: tokio::net::TcpListener) {
//! # let signal = std::future::pending::<()>();
//! let shutdown = api::Shutdown::new();
//! let app = api::router_with(newsroom, api::SiteConfig::default(), shutdown.clone());
//! let trigger = shutdown.clone();
//! api::serve(listener, app, api::HttpConfig::default(), async move {
//!     signal.await; // SIGTERM, ctrl-c
//!     trigger.trigger();
//! })
//! .await;
//! // HTTP is done; give the sockets a moment to say goodbye.
//! let _ = tokio::time::timeout(std::time::Duration::from_secs(5), shutdown.drained()).await;
//! # }
//! ```

use std::sync::Arc;

use tokio::sync::watch;

/// Tells open WebSocket connections to close, and counts them. Cheap to
/// clone: every clone is the same handle.
#[derive(Clone, Debug)]
pub struct Shutdown(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    triggered: watch::Sender<bool>,
    open: watch::Sender<usize>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown(Arc::new(Inner {
            triggered: watch::channel(false).0,
            open: watch::channel(0).0,
        }))
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the shutdown: every open WebSocket sends its close frame and
    /// ends, and new ones are closed as soon as they open. Idempotent.
    pub fn trigger(&self) {
        self.0.triggered.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.0.triggered.borrow()
    }

    /// Resolves once [`Shutdown::trigger`] has been called.
    pub async fn triggered(&self) {
        let mut triggered = self.0.triggered.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = triggered.wait_for(|t| *t).await;
    }

    /// WebSocket connections open now.
    pub fn open_connections(&self) -> usize {
        *self.0.open.borrow()
    }

    /// Resolves when no WebSocket connection is open: after
    /// [`Shutdown::trigger`], when every one has said goodbye. Bound it
    /// with a timeout: a client that stopped reading is given up on only
    /// after the write timeout.
    pub async fn drained(&self) {
        let mut open = self.0.open.subscribe();
        let _ = open.wait_for(|n| *n == 0).await;
    }

    /// Counts a connection as open until the guard is dropped.
    pub(crate) fn track(&self) -> OpenConnection {
        self.0.open.send_modify(|n| *n += 1);
        OpenConnection(self.clone())
    }
}

pub(crate) struct OpenConnection(Shutdown);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        (self.0).0.open.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn connections_are_counted_and_drained() {
        let shutdown = Shutdown::new();
        let first = shutdown.track();
        let second = shutdown.track();
        assert_eq!(shutdown.open_connections(), 2);
        assert!(!shutdown.is_triggered());

        let waiter = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                shutdown.triggered().await;
                shutdown.drained().await;
            }
        });
        shutdown.trigger();
        shutdown.trigger();
        drop(first);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        drop(second);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("drained")
            .expect("no panic");
        assert_eq!(shutdown.open_connections(), 0);
    }
}
