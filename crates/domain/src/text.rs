//! Validated text newtypes ("parse, don't validate"): once a value of these
//! types exists, it obeys its rule, so repositories and resolvers never check
//! again.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A URL-safe identifier: lowercase ASCII letters, digits and single hyphens,
/// neither starting nor ending with a hyphen. Slugs appear in public URLs and
/// never change once published, so the rule is strict.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 120;

    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Error::invalid("", "a slug must not be empty"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(Error::invalid(
                "",
                format!("a slug is at most {} characters", Self::MAX_LEN),
            ));
        }
        let valid_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_chars || s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return Err(Error::invalid(
                "",
                "a slug uses lowercase letters, digits and single hyphens, like `budget-vote-2026`",
            ));
        }
        Ok(Slug(s.to_owned()))
    }

    /// Derives a slug from free text ("Kim Jong Un" → "kim-jong-un"),
    /// transliterating common Latin diacritics so Czech and German names keep
    /// their letters. Fails only when nothing slug-worthy is left.
    pub fn derive(text: &str) -> Result<Self> {
        let mut slug = String::with_capacity(text.len());
        for c in text.chars().flat_map(fold_diacritic) {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        while slug.len() > Self::MAX_LEN || slug.ends_with('-') {
            slug.pop();
        }
        if slug.is_empty() {
            return Err(Error::invalid(
                "",
                "cannot derive a slug: use letters or digits",
            ));
        }
        Slug::parse(&slug)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Slug::parse(&value)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> Self {
        slug.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn fold_diacritic(c: char) -> impl Iterator<Item = char> {
    let folded: &str = match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ą' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' | 'Ą' => {
            "a"
        }
        'č' | 'ć' | 'ç' | 'Č' | 'Ć' | 'Ç' => "c",
        'ď' | 'Ď' => "d",
        'é' | 'è' | 'ê' | 'ë' | 'ě' | 'ę' | 'É' | 'È' | 'Ê' | 'Ë' | 'Ě' | 'Ę' => "e",
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => "i",
        'ł' | 'ľ' | 'ĺ' | 'Ł' | 'Ľ' | 'Ĺ' => "l",
        'ň' | 'ń' | 'ñ' | 'Ň' | 'Ń' | 'Ñ' => "n",
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ő' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' | 'Ő' => "o",
        'ř' | 'ŕ' | 'Ř' | 'Ŕ' => "r",
        'š' | 'ś' | 'Š' | 'Ś' => "s",
        'ß' => "ss",
        'ť' | 'Ť' => "t",
        'ú' | 'ù' | 'û' | 'ü' | 'ů' | 'ű' | 'Ú' | 'Ù' | 'Û' | 'Ü' | 'Ů' | 'Ű' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ž' | 'ź' | 'ż' | 'Ž' | 'Ź' | 'Ż' => "z",
        _ => "",
    };
    let keep = folded.is_empty().then_some(c);
    folded.chars().chain(keep)
}

/// Trims and checks a single-line text field: not blank (unless `min` is 0),
/// at most `max` characters, no control characters.
pub fn single_line(raw: &str, min: usize, max: usize) -> Result<String> {
    let s = raw.trim();
    let len = s.chars().count();
    if len < min {
        return Err(if min == 1 {
            Error::invalid("", "must not be empty")
        } else {
            Error::invalid("", format!("must be at least {min} characters"))
        });
    }
    if len > max {
        return Err(Error::invalid(
            "",
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::invalid(
            "",
            "must be a single line without control characters",
        ));
    }
    Ok(s.to_owned())
}

/// Like [`single_line`] but allows line breaks, for bios and summaries.
pub fn multi_line(raw: &str, max: usize) -> Result<String> {
    let s = raw.trim();
    let len = s.chars().count();
    if len > max {
        return Err(Error::invalid(
            "",
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Error::invalid("", "must not contain control characters"));
    }
    Ok(s.to_owned())
}

/// An absolute `http` or `https` URL. Anything else (`javascript:`, `data:`,
/// relative paths) is refused: these URLs end up in `href` and `src`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebUrl(String);

impl WebUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        if s.len() > Self::MAX_LEN {
            return Err(Error::invalid(
                "",
                format!("a URL is at most {} characters", Self::MAX_LEN),
            ));
        }
        let url =
            url::Url::parse(s).map_err(|e| Error::invalid("", format!("not a valid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid("", "must be an absolute http or https URL"));
        }
        Ok(WebUrl(url.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn host(&self) -> String {
        url::Url::parse(&self.0)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h.trim_start_matches("www.").to_owned())
            })
            .unwrap_or_default()
    }
}

impl TryFrom<String> for WebUrl {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        WebUrl::parse(&value)
    }
}

impl From<WebUrl> for String {
    fn from(url: WebUrl) -> Self {
        url.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_slug_is_accepted() {
        assert_eq!(
            Slug::parse("budget-vote-2026").unwrap().as_str(),
            "budget-vote-2026"
        );
    }

    #[test]
    fn slugs_with_uppercase_spaces_or_edge_hyphens_are_rejected() {
        for bad in [
            "",
            "Budget",
            "budget vote",
            "-budget",
            "budget-",
            "a--b",
            "ča",
            "a/b",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn an_overlong_slug_is_rejected() {
        assert!(Slug::parse(&"a".repeat(Slug::MAX_LEN + 1)).is_err());
    }

    #[test]
    fn a_slug_derived_from_a_czech_name_keeps_its_letters() {
        assert_eq!(
            Slug::derive("Petr Fiala: Česká vláda").unwrap().as_str(),
            "petr-fiala-ceska-vlada"
        );
        assert_eq!(
            Slug::derive("  North Korea!! ").unwrap().as_str(),
            "north-korea"
        );
    }

    #[test]
    fn a_slug_cannot_be_derived_from_punctuation_alone() {
        assert!(Slug::derive("!!! ---").is_err());
    }

    #[test]
    fn single_line_text_is_trimmed_and_bounded() {
        assert_eq!(single_line("  Hello ", 1, 10).unwrap(), "Hello");
        assert!(single_line("   ", 1, 10).is_err());
        assert!(single_line("abcdefghijk", 1, 10).is_err());
        assert!(single_line("a\nb", 1, 10).is_err());
        assert_eq!(single_line("", 0, 10).unwrap(), "");
    }

    #[test]
    fn only_absolute_web_urls_are_accepted() {
        assert!(WebUrl::parse("https://www.independent.co.uk/news").is_ok());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "/relative",
            "ftp://x.org/a",
            "https://",
        ] {
            assert!(WebUrl::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn a_url_knows_its_host_without_www() {
        assert_eq!(
            WebUrl::parse("https://www.independent.co.uk/a")
                .unwrap()
                .host(),
            "independent.co.uk"
        );
    }
}
