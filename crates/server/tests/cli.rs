//! The `politmaster` binary as an operator runs it: each test gets its own
//! SQLite file and runs the real executable.

use std::path::PathBuf;
use std::process::{Command, Output};

struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("politmaster-cli-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch { dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_politmaster"))
            .args(args)
            .current_dir(&self.dir)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/cli.db?mode=rwc", self.dir.display()),
            )
            .env_remove("REDIS_URL")
            .env("RUST_LOG", "warn")
            .output()
            .expect("the binary runs")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn migrate_creates_the_database_and_is_repeatable() {
    let scratch = Scratch::new();
    for _ in 0..2 {
        let out = scratch.run(&["migrate"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert!(scratch.dir.join("cli.db").exists());
}

#[test]
fn token_create_prints_a_secret_once_and_revoke_removes_it() {
    let scratch = Scratch::new();
    let out = scratch.run(&["token", "create", "--name", "desk", "--role", "editor"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out).trim().to_owned();
    assert!(
        token.starts_with("pm_") && token.len() == 67,
        "unexpected token {token:?}"
    );

    let db = std::fs::read(scratch.dir.join("cli.db")).expect("database file");
    let stored_in_clear = db.windows(token.len()).any(|w| w == token.as_bytes());
    assert!(!stored_in_clear, "the token secret must not be stored");

    let out = scratch.run(&["token", "revoke", "--name", "desk"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = scratch.run(&["token", "revoke", "--name", "desk"]);
    assert!(
        !out.status.success(),
        "revoking twice should say nothing was revoked"
    );
}

#[test]
fn token_create_rejects_an_unknown_role() {
    let out = Scratch::new().run(&["token", "create", "--name", "desk", "--role", "owner"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("editor"), "{}", stderr(&out));
}

#[test]
fn seed_demo_adds_content_once() {
    let scratch = Scratch::new();
    let first = scratch.run(&["seed", "--demo"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).contains("articles"), "{}", stdout(&first));
    let second = scratch.run(&["seed", "--demo"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("seeded 0 authors, 0 articles"),
        "{}",
        stdout(&second)
    );
}

#[test]
fn seed_bench_generates_the_sizes_asked_for_once() {
    let scratch = Scratch::new();
    let sizes = [
        "seed",
        "--bench",
        "--articles",
        "40",
        "--authors",
        "6",
        "--tags",
        "15",
        "--live-blogs",
        "2",
        "--entries-per-blog",
        "7",
    ];
    let first = scratch.run(&sizes);
    assert!(first.status.success(), "{}", stderr(&first));
    let report = stdout(&first);
    assert!(
        report.starts_with("seeded 6 authors, 40 articles (")
            && report.contains("2 live blogs with 14 entries"),
        "{report}"
    );
    let second = scratch.run(&sizes);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).starts_with("seeded 0 authors, 0 articles (0 drafts), 0 live blogs"),
        "{}",
        stdout(&second)
    );
}

#[test]
fn schema_check_passes_for_the_checked_in_file_and_fails_for_a_stale_one() {
    let scratch = Scratch::new();
    let checked_in = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema.graphql");
    let out = scratch.run(&["schema", "--check", "--path", checked_in]);
    assert!(
        out.status.success(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`\n{}",
        stderr(&out)
    );

    let stale = scratch.dir.join("stale.graphql");
    std::fs::write(&stale, "type Query { old: Int }\n").expect("write");
    let out = scratch.run(&[
        "schema",
        "--check",
        "--path",
        stale.to_str().expect("utf-8 path"),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("stale"), "{}", stderr(&out));
}

#[test]
fn schema_prints_the_sdl() {
    let out = Scratch::new().run(&["schema"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sdl = stdout(&out);
    for field in [
        "articles(",
        "search(",
        "liveBlog(",
        "breakingNews",
        "createArticle(",
    ] {
        assert!(sdl.contains(field), "the schema lacks {field}");
    }
}

#[test]
fn token_create_takes_a_lifetime() {
    let scratch = Scratch::new();
    let made = scratch.run(&[
        "token",
        "create",
        "--name",
        "night",
        "--role",
        "editor",
        "--expires-in",
        "12h",
    ]);
    assert!(made.status.success(), "{}", stderr(&made));
    assert!(stderr(&made).contains("until 20"), "{}", stderr(&made));
    let refused = scratch.run(&[
        "token",
        "create",
        "--name",
        "x",
        "--role",
        "editor",
        "--expires-in",
        "soon",
    ]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("whole number"),
        "{}",
        stderr(&refused)
    );
}

/// `serve` configured by flags, logging JSON: the line that says where it
/// serves, then a request's lines carrying the id the request was given.
#[test]
fn serve_takes_flags_and_logs_json_with_request_ids() {
    use std::io::{BufRead, BufReader, Read, Write};

    let scratch = Scratch::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_politmaster"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--demo",
            "false",
            "--log-format",
            "json",
            "--graphiql",
            "false",
        ])
        .current_dir(&scratch.dir)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/serve.db?mode=rwc", scratch.dir.display()),
        )
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "info,api=debug")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut logs = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(
            logs.read_line(&mut line).expect("a log line") > 0,
            "serve ended"
        );
        let entry: serde_json::Value = serde_json::from_str(&line).expect("JSON lines");
        if let Some(addr) = entry["fields"]["addr"].as_str() {
            break addr.to_owned();
        }
    };
    let mut http = std::net::TcpStream::connect(&addr).expect("connects");
    write!(
        http,
        "GET /graphiql HTTP/1.1\r\nHost: x\r\nX-Request-Id: cli-test-42\r\nConnection: close\r\n\r\n"
    )
    .expect("sent");
    let mut answer = String::new();
    http.read_to_string(&mut answer).expect("answered");
    assert!(
        answer.starts_with("HTTP/1.1 404"),
        "GraphiQL is off: {answer}"
    );
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: cli-test-42"),
        "{answer}"
    );
    let logged = loop {
        line.clear();
        assert!(
            logs.read_line(&mut line).expect("a log line") > 0,
            "serve ended"
        );
        let entry: serde_json::Value = serde_json::from_str(&line).expect("JSON lines");
        if entry["span"]["id"] == "cli-test-42" {
            break entry;
        }
    };
    assert_eq!(logged["fields"]["status"], 404, "{logged}");
    let _ = child.kill();
    let _ = child.wait();
}

/// A feed server on a local port: `/world.rss` is the world fixture, any
/// other path is 404. Serves until the test process ends.
fn serve_world_feed() -> String {
    use std::io::{Read, Write};

    let feed = std::fs::read(fixture("world.rss")).expect("the world fixture");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = listener.local_addr().expect("an address");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let found = request.starts_with(b"GET /world.rss ");
            let body: &[u8] = if found { &feed } else { b"no such feed" };
            let status = if found { "200 OK" } else { "404 Not Found" };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    format!("http://{addr}")
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/feeds")
        .join(name)
}

/// `import-feed` from a URL, a file and a URL that is not there: every
/// item and feed reported, drafts by default, and nothing twice when run
/// again. (What the articles look like is tested end to end.)
#[test]
fn import_feed_reports_each_item_and_imports_once() {
    let scratch = Scratch::new();
    let server = serve_world_feed();
    let world = format!("{server}/world.rss");
    let missing = format!("{server}/missing.rss");
    let politics = fixture("politics.atom");
    let politics = politics.to_str().expect("a path");
    let args = [
        "import-feed",
        "--section",
        "international-relations",
        &world,
        politics,
        &missing,
    ];

    let first = scratch.run(&args);
    let report = stdout(&first);
    assert!(!first.status.success(), "items failed: {report}");
    assert!(
        report.contains(&format!(
            "{world} (The Northern Ledger | World): 5 items: 3 imported, 0 already imported, 2 failed"
        )),
        "{report}"
    );
    assert!(
        report.contains("item 1: imported as snap-election-called-as-coalition-collapses (draft)"),
        "{report}"
    );
    assert!(
        report.contains("item 3 \"https://www.northernledger.example/world/untitled\": FAILED: title: must not be empty"),
        "{report}"
    );
    assert!(
        report.contains("item 4 \"Click here\": FAILED: link:"),
        "{report}"
    );
    assert!(
        report.contains("(Capital Wire: Politics): 3 items: 3 imported"),
        "{report}"
    );
    assert!(
        report.contains(&format!("{missing}: FAILED: the server answered 404")),
        "{report}"
    );
    assert!(
        report
            .contains("3 feed(s): 6 imported, 0 already imported, 2 failed, 1 feed(s) unreadable"),
        "{report}"
    );

    let second = scratch.run(&args);
    let report = stdout(&second);
    assert!(
        report
            .contains("3 feed(s): 0 imported, 6 already imported, 2 failed, 1 feed(s) unreadable"),
        "{report}"
    );

    // A feeds file naming a section that does not exist is refused before
    // anything is read.
    std::fs::write(
        scratch.dir.join("feeds.toml"),
        "default_section = \"sport\"\n",
    )
    .expect("a feeds file");
    let refused = scratch.run(&["import-feed", "--config", "feeds.toml", politics]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("there is no section `sport`"),
        "{}",
        stderr(&refused)
    );
}
