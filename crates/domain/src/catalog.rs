//! The sections, held in memory by each node.
//!
//! Every page names its section: a section page looks it up by slug, and
//! each article shows the one it belongs to. A section is never changed
//! once stored (there is no write that changes one), and sections are only
//! ever added, by start-up seeding on some node. So the list read once
//! stays true, and a slug or id it does not know can only be a section
//! added since, or none: the catalog reads the list again before it
//! answers that there is no such section. Nothing is ever stale; the cost
//! of a section lookup is a read of memory.

use std::sync::{Arc, PoisonError, RwLock};

use crate::content::Section;
use crate::error::Result;
use crate::ids::SectionId;
use crate::ports::Store;
use crate::text::Slug;

pub struct SectionCatalog {
    store: Arc<dyn Store>,
    /// Empty until the first read (there are always sections once seeded).
    held: RwLock<Arc<Vec<Section>>>,
}

impl SectionCatalog {
    pub fn new(store: Arc<dyn Store>) -> Self {
        SectionCatalog {
            store,
            held: RwLock::default(),
        }
    }

    /// All sections in navigation order.
    pub async fn all(&self) -> Result<Arc<Vec<Section>>> {
        let held = self.held();
        if held.is_empty() {
            return self.reload().await;
        }
        Ok(held)
    }

    pub async fn by_slug(&self, slug: &Slug) -> Result<Option<Section>> {
        let find = |all: &[Section]| all.iter().find(|s| s.slug == *slug).cloned();
        if let Some(found) = find(&self.all().await?) {
            return Ok(Some(found));
        }
        Ok(find(&self.reload().await?))
    }

    /// The sections of `ids` that exist, in no particular order.
    pub async fn by_ids(&self, ids: &[SectionId]) -> Result<Vec<Section>> {
        let mut all = self.all().await?;
        if !ids.iter().all(|id| all.iter().any(|s| s.id == *id)) {
            all = self.reload().await?;
        }
        Ok(all
            .iter()
            .filter(|section| ids.contains(&section.id))
            .cloned()
            .collect())
    }

    fn held(&self) -> Arc<Vec<Section>> {
        self.held
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn reload(&self) -> Result<Arc<Vec<Section>>> {
        let all = Arc::new(self.store.sections().await?);
        *self.held.write().unwrap_or_else(PoisonError::into_inner) = all.clone();
        Ok(all)
    }
}
