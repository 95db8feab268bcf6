//! The reader's text as words, the query expressions built from them, and
//! the snippet made safe. Pure functions, tested here; `super` runs them.

pub(crate) const MARK_START: char = '\u{E000}';
pub(crate) const MARK_END: char = '\u{E001}';
/// More words than anyone types; bounds the size of the query.
const MAX_WORDS: usize = 16;

/// English stop words (Snowball's list, which PostgreSQL's `english`
/// configuration also drops). Dropping them here too makes "the budget"
/// mean the same on SQLite, whose FTS5 index keeps them.
const STOP_WORDS: &str = "\
    a about above after again against all am an and any are as at be because been \
    before being below between both but by can did do does doing don down during \
    each few for from further had has have having he her here hers herself him \
    himself his how i if in into is it its itself just me more most my myself no nor \
    not now of off on once only or other our ours ourselves out over own s same she \
    should so some such t than that the their theirs them themselves then there \
    these they this those through to too under until up very was we were what when \
    where which while who whom why will with you your yours yourself yourselves";

fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.split_ascii_whitespace().any(|s| s == word)
}

/// The words of the reader's text: runs of letters and digits, lowercased,
/// without stop words (unless that would leave nothing).
pub(crate) fn words(text: &str) -> Vec<String> {
    let all: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let meaningful: Vec<String> = all.iter().filter(|w| !is_stop_word(w)).cloned().collect();
    let mut words = if meaningful.is_empty() {
        all
    } else {
        meaningful
    };
    words.truncate(MAX_WORDS);
    words
}

/// `"w1" "w2" "w3"*`: each word a quoted FTS5 string (implicit AND).
pub(crate) fn fts5_query(words: &[String]) -> String {
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let quoted = format!("\"{}\"", w.replace('"', "\"\""));
            if i == last { quoted + "*" } else { quoted }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `'w1' & 'w2' & 'w3':*` for `to_tsquery`: quoted lexemes, so that no word
/// is read as an operator, normalised (stemmed) by the english configuration.
pub(crate) fn tsquery(words: &[String]) -> String {
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let quoted = format!("'{}'", w.replace('\'', "''"));
            if i == last { quoted + ":*" } else { quoted }
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// Escapes the snippet text and turns the match markers into `<mark>`
/// elements, keeping them balanced even if the text itself contained the
/// private-use marker characters.
pub(crate) fn highlight(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    let mut open = false;
    for c in raw.chars() {
        match c {
            MARK_START if !open => {
                out.push_str("<mark>");
                open = true;
            }
            MARK_END if open => {
                out.push_str("</mark>");
                open = false;
            }
            MARK_START | MARK_END => {}
            c => domain::html::push_escaped(&mut out, c),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_syntax_is_reduced_to_words() {
        assert_eq!(
            words(r#"NATO "summit" OR NEAR( -vote* ^x"#),
            ["nato", "summit", "near", "vote", "x"]
        );
        assert_eq!(
            words("the who"),
            ["the", "who"],
            "only stop words: keep them"
        );
        assert!(words(r#"" * ( ) -"#).is_empty());
    }

    #[test]
    fn every_word_is_quoted_and_the_last_is_a_prefix() {
        let w = words("budget vot");
        assert_eq!(fts5_query(&w), r#""budget" "vot"*"#);
        assert_eq!(tsquery(&w), "'budget' & 'vot':*");
    }

    #[test]
    fn snippets_are_escaped_and_marked() {
        let raw = format!("a <b> & {MARK_START}vote{MARK_END} \"q\"");
        assert_eq!(
            highlight(&raw),
            "a &lt;b&gt; &amp; <mark>vote</mark> &quot;q&quot;"
        );
    }

    #[test]
    fn stray_markers_cannot_unbalance_the_html() {
        let raw = format!("{MARK_END}x{MARK_START}y{MARK_START}z");
        assert_eq!(highlight(&raw), "x<mark>yz</mark>");
    }
}
