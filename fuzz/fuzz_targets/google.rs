//! The Directory API's answer decoding: the first byte picks the HTTP status, the
//! rest is the body. Any input gives a value or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let status = match pick {
        0..=199 => 200,
        200..=219 => 403,
        other => 100 + u16::from(other) * 2,
    };
    let _ = unisession::google::decode::user(body);
    let _ = unisession::google::decode::error_kind(status, body);
});
