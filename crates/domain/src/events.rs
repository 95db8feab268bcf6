//! What happened, in order: the events that live widgets subscribe to.
//!
//! Every write a reader can subscribe to appends an [`Event`] to a
//! [`Stream`] in the same transaction as the change, where it gets the next
//! sequence number of that stream. The log is the source of truth; the bus
//! only carries news of it quickly. A subscriber's position is an
//! [`EventCursor`]: stream and sequence, opaque to clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::{ArticleId, LiveBlogId, LiveEntryId, SectionId};
use crate::live::{BreakingNews, LiveBlog, LiveEntry};

/// A totally ordered sequence of events: one per live blog, one for
/// breaking news, one for articles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    LiveBlog(LiveBlogId),
    Breaking,
    Articles,
}

impl Stream {
    /// The stream's name in the log and on the bus.
    pub fn key(&self) -> String {
        match self {
            Stream::LiveBlog(id) => format!("live-blog:{}", id.0),
            Stream::Breaking => "breaking".to_owned(),
            Stream::Articles => "articles".to_owned(),
        }
    }

    pub fn parse_key(key: &str) -> Option<Stream> {
        match key {
            "breaking" => Some(Stream::Breaking),
            "articles" => Some(Stream::Articles),
            _ => key
                .strip_prefix("live-blog:")
                .and_then(|id| Uuid::parse_str(id).ok())
                .map(|id| Stream::LiveBlog(LiveBlogId(id))),
        }
    }
}

/// What happened. Live-blog and breaking-news events carry a snapshot of
/// the item as it was, so a replay shows history even after later edits or
/// deletion; article events carry only the id, since subscribers want the
/// article as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    LiveEntryPosted {
        entry: LiveEntry,
    },
    LiveEntryEdited {
        entry: LiveEntry,
    },
    LiveEntryDeleted {
        live_blog_id: LiveBlogId,
        entry_id: LiveEntryId,
    },
    /// `entry.pinned` says whether it was pinned or unpinned. A blog has one
    /// pinned entry at most, so pinning one unpins any other.
    LiveEntryPinned {
        entry: LiveEntry,
    },
    LiveBlogStatusChanged {
        blog: LiveBlog,
    },
    BreakingNewsIssued {
        alert: BreakingNews,
    },
    BreakingNewsRetracted {
        alert: BreakingNews,
    },
    ArticlePublished {
        article_id: ArticleId,
        section_id: SectionId,
        version: i32,
    },
    ArticleUpdated {
        article_id: ArticleId,
        section_id: SectionId,
        version: i32,
    },
}

impl Event {
    pub fn stream(&self) -> Stream {
        match self {
            Event::LiveEntryPosted { entry }
            | Event::LiveEntryEdited { entry }
            | Event::LiveEntryPinned { entry } => Stream::LiveBlog(entry.live_blog_id),
            Event::LiveEntryDeleted { live_blog_id, .. } => Stream::LiveBlog(*live_blog_id),
            Event::LiveBlogStatusChanged { blog } => Stream::LiveBlog(blog.id),
            Event::BreakingNewsIssued { .. } | Event::BreakingNewsRetracted { .. } => {
                Stream::Breaking
            }
            Event::ArticlePublished { .. } | Event::ArticleUpdated { .. } => Stream::Articles,
        }
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::LiveEntryPosted { .. } => "liveEntryPosted",
            Event::LiveEntryEdited { .. } => "liveEntryEdited",
            Event::LiveEntryDeleted { .. } => "liveEntryDeleted",
            Event::LiveEntryPinned { .. } => "liveEntryPinned",
            Event::LiveBlogStatusChanged { .. } => "liveBlogStatusChanged",
            Event::BreakingNewsIssued { .. } => "breakingNewsIssued",
            Event::BreakingNewsRetracted { .. } => "breakingNewsRetracted",
            Event::ArticlePublished { .. } => "articlePublished",
            Event::ArticleUpdated { .. } => "articleUpdated",
        }
    }
}

/// An event as committed: its stream, its place in it and when it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    #[serde(with = "stream_key")]
    pub stream: Stream,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub event: Event,
}

impl EventRecord {
    pub fn cursor(&self) -> EventCursor {
        EventCursor {
            stream: self.stream,
            seq: self.seq,
        }
    }
}

mod stream_key {
    use super::Stream;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(stream: &Stream, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&stream.key())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Stream, D::Error> {
        let key = String::deserialize(d)?;
        Stream::parse_key(&key).ok_or_else(|| D::Error::custom(format!("unknown stream {key}")))
    }
}

/// A position in a stream: "everything up to and including `seq`".
/// Sequence 0 is the position before the first event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCursor {
    pub stream: Stream,
    pub seq: i64,
}

const CURSOR_VERSION: &str = "ev1";

impl EventCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{CURSOR_VERSION}\n{}\n{}",
            self.stream.key(),
            self.seq
        ))
    }

    /// Decodes a cursor and checks that it belongs to `expected`: a cursor
    /// of another live blog, or of breaking news used on a live blog, is a
    /// client mistake that must not silently replay the wrong history.
    pub fn decode(raw: &str, expected: Stream) -> Result<Self> {
        let invalid = |why: &str| {
            Error::CursorInvalid(format!("`{raw}` is not a cursor of this stream: {why}"))
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim())
            .map_err(|_| invalid("malformed"))?;
        let text = String::from_utf8(bytes).map_err(|_| invalid("malformed"))?;
        let mut parts = text.split('\n');
        let (Some(CURSOR_VERSION), Some(key), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("malformed"));
        };
        let stream = Stream::parse_key(key).ok_or_else(|| invalid("malformed"))?;
        let seq: i64 = seq
            .parse()
            .ok()
            .filter(|s| *s >= 0)
            .ok_or_else(|| invalid("malformed"))?;
        if stream != expected {
            return Err(invalid("it belongs to another stream"));
        }
        Ok(EventCursor { stream, seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_keys_round_trip() {
        for stream in [
            Stream::LiveBlog(LiveBlogId::new()),
            Stream::Breaking,
            Stream::Articles,
        ] {
            assert_eq!(Stream::parse_key(&stream.key()), Some(stream));
        }
        assert_eq!(Stream::parse_key("live-blog:nope"), None);
    }

    #[test]
    fn a_cursor_round_trips_on_its_stream() {
        let stream = Stream::LiveBlog(LiveBlogId::new());
        let cursor = EventCursor { stream, seq: 42 };
        assert_eq!(
            EventCursor::decode(&cursor.encode(), stream).unwrap(),
            cursor
        );
    }

    #[test]
    fn a_cursor_of_another_stream_is_refused() {
        let cursor = EventCursor {
            stream: Stream::LiveBlog(LiveBlogId::new()),
            seq: 3,
        }
        .encode();
        assert!(matches!(
            EventCursor::decode(&cursor, Stream::LiveBlog(LiveBlogId::new())),
            Err(Error::CursorInvalid(_))
        ));
        assert!(matches!(
            EventCursor::decode(&cursor, Stream::Breaking),
            Err(Error::CursorInvalid(_))
        ));
    }

    #[test]
    fn garbage_is_not_a_cursor() {
        for bad in ["", "x", "ZXYxCmJyZWFraW5nCi0x", "ZXYxCmJyZWFraW5nCg"] {
            assert!(EventCursor::decode(bad, Stream::Breaking).is_err(), "{bad}");
        }
    }
}
