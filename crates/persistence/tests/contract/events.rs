//! The event log: what a write appends, in the write's transaction, and
//! what a subscription reads back.

use chrono::Duration;
use domain::Error;
use domain::clock;
use domain::content::Article;
use domain::events::{Event, EventRecord, Stream};
use domain::ids::{BreakingNewsId, LiveBlogId, LiveEntryId};
use domain::live::{BreakingLink, BreakingNews, BreakingPriority, LiveBlog, LiveBlogStatus};
use domain::ports::{ArticleRepository, BreakingNewsRepository, EventLog, LiveBlogRepository};
use domain::text::WebUrl;

use crate::fixtures::*;
use crate::harness::TestDb;

contract!(
    sequences_count_per_stream,
    failed_writes_append_nothing,
    events_after_honours_after_and_limit,
    latest_seqs_read_many_streams_in_one_statement,
    snapshots_survive_later_edits_and_deletion,
);

fn posted(entry: &domain::live::LiveEntry) -> Event {
    Event::LiveEntryPosted {
        entry: entry.clone(),
    }
}

fn updated(article: &Article, version: i32) -> Event {
    Event::ArticleUpdated {
        article_id: article.id,
        section_id: article.section_id,
        version,
    }
}

fn alert(headline: &str) -> BreakingNews {
    BreakingNews {
        id: BreakingNewsId::new(),
        headline: headline.into(),
        link: Some(BreakingLink::Url(
            WebUrl::parse("https://example.org/alert").expect("url"),
        )),
        priority: BreakingPriority::Urgent,
        issued_at: clock::now(),
        expires_at: Some(clock::now() + Duration::hours(1)),
        retracted_at: None,
    }
}

fn seqs(records: &[EventRecord]) -> Vec<i64> {
    records.iter().map(|r| r.seq).collect()
}

async fn log(db: &TestDb, stream: Stream) -> Vec<EventRecord> {
    db.events_after(&stream, 0, 1000).await.expect("read log")
}

async fn sequences_count_per_stream(db: &TestDb) {
    let a = blog(&**db, "a").await;
    let b = blog(&**db, "b").await;
    let (sa, sb) = (Stream::LiveBlog(a.id), Stream::LiveBlog(b.id));
    let mut written = Vec::new();
    let mut posts = Vec::new();
    for n in 0..3 {
        let e = entry(&a, n, false);
        posts.push(e.clone());
        let records = db.insert_live_entry(&e, &[posted(&e)]).await.expect("post");
        assert_eq!(seqs(&records), [n + 1]);
        assert_eq!(records[0].stream, sa);
        assert_eq!(records[0].event, posted(&e));
        written.extend(records);
        if n < 2 {
            let e = entry(&b, n, false);
            let records = db.insert_live_entry(&e, &[posted(&e)]).await.expect("post");
            assert_eq!(seqs(&records), [n + 1], "blog b counts on its own");
        }
    }
    // Every kind of write continues its stream's sequence.
    let mut live = a.clone();
    live.transition(LiveBlogStatus::Live, clock::now())
        .expect("go live");
    let status = Event::LiveBlogStatusChanged { blog: live.clone() };
    written.extend(db.update_live_blog(&live, &[status]).await.expect("status"));
    let mut pinned = posts[0].clone();
    pinned.pinned = true;
    let pin = Event::LiveEntryPinned {
        entry: pinned.clone(),
    };
    written.extend(db.update_live_entry(&pinned, &[pin]).await.expect("pin"));
    let deleted = Event::LiveEntryDeleted {
        live_blog_id: a.id,
        entry_id: pinned.id,
    };
    written.extend(
        db.delete_live_entry(pinned.id, &[deleted])
            .await
            .expect("delete"),
    );
    assert_eq!(seqs(&written), [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        log(db, sa).await,
        written,
        "the log holds what was returned"
    );
    assert_eq!(db.latest_seq(&sa).await.expect("latest"), 6);
    assert_eq!(db.latest_seq(&sb).await.expect("latest"), 2);

    let mut issued = alert("First");
    let ev = Event::BreakingNewsIssued {
        alert: issued.clone(),
    };
    let first = db
        .insert_breaking_news(&issued, &[ev])
        .await
        .expect("issue");
    issued.retracted_at = Some(clock::now());
    let ev = Event::BreakingNewsRetracted {
        alert: issued.clone(),
    };
    let second = db
        .update_breaking_news(&issued, &[ev])
        .await
        .expect("retract");
    assert_eq!((seqs(&first), seqs(&second)), (vec![1], vec![2]));
    assert_eq!(second[0].stream, Stream::Breaking);

    // One write with two events of a stream takes two numbers, in order.
    let section = section(&**db, "domestic-policies").await;
    let article = store(&**db, draft(section.id, "news"), &[]).await;
    let v = article.version + 1;
    let events = [
        updated(&article, v),
        Event::ArticlePublished {
            article_id: article.id,
            section_id: section.id,
            version: v,
        },
    ];
    let (_, records) = db
        .update_article(
            &published(article.clone(), t0()),
            None,
            article.version,
            &events,
        )
        .await
        .expect("publish");
    assert_eq!(seqs(&records), [1, 2]);
    assert_eq!(
        records.iter().map(|r| &r.event).collect::<Vec<_>>(),
        events.iter().collect::<Vec<_>>()
    );
    assert_eq!(log(db, Stream::Articles).await, records);
    assert_eq!(db.latest_seq(&Stream::Articles).await.expect("latest"), 2);
}

async fn failed_writes_append_nothing(db: &TestDb) {
    let night = blog(&**db, "night").await;
    let stream = Stream::LiveBlog(night.id);
    let section = section(&**db, "domestic-policies").await;
    let article = store(&**db, draft(section.id, "versioned"), &[]).await;

    // Writes without events append nothing, and create no counter.
    let quiet = entry(&night, 0, false);
    assert!(
        db.insert_live_entry(&quiet, &[])
            .await
            .expect("post")
            .is_empty()
    );
    let (saved, none) = db
        .update_article(&article, None, article.version, &[])
        .await
        .expect("edit");
    assert!(none.is_empty());
    assert_eq!(db.latest_seq(&stream).await.expect("latest"), 0);
    assert_eq!(db.latest_seq(&Stream::Articles).await.expect("latest"), 0);

    // A stale version is a conflict, and its event is not appended.
    let err = db
        .update_article(&article, None, article.version, &[updated(&article, 2)])
        .await
        .expect_err("stale");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let err = db
        .update_article(
            &draft(section.id, "ghost"),
            None,
            1,
            &[updated(&article, 2)],
        )
        .await
        .expect_err("missing");
    assert!(matches!(err, Error::NotFound("article")), "{err:?}");
    assert_eq!(db.latest_seq(&Stream::Articles).await.expect("latest"), 0);
    assert!(log(db, Stream::Articles).await.is_empty());

    // Deleting, editing or posting what cannot be written appends nothing.
    let gone = Event::LiveEntryDeleted {
        live_blog_id: night.id,
        entry_id: LiveEntryId::new(),
    };
    let err = db
        .delete_live_entry(LiveEntryId::new(), &[gone])
        .await
        .expect_err("missing entry");
    assert!(matches!(err, Error::NotFound("live entry")), "{err:?}");
    let ghost = entry(&night, 1, false);
    let edit = Event::LiveEntryEdited {
        entry: ghost.clone(),
    };
    let err = db
        .update_live_entry(&ghost, &[edit])
        .await
        .expect_err("missing entry");
    assert!(matches!(err, Error::NotFound("live entry")), "{err:?}");
    let mut bad_author = entry(&night, 2, false);
    bad_author.author_id = Some(domain::ids::AuthorId::new());
    let err = db
        .insert_live_entry(&bad_author, &[posted(&bad_author)])
        .await
        .expect_err("bad author");
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    let elsewhere = LiveBlog {
        id: LiveBlogId::new(),
        ..night.clone()
    };
    let status = Event::LiveBlogStatusChanged {
        blog: elsewhere.clone(),
    };
    let err = db
        .update_live_blog(&elsewhere, &[status])
        .await
        .expect_err("missing blog");
    assert!(matches!(err, Error::NotFound("live blog")), "{err:?}");
    assert_eq!(db.latest_seq(&stream).await.expect("latest"), 0);
    assert!(log(db, stream).await.is_empty());

    let missing = alert("Missing");
    let retract = Event::BreakingNewsRetracted {
        alert: missing.clone(),
    };
    let err = db
        .update_breaking_news(&missing, &[retract])
        .await
        .expect_err("missing alert");
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(db.latest_seq(&Stream::Breaking).await.expect("latest"), 0);

    // No number was used up: the next good writes start at 1.
    let (_, records) = db
        .update_article(&saved, None, saved.version, &[updated(&saved, 3)])
        .await
        .expect("edit");
    assert_eq!(seqs(&records), [1]);
    let e = entry(&night, 3, false);
    let records = db.insert_live_entry(&e, &[posted(&e)]).await.expect("post");
    assert_eq!(seqs(&records), [1]);
}

async fn events_after_honours_after_and_limit(db: &TestDb) {
    let night = blog(&**db, "night").await;
    let stream = Stream::LiveBlog(night.id);
    let other = Stream::LiveBlog(blog(&**db, "other").await.id);
    assert_eq!(db.latest_seq(&stream).await.expect("latest"), 0);
    assert!(log(db, stream).await.is_empty());
    for n in 0..10 {
        let e = entry(&night, n, false);
        db.insert_live_entry(&e, &[posted(&e)]).await.expect("post");
    }
    let page = |after, limit| async move {
        seqs(
            &db.events_after(&stream, after, limit)
                .await
                .expect("events"),
        )
    };
    assert_eq!(page(0, 3).await, [1, 2, 3]);
    assert_eq!(page(3, 3).await, [4, 5, 6]);
    assert_eq!(page(7, 100).await, [8, 9, 10]);
    assert_eq!(page(9, 5).await, [10]);
    assert!(page(10, 5).await.is_empty());
    assert!(page(0, 0).await.is_empty());
    assert_eq!(db.latest_seq(&stream).await.expect("latest"), 10);
    assert_eq!(db.latest_seq(&other).await.expect("latest"), 0);
    assert!(log(db, other).await.is_empty(), "streams do not mix");
}

async fn snapshots_survive_later_edits_and_deletion(db: &TestDb) {
    let night = blog(&**db, "night").await;
    let stream = Stream::LiveBlog(night.id);
    let reporter = author(&**db, "Anna").await;
    let mut e = entry(&night, 1, true);
    e.author_id = Some(reporter.id);
    e.body = domain::html::SafeHtml::clean(
        "<p>Polls <strong>close</strong> — «ça bouge» <a href=\"https://example.org\">here</a></p>",
    )
    .expect("body");
    db.insert_live_entry(&e, &[posted(&e)]).await.expect("post");
    let first = e.clone();
    e.body = domain::html::SafeHtml::clean("<p>Corrected</p>").expect("body");
    e.edited_at = Some(clock::now());
    let edited = Event::LiveEntryEdited { entry: e.clone() };
    db.update_live_entry(&e, &[edited]).await.expect("edit");
    let deleted = Event::LiveEntryDeleted {
        live_blog_id: night.id,
        entry_id: e.id,
    };
    db.delete_live_entry(e.id, &[deleted])
        .await
        .expect("delete");

    let records = log(db, stream).await;
    assert_eq!(seqs(&records), [1, 2, 3]);
    assert_eq!(records[0].event, posted(&first), "the entry as posted");
    assert_eq!(
        records[1].event,
        Event::LiveEntryEdited { entry: e.clone() }
    );
    assert!(matches!(
        records[2].event,
        Event::LiveEntryDeleted { entry_id, .. } if entry_id == e.id
    ));
    assert!(
        records
            .windows(2)
            .all(|w| w[0].occurred_at <= w[1].occurred_at),
        "occurred_at follows the sequence"
    );

    let issued = alert("Polls closed");
    let ev = Event::BreakingNewsIssued {
        alert: issued.clone(),
    };
    let written = db
        .insert_breaking_news(&issued, &[ev])
        .await
        .expect("issue");
    assert_eq!(log(db, Stream::Breaking).await, written);
}

async fn latest_seqs_read_many_streams_in_one_statement(db: &TestDb) {
    let a = blog(&**db, "a").await;
    let b = blog(&**db, "b").await;
    let quiet = blog(&**db, "quiet").await;
    for n in 0..3 {
        let e = entry(&a, n, false);
        db.insert_live_entry(&e, &[posted(&e)]).await.expect("post");
    }
    let e = entry(&b, 0, false);
    db.insert_live_entry(&e, &[posted(&e)]).await.expect("post");
    let streams = [
        Stream::LiveBlog(a.id),
        Stream::LiveBlog(b.id),
        Stream::LiveBlog(quiet.id),
        Stream::LiveBlog(LiveBlogId::new()),
        Stream::Breaking,
    ];
    let before = statements(&**db);
    let mut found = db.latest_seqs(&streams).await.expect("latest");
    assert_eq!(statements(&**db) - before, 1, "one statement");
    found.sort_by_key(|(_, seq)| *seq);
    let found: Vec<_> = found.into_iter().filter(|(_, seq)| *seq != 0).collect();
    assert_eq!(
        found,
        [(Stream::LiveBlog(b.id), 1), (Stream::LiveBlog(a.id), 3)],
        "streams without events are left out or 0"
    );
    for stream in streams {
        let one = db.latest_seq(&stream).await.expect("latest");
        let many = db.latest_seqs(&[stream]).await.expect("latest");
        assert_eq!(many.first().map_or(0, |(_, seq)| *seq), one, "{stream:?}");
    }
    assert_eq!(db.latest_seqs(&[]).await.expect("none"), []);
}
