//! The live-blog widget's page: served for a blog that exists, with its
//! own script and style only (a strict content security policy), the
//! blog's text escaped; 404 otherwise. (What it does in a browser is the
//! browser test's business.)

use e2e::{TestApp, both_backends, data};
use serde_json::json;

use crate::delivery_support::live_blog;

async fn the_widget_page_is_served_for_a_blog(app: &TestApp) {
    let blog = live_blog(app, "Vote \"tonight\" <script>alert(1)</script>").await;
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

    let page = app
        .http
        .get(app.url(&format!("/embed/live/{slug}")))
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status().as_u16(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("text")
            .starts_with("text/html")
    );
    let html = page.text().await.expect("text");
    assert!(
        html.contains(&format!(r#"data-blog="{blog}""#)),
        "the blog's id for the script"
    );
    assert!(
        html.contains("Vote &quot;tonight&quot; &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("{{"), "every slot filled: {html}");

    for (path, kind) in [
        ("/embed/live.js", "text/javascript"),
        ("/embed/live.css", "text/css"),
    ] {
        let asset = app.http.get(app.url(path)).send().await.expect("sent");
        assert_eq!(asset.status().as_u16(), 200, "{path}");
        assert!(
            asset.headers()["content-type"]
                .to_str()
                .expect("text")
                .starts_with(kind),
            "{path}"
        );
    }
    let missing = app
        .http
        .get(app.url("/embed/live/no-such-blog"))
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status().as_u16(), 404);
}

both_backends! {
    widget_page => the_widget_page_is_served_for_a_blog;
}
