//! What a resolver can ask of its context, and the extension that puts it
//! there for every operation.
//!
//! The transport inserts only the [`Caller`] (from a bearer token), and
//! for subscriptions over WebSocket the [`fanout`](crate::graphql::fanout)
//! mode (probe or pinned event). The
//! [`RequestScope`] extension then builds fresh [`Loaders`] for each
//! operation, whatever the transport (HTTP, WebSocket, tests calling the
//! schema directly): batches and visibility never leak from one request,
//! or one caller, to the next. It also gives async-graphql's own errors a
//! code, so every transport answers with the same error shape.
//!
//! Subscriptions are public: a subscription operation runs as an anonymous
//! reader whatever token its connection carries, so what it pushes (and
//! every field nested in it) is published content only, the same for
//! every subscriber. Queries and mutations sent over the same WebSocket
//! keep the connection's caller.

use std::any::TypeId;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest, NextSubscribe,
};
use async_graphql::parser::types::OperationType;
use async_graphql::{Context, Request, Response, ServerResult};
use domain::{Caller, Newsroom};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::graphql::errors::{ApiResult, classify_response};
use crate::graphql::loaders::Loaders;
use crate::graphql::site::SiteConfig;

pub fn newsroom<'a>(ctx: &Context<'a>) -> ApiResult<&'a Newsroom> {
    data(ctx)
}

pub fn caller<'a>(ctx: &Context<'a>) -> ApiResult<&'a Caller> {
    data(ctx)
}

/// The caller of a write: anonymous callers are turned away here, before
/// their arguments are decoded, so that a reader probing the desk's writes
/// hears `UNAUTHENTICATED` rather than what was wrong with the input. The
/// newsroom still checks the exact role each write needs.
pub fn desk<'a>(ctx: &Context<'a>) -> ApiResult<&'a Caller> {
    let caller = caller(ctx)?;
    caller.require(domain::Role::Editor)?;
    Ok(caller)
}

pub fn loaders<'a>(ctx: &Context<'a>) -> ApiResult<&'a Loaders> {
    data(ctx)
}

pub fn site_config<'a>(ctx: &Context<'a>) -> ApiResult<&'a SiteConfig> {
    data(ctx)
}

/// Missing context data is a wiring bug, never the client's fault: it is
/// reported as `INTERNAL` (and logged), not as async-graphql's uncoded
/// "Data does not exist".
fn data<'a, T: Send + Sync + 'static>(ctx: &Context<'a>) -> ApiResult<&'a T> {
    ctx.data_opt::<T>().ok_or_else(|| {
        domain::Error::internal(format!(
            "context data {} is missing",
            std::any::type_name::<T>()
        ))
        .into()
    })
}

/// Installs the per-operation context (see the module docs).
pub struct RequestScope {
    newsroom: Newsroom,
}

impl RequestScope {
    pub fn new(newsroom: Newsroom) -> Self {
        RequestScope { newsroom }
    }
}

impl ExtensionFactory for RequestScope {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestScopeExtension {
            newsroom: self.newsroom.clone(),
        })
    }
}

struct RequestScopeExtension {
    newsroom: Newsroom,
}

#[async_trait::async_trait]
impl Extension for RequestScopeExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        classify_response(next.run(ctx).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream).map(classify_response).boxed()
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // The caller comes with the request (HTTP) or with the connection
        // (WebSocket session data). Absent means anonymous: failing closed.
        let caller = if is_subscription(&mut request) {
            Caller::anonymous()
        } else {
            request
                .data
                .get(&TypeId::of::<Caller>())
                .and_then(|d| d.downcast_ref::<Caller>())
                .or_else(|| ctx.data_opt::<Caller>())
                .cloned()
                .unwrap_or_default()
        };
        request
            .data
            .insert(Loaders::new(self.newsroom.clone(), caller.clone()));
        request.data.insert(caller);
        next.run(ctx, request).await
    }
}

/// Whether the request runs a subscription. The parsed document is kept in
/// the request, so it is parsed once; a document that does not parse is
/// left for the executor to report.
fn is_subscription(request: &mut Request) -> bool {
    let name = request.operation_name.clone();
    request.parsed_query().is_ok_and(|doc| {
        crate::graphql::operation_type(doc, name.as_deref()) == Some(OperationType::Subscription)
    })
}
