//! The decisions the GraphQL-over-HTTP spec asks of a server before it
//! executes anything: which response media type the client accepts, whether
//! the request body is a kind we read, and what sort of operation the
//! document selects (mutations must not run on GET, which proxies and
//! browsers treat as safe to repeat). Pure functions, tested below.

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";

/// The response media types we produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// The spec's own type: HTTP status codes follow the outcome (request
    /// errors are 400).
    GraphqlResponseJson,
    /// The legacy type: every well-formed request is answered 200, because
    /// older clients treat other codes as transport failures.
    Json,
}

impl MediaType {
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response media type from an `Accept` header. A missing
/// header, or one that accepts anything, gets `application/json` (what
/// clients written before the spec expect); the spec's type is chosen when
/// the client names it and does not prefer plain JSON. `None` means the
/// client accepts neither (406).
pub fn response_media_type(accept: Option<&str>) -> Option<MediaType> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(MediaType::Json);
    };
    let (gql_q, gql_named) = quality(accept, "application", "graphql-response+json");
    let (json_q, _) = quality(accept, "application", "json");
    if gql_named && gql_q > 0.0 && gql_q >= json_q {
        Some(MediaType::GraphqlResponseJson)
    } else if json_q > 0.0 {
        Some(MediaType::Json)
    } else if gql_q > 0.0 {
        Some(MediaType::GraphqlResponseJson)
    } else {
        None
    }
}

/// The q-value the header gives `type/subtype`, taken from its most
/// specific matching range, and whether that range named it exactly.
fn quality(accept: &str, ty: &str, subtype: &str) -> (f32, bool) {
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let Some((r_type, r_subtype)) = essence.split_once('/') else {
            continue;
        };
        let specificity = match (r_type, r_subtype) {
            (t, s) if t == ty && s == subtype => 3,
            (t, "*") if t == ty => 2,
            ("*", "*") => 1,
            _ => continue,
        };
        let q = parts
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .and_then(|(_, v)| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.map_or((0.0, false), |(s, q)| (q, s == 3))
}

/// What a POST body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json`: `{query, variables, operationName, extensions}`.
    Json,
    /// `application/graphql`: the document itself.
    Graphql,
}

/// Reads a POST `Content-Type`; `Err` carries the reason for a 415.
pub fn body_kind(content_type: Option<&str>) -> Result<BodyKind, String> {
    let Some(content_type) = content_type else {
        return Err(format!("send the request as `Content-Type: {JSON}`"));
    };
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let charset = parts
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
    if charset.is_some_and(|c| c != "utf-8" && c != "utf8") {
        return Err("only UTF-8 request bodies are supported".to_owned());
    }
    match essence.as_str() {
        JSON => Ok(BodyKind::Json),
        "application/graphql" => Ok(BodyKind::Graphql),
        other => Err(format!(
            "`{other}` is not supported; send `Content-Type: {JSON}`"
        )),
    }
}

/// Shared with the schema, which serves subscriptions differently.
pub use crate::graphql::operation_type;

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;
    use async_graphql::parser::types::OperationType;

    #[test]
    fn no_accept_header_or_any_type_gets_legacy_json() {
        for accept in [None, Some(""), Some("*/*"), Some("application/*")] {
            assert_eq!(
                response_media_type(accept),
                Some(MediaType::Json),
                "{accept:?}"
            );
        }
    }

    #[test]
    fn naming_the_spec_type_gets_it() {
        for accept in [
            "application/graphql-response+json",
            "application/graphql-response+json, application/json;q=0.9",
            "application/graphql-response+json;charset=utf-8, */*;q=0.1",
            "application/json, application/graphql-response+json",
        ] {
            assert_eq!(
                response_media_type(Some(accept)),
                Some(MediaType::GraphqlResponseJson),
                "{accept}"
            );
        }
    }

    #[test]
    fn preferring_plain_json_gets_plain_json() {
        assert_eq!(
            response_media_type(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(
            response_media_type(Some("text/html,application/xhtml+xml,*/*;q=0.8")),
            Some(MediaType::Json)
        );
    }

    #[test]
    fn accepting_neither_type_is_not_acceptable() {
        assert_eq!(response_media_type(Some("text/html")), None);
        assert_eq!(response_media_type(Some("application/json;q=0")), None);
    }

    #[test]
    fn json_and_graphql_bodies_are_read_others_refused() {
        assert_eq!(body_kind(Some("application/json")), Ok(BodyKind::Json));
        assert_eq!(
            body_kind(Some("Application/JSON; charset=UTF-8")),
            Ok(BodyKind::Json)
        );
        assert_eq!(
            body_kind(Some("application/graphql")),
            Ok(BodyKind::Graphql)
        );
        assert!(body_kind(None).is_err());
        assert!(body_kind(Some("text/plain")).is_err());
        assert!(body_kind(Some("application/x-www-form-urlencoded")).is_err());
        assert!(body_kind(Some("application/json; charset=latin1")).is_err());
    }

    fn op(doc: &str, name: Option<&str>) -> Option<OperationType> {
        operation_type(&parse_query(doc).unwrap(), name)
    }

    #[test]
    fn the_selected_operation_decides_get_or_post() {
        assert_eq!(op("{ site { name } }", None), Some(OperationType::Query));
        assert_eq!(
            op("mutation { deleteArticle(id: \"x\") }", None),
            Some(OperationType::Mutation)
        );
        let both = "query Read { site { name } } mutation Write { deleteArticle(id: \"x\") }";
        assert_eq!(op(both, Some("Read")), Some(OperationType::Query));
        assert_eq!(op(both, Some("Write")), Some(OperationType::Mutation));
        assert_eq!(op(both, None), None);
        assert_eq!(op(both, Some("Nope")), None);
        assert_eq!(
            op("mutation Only { deleteArticle(id: \"x\") }", None),
            Some(OperationType::Mutation)
        );
    }
}
