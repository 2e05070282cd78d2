//! A process-wide view of every provider call, for a long-running service's metrics.
//!
//! A command-line run needs none of this. A server (`unisession serve`) installs a
//! [`CallObserver`] at start-up with [`observe_calls`]; every transport in the process
//! then reports each attempt to it: the provider instance, the method, the route
//! template (never the filled-in path, which can hold a person's id), the status or
//! the failure, and the time the attempt took.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
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

type Observers = RwLock<Vec<(u64, Arc<dyn CallObserver>)>>;

static OBSERVERS: Observers = RwLock::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// Keeps an observer installed; dropping it removes the observer.
#[must_use = "the observer is removed when this is dropped"]
#[derive(Debug)]
pub struct Observation(u64);

impl Drop for Observation {
    fn drop(&mut self) {
        if let Ok(mut observers) = OBSERVERS.write() {
            observers.retain(|(id, _)| *id != self.0);
        }
    }
}

/// Installs `observer` for as long as the returned [`Observation`] lives. Several may
/// be installed at once (each server of a process has its own); each sees every call.
pub fn observe_calls(observer: Arc<dyn CallObserver>) -> Observation {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut observers) = OBSERVERS.write() {
        observers.push((id, observer));
    }
    Observation(id)
}

pub(crate) fn report(event: &CallEvent<'_>) {
    if let Ok(observers) = OBSERVERS.read() {
        for (_, observer) in observers.iter() {
            observer.on_call(event);
        }
    }
}
