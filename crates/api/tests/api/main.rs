//! The api crate seen from outside: `api::router` over an in-memory store
//! and bus, driven request by request with tower's `oneshot`, over real
//! WebSockets where the transport matters, and through the schema's own
//! subscription streams. One test binary, so it links once.

// Helpers outside `#[test]` functions are test code too: a setup that
// fails should panic on the spot.
#![allow(clippy::unwrap_used)]

mod fake_bus;
mod fake_store;
mod graphql;
mod http;
mod schema;
mod subscriptions;
mod ws;
mod ws_fanout;
mod ws_protocol;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::{Duration, Utc};
use domain::content::{Article, ArticleBody, ArticleKind, ArticleStatus, Author, Section, Tag};
use domain::html::SafeHtml;
use domain::ids::{ArticleId, AuthorId, SectionId, TagId};
use domain::text::Slug;
use domain::{Newsroom, Role};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::fake_bus::FakeBus;
use crate::fake_store::FakeStore;

pub struct TestApp {
    pub store: Arc<FakeStore>,
    pub bus: Arc<FakeBus>,
    pub newsroom: Newsroom,
    pub router: axum::Router,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestApp {
    /// Five sections, three authors, two tags and `articles` published
    /// articles, each by all three authors with both tags.
    pub fn with_articles(articles: usize) -> Self {
        Self::with_options(articles, api::Options::default())
    }

    /// Like [`TestApp::with_articles`], with the router set up by `options`.
    pub fn with_options(articles: usize, options: api::Options) -> Self {
        let store = Arc::new(FakeStore::default());
        {
            let mut data = store.data.lock().unwrap();
            data.sections = domain::content::standard_sections()
                .into_iter()
                .map(|s| Section {
                    id: SectionId::new(),
                    slug: s.slug,
                    name: s.name,
                    description: s.description,
                    position: s.position,
                })
                .collect();
            let now = Utc::now();
            data.authors = ["Jana Nováková", "Tomáš Dvořák", "Eva Horáková"]
                .into_iter()
                .map(|name| Author {
                    id: AuthorId::new(),
                    slug: Slug::derive(name).unwrap(),
                    name: name.into(),
                    title: "Reporter".into(),
                    bio: String::new(),
                    avatar_url: None,
                    created_at: now,
                    updated_at: now,
                })
                .collect();
            data.tags = ["NATO", "North Korea"]
                .into_iter()
                .map(|name| Tag {
                    id: TagId::new(),
                    slug: Slug::derive(name).unwrap(),
                    name: name.into(),
                })
                .collect();
            let author_ids: Vec<_> = data.authors.iter().map(|a| a.id).collect();
            let tag_ids: Vec<_> = data.tags.iter().map(|t| t.id).collect();
            for i in 0..articles {
                let section_id = data.sections[i % data.sections.len()].id;
                let published = now - Duration::minutes(i as i64);
                data.articles.push(Article {
                    id: ArticleId::new(),
                    slug: Slug::parse(&format!("story-{i}")).unwrap(),
                    headline: format!("Story {i}"),
                    standfirst: String::new(),
                    body: ArticleBody::Read(
                        SafeHtml::clean("<p>Words and more words</p>").unwrap(),
                    ),
                    word_count: 4,
                    kind: ArticleKind::News,
                    status: ArticleStatus::Published,
                    section_id,
                    author_ids: author_ids.clone(),
                    tag_ids: tag_ids.clone(),
                    breaking: false,
                    hero: None,
                    media: Vec::new(),
                    source: None,
                    created_at: published,
                    updated_at: published,
                    published_at: Some(published),
                    scheduled_at: None,
                    version: 1,
                });
            }
        }
        let bus = Arc::new(FakeBus::default());
        let newsroom = Newsroom::new(store.clone(), bus.clone());
        TestApp {
            router: api::router_with_options(newsroom.clone(), options),
            store,
            bus,
            newsroom,
        }
    }

    pub async fn token(&self, role: Role) -> String {
        let issued = self
            .newsroom
            .issue_token(&format!("desk-{role}"), role, None, [role as u8 + 1; 32])
            .await
            .unwrap();
        issued.secret
    }

    pub fn statements(&self) -> u64 {
        use domain::ports::Store;
        self.store.statements_executed()
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// POSTs a GraphQL request as JSON, optionally with a bearer token.
    pub async fn query(&self, query: &str, variables: Value, token: Option<&str>) -> Reply {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.send(request.body(Body::from(body)).unwrap()).await
    }
}

impl Reply {
    /// The `extensions.code` of the first error.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.body))
    }

    pub fn content_type(&self) -> &str {
        self.headers["content-type"].to_str().unwrap()
    }
}
