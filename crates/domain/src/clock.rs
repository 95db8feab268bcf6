//! Time as the store keeps it. PostgreSQL keeps microseconds; truncating
//! every timestamp the newsroom creates means what is written reads back
//! equal on both databases, and cursors built from either compare exactly.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

pub fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

pub fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}
