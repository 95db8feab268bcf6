//! Articles: round trips, conflicts, transactions.

use chrono::Duration;
use domain::content::ArticleStatus;
use domain::ids::{AuthorId, SectionId};
use domain::ports::{ArticleRepository, SectionRepository, TagRepository};
use domain::{Error, Visibility};

use crate::fixtures::*;
use crate::harness::TestDb;

contract!(
    migrating_twice_is_a_no_op,
    an_article_reads_back_as_stored,
    a_taken_slug_is_a_conflict,
    a_stale_version_is_a_conflict,
    a_failed_insert_leaves_nothing_behind,
    updates_replace_or_keep_links,
    deleting_an_article_removes_its_links,
    due_scheduled_articles_come_oldest_first,
);

async fn migrating_twice_is_a_no_op(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;
    db.migrate().await.expect("second migrate");
    db.migrate().await.expect("third migrate");
    assert_eq!(db.sections().await.expect("sections"), vec![section]);
}

async fn an_article_reads_back_as_stored(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;
    let jana = author(&**db, "Jana Nováková").await;
    let petr = author(&**db, "Petr Svoboda").await;
    let mut article = syndicated(draft(section.id, "budget-vote"));
    article.author_ids = vec![petr.id, jana.id];
    article.breaking = true;
    article.scheduled_at = Some(t0());
    let stored = store(&**db, article.clone(), &["North Korea", "NATO"]).await;
    assert_eq!(stored.tag_ids.len(), 2);

    let read = db
        .article(article.id, Visibility::Desk)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(read, stored, "timestamps, media, source and links survive");
    assert_eq!(read.author_ids, [petr.id, jana.id], "byline order is kept");
    let tags = db.tags_by_ids(&read.tag_ids).await.expect("tags");
    let first = tags.iter().find(|t| t.id == read.tag_ids[0]).expect("tag");
    assert_eq!(first.name, "North Korea", "tag order is the editor's");

    let by_slug = db
        .article_at(&slug("budget-vote"), Visibility::Desk)
        .await
        .expect("read");
    assert_eq!(by_slug, Some(stored));
    assert_eq!(
        db.article(article.id, Visibility::Public)
            .await
            .expect("read"),
        None,
        "readers do not see drafts"
    );
}

async fn a_taken_slug_is_a_conflict(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;
    store(&**db, draft(section.id, "taken"), &[]).await;
    let err = db
        .insert_article(&draft(section.id, "taken"), &[])
        .await
        .expect_err("slug clash");
    assert!(
        matches!(err, Error::Conflict(ref m) if m.contains("`taken`")),
        "{err:?}"
    );

    let other = store(&**db, draft(section.id, "other"), &[]).await;
    let mut renamed = other.clone();
    renamed.slug = slug("taken");
    let err = db
        .update_article(&renamed, None, other.version, &[])
        .await
        .expect_err("slug clash on update");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

async fn a_stale_version_is_a_conflict(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;
    let article = store(&**db, draft(section.id, "versioned"), &[]).await;
    let mut edit = article.clone();
    edit.headline = "First edit".into();
    let saved = db
        .update_article(&edit, None, article.version, &[])
        .await
        .expect("first edit")
        .0;
    assert_eq!(saved.version, article.version + 1);

    edit.headline = "Lost update".into();
    let err = db
        .update_article(&edit, None, article.version, &[])
        .await
        .expect_err("stale");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let read = db
        .article(article.id, Visibility::Desk)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(read.headline, "First edit");
    assert_eq!(read.version, saved.version);

    let mut ghost = draft(section.id, "ghost");
    ghost.headline = "Never stored".into();
    let err = db
        .update_article(&ghost, None, 1, &[])
        .await
        .expect_err("missing");
    assert!(matches!(err, Error::NotFound("article")), "{err:?}");
}

async fn a_failed_insert_leaves_nothing_behind(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;

    let err = db
        .insert_article(&draft(SectionId::new(), "no-section"), &tags(&["Orphan"]))
        .await
        .expect_err("bad section");
    assert!(
        matches!(err, Error::Invalid { ref field, .. } if field == "section"),
        "{err:?}"
    );

    let mut no_author = draft(section.id, "no-author");
    no_author.author_ids = vec![AuthorId::new()];
    let err = db
        .insert_article(&no_author, &tags(&["Orphan"]))
        .await
        .expect_err("bad author");
    assert!(
        matches!(err, Error::Invalid { ref field, .. } if field == "authors"),
        "{err:?}"
    );

    store(&**db, draft(section.id, "taken"), &[]).await;
    let err = db
        .insert_article(&draft(section.id, "taken"), &tags(&["Orphan"]))
        .await
        .expect_err("slug clash");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");

    assert_eq!(
        db.count_tags(None).await.expect("count"),
        0,
        "no tag was created"
    );
    for s in ["no-section", "no-author"] {
        assert_eq!(
            db.article_at(&slug(s), Visibility::Desk)
                .await
                .expect("read"),
            None
        );
    }
}

async fn updates_replace_or_keep_links(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;
    let a = author(&**db, "Anna").await;
    let b = author(&**db, "Bohdan").await;
    let mut article = draft(section.id, "links");
    article.author_ids = vec![a.id];
    let article = store(&**db, article, &["NATO", "Budget"]).await;

    let mut edit = article.clone();
    edit.author_ids = vec![b.id, a.id];
    let saved = db
        .update_article(&edit, None, article.version, &[])
        .await
        .expect("edit")
        .0;
    assert_eq!(saved.tag_ids, article.tag_ids, "tags kept when not given");
    assert_eq!(saved.author_ids, [b.id, a.id]);

    let replaced = db
        .update_article(
            &saved,
            Some(&tags(&["Budget", "Senate"])),
            saved.version,
            &[],
        )
        .await
        .expect("retag")
        .0;
    assert_eq!(replaced.tag_ids.len(), 2);
    assert_eq!(
        replaced.tag_ids[0], article.tag_ids[1],
        "existing tag reused by slug"
    );
    let read = db
        .article(article.id, Visibility::Desk)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(read, replaced);
    assert_eq!(db.count_tags(None).await.expect("count"), 3);
}

async fn deleting_an_article_removes_its_links(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;
    let a = author(&**db, "Anna").await;
    let mut article = published(draft(section.id, "doomed"), t0());
    article.author_ids = vec![a.id];
    let article = store(&**db, article, &["NATO"]).await;
    assert!(db.delete_article(article.id).await.expect("delete"));
    assert!(!db.delete_article(article.id).await.expect("delete again"));
    assert_eq!(
        db.article(article.id, Visibility::Desk)
            .await
            .expect("read"),
        None
    );
    // The tag stays (other articles may use it); the author can be reused.
    let mut again = draft(section.id, "doomed");
    again.author_ids = vec![a.id];
    store(&**db, again, &["NATO"]).await;
    assert_eq!(db.count_tags(None).await.expect("count"), 1);
}

async fn due_scheduled_articles_come_oldest_first(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;
    let now = t0();
    let mut ids = Vec::new();
    for (i, offset) in [-5i64, -10, 10].into_iter().enumerate() {
        let mut article = draft(section.id, &format!("scheduled-{i}"));
        article.status = ArticleStatus::Scheduled;
        article.scheduled_at = Some(now + Duration::minutes(offset));
        ids.push(store(&**db, article, &["Later"]).await.id);
    }
    let due = db.due_scheduled_articles(now, 10).await.expect("due");
    let due_ids: Vec<_> = due.iter().map(|a| a.id).collect();
    assert_eq!(due_ids, [ids[1], ids[0]]);
    assert!(due.iter().all(|a| a.tag_ids.len() == 1), "links are loaded");
    assert_eq!(
        db.due_scheduled_articles(now, 1).await.expect("due").len(),
        1
    );
}
