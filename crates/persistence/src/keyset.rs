//! Keyset pagination, shared by every list: a page is "the rows strictly
//! after (or before) a position in the ordering", found with a row-value
//! comparison on (sort value, id) that an index on the same columns turns
//! into a range scan. Unlike OFFSET, the cost does not grow with depth, and
//! rows inserted meanwhile never shift a page.

use domain::page::{Direction, Page, PageRequest, Position, SortValue};
use domain::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Order};
use sea_orm::{EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortKind {
    Time,
    Text,
}

/// One ordering of a list: by `sort`, ties broken by `id`, both ascending or
/// both descending.
pub(crate) struct Keyset {
    pub sort: Expr,
    pub id: Expr,
    pub kind: SortKind,
    pub ascending: bool,
}

impl Keyset {
    /// Adds the bounds, the order and the look-ahead limit of `page`.
    /// `after` and `before` bound the range in ordering order whichever way
    /// the page travels; a backward page walks the ordering in reverse and
    /// [`Page::from_lookahead`] turns it round.
    pub fn apply<E: EntityTrait>(
        &self,
        mut select: Select<E>,
        page: &PageRequest,
    ) -> Result<Select<E>> {
        if let Some(after) = &page.after {
            let bound = self.bound(after)?;
            let row = self.row();
            select = select.filter(if self.ascending {
                row.gt(bound)
            } else {
                row.lt(bound)
            });
        }
        if let Some(before) = &page.before {
            let bound = self.bound(before)?;
            let row = self.row();
            select = select.filter(if self.ascending {
                row.lt(bound)
            } else {
                row.gt(bound)
            });
        }
        let forward = page.direction == Direction::Forward;
        let order = if self.ascending == forward {
            Order::Asc
        } else {
            Order::Desc
        };
        Ok(select
            .order_by(self.sort.clone(), order.clone())
            .order_by(self.id.clone(), order)
            .limit(u64::from(page.limit) + 1))
    }

    fn row(&self) -> Expr {
        Expr::tuple([self.sort.clone(), self.id.clone()])
    }

    fn bound(&self, position: &Position) -> Result<Expr> {
        // Bound as typed values, so that SQLite compares them in the exact
        // text encoding it stored (sqlx writes the same RFC 3339 form for
        // both), and PostgreSQL as timestamptz.
        let value: Value = match (self.kind, &position.value) {
            (SortKind::Time, SortValue::Time(t)) => (*t).into(),
            (SortKind::Text, SortValue::Text(s)) => s.clone().into(),
            _ => {
                return Err(Error::CursorInvalid(
                    "the cursor does not belong to this list".into(),
                ));
            }
        };
        Ok(Expr::tuple([Expr::val(value), Expr::val(position.id)]))
    }
}

/// Builds the page from rows fetched by a [`Keyset::apply`]ed query.
pub(crate) fn page<T>(
    rows: Vec<T>,
    page: &PageRequest,
    position: impl Fn(&T) -> Position,
) -> Page<T> {
    let rows = rows.into_iter().map(|row| (position(&row), row)).collect();
    Page::from_lookahead(rows, page)
}
