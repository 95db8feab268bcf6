//! The live-blog widget a news site embeds (in an iframe) on its article
//! pages: `/embed/live/{slug}`, a small page with its stylesheet and script
//! in the binary (`/embed/live.css`, `/embed/live.js`), no third-party
//! code and no build step. The script reads the page, then follows the
//! blog over `graphql-transport-ws`, resuming from its last cursor after a
//! dropped connection.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use domain::html::escape;

use crate::graphql::ids::to_global;
use crate::http::AppState;

const PAGE: &str = include_str!("embed/live.html");
const STYLE: &str = include_str!("embed/live.css");
const SCRIPT: &str = include_str!("embed/live.js");

/// Only our own script and style, connections back to us, images from
/// anywhere on the web (entry media); any site may frame it.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self' ws: wss:; img-src https: data:; base-uri 'none'; form-action 'none'";

pub async fn live_blog(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let blog = match state.newsroom.live_blog_by_slug(&slug).await {
        Ok(Some(blog)) => blog,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such live blog").into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot read a live blog for its widget");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let page = PAGE
        .replace("{{ID}}", &escape(&to_global(blog.id)))
        .replace(
            "{{URL}}",
            &escape(&format!("{}/live/{}", state.site.url, blog.slug)),
        )
        .replace("{{SUMMARY}}", &escape(&blog.summary))
        .replace("{{TITLE}}", &escape(&blog.title));
    let mut response = (StatusCode::OK, page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    // The page's state is read by its script; the shell may be cached briefly.
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

pub async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_break_out_of_the_page() {
        assert_eq!(
            escape(r#"Vote "tonight" <script>&'"#),
            "Vote &quot;tonight&quot; &lt;script&gt;&amp;&#39;"
        );
    }

    #[test]
    fn the_page_has_a_place_for_everything_it_is_given() {
        for slot in ["{{ID}}", "{{URL}}", "{{SUMMARY}}", "{{TITLE}}"] {
            assert!(PAGE.contains(slot), "{slot}");
        }
    }
}
