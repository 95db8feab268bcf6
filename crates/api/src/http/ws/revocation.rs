//! Revoked and expired desk tokens reach sockets opened before.
//!
//! An HTTP request resolves its token on every request, so revoking one
//! takes effect on the next request. A WebSocket authenticates once, at
//! the upgrade or in `connection_init`, and may stay open for days. Every
//! connection that authenticated with a token is registered here, and one
//! task per node asks the store every [`CHECK_INTERVAL`] which of those
//! tokens still authenticate: one query for all of them, none while no
//! desk socket is open. A connection whose token no longer does is woken
//! and closes with `4403`.
//!
//! The store is the authority, not the event bus: `politmaster token
//! revoke` is a command run anywhere, on a node or not, and an expiry is
//! no event at all; every node reads the same table and so closes its own
//! sockets within one interval.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Waker;
use std::time::Duration;

use domain::Newsroom;
use domain::ids::TokenId;

/// How often a node checks the tokens of its desk sockets.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// The desk sockets of a node, by the token they authenticated with.
pub struct DeskSockets {
    inner: Arc<Inner>,
}

struct Inner {
    newsroom: Newsroom,
    sockets: Mutex<HashMap<u64, Socket>>,
    next_key: AtomicU64,
    checking: AtomicBool,
    interval: Duration,
}

struct Socket {
    token: TokenId,
    revoked: Arc<AtomicBool>,
    wake: Waker,
}

/// A connection's place in [`DeskSockets`]; dropping it leaves.
pub struct Registration {
    inner: Arc<Inner>,
    key: u64,
    token: TokenId,
    revoked: Arc<AtomicBool>,
}

impl Registration {
    pub fn token(&self) -> TokenId {
        self.token
    }

    /// Whether the token stopped authenticating.
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Acquire)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.inner.sockets().remove(&self.key);
    }
}

impl DeskSockets {
    pub fn new(newsroom: Newsroom) -> Self {
        Self::with_interval(newsroom, CHECK_INTERVAL)
    }

    pub fn with_interval(newsroom: Newsroom, interval: Duration) -> Self {
        DeskSockets {
            inner: Arc::new(Inner {
                newsroom,
                sockets: Mutex::default(),
                next_key: AtomicU64::new(0),
                checking: AtomicBool::new(false),
                interval,
            }),
        }
    }

    /// Registers a connection that authenticated with `token`; `wake` is
    /// woken when the token stops authenticating. Starts the node's check
    /// with its first desk socket (a runtime is running by then).
    pub fn register(&self, token: TokenId, wake: Waker) -> Registration {
        let key = self.inner.next_key.fetch_add(1, Ordering::Relaxed);
        let revoked = Arc::new(AtomicBool::new(false));
        self.inner.sockets().insert(
            key,
            Socket {
                token,
                revoked: revoked.clone(),
                wake,
            },
        );
        if !self.inner.checking.swap(true, Ordering::AcqRel) {
            tokio::spawn(check(Arc::downgrade(&self.inner)));
        }
        Registration {
            inner: self.inner.clone(),
            key,
            token,
            revoked,
        }
    }

    /// Desk sockets open on this node.
    pub fn len(&self) -> usize {
        self.inner.sockets().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn sockets(&self) -> MutexGuard<'_, HashMap<u64, Socket>> {
        // A panic while holding this lock leaves a map, never a half-made
        // entry: keep using it.
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tokens(&self) -> Vec<TokenId> {
        let distinct: HashSet<TokenId> = self.sockets().values().map(|s| s.token).collect();
        distinct.into_iter().collect()
    }

    /// Wakes every socket whose token is not among `active`.
    fn revoke_all_but(&self, active: &HashSet<TokenId>) -> usize {
        let sockets = self.sockets();
        let mut revoked = 0;
        for socket in sockets.values() {
            if !active.contains(&socket.token) && !socket.revoked.swap(true, Ordering::AcqRel) {
                socket.wake.wake_by_ref();
                revoked += 1;
            }
        }
        revoked
    }
}

/// The node's check, for as long as its router lives.
async fn check(inner: Weak<Inner>) {
    let Some(interval) = inner.upgrade().map(|i| i.interval) else {
        return;
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let tokens = inner.tokens();
        if tokens.is_empty() {
            continue;
        }
        match inner.newsroom.active_tokens(&tokens).await {
            Ok(active) => {
                let closed = inner.revoke_all_but(&active);
                if closed > 0 {
                    tracing::info!(
                        sockets = closed,
                        "closing sockets of revoked or expired tokens"
                    );
                }
            }
            // Sockets stay open while the store cannot answer: failing
            // closed would disconnect the whole desk on a database blip.
            Err(error) => tracing::warn!(%error, "cannot check the tokens of desk sockets"),
        }
    }
}
