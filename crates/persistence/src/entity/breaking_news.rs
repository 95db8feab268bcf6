use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "breaking_news")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub headline: String,
    pub article_id: Option<Uuid>,
    pub url: Option<String>,
    pub priority: String,
    pub issued_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub retracted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
