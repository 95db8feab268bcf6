//! The loop that owns one socket: it reads client messages, takes events
//! from the connection's subscriptions, keeps the connection alive and
//! closes it, writing one batch of messages at a time.
//!
//! Everything a connection does happens in this one task, so its cost is
//! the socket plus a few words per subscription. The loop polls only the
//! sources that woke it ([`Wakeups`]): delivering an event does not touch
//! the socket's read side or the timers. Neither a busy subscription nor a
//! chatty client can starve the other side, and a shutdown or a timer that
//! fired is dealt with before the next write.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use domain::Caller;
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};

use crate::http::shutdown::Shutdown;
use crate::http::ws::frame::{FrameError, Incoming, Opcode};
use crate::http::ws::members::{Item, Member, Members};
use crate::http::ws::protocol::{self, Protocol};
use crate::http::ws::revocation::{DeskSockets, Registration};
use crate::http::ws::session::{Node, Out, Session};
use crate::http::ws::socket::{Reader, Writer};
use crate::http::ws::wakeups::{Source, Wakeups};
use crate::http::ws::{SHUTDOWN_REASON, WebSocketConfig, close};

pub struct Connection {
    pub node: Node,
    pub shutdown: Shutdown,
    /// Where a connection that authenticated with a token registers, to
    /// hear when the token is revoked or expires.
    pub desk: Arc<DeskSockets>,
    pub config: WebSocketConfig,
    pub protocol: Protocol,
    pub caller: Caller,
}

/// How a connection ended.
enum Ending {
    /// We sent a close frame: wait for the client's.
    ClosedByUs,
    /// The client sent a close frame (with this code): answer it.
    ClosedByClient(Option<u16>),
    /// The connection broke, or a write timed out.
    Gone,
}

/// How long to wait for the client's close frame after sending ours, so
/// that the socket is not torn down under a frame the client still has to
/// read (a reset can discard it, and the client would see `1006` instead
/// of our code and reason).
const CLOSING_HANDSHAKE: Duration = Duration::from_secs(1);

/// What woke the connection.
enum Wake {
    Shutdown,
    Frame(Option<Result<Incoming, FrameError>>),
    Event(Item),
    KeepAlive,
    InitTimeout,
    /// A pump handed subscriptions back.
    Returns,
    /// The caller's token stopped authenticating.
    Revoked,
}

/// What a connection waits on, each polled with its own waker and only
/// after that waker fired ([`Wakeups`]).
struct Sources<'a, S> {
    wakeups: &'a Wakeups,
    shutting_down: Pin<&'a mut S>,
    keep_alive: &'a mut Interval,
    /// Until `connection_init` is acknowledged.
    init_deadline: Option<Pin<&'a mut Sleep>>,
    socket: &'a mut Reader,
    members: &'a mut Members,
    pumped: &'a [Arc<Member>],
    desk: Option<&'a Registration>,
}

impl<S: Future<Output = ()>> Sources<'_, S> {
    /// What woke the connection. The signals come first: they are rare,
    /// and polled only when they fired, so neither a busy subscription nor
    /// a chatty client can hold off a shutdown, a keep-alive or the init
    /// deadline. The two busy sources take turns going first, so that
    /// neither starves the other.
    fn poll_next(&mut self, task: &mut Context<'_>, events_first: bool) -> Poll<Wake> {
        let woken = self.wakeups.take(task.waker());
        let mut sources = polling_order(events_first)
            .into_iter()
            .filter(|source| woken.contains(*source));
        while let Some(source) = sources.next() {
            if let Poll::Ready(wake) = self.poll(source) {
                // It may have more; the others woke and were not polled.
                self.wakeups.again(source);
                sources.for_each(|unpolled| self.wakeups.again(unpolled));
                return Poll::Ready(wake);
            }
        }
        Poll::Pending
    }

    fn poll(&mut self, source: Source) -> Poll<Wake> {
        let cx = &mut self.wakeups.context(source);
        match source {
            Source::Shutdown => self
                .shutting_down
                .as_mut()
                .poll(cx)
                .map(|()| Wake::Shutdown),
            Source::KeepAlive => self.keep_alive.poll_tick(cx).map(|_| Wake::KeepAlive),
            // Woken by the node's token check.
            Source::Revoked => match self.desk {
                Some(desk) if desk.is_revoked() => Poll::Ready(Wake::Revoked),
                _ => Poll::Pending,
            },
            Source::InitDeadline => match &mut self.init_deadline {
                Some(deadline) => deadline.as_mut().poll(cx).map(|()| Wake::InitTimeout),
                None => Poll::Pending,
            },
            Source::Socket => self.socket.poll_next(cx).map(Wake::Frame),
            // Woken by a pump, which marks what it handed back first.
            Source::Returns => {
                if self.pumped.iter().any(|member| member.has_returned()) {
                    Poll::Ready(Wake::Returns)
                } else {
                    Poll::Pending
                }
            }
            // With no subscription running there is nothing to wait for:
            // starting one wakes this source.
            Source::Events => match self.members.poll_next() {
                Poll::Ready(Some(item)) => Poll::Ready(Wake::Event(item)),
                Poll::Ready(None) | Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// The order in which woken sources are polled: the signals, then the
/// busy two, whichever's turn it is first.
fn polling_order(events_first: bool) -> [Source; 7] {
    let (first, second) = if events_first {
        (Source::Events, Source::Socket)
    } else {
        (Source::Socket, Source::Events)
    };
    [
        Source::Shutdown,
        Source::Revoked,
        Source::KeepAlive,
        Source::InitDeadline,
        Source::Returns,
        first,
        second,
    ]
}

/// A batch's frames: messages, and the keep-alive's control frames.
enum Frame {
    Out(Out),
    Ping,
    /// The answer to the client's ping, with its payload.
    Pong(Vec<u8>),
}

impl Connection {
    pub async fn serve(self, mut socket: Reader, writer: Arc<Writer>) {
        let _open = self.shutdown.track();
        let config = self.config;
        let legacy = self.protocol == Protocol::Legacy;
        let wakeups = Wakeups::new();
        let mut session = Session::new(
            self.protocol,
            self.node,
            self.caller,
            writer.clone(),
            Members::new(wakeups.waker(Source::Events).clone()),
            wakeups.waker(Source::Returns).clone(),
        );

        let shutting_down = self.shutdown.triggered();
        futures::pin_mut!(shutting_down);
        // Dropped once acknowledged: a timer left in the runtime's wheel
        // would wake every connection of a busy node once more, all
        // together, ten seconds after they opened.
        let mut init_deadline = Some(Box::pin(tokio::time::sleep(config.init_timeout)));
        let first_keep_alive = Instant::now() + first_keep_alive(config.ping_interval);
        let mut keep_alive = tokio::time::interval_at(first_keep_alive, config.ping_interval);
        keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut heard = Instant::now();
        let mut events_first = false;
        let revoked_waker = wakeups.waker(Source::Revoked).clone();
        let mut desk = None;

        let ending = loop {
            // The caller is set by the upgrade and may change with
            // `connection_init`: follow its token.
            register_desk(&mut desk, session.caller(), &self.desk, &revoked_waker);
            let acked = session.acked();
            if acked {
                init_deadline = None;
            }
            events_first = !events_first;
            let wake = {
                let mut sources = Sources {
                    wakeups: &wakeups,
                    shutting_down: shutting_down.as_mut(),
                    keep_alive: &mut keep_alive,
                    init_deadline: init_deadline.as_mut().map(|deadline| deadline.as_mut()),
                    socket: &mut socket,
                    members: &mut session.members,
                    pumped: &session.pumped,
                    desk: desk.as_ref(),
                };
                std::future::poll_fn(|task| sources.poll_next(task, events_first)).await
            };
            let mut delivered = false;
            let batch: Vec<Frame> = match wake {
                Wake::Shutdown => vec![close_with(close::SERVICE_RESTART, SHUTDOWN_REASON)],
                Wake::Frame(frame) => {
                    // Anything from the client shows it is alive; only
                    // text and binary frames are protocol messages.
                    heard = Instant::now();
                    match frame {
                        Some(Ok(Incoming::Text(message) | Incoming::Binary(message))) => {
                            frames_of(session.on_message(&message).await)
                        }
                        Some(Ok(Incoming::Ping(payload))) => vec![Frame::Pong(payload.to_vec())],
                        Some(Ok(Incoming::Pong)) => continue,
                        Some(Ok(Incoming::Close(frame))) => {
                            break Ending::ClosedByClient(frame.map(|(code, _)| code));
                        }
                        Some(Err(error)) => vec![close_with(error.close_code(), error.reason())],
                        None => break Ending::Gone,
                    }
                }
                Wake::Event(item) => {
                    delivered = true;
                    frames_of(session.on_event(item).await)
                }
                Wake::Returns => frames_of(session.take_returns().await),
                Wake::Revoked => frames_of(session.revoked()),
                Wake::InitTimeout => {
                    vec![close_with(
                        close::INIT_TIMEOUT,
                        "Connection initialisation timeout",
                    )]
                }
                Wake::KeepAlive => {
                    if heard.elapsed() > config.idle_timeout {
                        let reason = "keep-alive timeout: nothing heard from the client";
                        vec![close_with(close::IDLE_TIMEOUT, reason)]
                    } else if legacy && acked {
                        vec![Frame::Out(Out::Text(protocol::KA.to_owned())), Frame::Ping]
                    } else {
                        vec![Frame::Ping]
                    }
                }
            };
            let closing = batch
                .iter()
                .any(|frame| matches!(frame, Frame::Out(Out::Close(..))));
            // Also flushes what a pump left in the backlog.
            if !send(&writer, batch, config.write_timeout).await {
                break Ending::Gone;
            }
            if closing {
                break Ending::ClosedByUs;
            }
            if delivered {
                session.written();
            }
        };
        // Subscriptions end here, whatever happens to the socket next.
        drop(session);
        drop(desk);
        match ending {
            Ending::ClosedByUs => {
                let _ = tokio::time::timeout(CLOSING_HANDSHAKE, async {
                    loop {
                        match std::future::poll_fn(|cx| socket.poll_next(cx)).await {
                            Some(Ok(Incoming::Close(_))) | None => break,
                            Some(Ok(_)) => {}
                            // Bytes that are not WebSocket: wait for the
                            // client to close instead.
                            Some(Err(_)) => {
                                std::future::poll_fn(|cx| socket.poll_drain(cx)).await;
                                break;
                            }
                        }
                    }
                })
                .await;
            }
            Ending::ClosedByClient(code) => {
                // Echo the client's code, as RFC 6455 asks.
                let batch = vec![close_with(code.unwrap_or(close::NORMAL), "")];
                send(&writer, batch, config.write_timeout).await;
            }
            Ending::Gone => {}
        }
        writer.release();
    }
}

/// When a connection's first keep-alive is due: in the second half of the
/// interval (never later than a client expects one), spread evenly over
/// connections. Sockets opened together (thousands of widgets reconnecting
/// after a restart) would otherwise ping together for ever after, a burst
/// of writes that delays the live updates sharing those moments.
fn first_keep_alive(interval: Duration) -> Duration {
    static OPENED: AtomicU64 = AtomicU64::new(0);
    let n = OPENED.fetch_add(1, Ordering::Relaxed);
    // The fractional parts of n × the golden ratio fill [0, 1) evenly,
    // however many connections there are.
    let spread = (n as f64 * 0.618_033_988_749_895).fract();
    interval.mul_f64(0.5 + spread / 2.0)
}

/// Keeps `desk` registered under the token `caller` authenticated with, if
/// any.
fn register_desk(
    desk: &mut Option<Registration>,
    caller: &Caller,
    sockets: &DeskSockets,
    wake: &Waker,
) {
    let token = caller.principal().map(|p| p.token_id);
    if desk.as_ref().map(Registration::token) != token {
        *desk = token.map(|token| sockets.register(token, wake.clone()));
    }
}

fn frames_of(out: Vec<Out>) -> Vec<Frame> {
    out.into_iter().map(Frame::Out).collect()
}

fn close_with(code: u16, reason: &str) -> Frame {
    Frame::Out(Out::Close(code, reason.to_owned()))
}

/// Writes a batch of messages, stopping after a close frame, and whatever
/// else waits in the writer's backlog; returns whether it was all written
/// in time.
async fn send(writer: &Writer, batch: Vec<Frame>, timeout: Duration) -> bool {
    for frame in batch {
        match frame {
            Frame::Out(Out::Text(text)) => writer.push_text(&text),
            Frame::Ping => writer.push_control(Opcode::Ping, &[]),
            Frame::Pong(payload) => writer.push_control(Opcode::Pong, &payload),
            Frame::Out(Out::Close(code, reason)) => {
                writer.push_close(code, &reason);
                break;
            }
        }
    }
    if writer.is_broken() {
        return false;
    }
    if !writer.has_backlog() {
        return true;
    }
    let flush = std::future::poll_fn(|cx| writer.poll_flush(cx));
    matches!(tokio::time::timeout(timeout, flush).await, Ok(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_polled_before_the_busy_sources_which_take_turns() {
        for events_first in [true, false] {
            let order = polling_order(events_first);
            assert_eq!(
                order[..5],
                [
                    Source::Shutdown,
                    Source::Revoked,
                    Source::KeepAlive,
                    Source::InitDeadline,
                    Source::Returns
                ]
            );
            let busy = if events_first {
                [Source::Events, Source::Socket]
            } else {
                [Source::Socket, Source::Events]
            };
            assert_eq!(order[5..], busy);
        }
    }

    #[test]
    fn first_keep_alives_spread_over_the_second_half_of_the_interval() {
        let interval = Duration::from_secs(10);
        let mut per_second = [0; 10];
        for _ in 0..1000 {
            let first = first_keep_alive(interval);
            assert!(first >= interval / 2 && first < interval, "{first:?}");
            per_second[first.as_secs() as usize] += 1;
        }
        // Other tests open connections too, so the sequence need not start
        // at 0; any 1,000 consecutive terms still fill each second evenly.
        assert_eq!(per_second[..5], [0; 5]);
        assert!(
            per_second[5..].iter().all(|&n| (180..=220).contains(&n)),
            "{per_second:?}"
        );
    }

    #[test]
    fn the_shutdown_reason_fits_a_close_frame() {
        assert!(SHUTDOWN_REASON.len() <= 123);
    }
}
