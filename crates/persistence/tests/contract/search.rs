//! Full-text search: ranking, snippets, visibility, paging, hostile input.

use domain::html::SafeHtml;
use domain::page::PageRequest;
use domain::ports::{ArticleFilter, ArticleRepository, SearchQuery};
use domain::{Error, Visibility};

use crate::fixtures::*;
use crate::harness::TestDb;

contract!(
    a_headline_match_outranks_a_body_match,
    query_syntax_in_user_input_is_just_words,
    search_respects_visibility_filters_and_paging,
    the_index_follows_updates_and_deletes,
);

fn query(text: &str, visibility: Visibility) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        filter: ArticleFilter::default(),
        visibility,
    }
}

async fn seed(db: &TestDb) -> (domain::content::Article, domain::content::Article) {
    let section = section(&**db, "economic-developments").await;
    let mut headline = published(draft(section.id, "budget-passes"), t0());
    headline.headline = "Parliament passes the budget".into();
    headline.set_body(SafeHtml::clean("<p>Deputies voted late on Tuesday.</p>").expect("body"));
    let mut body = published(draft(section.id, "weather"), t0());
    body.headline = "Storms close schools".into();
    body.set_body(
        SafeHtml::clean(
            "<p>Schools closed across the north. The ministry said the repair budget \
             would cover the roofs &amp; <b>windows</b> damaged by the storm.</p>",
        )
        .expect("body"),
    );
    let headline = store(&**db, headline, &[]).await;
    let body = store(&**db, body, &[]).await;
    (headline, body)
}

async fn a_headline_match_outranks_a_body_match(db: &TestDb) {
    let (headline, body) = seed(db).await;
    let page = db
        .search_hits(
            &query("budget", Visibility::Public),
            &PageRequest::first(10),
        )
        .await
        .expect("search");
    let hits: Vec<_> = page.items.iter().map(|(_, h)| h.article.id).collect();
    assert_eq!(hits, [headline.id, body.id]);
    assert!(page.items[0].1.rank > page.items[1].1.rank);
    let snippet = &page.items[1].1.snippet;
    assert!(snippet.contains("<mark>budget</mark>"), "{snippet}");
    assert!(
        snippet.contains("&amp;"),
        "snippet text is escaped: {snippet}"
    );
    assert!(!snippet.contains("<b>"), "{snippet}");
    // Stemming and prefixes: "budgets" and "budg" find the same.
    for text in ["budgets", "budg", "BUDGET"] {
        let n = db
            .count_search(&query(text, Visibility::Public))
            .await
            .expect("count");
        assert_eq!(n, 2, "{text}");
    }
    assert_eq!(
        db.count_search(&query("budget storm", Visibility::Public))
            .await
            .expect("count"),
        1,
        "every word must match"
    );
}

async fn query_syntax_in_user_input_is_just_words(db: &TestDb) {
    seed(db).await;
    for text in [
        "\"",
        "*",
        "OR",
        "NEAR(",
        "budget OR",
        "\"budget",
        "budget*",
        "-budget",
        "budget NOT storm",
        "headline: budget",
        "'; DROP TABLE articles; --",
        "½ ² ⅓",
        "budget) AND (",
        "^budget",
        "budget:*",
        "a & b | !c <-> d",
    ] {
        let page = db
            .search_hits(&query(text, Visibility::Public), &PageRequest::first(5))
            .await
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
        db.count_search(&query(text, Visibility::Public))
            .await
            .unwrap_or_else(|e| panic!("count {text:?}: {e}"));
        let finds_budget = [
            "budget OR",
            "\"budget",
            "budget*",
            "-budget",
            "budget NOT storm",
            "budget) AND (",
            "^budget",
            "budget:*",
        ];
        if finds_budget.contains(&text) {
            assert!(!page.items.is_empty(), "{text:?} still finds the budget");
        }
    }
}

async fn search_respects_visibility_filters_and_paging(db: &TestDb) {
    let section = section(&**db, "economic-developments").await;
    let other = section_(db).await;
    for i in 0..5 {
        let mut article = published(draft(section.id, &format!("tax-{i}")), t0());
        article.headline = format!("Tax reform part {i}");
        store(&**db, article, &[]).await;
    }
    let mut hidden = draft(section.id, "tax-draft");
    hidden.headline = "Tax reform draft".into();
    store(&**db, hidden, &[]).await;
    let mut elsewhere = published(draft(other, "tax-abroad"), t0());
    elsewhere.headline = "Tax reform abroad".into();
    store(&**db, elsewhere, &[]).await;

    assert_eq!(
        db.count_search(&query("tax", Visibility::Public))
            .await
            .expect("count"),
        6
    );
    assert_eq!(
        db.count_search(&query("tax", Visibility::Desk))
            .await
            .expect("count"),
        7
    );
    let filtered = SearchQuery {
        filter: ArticleFilter {
            section: Some(slug("international-relations")),
            ..Default::default()
        },
        ..query("tax", Visibility::Public)
    };
    assert_eq!(db.count_search(&filtered).await.expect("count"), 1);

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = db
            .search_hits(
                &query("tax reform", Visibility::Public),
                &PageRequest {
                    after: after.clone(),
                    ..PageRequest::first(4)
                },
            )
            .await
            .expect("search");
        seen.extend(page.items.iter().map(|(_, h)| h.article.id));
        after = page.items.last().map(|(p, _)| p.clone());
        if !page.has_next_page {
            break;
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (6, 6));

    let err = db
        .search_hits(
            &query("tax", Visibility::Public),
            &PageRequest {
                limit: 2,
                direction: domain::page::Direction::Backward,
                after: None,
                before: None,
            },
        )
        .await
        .expect_err("backward search");
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
}

async fn section_(db: &TestDb) -> domain::ids::SectionId {
    section(&**db, "international-relations").await.id
}

async fn the_index_follows_updates_and_deletes(db: &TestDb) {
    let (headline, _) = seed(db).await;
    let count = |text: &'static str| async move {
        db.count_search(&query(text, Visibility::Desk))
            .await
            .expect("count")
    };
    assert_eq!(count("parliament").await, 1);
    let mut edit = headline.clone();
    edit.headline = "Senate rejects the plan".into();
    let edit = db
        .update_article(&edit, None, headline.version, &[])
        .await
        .expect("edit")
        .0;
    assert_eq!(count("parliament").await, 0);
    assert_eq!(count("senate").await, 1);
    assert!(db.delete_article(edit.id).await.expect("delete"));
    assert_eq!(count("senate").await, 0);
}
