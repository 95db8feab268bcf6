//! `me`: who the bearer token belongs to, so desk tools can show it and
//! hide what the role cannot do.

use async_graphql::{Context, Enum, Object};

use crate::graphql::context::caller;
use crate::graphql::errors::ApiResult;

/// What a token holder may do.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::Role")]
pub enum Role {
    /// Writes drafts, publishes, runs live blogs and alerts.
    Editor,
    /// Everything an editor does, plus deleting.
    Admin,
}

/// The holder of the request's bearer token.
pub struct Viewer(domain::Principal);

#[Object]
impl Viewer {
    /// The token's name, e.g. "desk-jana".
    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn role(&self) -> Role {
        self.0.role.into()
    }
}

#[derive(Default)]
pub struct ViewerQueries;

#[Object]
impl ViewerQueries {
    /// The token holder; null for anonymous readers.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<Option<Viewer>> {
        Ok(caller(ctx)?.principal().cloned().map(Viewer))
    }
}
