//! Syndication: other publishers' stories, read from their RSS and Atom
//! feeds, become articles that credit them. The feed reader (an adapter)
//! turns a feed into [`FeedItem`]s; the newsroom decides what each becomes
//! ([`crate::Newsroom::import_item`]): which section, by [`SectionRules`];
//! whether it is new, by its GUID within the publisher's feeds or by its
//! link anywhere; and what survives of its HTML, by the same sanitiser the
//! desk's bodies go through.

use chrono::{DateTime, Utc};

use crate::content::Article;
use crate::error::{Error, Result};
use crate::ids::ArticleId;
use crate::text::WebUrl;

/// One story of a feed as the feed reader found it: text fields as plain
/// text, HTML fields as the publisher wrote them (not yet cleaned).
#[derive(Debug, Clone, Default)]
pub struct FeedItem {
    /// The item's GUID (RSS) or id (Atom), when the feed gives one.
    pub guid: Option<String>,
    /// The story's address at the publisher.
    pub link: Option<String>,
    pub title: Option<String>,
    /// The short description (HTML).
    pub summary: Option<String>,
    /// The full story (HTML), when the feed carries it.
    pub content: Option<String>,
    /// Bylines, as names.
    pub authors: Vec<String>,
    /// Category labels, which become tags.
    pub categories: Vec<String>,
    pub published: Option<DateTime<Utc>>,
    pub image: Option<FeedImage>,
}

#[derive(Debug, Clone)]
pub struct FeedImage {
    pub url: String,
    pub caption: Option<String>,
}

/// The feed an item comes from.
#[derive(Debug, Clone)]
pub struct FeedOrigin {
    /// Where the feed was read from, as configured: a URL or a file path.
    /// Section rules name feeds by it.
    pub location: String,
    /// Whose stories these are ("The Independent"): the name the article
    /// credits.
    pub publisher: String,
    /// Where the feed's GUIDs are unique: the publisher's site when the
    /// feed names it (so the same story in two of its feeds is one story),
    /// else the location.
    pub guid_scope: String,
}

/// Where an item goes: the first rule that matches it decides, then the
/// default. A rule matches when it names no feed or the item's feed, and
/// lists no keywords or one the item mentions (in its headline, summary or
/// categories; whole words, any case).
#[derive(Debug, Clone, Default)]
pub struct SectionRules {
    pub rules: Vec<SectionRule>,
    pub default_section: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionRule {
    pub feed: Option<String>,
    pub keywords: Vec<String>,
    /// A section slug.
    pub section: String,
}

impl SectionRules {
    /// The slug of the section for an item of `feed` whose text (headline,
    /// summary, categories) is `text`.
    pub fn section_for(&self, feed: &str, text: &str) -> Option<&str> {
        let text = text.to_lowercase();
        self.rules
            .iter()
            .find(|rule| {
                rule.feed.as_deref().is_none_or(|f| f == feed)
                    && (rule.keywords.is_empty()
                        || rule
                            .keywords
                            .iter()
                            .any(|keyword| mentions(&text, &keyword.to_lowercase())))
            })
            .map(|rule| rule.section.as_str())
            .or(self.default_section.as_deref())
    }

    /// Every section the rules can send an item to.
    pub fn sections(&self) -> impl Iterator<Item = &str> {
        self.rules
            .iter()
            .map(|rule| rule.section.as_str())
            .chain(self.default_section.as_deref())
    }
}

/// Whether `text` holds `phrase` as whole words: "election" is in "the
/// election result" but not in "preelection"; both are lower case.
fn mentions(text: &str, phrase: &str) -> bool {
    let phrase = phrase.trim();
    !phrase.is_empty()
        && text.match_indices(phrase).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + phrase.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
}

/// What importing one item did.
#[derive(Debug, Clone)]
pub enum Imported {
    Created(Box<Article>),
    /// An earlier run (or another node) imported it: nothing was written.
    AlreadyImported,
}

/// The record that an item became an article, which is what makes an
/// import idempotent. It outlives the article: a syndicated story an
/// editor deleted stays deleted.
#[derive(Debug, Clone)]
pub struct SyndicatedItem {
    pub guid_scope: String,
    pub guid: Option<String>,
    pub link: WebUrl,
    pub article_id: ArticleId,
    pub imported_at: DateTime<Utc>,
}

/// The story's address as a key: the same story linked with and without a
/// `#fragment` or campaign tags (`utm_source=…`) is one story.
pub fn canonical_link(raw: &str) -> Result<WebUrl> {
    let url = WebUrl::parse(raw)?;
    let Ok(mut parsed) = url::Url::parse(url.as_str()) else {
        return Ok(url);
    };
    parsed.set_fragment(None);
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(name, _)| !name.starts_with("utm_"))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else if parsed.query_pairs().count() != kept.len() {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    WebUrl::parse(parsed.as_str())
}

/// Text for a single-line field: whitespace runs (feeds wrap long titles)
/// become one space, and what is longer than `max` characters is cut at a
/// word and marked with an ellipsis.
pub fn fit_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    shorten(line, max)
}

/// Like [`fit_line`], keeping paragraph breaks.
pub fn fit_text(text: &str, max: usize) -> String {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    shorten(paragraphs.join("\n\n"), max)
}

fn shorten(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let at_word = match cut.rfind(char::is_whitespace) {
        Some(at) if at > cut.len() / 2 => &cut[..at],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end())
}

/// Bounds of what an item may carry into an article.
pub(crate) const MAX_GUID_LEN: usize = 2048;

pub(crate) fn guid(raw: Option<&str>) -> Result<Option<String>> {
    let Some(guid) = raw.map(str::trim).filter(|g| !g.is_empty()) else {
        return Ok(None);
    };
    if guid.len() > MAX_GUID_LEN {
        return Err(Error::invalid(
            "guid",
            format!("longer than {MAX_GUID_LEN} bytes"),
        ));
    }
    Ok(Some(guid.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> SectionRules {
        SectionRules {
            rules: vec![
                SectionRule {
                    feed: None,
                    keywords: vec!["election".into(), "polling station".into()],
                    section: "electoral-processes".into(),
                },
                SectionRule {
                    feed: Some("https://example.com/world.rss".into()),
                    keywords: vec![],
                    section: "international-relations".into(),
                },
            ],
            default_section: Some("domestic-policies".into()),
        }
    }

    #[test]
    fn keywords_match_whole_words_in_any_case() {
        let rules = rules();
        let world = "https://example.com/world.rss";
        assert_eq!(
            rules.section_for(world, "Snap ELECTION called"),
            Some("electoral-processes")
        );
        assert_eq!(
            rules.section_for("other", "queues at the polling station"),
            Some("electoral-processes")
        );
        // "preelection" is not "election": the feed's rule decides.
        assert_eq!(
            rules.section_for(world, "preelection jitters"),
            Some("international-relations")
        );
        assert_eq!(
            rules.section_for("other", "budget"),
            Some("domestic-policies")
        );
        let no_default = SectionRules {
            default_section: None,
            ..rules
        };
        assert_eq!(no_default.section_for("other", "budget"), None);
    }

    #[test]
    fn links_lose_fragments_and_campaign_tags() {
        let link = |raw| canonical_link(raw).map(|u| u.as_str().to_owned()).ok();
        assert_eq!(
            link("https://example.com/a?utm_source=rss&utm_medium=feed#top").as_deref(),
            Some("https://example.com/a")
        );
        assert_eq!(
            link("https://example.com/a?id=7&utm_source=rss").as_deref(),
            Some("https://example.com/a?id=7")
        );
        assert_eq!(
            link("https://example.com/a?id=7").as_deref(),
            Some("https://example.com/a?id=7")
        );
        assert!(link("javascript:alert(1)").is_none());
        assert!(link("/relative").is_none());
    }

    #[test]
    fn long_text_is_cut_at_a_word() {
        assert_eq!(fit_line("  a\n  wrapped\ttitle ", 200), "a wrapped title");
        let cut = fit_line("one two three four five", 12);
        assert_eq!(cut, "one two…");
        assert!(cut.chars().count() <= 12);
        assert_eq!(
            fit_text("first\n\n\n\nsecond  para", 100),
            "first\n\nsecond para"
        );
    }
}
