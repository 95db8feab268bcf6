//! GraphiQL at `/graphiql`, with every file it needs served from the
//! binary (`crates/api/assets/graphiql/`, see its README): the desk's tool
//! works on a machine without internet. Queries and mutations go to
//! `/graphql`, subscriptions over its WebSocket; the editor opens on a
//! query that shows the API off.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// In the assets' paths, so that an upgrade is never served from a stale
/// cache.
pub const GRAPHIQL_VERSION: &str = "3.9.0";

const PAGE: &str = include_str!("graphiql.html");

/// The files, by name: content type and bytes.
const ASSETS: [(&str, &str, &[u8]); 4] = [
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
];

/// What the editor opens with.
const DEFAULT_QUERY: &str = "# politmaster: the GraphQL API of a political news site.
# Run it with the ▶ button (or Ctrl-Enter); the schema's documentation is
# behind the book icon. The desk's token goes under Headers:
#   {\"Authorization\": \"Bearer pm_…\"}
# Subscriptions run too, over the WebSocket, for instance:
#   subscription { breakingNews { __typename cursor } }

query FrontPage {
  site { name }
  articles(first: 5) {
    totalCount
    edges { node { headline standfirst publishedAt section { name } authors { name } tags { name } } }
  }
  liveBlogs(status: LIVE, first: 3) {
    edges { node { title url entries(first: 3) { edges { node { bodyText postedAt keyEvent } } } } }
  }
  breakingNews { headline priority url }
}
";

/// The page, rendered once.
pub fn page() -> String {
    let default_query = serde_json::to_string(DEFAULT_QUERY).unwrap_or_else(|_| "\"\"".to_owned());
    PAGE.replace("{{ASSETS}}", &format!("/graphiql/{GRAPHIQL_VERSION}"))
        // JSON, with `<` escaped so that nothing in it can end the script.
        .replace("{{DEFAULT_QUERY}}", &default_query.replace('<', "\\u003c"))
}

pub async fn asset(Path((version, name)): Path<(String, String)>) -> Response {
    let found = ASSETS.iter().find(|(file, _, _)| *file == name);
    let (Some((_, content_type, bytes)), true) = (found, version == GRAPHIQL_VERSION) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut response = (StatusCode::OK, *bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The version is in the path: the bytes at it never change.
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        let page = page();
        assert!(
            !page.contains("https://") && !page.contains("http://"),
            "{page}"
        );
        assert!(!page.contains("{{"), "every slot filled");
        for (file, _, _) in ASSETS {
            assert!(
                page.contains(&format!("/graphiql/{GRAPHIQL_VERSION}/{file}")),
                "{file}"
            );
        }
    }
}
