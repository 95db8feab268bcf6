//! sea-orm entities: the tables as rows. Crate-private on purpose: the rest
//! of the workspace sees domain types only, so a column can change without
//! touching the API. Relations are not declared; queries join by hand where
//! they need to, which keeps every statement visible at its call site.

pub(crate) mod api_token;
pub(crate) mod article;
pub(crate) mod article_author;
pub(crate) mod article_tag;
pub(crate) mod author;
pub(crate) mod breaking_news;
pub(crate) mod event;
pub(crate) mod event_stream;
pub(crate) mod lease;
pub(crate) mod live_blog;
pub(crate) mod live_entry;
pub(crate) mod section;
pub(crate) mod syndicated_item;
pub(crate) mod tag;
