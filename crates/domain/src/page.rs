//! Cursor pagination in the Relay style, as the domain sees it: a request
//! (how many, from which position, which way) and a page of items each with
//! its cursor. Cursors are opaque to clients but carry the ordering they were
//! made for, so a cursor from one list or ordering is refused by another
//! instead of silently returning the wrong page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{Error, Result};

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// The sort value of a row in a keyset ordering.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Time(DateTime<Utc>),
    Text(String),
    /// Offsets, for rankings (search) that have no stable key.
    Int(i64),
}

/// A row's place in an ordering: its sort value with its id as tie-breaker.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub value: SortValue,
    pub id: Uuid,
}

impl Position {
    pub fn new(value: SortValue, id: Uuid) -> Self {
        Position { value, id }
    }

    /// Encodes the position for `ordering`, a short name of the list and its
    /// sort ("articles.published_desc").
    pub fn encode(&self, ordering: &str) -> String {
        let value = match &self.value {
            SortValue::Time(t) => format!("t:{}", t.timestamp_micros()),
            SortValue::Text(s) => format!("s:{s}"),
            SortValue::Int(i) => format!("i:{i}"),
        };
        URL_SAFE_NO_PAD.encode(format!("{ordering}\n{}\n{value}", self.id))
    }

    pub fn decode(ordering: &str, cursor: &str) -> Result<Self> {
        let invalid = || Error::CursorInvalid(format!("`{cursor}` is not a cursor of this list"));
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.splitn(3, '\n');
        let (Some(found), Some(id), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        if found != ordering {
            return Err(invalid());
        }
        let id = Uuid::parse_str(id).map_err(|_| invalid())?;
        let value = match value.split_once(':') {
            Some(("t", micros)) => micros
                .parse()
                .ok()
                .and_then(DateTime::from_timestamp_micros)
                .map(SortValue::Time),
            Some(("s", s)) => Some(SortValue::Text(s.to_owned())),
            Some(("i", i)) => i.parse().ok().map(SortValue::Int),
            _ => None,
        }
        .ok_or_else(invalid)?;
        Ok(Position { value, id })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `first`/`after`: from the start of the ordering onwards.
    Forward,
    /// `last`/`before`: from the end backwards; results still come in
    /// ordering order.
    Backward,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub limit: u32,
    pub direction: Direction,
    pub after: Option<Position>,
    pub before: Option<Position>,
}

impl PageRequest {
    /// Validates Relay arguments: `first` and `last` are exclusive, neither
    /// is negative or above [`MAX_PAGE_SIZE`], and cursors belong to
    /// `ordering`.
    pub fn parse(
        ordering: &str,
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
    ) -> Result<Self> {
        let size = |name: &str, n: i32| -> Result<u32> {
            u32::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_PAGE_SIZE)
                .ok_or_else(|| {
                    Error::invalid(name, format!("must be between 0 and {MAX_PAGE_SIZE}"))
                })
        };
        let (limit, direction) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "last",
                    "pass either `first` or `last`, not both",
                ));
            }
            (None, Some(n)) => (size("last", n)?, Direction::Backward),
            (Some(n), None) => (size("first", n)?, Direction::Forward),
            (None, None) if before.is_some() && after.is_none() => {
                (DEFAULT_PAGE_SIZE, Direction::Backward)
            }
            (None, None) => (DEFAULT_PAGE_SIZE, Direction::Forward),
        };
        Ok(PageRequest {
            limit,
            direction,
            after: after.map(|c| Position::decode(ordering, c)).transpose()?,
            before: before.map(|c| Position::decode(ordering, c)).transpose()?,
        })
    }

    pub fn first(limit: u32) -> Self {
        PageRequest {
            limit,
            direction: Direction::Forward,
            after: None,
            before: None,
        }
    }
}

/// One page of a list, in ordering order.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(Position, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    pub fn empty() -> Self {
        Page {
            items: Vec::new(),
            has_next_page: false,
            has_previous_page: false,
        }
    }

    /// Builds a page from rows fetched with one extra row of look-ahead
    /// (`limit + 1`), in the direction of travel. Repositories share this so
    /// that the has-more logic is written once.
    pub fn from_lookahead(mut rows: Vec<(Position, T)>, request: &PageRequest) -> Self {
        let limit = request.limit as usize;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        match request.direction {
            Direction::Forward => Page {
                items: rows,
                has_next_page: has_more,
                has_previous_page: request.after.is_some(),
            },
            Direction::Backward => {
                rows.reverse();
                Page {
                    items: rows,
                    has_next_page: request.before.is_some(),
                    has_previous_page: has_more,
                }
            }
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        let mut f = f;
        Page {
            items: self.items.into_iter().map(|(p, t)| (p, f(t))).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_for_its_own_ordering() {
        let t = DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap();
        let pos = Position::new(SortValue::Time(t), Uuid::now_v7());
        let cursor = pos.encode("articles.published_desc");
        assert_eq!(
            Position::decode("articles.published_desc", &cursor).unwrap(),
            pos
        );
    }

    #[test]
    fn a_cursor_of_another_ordering_is_refused() {
        let pos = Position::new(SortValue::Text("Jana".into()), Uuid::now_v7());
        let cursor = pos.encode("authors.name");
        assert!(matches!(
            Position::decode("tags.name", &cursor),
            Err(Error::CursorInvalid(_))
        ));
    }

    #[test]
    fn garbage_is_not_a_cursor() {
        for bad in ["", "!!!", "bm90IGEgY3Vyc29y", "YXJ0aWNsZXMKeAp0OjE"] {
            assert!(
                matches!(
                    Position::decode("articles", bad),
                    Err(Error::CursorInvalid(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn first_and_last_are_exclusive() {
        assert!(PageRequest::parse("x", Some(1), None, Some(1), None).is_err());
    }

    #[test]
    fn page_sizes_are_capped_at_one_hundred() {
        assert!(PageRequest::parse("x", Some(101), None, None, None).is_err());
        assert!(PageRequest::parse("x", Some(-1), None, None, None).is_err());
        assert_eq!(
            PageRequest::parse("x", Some(100), None, None, None)
                .unwrap()
                .limit,
            100
        );
        assert_eq!(
            PageRequest::parse("x", None, None, None, None)
                .unwrap()
                .limit,
            DEFAULT_PAGE_SIZE
        );
    }

    #[test]
    fn last_pages_backwards_and_keeps_ordering_order() {
        let request = PageRequest::parse("x", None, None, Some(2), None).unwrap();
        let rows = (0..3)
            .map(|i| (Position::new(SortValue::Int(i), Uuid::nil()), i))
            .collect();
        let page = Page::from_lookahead(rows, &request);
        assert_eq!(
            page.items.iter().map(|(_, i)| *i).collect::<Vec<_>>(),
            [1, 0]
        );
        assert!(page.has_previous_page);
        assert!(!page.has_next_page);
    }

    #[test]
    fn a_forward_page_knows_there_is_more() {
        let request = PageRequest::first(2);
        let rows = (0..3)
            .map(|i| (Position::new(SortValue::Int(i), Uuid::nil()), i))
            .collect();
        let page = Page::from_lookahead(rows, &request);
        assert_eq!(page.items.len(), 2);
        assert!(page.has_next_page);
    }
}
