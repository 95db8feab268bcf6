//! Rendering an event once per distinct subscription, for every subscriber
//! of it on this node.
//!
//! Subscribers with the same [`RenderKey`] (document, operation name and
//! variables, leaving out the variable that carries the cursor) see the
//! same bytes for an event: subscriptions run as an anonymous reader, and
//! the cursor decides only *which* events a subscriber gets, never how one
//! looks. They share one [`RenderSpec`], interned here for as long as a
//! subscriber holds it.
//!
//! An event is rendered by executing the subscription with the event
//! [`Pinned`](crate::graphql::fanout::Pinned): the resolver yields just that
//! event through its usual filters and mapping. The result is kept in a
//! slot per (spec, stream, sequence), a `tokio::sync::OnceCell`, so that
//! when 10,000 subscribers reach the event at once, the first executes and
//! the others wait for its bytes.
//!
//! **Bound**: at most [`RenderCache::CAPACITY`] slots and
//! [`RenderCache::BUDGET_BYTES`] of rendered bytes on the node (an event
//! renders to at most [`protocol::MAX_EVENT_BYTES`]), evicted oldest first. Subscribers at the live edge reach an event within
//! milliseconds of each other, so a slot is needed only briefly; eviction
//! can only cost a second rendering, never a wrong or missing event. A
//! rendering that ended the subscription with an error (the store failed)
//! is not kept, so that a subscriber resuming from its cursor retries it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use async_graphql::parser::Positioned;
use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, Variables};
use async_graphql_value::Value as AstValue;
use domain::events::{EventRecord, Stream};
use futures::StreamExt;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use crate::graphql::ApiSchema;
use crate::graphql::execute::execute_stream;
use crate::graphql::fanout::Pinned;
use crate::http::ws::protocol;

/// What makes two subscriptions render an event identically.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderKey {
    pub query: String,
    pub operation_name: Option<String>,
    /// The variables as JSON, without the cursor variable.
    pub variables: String,
}

/// A distinct subscription on this node: what rendering needs, shared by
/// every subscriber with its key.
pub struct RenderSpec {
    id: u64,
    key: Arc<RenderKey>,
    document: ExecutableDocument,
    /// The variables of the subscriber that came first: any subscriber's
    /// render the same, since they differ only in the cursor, which a
    /// pinned resolver ignores.
    variables: Variables,
    cache: Weak<RenderCache>,
}

impl RenderSpec {
    /// What the subscription's document and variables take.
    pub fn document_bytes(&self) -> usize {
        self.key.query.len() + self.key.variables.len()
    }
}

impl Drop for RenderSpec {
    fn drop(&mut self) {
        if let Some(cache) = self.cache.upgrade() {
            let mut specs = lock(&cache.specs);
            // A new spec for the key may have replaced this one already.
            if specs.get(&self.key).is_some_and(|s| s.strong_count() == 0) {
                specs.remove(&self.key);
            }
        }
    }
}

/// An event as rendered for one distinct subscription.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The serialised GraphQL response; `None` when the event is not for
    /// this subscription (filtered out, or no longer public).
    pub payload: Option<Arc<str>>,
    /// The response carries the error that ends the subscription.
    pub ends: bool,
}

type SlotKey = (u64, Stream, i64);

/// The node's renderings, shared by every WebSocket connection.
pub struct RenderCache {
    specs: Mutex<HashMap<Arc<RenderKey>, Weak<RenderSpec>>>,
    slots: Mutex<Slots>,
    next_id: AtomicU64,
    renders: AtomicU64,
    deliveries: AtomicU64,
}

#[derive(Default)]
struct Slots {
    cells: HashMap<SlotKey, Arc<OnceCell<Rendered>>>,
    /// Insertion order, for eviction.
    order: VecDeque<SlotKey>,
    /// The rendered size of each slot that has been rendered.
    sizes: HashMap<SlotKey, usize>,
    bytes: usize,
}

impl Slots {
    /// Drops the oldest slots until the cache is within its bounds.
    fn evict(&mut self) {
        while self.order.len() > RenderCache::CAPACITY || self.bytes > RenderCache::BUDGET_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            self.cells.remove(&old);
            self.bytes -= self.sizes.remove(&old).unwrap_or(0);
        }
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderCounts {
    /// Executions of a subscription to render an event.
    pub renders: u64,
    /// Rendered events written to a subscriber.
    pub deliveries: u64,
}

impl RenderCache {
    /// Renderings kept, at most (typically a few KiB each).
    pub const CAPACITY: usize = 4096;
    /// Rendered bytes kept, at most: what bounds the cache's memory when
    /// events render large.
    pub const BUDGET_BYTES: usize = 32 << 20;

    pub fn new() -> Arc<Self> {
        Arc::new(RenderCache {
            specs: Mutex::default(),
            slots: Mutex::default(),
            next_id: AtomicU64::new(1),
            renders: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
        })
    }

    pub fn counts(&self) -> RenderCounts {
        RenderCounts {
            renders: self.renders.load(Ordering::Relaxed),
            deliveries: self.deliveries.load(Ordering::Relaxed),
        }
    }

    /// Counts rendered events written to subscribers.
    pub fn delivered(&self, count: u64) {
        self.deliveries.fetch_add(count, Ordering::Relaxed);
    }

    /// The shared spec of a subscription. `document` is `query` parsed;
    /// `cursor_variable` is left out of the key, unless the document uses
    /// it anywhere but in the cursor argument (then it could change what
    /// an event renders to).
    pub fn spec(
        self: &Arc<Self>,
        query: String,
        operation_name: Option<String>,
        variables: Map<String, Value>,
        document: ExecutableDocument,
        cursor_variable: Option<&str>,
    ) -> Arc<RenderSpec> {
        let mut keyed = variables.clone();
        if let Some(name) = cursor_variable
            && variable_uses(&document, name) == 1
        {
            keyed.remove(name);
        }
        let key = RenderKey {
            query,
            operation_name,
            variables: Value::Object(keyed).to_string(),
        };
        let mut specs = lock(&self.specs);
        if let Some(spec) = specs.get(&key).and_then(Weak::upgrade) {
            return spec;
        }
        let key = Arc::new(key);
        let spec = Arc::new(RenderSpec {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            key: key.clone(),
            document,
            variables: Variables::from_json(Value::Object(variables)),
            cache: Arc::downgrade(self),
        });
        specs.insert(key, Arc::downgrade(&spec));
        spec
    }

    /// Distinct subscriptions on this node now.
    pub fn specs(&self) -> usize {
        lock(&self.specs).len()
    }

    /// `record` as rendered for `spec`'s subscribers: executed by the
    /// first caller, shared with the others.
    pub async fn render(
        &self,
        schema: &ApiSchema,
        spec: &RenderSpec,
        record: &Arc<EventRecord>,
    ) -> Rendered {
        let key = (spec.id, record.stream, record.seq);
        let cell = self.slot(key);
        let rendered = cell
            .get_or_init(|| {
                self.renders.fetch_add(1, Ordering::Relaxed);
                execute(schema, spec, record.clone())
            })
            .await
            .clone();
        self.settle(key, &cell, &rendered);
        rendered
    }

    /// Once `cell` holds its rendering: drops a rendering that ended the
    /// subscription (a resuming subscriber retries it), or counts its
    /// bytes against the budget.
    fn settle(&self, key: SlotKey, cell: &Arc<OnceCell<Rendered>>, rendered: &Rendered) {
        let mut slots = lock(&self.slots);
        let ours = slots.cells.get(&key).is_some_and(|c| Arc::ptr_eq(c, cell));
        if ours && rendered.ends {
            slots.cells.remove(&key);
        } else if ours && !slots.sizes.contains_key(&key) {
            let size = rendered.payload.as_ref().map_or(0, |p| p.len());
            slots.sizes.insert(key, size);
            slots.bytes += size;
            slots.evict();
        }
    }

    fn slot(&self, key: SlotKey) -> Arc<OnceCell<Rendered>> {
        let mut slots = lock(&self.slots);
        if let Some(cell) = slots.cells.get(&key) {
            return cell.clone();
        }
        let cell = Arc::new(OnceCell::new());
        slots.cells.insert(key, cell.clone());
        slots.order.push_back(key);
        slots.evict();
        cell
    }
}

async fn execute(schema: &ApiSchema, spec: &RenderSpec, record: Arc<EventRecord>) -> Rendered {
    let pinned = Pinned::new(record);
    let mut request = Request::new(spec.key.query.clone())
        .variables(spec.variables.clone())
        .data(pinned.clone());
    request.operation_name = spec.key.operation_name.clone();
    request.set_parsed_query(spec.document.clone());
    let response = execute_stream(schema, request).next().await;
    let payload = response.map(|response| protocol::event_payload(&response));
    Rendered {
        payload: payload.map(Arc::from),
        ends: pinned.failed(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How often `$name` occurs in the document (every operation and
/// fragment: an overcount only makes the cache more cautious).
fn variable_uses(doc: &ExecutableDocument, name: &str) -> usize {
    let operations = doc.operations.iter().map(|(_, op)| {
        in_directives(&op.node.directives, name) + in_selections(&op.node.selection_set, name)
    });
    let fragments = doc.fragments.values().map(|fragment| {
        in_directives(&fragment.node.directives, name)
            + in_selections(&fragment.node.selection_set, name)
    });
    operations.chain(fragments).sum()
}

fn in_selections(set: &Positioned<SelectionSet>, name: &str) -> usize {
    set.node
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                field
                    .arguments
                    .iter()
                    .map(|(_, value)| in_value(&value.node, name))
                    .sum::<usize>()
                    + in_directives(&field.directives, name)
                    + in_selections(&field.selection_set, name)
            }
            Selection::FragmentSpread(spread) => in_directives(&spread.node.directives, name),
            Selection::InlineFragment(inline) => {
                in_directives(&inline.node.directives, name)
                    + in_selections(&inline.node.selection_set, name)
            }
        })
        .sum()
}

fn in_directives(directives: &[Positioned<Directive>], name: &str) -> usize {
    directives
        .iter()
        .flat_map(|d| &d.node.arguments)
        .map(|(_, value)| in_value(&value.node, name))
        .sum()
}

fn in_value(value: &AstValue, name: &str) -> usize {
    match value {
        AstValue::Variable(v) => usize::from(v.as_str() == name),
        AstValue::List(items) => items.iter().map(|v| in_value(v, name)).sum(),
        AstValue::Object(fields) => fields.values().map(|v| in_value(v, name)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;
    use serde_json::json;

    const BLOG: &str =
        "subscription($id: ID!, $after: String) { liveBlog(id: $id, after: $after) { cursor } }";

    fn spec(cache: &Arc<RenderCache>, query: &str, variables: Value) -> Arc<RenderSpec> {
        let Value::Object(variables) = variables else {
            panic!("an object")
        };
        cache.spec(
            query.to_owned(),
            None,
            variables,
            parse_query(query).unwrap(),
            Some("after"),
        )
    }

    #[test]
    fn subscribers_differing_only_in_the_cursor_share_a_spec() {
        let cache = RenderCache::new();
        let a = spec(&cache, BLOG, json!({ "id": "1", "after": "x" }));
        let b = spec(&cache, BLOG, json!({ "after": "y", "id": "1" }));
        let c = spec(&cache, BLOG, json!({ "id": "2", "after": "x" }));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(cache.specs(), 2);
        drop((a, b));
        assert_eq!(cache.specs(), 1, "a spec goes with its last subscriber");
        drop(c);
        assert_eq!(cache.specs(), 0);
    }

    #[test]
    fn a_cursor_variable_used_elsewhere_stays_in_the_key() {
        let query = "subscription($id: ID!, $after: String) { liveBlog(id: $id, after: $after) { cursor @include(if: true) ... on LiveEntryPosted { entry { id } } } x: breakingNews(after: $after) { cursor } }";
        assert_eq!(variable_uses(&parse_query(query).unwrap(), "after"), 2);
        let cache = RenderCache::new();
        let a = spec(&cache, query, json!({ "id": "1", "after": "x" }));
        let b = spec(&cache, query, json!({ "id": "1", "after": "y" }));
        assert!(!Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn variables_are_counted_in_lists_objects_directives_and_fragments() {
        let query = "query($v: Boolean!) { a(x: [$v], y: { z: $v }) @skip(if: $v) ...F } fragment F on Q { b @include(if: $v) }";
        assert_eq!(variable_uses(&parse_query(query).unwrap(), "v"), 4);
    }

    #[test]
    fn slots_are_bounded_oldest_first() {
        let cache = RenderCache::new();
        let first = cache.slot((1, Stream::Breaking, 1));
        assert!(Arc::ptr_eq(&first, &cache.slot((1, Stream::Breaking, 1))));
        for seq in 2..=(RenderCache::CAPACITY as i64 + 1) {
            cache.slot((1, Stream::Breaking, seq));
        }
        let slots = lock(&cache.slots);
        assert_eq!(slots.cells.len(), RenderCache::CAPACITY);
        assert!(!slots.cells.contains_key(&(1, Stream::Breaking, 1)));
    }

    #[test]
    fn rendered_bytes_are_bounded_too() {
        let cache = RenderCache::new();
        let big = Rendered {
            payload: Some(Arc::from("x".repeat(protocol::MAX_EVENT_BYTES))),
            ends: false,
        };
        let events = 2 * RenderCache::BUDGET_BYTES / protocol::MAX_EVENT_BYTES;
        for seq in 1..=events as i64 {
            let key = (1, Stream::Breaking, seq);
            let cell = cache.slot(key);
            cache.settle(key, &cell, &big);
        }
        let slots = lock(&cache.slots);
        assert!(
            slots.bytes <= RenderCache::BUDGET_BYTES,
            "{} bytes",
            slots.bytes
        );
        assert!(slots.cells.len() < events);
        assert!(!slots.cells.contains_key(&(1, Stream::Breaking, 1)));
        assert!(
            slots
                .cells
                .contains_key(&(1, Stream::Breaking, events as i64))
        );
    }
}
