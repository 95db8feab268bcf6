//! Authors: bylines, their pages, and the desk's edits to them.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use domain::content as dc;
use domain::ids::AuthorId;
use domain::inputs as di;
use domain::ports::AUTHORS_CURSOR;

use crate::graphql::article::inputs::{ArticleFilterInput, ArticleOrderInput};
use crate::graphql::article::query::article_connection;
use crate::graphql::clearable;
use crate::graphql::connection::{
    ArticleConnection, AuthorConnection, Connection, Edge, PageArgs, Total, page_cost,
};
use crate::graphql::context::{desk, newsroom};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::{from_global, to_global};

/// A journalist with a byline.
#[derive(Debug, Clone)]
pub struct Author(pub dc::Author);

#[Object]
impl Author {
    pub async fn id(&self) -> ID {
        to_global(self.0.id)
    }

    /// E.g. `jana-novakova`.
    async fn slug(&self) -> &str {
        self.0.slug.as_str()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Their role on the desk, e.g. "Senior analyst".
    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn bio(&self) -> &str {
        &self.0.bio
    }

    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_ref().map(|u| u.as_str())
    }

    /// The author page's path, `/authors/{slug}`.
    async fn url(&self) -> String {
        format!("/authors/{}", self.0.slug)
    }

    /// Articles with this author in the byline. `filter.author` is ignored
    /// here.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ArticleFilterInput>,
        order_by: Option<ArticleOrderInput>,
    ) -> ApiResult<ArticleConnection> {
        let mut filter = filter.unwrap_or_default().into_domain("filter")?;
        filter.author = Some(self.0.slug.clone());
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        article_connection(ctx, page, filter, order_by.unwrap_or_default()).await
    }
}

#[derive(Default)]
pub struct AuthorQueries;

#[Object]
impl AuthorQueries {
    /// An author by slug, or null.
    async fn author(&self, ctx: &Context<'_>, slug: String) -> ApiResult<Option<Author>> {
        Ok(newsroom(ctx)?.author(&slug).await?.map(Author))
    }

    /// All authors by name.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn authors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<AuthorConnection> {
        let request = PageArgs::forward(first, after).request(AUTHORS_CURSOR)?;
        let page = newsroom(ctx)?.authors(&request).await?;
        Ok(Connection::from_page(
            page,
            AUTHORS_CURSOR,
            Total::Authors,
            |cursor, author| Edge {
                cursor,
                node: Author(author),
            },
        ))
    }
}

/// A new author.
#[derive(InputObject, Debug, Clone)]
pub struct CreateAuthorInput {
    pub name: String,
    /// Derived from the name when left out.
    pub slug: Option<String>,
    /// Their role on the desk, e.g. "Senior analyst".
    pub title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
}

/// Changes to an author. Left-out fields stay as they are; `avatarUrl` is
/// cleared by passing `null`.
#[derive(InputObject, Debug, Clone)]
pub struct UpdateAuthorInput {
    pub id: ID,
    pub name: Option<String>,
    pub slug: Option<String>,
    pub title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct AuthorMutations;

#[Object]
impl AuthorMutations {
    /// Needs the EDITOR role.
    async fn create_author(
        &self,
        ctx: &Context<'_>,
        input: CreateAuthorInput,
    ) -> ApiResult<Author> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let input = di::CreateAuthorInput {
            name: input.name,
            slug: input.slug,
            title: input.title,
            bio: input.bio,
            avatar_url: input.avatar_url,
        };
        let author = newsroom
            .create_author(caller, input)
            .await
            .map_err(|e| e.at("input"))?;
        Ok(Author(author))
    }

    /// Needs the EDITOR role.
    async fn update_author(
        &self,
        ctx: &Context<'_>,
        input: UpdateAuthorInput,
    ) -> ApiResult<Author> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let id: AuthorId = from_global("input.id", &input.id)?;
        let update = di::UpdateAuthorInput {
            name: input.name,
            slug: input.slug,
            title: input.title,
            bio: input.bio,
            avatar_url: clearable(input.avatar_url),
        };
        let author = newsroom
            .update_author(caller, id, update)
            .await
            .map_err(|e| e.at("input"))?;
        Ok(Author(author))
    }
}
