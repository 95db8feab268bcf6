//! The live-blog widget in a real browser: Debian's headless Chromium,
//! driven over WebDriver (chromedriver) with fantoccini, against the real
//! server. Entries posted, edited and deleted through the API show in the
//! widget within seconds, and an entry posted while the server restarts
//! appears once the widget has reconnected; GraphiQL, served from the
//! binary alone, loads and runs its default query. Screenshots are kept in
//! `target/browser-artifacts/`.
//!
//! Needs `chromium` and `chromium-driver` (`.ci/run` installs them); without
//! them the test skips, unless `POLITMASTER_REQUIRE_SERVICES=1`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{Backend, Options, TestApp, data, spawn_app};
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use crate::delivery_support::{live_blog, post};

/// How long the widget may take to show a change.
const WITHIN: Duration = Duration::from_secs(10);

/// chromedriver on a port of its own, stopped when dropped.
struct Driver {
    process: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn driver() -> Option<Driver> {
    let port = free_port();
    let process = match Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(process) => process,
        Err(error) if !e2e::services_required() => {
            eprintln!(
                "SKIPPED: chromedriver is not installed ({error}); set POLITMASTER_REQUIRE_SERVICES=1 to fail instead"
            );
            return None;
        }
        Err(error) => panic!("chromedriver is required: {error}"),
    };
    let driver = Driver {
        process,
        url: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(driver)
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=800,1100"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

/// Runs `script` in the page until it returns `true`, or fails after
/// [`WITHIN`] with `what`.
async fn until(client: &Client, script: &str, what: &str) {
    let started = Instant::now();
    loop {
        let value = client
            .execute(script, Vec::new())
            .await
            .expect("the script runs");
        if value == Value::Bool(true) {
            return;
        }
        assert!(started.elapsed() < WITHIN, "{what}: not within {WITHIN:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The page's entries' texts, newest first.
async fn entries(client: &Client) -> Vec<String> {
    let texts = client
        .execute(
            "return Array.from(document.querySelectorAll('.pm-entries > .pm-entry .pm-body'))\
               .filter(e => !e.closest('.pm-pinned')).map(e => e.textContent.trim());",
            Vec::new(),
        )
        .await
        .expect("the script runs");
    serde_json::from_value(texts).expect("texts")
}

fn has_entry(text: &str) -> String {
    format!(
        "return Array.from(document.querySelectorAll('.pm-body')).some(e => e.textContent.includes({}));",
        json!(text)
    )
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser-artifacts");
    std::fs::create_dir_all(&dir).expect("the artifacts folder");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_follows_a_live_blog_through_a_restart() {
    let Some(driver) = driver().await else {
        return;
    };
    let mut app: TestApp = spawn_app(Backend::Sqlite, Options::default())
        .await
        .expect("SQLite is always available");
    let blog = live_blog(&app, "Election night").await;
    post(&app, &blog, "Polls have closed.").await;
    let slug = app
        .query(
            "query($id: ID!) { liveBlog(id: $id) { slug } }",
            json!({ "id": blog }),
        )
        .await;
    let slug = data(&slug)["liveBlog"]["slug"]
        .as_str()
        .expect("a slug")
        .to_owned();

    let client = browser(&driver).await;
    client
        .goto(&app.url(&format!("/embed/live/{slug}")))
        .await
        .expect("the widget loads");
    until(
        &client,
        "return document.querySelector('.pm-live').dataset.connection === 'up';",
        "connected",
    )
    .await;
    assert_eq!(entries(&client).await, ["Polls have closed."]);

    // Posted, edited, deleted through the API: shown in place.
    let first = post(&app, &blog, "First exit poll: a dead heat.").await;
    until(&client, &has_entry("First exit poll"), "a new entry").await;
    assert_eq!(
        entries(&client).await[0],
        "First exit poll: a dead heat.",
        "newest first"
    );
    let edited = app
        .as_editor(
            "mutation($i: EditLiveEntryInput!) { editLiveEntry(input: $i) { id } }",
            json!({ "i": { "id": first, "body": "<p>First exit poll: the governing party leads.</p>" } }),
        )
        .await;
    data(&edited);
    until(&client, &has_entry("the governing party leads"), "the edit").await;
    screenshot(&client, "widget-live").await;
    let deleted = app
        .as_editor(
            "mutation($id: ID!) { deleteLiveEntry(id: $id) }",
            json!({ "id": first }),
        )
        .await;
    data(&deleted);
    let gone = format!("return !(() => {{ {} }})();", has_entry("exit poll"));
    until(&client, &gone, "the deletion").await;

    // A restart, with an entry posted while the server is down: the widget
    // shows it once it has reconnected.
    let desk = app.command_line().await;
    let editor = desk
        .caller_for_token(&app.editor_token)
        .await
        .expect("the editor's token");
    let blog_id = desk
        .live_blog_by_slug(&slug)
        .await
        .expect("read")
        .expect("the blog")
        .id;
    let down = "return document.querySelector('.pm-live').dataset.connection === 'down';";
    app.restart(async {
        until(&client, down, "noticed the restart").await;
        let input = domain::inputs::PostLiveEntryInput {
            live_blog: blog_id,
            body: "<p>Posted during the restart.</p>".to_owned(),
            author: None,
            key_event: false,
            pinned: false,
            media: Vec::new(),
        };
        desk.post_live_entry(&editor, input).await.expect("posted");
    })
    .await;
    until(
        &client,
        &has_entry("Posted during the restart."),
        "the entry posted during the restart",
    )
    .await;
    assert_eq!(
        entries(&client).await,
        ["Posted during the restart.", "Polls have closed."],
        "nothing lost, nothing twice"
    );
    screenshot(&client, "widget-after-restart").await;

    // GraphiQL, from the binary alone: it loads and runs its default query.
    client
        .goto(&app.url("/graphiql"))
        .await
        .expect("GraphiQL loads");
    until(
        &client,
        "return !!document.querySelector('.graphiql-execute-button');",
        "GraphiQL's editor",
    )
    .await;
    client
        .execute(
            "document.querySelector('.graphiql-execute-button').click();",
            Vec::new(),
        )
        .await
        .expect("run");
    until(
        &client,
        "const r = document.querySelector('.result-window'); \
         return !!r && r.textContent.includes('\"data\"') && r.textContent.includes('Election night');",
        "the default query's result",
    )
    .await;
    screenshot(&client, "graphiql").await;
    client.close().await.expect("the browser closes");
    app.stop().await;
}
