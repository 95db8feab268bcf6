//! Live blogs and entries: paging newest first, the pinning rule.

use std::collections::HashMap;

use domain::ids::{AuthorId, LiveBlogId, LiveEntryId};
use domain::live::{LiveBlog, LiveBlogStatus, LiveEntry};
use domain::page::{Direction, PageRequest};
use domain::ports::LiveBlogRepository;
use domain::{Error, clock};

use crate::fixtures::*;
use crate::harness::TestDb;

contract!(
    a_blog_has_at_most_one_pinned_entry,
    entries_page_newest_first_both_ways,
    live_blogs_round_trip_and_list_newest_first,
    pinned_entries_of_many_blogs_in_one_statement,
    key_events_of_many_blogs_in_one_statement,
);

async fn a_blog_has_at_most_one_pinned_entry(db: &TestDb) {
    let night = blog(&**db, "night").await;
    let other = blog(&**db, "other").await;
    let other_pin = entry(&other, 0, true);
    db.insert_live_entry(&other_pin, &[]).await.expect("insert");

    let first = entry(&night, 1, true);
    let second = entry(&night, 2, true);
    db.insert_live_entry(&first, &[]).await.expect("insert");
    db.insert_live_entry(&second, &[]).await.expect("insert");
    let pinned = db.pinned_entry(night.id).await.expect("pinned");
    assert_eq!(pinned.map(|e| e.id), Some(second.id));
    let first_now = db
        .live_entry_by_id(first.id)
        .await
        .expect("read")
        .expect("found");
    assert!(!first_now.pinned);

    let mut repin = first_now.clone();
    repin.pinned = true;
    db.update_live_entry(&repin, &[]).await.expect("repin");
    assert_eq!(
        db.pinned_entry(night.id)
            .await
            .expect("pinned")
            .map(|e| e.id),
        Some(first.id)
    );
    let all = db
        .live_entries(night.id, false, &PageRequest::first(10))
        .await
        .expect("entries");
    assert_eq!(all.items.iter().filter(|(_, e)| e.pinned).count(), 1);
    assert_eq!(
        db.pinned_entry(other.id)
            .await
            .expect("pinned")
            .map(|e| e.id),
        Some(other_pin.id),
        "other blogs keep their pin"
    );

    repin.pinned = false;
    db.update_live_entry(&repin, &[]).await.expect("unpin");
    assert_eq!(db.pinned_entry(night.id).await.expect("pinned"), None);

    let mut bad_author = entry(&night, 3, false);
    bad_author.author_id = Some(AuthorId::new());
    let err = db
        .insert_live_entry(&bad_author, &[])
        .await
        .expect_err("bad author");
    assert!(
        matches!(err, Error::Invalid { ref field, .. } if field == "author"),
        "{err:?}"
    );
    let orphan = LiveEntry {
        live_blog_id: LiveBlogId::new(),
        ..entry(&night, 4, true)
    };
    let err = db
        .insert_live_entry(&orphan, &[])
        .await
        .expect_err("no blog");
    assert!(matches!(err, Error::NotFound("live blog")), "{err:?}");
    let err = db
        .update_live_entry(&orphan, &[])
        .await
        .expect_err("no entry");
    assert!(matches!(err, Error::NotFound("live entry")), "{err:?}");

    db.delete_live_entry(first.id, &[]).await.expect("delete");
    let err = db
        .delete_live_entry(first.id, &[])
        .await
        .expect_err("delete again");
    assert!(matches!(err, Error::NotFound("live entry")), "{err:?}");
}

async fn entries_page_newest_first_both_ways(db: &TestDb) {
    let night = blog(&**db, "night").await;
    let mut entries = Vec::new();
    for n in 0..23 {
        let e = entry(&night, n, false);
        db.insert_live_entry(&e, &[]).await.expect("insert");
        entries.push(e);
    }
    let read = db.live_entry_by_id(entries[5].id).await.expect("read");
    assert_eq!(
        read.as_ref(),
        Some(&entries[5]),
        "entries read back as stored"
    );
    entries.reverse(); // newest first
    for key_events_only in [false, true] {
        let want: Vec<_> = entries
            .iter()
            .filter(|e| !key_events_only || e.key_event)
            .map(|e| e.id)
            .collect();
        assert_eq!(
            db.count_live_entries(night.id, key_events_only)
                .await
                .expect("count"),
            want.len() as u64
        );
        let mut forward = Vec::new();
        let mut after = None;
        loop {
            let page = db
                .live_entries(
                    night.id,
                    key_events_only,
                    &PageRequest {
                        after: after.clone(),
                        ..PageRequest::first(4)
                    },
                )
                .await
                .expect("page");
            forward.extend(page.items.iter().map(|(_, e)| e.id));
            after = page.items.last().map(|(p, _)| p.clone());
            if !page.has_next_page {
                break;
            }
        }
        assert_eq!(forward, want, "forward, key events only: {key_events_only}");
        let mut backward = Vec::new();
        let mut before = None;
        loop {
            let page = db
                .live_entries(
                    night.id,
                    key_events_only,
                    &PageRequest {
                        limit: 4,
                        direction: Direction::Backward,
                        after: None,
                        before: before.clone(),
                    },
                )
                .await
                .expect("page");
            let mut batch: Vec<_> = page.items.iter().map(|(_, e)| e.id).collect();
            batch.extend(backward);
            backward = batch;
            before = page.items.first().map(|(p, _)| p.clone());
            if !page.has_previous_page {
                break;
            }
        }
        assert_eq!(
            backward, want,
            "backward, key events only: {key_events_only}"
        );
    }
}

async fn live_blogs_round_trip_and_list_newest_first(db: &TestDb) {
    let first = blog(&**db, "first").await;
    let mut second = blog(&**db, "second").await;
    assert_eq!(
        db.live_blog_by_slug(&slug("first")).await.expect("read"),
        Some(first.clone())
    );
    let err = db
        .insert_live_blog(&LiveBlog {
            id: LiveBlogId::new(),
            ..first.clone()
        })
        .await
        .expect_err("slug");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");

    second
        .transition(LiveBlogStatus::Live, clock::now())
        .expect("go live");
    db.update_live_blog(&second, &[]).await.expect("update");
    assert_eq!(
        db.live_blog_by_id(second.id).await.expect("read"),
        Some(second.clone())
    );

    let all = db
        .list_live_blogs(None, &PageRequest::first(10))
        .await
        .expect("list");
    let ids: Vec<_> = all.items.iter().map(|(_, b)| b.id).collect();
    let mut want = [first.clone(), second.clone()];
    want.sort_by_key(|b| (b.created_at, b.id.0));
    want.reverse();
    assert_eq!(ids, want.iter().map(|b| b.id).collect::<Vec<_>>());
    let live = db
        .list_live_blogs(Some(LiveBlogStatus::Live), &PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(live.items.len(), 1);
    assert_eq!(
        db.count_live_blogs(Some(LiveBlogStatus::Live))
            .await
            .expect("count"),
        1
    );
    assert_eq!(db.count_live_blogs(None).await.expect("count"), 2);
    let err = db
        .update_live_blog(
            &LiveBlog {
                id: LiveBlogId::new(),
                ..second
            },
            &[],
        )
        .await
        .expect_err("missing");
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

async fn pinned_entries_of_many_blogs_in_one_statement(db: &TestDb) {
    let a = blog(&**db, "a").await;
    let b = blog(&**db, "b").await;
    let unpinned = blog(&**db, "unpinned").await;
    for (blog, pins) in [(&a, [false, true, false]), (&b, [true, false, false])] {
        for (n, pinned) in pins.into_iter().enumerate() {
            let e = entry(blog, n as i64, pinned);
            db.insert_live_entry(&e, &[]).await.expect("insert");
        }
    }
    db.insert_live_entry(&entry(&unpinned, 0, false), &[])
        .await
        .expect("insert");
    let blogs = [a.id, b.id, unpinned.id, LiveBlogId::new()];
    let before = statements(&**db);
    let pinned = db.pinned_entries(&blogs).await.expect("pinned");
    assert_eq!(statements(&**db) - before, 1, "one statement");
    assert_eq!(pinned.len(), 2, "{pinned:?}");
    for id in blogs {
        let one = db.pinned_entry(id).await.expect("pinned");
        let batched = pinned.iter().find(|e| e.live_blog_id == id);
        assert_eq!(batched, one.as_ref(), "blog {id}");
    }
    assert_eq!(db.pinned_entries(&[]).await.expect("none"), []);
}

async fn key_events_of_many_blogs_in_one_statement(db: &TestDb) {
    let a = blog(&**db, "a").await;
    let b = blog(&**db, "b").await;
    let few = blog(&**db, "few").await;
    let none = blog(&**db, "none").await;
    // Every third entry is a key event: a and b get 0, 3, ..., 18 (seven).
    for n in 0..20 {
        for blog in [&a, &b] {
            db.insert_live_entry(&entry(blog, n, false), &[])
                .await
                .expect("insert");
        }
    }
    // Two key events posted at the same moment: the id breaks the tie.
    let tied: Vec<_> = (0..2)
        .map(|_| LiveEntry {
            id: LiveEntryId::new(),
            ..entry(&few, 3, false)
        })
        .collect();
    for e in &tied {
        db.insert_live_entry(e, &[]).await.expect("insert");
    }
    db.insert_live_entry(&entry(&none, 1, false), &[])
        .await
        .expect("insert");
    let blogs = [a.id, b.id, few.id, none.id, LiveBlogId::new()];
    for per_blog in [0, 1, 3, 7, 10] {
        let before = statements(&**db);
        let found = db.key_events(&blogs, per_blog).await.expect("key events");
        assert!(statements(&**db) - before <= 1, "one statement");
        let mut by_blog: HashMap<LiveBlogId, Vec<LiveEntry>> = HashMap::new();
        for e in found {
            by_blog.entry(e.live_blog_id).or_default().push(e);
        }
        for id in blogs {
            let want = db
                .live_entries(id, true, &PageRequest::first(per_blog))
                .await
                .expect("entries");
            let want: Vec<_> = want.items.into_iter().map(|(_, e)| e).collect();
            let got = by_blog.remove(&id).unwrap_or_default();
            assert_eq!(got, want, "blog {id}, {per_blog} per blog");
        }
    }
    let mut newest_first = tied.clone();
    newest_first.sort_by_key(|e| std::cmp::Reverse(e.id.0));
    let found = db.key_events(&[few.id], 10).await.expect("key events");
    assert_eq!(found, newest_first, "ties newest id first");
    assert_eq!(db.key_events(&[], 3).await.expect("none"), []);
}
