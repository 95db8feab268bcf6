//! Article, live-entry and syndicated HTML: cleaning never panics, and
//! what comes out runs nothing: no script or style element, no event handler, no URL with
//! a scheme other than http, https or mailto.
#![no_main]

use domain::html::SafeHtml;
use domain::text::WebUrl;
use libfuzzer_sys::fuzz_target;

/// The attributes of each tag of sanitiser output, which writes every
/// value in double quotes (a `"` inside as `&quot;`).
fn attributes(html: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for tag in html.split('<').skip(1) {
        let Some((inside, _)) = tag.split_once('>') else {
            continue;
        };
        let mut rest = inside.split_once(' ').map_or("", |(_, rest)| rest);
        while let Some((name, after)) = rest.trim_start().split_once("=\"") {
            let Some((value, after)) = after.split_once('"') else {
                break;
            };
            found.push((name.trim().to_ascii_lowercase(), value.to_owned()));
            rest = after;
        }
    }
    found
}

/// What no cleaned body may hold.
fn assert_runs_nothing(html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "{html}");
    assert!(!lower.contains("<style"), "{html}");
    for (name, value) in attributes(html) {
        assert!(!name.starts_with("on"), "an event handler: {name}={value}");
        if name == "href" || name == "cite" {
            let url = value.to_ascii_lowercase();
            assert!(
                url.starts_with("http://")
                    || url.starts_with("https://")
                    || url.starts_with("mailto:"),
                "{name}={value}"
            );
        }
    }
}

fuzz_target!(|raw: &str| {
    let Ok(clean) = SafeHtml::clean(raw) else {
        return;
    };
    assert_runs_nothing(clean.html());
    // What a browser or the next edit parses again must be as harmless
    // (mutation XSS: markup that changes meaning when re-parsed). It need
    // not be the same: html5 parsing re-nests some misnested markup.
    let again = SafeHtml::clean(clean.html()).expect("clean HTML is accepted");
    assert_runs_nothing(again.html());
    // Syndicated HTML, whose relative links are resolved against the
    // story's address: the same promise.
    let base = WebUrl::parse("https://news.example/world/story?id=1").expect("a URL");
    let syndicated = SafeHtml::clean_relative_to(raw, &base).expect("as long as clean takes");
    assert_runs_nothing(syndicated.html());
});
