//! The site itself and its publisher, from configuration rather than the
//! database: it changes with a deploy, not with an edit.

use async_graphql::{Context, Object, SimpleObject};

use crate::graphql::context::site_config;
use crate::graphql::errors::ApiResult;

/// What `site` answers. The server may build its own from settings; the
/// default is the production publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteConfig {
    pub name: String,
    pub description: String,
    /// The public web address of the site, without a trailing slash.
    pub url: String,
    pub publisher: PublisherConfig,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherConfig {
    pub name: String,
    pub registration: String,
    pub address: String,
    pub country: String,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            name: "Politmaster".into(),
            description: "Politics and policy news and analysis: international relations, \
                domestic policies, economic developments, electoral processes and \
                legislative updates."
                .into(),
            url: "https://politmaster.example".into(),
            publisher: PublisherConfig {
                name: "SNOWLAND s.r.o.".into(),
                registration: "06691200".into(),
                address: "Na okraji 381/41, Veleslavín, 162 00 Praha 6".into(),
                country: "Czech Republic".into(),
            },
        }
    }
}

/// The site: its name and who publishes it.
pub struct Site<'a>(&'a SiteConfig);

#[Object]
impl Site<'_> {
    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The site's public address.
    async fn url(&self) -> &str {
        &self.0.url
    }

    async fn publisher(&self) -> Publisher {
        let p = &self.0.publisher;
        Publisher {
            name: p.name.clone(),
            registration: p.registration.clone(),
            address: p.address.clone(),
            country: p.country.clone(),
        }
    }
}

/// The company legally responsible for the site.
#[derive(SimpleObject)]
pub struct Publisher {
    pub name: String,
    /// Company registration number (IČO).
    pub registration: String,
    /// Registered address.
    pub address: String,
    pub country: String,
}

#[derive(Default)]
pub struct SiteQueries;

#[Object]
impl SiteQueries {
    /// The site and its publisher.
    async fn site<'a>(&self, ctx: &Context<'a>) -> ApiResult<Site<'a>> {
        Ok(Site(site_config(ctx)?))
    }
}
