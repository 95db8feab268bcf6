//! The hooks through which the WebSocket transport executes a subscription
//! once per event *per distinct subscription* instead of once per
//! subscriber (see [`crate::http::ws`]).
//!
//! A subscription resolver runs in one of three modes, chosen by what the
//! request carries in its context data:
//! - **normal** (nothing): it validates its arguments, opens the newsroom's
//!   event stream and streams, as async-graphql expects. Tests and any
//!   other caller of `Schema::execute_stream` use this.
//! - **probe** ([`Probe`]): it validates its arguments exactly as in normal
//!   mode (so a bad id, an unknown blog or a bad cursor is the same coded
//!   error), opens the event stream, and instead of streaming hands the
//!   stream over as a [`Plan`] and yields nothing. The transport then polls
//!   the events itself, per subscriber, in the connection's own task.
//! - **pinned** ([`Pinned`]): it skips subscribing and yields exactly the
//!   one event it is given, through its normal filtering and mapping, so
//!   that the filters (section, tag, publication) and the mapping to
//!   GraphQL types are written once. The transport renders each event
//!   this way once per distinct subscription and writes the bytes to every
//!   subscriber of it.
//!
//! Each resolver calls [`pinned`] where it would subscribe, [`hand_over`]
//! with the stream it opened, and [`deliver`] around what it yields. A
//! resolver following a shared stream (articles) also narrows it with
//! [`only`], so that a subscriber's stream carries only the events it may
//! care about and nothing is rendered for the rest: an `articleUpdated`
//! for one article is not executed for every other article's edits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{Context, Pos};
use async_graphql_value::Value;
use domain::delivery::Feed;
use domain::events::{Event, EventRecord, Stream};
use futures::future::ready;
use futures::stream::{self, BoxStream, StreamExt};

use crate::graphql::errors::ApiError;
use crate::graphql::subscription::{EventStream, until_error};

/// A subscription's events as the newsroom delivers them.
pub type Events = BoxStream<'static, domain::Result<Arc<EventRecord>>>;

/// Which events of its stream a subscription may care about: a cheap,
/// event-only test (whatever needs the store is decided when the event is
/// rendered). `None`: every event.
pub type Relevance = Option<Arc<dyn Fn(&Event) -> bool + Send + Sync>>;

/// What a probed subscription field hands over instead of streaming.
pub struct Plan {
    /// The stream the events come from (part of the render cache's key).
    pub stream: Stream,
    /// The subscriber's own gap-free delivery, opened by the resolver, not
    /// yet narrowed by `relevant`.
    pub feed: Feed,
    /// Which of the stream's events it may care about.
    pub relevant: Relevance,
    /// The name of the variable bound to the field's cursor argument
    /// (`after`), if it is bound to one: subscribers that differ only in it
    /// see the same rendering of an event. `None` for a literal cursor or
    /// a field without one.
    pub cursor_variable: Option<String>,
    /// The field's response key (its alias or name): the path of an error
    /// that ends the subscription.
    pub field: String,
    /// Where the field is in the document, for that error's location.
    pub pos: Pos,
}

/// Context data asking subscription resolvers for their [`Plan`]s.
#[derive(Clone, Default)]
pub struct Probe(Arc<Mutex<Vec<Plan>>>);

impl Probe {
    /// The plans recorded so far, one per subscription field resolved.
    pub fn take(&self) -> Vec<Plan> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn record(&self, plan: Plan) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(plan);
    }
}

/// Context data asking subscription resolvers to yield this one event.
#[derive(Clone)]
pub struct Pinned(Arc<PinnedEvent>);

struct PinnedEvent {
    record: Arc<EventRecord>,
    failed: AtomicBool,
}

impl Pinned {
    pub fn new(record: Arc<EventRecord>) -> Self {
        Pinned(Arc::new(PinnedEvent {
            record,
            failed: AtomicBool::new(false),
        }))
    }

    /// Whether the event rendered to an error that ends the subscription
    /// (the store failed while filtering or loading), as opposed to an
    /// ordinary item.
    pub fn failed(&self) -> bool {
        self.0.failed.load(Ordering::SeqCst)
    }
}

/// In pinned mode, the pinned event (when it belongs to `stream`) in place
/// of a subscription; `None` otherwise.
pub(crate) fn pinned(ctx: &Context<'_>, stream: Stream) -> Option<Events> {
    let pinned = ctx.data_opt::<Pinned>()?;
    let record = pinned.0.record.clone();
    Some(if record.stream == stream {
        stream::iter([Ok(record)]).boxed()
    } else {
        stream::empty().boxed()
    })
}

/// The events `relevant` accepts (and any error).
pub(crate) fn only(events: Events, relevant: &Relevance) -> Events {
    match relevant.clone() {
        None => events,
        Some(relevant) => events
            .filter(move |item| ready(item.as_ref().map_or(true, |record| relevant(&record.event))))
            .boxed(),
    }
}

/// In probe mode, records `feed` as the field's [`Plan`] and returns an
/// empty stream; otherwise returns its events that are `relevant`.
/// `cursor_argument` names the field's cursor argument, if it has one.
pub(crate) fn hand_over(
    ctx: &Context<'_>,
    stream: Stream,
    feed: Feed,
    relevant: Relevance,
    cursor_argument: Option<&str>,
) -> Events {
    let Some(probe) = ctx.data_opt::<Probe>() else {
        return only(feed.events, &relevant);
    };
    let field = &ctx.item.node;
    let cursor_variable = cursor_argument
        .and_then(|name| field.get_argument(name))
        .and_then(|value| match &value.node {
            Value::Variable(name) => Some(name.to_string()),
            _ => None,
        });
    probe.record(Plan {
        stream,
        feed,
        relevant,
        cursor_variable,
        field: field.response_key().node.to_string(),
        pos: ctx.item.pos,
    });
    stream::empty().boxed()
}

/// What a subscription field yields: its items until the first error
/// (which ends it; see [`until_error`]). In pinned mode, such an error is
/// also flagged on the [`Pinned`] data, so that the transport ends the
/// subscription after delivering it.
pub(crate) fn deliver<T, E>(
    ctx: &Context<'_>,
    items: impl futures::Stream<Item = Result<T, E>> + Send + 'static,
) -> EventStream<T>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    let items = until_error(items);
    match ctx.data_opt::<Pinned>() {
        None => items,
        Some(pinned) => {
            let pinned = pinned.0.clone();
            items
                .inspect(move |item| {
                    if item.is_err() {
                        pinned.failed.store(true, Ordering::SeqCst);
                    }
                })
                .boxed()
        }
    }
}

/// Context data: the cursor a resuming client last received, outside the
/// document (GraphQL over SSE sends it as `Last-Event-ID`). A resumable
/// subscription field resumes from it, whatever its `after` says: a client
/// reconnecting sends the request it first sent, `after` included, and
/// the last event it received is later than that.
#[derive(Debug, Clone)]
pub struct ResumeAfter(pub String);

/// The cursor the client resumes from, or else the field's `after`.
pub(crate) fn resume_from(ctx: &Context<'_>, after: Option<String>) -> Option<String> {
    ctx.data_opt::<ResumeAfter>()
        .map(|resume| resume.0.clone())
        .or(after)
}

/// Runs a subscription `request` in probe mode: the plan of its one field
/// (`None` when it selects none), or the errors that refuse it, argument
/// errors as a resolver raised them (not yet classified).
pub async fn probe(
    schema: &crate::graphql::ApiSchema,
    request: async_graphql::Request,
) -> Result<Option<Plan>, Vec<async_graphql::ServerError>> {
    let probe = Probe::default();
    let responses: Vec<async_graphql::Response> =
        crate::graphql::execute::execute_stream(schema, request.data(probe.clone()))
            .collect()
            .await;
    // A probe yields nothing but errors.
    let errors: Vec<_> = responses.into_iter().flat_map(|r| r.errors).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut plans = probe.take();
    if plans.len() > 1 {
        let error =
            async_graphql::ServerError::new("a subscription must select exactly one field", None);
        return Err(vec![error]);
    }
    Ok(plans.pop())
}
