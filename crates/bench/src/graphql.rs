//! The few GraphQL calls the benchmark makes over HTTP, as the desk would.

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// A GraphQL endpoint with an editor's token.
pub struct Api {
    http: reqwest::Client,
    endpoint: String,
    token: String,
}

impl Api {
    pub fn new(http: reqwest::Client, endpoint: String, token: String) -> Self {
        Api {
            http,
            endpoint,
            token,
        }
    }

    /// Creates a live blog, sets it `LIVE` and returns its id.
    pub async fn create_live_blog(&self) -> anyhow::Result<String> {
        // A unique title, so that the derived slug is free even on a server
        // that has been benchmarked before.
        let title = format!("Fan-out benchmark {}", uuid::Uuid::new_v4().simple());
        let created = self
            .request(
                "mutation($input: CreateLiveBlogInput!) { createLiveBlog(input: $input) { id } }",
                json!({ "input": { "title": title, "section": "legislative-updates" } }),
            )
            .await
            .context("createLiveBlog")?;
        let id = string(&created["createLiveBlog"]["id"], "createLiveBlog.id")?;
        let live = self
            .request(
                "mutation($id: ID!) { setLiveBlogStatus(id: $id, status: LIVE) { status } }",
                json!({ "id": id }),
            )
            .await
            .context("setLiveBlogStatus")?;
        if live["setLiveBlogStatus"]["status"] != "LIVE" {
            bail!("setLiveBlogStatus did not make the blog LIVE: {live}");
        }
        Ok(id)
    }

    /// The blog's cursor: subscribing after it delivers only what comes next.
    pub async fn cursor(&self, blog: &str) -> anyhow::Result<String> {
        let data = self
            .request(
                "query($id: ID!) { liveBlog(id: $id) { cursor } }",
                json!({ "id": blog }),
            )
            .await
            .context("liveBlog { cursor }")?;
        string(&data["liveBlog"]["cursor"], "liveBlog.cursor")
    }

    /// Posts an entry whose text is `text`; returns its id.
    pub async fn post_entry(&self, blog: &str, text: &str) -> anyhow::Result<String> {
        let data = self
            .request(
                "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) { id } }",
                json!({ "input": { "liveBlog": blog, "body": format!("<p>{text}</p>") } }),
            )
            .await
            .context("postLiveEntry")?;
        string(&data["postLiveEntry"]["id"], "postLiveEntry.id")
    }

    /// Runs an operation and returns its `data`, failing on any error.
    async fn request(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(&self.endpoint)
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?;
        let status = response.status();
        let mut body: Value = response
            .json()
            .await
            .with_context(|| format!("HTTP {status}: not a GraphQL response"))?;
        if let Some(errors) = body.get("errors").filter(|e| !e.is_null()) {
            bail!("HTTP {status}: {errors}");
        }
        Ok(body["data"].take())
    }
}

fn string(value: &Value, what: &str) -> anyhow::Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {what} in the response"))
}
