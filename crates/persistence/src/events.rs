//! The event log: appending a write's events inside the write's own
//! transaction, and reading a stream back for subscriptions that replay.
//!
//! Why it is built this way: subscribers deliver each sequence number once
//! and in order, and treat a sequence they have not seen as "the log has
//! it". That only holds if, within a stream, sequence order is commit
//! order. Each stream therefore has a counter row in `event_streams`, and a
//! write takes its sequence numbers by bumping that row: on PostgreSQL the
//! row stays locked until the write commits (or rolls back, giving the
//! numbers back), so writers of one stream queue in commit order; SQLite
//! has a single writer anyway (writes begin IMMEDIATE). A write that fails
//! rolls back its events and its sequence numbers with it.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use domain::clock;
use domain::events::{Event, EventRecord, Stream};
use domain::ports::EventLog;
use domain::{Error, Result};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::db::Database;
use crate::entity::{event, event_stream};
use crate::error::{DbResultExt, corrupt};

/// Appends `events` in `txn`, then commits: the end of every write method
/// that readers can subscribe to. Returns the events as committed.
pub(crate) async fn commit_with(
    txn: DatabaseTransaction,
    events: &[Event],
) -> Result<Vec<EventRecord>> {
    let records = append(&txn, events).await?;
    txn.commit().await.db()?;
    Ok(records)
}

/// Gives each event the next sequence number of its stream (in the order
/// given) and stores it. Nothing is written for no events.
async fn append(txn: &DatabaseTransaction, events: &[Event]) -> Result<Vec<EventRecord>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    // One counter bump per stream, for all of its events at once. Streams
    // are bumped in key order, so two writes that touch the same streams
    // lock them in the same order and cannot deadlock.
    let mut next: BTreeMap<String, i64> = BTreeMap::new();
    for event in events {
        *next.entry(event.stream().key()).or_default() += 1;
    }
    for (key, count) in next.iter_mut() {
        let last = bump(txn, key, *count).await?;
        *count = last - *count + 1;
    }
    // Taken once the counters are held, so within a stream it does not run
    // backwards across commits (as far as the clocks of the nodes agree).
    let occurred_at = clock::now();
    let mut rows = Vec::with_capacity(events.len());
    let mut records = Vec::with_capacity(events.len());
    for event in events {
        let stream = event.stream();
        let key = stream.key();
        let slot = next
            .get_mut(&key)
            .ok_or_else(|| Error::internal(format!("no sequence taken for {key}")))?;
        let seq = *slot;
        *slot += 1;
        rows.push(event::ActiveModel {
            stream: Set(key),
            seq: Set(seq),
            kind: Set(event.kind().to_owned()),
            payload: Set(serde_json::to_string(event).map_err(Error::internal)?),
            occurred_at: Set(occurred_at),
        });
        records.push(EventRecord {
            stream,
            seq,
            occurred_at,
            event: event.clone(),
        });
    }
    event::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await
        .db()?;
    Ok(records)
}

/// Adds `count` to the stream's counter, creating it at 0 first, and
/// returns the new value; the row stays locked until `txn` ends. One
/// statement (an upsert with RETURNING, on both databases): under
/// concurrency PostgreSQL either inserts or waits for the row's lock and
/// then updates the committed value, never both nor neither.
async fn bump(txn: &DatabaseTransaction, key: &str, count: i64) -> Result<i64> {
    let mut insert = Query::insert();
    insert
        .into_table(event_stream::Entity)
        .columns([event_stream::Column::Stream, event_stream::Column::LastSeq])
        .values([key.into(), count.into()])
        .map_err(Error::internal)?
        .on_conflict(
            OnConflict::column(event_stream::Column::Stream)
                .value(
                    event_stream::Column::LastSeq,
                    Expr::col((event_stream::Entity, event_stream::Column::LastSeq)).add(count),
                )
                .to_owned(),
        )
        .returning_col(event_stream::Column::LastSeq);
    let row = txn
        .query_one(&insert)
        .await
        .db()?
        .ok_or_else(|| Error::internal(format!("the counter of {key} returned no row")))?;
    row.try_get::<i64>("", "last_seq").db()
}

fn to_record(stream: Stream, row: event::Model) -> Result<EventRecord> {
    let event: Event = serde_json::from_str(&row.payload).map_err(|e| corrupt("event", e))?;
    if event.stream() != stream {
        return Err(corrupt(
            "event",
            format!(
                "{} #{} is an event of {}",
                row.stream,
                row.seq,
                event.stream().key()
            ),
        ));
    }
    Ok(EventRecord {
        stream,
        seq: row.seq,
        occurred_at: row.occurred_at,
        event,
    })
}

#[async_trait]
impl EventLog for Database {
    async fn events_after(
        &self,
        stream: &Stream,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>> {
        event::Entity::find()
            .filter(event::Column::Stream.eq(stream.key()))
            .filter(event::Column::Seq.gt(after))
            .order_by_asc(event::Column::Seq)
            .limit(u64::from(limit))
            .all(self.conn())
            .await
            .db()?
            .into_iter()
            .map(|row| to_record(*stream, row))
            .collect()
    }

    async fn latest_seq(&self, stream: &Stream) -> Result<i64> {
        let last = event_stream::Entity::find_by_id(stream.key())
            .select_only()
            .column(event_stream::Column::LastSeq)
            .into_tuple::<i64>()
            .one(self.conn())
            .await
            .db()?;
        Ok(last.unwrap_or(0))
    }

    async fn latest_seqs(&self, streams: &[Stream]) -> Result<Vec<(Stream, i64)>> {
        if streams.is_empty() {
            return Ok(Vec::new());
        }
        let by_key: HashMap<String, Stream> = streams.iter().map(|s| (s.key(), *s)).collect();
        let rows = event_stream::Entity::find()
            .filter(event_stream::Column::Stream.is_in(by_key.keys().cloned()))
            .select_only()
            .column(event_stream::Column::Stream)
            .column(event_stream::Column::LastSeq)
            .into_tuple::<(String, i64)>()
            .all(self.conn())
            .await
            .db()?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, seq)| by_key.get(&key).map(|stream| (*stream, seq)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use domain::ids::{LiveBlogId, LiveEntryId};
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    use super::*;

    async fn with_row(stream: &Stream, payload: &str) -> Database {
        let db = Database::connect("sqlite::memory:").await.expect("open");
        db.migrate().await.expect("migrate");
        db.conn()
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO events (stream, seq, kind, payload, occurred_at) \
                 VALUES (?, 1, 'liveEntryDeleted', ?, '2026-11-28 10:00:00+00:00')",
                [stream.key().into(), payload.into()],
            ))
            .await
            .expect("insert by hand");
        db
    }

    fn deleted(blog: LiveBlogId) -> Event {
        Event::LiveEntryDeleted {
            live_blog_id: blog,
            entry_id: LiveEntryId::new(),
        }
    }

    /// The control for the two below: a sound row written the same way reads.
    #[tokio::test]
    async fn a_sound_row_written_by_hand_reads_back() {
        let blog = LiveBlogId::new();
        let event = deleted(blog);
        let payload = serde_json::to_string(&event).expect("json");
        let stream = Stream::LiveBlog(blog);
        let db = with_row(&stream, &payload).await;
        let records = db.events_after(&stream, 0, 10).await.expect("reads");
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].event, event);
    }

    #[tokio::test]
    async fn a_payload_that_does_not_parse_is_internal() {
        let stream = Stream::LiveBlog(LiveBlogId::new());
        let db = with_row(&stream, "{\"type\":\"nonsense\"}").await;
        let err = db.events_after(&stream, 0, 10).await.expect_err("corrupt");
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
    }

    #[tokio::test]
    async fn an_event_filed_under_another_stream_is_internal() {
        let payload = serde_json::to_string(&deleted(LiveBlogId::new())).expect("json");
        let stream = Stream::LiveBlog(LiveBlogId::new());
        let db = with_row(&stream, &payload).await;
        let err = db.events_after(&stream, 0, 10).await.expect_err("misfiled");
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
    }
}
