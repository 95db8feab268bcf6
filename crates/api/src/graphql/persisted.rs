//! Automatic persisted queries, as Apollo's clients speak them.
//!
//! A client sends `extensions.persistedQuery = { version: 1, sha256Hash }`
//! and no `query`. If this node knows the document by that hash, it runs;
//! if not, the answer is the error `PersistedQueryNotFound`, and the
//! client sends the hash again with the document, which is checked against
//! the hash, remembered and run. Requests then carry 64 hex digits instead
//! of a document, and a query sent as `GET` fits a URL that HTTP caches
//! and CDNs can key on.
//!
//! Documents are remembered per node within a byte budget, and, when a
//! shared store is configured (Redis), for every node: a client that
//! registered a document on one node finds it on the next.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_graphql::ServerError;
use domain::ports::SharedValues;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::graphql::documents::{Generations, MAX_DOCUMENT_BYTES};
use crate::graphql::errors::{code, coded};

/// The message and code Apollo's clients look for to send the document.
pub const NOT_FOUND_MESSAGE: &str = "PersistedQueryNotFound";
pub const NOT_FOUND_CODE: &str = "PERSISTED_QUERY_NOT_FOUND";

pub struct PersistedQueries {
    local: Mutex<Generations<String, Arc<str>>>,
    shared: Option<Arc<dyn SharedValues>>,
}

impl PersistedQueries {
    /// Keeps about `budget` bytes of documents here, and every document in
    /// `shared` too, when there is one.
    pub fn new(budget: usize, shared: Option<Arc<dyn SharedValues>>) -> Self {
        PersistedQueries {
            local: Mutex::new(Generations::new(budget)),
            shared,
        }
    }

    /// The document a request runs: its `query`, or the one its
    /// `extensions.persistedQuery` names.
    pub async fn resolve(
        &self,
        query: Option<String>,
        extensions: Option<&Value>,
    ) -> Result<String, ServerError> {
        let Some(persisted) = extensions.and_then(|e| e.get("persistedQuery")) else {
            return query.ok_or_else(|| bad("the request has no `query`"));
        };
        let hash = requested_hash(persisted)?;
        match query {
            Some(query) => {
                if sha256_hex(&query) != hash {
                    return Err(bad("provided sha does not match query"));
                }
                self.remember(&hash, &query).await;
                Ok(query)
            }
            None => self
                .recall(&hash)
                .await
                .ok_or_else(|| coded(ServerError::new(NOT_FOUND_MESSAGE, None), NOT_FOUND_CODE)),
        }
    }

    async fn remember(&self, hash: &str, query: &str) {
        if query.len() > MAX_DOCUMENT_BYTES {
            // Refused when it is prepared; not worth keeping.
            return;
        }
        let cost = hash.len() + query.len() + 64;
        lock(&self.local).insert(hash.to_owned(), Arc::from(query), cost);
        if let Some(shared) = &self.shared {
            shared.put(&shared_key(hash), query).await;
        }
    }

    async fn recall(&self, hash: &str) -> Option<String> {
        if let Some(query) = lock(&self.local).get(hash) {
            return Some(query.to_string());
        }
        let query = self.shared.as_ref()?.get(&shared_key(hash)).await?;
        // The shared store is trusted no more than a client.
        if sha256_hex(&query) != hash {
            return None;
        }
        let cost = hash.len() + query.len() + 64;
        lock(&self.local).insert(hash.to_owned(), Arc::from(query.as_str()), cost);
        Some(query)
    }
}

fn requested_hash(persisted: &Value) -> Result<String, ServerError> {
    if persisted.get("version").and_then(Value::as_i64) != Some(1) {
        return Err(bad("`persistedQuery.version` must be 1"));
    }
    let hash = persisted
        .get("sha256Hash")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`persistedQuery.sha256Hash` is missing"))?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("`persistedQuery.sha256Hash` must be 64 hex digits"));
    }
    Ok(hash.to_ascii_lowercase())
}

fn shared_key(hash: &str) -> String {
    format!("apq:{hash}")
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn bad(message: &str) -> ServerError {
    coded(ServerError::new(message, None), code::BAD_USER_INPUT)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    #[derive(Default)]
    struct Shared(Mutex<HashMap<String, String>>);

    #[async_trait::async_trait]
    impl SharedValues for Shared {
        async fn get(&self, key: &str) -> Option<String> {
            self.0.lock().unwrap().get(key).cloned()
        }
        async fn put(&self, key: &str, value: &str) {
            self.0.lock().unwrap().insert(key.into(), value.into());
        }
    }

    fn ext(hash: &str) -> Value {
        json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
    }

    #[tokio::test]
    async fn a_hash_is_unknown_until_sent_with_its_document() {
        let apq = PersistedQueries::new(1 << 20, None);
        let query = "{ site { name } }";
        let hash = sha256_hex(query);
        let err = apq.resolve(None, Some(&ext(&hash))).await.unwrap_err();
        assert_eq!(err.message, NOT_FOUND_MESSAGE);
        let sent = apq.resolve(Some(query.into()), Some(&ext(&hash))).await;
        assert_eq!(sent.unwrap(), query);
        assert_eq!(apq.resolve(None, Some(&ext(&hash))).await.unwrap(), query);
    }

    #[tokio::test]
    async fn a_wrong_hash_or_version_is_bad_input() {
        let apq = PersistedQueries::new(1 << 20, None);
        let wrong = sha256_hex("{ other }");
        let err = apq
            .resolve(Some("{ site { name } }".into()), Some(&ext(&wrong)))
            .await
            .unwrap_err();
        assert!(err.message.contains("does not match"), "{}", err.message);
        for bad in [
            json!({ "persistedQuery": { "version": 2, "sha256Hash": wrong } }),
            json!({ "persistedQuery": { "version": 1, "sha256Hash": "xyz" } }),
            json!({ "persistedQuery": { "version": 1 } }),
        ] {
            assert!(apq.resolve(None, Some(&bad)).await.is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn nodes_share_documents_through_the_shared_store() {
        let shared: Arc<dyn SharedValues> = Arc::new(Shared::default());
        let a = PersistedQueries::new(1 << 20, Some(shared.clone()));
        let b = PersistedQueries::new(1 << 20, Some(shared.clone()));
        let query = "{ sections { slug } }";
        let hash = sha256_hex(query);
        a.resolve(Some(query.into()), Some(&ext(&hash)))
            .await
            .unwrap();
        assert_eq!(b.resolve(None, Some(&ext(&hash))).await.unwrap(), query);
        // A tampered shared value is not trusted.
        shared.put(&shared_key(&sha256_hex("x")), "{ evil }").await;
        assert!(b.resolve(None, Some(&ext(&sha256_hex("x")))).await.is_err());
    }
}
