//! A synthetic RSS feed for timing `politmaster import-feed`: items shaped
//! like a big publisher's (full text of ten paragraphs, a byline, three
//! categories, a date), the same every time for the same size.

use std::fmt::Write;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Items in the feed.
    #[arg(long, default_value_t = 1_000)]
    items: usize,
}

const WORDS: &[&str] = &[
    "minister",
    "parliament",
    "coalition",
    "budget",
    "election",
    "reform",
    "treaty",
    "summit",
    "tariff",
    "vote",
    "senate",
    "court",
    "policy",
    "agreement",
    "talks",
    "voters",
    "campaign",
    "inflation",
    "growth",
    "border",
];

/// Writes the feed to standard output.
pub fn run(args: Args) -> anyhow::Result<()> {
    // Deterministic words (xorshift), so two runs time the same document.
    let mut state: u32 = 0x9e37_79b9;
    let mut word = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        WORDS[state as usize % WORDS.len()]
    };
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>\
         <title>Bench Wire</title><link>https://bench.example/</link>\
         <description>A synthetic feed</description>\n",
    );
    let newest = chrono::Utc::now() - chrono::Duration::hours(1);
    for i in 0..args.items {
        let title: Vec<&str> = (0..8).map(|_| word()).collect();
        let date = (newest - chrono::Duration::minutes(10 * i as i64)).to_rfc2822();
        let _ = write!(
            out,
            "<item><title>{} {i}</title><link>https://bench.example/stories/{i}</link>\
             <guid isPermaLink=\"false\">bench-{i}</guid><pubDate>{date}</pubDate>\
             <dc:creator>Writer {}</dc:creator>",
            title.join(" "),
            i % 40
        );
        for _ in 0..3 {
            let _ = write!(out, "<category>{}</category>", word());
        }
        let _ = write!(
            out,
            "<description>Summary of story {i}.</description><content:encoded><![CDATA["
        );
        for _ in 0..10 {
            let paragraph: Vec<&str> = (0..60).map(|_| word()).collect();
            let _ = write!(out, "<p>{}.</p>", paragraph.join(" "));
        }
        out.push_str("]]></content:encoded></item>\n");
    }
    out.push_str("</channel></rss>\n");
    print!("{out}");
    Ok(())
}
