//! The benchmark newsroom: a year of a busy political site, generated, so
//! that read benchmarks run against data of a realistic size and shape
//! (`politmaster seed --bench`). Every item goes through the same
//! validation and sanitising as the desk's writes; publication times are
//! back-dated through `publishArticle(at:)` as the desk can do.
//!
//! The data is a pure function of the sizes: the same command gives the same
//! headlines, bylines, tags and times relative to the moment it runs, so two
//! databases seeded alike serve the same documents. Items whose slug exists
//! are skipped, so a second run adds nothing.

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, TryStreamExt};

use domain::Newsroom;
use domain::auth::Caller;
use domain::content::{ArticleKind, standard_sections};
use domain::events::Event;
use domain::ids::{AuthorId, LiveEntryId};
use domain::inputs::{CreateArticleInput, CreateAuthorInput, CreateLiveBlogInput, SourceInput};
use domain::live::{LiveBlogStatus, LiveEntry, entry_body};

/// How much to generate. The defaults are the data set the read benchmarks
/// are specified on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchSizes {
    pub articles: usize,
    pub authors: usize,
    pub tags: usize,
    pub live_blogs: usize,
    pub entries_per_blog: usize,
}

impl Default for BenchSizes {
    fn default() -> Self {
        BenchSizes {
            articles: 20_000,
            authors: 200,
            tags: 500,
            live_blogs: 10,
            entries_per_blog: 1_000,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BenchReport {
    pub authors: usize,
    pub articles: usize,
    pub drafts: usize,
    pub live_blogs: usize,
    pub live_entries: usize,
}

/// Writes in flight at once. PostgreSQL overlaps them; SQLite has one
/// writer, and writers queued on its lock back off by sleeping, so there
/// one at a time is fastest.
fn write_concurrency(newsroom_on_sqlite: bool) -> usize {
    if newsroom_on_sqlite { 1 } else { 8 }
}

/// Seeds the benchmark newsroom (see the module docs).
pub async fn seed(
    newsroom: &Newsroom,
    sizes: BenchSizes,
    on_sqlite: bool,
) -> anyhow::Result<BenchReport> {
    let desk = super::seed_desk();
    let now = domain::clock::now();
    let concurrency = write_concurrency(on_sqlite);
    let mut report = BenchReport::default();

    let mut authors = Vec::with_capacity(sizes.authors);
    for i in 0..sizes.authors {
        let input = author(i);
        let slug = input.slug.clone().unwrap_or_default();
        let existing = newsroom.author(&slug).await?;
        let author = match existing {
            Some(author) => author,
            None => {
                report.authors += 1;
                newsroom
                    .create_author(&desk, input)
                    .await
                    .with_context(|| format!("bench author {slug}"))?
            }
        };
        authors.push(author.id);
    }
    let tags = tag_names(sizes.tags);

    let outcomes: Vec<ArticleOutcome> = futures::stream::iter(0..sizes.articles)
        .map(|i| seed_article(newsroom, &desk, i, &authors, &tags, now))
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    for outcome in outcomes {
        match outcome {
            ArticleOutcome::Published => report.articles += 1,
            ArticleOutcome::Draft => {
                report.articles += 1;
                report.drafts += 1;
            }
            ArticleOutcome::Existed => {}
        }
    }

    for b in 0..sizes.live_blogs {
        let entries = seed_live_blog(newsroom, &desk, b, sizes, &authors, now, concurrency).await?;
        if let Some(entries) = entries {
            report.live_blogs += 1;
            report.live_entries += entries;
        }
    }
    // A production database has statistics that describe its rows; a
    // freshly loaded one has none until autovacuum (which may be off) gets
    // to it, and plans its reads as if the tables were tiny.
    newsroom.store().refresh_statistics().await?;
    Ok(report)
}

enum ArticleOutcome {
    Published,
    Draft,
    Existed,
}

async fn seed_article(
    newsroom: &Newsroom,
    desk: &Caller,
    i: usize,
    authors: &[AuthorId],
    tags: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<ArticleOutcome> {
    let mut rng = Rng::new(0xA27_1C1E ^ i as u64);
    let story = Story::pick(&mut rng);
    let headline = format!("{} ({})", story.headline(), i + 1);
    let slug = format!("bench-{}", i + 1);
    if newsroom.article_by_slug(desk, &slug).await?.is_some() {
        return Ok(ArticleOutcome::Existed);
    }
    let sections = standard_sections();
    let section = sections[rng.below(sections.len())].slug.to_string();
    let bylines = 1 + rng.below(3);
    let byline = distinct(&mut rng, authors.len(), bylines);
    let topic_count = 2 + rng.below(4);
    let topics = distinct(&mut rng, tags.len(), topic_count);
    let syndicated = rng.below(10) == 0;
    let input = CreateArticleInput {
        headline,
        slug: Some(slug.clone()),
        standfirst: Some(story.prose(&mut rng, 22)),
        body: Some(story.body(&mut rng, 800)),
        kind: KINDS[rng.below(KINDS.len())],
        section,
        authors: byline.iter().map(|&a| authors[a]).collect(),
        tags: topics.iter().map(|&t| tags[t].clone()).collect(),
        breaking: rng.below(50) == 0,
        hero: None,
        media: Vec::new(),
        source: syndicated.then(|| SourceInput {
            name: "The Independent".into(),
            url: format!("https://www.independent.co.uk/news/world/{slug}"),
        }),
    };
    let article = newsroom
        .create_article(desk, input)
        .await
        .with_context(|| format!("bench article {slug}"))?;
    // One in twenty stays a draft; the rest were published at some minute
    // of the past year.
    if rng.below(20) == 0 {
        return Ok(ArticleOutcome::Draft);
    }
    let at = now - Duration::minutes(1 + rng.below(365 * 24 * 60) as i64);
    newsroom
        .publish_article(desk, article.id, Some(at))
        .await
        .with_context(|| format!("publishing bench article {slug}"))?;
    Ok(ArticleOutcome::Published)
}

/// Creates blog `b` with its entries, or returns `None` when it exists.
async fn seed_live_blog(
    newsroom: &Newsroom,
    desk: &Caller,
    b: usize,
    sizes: BenchSizes,
    authors: &[AuthorId],
    now: DateTime<Utc>,
    concurrency: usize,
) -> anyhow::Result<Option<usize>> {
    let slug = format!("bench-live-{}", b + 1);
    if newsroom.live_blog_by_slug(&slug).await?.is_some() {
        return Ok(None);
    }
    let mut rng = Rng::new(0xB10_6000 ^ b as u64);
    let story = Story::pick(&mut rng);
    let sections = standard_sections();
    let mut blog = newsroom
        .create_live_blog(
            desk,
            CreateLiveBlogInput {
                title: format!("{} live ({})", story.headline(), b + 1),
                slug: Some(slug.clone()),
                summary: Some(story.prose(&mut rng, 25)),
                section: sections[b % sections.len()].slug.to_string(),
            },
        )
        .await
        .with_context(|| format!("bench live blog {slug}"))?;
    // A blog of n entries ran for n minutes, ending within the last days.
    let entries = sizes.entries_per_blog;
    let ended = now - Duration::hours(b as i64 * 7);
    let started = ended - Duration::minutes(entries as i64 + 1);
    blog.transition(LiveBlogStatus::Live, started)?;
    newsroom
        .store()
        .update_live_blog(
            &blog,
            &[Event::LiveBlogStatusChanged { blog: blog.clone() }],
        )
        .await?;
    let pinned = rng.below(entries.max(1));
    let blog_id = blog.id;
    let story = &story;
    futures::stream::iter(0..entries)
        .map(|e| {
            let mut rng = Rng::new(0xE17_0000 ^ ((b as u64) << 32) ^ e as u64);
            async move {
                let words = 30 + rng.below(60);
                let text = story.prose(&mut rng, words);
                let entry = LiveEntry {
                    id: LiveEntryId::new(),
                    live_blog_id: blog_id,
                    body: entry_body(&format!("<p>{text}</p>"))?,
                    author_id: Some(authors[rng.below(authors.len())]),
                    key_event: rng.below(10) == 0,
                    pinned: e == pinned,
                    media: Vec::new(),
                    posted_at: domain::clock::truncate(started + Duration::minutes(e as i64 + 1)),
                    edited_at: None,
                };
                // Into the event log like any post, so widgets can replay it.
                let posted = Event::LiveEntryPosted {
                    entry: entry.clone(),
                };
                newsroom
                    .store()
                    .insert_live_entry(&entry, &[posted])
                    .await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(concurrency)
        .try_collect::<()>()
        .await
        .with_context(|| format!("entries of bench live blog {slug}"))?;
    Ok(Some(entries))
}

const KINDS: [ArticleKind; 6] = [
    ArticleKind::News,
    ArticleKind::Analysis,
    ArticleKind::Feature,
    ArticleKind::Interview,
    ArticleKind::Opinion,
    ArticleKind::Explainer,
];

fn author(i: usize) -> CreateAuthorInput {
    let first = FIRST_NAMES[i % FIRST_NAMES.len()];
    let last = LAST_NAMES[(i / FIRST_NAMES.len() + i * 7) % LAST_NAMES.len()];
    let title = TITLES[i % TITLES.len()];
    CreateAuthorInput {
        name: format!("{first} {last}"),
        slug: Some(format!("bench-author-{}", i + 1)),
        title: Some(title.to_owned()),
        bio: Some(format!(
            "{first} {last} is a {} covering {} and {}.",
            title.to_lowercase(),
            TOPICS[i % TOPICS.len()],
            TOPICS[(i * 3 + 1) % TOPICS.len()]
        )),
        avatar_url: None,
    }
}

/// `n` distinct tag names: places, then places with topics.
fn tag_names(n: usize) -> Vec<String> {
    let mut names = Vec::with_capacity(n);
    let mut seen = HashSet::new();
    let combined = PLACES
        .iter()
        .map(|p| (*p).to_owned())
        .chain(TOPICS.iter().map(|t| capitalised(t)))
        .chain(
            TOPICS
                .iter()
                .flat_map(|t| PLACES.iter().map(move |p| format!("{p} {t}"))),
        );
    for name in combined {
        if names.len() == n {
            break;
        }
        if seen.insert(name.to_lowercase()) {
            names.push(name);
        }
    }
    let mut extra = 0;
    while names.len() < n {
        extra += 1;
        names.push(format!("Topic {extra}"));
    }
    names
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// What an item is about: its headline, and the words its prose leans on.
struct Story {
    place: &'static str,
    actor: &'static str,
    verb: &'static str,
    topic: &'static str,
}

impl Story {
    fn pick(rng: &mut Rng) -> Self {
        Story {
            place: PLACES[rng.below(PLACES.len())],
            actor: ACTORS[rng.below(ACTORS.len())],
            verb: VERBS[rng.below(VERBS.len())],
            topic: TOPICS[rng.below(TOPICS.len())],
        }
    }

    fn headline(&self) -> String {
        format!(
            "{} {} {} over {}",
            self.place, self.actor, self.verb, self.topic
        )
    }

    /// One word of prose. Like real text, a few words are everywhere, the
    /// story's own words recur, and most of the vocabulary is rare: a long
    /// tail of made-up words drawn with a strong skew, so that a search
    /// for a topic matches a share of the articles, not all of them.
    fn word(&self, rng: &mut Rng) -> String {
        match rng.below(100) {
            0..50 => WORDS[rng.below(WORDS.len())].to_owned(),
            50..60 => {
                let own: Vec<&str> = self
                    .topic
                    .split(' ')
                    .chain(self.actor.split(' '))
                    .chain([self.place])
                    .collect();
                own[rng.below(own.len())].to_lowercase()
            }
            _ => {
                let skewed = (rng.below(1 << 20) as f64 / f64::from(1 << 20)).powi(3);
                rare_word((skewed * RARE_WORDS as f64) as usize)
            }
        }
    }

    /// About `words` words in sentences of 8 to 20 words.
    fn prose(&self, rng: &mut Rng, words: usize) -> String {
        let mut out = String::new();
        let mut left = words.max(1);
        while left > 0 {
            let len = (8 + rng.below(13)).min(left);
            left -= len;
            for w in 0..len {
                let word = self.word(rng);
                if w == 0 {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(&capitalised(&word));
                } else {
                    out.push(' ');
                    out.push_str(&word);
                }
            }
            out.push('.');
        }
        out
    }

    /// An HTML body of about `words` words in paragraphs of about 100.
    fn body(&self, rng: &mut Rng, words: usize) -> String {
        let mut html = String::new();
        let mut left = words;
        while left > 0 {
            let len = (70 + rng.below(60)).min(left);
            left -= len;
            html.push_str("<p>");
            html.push_str(&self.prose(rng, len));
            html.push_str("</p>");
        }
        html
    }
}

/// How many made-up words the long tail has.
const RARE_WORDS: usize = 6_000;

/// The `n`th made-up word: two or three syllables.
fn rare_word(n: usize) -> String {
    let s = SYLLABLES.len();
    let mut word = String::new();
    word.push_str(SYLLABLES[n % s]);
    word.push_str(SYLLABLES[(n / s) % s]);
    if n >= s * s {
        word.push_str(SYLLABLES[(n / (s * s)) % s]);
    }
    word
}

const SYLLABLES: [&str; 40] = [
    "ka", "lo", "ven", "dra", "mi", "tor", "sa", "bel", "nu", "ri", "gan", "po", "lek", "ta",
    "vis", "mor", "de", "sul", "fa", "nir", "ho", "zet", "ba", "qui", "len", "os", "tra", "me",
    "kor", "ali", "pen", "du", "ros", "vi", "gel", "an", "tu", "sor", "ki", "mab",
];

/// `k` distinct indices below `n` (all of them when `k >= n`).
fn distinct(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
    let mut picked = Vec::with_capacity(k.min(n));
    while picked.len() < k.min(n) {
        let i = rng.below(n);
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked
}

/// splitmix64: small, fast and reproducible, which is all generated test
/// data needs (nothing here is secret).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform enough below `n` (> 0) for test data.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const FIRST_NAMES: [&str; 20] = [
    "Anna", "Tomas", "Eva", "Martin", "Lucie", "Jakub", "Sarah", "David", "Petra", "Michael",
    "Jana", "Oliver", "Katerina", "James", "Marie", "Daniel", "Laura", "Pavel", "Emma", "Lukas",
];
const LAST_NAMES: [&str; 23] = [
    "Novak",
    "Svoboda",
    "Smith",
    "Dvorak",
    "Jones",
    "Cerny",
    "Taylor",
    "Prochazka",
    "Brown",
    "Kucera",
    "Wilson",
    "Vesely",
    "Evans",
    "Horak",
    "Thomas",
    "Nemec",
    "Roberts",
    "Marek",
    "Walker",
    "Pokorny",
    "Wright",
    "Hajek",
    "Green",
];
const TITLES: [&str; 6] = [
    "Political correspondent",
    "Senior analyst",
    "Economics editor",
    "Diplomatic editor",
    "Parliamentary reporter",
    "Elections analyst",
];
const PLACES: [&str; 24] = [
    "Prague",
    "Brussels",
    "Berlin",
    "Warsaw",
    "Vienna",
    "Paris",
    "London",
    "Washington",
    "Kyiv",
    "Budapest",
    "Bratislava",
    "Rome",
    "Madrid",
    "Ankara",
    "Beijing",
    "Tokyo",
    "Seoul",
    "Delhi",
    "Ottawa",
    "Canberra",
    "Brasilia",
    "Pretoria",
    "Nairobi",
    "Cairo",
];
const ACTORS: [&str; 10] = [
    "coalition",
    "government",
    "opposition",
    "central bank",
    "parliament",
    "ministers",
    "senate",
    "regional leaders",
    "trade unions",
    "electoral commission",
];
const VERBS: [&str; 10] = [
    "clashes",
    "strikes deal",
    "splits",
    "backs down",
    "pushes ahead",
    "faces pressure",
    "signals shift",
    "wins vote",
    "delays decision",
    "seeks compromise",
];
const TOPICS: [&str; 22] = [
    "budget",
    "energy prices",
    "defence spending",
    "pension reform",
    "trade tariffs",
    "migration",
    "housing",
    "inflation",
    "election law",
    "healthcare",
    "sanctions",
    "climate targets",
    "digital services",
    "farm subsidies",
    "interest rates",
    "border security",
    "public debt",
    "minimum wage",
    "judicial reform",
    "media freedom",
    "nuclear power",
    "tax cuts",
];
const WORDS: [&str; 64] = [
    "the",
    "government",
    "minister",
    "said",
    "on",
    "vote",
    "parliament",
    "coalition",
    "budget",
    "reform",
    "party",
    "leader",
    "policy",
    "would",
    "against",
    "support",
    "after",
    "debate",
    "committee",
    "law",
    "proposal",
    "amendment",
    "opposition",
    "week",
    "talks",
    "agreement",
    "economy",
    "growth",
    "inflation",
    "prices",
    "energy",
    "security",
    "defence",
    "treaty",
    "election",
    "voters",
    "poll",
    "campaign",
    "majority",
    "senate",
    "bill",
    "first",
    "reading",
    "european",
    "union",
    "member",
    "states",
    "and",
    "with",
    "for",
    "its",
    "new",
    "plan",
    "public",
    "spending",
    "tax",
    "cuts",
    "officials",
    "expected",
    "to",
    "announce",
    "by",
    "friday",
    "analysts",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_data_is_the_same_every_time() {
        let story = |seed| {
            let mut rng = Rng::new(seed);
            let story = Story::pick(&mut rng);
            (story.headline(), story.prose(&mut rng, 30))
        };
        let a: Vec<_> = (0..5).map(story).collect();
        let b: Vec<_> = (0..5).map(story).collect();
        assert_eq!(a, b);
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn a_body_has_about_the_words_asked_for() {
        let mut rng = Rng::new(7);
        let html = Story::pick(&mut rng).body(&mut rng, 800);
        let words = html.replace("</p><p>", " ").split_whitespace().count();
        assert_eq!(words, 800, "{html}");
        assert!(html.starts_with("<p>") && html.ends_with("</p>"));
    }

    #[test]
    fn rare_words_are_distinct() {
        let words: HashSet<String> = (0..RARE_WORDS).map(rare_word).collect();
        assert_eq!(words.len(), RARE_WORDS);
    }

    #[test]
    fn tag_names_are_distinct_whatever_the_count() {
        for n in [0, 10, 500, 2_000] {
            let names = tag_names(n);
            assert_eq!(names.len(), n);
            let unique: HashSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
            assert_eq!(unique.len(), n);
        }
    }

    #[test]
    fn distinct_picks_never_repeat() {
        let mut rng = Rng::new(1);
        for k in 1..=5 {
            let picked = distinct(&mut rng, 6, k);
            let unique: HashSet<_> = picked.iter().collect();
            assert_eq!(unique.len(), k);
        }
        assert_eq!(distinct(&mut rng, 2, 5).len(), 2);
    }
}
