//! Breaking-news alerts: the banner across the site, the desk's writes,
//! and (in `subscription`) the live feed of them.

pub mod subscription;

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use domain::clock;
use domain::events::Stream;
use domain::ids::{ArticleId, BreakingNewsId};
use domain::inputs as di;
use domain::live as dl;

use crate::graphql::article::types::{Article, article_path};
use crate::graphql::context::{desk, loaders, newsroom};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::{from_global, to_global};

/// How loudly a banner should shout.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::live::BreakingPriority")]
pub enum BreakingPriority {
    Normal,
    High,
    Urgent,
}

/// A breaking-news alert.
#[derive(Debug, Clone)]
pub struct BreakingNews(pub dl::BreakingNews);

#[Object]
impl BreakingNews {
    pub async fn id(&self) -> ID {
        to_global(self.0.id)
    }

    async fn headline(&self) -> &str {
        &self.0.headline
    }

    async fn priority(&self) -> BreakingPriority {
        self.0.priority.into()
    }

    /// The linked article, when the alert links to one you may see.
    async fn article(&self, ctx: &Context<'_>) -> ApiResult<Option<Article>> {
        match &self.0.link {
            Some(dl::BreakingLink::Article(id)) => {
                Ok(loaders(ctx)?.article(*id).await?.map(Article))
            }
            _ => Ok(None),
        }
    }

    /// Where the banner links: the article's path on the site, or an
    /// external URL; null for an alert without a link.
    async fn url(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        match &self.0.link {
            None => Ok(None),
            Some(dl::BreakingLink::Url(url)) => Ok(Some(url.as_str().to_owned())),
            Some(dl::BreakingLink::Article(id)) => {
                let loaders = loaders(ctx)?;
                let Some(article) = loaders.article(*id).await? else {
                    return Ok(None);
                };
                let section = loaders.section(article.section_id).await?;
                Ok(Some(article_path(&section, &article)))
            }
        }
    }

    async fn issued_at(&self) -> DateTime<Utc> {
        self.0.issued_at
    }

    /// After this the banner comes down by itself.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    async fn retracted_at(&self) -> Option<DateTime<Utc>> {
        self.0.retracted_at
    }

    /// Neither retracted nor expired.
    async fn active(&self) -> bool {
        self.0.is_active(clock::now())
    }
}

#[derive(Default)]
pub struct BreakingQueries;

#[Object]
impl BreakingQueries {
    /// Active alerts, newest first.
    async fn breaking_news(&self, ctx: &Context<'_>) -> ApiResult<Vec<BreakingNews>> {
        let alerts = newsroom(ctx)?.breaking_news().await?;
        Ok(alerts.into_iter().map(BreakingNews).collect())
    }

    /// The position of the latest breaking-news event: read it together with
    /// `breakingNews`, then subscribe with `breakingNews(after:)` set to it
    /// to miss nothing between the page load and the subscription.
    async fn breaking_news_cursor(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let cursor = newsroom(ctx)?.stream_cursor(Stream::Breaking).await?;
        Ok(cursor.encode())
    }
}

/// A new alert. Link it to a published article *or* an external URL (or
/// neither), not both.
#[derive(InputObject, Debug, Clone)]
pub struct IssueBreakingNewsInput {
    pub headline: String,
    /// A published article's id.
    pub article: Option<ID>,
    /// An external http(s) URL.
    pub url: Option<String>,
    #[graphql(default_with = "BreakingPriority::Normal")]
    pub priority: BreakingPriority,
    /// At most 7 days ahead; without it the alert stays until retracted.
    pub expires_at: Option<DateTime<Utc>>,
}

impl IssueBreakingNewsInput {
    fn into_domain(self) -> domain::Result<di::IssueBreakingNewsInput> {
        let link = match (self.article, self.url) {
            (Some(_), Some(_)) => {
                return Err(domain::Error::invalid(
                    "url",
                    "link to an article or a URL, not both",
                ));
            }
            (Some(id), None) => Some(di::BreakingLinkInput::Article(from_global::<ArticleId>(
                "article", &id,
            )?)),
            (None, Some(url)) => Some(di::BreakingLinkInput::Url(url)),
            (None, None) => None,
        };
        Ok(di::IssueBreakingNewsInput {
            headline: self.headline,
            link,
            priority: self.priority.into(),
            expires_at: self.expires_at,
        })
    }
}

#[derive(Default)]
pub struct BreakingMutations;

#[Object]
impl BreakingMutations {
    /// Needs the EDITOR role.
    async fn issue_breaking_news(
        &self,
        ctx: &Context<'_>,
        input: IssueBreakingNewsInput,
    ) -> ApiResult<BreakingNews> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let input = input.into_domain().map_err(|e| e.at("input"))?;
        let alert = newsroom
            .issue_breaking_news(caller, input)
            .await
            .map_err(|e| relabel_article(e).at("input"))?;
        Ok(BreakingNews(alert))
    }

    /// Takes an alert down. Needs the EDITOR role.
    async fn retract_breaking_news(&self, ctx: &Context<'_>, id: ID) -> ApiResult<BreakingNews> {
        let (newsroom, caller) = (newsroom(ctx)?, desk(ctx)?);
        let id: BreakingNewsId = from_global("id", &id)?;
        Ok(BreakingNews(
            newsroom.retract_breaking_news(caller, id).await?,
        ))
    }
}

/// The newsroom names the linked article `articleId`; this API's input
/// field is `article`.
fn relabel_article(err: domain::Error) -> domain::Error {
    match err {
        domain::Error::Invalid { field, message } if field == "articleId" => {
            domain::Error::Invalid {
                field: "article".into(),
                message,
            }
        }
        other => other,
    }
}
