//! Write requests as clients send them, before validation. The API layer
//! fills these from GraphQL inputs (ids already decoded, enums already
//! typed); the newsroom turns them into validated values or an
//! [`crate::Error::Invalid`] naming the offending field.

use chrono::{DateTime, Utc};

use crate::content::{ArticleKind, MediaInput};
use crate::ids::{ArticleId, AuthorId, LiveBlogId};
use crate::live::BreakingPriority;

#[derive(Debug, Clone)]
pub struct SourceInput {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct CreateArticleInput {
    pub headline: String,
    /// Derived from the headline when absent.
    pub slug: Option<String>,
    pub standfirst: Option<String>,
    pub body: Option<String>,
    pub kind: ArticleKind,
    pub section: String,
    pub authors: Vec<AuthorId>,
    pub tags: Vec<String>,
    pub breaking: bool,
    pub hero: Option<MediaInput>,
    pub media: Vec<MediaInput>,
    pub source: Option<SourceInput>,
}

/// `None`: leave as is. For clearable fields, `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct UpdateArticleInput {
    pub headline: Option<String>,
    pub slug: Option<String>,
    pub standfirst: Option<String>,
    pub body: Option<String>,
    pub kind: Option<ArticleKind>,
    pub section: Option<String>,
    pub authors: Option<Vec<AuthorId>>,
    pub tags: Option<Vec<String>>,
    pub breaking: Option<bool>,
    pub hero: Option<Option<MediaInput>>,
    pub media: Option<Vec<MediaInput>>,
    pub source: Option<Option<SourceInput>>,
}

#[derive(Debug, Clone)]
pub struct CreateAuthorInput {
    pub name: String,
    pub slug: Option<String>,
    pub title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateAuthorInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct CreateLiveBlogInput {
    pub title: String,
    pub slug: Option<String>,
    pub summary: Option<String>,
    pub section: String,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateLiveBlogInput {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub summary: Option<String>,
    pub section: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PostLiveEntryInput {
    pub live_blog: LiveBlogId,
    pub body: String,
    pub author: Option<AuthorId>,
    pub key_event: bool,
    pub pinned: bool,
    pub media: Vec<MediaInput>,
}

#[derive(Debug, Clone, Default)]
pub struct EditLiveEntryInput {
    pub body: Option<String>,
    pub key_event: Option<bool>,
    pub media: Option<Vec<MediaInput>>,
}

#[derive(Debug, Clone)]
pub enum BreakingLinkInput {
    Article(ArticleId),
    Url(String),
}

#[derive(Debug, Clone)]
pub struct IssueBreakingNewsInput {
    pub headline: String,
    pub link: Option<BreakingLinkInput>,
    pub priority: BreakingPriority,
    pub expires_at: Option<DateTime<Utc>>,
}
