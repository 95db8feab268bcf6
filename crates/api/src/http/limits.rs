//! What one client may take of a node: requests per second by IP address
//! and by token, WebSocket connections by IP address and per node, and
//! (per connection, see [`crate::http::ws`]) subscription starts per
//! second and bytes of subscription documents held.
//!
//! Rates are enforced with GCRA (the generic cell rate algorithm): one
//! instant per client, the "theoretical arrival time" of its next request;
//! a request is allowed when that time is no further ahead than the burst
//! allows, and then pushes it one interval on. Exact, no timers, and a
//! client that stopped asking costs nothing once its time has passed (it
//! is swept away).
//!
//! **Who the client is.** The TCP peer, unless the node is configured to
//! trust one header set by its proxy (`POLITMASTER_CLIENT_IP_HEADER`);
//! then that header and nothing else. A header the client could set
//! itself is never read otherwise: it would let anyone pick their own
//! bucket. IPv6 clients are counted by /64, the block one subscriber
//! usually holds.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Extensions;
use axum::http::HeaderMap;
use axum::http::HeaderName;
use tokio::time::Instant;

/// A rate: `per_second` on average, `burst` at once. Zero per second: no
/// limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    pub const UNLIMITED: Rate = Rate {
        per_second: 0,
        burst: 0,
    };

    pub fn new(per_second: u32, burst: u32) -> Self {
        Rate {
            per_second,
            burst: burst.max(1),
        }
    }

    pub fn is_limited(&self) -> bool {
        self.per_second > 0
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(1) / self.per_second.max(1)
    }

    /// How far ahead of now a client's next slot may be and still be
    /// allowed: the burst's worth of intervals.
    fn tolerance(&self) -> Duration {
        self.interval() * self.burst
    }

    /// One GCRA step: given a client's next slot (`None`: never asked),
    /// its next slot after one more request at `now`, or how long until
    /// that request would be allowed.
    fn next_slot(&self, slot: Option<Instant>, now: Instant) -> Result<Instant, Duration> {
        let next = slot.map_or(now, |slot| slot.max(now)) + self.interval();
        let ahead = next - now;
        let tolerance = self.tolerance();
        if ahead > tolerance {
            return Err(ahead - tolerance);
        }
        Ok(next)
    }
}

/// The limits of a node; [`Default`] is what `politmaster serve` starts
/// with unless configured otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Requests per client address: HTTP requests, WebSocket upgrades, and
    /// queries and mutations sent over a WebSocket.
    pub requests_per_ip: Rate,
    /// Requests per desk token, wherever they come from.
    pub requests_per_token: Rate,
    /// Open WebSocket connections per client address (0: no limit).
    pub websockets_per_ip: usize,
    /// Open WebSocket connections on this node (0: no limit).
    pub websockets_per_node: usize,
    /// `subscribe` messages per connection.
    pub subscribes_per_connection: Rate,
    /// Bytes of documents and variables of the subscriptions one
    /// connection runs at once (0: no limit).
    pub subscription_bytes_per_connection: usize,
    /// The header the proxy in front of the nodes puts the client's
    /// address in (`X-Forwarded-For`, `X-Real-IP`, …); `None`: the TCP
    /// peer is the client.
    pub client_ip_header: Option<HeaderName>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            // A reader's browser makes a handful of requests a page; a
            // server-side renderer or an office behind one address more:
            // generous, but not unlimited.
            requests_per_ip: Rate::new(100, 200),
            requests_per_token: Rate::new(50, 100),
            // Widgets on many tabs of many readers behind one address.
            websockets_per_ip: 200,
            websockets_per_node: 50_000,
            // A page of widgets subscribes at once: a connection may fill
            // its allowance of subscriptions in one go, then start ten a
            // second.
            subscribes_per_connection: Rate::new(10, crate::http::ws::MAX_OPERATIONS as u32),
            subscription_bytes_per_connection: 256 * 1024,
            client_ip_header: None,
        }
    }
}

impl LimitsConfig {
    /// No limits at all: for benchmarks and in-process tests.
    pub fn unlimited() -> Self {
        LimitsConfig {
            requests_per_ip: Rate::UNLIMITED,
            requests_per_token: Rate::UNLIMITED,
            websockets_per_ip: 0,
            websockets_per_node: 0,
            subscribes_per_connection: Rate::UNLIMITED,
            subscription_bytes_per_connection: 0,
            client_ip_header: None,
        }
    }
}

/// A refusal, and when asking again may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub why: Refusal,
    pub retry_after: Duration,
}

/// Why a client was refused; each is counted on `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    RequestsPerIp,
    RequestsPerToken,
    WebSocketsPerIp,
    WebSocketsPerNode,
    SubscribesPerConnection,
    SubscriptionBytes,
}

impl Refusal {
    pub const ALL: [Refusal; 6] = [
        Refusal::RequestsPerIp,
        Refusal::RequestsPerToken,
        Refusal::WebSocketsPerIp,
        Refusal::WebSocketsPerNode,
        Refusal::SubscribesPerConnection,
        Refusal::SubscriptionBytes,
    ];

    /// The label on `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::RequestsPerIp => "requests_per_ip",
            Refusal::RequestsPerToken => "requests_per_token",
            Refusal::WebSocketsPerIp => "websockets_per_ip",
            Refusal::WebSocketsPerNode => "websockets_per_node",
            Refusal::SubscribesPerConnection => "subscribes_per_connection",
            Refusal::SubscriptionBytes => "subscription_bytes",
        }
    }

    /// What the client is told.
    pub fn message(self, config: &LimitsConfig) -> String {
        match self {
            Refusal::RequestsPerIp => format!(
                "too many requests from your address (at most {} a second)",
                config.requests_per_ip.per_second
            ),
            Refusal::RequestsPerToken => format!(
                "too many requests with this token (at most {} a second)",
                config.requests_per_token.per_second
            ),
            Refusal::WebSocketsPerIp => format!(
                "too many WebSocket connections from your address (at most {})",
                config.websockets_per_ip
            ),
            Refusal::WebSocketsPerNode => {
                "this server holds all the WebSocket connections it can; try again".to_owned()
            }
            Refusal::SubscribesPerConnection => format!(
                "subscriptions are started too fast on this connection (at most {} a second)",
                config.subscribes_per_connection.per_second
            ),
            Refusal::SubscriptionBytes => format!(
                "the subscriptions of one connection may hold at most {} bytes of documents and variables",
                config.subscription_bytes_per_connection
            ),
        }
    }
}

/// A node's limits and what they have counted.
pub struct Limits {
    pub config: LimitsConfig,
    per_ip: KeyedRate<IpAddr>,
    per_token: KeyedRate<String>,
    websockets: Mutex<HashMap<IpAddr, usize>>,
    websockets_open: AtomicUsize,
    refused: [AtomicU64; Refusal::ALL.len()],
}

impl Limits {
    pub fn new(config: LimitsConfig) -> Arc<Self> {
        Arc::new(Limits {
            per_ip: KeyedRate::new(config.requests_per_ip),
            per_token: KeyedRate::new(config.requests_per_token),
            websockets: Mutex::default(),
            websockets_open: AtomicUsize::new(0),
            refused: Default::default(),
            config,
        })
    }

    /// The client's address: the trusted header's when one is configured
    /// (its last entry: the one our proxy appended), else the TCP peer's.
    /// `None` when neither is known (a request handed to the router
    /// in-process), which no per-address limit applies to.
    pub fn client_ip(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<IpAddr> {
        match &self.config.client_ip_header {
            Some(header) => headers
                .get_all(header)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .next_back()
                .and_then(parse_ip),
            None => extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip()),
        }
        .map(client_block)
    }

    /// Counts a request against its address and token.
    pub fn admit_request(&self, ip: Option<IpAddr>, token: Option<&str>) -> Result<(), Refused> {
        let now = Instant::now();
        if let Some(ip) = ip {
            self.per_ip
                .admit(ip, now)
                .map_err(|retry_after| self.refuse(Refusal::RequestsPerIp, retry_after))?;
        }
        if let Some(token) = token {
            // The token's hash would do as well; the secret never leaves
            // this map, which lives as long as the process.
            self.per_token
                .admit_with(token, now)
                .map_err(|retry_after| self.refuse(Refusal::RequestsPerToken, retry_after))?;
        }
        Ok(())
    }

    /// Takes a WebSocket slot for `ip`, held until the permit drops.
    pub fn open_websocket(
        self: &Arc<Self>,
        ip: Option<IpAddr>,
    ) -> Result<WebSocketPermit, Refused> {
        let per_node = self.config.websockets_per_node;
        let open = self.websockets_open.fetch_add(1, Ordering::AcqRel);
        let mut permit = WebSocketPermit {
            limits: self.clone(),
            ip: None,
        };
        if per_node > 0 && open >= per_node {
            return Err(self.refuse(Refusal::WebSocketsPerNode, Duration::from_secs(5)));
        }
        let Some(ip) = ip else {
            return Ok(permit);
        };
        let per_ip = self.config.websockets_per_ip;
        let mut by_ip = self.websockets();
        let count = by_ip.entry(ip).or_default();
        if per_ip > 0 && *count >= per_ip {
            drop(by_ip);
            return Err(self.refuse(Refusal::WebSocketsPerIp, Duration::from_secs(5)));
        }
        *count += 1;
        drop(by_ip);
        permit.ip = Some(ip);
        Ok(permit)
    }

    /// Counts a refusal made elsewhere (per connection).
    pub fn refuse(&self, why: Refusal, retry_after: Duration) -> Refused {
        self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
        Refused { why, retry_after }
    }

    /// Refusals so far, by reason.
    pub fn refusals(&self) -> impl Iterator<Item = (Refusal, u64)> + '_ {
        Refusal::ALL
            .into_iter()
            .map(|why| (why, self.refused[why as usize].load(Ordering::Relaxed)))
    }

    /// WebSocket connections holding a permit.
    pub fn websockets_open(&self) -> usize {
        self.websockets_open.load(Ordering::Acquire)
    }

    fn websockets(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.websockets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Middleware on `/graphql`: counts each request (a WebSocket upgrade
/// included) against its address and token before anything else runs.
pub async fn enforce(
    axum::extract::State(state): axum::extract::State<crate::http::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let limits = &state.limits;
    let ip = limits.client_ip(request.headers(), request.extensions());
    let token = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(crate::http::auth::bearer);
    match limits.admit_request(ip, token) {
        Ok(()) => next.run(request).await,
        Err(refused) => {
            let accept = request
                .headers()
                .get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok());
            let media = crate::http::negotiate::response_media_type(accept)
                .unwrap_or(crate::http::negotiate::MediaType::Json);
            crate::http::reply::rate_limited(media, &refused, &limits.config)
        }
    }
}

/// A WebSocket connection's slot; dropping it frees the slot.
pub struct WebSocketPermit {
    limits: Arc<Limits>,
    ip: Option<IpAddr>,
}

impl Drop for WebSocketPermit {
    fn drop(&mut self) {
        self.limits.websockets_open.fetch_sub(1, Ordering::AcqRel);
        if let Some(ip) = self.ip {
            let mut by_ip = self.limits.websockets();
            if let Some(count) = by_ip.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    by_ip.remove(&ip);
                }
            }
        }
    }
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    // `X-Forwarded-For` may carry a port, and `Forwarded`-style brackets.
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The block a client is counted by: its IPv4 address, or its IPv6 /64.
fn client_block(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// One GCRA instant per key, in shards so that concurrent requests rarely
/// wait for each other.
pub struct KeyedRate<K> {
    rate: Rate,
    hasher: RandomState,
    shards: Box<[Mutex<Shard<K>>]>,
}

struct Shard<K> {
    next_slot: HashMap<K, Instant>,
    /// Keys at which the shard is swept of clients whose slot has passed.
    sweep_at: usize,
}

const SHARDS: usize = 16;
/// A shard is swept when it has grown to this many keys (and then at twice
/// what remains), so an address that asked once is forgotten soon after.
const FIRST_SWEEP: usize = 1024;

impl<K: Hash + Eq> KeyedRate<K> {
    pub fn new(rate: Rate) -> Self {
        KeyedRate {
            rate,
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        next_slot: HashMap::new(),
                        sweep_at: FIRST_SWEEP,
                    })
                })
                .collect(),
        }
    }

    /// Counts one request of `key` at `now`; refused: how long until one
    /// would be allowed.
    pub fn admit(&self, key: K, now: Instant) -> Result<(), Duration> {
        if !self.rate.is_limited() {
            return Ok(());
        }
        let mut shard = self.shard(&key);
        let slot = shard.next_slot.get(&key).copied();
        let next = self.rate.next_slot(slot, now)?;
        shard.insert(key, next, now);
        Ok(())
    }

    /// The shard of a key; `Q` is the key or what it borrows as, which
    /// hashes the same.
    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> MutexGuard<'_, Shard<K>> {
        let index = (self.hasher.hash_one(key) as usize) % self.shards.len();
        self.shards[index].lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl KeyedRate<String> {
    /// [`KeyedRate::admit`] without allocating the key when it is known.
    pub fn admit_with(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if !self.rate.is_limited() {
            return Ok(());
        }
        let mut shard = self.shard(key);
        let slot = shard.next_slot.get(key).copied();
        let next = self.rate.next_slot(slot, now)?;
        match shard.next_slot.get_mut(key) {
            Some(existing) => *existing = next,
            None => shard.insert(key.to_owned(), next, now),
        }
        Ok(())
    }
}

impl<K: Hash + Eq> Shard<K> {
    fn insert(&mut self, key: K, next: Instant, now: Instant) {
        self.next_slot.insert(key, next);
        if self.next_slot.len() >= self.sweep_at {
            // A client whose next slot has passed is as good as new.
            self.next_slot.retain(|_, slot| *slot > now);
            self.sweep_at = (self.next_slot.len() * 2).max(FIRST_SWEEP);
        }
    }
}

/// A single client's rate (one connection's subscription starts).
#[derive(Debug)]
pub struct LocalRate {
    rate: Rate,
    next_slot: Option<Instant>,
}

impl LocalRate {
    pub fn new(rate: Rate) -> Self {
        LocalRate {
            rate,
            next_slot: None,
        }
    }

    pub fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        if !self.rate.is_limited() {
            return Ok(());
        }
        self.next_slot = Some(self.rate.next_slot(self.next_slot, now)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_the_rate() {
        let limiter = KeyedRate::new(Rate::new(10, 5));
        let start = Instant::now();
        for i in 0..5 {
            assert_eq!(
                limiter.admit("a", start),
                Ok(()),
                "request {i} of the burst"
            );
        }
        let retry = limiter.admit("a", start).expect_err("the burst is spent");
        assert_eq!(retry, Duration::from_millis(100));
        // Another client has its own allowance.
        assert_eq!(limiter.admit("b", start), Ok(()));
        // One interval later, one more.
        let later = start + Duration::from_millis(100);
        assert_eq!(limiter.admit("a", later), Ok(()));
        assert!(limiter.admit("a", later).is_err());
        // A second later, the full burst again.
        let rested = start + Duration::from_secs(2);
        for _ in 0..5 {
            assert_eq!(limiter.admit("a", rested), Ok(()));
        }
        assert!(limiter.admit("a", rested).is_err());
    }

    #[test]
    fn over_time_the_rate_holds() {
        let limiter = KeyedRate::new(Rate::new(50, 10));
        let start = Instant::now();
        let mut allowed = 0;
        // 10 seconds of a client asking every millisecond.
        for ms in 0..10_000 {
            if limiter
                .admit(1u8, start + Duration::from_millis(ms))
                .is_ok()
            {
                allowed += 1;
            }
        }
        assert!((500..=511).contains(&allowed), "{allowed}");
    }

    #[test]
    fn clients_that_stopped_asking_are_forgotten() {
        let limiter = KeyedRate::new(Rate::new(10, 1));
        let start = Instant::now();
        for key in 0..100_000u32 {
            limiter
                .admit(key, start + Duration::from_millis(u64::from(key)))
                .expect("each asks once");
        }
        let kept: usize = limiter
            .shards
            .iter()
            .map(|s| s.lock().unwrap().next_slot.len())
            .sum();
        assert!(kept < 20_000, "{kept} keys kept");
    }

    #[test]
    fn unlimited_allows_everything() {
        let limiter = KeyedRate::new(Rate::UNLIMITED);
        let now = Instant::now();
        assert!((0..10_000).all(|_| limiter.admit(1u8, now).is_ok()));
        let mut local = LocalRate::new(Rate::UNLIMITED);
        assert!((0..10_000).all(|_| local.admit(now).is_ok()));
    }

    #[test]
    fn a_connection_has_its_own_rate() {
        let mut local = LocalRate::new(Rate::new(2, 3));
        let now = Instant::now();
        assert!((0..3).all(|_| local.admit(now).is_ok()));
        assert_eq!(local.admit(now), Err(Duration::from_millis(500)));
    }

    fn limits(header: Option<&'static str>) -> Arc<Limits> {
        Limits::new(LimitsConfig {
            client_ip_header: header.map(HeaderName::from_static),
            ..LimitsConfig::default()
        })
    }

    fn peer(ip: &str) -> Extensions {
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::new(ip.parse().unwrap(), 40000)));
        extensions
    }

    #[test]
    fn the_client_is_the_peer_unless_a_header_is_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6".parse().unwrap());
        let direct = limits(None);
        assert_eq!(
            direct.client_ip(&headers, &peer("10.0.0.1")),
            Some("10.0.0.1".parse().unwrap()),
            "a header the client sets is ignored"
        );
        let proxied = limits(Some("x-forwarded-for"));
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        assert_eq!(
            proxied.client_ip(&headers, &peer("10.0.0.1")),
            Some("203.0.113.7".parse().unwrap()),
            "the entry our proxy appended, not the one the client made up"
        );
        assert_eq!(
            proxied.client_ip(&HeaderMap::new(), &peer("10.0.0.1")),
            None
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_block() {
        let a = client_block("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = client_block("2001:db8:1:2:bbbb::2".parse().unwrap());
        let c = client_block("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            client_block("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn websocket_slots_are_counted_per_address_and_node() {
        let limits = Limits::new(LimitsConfig {
            websockets_per_ip: 2,
            websockets_per_node: 3,
            ..LimitsConfig::default()
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = limits.open_websocket(Some(a)).expect("first");
        let _second = limits.open_websocket(Some(a)).expect("second");
        let refused = limits.open_websocket(Some(a)).err().expect("third from a");
        assert_eq!(refused.why, Refusal::WebSocketsPerIp);
        let _third = limits.open_websocket(Some(b)).expect("b");
        let refused = limits.open_websocket(Some(b)).err().expect("node full");
        assert_eq!(refused.why, Refusal::WebSocketsPerNode);
        assert_eq!(limits.websockets_open(), 3, "refused ones hold no slot");
        drop(first);
        assert_eq!(limits.websockets_open(), 2);
        limits.open_websocket(Some(a)).expect("a slot was freed");
        let counted: Vec<_> = limits.refusals().filter(|(_, n)| *n > 0).collect();
        assert_eq!(
            counted,
            [
                (Refusal::WebSocketsPerIp, 1),
                (Refusal::WebSocketsPerNode, 1)
            ]
        );
    }
}
