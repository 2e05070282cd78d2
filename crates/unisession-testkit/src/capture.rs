//! Capturing what code writes: a shared in-memory writer, and `tracing` output.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// An in-memory writer whose clones all append to one buffer (give a clone to the
/// code under test, read the original).
#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every `tracing` event of this thread at TRACE level until the guard
/// drops, as plain text: colour codes (on when another crate of the build enables
/// tracing-subscriber's `ansi` feature) would split what a scan looks for.
///
/// The subscriber is thread-local and `tracing` caches callsite interest per
/// process: a test using it should be alone in its test binary.
pub fn traces() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    (capture, tracing::subscriber::set_default(subscriber))
}
