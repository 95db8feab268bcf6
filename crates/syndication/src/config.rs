//! The feeds file (`POLITMASTER_FEEDS`, `import-feed --config`): which
//! feeds to read, whom they credit, and the rules that give their items a
//! section. TOML, checked whole when read: an unknown key is an error, not
//! a silently ignored typo.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use domain::syndication::{SectionRule, SectionRules};
use serde::Deserialize;

use crate::Error;

/// How often `serve` reads the feeds when the file does not say.
pub const DEFAULT_POLL_EVERY: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedsConfig {
    /// Seconds between two readings of the feeds by `serve`.
    pub poll_every_seconds: Option<u64>,
    /// Publish what is imported; otherwise it waits as drafts for the desk.
    #[serde(default)]
    pub publish: bool,
    /// The section of items that no rule and no feed's `section` place.
    pub default_section: Option<String>,
    #[serde(default, rename = "feed")]
    pub feeds: Vec<FeedConfig>,
    /// Tried in order before the feeds' own sections; the first that
    /// matches decides.
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// A URL (`https://…`) or a file path.
    pub source: String,
    /// The name articles credit; without it, the feed's own title.
    pub publisher: Option<String>,
    /// The section of this feed's items that no rule places.
    pub section: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Only items of this feed (its `source`).
    pub feed: Option<String>,
    /// Only items that mention one of these (whole words, any case).
    #[serde(default)]
    pub keywords: Vec<String>,
    pub section: String,
}

impl FeedsConfig {
    /// Reads the file at `path`; feed files it names relatively are found
    /// from its directory.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new(""));
        Self::parse_from(&text, base).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Parses a feeds file whose relative file sources are in `base`.
    pub fn parse_from(text: &str, base: &Path) -> Result<Self, String> {
        let mut config: FeedsConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        for feed in &mut config.feeds {
            feed.source = resolve_source(&feed.source, base);
        }
        for rule in &mut config.rules {
            if let Some(feed) = &mut rule.feed {
                *feed = resolve_source(feed, base);
            }
        }
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        match self.poll_every_seconds {
            Some(0) => return Err("poll_every_seconds must be at least 1".into()),
            Some(s) if s > 86_400 => return Err("poll_every_seconds is at most a day".into()),
            _ => {}
        }
        for (i, feed) in self.feeds.iter().enumerate() {
            if feed.source.trim().is_empty() {
                return Err(format!("feed {}: source is empty", i + 1));
            }
            if self.feeds[..i].iter().any(|f| f.source == feed.source) {
                return Err(format!("feed {}: {} is listed twice", i + 1, feed.source));
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.keywords.iter().any(|k| k.trim().is_empty()) {
                return Err(format!("rule {}: a keyword is empty", i + 1));
            }
            if let Some(feed) = &rule.feed
                && !self.feeds.iter().any(|f| &f.source == feed)
            {
                return Err(format!(
                    "rule {}: feed {feed} is not one of the [[feed]] sources",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    pub fn poll_every(&self) -> Duration {
        self.poll_every_seconds
            .map_or(DEFAULT_POLL_EVERY, Duration::from_secs)
    }

    /// The rules in the order they apply: the file's rules, then each
    /// feed's own section, then the default.
    pub fn section_rules(&self) -> SectionRules {
        let rules = self.rules.iter().map(|rule| SectionRule {
            feed: rule.feed.clone(),
            keywords: rule.keywords.clone(),
            section: rule.section.clone(),
        });
        let feed_sections = self.feeds.iter().filter_map(|feed| {
            feed.section.as_ref().map(|section| SectionRule {
                feed: Some(feed.source.clone()),
                keywords: Vec::new(),
                section: section.clone(),
            })
        });
        SectionRules {
            rules: rules.chain(feed_sections).collect(),
            default_section: self.default_section.clone(),
        }
    }

    /// The names to credit, by feed source, where the file gives one.
    pub fn publishers(&self) -> HashMap<String, String> {
        self.feeds
            .iter()
            .filter_map(|feed| Some((feed.source.clone(), feed.publisher.clone()?)))
            .collect()
    }
}

/// A feed's name as rules and reports use it: a URL as given; a file as
/// its absolute path (a relative one taken from `base`), so that the same
/// file named two ways is one feed.
pub fn resolve_source(source: &str, base: &Path) -> String {
    let source = source.trim();
    if source.starts_with("http://") || source.starts_with("https://") || source.is_empty() {
        return source.to_owned();
    }
    let path = base.join(source.strip_prefix("file://").unwrap_or(source));
    std::fs::canonicalize(&path)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
        poll_every_seconds = 300
        publish = true
        default_section = "domestic-policies"

        [[feed]]
        source = "https://example.com/world.rss"
        publisher = "Example News"
        section = "international-relations"

        [[feed]]
        source = "feeds/politics.atom"

        [[rule]]
        keywords = ["election", "ballot"]
        section = "electoral-processes"
    "#;

    #[test]
    fn rules_come_before_feed_sections_and_the_default() {
        let base = Path::new("/srv/feeds");
        let config = FeedsConfig::parse_from(EXAMPLE, base).expect("parses");
        let politics = "/srv/feeds/feeds/politics.atom";
        assert_eq!(config.poll_every(), Duration::from_secs(300));
        assert!(config.publish);
        let rules = config.section_rules();
        let world = "https://example.com/world.rss";
        assert_eq!(
            rules.section_for(world, "an election"),
            Some("electoral-processes")
        );
        assert_eq!(
            rules.section_for(world, "a summit"),
            Some("international-relations")
        );
        assert_eq!(
            rules.section_for(politics, "a summit"),
            Some("domestic-policies")
        );
        assert_eq!(
            config.publishers(),
            HashMap::from([(world.to_owned(), "Example News".to_owned())])
        );
    }

    #[test]
    fn mistakes_are_reported() {
        for (bad, says) in [
            ("poll_every = 5", "unknown field"),
            ("poll_every_seconds = 0", "at least 1"),
            ("[[feed]]\nsource = \"\"", "source is empty"),
            (
                "[[feed]]\nsource = \"a\"\n[[feed]]\nsource = \"a\"",
                "listed twice",
            ),
            (
                "[[rule]]\nkeywords = [\" \"]\nsection = \"x\"",
                "keyword is empty",
            ),
            ("[[rule]]\nfeed = \"b\"\nsection = \"x\"", "not one of the"),
            ("[[rule]]\nkeywords = [\"a\"]", "missing field"),
        ] {
            let error = FeedsConfig::parse_from(bad, Path::new("/srv")).expect_err(bad);
            assert!(error.contains(says), "{bad:?}: {error}");
        }
    }
}
