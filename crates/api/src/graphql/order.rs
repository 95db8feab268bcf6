//! Response fields in the order the query asked for them.
//!
//! The spec ("Serialized Map Ordering") wants every object of a response
//! to list its fields in the order CollectFields gives: the order of the
//! selection set, fragments expanded in place, each response key where it
//! first appears. async-graphql resolves an object's fields concurrently
//! and keeps them in the order they *finish* (a field that waits for the
//! database comes after one that does not), and its maintainers left that
//! as is (async-graphql issue #612). So each response is put in order here,
//! after execution: the document is walked alongside the data, type by
//! type, and each object's keys are sorted by their place in its collected
//! fields. Objects already in order (most of them) are left untouched.
//!
//! Fragments on a type condition apply by the object's type at run time.
//! Where the schema says an interface, that type is read from the object's
//! `__typename` if it was selected, or else is the implementing type whose
//! collected fields are exactly the object's keys.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, Field, OperationType, Selection,
    SelectionSet, TypeKind, TypeSystemDefinition,
};
use async_graphql::{Name, Value, Variables};
use async_graphql_value::ConstValue;

/// What ordering needs of the schema: each type's fields with the named
/// types they return, and which object types each interface or union
/// stands for.
#[derive(Debug, Default)]
pub struct Types {
    fields: HashMap<String, HashMap<String, String>>,
    possible: HashMap<String, Vec<String>>,
    roots: [Option<String>; 3],
}

impl Types {
    /// From the schema's SDL (as `Schema::sdl` prints it).
    pub fn from_sdl(sdl: &str) -> Self {
        let mut types = Types {
            roots: [
                Some("Query".to_owned()),
                Some("Mutation".to_owned()),
                Some("Subscription".to_owned()),
            ],
            ..Types::default()
        };
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            tracing::error!("the schema's own SDL does not parse; responses stay unordered");
            return types;
        };
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    let name =
                        |n: Option<async_graphql::Positioned<Name>>| n.map(|n| n.node.to_string());
                    types.roots = [
                        name(schema.query),
                        name(schema.mutation),
                        name(schema.subscription),
                    ];
                }
                TypeSystemDefinition::Type(definition) => {
                    let definition = definition.node;
                    let name = definition.name.node.to_string();
                    let (fields, implements) = match definition.kind {
                        TypeKind::Object(object) => (object.fields, object.implements),
                        TypeKind::Interface(interface) => (interface.fields, interface.implements),
                        TypeKind::Union(union) => {
                            types.possible.insert(
                                name,
                                union.members.iter().map(|m| m.node.to_string()).collect(),
                            );
                            continue;
                        }
                        _ => continue,
                    };
                    for interface in implements {
                        types
                            .possible
                            .entry(interface.node.to_string())
                            .or_default()
                            .push(name.clone());
                    }
                    let fields = fields
                        .into_iter()
                        .map(|f| (f.node.name.node.to_string(), named(&f.node.ty.node.base)))
                        .collect();
                    types.fields.insert(name, fields);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        types
    }

    fn root(&self, operation: OperationType) -> Option<&str> {
        let index = match operation {
            OperationType::Query => 0,
            OperationType::Mutation => 1,
            OperationType::Subscription => 2,
        };
        self.roots[index].as_deref()
    }

    fn field_type(&self, ty: &str, field: &str) -> Option<&str> {
        self.fields.get(ty)?.get(field).map(String::as_str)
    }

    fn is_abstract(&self, ty: &str) -> bool {
        self.possible.contains_key(ty)
    }

    /// Whether a fragment on `condition` applies to an object of `ty`.
    fn applies(&self, condition: &str, ty: &str) -> bool {
        condition == ty
            || self
                .possible
                .get(condition)
                .is_some_and(|types| types.iter().any(|t| t == ty))
    }
}

fn named(base: &BaseType) -> String {
    match base {
        BaseType::Named(name) => name.to_string(),
        BaseType::List(inner) => named(&inner.base),
    }
}

/// Puts `data`, the result of `operation_name` in `doc`, in the order of
/// the document.
pub fn reorder(
    types: &Types,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    data: &mut Value,
) {
    let operation = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => &op.node,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => &op.node,
            None => return,
        },
        (DocumentOperations::Multiple(ops), None) => match ops.values().next() {
            Some(op) if ops.len() == 1 => &op.node,
            _ => return,
        },
    };
    let Some(root) = types.root(operation.ty) else {
        return;
    };
    let walker = Walker {
        types,
        doc,
        variables,
        plans: RefCell::new(HashMap::new()),
    };
    walker.value(data, root, &[&operation.selection_set.node]);
}

struct Walker<'a> {
    types: &'a Types,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    /// The plan of each selection (by the identity of its selection sets)
    /// for each runtime type, made once per response: the twenty cards of
    /// a page share one.
    plans: RefCell<HashMap<PlanKey, Rc<Plan<'a>>>>,
}

/// A selection (its selection sets, by address) and the runtime type.
type PlanKey = (Vec<usize>, String);

/// The fields of one response key, in the order they were met.
type Grouped<'a> = Vec<(&'a Name, Vec<&'a Field>)>;

/// How to order (and descend into) an object of one type selected one way.
struct Plan<'a> {
    /// Response keys, in order.
    keys: Vec<&'a Name>,
    /// For each key with a selection of its own: its type and selection.
    below: Vec<Option<(&'a str, Vec<&'a SelectionSet>)>>,
}

impl<'a> Walker<'a> {
    /// Orders `value` (an object, a list of them, or a leaf), whose static
    /// type is `ty`, selected by `sets`.
    fn value(&self, value: &mut Value, ty: &str, sets: &[&'a SelectionSet]) {
        match value {
            Value::Object(_) => self.object(value, ty, sets),
            Value::List(items) => {
                for item in items {
                    self.value(item, ty, sets);
                }
            }
            _ => {}
        }
    }

    fn object(&self, value: &mut Value, static_type: &str, sets: &[&'a SelectionSet]) {
        let Value::Object(map) = value else {
            return;
        };
        let Some(runtime) = self.runtime_type(map, static_type, sets) else {
            return;
        };
        let plan = self.plan(&runtime, sets);
        if !in_order(map.keys(), &plan.keys) {
            let rank: HashMap<&str, usize> = plan
                .keys
                .iter()
                .enumerate()
                .map(|(i, key)| (key.as_str(), i))
                .collect();
            let place = |key: &Name| rank.get(key.as_str()).copied().unwrap_or(usize::MAX);
            map.sort_by(|a, _, b, _| place(a).cmp(&place(b)));
        }
        for (key, below) in plan.keys.iter().zip(&plan.below) {
            if let Some((child_type, child_sets)) = below
                && let Some(child) = map.get_mut(key.as_str())
            {
                self.value(child, child_type, child_sets);
            }
        }
    }

    fn plan(&self, runtime: &str, sets: &[&'a SelectionSet]) -> Rc<Plan<'a>> {
        let id = (
            sets.iter()
                .map(|set| std::ptr::from_ref(*set) as usize)
                .collect(),
            runtime.to_owned(),
        );
        if let Some(plan) = self.plans.borrow().get(&id) {
            return plan.clone();
        }
        let mut grouped = Grouped::new();
        let mut visited = HashSet::new();
        for set in sets {
            self.collect(runtime, set, &mut grouped, &mut visited);
        }
        let below = grouped
            .iter()
            .map(|(_, fields)| {
                let name = fields[0].name.node.as_str();
                let child_type = self.types.field_type(runtime, name)?;
                let child_sets: Vec<&SelectionSet> = fields
                    .iter()
                    .map(|f| &f.selection_set.node)
                    .filter(|set| !set.items.is_empty())
                    .collect();
                (!child_sets.is_empty()).then_some((child_type, child_sets))
            })
            .collect();
        let plan = Rc::new(Plan {
            keys: grouped.into_iter().map(|(key, _)| key).collect(),
            below,
        });
        self.plans.borrow_mut().insert(id, plan.clone());
        plan
    }

    /// The object's type at run time: the static type unless that is an
    /// interface or union (see the module docs).
    fn runtime_type(
        &self,
        map: &async_graphql::indexmap::IndexMap<Name, Value>,
        static_type: &str,
        sets: &[&'a SelectionSet],
    ) -> Option<String> {
        if !self.types.is_abstract(static_type) {
            return self
                .types
                .fields
                .contains_key(static_type)
                .then(|| static_type.to_owned());
        }
        let candidates = self.types.possible.get(static_type)?;
        for set in sets {
            for item in &set.items {
                if let Selection::Field(field) = &item.node
                    && field.node.name.node == "__typename"
                    && let Some(Value::String(name)) =
                        map.get(field.node.response_key().node.as_str())
                {
                    return candidates.iter().find(|c| *c == name).cloned();
                }
            }
        }
        candidates
            .iter()
            .find(|candidate| {
                let mut grouped = Grouped::new();
                let mut visited = HashSet::new();
                for set in sets {
                    self.collect(candidate, set, &mut grouped, &mut visited);
                }
                grouped.len() == map.len()
                    && grouped
                        .iter()
                        .all(|(key, _)| map.contains_key(key.as_str()))
            })
            .cloned()
    }

    /// CollectFields: `set`'s fields for an object of type `ty`, fragments
    /// expanded in place, grouped by response key in order of appearance.
    fn collect(
        &self,
        ty: &str,
        set: &'a SelectionSet,
        grouped: &mut Grouped<'a>,
        visited: &mut HashSet<&'a Name>,
    ) {
        for item in &set.items {
            if !self.included(item.node.directives()) {
                continue;
            }
            match &item.node {
                Selection::Field(field) => {
                    let key = &field.node.response_key().node;
                    match grouped.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, fields)) => fields.push(&field.node),
                        None => grouped.push((key, vec![&field.node])),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    let Some((name, fragment)) = self.doc.fragments.get_key_value(name) else {
                        continue;
                    };
                    let condition = fragment.node.type_condition.node.on.node.as_str();
                    if visited.insert(name) && self.types.applies(condition, ty) {
                        self.collect(ty, &fragment.node.selection_set.node, grouped, visited);
                    }
                }
                Selection::InlineFragment(inline) => {
                    let applies = inline.node.type_condition.as_ref().is_none_or(|condition| {
                        self.types.applies(condition.node.on.node.as_str(), ty)
                    });
                    if applies {
                        self.collect(ty, &inline.node.selection_set.node, grouped, visited);
                    }
                }
            }
        }
    }

    /// `@skip(if:)` and `@include(if:)`, with variables.
    fn included(
        &self,
        directives: &[async_graphql::Positioned<async_graphql::parser::types::Directive>],
    ) -> bool {
        directives.iter().all(|directive| {
            let directive = &directive.node;
            let condition = directive.get_argument("if").map(|value| match &value.node {
                async_graphql_value::Value::Boolean(b) => *b,
                async_graphql_value::Value::Variable(name) => {
                    matches!(self.variables.get(name), Some(ConstValue::Boolean(true)))
                }
                _ => false,
            });
            match directive.name.node.as_str() {
                "skip" => condition != Some(true),
                "include" => condition != Some(false),
                _ => true,
            }
        })
    }
}

/// Whether `keys` (an object's) come in the order of `expected` (which may
/// name more keys than the object has). Linear, no hashing: most objects
/// are in order already.
fn in_order<'k>(keys: impl Iterator<Item = &'k Name>, expected: &[&Name]) -> bool {
    let mut rest = expected.iter();
    keys.into_iter()
        .all(|key| rest.by_ref().any(|expected| *expected == key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = "
        type Query { site: Site! articles: [Article!]! node(id: ID!): Node }
        type Site { name: String! url: String! }
        interface Node { id: ID! }
        type Article implements Node { id: ID! headline: String! section: Section! }
        type Section implements Node { id: ID! name: String! slug: String! }
    ";

    fn ordered(query: &str, variables: serde_json::Value, data: serde_json::Value) -> String {
        let types = Types::from_sdl(SDL);
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let mut data = Value::from_json(data).unwrap();
        let variables = Variables::from_json(variables);
        reorder(&types, &doc, None, &variables, &mut data);
        serde_json::to_string(&data).unwrap()
    }

    #[test]
    fn keys_follow_the_selection_at_every_level() {
        let out = ordered(
            "{ site { url name } articles { section { slug name } headline } }",
            serde_json::json!({}),
            serde_json::json!({
                "articles": [{ "headline": "h", "section": { "name": "n", "slug": "s" } }],
                "site": { "name": "n", "url": "u" }
            }),
        );
        assert_eq!(
            out,
            r#"{"site":{"url":"u","name":"n"},"articles":[{"section":{"slug":"s","name":"n"},"headline":"h"}]}"#
        );
    }

    #[test]
    fn fragments_expand_in_place_and_a_repeated_key_keeps_its_first_place() {
        let out = ordered(
            "query($skip: Boolean!) { articles { ...Card headline id @skip(if: $skip) } }
             fragment Card on Article { section { name } headline }",
            serde_json::json!({ "skip": true }),
            serde_json::json!({ "articles": [{ "headline": "h", "section": { "name": "n" } }] }),
        );
        assert_eq!(
            out,
            r#"{"articles":[{"section":{"name":"n"},"headline":"h"}]}"#
        );
    }

    #[test]
    fn type_conditions_apply_by_the_runtime_type() {
        let query =
            "{ node(id: 1) { ... on Article { headline } id ... on Section { name } __typename } }";
        let out = ordered(
            query,
            serde_json::json!({}),
            serde_json::json!({ "node": { "__typename": "Section", "name": "n", "id": "1" } }),
        );
        assert_eq!(
            out,
            r#"{"node":{"id":"1","name":"n","__typename":"Section"}}"#
        );
        // Without __typename, by the keys each type would have.
        let query =
            "{ node(id: 1) { ... on Article { headline } id ... on Section { name slug } } }";
        let out = ordered(
            query,
            serde_json::json!({}),
            serde_json::json!({ "node": { "slug": "s", "id": "1", "name": "n" } }),
        );
        assert_eq!(out, r#"{"node":{"id":"1","name":"n","slug":"s"}}"#);
    }
}
