//! Counting the retries made on behalf of one operation, across any provider.
//!
//! A transport calls [`record_retry`] each time it retries a request. A caller that
//! wants the count for one operation wraps the operation's future in
//! [`track_retries`]. This works with any executor: the counter is installed in a
//! thread-local only while the wrapped future is being polled.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

/// One active scope, linked to the scope it is nested in.
struct Scope {
    counter: Arc<AtomicU32>,
    parent: Option<Arc<Scope>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Scope>>> = const { RefCell::new(None) };
}

/// Records one retry against every operation being tracked on this task (a nested
/// scope's retries count for the scopes around it too).
pub fn record_retry() {
    CURRENT.with(|current| {
        let mut scope = current.borrow().clone();
        while let Some(s) = scope {
            s.counter.fetch_add(1, Ordering::Relaxed);
            scope = s.parent.clone();
        }
    });
}

/// Wraps `future` so that its output comes with the number of retries recorded
/// while it ran, nested scopes included. Work the future spawns onto other tasks is
/// not counted.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use unisession_core::telemetry::{record_retry, track_retries};
/// let (value, retries) = track_retries(async { record_retry(); record_retry(); 7 }).await;
/// assert_eq!((value, retries), (7, 2));
/// # }
/// ```
pub fn track_retries<F: Future>(future: F) -> TrackRetries<F> {
    TrackRetries {
        inner: Box::pin(future),
        counter: Arc::new(AtomicU32::new(0)),
    }
}

/// The future returned by [`track_retries`].
#[must_use = "futures do nothing unless polled"]
pub struct TrackRetries<F> {
    inner: Pin<Box<F>>,
    counter: Arc<AtomicU32>,
}

impl<F: Future> Future for TrackRetries<F> {
    type Output = (F::Output, u32);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let counter = self.counter.clone();
        let previous = CURRENT.with(|current| {
            let parent = current.borrow().clone();
            current
                .borrow_mut()
                .replace(Arc::new(Scope { counter, parent }))
        });
        let polled = self.inner.as_mut().poll(cx);
        CURRENT.with(|current| *current.borrow_mut() = previous);
        polled.map(|output| (output, self.counter.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nested_retries_count_for_the_enclosing_scope_too_and_outside_counts_nothing() {
        record_retry(); // no scope: ignored
        let ((inner, inner_count), outer_count) = track_retries(async {
            record_retry();
            let inner = track_retries(async {
                record_retry();
                record_retry();
            })
            .await;
            record_retry();
            inner
        })
        .await;
        assert_eq!(inner, ());
        assert_eq!(inner_count, 2);
        assert_eq!(outer_count, 4);
    }

    #[tokio::test]
    async fn counts_across_await_points() {
        let ((), count) = track_retries(async {
            record_retry();
            tokio::task::yield_now().await;
            record_retry();
        })
        .await;
        assert_eq!(count, 2);
    }
}
