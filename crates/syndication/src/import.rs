//! One reading of one feed: fetch, parse, and each item through the
//! newsroom, oldest first. Whatever goes wrong is reported item by item;
//! nothing stops the items (or feeds) after it.

use std::collections::HashMap;
use std::fmt;

use domain::Newsroom;
use domain::auth::{Caller, Principal, Role};
use domain::ids::TokenId;
use domain::syndication::{FeedItem, Imported, SectionRules};

use crate::Error;
use crate::fetch::{Fetched, Fetcher};
use crate::parse::parse;

pub struct Importer {
    newsroom: Newsroom,
    caller: Caller,
    fetcher: Fetcher,
    rules: SectionRules,
    publish: bool,
    /// The names to credit, by feed location, where configured.
    publishers: HashMap<String, String>,
}

impl Importer {
    /// Fails when a rule names a section that does not exist: better once
    /// now than on every item.
    pub async fn new(
        newsroom: Newsroom,
        fetcher: Fetcher,
        rules: SectionRules,
        publish: bool,
        publishers: HashMap<String, String>,
    ) -> Result<Self, Error> {
        newsroom.check_section_rules(&rules).await?;
        Ok(Importer {
            newsroom,
            caller: importer(),
            fetcher,
            rules,
            publish,
            publishers,
        })
    }

    pub fn newsroom(&self) -> &Newsroom {
        &self.newsroom
    }

    /// Reads the feed at `location` and imports its items.
    pub async fn import(&self, location: &str) -> FeedReport {
        let mut report = FeedReport {
            location: location.to_owned(),
            publisher: None,
            problem: None,
            unchanged: false,
            items: Vec::new(),
        };
        let document = match self.fetcher.fetch(location).await {
            Ok(Fetched::Document(document)) => document,
            Ok(Fetched::Unchanged) => {
                report.unchanged = true;
                return report;
            }
            Err(problem) => {
                report.problem = Some(problem);
                return report;
            }
        };
        let publisher = self.publishers.get(location).cloned();
        let owned_location = location.to_owned();
        // Parsing a large feed takes a while; not on the runtime's threads.
        let parsed = tokio::task::spawn_blocking(move || {
            parse(&document, &owned_location, publisher.as_deref())
        })
        .await
        .unwrap_or_else(|e| Err(format!("the parser failed: {e}")));
        let feed = match parsed {
            Ok(feed) => feed,
            Err(problem) => {
                report.problem = Some(problem);
                return report;
            }
        };
        report.publisher = Some(feed.origin.publisher.clone());
        // Feeds list the newest first; importing the oldest first keeps
        // the order in which the desk sees drafts arrive.
        for (index, item) in feed.items.into_iter().enumerate().rev() {
            let label = label(&item);
            let outcome = match self
                .newsroom
                .import_item(&self.caller, &feed.origin, item, &self.rules, self.publish)
                .await
            {
                Ok(Imported::Created(article)) => ItemOutcome::Imported {
                    slug: article.slug.to_string(),
                    published: article.is_public(),
                },
                Ok(Imported::AlreadyImported) => ItemOutcome::AlreadyImported,
                Err(error) => ItemOutcome::Failed(error.to_string()),
            };
            report.items.push(ItemReport {
                position: index + 1,
                label,
                outcome,
            });
        }
        report.items.reverse();
        if report.failed() > 0 {
            // The next reading should see the whole feed again, not a
            // "not modified": the failed items may import then.
            self.fetcher.forget(location);
        }
        report
    }
}

/// Who imports: the desk, as an editor with no token of its own.
fn importer() -> Caller {
    Caller::desk(Principal {
        token_id: TokenId::new(),
        name: "feed-import".into(),
        role: Role::Editor,
    })
}

/// How a report names an item: its title, else its link or GUID.
fn label(item: &FeedItem) -> String {
    let raw = item
        .title
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .or(item.link.as_deref())
        .or(item.guid.as_deref())
        .unwrap_or("(untitled)");
    domain::syndication::fit_line(raw, 80)
}

#[derive(Debug, Clone)]
pub struct FeedReport {
    pub location: String,
    /// Whom its articles credit, once the feed was read.
    pub publisher: Option<String>,
    /// Why the feed could not be read at all.
    pub problem: Option<String>,
    /// The publisher said nothing changed since the last reading.
    pub unchanged: bool,
    /// In the feed's order.
    pub items: Vec<ItemReport>,
}

#[derive(Debug, Clone)]
pub struct ItemReport {
    /// 1 for the feed's first item.
    pub position: usize,
    pub label: String,
    pub outcome: ItemOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Imported { slug: String, published: bool },
    AlreadyImported,
    Failed(String),
}

impl FeedReport {
    pub fn imported(&self) -> usize {
        self.count(|o| matches!(o, ItemOutcome::Imported { .. }))
    }

    pub fn already_imported(&self) -> usize {
        self.count(|o| *o == ItemOutcome::AlreadyImported)
    }

    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, ItemOutcome::Failed(_)))
    }

    /// Read, and every item imported now or before.
    pub fn is_clean(&self) -> bool {
        self.problem.is_none() && self.failed() == 0
    }

    fn count(&self, which: impl Fn(&ItemOutcome) -> bool) -> usize {
        self.items.iter().filter(|i| which(&i.outcome)).count()
    }
}

/// The report as the command line prints it: a line for the feed, then one
/// for each item that was imported or failed (those already imported are
/// only counted).
impl fmt::Display for FeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(problem) = &self.problem {
            return writeln!(f, "{}: FAILED: {problem}", self.location);
        }
        if self.unchanged {
            return writeln!(f, "{}: unchanged since the last reading", self.location);
        }
        writeln!(
            f,
            "{} ({}): {} items: {} imported, {} already imported, {} failed",
            self.location,
            self.publisher.as_deref().unwrap_or("?"),
            self.items.len(),
            self.imported(),
            self.already_imported(),
            self.failed()
        )?;
        for item in &self.items {
            match &item.outcome {
                ItemOutcome::Imported { slug, published } => writeln!(
                    f,
                    "  item {}: imported as {slug} ({})",
                    item.position,
                    if *published { "published" } else { "draft" }
                )?,
                ItemOutcome::AlreadyImported => {}
                ItemOutcome::Failed(why) => writeln!(
                    f,
                    "  item {} \"{}\": FAILED: {why}",
                    item.position, item.label
                )?,
            }
        }
        Ok(())
    }
}
