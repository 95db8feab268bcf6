//! Every operation runs through here, whatever the transport (HTTP,
//! WebSocket, tests calling the schema): the caller and fresh
//! [`Loaders`] go into the request's context, so that batches and
//! visibility never leak from one request, or one caller, to the next; and
//! async-graphql's own errors get a code, so every transport answers with
//! the same error shape.
//!
//! This is done around the schema rather than by an async-graphql
//! extension: once a schema has any extension, async-graphql resolves
//! every field of every response through the extension chain, a cost paid
//! per field that this per-operation work does not need.
//!
//! Subscriptions are public: a subscription operation runs as an anonymous
//! reader whatever token its connection carries, so what it pushes (and
//! every field nested in it) is published content only, the same for
//! every subscriber. Queries and mutations sent over the same WebSocket
//! keep the connection's caller.

use std::sync::Arc;

use async_graphql::{Pos, Request, Response, ServerError, Variables};
use domain::{Caller, Newsroom};
use futures::StreamExt;
use futures::stream::{self, BoxStream};

use crate::graphql::ApiSchema;
use crate::graphql::cache::ResponseCache;
use crate::graphql::documents::{Documents, Prepared, nul_error, variables_have_nul};
use crate::graphql::errors::{classify_response, to_graphql};
use crate::graphql::loaders::Loaders;
use crate::graphql::order::{self, Types};

/// Runs a query or mutation as `caller`.
pub async fn execute(schema: &ApiSchema, mut request: Request, caller: Caller) -> Response {
    let Some(newsroom) = schema.data::<Newsroom>() else {
        return classify_response(missing_newsroom());
    };
    let order = match admit(schema, &mut request) {
        Ok(order) => order,
        Err(refused) => return refusal(refused),
    };
    let request = request
        .data(Loaders::new(newsroom.clone(), caller.clone(), true))
        .data(caller);
    let mut response = schema.execute(request).await;
    if order.is_mutation()
        && let Some(cache) = schema.data::<Arc<ResponseCache>>()
    {
        // Before the response goes out: whoever made the write must never
        // read a page from before it on this node.
        cache.flush();
    }
    order.apply(schema, &mut response);
    classify_response(response)
}

/// Runs a subscription as an anonymous reader, with loaders that batch but
/// do not cache (the operation outlives any one event).
pub fn execute_stream(schema: &ApiSchema, mut request: Request) -> BoxStream<'static, Response> {
    let Some(newsroom) = schema.data::<Newsroom>() else {
        return stream::once(async { classify_response(missing_newsroom()) }).boxed();
    };
    let order = match admit(schema, &mut request) {
        Ok(order) => order,
        Err(refused) => return stream::once(async { refusal(refused) }).boxed(),
    };
    let caller = Caller::anonymous();
    let request = request
        .data(Loaders::new(newsroom.clone(), caller.clone(), false))
        .data(caller);
    let schema = schema.clone();
    schema
        .execute_stream(request)
        .map(move |mut response| {
            order.apply(&schema, &mut response);
            classify_response(response)
        })
        .boxed()
}

/// The request's document, parsed (once per node) and measured; see
/// [`crate::graphql::documents`]. Transports that need to look at the
/// document before executing it (for its operation type) call this too.
pub fn prepare(schema: &ApiSchema, query: &str) -> Result<Arc<Prepared>, ServerError> {
    match schema.data::<Documents>() {
        Some(documents) => documents.prepare(query),
        None => Err(
            to_graphql(&domain::Error::internal("the schema has no document cache"))
                .into_server_error(Pos::default()),
        ),
    }
}

/// Lets the request through with its document parsed and measured, or
/// answers why not: a document over the limits, or a variable holding what
/// no text column can. What it returns puts the response in order.
fn admit(schema: &ApiSchema, request: &mut Request) -> Result<Order, ServerError> {
    let prepared = prepare(schema, &request.query)?;
    if let Some(name) = variables_have_nul(&request.variables) {
        return Err(nul_error(&name));
    }
    request.set_parsed_query(prepared.document.clone());
    Ok(Order {
        prepared,
        operation_name: request.operation_name.clone(),
        variables: request.variables.clone(),
    })
}

/// The answer to a request refused before it ran.
fn refusal(error: ServerError) -> Response {
    classify_response(Response::from_errors(vec![error]))
}

/// What [`order::reorder`] needs of a request once it has run.
struct Order {
    prepared: Arc<Prepared>,
    operation_name: Option<String>,
    variables: Variables,
}

impl Order {
    fn is_mutation(&self) -> bool {
        crate::graphql::operation_type(&self.prepared.document, self.operation_name.as_deref())
            == Some(async_graphql::parser::types::OperationType::Mutation)
    }

    fn apply(&self, schema: &ApiSchema, response: &mut Response) {
        if let Some(types) = schema.data::<Types>() {
            order::reorder(
                types,
                &self.prepared.document,
                self.operation_name.as_deref(),
                &self.variables,
                &mut response.data,
            );
        }
    }
}

/// A schema built without its newsroom is a wiring bug (`INTERNAL`).
fn missing_newsroom() -> Response {
    let error = domain::Error::internal("the schema has no newsroom in its data");
    Response::from_errors(vec![to_graphql(&error).into_server_error(Pos::default())])
}
