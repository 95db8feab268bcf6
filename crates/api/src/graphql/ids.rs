//! Relay global object identification: every object's `id` is the opaque
//! `base64url("Type:<uuid>")`, so `node(id:)` can find any object, and a
//! mutation handed an author's id where an article's is expected says so
//! instead of looking up the wrong table.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::Error;
use domain::ids::{ArticleId, AuthorId, BreakingNewsId, LiveBlogId, LiveEntryId, SectionId, TagId};
use uuid::Uuid;

/// The GraphQL types that have global ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Article,
    Author,
    Tag,
    Section,
    LiveBlog,
    LiveEntry,
    BreakingNews,
}

impl NodeKind {
    const ALL: [NodeKind; 7] = [
        NodeKind::Article,
        NodeKind::Author,
        NodeKind::Tag,
        NodeKind::Section,
        NodeKind::LiveBlog,
        NodeKind::LiveEntry,
        NodeKind::BreakingNews,
    ];

    /// The GraphQL type name, which is also the id's prefix.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Article => "Article",
            NodeKind::Author => "Author",
            NodeKind::Tag => "Tag",
            NodeKind::Section => "Section",
            NodeKind::LiveBlog => "LiveBlog",
            NodeKind::LiveEntry => "LiveEntry",
            NodeKind::BreakingNews => "BreakingNews",
        }
    }
}

/// A domain id type that has a global id.
pub trait NodeId: Sized + Copy {
    const KIND: NodeKind;
    fn from_uuid(uuid: Uuid) -> Self;
    fn uuid(self) -> Uuid;
}

macro_rules! node_id {
    ($($ty:ty => $kind:ident),+ $(,)?) => {$(
        impl NodeId for $ty {
            const KIND: NodeKind = NodeKind::$kind;
            fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            fn uuid(self) -> Uuid {
                self.0
            }
        }
    )+};
}

node_id!(
    ArticleId => Article,
    AuthorId => Author,
    TagId => Tag,
    SectionId => Section,
    LiveBlogId => LiveBlog,
    LiveEntryId => LiveEntry,
    BreakingNewsId => BreakingNews,
);

pub fn encode(kind: NodeKind, uuid: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{uuid}", kind.name())))
}

pub fn to_global<T: NodeId>(id: T) -> ID {
    encode(T::KIND, id.uuid())
}

/// Decodes any global id. `field` names the argument for the error.
pub fn decode(field: &str, id: &str) -> Result<(NodeKind, Uuid), Error> {
    let malformed = || Error::invalid(field, format!("`{id}` is not a valid id"));
    // Tolerate padding: some clients re-encode ids with standard base64url.
    let bytes = URL_SAFE_NO_PAD
        .decode(id.trim().trim_end_matches('='))
        .map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (name, uuid) = text.split_once(':').ok_or_else(malformed)?;
    let kind = NodeKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(malformed)?;
    let uuid = Uuid::parse_str(uuid).map_err(|_| malformed())?;
    Ok((kind, uuid))
}

/// Decodes a global id that must be of type `T`.
pub fn from_global<T: NodeId>(field: &str, id: &str) -> Result<T, Error> {
    match decode(field, id)? {
        (kind, uuid) if kind == T::KIND => Ok(T::from_uuid(uuid)),
        (kind, _) => Err(Error::invalid(
            field,
            format!(
                "expected the id of a {}, got the id of a {}",
                T::KIND.name(),
                kind.name()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_global_id_round_trips_for_its_own_type() {
        let id = ArticleId::new();
        let global = to_global(id);
        assert_eq!(from_global::<ArticleId>("id", &global).unwrap(), id);
        assert_eq!(decode("id", &global).unwrap(), (NodeKind::Article, id.0));
    }

    #[test]
    fn a_global_id_is_base64url_of_type_and_uuid() {
        let uuid = Uuid::nil();
        let global = encode(NodeKind::LiveEntry, uuid);
        let raw = URL_SAFE_NO_PAD.decode(global.as_str()).unwrap();
        assert_eq!(String::from_utf8(raw).unwrap(), format!("LiveEntry:{uuid}"));
    }

    #[test]
    fn a_global_id_of_another_type_is_bad_input_naming_both_types() {
        let author = to_global(AuthorId::new());
        let err = from_global::<ArticleId>("input.id", &author).unwrap_err();
        match err {
            Error::Invalid { field, message } => {
                assert_eq!(field, "input.id");
                assert!(message.contains("Article") && message.contains("Author"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn malformed_ids_are_bad_input() {
        let bad_type = URL_SAFE_NO_PAD.encode(format!("Planet:{}", Uuid::nil()));
        let bad_uuid = URL_SAFE_NO_PAD.encode("Article:not-a-uuid");
        for bad in ["", "!!", "QXJ0aWNsZQ", bad_type.as_str(), bad_uuid.as_str()] {
            assert!(
                matches!(decode("id", bad), Err(Error::Invalid { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn padded_ids_are_accepted() {
        let id = TagId::new();
        let padded = format!("{}==", to_global(id).as_str());
        assert_eq!(from_global::<TagId>("id", &padded).unwrap(), id);
    }
}
