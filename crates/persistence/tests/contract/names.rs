//! Authors and tags: listed by name, tags by prefix.

use domain::page::{Direction, PageRequest};
use domain::ports::{AuthorRepository, TagRepository};
use domain::text::Slug;

use crate::fixtures::*;
use crate::harness::TestDb;

contract!(authors_and_tags_page_by_name);

async fn authors_and_tags_page_by_name(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;
    // Capitalised ASCII names sort the same under any collation; equal names
    // are ordered by id.
    let names = ["Zoe", "Adam", "Bara", "Bara", "Cyril", "Anna", "Bara"];
    let mut stored = Vec::new();
    for name in names {
        stored.push(author_named(db, name).await);
    }
    stored.sort_by_key(|a| (a.name.clone(), a.id.0));
    let want: Vec<_> = stored.iter().map(|a| a.id).collect();

    let mut forward = Vec::new();
    let mut after = None;
    loop {
        let page = db
            .list_authors(&PageRequest {
                after: after.clone(),
                ..PageRequest::first(2)
            })
            .await
            .expect("authors");
        forward.extend(page.items.iter().map(|(_, a)| a.id));
        after = page.items.last().map(|(p, _)| p.clone());
        if !page.has_next_page {
            break;
        }
    }
    assert_eq!(forward, want);
    let last = db
        .list_authors(&PageRequest {
            limit: 3,
            direction: Direction::Backward,
            after: None,
            before: None,
        })
        .await
        .expect("authors");
    assert_eq!(
        last.items.iter().map(|(_, a)| a.id).collect::<Vec<_>>(),
        want[4..]
    );
    assert!(last.has_previous_page && !last.has_next_page);
    assert_eq!(db.count_authors().await.expect("count"), names.len() as u64);

    store(
        &**db,
        draft(section.id, "t"),
        &["North Korea", "NATO", "Česko", "Senate", "nordic"],
    )
    .await;
    let all = db
        .list_tags(None, &PageRequest::first(10))
        .await
        .expect("tags");
    assert_eq!(all.items.len(), 5);
    for (prefix, want) in [
        ("n", 3),
        ("NO", 2),
        ("north k", 1),
        ("če", 1),
        ("ce", 1),
        ("%", 0),
        ("_", 0),
        ("x", 0),
    ] {
        let page = db
            .list_tags(Some(prefix), &PageRequest::first(10))
            .await
            .expect("tags");
        assert_eq!(page.items.len(), want, "prefix {prefix:?}");
        assert_eq!(
            db.count_tags(Some(prefix)).await.expect("count"),
            want as u64,
            "count {prefix:?}"
        );
    }
    let page = db
        .list_tags(Some("n"), &PageRequest::first(2))
        .await
        .expect("tags");
    assert!(page.has_next_page);
    let rest = db
        .list_tags(
            Some("n"),
            &PageRequest {
                after: page.items.last().map(|(p, _)| p.clone()),
                ..PageRequest::first(2)
            },
        )
        .await
        .expect("tags");
    assert_eq!(rest.items.len(), 1);
    assert!(!rest.has_next_page);
}

async fn author_named(db: &TestDb, name: &str) -> domain::content::Author {
    let now = domain::clock::now();
    let author = domain::content::Author {
        id: domain::ids::AuthorId::new(),
        slug: slug(&format!(
            "{}-{}",
            Slug::derive(name).expect("slug"),
            uuid::Uuid::new_v4().simple()
        )),
        name: name.to_owned(),
        title: String::new(),
        bio: String::new(),
        avatar_url: None,
        created_at: now,
        updated_at: now,
    };
    db.insert_author(&author).await.expect("author");
    author
}
