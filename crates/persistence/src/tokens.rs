//! Desk tokens, stored as hashes. A revoked token stays in the table (for
//! the record) but never authenticates again.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::auth::{Principal, Role, StoredToken};
use domain::ids::TokenId;
use domain::ports::TokenRepository;
use domain::{Error, Result, clock};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::db::Database;
use crate::entity::api_token;
use crate::error::{DbResultExt, conflict_on_unique, corrupt};

#[async_trait]
impl TokenRepository for Database {
    async fn insert_token(&self, token: &StoredToken) -> Result<()> {
        api_token::Entity::insert(api_token::ActiveModel {
            id: Set(token.id.0),
            name: Set(token.name.clone()),
            role: Set(token.role.as_str().to_owned()),
            hash: Set(token.hash.clone()),
            created_at: Set(token.created_at),
            expires_at: Set(token.expires_at),
            revoked_at: Set(None),
        })
        .exec_without_returning(self.conn())
        .await
        .map_err(|e| {
            conflict_on_unique(e, || {
                Error::Conflict("a token with this hash exists".into())
            })
        })?;
        Ok(())
    }

    async fn revoke_tokens(&self, name: &str) -> Result<u64> {
        let result = api_token::Entity::update_many()
            .col_expr(api_token::Column::RevokedAt, Expr::value(clock::now()))
            .filter(api_token::Column::Name.eq(name))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(self.conn())
            .await
            .db()?;
        Ok(result.rows_affected)
    }

    async fn principal_by_token_hash(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>> {
        let Some(row) = api_token::Entity::find()
            .filter(api_token::Column::Hash.eq(hash))
            .filter(authenticates_at(now))
            .one(self.conn())
            .await
            .db()?
        else {
            return Ok(None);
        };
        Ok(Some(Principal {
            token_id: TokenId(row.id),
            name: row.name,
            role: Role::parse(&row.role).map_err(|e| corrupt("token role", e))?,
        }))
    }

    async fn active_tokens(&self, ids: &[TokenId], now: DateTime<Utc>) -> Result<Vec<TokenId>> {
        let mut active = Vec::with_capacity(ids.len());
        // A node holds at most a few hundred desk sockets; chunks keep the
        // statement within every database's parameter limit regardless.
        for chunk in ids.chunks(500) {
            let found: Vec<Uuid> = api_token::Entity::find()
                .select_only()
                .column(api_token::Column::Id)
                .filter(api_token::Column::Id.is_in(chunk.iter().map(|id| id.0)))
                .filter(authenticates_at(now))
                .into_tuple()
                .all(self.conn())
                .await
                .db()?;
            active.extend(found.into_iter().map(TokenId));
        }
        Ok(active)
    }
}

/// Tokens that are neither revoked nor expired at `now`.
fn authenticates_at(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(api_token::Column::RevokedAt.is_null())
        .add(
            Condition::any()
                .add(api_token::Column::ExpiresAt.is_null())
                .add(api_token::Column::ExpiresAt.gt(now)),
        )
}
