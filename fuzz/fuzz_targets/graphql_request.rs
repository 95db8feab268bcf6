//! A GraphQL-over-HTTP request body, and the document in it: reading the
//! body and parsing and measuring the document (fragments expanded) never
//! panic, and what is measured stays within the limits.
#![no_main]

use api::graphql::documents::Documents;
use api::http::graphql::json_request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let documents = Documents::new(1 << 20);
    if let Ok(request) = json_request(body)
        && let Some(query) = request.query()
    {
        let _ = documents.prepare(query);
    }
    // The body as a document of its own, as `application/graphql` sends it.
    if let Ok(query) = std::str::from_utf8(body) {
        let _ = documents.prepare(query);
    }
});
