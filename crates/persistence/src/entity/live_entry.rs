use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "live_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub live_blog_id: Uuid,
    pub body_html: String,
    pub body_text: String,
    pub author_id: Option<Uuid>,
    pub key_event: bool,
    pub pinned: bool,
    /// JSON array of `domain::content::Media`.
    pub media: String,
    pub posted_at: DateTimeUtc,
    pub edited_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
