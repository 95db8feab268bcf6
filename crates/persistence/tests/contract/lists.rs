//! Keyset pages: every ordering, both directions, no duplicates, no gaps;
//! filters; a constant number of statements per page.

use chrono::{DateTime, Duration, Utc};
use domain::Visibility;
use domain::content::{Article, ArticleKind, ArticleStatus};
use domain::ids::ArticleId;
use domain::page::{Direction, Page, PageRequest};
use domain::ports::{
    ArticleFilter, ArticleOrder, ArticleQuery, ArticleRepository, ArticleSort, SortDirection,
};

use crate::fixtures::*;
use crate::harness::TestDb;

contract!(
    every_article_ordering_pages_both_ways_without_gaps,
    filters_narrow_lists_and_counts,
    a_page_costs_the_same_statements_whatever_its_size,
    a_cursor_of_another_kind_is_refused,
    list_pages_read_an_index_in_their_order,
);

/// The front page and a section's page, as the database plans them: each a
/// range scan of an index in the list's order, with no sort of the matches
/// (which would read every article of the section to find twenty).
async fn list_pages_read_an_index_in_their_order(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;
    for i in 0..3 {
        let article = published(draft(section.id, &format!("e-{i}")), t0());
        store(&**db, article, &[]).await;
    }
    let cases = [
        (None, "idx_articles_status_published"),
        (
            Some(slug("domestic-policies")),
            "idx_articles_section_published",
        ),
    ];
    for (section, index) in cases {
        let query = ArticleQuery {
            filter: ArticleFilter {
                section,
                ..ArticleFilter::default()
            },
            order: ArticleOrder::default(),
            visibility: Visibility::Public,
        };
        let plan = db
            .explain_article_list(&query, &PageRequest::first(20))
            .await
            .expect("explain")
            .join("\n");
        assert!(plan.contains(index), "not on {index}:\n{plan}");
        assert!(
            !plan.contains("Sort") && !plan.contains("TEMP B-TREE"),
            "the matches are sorted:\n{plan}"
        );
    }
}

/// Timestamps that differ by a microsecond, by a whole second across a
/// boundary, with and without fractions, and some equal: the cases where
/// SQLite's text encoding would order wrongly if bound values were encoded
/// differently from stored ones.
fn close_times() -> Vec<DateTime<Utc>> {
    let base = t0(); // hh:59:59.999990
    let mut times = Vec::new();
    for i in 0..25i64 {
        let t = match i % 5 {
            0 => base + Duration::microseconds(i), // across the second
            1 => base + Duration::microseconds(10 + i), // exactly :00 for i = 0..
            2 => base - Duration::milliseconds(i), // milliseconds only
            3 => base,                             // ties: ordered by id
            _ => base + Duration::seconds(i),
        };
        times.push(t);
    }
    times
}

async fn seed_articles(db: &TestDb) -> Vec<Article> {
    let section = section(&**db, "domestic-policies").await;
    let times = close_times();
    let mut stored = Vec::new();
    for (i, t) in times.iter().enumerate() {
        let mut article = draft(section.id, &format!("article-{i:02}"));
        article.created_at = *t - Duration::microseconds(i as i64 * 7);
        article.updated_at = *t + Duration::microseconds((i % 3) as i64);
        // Every fourth stays a draft: the desk sees it by creation time.
        if i % 4 != 0 {
            article = published(article, *t);
        }
        stored.push(store(&**db, article, &[]).await);
    }
    stored
}

fn sort_key(order: ArticleOrder, a: &Article) -> DateTime<Utc> {
    match order.sort {
        ArticleSort::PublishedAt => a.published_at.unwrap_or(a.created_at),
        ArticleSort::UpdatedAt => a.updated_at,
        ArticleSort::CreatedAt => a.created_at,
    }
}

fn expected(all: &[Article], query: &ArticleQuery) -> Vec<ArticleId> {
    let mut rows: Vec<&Article> = all
        .iter()
        .filter(|a| query.visibility == Visibility::Desk || a.status == ArticleStatus::Published)
        .collect();
    rows.sort_by_key(|a| (sort_key(query.order, a), a.id.0));
    if query.order.direction == SortDirection::Desc {
        rows.reverse();
    }
    rows.into_iter().map(|a| a.id).collect()
}

fn ids(page: &Page<Article>) -> Vec<ArticleId> {
    page.items.iter().map(|(_, a)| a.id).collect()
}

async fn walk(db: &TestDb, query: &ArticleQuery, direction: Direction) -> Vec<ArticleId> {
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..20 {
        let request = match direction {
            Direction::Forward => PageRequest {
                after: cursor.clone(),
                ..PageRequest::first(7)
            },
            Direction::Backward => PageRequest {
                limit: 7,
                direction,
                after: None,
                before: cursor.clone(),
            },
        };
        let page = db.articles(query, &request).await.expect("page");
        let more = match direction {
            Direction::Forward => {
                assert_eq!(page.has_previous_page, cursor.is_some());
                seen.extend(ids(&page));
                cursor = page.items.last().map(|(p, _)| p.clone());
                page.has_next_page
            }
            Direction::Backward => {
                assert_eq!(page.has_next_page, cursor.is_some());
                let mut batch = ids(&page);
                batch.extend(seen);
                seen = batch;
                cursor = page.items.first().map(|(p, _)| p.clone());
                page.has_previous_page
            }
        };
        if !more {
            return seen;
        }
    }
    panic!("paging did not end");
}

async fn every_article_ordering_pages_both_ways_without_gaps(db: &TestDb) {
    let all = seed_articles(db).await;
    for visibility in [Visibility::Public, Visibility::Desk] {
        for sort in [
            ArticleSort::PublishedAt,
            ArticleSort::UpdatedAt,
            ArticleSort::CreatedAt,
        ] {
            for direction in [SortDirection::Desc, SortDirection::Asc] {
                let query = ArticleQuery {
                    filter: ArticleFilter::default(),
                    order: ArticleOrder { sort, direction },
                    visibility,
                };
                let want = expected(&all, &query);
                let label = format!("{visibility:?} {}", query.order.cursor_name());
                assert_eq!(
                    walk(db, &query, Direction::Forward).await,
                    want,
                    "forward {label}"
                );
                assert_eq!(
                    walk(db, &query, Direction::Backward).await,
                    want,
                    "backward {label}"
                );

                // `after` and `before` together bound a window.
                let window = PageRequest {
                    limit: 100,
                    direction: Direction::Backward,
                    after: Some(position_of(db, &query, &want[2]).await),
                    before: Some(position_of(db, &query, &want[9]).await),
                };
                let page = db.articles(&query, &window).await.expect("window");
                assert_eq!(ids(&page), want[3..9], "window {label}");
            }
        }
    }
}

async fn position_of(db: &TestDb, query: &ArticleQuery, id: &ArticleId) -> domain::page::Position {
    let page = db
        .articles(query, &PageRequest::first(100))
        .await
        .expect("page");
    page.items
        .into_iter()
        .find(|(_, a)| a.id == *id)
        .map(|(p, _)| p)
        .expect("listed")
}

async fn filters_narrow_lists_and_counts(db: &TestDb) {
    let home = section(&**db, "domestic-policies").await;
    let abroad = section(&**db, "international-relations").await;
    let anna = author(&**db, "Anna").await;
    let t = t0();

    let mut a = published(draft(home.id, "a"), t);
    a.author_ids = vec![anna.id];
    a.kind = ArticleKind::Analysis;
    let a = store(&**db, a, &["NATO"]).await;
    let mut b = published(draft(abroad.id, "b"), t + Duration::hours(1));
    b.breaking = true;
    let b = store(&**db, b, &["NATO", "Budget"]).await;
    let mut c = draft(abroad.id, "c");
    c.created_at = t + Duration::hours(2);
    let c = store(&**db, c, &["Budget"]).await;

    let cases: Vec<(ArticleFilter, Visibility, Vec<ArticleId>)> = vec![
        (
            ArticleFilter::default(),
            Visibility::Public,
            vec![b.id, a.id],
        ),
        (
            ArticleFilter::default(),
            Visibility::Desk,
            vec![c.id, b.id, a.id],
        ),
        (
            ArticleFilter {
                section: Some(slug("international-relations")),
                ..Default::default()
            },
            Visibility::Desk,
            vec![c.id, b.id],
        ),
        (
            ArticleFilter {
                tag: Some(slug("nato")),
                ..Default::default()
            },
            Visibility::Public,
            vec![b.id, a.id],
        ),
        (
            ArticleFilter {
                tag: Some(slug("budget")),
                ..Default::default()
            },
            Visibility::Public,
            vec![b.id],
        ),
        (
            ArticleFilter {
                author: Some(slug("anna")),
                ..Default::default()
            },
            Visibility::Public,
            vec![a.id],
        ),
        (
            ArticleFilter {
                kind: Some(ArticleKind::Analysis),
                ..Default::default()
            },
            Visibility::Public,
            vec![a.id],
        ),
        (
            ArticleFilter {
                breaking: Some(true),
                ..Default::default()
            },
            Visibility::Public,
            vec![b.id],
        ),
        (
            ArticleFilter {
                published_after: Some(t + Duration::minutes(1)),
                ..Default::default()
            },
            Visibility::Public,
            vec![b.id],
        ),
        (
            ArticleFilter {
                published_before: Some(t + Duration::minutes(1)),
                ..Default::default()
            },
            Visibility::Public,
            vec![a.id],
        ),
        (
            ArticleFilter {
                status: Some(ArticleStatus::Draft),
                ..Default::default()
            },
            Visibility::Desk,
            vec![c.id],
        ),
        (
            // Readers cannot ask for drafts.
            ArticleFilter {
                status: Some(ArticleStatus::Draft),
                ..Default::default()
            },
            Visibility::Public,
            vec![b.id, a.id],
        ),
        (
            ArticleFilter {
                section: Some(slug("no-such-section")),
                ..Default::default()
            },
            Visibility::Desk,
            vec![],
        ),
    ];
    for (filter, visibility, want) in cases {
        let query = ArticleQuery {
            filter: filter.clone(),
            order: ArticleOrder::default(),
            visibility,
        };
        let page = db
            .articles(&query, &PageRequest::first(10))
            .await
            .expect("list");
        assert_eq!(ids(&page), want, "{filter:?} {visibility:?}");
        assert_eq!(
            db.count_articles(&query).await.expect("count"),
            want.len() as u64,
            "count {filter:?} {visibility:?}"
        );
    }
}

async fn a_page_costs_the_same_statements_whatever_its_size(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;
    let anna = author(&**db, "Anna").await;
    let bob = author(&**db, "Bob").await;
    for i in 0..20 {
        let mut article = published(
            draft(section.id, &format!("p-{i}")),
            t0() + Duration::seconds(i),
        );
        article.author_ids = vec![anna.id, bob.id];
        store(&**db, article, &["NATO", "Budget", "Senate"]).await;
    }
    let query = ArticleQuery {
        filter: ArticleFilter::default(),
        order: ArticleOrder::default(),
        visibility: Visibility::Public,
    };
    let mut costs = Vec::new();
    for size in [5, 20] {
        let before = statements(&**db);
        let page = db
            .articles(&query, &PageRequest::first(size))
            .await
            .expect("page");
        costs.push(statements(&**db) - before);
        assert_eq!(page.items.len(), size as usize);
        assert!(
            page.items
                .iter()
                .all(|(_, a)| a.author_ids == [anna.id, bob.id] && a.tag_ids.len() == 3)
        );
    }
    assert_eq!(costs[0], costs[1], "statements for 5 and for 20 articles");
    assert!(
        costs[0] <= 2,
        "one for the page, one for its bylines, tags, authors and tags: {costs:?}"
    );
}

async fn a_cursor_of_another_kind_is_refused(db: &TestDb) {
    let request = PageRequest {
        after: Some(domain::page::Position::new(
            domain::page::SortValue::Text("x".into()),
            uuid::Uuid::nil(),
        )),
        ..PageRequest::first(5)
    };
    let query = ArticleQuery {
        filter: ArticleFilter::default(),
        order: ArticleOrder::default(),
        visibility: Visibility::Public,
    };
    let err = db
        .articles(&query, &request)
        .await
        .expect_err("mismatched cursor");
    assert!(matches!(err, domain::Error::CursorInvalid(_)), "{err:?}");
}
