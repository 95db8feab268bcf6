//! What a resolver can ask of its context. [`crate::graphql::execute`]
//! puts the caller and the operation's loaders there, whatever the
//! transport.

use async_graphql::Context;
use domain::{Caller, Newsroom};

use crate::graphql::errors::ApiResult;
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
