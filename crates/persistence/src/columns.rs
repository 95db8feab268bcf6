//! How domain value types sit in columns: slugs and URLs as text (parsed
//! again on the way out, so a hand-edited row cannot smuggle in an invalid
//! one), media as JSON text, which reads the same on both databases.

use domain::Result;
use domain::content::Media;
use domain::text::{Slug, WebUrl};

use crate::error::corrupt;

pub(crate) fn slug(raw: &str) -> Result<Slug> {
    Slug::parse(raw).map_err(|e| corrupt("slug", e))
}

pub(crate) fn url(raw: &str) -> Result<WebUrl> {
    WebUrl::parse(raw).map_err(|e| corrupt("URL", e))
}

pub(crate) fn media_json(media: &[Media]) -> Result<String> {
    serde_json::to_string(media).map_err(domain::Error::internal)
}

pub(crate) fn media_from_json(raw: &str) -> Result<Vec<Media>> {
    serde_json::from_str(raw).map_err(|e| corrupt("media", e))
}
