//! Live blogs, their entries, and breaking-news alerts: the fast-moving part
//! of the site that widgets subscribe to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::content::{Media, storage_names};
use crate::error::{Error, Result};
use crate::html::SafeHtml;
use crate::ids::{ArticleId, AuthorId, BreakingNewsId, LiveBlogId, LiveEntryId, SectionId};
use crate::text::{Slug, WebUrl};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LiveBlogStatus {
    Scheduled,
    Live,
    Paused,
    Ended,
}

storage_names!(LiveBlogStatus {
    Scheduled => "SCHEDULED", Live => "LIVE", Paused => "PAUSED", Ended => "ENDED",
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveBlog {
    pub id: LiveBlogId,
    pub slug: Slug,
    pub title: String,
    pub summary: String,
    pub section_id: SectionId,
    pub status: LiveBlogStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl LiveBlog {
    /// Applies a status change with its timestamps. A blog that has started
    /// cannot go back to `SCHEDULED`; reopening an ended blog clears its end.
    pub fn transition(&mut self, to: LiveBlogStatus, now: DateTime<Utc>) -> Result<()> {
        use LiveBlogStatus::*;
        if to == Scheduled && self.status != Scheduled {
            return Err(Error::Conflict(
                "a live blog that has started cannot be scheduled again".into(),
            ));
        }
        if matches!(to, Live | Paused | Ended) && self.started_at.is_none() {
            self.started_at = Some(now);
        }
        self.ended_at = match to {
            Ended => self.ended_at.or(Some(now)),
            _ => None,
        };
        self.status = to;
        self.updated_at = now;
        Ok(())
    }

    pub fn accepts_entries(&self) -> bool {
        self.status != LiveBlogStatus::Ended
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEntry {
    pub id: LiveEntryId,
    pub live_blog_id: LiveBlogId,
    pub body: SafeHtml,
    pub author_id: Option<AuthorId>,
    pub key_event: bool,
    pub pinned: bool,
    pub media: Vec<Media>,
    pub posted_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewLiveBlog {
    pub slug: Slug,
    pub title: String,
    pub summary: String,
    pub section: Slug,
}

#[derive(Debug, Clone, Default)]
pub struct LiveBlogPatch {
    pub slug: Option<Slug>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub section: Option<Slug>,
}

#[derive(Debug, Clone)]
pub struct NewLiveEntry {
    pub live_blog_id: LiveBlogId,
    pub body: SafeHtml,
    pub author_id: Option<AuthorId>,
    pub key_event: bool,
    pub pinned: bool,
    pub media: Vec<Media>,
}

#[derive(Debug, Clone, Default)]
pub struct LiveEntryPatch {
    pub body: Option<SafeHtml>,
    pub key_event: Option<bool>,
    pub media: Option<Vec<Media>>,
}

pub fn entry_body(raw: &str) -> Result<SafeHtml> {
    let body = SafeHtml::clean(raw).map_err(|e| e.at("body"))?;
    if body.is_blank() {
        return Err(Error::invalid("body", "an entry needs some text"));
    }
    Ok(body)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BreakingPriority {
    Normal,
    High,
    Urgent,
}

storage_names!(BreakingPriority { Normal => "NORMAL", High => "HIGH", Urgent => "URGENT" });

/// Where a breaking-news banner points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BreakingLink {
    Article(ArticleId),
    Url(WebUrl),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakingNews {
    pub id: BreakingNewsId,
    pub headline: String,
    pub link: Option<BreakingLink>,
    pub priority: BreakingPriority,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub retracted_at: Option<DateTime<Utc>>,
}

impl BreakingNews {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.retracted_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

#[derive(Debug, Clone)]
pub struct NewBreakingNews {
    pub headline: String,
    pub link: Option<BreakingLink>,
    pub priority: BreakingPriority,
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewBreakingNews {
    /// Checks the rules that need the current time: an alert cannot expire
    /// before it is issued, nor live longer than a week.
    pub fn validate_expiry(&self, now: DateTime<Utc>) -> Result<()> {
        if let Some(at) = self.expires_at {
            if at <= now {
                return Err(Error::invalid("expiresAt", "must be in the future"));
            }
            if at > now + chrono::Duration::days(7) {
                return Err(Error::invalid("expiresAt", "an alert lasts at most 7 days"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn blog(status: LiveBlogStatus) -> LiveBlog {
        let now = Utc::now();
        LiveBlog {
            id: LiveBlogId::new(),
            slug: Slug::parse("budget-vote").unwrap(),
            title: "Budget vote".into(),
            summary: String::new(),
            section_id: SectionId::new(),
            status,
            started_at: None,
            ended_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn going_live_stamps_the_start_once() {
        let mut b = blog(LiveBlogStatus::Scheduled);
        let t0 = Utc::now();
        b.transition(LiveBlogStatus::Live, t0).unwrap();
        b.transition(LiveBlogStatus::Paused, t0 + Duration::minutes(5))
            .unwrap();
        assert_eq!(b.started_at, Some(t0));
    }

    #[test]
    fn ending_stamps_the_end_and_reopening_clears_it() {
        let mut b = blog(LiveBlogStatus::Live);
        let now = Utc::now();
        b.transition(LiveBlogStatus::Ended, now).unwrap();
        assert_eq!(b.ended_at, Some(now));
        assert!(!b.accepts_entries());
        b.transition(LiveBlogStatus::Live, now).unwrap();
        assert_eq!(b.ended_at, None);
    }

    #[test]
    fn a_started_blog_cannot_be_scheduled_again() {
        let mut b = blog(LiveBlogStatus::Live);
        assert!(matches!(
            b.transition(LiveBlogStatus::Scheduled, Utc::now()),
            Err(Error::Conflict(_))
        ));
    }

    #[test]
    fn an_entry_needs_text() {
        assert!(entry_body("<p> </p>").is_err());
        assert!(entry_body("<p>The vote passes</p>").is_ok());
    }

    #[test]
    fn alerts_expire_and_can_be_retracted() {
        let now = Utc::now();
        let mut alert = BreakingNews {
            id: BreakingNewsId::new(),
            headline: "Vote passes".into(),
            link: None,
            priority: BreakingPriority::High,
            issued_at: now,
            expires_at: Some(now + Duration::hours(1)),
            retracted_at: None,
        };
        assert!(alert.is_active(now));
        assert!(!alert.is_active(now + Duration::hours(2)));
        alert.retracted_at = Some(now);
        assert!(!alert.is_active(now));
    }

    #[test]
    fn an_alert_cannot_expire_in_the_past_or_after_a_week() {
        let now = Utc::now();
        let alert = |expires_at| NewBreakingNews {
            headline: "x".into(),
            link: None,
            priority: BreakingPriority::Normal,
            expires_at,
        };
        assert!(
            alert(Some(now - Duration::minutes(1)))
                .validate_expiry(now)
                .is_err()
        );
        assert!(
            alert(Some(now + Duration::days(8)))
                .validate_expiry(now)
                .is_err()
        );
        assert!(
            alert(Some(now + Duration::hours(3)))
                .validate_expiry(now)
                .is_ok()
        );
        assert!(alert(None).validate_expiry(now).is_ok());
    }
}
