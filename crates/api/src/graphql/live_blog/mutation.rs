//! The desk's writes to live blogs. All need the EDITOR role (checked by
//! the newsroom) and return the object as stored.

use async_graphql::{Context, ID, InputObject, Object};
use domain::ids::{AuthorId, LiveBlogId, LiveEntryId};
use domain::inputs as di;

use crate::graphql::context::{desk, newsroom};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::{from_global, to_global};
use crate::graphql::live_blog::types::{LiveBlog, LiveBlogStatus, LiveEntry};
use crate::graphql::media::{MediaInput, media_inputs};

/// A new live blog. It starts `SCHEDULED`; set it `LIVE` with
/// `setLiveBlogStatus`.
#[derive(InputObject, Debug, Clone)]
pub struct CreateLiveBlogInput {
    pub title: String,
    /// Derived from the title when left out.
    pub slug: Option<String>,
    pub summary: Option<String>,
    /// Section slug.
    pub section: String,
}

/// Changes to a live blog; left-out fields stay as they are.
#[derive(InputObject, Debug, Clone)]
pub struct UpdateLiveBlogInput {
    pub id: ID,
    pub title: Option<String>,
    pub slug: Option<String>,
    pub summary: Option<String>,
    /// Section slug.
    pub section: Option<String>,
}

/// A new entry in a live blog that has not ended.
#[derive(InputObject, Debug, Clone)]
pub struct PostLiveEntryInput {
    /// The live blog's id.
    pub live_blog: ID,
    /// HTML; anything outside the safe allow-list is removed.
    pub body: String,
    /// The author's id, for a byline on the entry.
    pub author: Option<ID>,
    #[graphql(default)]
    pub key_event: bool,
    /// Pinning an entry unpins the blog's other entries.
    #[graphql(default)]
    pub pinned: bool,
    #[graphql(default)]
    pub media: Vec<MediaInput>,
}

/// Changes to an entry; left-out fields stay as they are. Pin with
/// `pinLiveEntry`.
#[derive(InputObject, Debug, Clone)]
pub struct EditLiveEntryInput {
    pub id: ID,
    pub body: Option<String>,
    pub key_event: Option<bool>,
    /// Replaces the entry's media.
    pub media: Option<Vec<MediaInput>>,
}

#[derive(Default)]
pub struct LiveBlogMutations;

#[Object]
impl LiveBlogMutations {
    async fn create_live_blog(
        &self,
        ctx: &Context<'_>,
        input: CreateLiveBlogInput,
    ) -> ApiResult<LiveBlog> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let input = di::CreateLiveBlogInput {
            title: input.title,
            slug: input.slug,
            summary: input.summary,
            section: input.section,
        };
        let blog = newsroom
            .create_live_blog(caller, input)
            .await
            .map_err(|e| e.at("input"))?;
        Ok(LiveBlog(blog))
    }

    async fn update_live_blog(
        &self,
        ctx: &Context<'_>,
        input: UpdateLiveBlogInput,
    ) -> ApiResult<LiveBlog> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let id: LiveBlogId = from_global("input.id", &input.id)?;
        let update = di::UpdateLiveBlogInput {
            title: input.title,
            slug: input.slug,
            summary: input.summary,
            section: input.section,
        };
        let blog = newsroom
            .update_live_blog(caller, id, update)
            .await
            .map_err(|e| e.at("input"))?;
        Ok(LiveBlog(blog))
    }

    /// Starts, pauses, ends or reopens a live blog. A blog that has started
    /// cannot be `SCHEDULED` again (`CONFLICT`).
    async fn set_live_blog_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: LiveBlogStatus,
    ) -> ApiResult<LiveBlog> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let id: LiveBlogId = from_global("id", &id)?;
        let blog = newsroom
            .set_live_blog_status(caller, id, status.into())
            .await?;
        Ok(LiveBlog(blog))
    }

    /// Posting to an ended blog is a `CONFLICT`.
    async fn post_live_entry(
        &self,
        ctx: &Context<'_>,
        input: PostLiveEntryInput,
    ) -> ApiResult<LiveEntry> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let live_blog: LiveBlogId = from_global("input.liveBlog", &input.live_blog)?;
        let author: Option<AuthorId> = input
            .author
            .as_deref()
            .map(|id| from_global("input.author", id))
            .transpose()?;
        let input = di::PostLiveEntryInput {
            live_blog,
            body: input.body,
            author,
            key_event: input.key_event,
            pinned: input.pinned,
            media: media_inputs(input.media),
        };
        let entry = newsroom
            .post_live_entry(caller, input)
            .await
            .map_err(|e| e.at("input"))?;
        Ok(LiveEntry(entry))
    }

    async fn edit_live_entry(
        &self,
        ctx: &Context<'_>,
        input: EditLiveEntryInput,
    ) -> ApiResult<LiveEntry> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let id: LiveEntryId = from_global("input.id", &input.id)?;
        let edit = di::EditLiveEntryInput {
            body: input.body,
            key_event: input.key_event,
            media: input.media.map(media_inputs),
        };
        let entry = newsroom
            .edit_live_entry(caller, id, edit)
            .await
            .map_err(|e| e.at("input"))?;
        Ok(LiveEntry(entry))
    }

    /// Deletes an entry and returns its id.
    async fn delete_live_entry(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let id: LiveEntryId = from_global("id", &id)?;
        let entry = newsroom.delete_live_entry(caller, id).await?;
        Ok(to_global(entry.id))
    }

    /// Pins an entry above the stream (unpinning any other), or unpins it
    /// with `pinned: false`.
    async fn pin_live_entry(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default_with = "Some(true)")] pinned: Option<bool>,
    ) -> ApiResult<LiveEntry> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        // An explicit null means the default, as if the argument were left out.
        let pinned = pinned.unwrap_or(true);
        let id: LiveEntryId = from_global("id", &id)?;
        Ok(LiveEntry(
            newsroom.pin_live_entry(caller, id, pinned).await?,
        ))
    }
}
