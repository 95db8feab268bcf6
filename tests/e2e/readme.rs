//! The README keeps its promises: every link into the repository resolves,
//! and every curl example runs as written against a real server with the
//! demo newsroom, answering GraphQL (not a complaint about the request), or
//! a feed.

use std::path::Path;
use std::process::Command;

use e2e::{Backend, Options, spawn_app};
use serde_json::Value;

const README: &str = include_str!("../../README.md");

/// The repository's root, where the README's relative links start.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
}

/// The targets of `[text](target)` links.
fn links(markdown: &str) -> Vec<&str> {
    markdown
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target))
        .collect()
}

/// The anchors GitHub makes of a document's headings.
fn anchors(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter_map(|line| line.strip_prefix('#'))
        .map(|heading| {
            heading
                .trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect()
}

#[test]
fn every_link_into_the_repository_resolves() {
    let headings = anchors(README);
    for target in links(README) {
        if target.starts_with("http://") || target.starts_with("https://") {
            continue;
        }
        if let Some(anchor) = target.strip_prefix('#') {
            assert!(
                headings.iter().any(|h| h == anchor),
                "no heading for #{anchor}"
            );
            continue;
        }
        assert!(
            !target.starts_with(".."),
            "{target} is outside the repository"
        );
        let path = target.split('#').next().unwrap_or(target);
        assert!(root().join(path).exists(), "{target} does not exist");
    }
}

/// The shell examples that call the API: fenced `sh` blocks, and inline
/// code that is a curl command.
fn curl_examples(markdown: &str) -> Vec<String> {
    let mut examples = Vec::new();
    let mut block: Option<String> = None;
    for line in markdown.lines() {
        match (&mut block, line.trim_start()) {
            (None, "```sh") => block = Some(String::new()),
            (Some(text), "```") => {
                if text.contains("curl ") {
                    examples.push(std::mem::take(text));
                }
                block = None;
            }
            (Some(text), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {
                for (i, span) in line.split('`').enumerate() {
                    if i % 2 == 1 && span.starts_with("curl ") {
                        examples.push(span.to_owned());
                    }
                }
            }
        }
    }
    examples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_curl_example_runs_as_written() {
    let examples = curl_examples(README);
    assert!(examples.len() >= 5, "found {}", examples.len());
    let app = spawn_app(
        Backend::Sqlite,
        Options {
            demo: true,
            ..Options::default()
        },
    )
    .await
    .expect("SQLite is always available");
    for example in examples {
        let script = example
            .replace("http://127.0.0.1:8080", &app.url(""))
            .replace(
                "$(cargo run -q -- token create --name desk --role editor)",
                &app.editor_token,
            );
        // A stream runs until stopped: it must still be streaming after a
        // second (a refused request ends at once, with an error).
        let streams = example.contains("/graphql/stream");
        let run = tokio::task::spawn_blocking(move || {
            let mut command = Command::new(if streams { "timeout" } else { "bash" });
            if streams {
                command.args(["1", "bash"]);
            }
            command
                .arg("-c")
                .arg(format!("set -euo pipefail\n{script}"))
                .output()
                .expect("bash runs")
        })
        .await
        .expect("ran");
        let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
        if streams {
            assert_eq!(run.status.code(), Some(124), "{example}\nended: {stdout}");
            assert!(!stdout.contains("errors"), "{example}\n{stdout}");
            continue;
        }
        assert!(
            run.status.success(),
            "{example}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        if !example.contains("/graphql") {
            // A feed: XML.
            assert!(stdout.starts_with("<?xml "), "{example}\n{stdout}");
            continue;
        }
        let answers: Vec<Value> = serde_json::Deserializer::from_str(&stdout)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{example}\nnot JSON ({e}): {stdout}"));
        assert_eq!(
            answers.len(),
            example.matches("curl ").count(),
            "{example}\n{stdout}"
        );
        for answer in answers {
            let code = &answer["errors"][0]["extensions"]["code"];
            // The one error an example shows on purpose.
            if code == "PERSISTED_QUERY_NOT_FOUND" {
                continue;
            }
            assert!(answer["errors"].is_null(), "{example}\n{answer}");
            assert!(answer["data"].is_object(), "{example}\n{answer}");
        }
    }
}
