use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "articles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub body_html: String,
    pub body_text: String,
    pub word_count: i32,
    pub kind: String,
    pub status: String,
    pub section_id: Uuid,
    pub breaking: bool,
    /// JSON of `domain::content::Media`.
    pub hero: Option<String>,
    /// JSON array of `domain::content::Media`.
    pub media: String,
    pub source_name: Option<String>,
    pub source_url: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
    pub scheduled_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
