//! Writing articles. Each mutation is one call into the newsroom, which
//! checks the caller's role and the rules; this layer only decodes
//! arguments and returns the article as stored.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use domain::ids::ArticleId;

use crate::graphql::article::inputs::{CreateArticleInput, UpdateArticleInput};
use crate::graphql::article::types::Article;
use crate::graphql::context::{desk, newsroom};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::{from_global, to_global};

#[derive(Default)]
pub struct ArticleMutations;

#[Object]
impl ArticleMutations {
    /// Creates a draft. Needs the EDITOR role.
    async fn create_article(
        &self,
        ctx: &Context<'_>,
        input: CreateArticleInput,
    ) -> ApiResult<Article> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let input = input.into_domain().map_err(|e| e.at("input"))?;
        let article = newsroom
            .create_article(caller, input)
            .await
            .map_err(|e| e.at("input"))?;
        Ok(Article(article))
    }

    /// Changes an article if it is still at `expectedVersion` (else
    /// `CONFLICT`, and nothing changes). Needs the EDITOR role.
    async fn update_article(
        &self,
        ctx: &Context<'_>,
        input: UpdateArticleInput,
    ) -> ApiResult<Article> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let (id, expected_version, input) = input.into_domain().map_err(|e| e.at("input"))?;
        let article = newsroom
            .update_article(caller, id, expected_version, input)
            .await
            .map_err(|e| e.at("input"))?;
        Ok(Article(article))
    }

    /// Publishes now; with `at` in the past, backdates; with `at` in the
    /// future, schedules. Needs the EDITOR role.
    async fn publish_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
        at: Option<DateTime<Utc>>,
    ) -> ApiResult<Article> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let id: ArticleId = from_global("id", &id)?;
        Ok(Article(newsroom.publish_article(caller, id, at).await?))
    }

    /// Takes an article back to `DRAFT`. Needs the EDITOR role.
    async fn unpublish_article(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Article> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let id: ArticleId = from_global("id", &id)?;
        Ok(Article(newsroom.unpublish_article(caller, id).await?))
    }

    /// Withdraws an article from lists and search while keeping it for the
    /// record. Needs the EDITOR role.
    async fn archive_article(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Article> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let id: ArticleId = from_global("id", &id)?;
        Ok(Article(newsroom.archive_article(caller, id).await?))
    }

    /// Deletes an article for good and returns its id. Needs the ADMIN
    /// role; editors archive instead.
    async fn delete_article(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let id: ArticleId = from_global("id", &id)?;
        Ok(to_global(newsroom.delete_article(caller, id).await?))
    }
}
