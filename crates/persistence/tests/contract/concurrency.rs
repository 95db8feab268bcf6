//! The event log under concurrent writers, on the databases that have them
//! (a SQLite file with a pool of connections, PostgreSQL): sequence numbers
//! stay gap-free and duplicate-free, and the log reads back in their order;
//! two nodes racing to publish one article publish it once.

use std::collections::HashSet;

use domain::Error;
use domain::events::{Event, EventRecord, Stream};
use domain::ports::{ArticleRepository, EventLog, LiveBlogRepository};
use persistence::Database;

use crate::fixtures::*;
use crate::harness::{self, SqliteFile};

const WRITERS: i64 = 30;

async fn sqlite_file(file: &SqliteFile) -> Database {
    let db = Database::connect(&file.url()).await.expect("open file");
    db.migrate().await.expect("migrate");
    db
}

/// `WRITERS` tasks post to one blog at once.
async fn concurrent_posts_number_without_gaps(db: &Database) {
    let night = blog(db, "night").await;
    let stream = Stream::LiveBlog(night.id);
    let tasks: Vec<_> = (0..WRITERS)
        .map(|n| {
            let db = db.clone();
            let e = entry(&night, n, false);
            tokio::spawn(async move {
                let event = Event::LiveEntryPosted { entry: e.clone() };
                let records = db.insert_live_entry(&e, &[event]).await?;
                Ok::<_, Error>((e, records))
            })
        })
        .collect();
    let mut returned: Vec<EventRecord> = Vec::new();
    let mut posted = HashSet::new();
    for task in tasks {
        let (e, records) = task.await.expect("task").expect("post succeeds");
        assert_eq!(records.len(), 1);
        posted.insert(e.id);
        returned.extend(records);
    }
    let mut numbers: Vec<i64> = returned.iter().map(|r| r.seq).collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=WRITERS).collect::<Vec<_>>(),
        "no gap, no repeat"
    );

    let log = db.events_after(&stream, 0, 100).await.expect("log");
    assert_eq!(
        log.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=WRITERS).collect::<Vec<_>>(),
        "the log reads back in sequence order"
    );
    let logged: HashSet<_> = log
        .iter()
        .map(|r| match &r.event {
            Event::LiveEntryPosted { entry } => entry.id,
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert_eq!(logged, posted, "every post once");
    returned.sort_by_key(|r| r.seq);
    assert_eq!(log, returned, "each writer was told what was committed");
    assert_eq!(db.latest_seq(&stream).await.expect("latest"), WRITERS);
}

/// Two nodes (two pools on one database) race to publish the same
/// scheduled articles, as the publishing workers do: each article is
/// published once, with its events once.
async fn racing_publishers_publish_once(node_a: &Database, node_b: &Database) {
    let section = section(node_a, "domestic-policies").await;
    let mut articles = Vec::new();
    for i in 0..8 {
        articles.push(store(node_a, draft(section.id, &format!("due-{i}")), &[]).await);
    }
    let tasks: Vec<_> = articles
        .iter()
        .flat_map(|article| [node_a.clone(), node_b.clone()].map(|db| (db, article.clone())))
        .map(|(db, article)| {
            tokio::spawn(async move {
                let version = article.version + 1;
                let events = [Event::ArticlePublished {
                    article_id: article.id,
                    section_id: article.section_id,
                    version,
                }];
                let now = published(article.clone(), t0());
                db.update_article(&now, None, article.version, &events)
                    .await
            })
        })
        .collect();
    let (mut won, mut lost) = (0, 0);
    for task in tasks {
        match task.await.expect("task") {
            Ok((_, records)) => {
                assert_eq!(records.len(), 1);
                won += 1;
            }
            Err(Error::Conflict(_)) => lost += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!((won, lost), (articles.len(), articles.len()));
    let log = node_b
        .events_after(&Stream::Articles, 0, 100)
        .await
        .expect("log");
    assert_eq!(
        log.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=articles.len() as i64).collect::<Vec<_>>()
    );
    let ids: HashSet<_> = log
        .iter()
        .map(|r| match r.event {
            Event::ArticlePublished { article_id, .. } => article_id,
            ref other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert_eq!(ids.len(), articles.len(), "each article published once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_concurrent_posts_number_without_gaps() {
    let file = SqliteFile::new();
    concurrent_posts_number_without_gaps(&sqlite_file(&file).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_posts_number_without_gaps() {
    let Some(db) = harness::postgres().await else {
        return;
    };
    concurrent_posts_number_without_gaps(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_racing_publishers_publish_once() {
    let file = SqliteFile::new();
    let a = sqlite_file(&file).await;
    let b = sqlite_file(&file).await;
    racing_publishers_publish_once(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_racing_publishers_publish_once() {
    let Some((url, _drop)) = harness::postgres_database().await else {
        return;
    };
    let a = Database::connect(&url).await.expect("node a");
    a.migrate().await.expect("migrate");
    let b = Database::connect(&url).await.expect("node b");
    b.migrate().await.expect("no-op migrate");
    racing_publishers_publish_once(&a, &b).await;
    drop((a, b));
}
