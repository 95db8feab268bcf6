//! The `Subscription` root: live blogs, breaking news and articles as they
//! happen, merged from the subjects' `subscription` modules in the order of
//! API.md.
//!
//! How a subscription behaves, whatever the transport:
//! - It is opened by the newsroom ([`domain::Newsroom::feed`]), which
//!   delivers its stream's events exactly once and in commit order, first
//!   replaying the log after `after:` when given. Everything that can go
//!   wrong at subscribe time (a malformed id, an unknown live blog, a bad
//!   or foreign cursor) is one GraphQL error with its `extensions.code`,
//!   after which the subscription completes: never a silent hang.
//! - An error while it runs (the subscriber fell behind: `SLOW_CONSUMER`;
//!   the store failed: `INTERNAL`) is delivered as a last item carrying the
//!   error, and the subscription completes. Resubscribing with the cursor
//!   of the last event received resumes with nothing lost.
//! - Subscriptions are public: they run as an anonymous reader whatever
//!   token the connection carries (see [`crate::graphql::context`]), so
//!   they only ever show published content.
//! - Streams own what they use (`'static`): the newsroom is cloned in.
//! - Each resolver also runs in the WebSocket transport's probe and pinned
//!   modes ([`crate::graphql::fanout`]), which share its validation,
//!   filters and mapping: over WebSocket an event is executed once per
//!   distinct subscription, not once per subscriber.

use async_graphql::MergedSubscription;
use futures::stream::{BoxStream, Stream, StreamExt};

use crate::graphql::article::subscription::ArticleSubscriptions;
use crate::graphql::breaking::subscription::BreakingSubscriptions;
use crate::graphql::errors::{ApiError, ApiResult};
use crate::graphql::live_blog::subscription::LiveBlogSubscriptions;

/// What readers' widgets follow live, over WebSocket (`GET /graphql`).
#[derive(MergedSubscription, Default)]
pub struct Subscription(
    LiveBlogSubscriptions,
    BreakingSubscriptions,
    ArticleSubscriptions,
);

/// A subscription's items: what the field yields, or the error that ended
/// it. (Resolvers return `Result<EventStream<T>, ApiError>` spelled out:
/// async-graphql's macro recognises a fallible subscription by the name
/// `Result`, not by an alias.)
pub type EventStream<T> = BoxStream<'static, ApiResult<T>>;

/// Passes items on until the first error, which is passed on too and ends
/// the stream: a subscription that failed (fell behind, lost its store)
/// must not carry on as if nothing was missed.
pub(crate) fn until_error<T, E>(
    items: impl Stream<Item = Result<T, E>> + Send + 'static,
) -> EventStream<T>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    items
        .scan(false, |failed, item| {
            let next = if *failed {
                None
            } else {
                *failed = item.is_err();
                Some(item.map_err(Into::into))
            };
            futures::future::ready(next)
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;

    #[tokio::test]
    async fn a_stream_ends_with_its_first_error() {
        let items = stream::iter(vec![
            Ok(1),
            Err(domain::Error::SlowConsumer),
            Ok(2),
            Err(domain::Error::internal("later")),
        ]);
        let seen: Vec<_> = until_error(items).collect().await;
        assert_eq!(seen.len(), 2);
        assert!(matches!(seen[0], Ok(1)));
        assert!(matches!(
            seen[1].as_ref().map_err(ApiError::domain),
            Err(domain::Error::SlowConsumer)
        ));
    }
}
