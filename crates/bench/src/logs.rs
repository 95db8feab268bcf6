//! The spawned server's log, boiled down: a run at scale can log the same
//! warning thousands of times, so the report shows each kind once, with a
//! count and its first occurrence.

/// One kind of log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKind {
    /// Level, target and message, without the timestamp and fields.
    pub kind: String,
    pub count: usize,
    /// The first line of this kind, in full.
    pub first: String,
}

/// Groups `tracing-subscriber` lines (`TIMESTAMP LEVEL target: message
/// key=value …`) by level, target and message; the most frequent first,
/// then in order of first appearance.
pub fn kinds(lines: &[String]) -> Vec<LogKind> {
    let mut kinds: Vec<LogKind> = Vec::new();
    for line in lines {
        let kind = kind_of(line);
        match kinds.iter_mut().find(|k| k.kind == kind) {
            Some(existing) => existing.count += 1,
            None => kinds.push(LogKind {
                kind,
                count: 1,
                first: line.clone(),
            }),
        }
    }
    // Stable: equal counts keep their order of appearance.
    kinds.sort_by_key(|kind| std::cmp::Reverse(kind.count));
    kinds
}

/// A line without its leading timestamp and trailing `key=value` fields,
/// which differ between otherwise identical events. Lines of another shape
/// (a panic message, say) are their own kind.
fn kind_of(line: &str) -> String {
    let mut words = line.split_whitespace().peekable();
    if words
        .peek()
        .is_some_and(|first| first.len() > 10 && first.as_bytes()[4] == b'-' && first.contains('T'))
    {
        words.next();
    }
    words
        .take_while(|word| !is_field(word))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `key=value`, as `tracing` formats fields (an identifier, then `=`).
fn is_field(word: &str) -> bool {
    word.split_once('=').is_some_and(|(key, _)| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_lines_by_level_target_and_message() {
        let lines: Vec<String> = [
            "2026-11-28T10:02:37.44Z  WARN sqlx::pool::acquire: slow acquire acquired_after_secs=2.0 slow_acquire_threshold_secs=2.0",
            "2026-11-28T10:02:37.45Z ERROR api::http: a failure error=boom",
            "2026-11-28T10:02:37.46Z  WARN sqlx::pool::acquire: slow acquire acquired_after_secs=2.1 slow_acquire_threshold_secs=2.0",
            "thread 'main' panicked at src/main.rs:1:1",
        ]
        .map(str::to_owned)
        .to_vec();
        let kinds = kinds(&lines);
        assert_eq!(kinds.len(), 3);
        assert_eq!(kinds[0].kind, "WARN sqlx::pool::acquire: slow acquire");
        assert_eq!(kinds[0].count, 2);
        assert_eq!(kinds[0].first, lines[0]);
        assert_eq!(kinds[1].kind, "ERROR api::http: a failure");
        assert_eq!(kinds[2].kind, "thread 'main' panicked at src/main.rs:1:1");
    }
}
