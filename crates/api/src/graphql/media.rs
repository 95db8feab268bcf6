//! Photos, videos and syndication sources, shared by articles and live
//! entries.

use async_graphql::{Enum, InputObject, Object};
use domain::content as dc;

/// Whether a media item is a still image or a video.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::content::MediaKind")]
pub enum MediaKind {
    Photo,
    Video,
}

/// A photo or video by reference: the file lives on a CDN; this is what a
/// page needs to render it accessibly.
#[derive(Debug, Clone)]
pub struct Media(pub dc::Media);

#[Object]
impl Media {
    async fn kind(&self) -> MediaKind {
        self.0.kind.into()
    }

    /// Absolute URL of the image or video file.
    async fn url(&self) -> &str {
        self.0.url.as_str()
    }

    async fn caption(&self) -> &str {
        &self.0.caption
    }

    /// Who took it or owns it, e.g. "Reuters/Jana Nová".
    async fn credit(&self) -> &str {
        &self.0.credit
    }

    /// Text alternative for screen readers; always present on photos.
    async fn alt(&self) -> &str {
        &self.0.alt
    }

    /// Width in pixels, when known.
    async fn width(&self) -> Option<u32> {
        self.0.width
    }

    /// Height in pixels, when known.
    async fn height(&self) -> Option<u32> {
        self.0.height
    }

    /// Videos only.
    async fn duration_seconds(&self) -> Option<u32> {
        self.0.duration_seconds
    }

    /// Videos only: the still shown before playback.
    async fn poster_url(&self) -> Option<&str> {
        self.0.poster_url.as_ref().map(|u| u.as_str())
    }
}

/// Where a syndicated article came from.
#[derive(Debug, Clone)]
pub struct Source(pub dc::Source);

#[Object]
impl Source {
    /// The publisher's name, e.g. "The Independent".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The original article.
    async fn url(&self) -> &str {
        self.0.url.as_str()
    }

    /// The attribution line to print under the article, e.g.
    /// "Read more on independent.co.uk".
    async fn read_more(&self) -> String {
        self.0.read_more()
    }
}

/// A photo or video to attach. Photos need `alt`; `durationSeconds` and
/// `posterUrl` are for videos only.
#[derive(InputObject, Debug, Clone)]
pub struct MediaInput {
    #[graphql(default_with = "MediaKind::Photo")]
    pub kind: MediaKind,
    /// Absolute http(s) URL of the file.
    pub url: String,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub alt: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_seconds: Option<i32>,
    pub poster_url: Option<String>,
}

impl From<MediaInput> for dc::MediaInput {
    fn from(input: MediaInput) -> Self {
        dc::MediaInput {
            kind: Some(input.kind.into()),
            url: input.url,
            caption: input.caption,
            credit: input.credit,
            alt: input.alt,
            width: input.width,
            height: input.height,
            duration_seconds: input.duration_seconds,
            poster_url: input.poster_url,
        }
    }
}

pub fn media_inputs(inputs: Vec<MediaInput>) -> Vec<dc::MediaInput> {
    inputs.into_iter().map(Into::into).collect()
}

/// Attribution of a syndicated article.
#[derive(InputObject, Debug, Clone)]
pub struct SourceInput {
    /// The publisher's name, e.g. "The Independent".
    pub name: String,
    /// The original article's URL.
    pub url: String,
}

impl From<SourceInput> for domain::inputs::SourceInput {
    fn from(input: SourceInput) -> Self {
        domain::inputs::SourceInput {
            name: input.name,
            url: input.url,
        }
    }
}
