//! Typed identifiers, so that an author id can never be passed where an
//! article id is expected. All are UUIDs; new ones are v7 (time-ordered),
//! which keeps primary-key indexes append-mostly.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($($name:ident),+ $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )+};
}

id_type!(
    SectionId,
    ArticleId,
    AuthorId,
    TagId,
    LiveBlogId,
    LiveEntryId,
    BreakingNewsId,
    TokenId,
);
