//! Slack's answer decoding: the first two bytes pick the HTTP status, the rest is
//! the body. Any input gives a value or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = split(data) else {
        return;
    };
    let _ = unisession::slack::decode::session_page("slack", status, body);
    let _ = unisession::slack::decode::lookup(status, body);
});

/// Mostly 200, the status the decoders do the most with.
fn split(data: &[u8]) -> Option<(u16, &[u8])> {
    let (&pick, body) = data.split_first()?;
    let status = match pick {
        0..=199 => 200,
        200..=219 => 429,
        other => 100 + u16::from(other) * 2,
    };
    Some((status, body))
}
