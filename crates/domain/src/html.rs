//! Article and live-entry bodies arrive as HTML from editors' tools and leave
//! as HTML on readers' pages, so they are cleaned on the way in: an allow-list
//! of structural tags, links limited to web and mail URLs, and nothing that
//! runs (scripts, event handlers, `javascript:` URLs, styles). The plain text
//! and word count are derived once here, so search and reading time never
//! see markup.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::text::WebUrl;

/// Cleaned HTML with its derived plain text. Only [`SafeHtml::clean`] and the
/// repositories (re-loading what was cleaned before) construct it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafeHtml {
    html: String,
    text: String,
}

const ALLOWED_TAGS: &[&str] = &[
    "a",
    "b",
    "blockquote",
    "br",
    "cite",
    "code",
    "em",
    "figcaption",
    "figure",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "strong",
    "sub",
    "sup",
    "u",
    "ul",
];

/// Tags after which the plain text gets a line break, so that words in
/// adjacent paragraphs do not run together.
const BLOCK_TAGS: &[&str] = &[
    "blockquote",
    "br",
    "figcaption",
    "figure",
    "h2",
    "h3",
    "h4",
    "hr",
    "li",
    "p",
    "pre",
];

/// The attributes kept, with whether each holds a URL. Every URL attribute
/// is checked here against [`URL_SCHEMES`]: ammonia checks only the ones it
/// knows as URLs (`href`, `src`, …), and `cite` is not among them, so a
/// `javascript:` quotation source would otherwise survive.
const ATTRIBUTES: &[(&str, &str, Holds)] = &[
    ("a", "href", Holds::Url),
    ("a", "title", Holds::Text),
    ("blockquote", "cite", Holds::Url),
    ("q", "cite", Holds::Url),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holds {
    Text,
    Url,
}

/// The only schemes a URL in a body may have: web pages and mail. Relative
/// URLs are refused too: a body is shown on other sites (syndication,
/// widgets), where they would point somewhere else.
const URL_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| sanitiser(None));

/// The allow-list. With a `base` (where HTML from elsewhere came from),
/// relative links in it are made absolute against the base instead of
/// being dropped.
fn sanitiser(base: Option<url::Url>) -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::empty();
    builder.add_tags(ALLOWED_TAGS);
    for &(tag, attribute, _) in ATTRIBUTES {
        builder.add_tag_attributes(tag, [attribute]);
    }
    // ammonia drops relative URLs it knows before our filter sees them
    // when told to deny them; with a base it keeps them for the filter,
    // which resolves every URL attribute itself (`cite` too).
    let relative = match &base {
        Some(base) => ammonia::UrlRelative::RewriteWithBase(base.clone()),
        None => ammonia::UrlRelative::Deny,
    };
    builder
        .attribute_filter(move |tag, attribute, value| {
            let holds_url = ATTRIBUTES
                .iter()
                .any(|&(t, a, holds)| t == tag && a == attribute && holds == Holds::Url);
            if !holds_url || is_safe_url(value) {
                return Some(value.into());
            }
            let relative = matches!(
                url::Url::parse(value),
                Err(url::ParseError::RelativeUrlWithoutBase)
            );
            let resolved = base
                .as_ref()
                .filter(|_| relative)
                .and_then(|base| base.join(value).ok())
                .filter(|url| URL_SCHEMES.contains(&url.scheme()))?;
            Some(String::from(resolved).into())
        })
        .url_schemes(HashSet::from(URL_SCHEMES))
        .url_relative(relative)
        .link_rel(Some("noopener noreferrer"))
        .clean_content_tags(HashSet::from(["script", "style"]))
        .strip_comments(true);
    builder
}

/// Whether a URL, read the way a browser reads it (surrounding spaces and
/// control characters, tabs and newlines inside ignored; entities already
/// decoded by the parser), is absolute with an allowed scheme.
fn is_safe_url(value: &str) -> bool {
    url::Url::parse(value).is_ok_and(|url| URL_SCHEMES.contains(&url.scheme()))
}

impl SafeHtml {
    /// Raw bodies beyond this are refused rather than truncated.
    pub const MAX_INPUT_LEN: usize = 200_000;

    pub fn clean(raw: &str) -> Result<Self> {
        Self::clean_with(&SANITISER, raw)
    }

    /// Cleans HTML written for another site (a syndicated story), whose
    /// relative links point into `base`, the page it came from: they are
    /// made absolute rather than dropped.
    pub fn clean_relative_to(raw: &str, base: &WebUrl) -> Result<Self> {
        let base = url::Url::parse(base.as_str()).map_err(Error::internal)?;
        Self::clean_with(&sanitiser(Some(base)), raw)
    }

    fn clean_with(sanitiser: &ammonia::Builder<'static>, raw: &str) -> Result<Self> {
        if raw.len() > Self::MAX_INPUT_LEN {
            return Err(Error::invalid(
                "",
                format!("the body is at most {} bytes of HTML", Self::MAX_INPUT_LEN),
            ));
        }
        // A carriage return written as an entity (`&#13;`) comes out raw,
        // and the next parse of the body (an edit re-cleans it) would turn
        // it into a line feed: make it one now, so that cleaning is
        // idempotent and a body does not change by being saved again.
        // (Found by the fuzz target `sanitiser`.)
        let html = sanitiser.clean(raw).to_string().replace('\r', "\n");
        let text = plain_text(&html);
        Ok(SafeHtml {
            html: html.trim().to_owned(),
            text,
        })
    }

    /// Rebuilds a value that was cleaned when it was stored.
    pub fn from_trusted(html: String, text: String) -> Self {
        SafeHtml { html, text }
    }

    pub fn html(&self) -> &str {
        &self.html
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    pub fn word_count(&self) -> u32 {
        u32::try_from(self.text.split_whitespace().count()).unwrap_or(u32::MAX)
    }

    /// Minutes at an adult's 230 words a minute, rounded up; never zero for a
    /// non-empty body.
    pub fn reading_minutes(&self) -> u32 {
        reading_minutes(self.word_count())
    }
}

/// `text` as HTML text or a quoted attribute value: nothing in it can open
/// a tag, end an attribute or start an entity.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// Appends `c` to HTML being written, escaped as [`escape`] does.
pub fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c => out.push(c),
    }
}

/// Minutes to read `words` at an adult's 230 words a minute, rounded up.
pub fn reading_minutes(words: u32) -> u32 {
    words.div_ceil(230)
}

/// Strips tags from sanitiser output and decodes the few entities the
/// serialiser emits. This is not a general HTML parser: it relies on its
/// input being well-formed, which ammonia guarantees.
fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..start]));
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[start + 1..start + end];
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or("");
        if BLOCK_TAGS.contains(&name) && !out.ends_with('\n') && !out.is_empty() {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(&decode_entities(rest));
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let Some(semi) = after.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &after[1..];
            continue;
        };
        let entity = &after[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &str) -> SafeHtml {
        SafeHtml::clean(raw).unwrap()
    }

    #[test]
    fn scripts_and_their_content_never_survive() {
        let body = clean("<p>Vote</p><script>alert('x')</script><style>p{}</style>");
        assert_eq!(body.html(), "<p>Vote</p>");
    }

    #[test]
    fn event_handlers_and_javascript_urls_are_removed() {
        let body = clean(r#"<p onclick="steal()">Hi <a href="javascript:alert(1)">x</a></p>"#);
        assert!(!body.html().contains("onclick"));
        assert!(!body.html().contains("javascript"));
        assert!(body.html().contains("<p>Hi"));
    }

    #[test]
    fn relative_links_resolve_against_where_syndicated_html_came_from() {
        let base = WebUrl::parse("https://news.example/world/story?id=7").unwrap();
        let raw = r#"<p><a href="/world/timeline">t</a> <a href="map">m</a> <a href="//cdn.example/x">c</a> <a href="javascript:alert(1)">j</a> <a href=" java&#9;script:alert(1)">k</a></p><blockquote cite="../sources">q</blockquote>"#;
        let body = SafeHtml::clean_relative_to(raw, &base).unwrap();
        let html = body.html();
        assert!(
            html.contains(r#"href="https://news.example/world/timeline""#),
            "{html}"
        );
        assert!(
            html.contains(r#"href="https://news.example/world/map""#),
            "{html}"
        );
        assert!(html.contains(r#"href="https://cdn.example/x""#), "{html}");
        assert!(
            html.contains(r#"cite="https://news.example/sources""#),
            "{html}"
        );
        assert!(
            !html.contains("javascript") && !html.contains("script:"),
            "{html}"
        );
        // The desk's own bodies still refuse relative links.
        assert!(!clean(raw).html().contains("href=\"/world"));
        // A cleaned body is clean: saving it again changes nothing.
        assert_eq!(clean(html).html(), html);
    }

    /// A URL attribute on its tag, with `url` as its value.
    fn with_url(tag: &str, attribute: &str, url: &str) -> String {
        let url = url.replace('"', "&quot;");
        format!(r#"<{tag} {attribute}="{url}">quoted</{tag}>"#)
    }

    #[test]
    fn no_url_attribute_keeps_a_script_or_data_scheme() {
        let hostile = [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "\u{1}javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "&#106;avascript:alert(1)",
            "&#x6A;avascript&colon;alert(1)",
            "vbscript:msgbox(1)",
            "VBScript:msgbox(1)",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            " data:text/html,<script>alert(1)</script>",
            "/relative/path",
            "//evil.example/x",
        ];
        let urls: Vec<_> = ATTRIBUTES.iter().filter(|a| a.2 == Holds::Url).collect();
        assert_eq!(urls.len(), 3, "a test for each URL attribute");
        for &&(tag, attribute, _) in &urls {
            for url in hostile {
                let body = clean(&with_url(tag, attribute, url));
                assert!(
                    !body.html().contains(&format!("{attribute}=")),
                    "<{tag} {attribute}={url:?}> kept as {}",
                    body.html()
                );
                assert!(body.html().contains("quoted"), "{}", body.html());
            }
            for url in [
                "https://independent.co.uk/x",
                "http://a.example/",
                "mailto:desk@a.example",
            ] {
                let body = clean(&with_url(tag, attribute, url));
                assert!(
                    body.html().contains(&format!(r#"{attribute}="{url}""#)),
                    "<{tag} {attribute}={url:?}> lost: {}",
                    body.html()
                );
            }
        }
    }

    #[test]
    fn cleaning_clean_html_changes_nothing() {
        for raw in [
            "<p>a&#13;b</p>",
            "a&#xD;&#xA;b\r\nc",
            "<p>Fish &amp; chips</p><blockquote cite=\"https://a.example/\">q</blockquote>",
        ] {
            let once = clean(raw);
            assert!(!once.html().contains('\r'), "{:?}", once.html());
            assert_eq!(clean(once.html()).html(), once.html(), "{raw:?}");
        }
    }

    #[test]
    fn text_attributes_keep_their_text() {
        let body = clean(r#"<a href="https://a.example/" title="javascript: a primer">x</a>"#);
        assert!(
            body.html().contains(r#"title="javascript: a primer""#),
            "{}",
            body.html()
        );
    }

    #[test]
    fn web_links_survive_with_a_safe_rel() {
        let body = clean(r#"<p><a href="https://independent.co.uk/x">Read more</a></p>"#);
        assert!(
            body.html()
                .contains(r#"href="https://independent.co.uk/x""#)
        );
        assert!(body.html().contains(r#"rel="noopener noreferrer""#));
    }

    #[test]
    fn unknown_tags_are_unwrapped_but_their_text_kept() {
        let body = clean("<div><span>Parliament</span> sits</div><iframe src=x></iframe>");
        assert_eq!(body.html(), "Parliament sits");
    }

    #[test]
    fn plain_text_separates_paragraphs_and_decodes_entities() {
        let body = clean("<p>Fish &amp; chips</p><p>Q&amp;A&nbsp;today &lt;3</p>");
        assert_eq!(body.text(), "Fish & chips\nQ&A today <3");
        assert_eq!(body.word_count(), 6);
    }

    #[test]
    fn reading_time_rounds_up() {
        assert_eq!(clean("").reading_minutes(), 0);
        assert_eq!(clean("<p>one</p>").reading_minutes(), 1);
        let long = format!("<p>{}</p>", "word ".repeat(231));
        assert_eq!(clean(&long).reading_minutes(), 2);
    }

    #[test]
    fn an_oversized_body_is_refused() {
        assert!(SafeHtml::clean(&"a".repeat(SafeHtml::MAX_INPUT_LEN + 1)).is_err());
    }
}
