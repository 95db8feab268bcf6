//! Documents, parsed once and measured before anything runs.
//!
//! A front end sends the same few documents thousands of times a minute,
//! so each distinct document is parsed once per node and kept, within a
//! byte budget, for the requests that send it again.
//!
//! Before a document is kept, and before async-graphql validates it, it is
//! measured as it would execute: every fragment spread expanded in place.
//! Validation (and then execution) expands fragments, so a document of a
//! few hundred bytes whose fragments each spread the next twice stands for
//! millions of fields: async-graphql spends seconds and hundreds of MiB
//! finding that out, and a few levels more kill the process. The measure
//! here memoises each fragment, so it takes time linear in the document,
//! and refuses such a document with `QUERY_TOO_COMPLEX` at once. It also
//! bounds how much one response can amplify what it reads: fields and
//! aliases per document (a thousand aliases of `body` would turn one entry
//! into megabytes for every subscriber), and nesting.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_graphql::parser::parse_query;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, ServerError};
use async_graphql_value::{ConstValue, Value};

use crate::graphql::errors::{code, coded};

/// The longest document accepted, in bytes. The GraphiQL introspection
/// query is about 2 KB; a front end's largest page query a few.
pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024;
/// Fields per document, fragments expanded. Introspection asks for ~200.
pub const MAX_FIELDS: u64 = 1_000;
/// Aliased fields per document, fragments expanded.
pub const MAX_ALIASES: u64 = 64;
/// Nesting of selection sets and fragment spreads. async-graphql's depth
/// limit ([`crate::graphql::MAX_DEPTH`]) counts fields; this also bounds
/// the fragments and inline fragments between them.
pub const MAX_NESTING: u32 = 32;

/// A document ready to execute: parsed, measured, within the limits.
#[derive(Debug)]
pub struct Prepared {
    pub document: ExecutableDocument,
    pub shape: Shape,
}

/// A document's size as it executes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    pub fields: u64,
    pub aliases: u64,
    /// Nesting of selection sets, fragments included.
    pub nesting: u32,
}

/// Parsed documents of this node, kept within a byte budget.
pub struct Documents {
    cache: Mutex<Generations<Arc<str>, Arc<Prepared>>>,
}

impl Default for Documents {
    fn default() -> Self {
        Documents::new(8 * 1024 * 1024)
    }
}

impl Documents {
    /// Keeps documents up to about `budget` bytes of memory.
    pub fn new(budget: usize) -> Self {
        Documents {
            cache: Mutex::new(Generations::new(budget)),
        }
    }

    /// The document `query`, parsed and measured, or why it is refused.
    pub fn prepare(&self, query: &str) -> Result<Arc<Prepared>, ServerError> {
        if let Some(found) = lock(&self.cache).get(query) {
            return Ok(found);
        }
        if query.len() > MAX_DOCUMENT_BYTES {
            return Err(too_complex(format!(
                "the document is longer than {MAX_DOCUMENT_BYTES} bytes"
            )));
        }
        let document = parse_query(query).map_err(ServerError::from)?;
        let shape = measure(&document)?;
        let prepared = Arc::new(Prepared { document, shape });
        // Parsed documents take several times their text in memory.
        let cost = query.len().saturating_mul(12).saturating_add(256);
        lock(&self.cache).insert(Arc::from(query), prepared.clone(), cost);
        Ok(prepared)
    }
}

/// Measures every operation and fragment of `doc` (validation looks at all
/// of them, whichever operation runs), and refuses what is over a limit.
pub fn measure(doc: &ExecutableDocument) -> Result<Shape, ServerError> {
    let mut measurer = Measurer {
        doc,
        fragments: HashMap::new(),
    };
    let mut total = Shape::default();
    for (_, operation) in doc.operations.iter() {
        let shape = measurer.selection_set(&operation.node.selection_set.node, 1)?;
        total = total.and(shape);
    }
    for name in doc.fragments.keys() {
        measurer.fragment(name, 1)?;
    }
    check(total)?;
    Ok(total)
}

impl Shape {
    /// Two parts of one document side by side.
    fn and(self, other: Shape) -> Shape {
        Shape {
            fields: self.fields.saturating_add(other.fields),
            aliases: self.aliases.saturating_add(other.aliases),
            nesting: self.nesting.max(other.nesting),
        }
    }
}

fn check(shape: Shape) -> Result<(), ServerError> {
    if shape.nesting > MAX_NESTING {
        return Err(too_complex(format!(
            "selections are nested more than {MAX_NESTING} levels deep"
        )));
    }
    if shape.fields > MAX_FIELDS {
        return Err(too_complex(format!(
            "the document selects more than {MAX_FIELDS} fields, fragments expanded"
        )));
    }
    if shape.aliases > MAX_ALIASES {
        return Err(too_complex(format!(
            "the document has more than {MAX_ALIASES} aliases, fragments expanded"
        )));
    }
    Ok(())
}

struct Measurer<'a> {
    doc: &'a ExecutableDocument,
    /// Each fragment's shape once measured; `None` while it is being
    /// measured, so that meeting it again means a cycle.
    fragments: HashMap<&'a Name, Option<Shape>>,
}

impl<'a> Measurer<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, nesting: u32) -> Result<Shape, ServerError> {
        if nesting > MAX_NESTING {
            return Err(too_complex(format!(
                "selections are nested more than {MAX_NESTING} levels deep"
            )));
        }
        let mut shape = Shape {
            nesting,
            ..Shape::default()
        };
        for item in &set.items {
            let inner = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    for (name, value) in &field.arguments {
                        refuse_nul(name.node.as_str(), &value.node)?;
                    }
                    let below = if field.selection_set.node.items.is_empty() {
                        Shape {
                            nesting,
                            ..Shape::default()
                        }
                    } else {
                        self.selection_set(&field.selection_set.node, nesting + 1)?
                    };
                    Shape {
                        fields: below.fields.saturating_add(1),
                        aliases: below
                            .aliases
                            .saturating_add(u64::from(field.alias.is_some())),
                        nesting: below.nesting,
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.node.selection_set.node, nesting + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = self.fragment(&spread.node.fragment_name.node, nesting + 1)?;
                    Shape {
                        nesting: nesting + fragment.nesting,
                        ..fragment
                    }
                }
            };
            shape = shape.and(inner);
            // Refused as soon as a part is over: the sum only grows.
            check(shape)?;
        }
        Ok(shape)
    }

    /// The shape of fragment `name`, with nesting relative to its spread.
    fn fragment(&mut self, name: &'a Name, nesting: u32) -> Result<Shape, ServerError> {
        let Some((key, definition)) = self.doc.fragments.get_key_value(name) else {
            // An unknown fragment is for validation to report.
            return Ok(Shape::default());
        };
        match self.fragments.get(key) {
            Some(Some(shape)) => return Ok(*shape),
            Some(None) => {
                return Err(coded(
                    ServerError::new(format!("fragment `{name}` spreads itself"), None),
                    code::BAD_USER_INPUT,
                ));
            }
            None => {}
        }
        self.fragments.insert(key, None);
        let absolute = self.selection_set(&definition.node.selection_set.node, nesting)?;
        let shape = Shape {
            nesting: absolute.nesting.saturating_sub(nesting),
            ..absolute
        };
        self.fragments.insert(key, Some(shape));
        Ok(shape)
    }
}

/// PostgreSQL text cannot hold a NUL character: an argument with one is the
/// client's mistake, and is told so before it reaches the database.
fn refuse_nul(argument: &str, value: &Value) -> Result<(), ServerError> {
    if value_has_nul(value) {
        return Err(nul_error(argument));
    }
    Ok(())
}

fn value_has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::List(items) => items.iter().any(value_has_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(name, v)| name.contains('\0') || value_has_nul(v)),
        _ => false,
    }
}

/// Whether any variable of a request holds a NUL character.
pub fn variables_have_nul(variables: &async_graphql::Variables) -> Option<String> {
    fn has(value: &ConstValue) -> bool {
        match value {
            ConstValue::String(s) => s.contains('\0'),
            ConstValue::List(items) => items.iter().any(has),
            ConstValue::Object(fields) => {
                fields.iter().any(|(name, v)| name.contains('\0') || has(v))
            }
            _ => false,
        }
    }
    variables
        .iter()
        .find(|(_, value)| has(value))
        .map(|(name, _)| name.to_string())
}

pub fn nul_error(name: &str) -> ServerError {
    let mut error = coded(
        ServerError::new(
            format!("`{name}` contains a NUL character, which text cannot hold"),
            None,
        ),
        code::BAD_USER_INPUT,
    );
    if let Some(extensions) = error.extensions.as_mut() {
        extensions.set("field", name);
    }
    error
}

fn too_complex(message: String) -> ServerError {
    coded(ServerError::new(message, None), code::QUERY_TOO_COMPLEX)
}

/// A map bounded in bytes with two generations: entries live in the young
/// one; when it fills up, it becomes the old one and the old one is
/// dropped, and an old entry that is used again moves back to the young
/// one. What is used stays; what is not goes within two turns. Every
/// operation is O(1), with no per-entry bookkeeping.
pub struct Generations<K, V> {
    young: HashMap<K, (V, usize)>,
    old: HashMap<K, (V, usize)>,
    young_bytes: usize,
    old_bytes: usize,
    /// Each generation holds at most this many bytes.
    half_budget: usize,
}

impl<K: Eq + Hash, V: Clone> Generations<K, V> {
    pub fn new(budget: usize) -> Self {
        Generations {
            young: HashMap::new(),
            old: HashMap::new(),
            young_bytes: 0,
            old_bytes: 0,
            half_budget: budget / 2,
        }
    }

    pub fn get<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if let Some((value, _)) = self.young.get(key) {
            return Some(value.clone());
        }
        let (key, (value, cost)) = self.old.remove_entry(key)?;
        self.old_bytes -= cost;
        self.insert(key, value.clone(), cost);
        Some(value)
    }

    /// Keeps `value` at an estimated `cost` in bytes; a value costing more
    /// than a generation holds is not kept.
    pub fn insert(&mut self, key: K, value: V, cost: usize) {
        if cost > self.half_budget {
            return;
        }
        if self.young_bytes + cost > self.half_budget {
            self.old = std::mem::take(&mut self.young);
            self.old_bytes = std::mem::replace(&mut self.young_bytes, 0);
        }
        if let Some((_, previous)) = self.young.insert(key, (value, cost)) {
            self.young_bytes -= previous;
        }
        self.young_bytes += cost;
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
        self.young_bytes = 0;
        self.old_bytes = 0;
    }

    /// Bytes held, by the entries' estimates.
    pub fn bytes(&self) -> usize {
        self.young_bytes + self.old_bytes
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(query: &str) -> Result<Shape, ServerError> {
        measure(&parse_query(query).expect("parses"))
    }

    fn code_of(error: &ServerError) -> String {
        error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .map(|c| c.to_string())
            .unwrap_or_default()
    }

    /// `fragment F0 on Query { ...F1 ...F1 }` … down to `levels` deep.
    fn doubling_chain(levels: usize) -> String {
        let mut doc = String::from("{ ...F0 }\n");
        for i in 0..levels {
            doc.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        doc.push_str(&format!(
            "fragment F{levels} on Query {{ site {{ name }} }}\n"
        ));
        doc
    }

    #[test]
    fn fields_aliases_and_nesting_count_fragments_expanded() {
        let s = shape(
            "{ a: articles { edges { node { ...Card } } } b: articles { edges { node { ...Card } } } }
             fragment Card on Article { headline x: slug }",
        )
        .unwrap();
        assert_eq!(s.fields, 2 * (3 + 2));
        assert_eq!(s.aliases, 2 + 2);
        assert_eq!(s.nesting, 4);
    }

    #[test]
    fn an_exponential_fragment_chain_is_refused_in_linear_time() {
        for levels in [22, 25, 64, 500] {
            let doc = doubling_chain(levels);
            let started = std::time::Instant::now();
            let err = shape(&doc).expect_err("refused");
            assert_eq!(code_of(&err), "\"QUERY_TOO_COMPLEX\"", "{}", err.message);
            // A bound that only an exponential walk could miss.
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
        assert!(shape(&doubling_chain(8)).is_ok(), "256 fields are fine");
    }

    #[test]
    fn aliases_over_the_limit_are_refused_even_when_spread() {
        let aliases: String = (0..40).map(|i| format!("b{i}: body ")).collect();
        let doc = format!(
            "{{ article(slug: \"x\") {{ ...A ...A }} }} fragment A on Article {{ {aliases} }}"
        );
        let err = shape(&doc).expect_err("80 aliases");
        assert!(err.message.contains("aliases"), "{}", err.message);
    }

    #[test]
    fn fragment_cycles_are_bad_input_not_a_stack_overflow() {
        let err = shape("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
            .expect_err("cycle");
        assert_eq!(code_of(&err), "\"BAD_USER_INPUT\"");
        let deep: String = "{ a ".repeat(40) + &"}".repeat(40);
        assert_eq!(
            code_of(&shape(&deep).expect_err("deep")),
            "\"QUERY_TOO_COMPLEX\""
        );
    }

    #[test]
    fn nul_characters_in_arguments_are_bad_input() {
        let err = shape(r#"{ search(query: "a\u0000b") { edges { cursor } } }"#).expect_err("nul");
        assert_eq!(code_of(&err), "\"BAD_USER_INPUT\"");
        let vars =
            async_graphql::Variables::from_json(serde_json::json!({ "q": ["ok", "x\u{0}"] }));
        assert_eq!(variables_have_nul(&vars), Some("q".to_owned()));
    }

    #[test]
    fn documents_are_parsed_once_and_long_ones_refused() {
        let documents = Documents::default();
        let a = documents.prepare("{ site { name } }").unwrap();
        let b = documents.prepare("{ site { name } }").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let long = format!("{{ site {{ name }} }} #{}", "x".repeat(MAX_DOCUMENT_BYTES));
        assert_eq!(
            code_of(&documents.prepare(&long).unwrap_err()),
            "\"QUERY_TOO_COMPLEX\""
        );
    }

    #[test]
    fn generations_keep_what_is_used_within_the_budget() {
        // 50 bytes a generation.
        let mut cache = Generations::new(100);
        cache.insert("a", 1, 20);
        cache.insert("b", 2, 20);
        // Young is full: it turns old, and "c" starts a new young one.
        cache.insert("c", 3, 20);
        assert_eq!(cache.get("a"), Some(1), "used again: back in young");
        cache.insert("d", 4, 20);
        // "b" was old and unused when young filled again: gone.
        assert_eq!(cache.get("b"), None);
        assert_eq!(cache.get("a"), Some(1));
        assert!(cache.bytes() <= 100);
        cache.insert("huge", 5, 80);
        assert_eq!(cache.get("huge"), None, "larger than a generation");
    }
}
