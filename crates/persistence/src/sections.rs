//! Sections: few, read constantly, created once by the seed.

use async_trait::async_trait;
use domain::Result;
use domain::content::{NewSection, Section};
use domain::ids::SectionId;
use domain::ports::SectionRepository;
use domain::text::Slug;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::columns::slug;
use crate::db::Database;
use crate::entity::section;
use crate::error::DbResultExt;

fn to_domain(row: section::Model) -> Result<Section> {
    Ok(Section {
        id: SectionId(row.id),
        slug: slug(&row.slug)?,
        name: row.name,
        description: row.description,
        position: row.position,
    })
}

#[async_trait]
impl SectionRepository for Database {
    async fn sections(&self) -> Result<Vec<Section>> {
        section::Entity::find()
            .order_by_asc(section::Column::Position)
            .order_by_asc(section::Column::Name)
            .all(self.conn())
            .await
            .db()?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn section_by_slug(&self, slug: &Slug) -> Result<Option<Section>> {
        section::Entity::find()
            .filter(section::Column::Slug.eq(slug.as_str()))
            .one(self.conn())
            .await
            .db()?
            .map(to_domain)
            .transpose()
    }

    async fn sections_by_ids(&self, ids: &[SectionId]) -> Result<Vec<Section>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        section::Entity::find()
            .filter(section::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .all(self.conn())
            .await
            .db()?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn ensure_section(&self, new: &NewSection) -> Result<Section> {
        // Insert-or-skip then read, in one transaction: idempotent, and safe
        // when several nodes seed at once.
        let txn = self.begin_write().await?;
        section::Entity::insert(section::ActiveModel {
            id: Set(SectionId::new().0),
            slug: Set(new.slug.as_str().to_owned()),
            name: Set(new.name.clone()),
            description: Set(new.description.clone()),
            position: Set(new.position),
        })
        .on_conflict_do_nothing_on([section::Column::Slug])
        .exec_without_returning(&txn)
        .await
        .db()?;
        let row = section::Entity::find()
            .filter(section::Column::Slug.eq(new.slug.as_str()))
            .one(&txn)
            .await
            .db()?
            .ok_or_else(|| domain::Error::internal("the section vanished after insert"))?;
        txn.commit().await.db()?;
        to_domain(row)
    }
}
