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
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use domain::{Caller, Newsroom};
use futures::{SinkExt, StreamExt};
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};

use crate::graphql::ApiSchema;
use crate::http::shutdown::Shutdown;
use crate::http::ws::members::{Item, Members};
use crate::http::ws::protocol::{self, Protocol};
use crate::http::ws::render::RenderCache;
use crate::http::ws::session::{Out, Session};
use crate::http::ws::wakeups::{Source, Wakeups};
use crate::http::ws::{SHUTDOWN_REASON, WebSocketConfig, close};

pub struct Connection {
    pub schema: ApiSchema,
    pub newsroom: Newsroom,
    pub renders: Arc<RenderCache>,
    pub shutdown: Shutdown,
    pub config: WebSocketConfig,
    pub protocol: Protocol,
    pub caller: Caller,
}

/// How a connection ended.
enum Ending {
    /// We sent a close frame: wait for the client's.
    ClosedByUs,
    /// The client sent a close frame: flush the automatic reply.
    ClosedByClient,
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
    Frame(Option<Result<Message, axum::Error>>),
    Event(Item),
    KeepAlive,
    InitTimeout,
}

/// What a connection waits on, each polled with its own waker and only
/// after that waker fired ([`Wakeups`]).
struct Sources<'a, S> {
    wakeups: &'a Wakeups,
    shutting_down: Pin<&'a mut S>,
    keep_alive: &'a mut Interval,
    /// Until `connection_init` is acknowledged.
    init_deadline: Option<Pin<&'a mut Sleep>>,
    socket: &'a mut WebSocket,
    members: &'a mut Members,
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
            Source::InitDeadline => match &mut self.init_deadline {
                Some(deadline) => deadline.as_mut().poll(cx).map(|()| Wake::InitTimeout),
                None => Poll::Pending,
            },
            Source::Socket => self.socket.poll_next_unpin(cx).map(Wake::Frame),
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
fn polling_order(events_first: bool) -> [Source; 5] {
    let (first, second) = if events_first {
        (Source::Events, Source::Socket)
    } else {
        (Source::Socket, Source::Events)
    };
    [
        Source::Shutdown,
        Source::KeepAlive,
        Source::InitDeadline,
        first,
        second,
    ]
}

/// A ping frame in a batch: keep-alive.
enum Frame {
    Out(Out),
    Ping,
}

impl Connection {
    pub async fn serve(self, mut socket: WebSocket) {
        let _open = self.shutdown.track();
        let config = self.config;
        let legacy = self.protocol == Protocol::Legacy;
        let wakeups = Wakeups::new();
        let mut session = Session::new(
            self.protocol,
            self.schema,
            self.newsroom,
            self.renders,
            self.caller,
            Members::new(wakeups.waker(Source::Events).clone()),
        );

        let shutting_down = self.shutdown.triggered();
        futures::pin_mut!(shutting_down);
        let init_deadline = tokio::time::sleep(config.init_timeout);
        futures::pin_mut!(init_deadline);
        let first_keep_alive = Instant::now() + first_keep_alive(config.ping_interval);
        let mut keep_alive = tokio::time::interval_at(first_keep_alive, config.ping_interval);
        keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut heard = Instant::now();
        let mut events_first = false;

        let ending = loop {
            let acked = session.acked();
            events_first = !events_first;
            let wake = {
                let mut sources = Sources {
                    wakeups: &wakeups,
                    shutting_down: shutting_down.as_mut(),
                    keep_alive: &mut keep_alive,
                    init_deadline: (!acked).then_some(init_deadline.as_mut()),
                    socket: &mut socket,
                    members: &mut session.members,
                };
                std::future::poll_fn(|task| sources.poll_next(task, events_first)).await
            };
            let batch: Vec<Frame> = match wake {
                Wake::Shutdown => vec![close_with(close::SERVICE_RESTART, SHUTDOWN_REASON)],
                Wake::Frame(frame) => {
                    // Anything from the client shows it is alive; only
                    // text and binary frames are protocol messages.
                    heard = Instant::now();
                    let message = match frame {
                        Some(Ok(frame @ (Message::Text(_) | Message::Binary(_)))) => {
                            frame.into_data()
                        }
                        Some(Ok(Message::Close(_))) => break Ending::ClosedByClient,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Err(_)) | None => break Ending::Gone,
                    };
                    frames_of(session.on_message(&message).await)
                }
                Wake::Event(item) => frames_of(session.on_event(item).await),
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
            if batch.is_empty() {
                continue;
            }
            let closing = batch
                .iter()
                .any(|frame| matches!(frame, Frame::Out(Out::Close(..))));
            if !send(&mut socket, batch, config.write_timeout).await {
                break Ending::Gone;
            }
            if closing {
                break Ending::ClosedByUs;
            }
        };
        // Subscriptions end here, whatever happens to the socket next.
        drop(session);
        match ending {
            Ending::ClosedByUs => {
                let _ = tokio::time::timeout(CLOSING_HANDSHAKE, async {
                    while let Some(Ok(frame)) = socket.next().await {
                        if matches!(frame, Message::Close(_)) {
                            break;
                        }
                    }
                })
                .await;
            }
            Ending::ClosedByClient => {
                let _ = tokio::time::timeout(config.write_timeout, socket.close()).await;
            }
            Ending::Gone => {}
        }
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

fn frames_of(out: Vec<Out>) -> Vec<Frame> {
    out.into_iter().map(Frame::Out).collect()
}

fn close_with(code: u16, reason: &str) -> Frame {
    Frame::Out(Out::Close(code, reason.to_owned()))
}

/// Writes a batch of messages, stopping after a close frame; returns
/// whether it was written in time.
async fn send<S>(sink: &mut S, batch: Vec<Frame>, timeout: Duration) -> bool
where
    S: futures::Sink<Message> + Unpin,
{
    let write = async {
        for frame in batch {
            let (message, last) = match frame {
                Frame::Out(Out::Text(text)) => (Message::Text(text.into()), false),
                Frame::Ping => (Message::Ping(Default::default()), false),
                Frame::Out(Out::Close(code, reason)) => {
                    let frame = CloseFrame {
                        code,
                        reason: close_reason(&reason).into(),
                    };
                    (Message::Close(Some(frame)), true)
                }
            };
            sink.feed(message).await?;
            if last {
                break;
            }
        }
        sink.flush().await
    };
    // Most writes complete at once: arm the timer only for one that waits.
    let mut write = std::pin::pin!(write);
    let written = match futures::poll!(write.as_mut()) {
        Poll::Ready(written) => written,
        Poll::Pending => match tokio::time::timeout(timeout, write).await {
            Ok(written) => written,
            Err(_) => return false,
        },
    };
    written.is_ok()
}

/// A close frame's reason is at most 123 bytes.
fn close_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_polled_before_the_busy_sources_which_take_turns() {
        for events_first in [true, false] {
            let order = polling_order(events_first);
            assert_eq!(
                order[..3],
                [Source::Shutdown, Source::KeepAlive, Source::InitDeadline]
            );
            let busy = if events_first {
                [Source::Events, Source::Socket]
            } else {
                [Source::Socket, Source::Events]
            };
            assert_eq!(order[3..], busy);
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
    fn close_reasons_fit_a_frame() {
        assert_eq!(close_reason("short"), "short");
        let long = "é".repeat(100);
        let cut = close_reason(&long);
        assert!(cut.len() <= 123 && cut.chars().all(|c| c == 'é'));
        assert!(SHUTDOWN_REASON.len() <= 123);
    }
}
