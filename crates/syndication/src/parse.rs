//! A feed document (RSS 2.0, RSS 1.0, Atom, JSON Feed: whatever feed-rs
//! reads) as the newsroom's [`FeedItem`]s. Nothing is judged here; the
//! newsroom decides what an item becomes.

use domain::html::SafeHtml;
use domain::syndication::{FeedImage, FeedItem, FeedOrigin, fit_line};
use domain::text::WebUrl;
use feed_rs::model::{Entry, Feed, Link, MediaObject, Person, Text};

pub struct ParsedFeed {
    pub origin: FeedOrigin,
    pub items: Vec<FeedItem>,
}

/// Parses the document read from `location`. `publisher` is the name to
/// credit when the configuration gives one; else the feed's title is.
pub fn parse(
    document: &[u8],
    location: &str,
    publisher: Option<&str>,
) -> Result<ParsedFeed, String> {
    let is_url = location.starts_with("http://") || location.starts_with("https://");
    let parser = feed_rs::parser::Builder::new()
        // feed-rs makes up an id for an item without one; we would rather
        // know, and key such items by their link alone.
        .id_generator(|_, _, _| String::new())
        // Links relative to the feed's address (`<link>/world/1</link>`).
        .base_uri(is_url.then_some(location))
        .build();
    let feed = parser
        .parse(document)
        .map_err(|e| format!("not a feed we can read: {e}"))?;
    let site = site(&feed);
    let publisher = publisher
        .map(str::to_owned)
        .or_else(|| feed.title.as_ref().map(plain).filter(|t| !t.is_empty()))
        .or_else(|| site.as_ref().map(WebUrl::host))
        .unwrap_or_else(|| location.to_owned());
    let origin = FeedOrigin {
        location: location.to_owned(),
        publisher,
        guid_scope: site.map_or_else(|| location.to_owned(), |site| site.host()),
    };
    let items = feed.entries.into_iter().map(item).collect();
    Ok(ParsedFeed { origin, items })
}

/// The publisher's site: the feed's link to its web page.
fn site(feed: &Feed) -> Option<WebUrl> {
    feed.links
        .iter()
        .filter(|link| link.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .find_map(|link| WebUrl::parse(&link.href).ok())
}

fn item(entry: Entry) -> FeedItem {
    let image = picture(&entry.media);
    FeedItem {
        guid: Some(entry.id).filter(|id| !id.trim().is_empty()),
        link: story_link(&entry.links),
        title: entry.title.as_ref().map(plain),
        summary: entry.summary.as_ref().map(html),
        content: entry.content.and_then(|content| content.body),
        authors: entry.authors.iter().filter_map(byline).collect(),
        categories: entry
            .categories
            .iter()
            .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
            .collect(),
        published: entry.published.or(entry.updated),
        image,
    }
}

/// The story's page: the link without a relation or marked `alternate`
/// (Atom also links `self`, `edit`, `enclosure` and the like).
fn story_link(links: &[Link]) -> Option<String> {
    links
        .iter()
        .find(|link| link.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .map(|link| link.href.trim().to_owned())
}

/// The first picture of the item's media (MediaRSS, an image enclosure),
/// or the first thumbnail.
fn picture(media: &[MediaObject]) -> Option<FeedImage> {
    let caption = |object: &MediaObject| {
        object
            .description
            .as_ref()
            .or(object.title.as_ref())
            .map(plain)
    };
    media
        .iter()
        .find_map(|object| {
            object
                .content
                .iter()
                .find(|content| {
                    content
                        .content_type
                        .as_ref()
                        .is_none_or(|t| t.ty() == "image")
                })
                .and_then(|content| content.url.as_ref())
                .map(|url| FeedImage {
                    url: url.to_string(),
                    caption: caption(object),
                })
        })
        .or_else(|| {
            media.iter().find_map(|object| {
                object.thumbnails.first().map(|thumbnail| FeedImage {
                    url: thumbnail.image.uri.clone(),
                    caption: caption(object),
                })
            })
        })
}

/// A byline's name. RSS's `<author>` is an address, often written
/// `editor@example.com (Jane Doe)`: the name in brackets is taken, a bare
/// address is no name.
fn byline(person: &Person) -> Option<String> {
    let raw = person.name.as_deref()?.trim();
    let name = match (raw.find('('), raw.rfind(')')) {
        (Some(open), Some(close)) if open < close && raw[..open].contains('@') => {
            &raw[open + 1..close]
        }
        // feed-rs has taken the address out already and left the brackets.
        _ => raw
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(raw),
    };
    let name = fit_line(name, 120);
    (!name.is_empty() && !name.contains('@')).then_some(name)
}

/// A text field as plain text: HTML titles (Atom's `type="html"`) lose
/// their markup.
fn plain(text: &Text) -> String {
    if is_html(text) {
        SafeHtml::clean(&text.content)
            .map(|html| fit_line(html.text(), usize::MAX))
            .unwrap_or_default()
    } else {
        fit_line(&text.content, usize::MAX)
    }
}

/// Atom's `type="html"` and `"xhtml"`, and RSS's descriptions.
fn is_html(text: &Text) -> bool {
    text.content_type.essence().to_string().contains("html")
}

/// A text field as HTML: plain text is escaped, so that an `a < b` in a
/// summary stays text.
fn html(text: &Text) -> String {
    if is_html(text) {
        text.content.clone()
    } else {
        domain::html::escape(&text.content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_read_relative_to_the_feed() {
        let rss = br#"<rss version="2.0"><channel><title>T</title><link>/</link>
            <item><title>A</title><link>/world/a</link></item></channel></rss>"#;
        let feed = parse(rss, "https://news.example/feeds/world.rss", None).expect("a feed");
        assert_eq!(
            feed.items[0].link.as_deref(),
            Some("https://news.example/world/a")
        );
        assert_eq!(feed.origin.guid_scope, "news.example");
        assert_eq!(feed.origin.publisher, "T");
        assert_eq!(feed.items[0].guid, None);
    }

    #[test]
    fn bylines_are_names_not_addresses() {
        let person = |name: &str| Person {
            name: Some(name.to_owned()),
            uri: None,
            email: None,
            role: None,
        };
        assert_eq!(
            byline(&person("desk@example.com (Jane Doe)")).as_deref(),
            Some("Jane Doe")
        );
        assert_eq!(
            byline(&person("  Jane\n Doe ")).as_deref(),
            Some("Jane Doe")
        );
        assert_eq!(byline(&person("desk@example.com")), None);
        assert_eq!(byline(&person("(Jane Doe)")).as_deref(), Some("Jane Doe"));
        assert_eq!(
            byline(&person("Jane (Bureau chief)")).as_deref(),
            Some("Jane (Bureau chief)")
        );
    }
}
