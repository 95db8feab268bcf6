//! Sections, authors, breaking news, tokens, health; and SQLite files under
//! concurrent writers.

use chrono::Duration;
use domain::auth::{Role, StoredToken, hash_token};
use domain::ids::{ArticleId, BreakingNewsId, TokenId};
use domain::live::{BreakingLink, BreakingNews, BreakingPriority};
use domain::ports::{
    ArticleRepository, AuthorRepository, BreakingNewsRepository, SectionRepository, Store,
    TagRepository, TokenRepository,
};
use domain::text::WebUrl;
use domain::{Error, Visibility, clock};
use persistence::Database;

use crate::fixtures::*;
use crate::harness::TestDb;

contract!(
    sections_are_ensured_once,
    authors_update_and_clash,
    active_breaking_news_excludes_retracted_and_expired,
    revoked_tokens_stop_authenticating,
    tokens_stop_authenticating_when_they_expire,
    ping_answers_and_statements_are_counted,
);

async fn sections_are_ensured_once(db: &TestDb) {
    let mut made = Vec::new();
    for new in domain::content::standard_sections() {
        made.push(db.ensure_section(&new).await.expect("ensure"));
    }
    for new in domain::content::standard_sections() {
        let again = db.ensure_section(&new).await.expect("ensure again");
        assert!(made.contains(&again));
    }
    let listed = db.sections().await.expect("sections");
    assert_eq!(listed, made, "navigation order");
    let ids: Vec<_> = made.iter().rev().take(2).map(|s| s.id).collect();
    assert_eq!(db.sections_by_ids(&ids).await.expect("by ids").len(), 2);
    assert!(db.sections_by_ids(&[]).await.expect("none").is_empty());
    assert_eq!(
        db.section_by_slug(&slug("legislative-updates"))
            .await
            .expect("by slug"),
        made.last().cloned()
    );
}

async fn authors_update_and_clash(db: &TestDb) {
    let anna = author(&**db, "Anna").await;
    let bob = author(&**db, "Bob").await;
    let mut edit = anna.clone();
    edit.title = "Senior analyst".into();
    edit.avatar_url = None;
    db.update_author(&edit).await.expect("update");
    assert_eq!(
        db.author_by_id(anna.id).await.expect("read"),
        Some(edit.clone())
    );
    assert_eq!(
        db.author_by_slug(&slug("anna")).await.expect("read"),
        Some(edit.clone())
    );

    edit.slug = bob.slug.clone();
    let err = db.update_author(&edit).await.expect_err("slug clash");
    assert!(
        matches!(err, Error::Conflict(ref m) if m.contains("`bob`")),
        "{err:?}"
    );
    let err = db.insert_author(&bob).await.expect_err("insert clash");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let ghost = domain::content::Author {
        id: domain::ids::AuthorId::new(),
        slug: slug("ghost"),
        ..bob.clone()
    };
    let err = db.update_author(&ghost).await.expect_err("missing");
    assert!(matches!(err, Error::NotFound("author")), "{err:?}");
    assert_eq!(
        db.authors_by_ids(&[anna.id, bob.id, ghost.id])
            .await
            .expect("ids")
            .len(),
        2
    );
}

fn alert(headline: &str, issued: chrono::DateTime<chrono::Utc>) -> BreakingNews {
    BreakingNews {
        id: BreakingNewsId::new(),
        headline: headline.into(),
        link: None,
        priority: BreakingPriority::High,
        issued_at: issued,
        expires_at: None,
        retracted_at: None,
    }
}

async fn active_breaking_news_excludes_retracted_and_expired(db: &TestDb) {
    let section = section(&**db, "domestic-policies").await;
    let article = store(&**db, published(draft(section.id, "linked"), t0()), &[]).await;
    let now = t0();
    let old = BreakingNews {
        link: Some(BreakingLink::Url(
            WebUrl::parse("https://example.org/x").expect("url"),
        )),
        ..alert("Old", now - Duration::hours(2))
    };
    let linked = BreakingNews {
        link: Some(BreakingLink::Article(article.id)),
        priority: BreakingPriority::Urgent,
        expires_at: Some(now + Duration::hours(1)),
        ..alert("Linked", now - Duration::minutes(1))
    };
    let expired = BreakingNews {
        expires_at: Some(now),
        ..alert("Expired", now - Duration::hours(1))
    };
    let mut retracted = alert("Retracted", now);
    for a in [&old, &linked, &expired, &retracted] {
        db.insert_breaking_news(a, &[]).await.expect("insert");
    }
    retracted.retracted_at = Some(now);
    db.update_breaking_news(&retracted, &[])
        .await
        .expect("retract");

    let active = db.active_breaking_news(now).await.expect("active");
    assert_eq!(active, vec![linked.clone(), old.clone()]);
    assert_eq!(
        db.breaking_news_by_id(retracted.id).await.expect("read"),
        Some(retracted)
    );

    let err = db
        .insert_breaking_news(
            &BreakingNews {
                link: Some(BreakingLink::Article(ArticleId::new())),
                ..alert("Dangling", now)
            },
            &[],
        )
        .await
        .expect_err("no such article");
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    let err = db
        .update_breaking_news(&alert("Missing", now), &[])
        .await
        .expect_err("missing");
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");

    // Deleting the article keeps the alert, without its link.
    assert!(db.delete_article(article.id).await.expect("delete"));
    let kept = db
        .breaking_news_by_id(linked.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(kept.link, None);
}

async fn revoked_tokens_stop_authenticating(db: &TestDb) {
    let token = |name: &str, secret: &str| StoredToken {
        id: TokenId::new(),
        name: name.into(),
        role: Role::Editor,
        hash: hash_token(secret),
        created_at: clock::now(),
        expires_at: None,
    };
    let desk = token("desk", "pm_one");
    db.insert_token(&desk).await.expect("insert");
    db.insert_token(&token("desk", "pm_two"))
        .await
        .expect("insert");
    db.insert_token(&StoredToken {
        role: Role::Admin,
        ..token("chief", "pm_three")
    })
    .await
    .expect("insert");
    let err = db
        .insert_token(&token("again", "pm_one"))
        .await
        .expect_err("same hash");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");

    let now = clock::now();
    let principal = db
        .principal_by_token_hash(&hash_token("pm_one"), now)
        .await
        .expect("lookup")
        .expect("known");
    assert_eq!(
        (principal.token_id, principal.name.as_str(), principal.role),
        (desk.id, "desk", Role::Editor)
    );
    assert_eq!(
        db.principal_by_token_hash("nope", now)
            .await
            .expect("lookup"),
        None
    );

    let chief_id = db
        .principal_by_token_hash(&hash_token("pm_three"), now)
        .await
        .expect("lookup")
        .expect("known")
        .token_id;
    let mut both = vec![desk.id, chief_id];
    both.sort();
    let mut active = db.active_tokens(&both, now).await.expect("active");
    active.sort();
    assert_eq!(active, both);

    assert_eq!(db.revoke_tokens("desk").await.expect("revoke"), 2);
    assert_eq!(db.revoke_tokens("desk").await.expect("revoke again"), 0);
    assert_eq!(
        db.principal_by_token_hash(&hash_token("pm_one"), now)
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        db.active_tokens(&both, now).await.expect("active"),
        vec![chief_id],
        "the revoked token is no longer active"
    );
    let chief = db
        .principal_by_token_hash(&hash_token("pm_three"), now)
        .await
        .expect("lookup")
        .expect("unaffected");
    assert_eq!(chief.role, Role::Admin);
}

async fn tokens_stop_authenticating_when_they_expire(db: &TestDb) {
    let now = clock::now();
    let night = StoredToken {
        id: TokenId::new(),
        name: "election-night".into(),
        role: Role::Editor,
        hash: hash_token("pm_night"),
        created_at: now,
        expires_at: Some(now + Duration::hours(1)),
    };
    db.insert_token(&night).await.expect("insert");
    let hash = hash_token("pm_night");
    let before = now + Duration::minutes(59);
    let after = now + Duration::minutes(61);
    assert!(
        db.principal_by_token_hash(&hash, before)
            .await
            .expect("lookup")
            .is_some()
    );
    assert_eq!(
        db.active_tokens(&[night.id], before).await.expect("active"),
        vec![night.id]
    );
    assert_eq!(
        db.principal_by_token_hash(&hash, after)
            .await
            .expect("lookup"),
        None,
        "expired"
    );
    assert!(
        db.active_tokens(&[night.id], after)
            .await
            .expect("active")
            .is_empty()
    );
}

async fn ping_answers_and_statements_are_counted(db: &TestDb) {
    let before = db.statements_executed();
    db.ping().await.expect("ping");
    assert_eq!(db.statements_executed(), before + 1);
    let clone = (**db).clone();
    clone.ping().await.expect("ping");
    assert_eq!(
        db.statements_executed(),
        before + 2,
        "clones share the counter"
    );
}

/// A file database serves concurrent writers without SQLITE_BUSY failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_file_takes_concurrent_writers() {
    let path = std::env::temp_dir().join(format!("pm-{}.db", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = Database::connect(&url).await.expect("open file");
    db.migrate().await.expect("migrate");
    let section = section(&db, "domestic-policies").await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let article = published(draft(section.id, &format!("c-{i}")), t0());
            db.insert_article(&article, &tags(&["Shared", &format!("Own {i}")]))
                .await?;
            let mut edit = db
                .article(article.id, Visibility::Desk)
                .await?
                .expect("just written");
            edit.headline = format!("Edited {i}");
            db.update_article(&edit, Some(&tags(&["Shared"])), edit.version, &[])
                .await
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("write succeeds");
    }
    // A second pool on the same file sees everything and migrates as a no-op.
    let other = Database::connect(&url).await.expect("reopen");
    other.migrate().await.expect("no-op migrate");
    assert_eq!(
        other.count_tags(None).await.expect("count"),
        25,
        "one shared tag, one own tag each"
    );
    drop((db, other));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// `down` undoes every step, and `up` after it rebuilds the same schema:
/// the development loop works on both databases.
#[tokio::test]
async fn migrations_roll_back_and_forward() {
    use migration::{Migrator, MigratorTrait};

    let path = std::env::temp_dir().join(format!("pm-{}.db", uuid::Uuid::new_v4().simple()));
    let sqlite = format!("sqlite://{}?mode=rwc", path.display());
    let postgres = crate::harness::postgres_database().await;
    let mut urls = vec![sqlite];
    urls.extend(postgres.as_ref().map(|(url, _)| url.clone()));
    for url in urls {
        let conn = sea_orm::Database::connect(url.as_str())
            .await
            .expect("connect");
        Migrator::up(&conn, None).await.expect("up");
        Migrator::down(&conn, None).await.expect("down");
        Migrator::up(&conn, None).await.expect("up again");
        conn.close().await.expect("close");
        let db = Database::connect(&url).await.expect("open");
        db.migrate().await.expect("nothing pending");
        let section = section(&db, "domestic-policies").await;
        let article = published(draft(section.id, "after-rollback"), t0());
        store(&db, article, &["Search"]).await;
        assert_eq!(
            db.count_search(&domain::ports::SearchQuery {
                text: "headline".into(),
                filter: Default::default(),
                visibility: Visibility::Public,
            })
            .await
            .expect("search"),
            1,
            "full-text search works after a rebuild: {url}"
        );
    }
    drop(postgres);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
