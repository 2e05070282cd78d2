//! A process-wide view of every provider call, for a long-running service's metrics.
//!
//! A command-line run needs none of this. A server (`unisession serve`) installs one
//! [`CallObserver`] at start-up with [`observe_calls`]; every transport in the process
//! then reports each attempt to it: the provider instance, the method, the route
//! template (never the filled-in path, which can hold a person's id), the status or
//! the failure, and the time the attempt took.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::Method;

/// One attempt of one provider call, as the transport saw it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CallEvent<'a> {
    /// The provider instance.
    pub provider: &'a str,
    /// The HTTP method.
    pub method: &'a Method,
    /// The route template below the base URL.
    pub route: &'static str,
    /// The status answered, or `None` when the attempt failed without an answer
    /// (connection refused, timeout, a body too large).
    pub status: Option<u16>,
    /// How long the attempt took.
    pub elapsed: Duration,
}

/// Told about every attempt of every provider call in the process.
pub trait CallObserver: Send + Sync + 'static {
    /// Called once per attempt, after it ended.
    fn on_call(&self, event: &CallEvent<'_>);
}

static OBSERVER: OnceLock<Arc<dyn CallObserver>> = OnceLock::new();

/// Installs the process's observer. The first call wins: `false` when one was
/// installed already (it stays).
pub fn observe_calls(observer: Arc<dyn CallObserver>) -> bool {
    OBSERVER.set(observer).is_ok()
}

pub(crate) fn report(event: &CallEvent<'_>) {
    if let Some(observer) = OBSERVER.get() {
        observer.on_call(event);
    }
}
