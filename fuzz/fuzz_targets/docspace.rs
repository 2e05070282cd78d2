//! DocSpace's answer decoding: the first byte picks the HTTP status, the cursor and
//! the page size, the rest is the body. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let status = match pick {
        0..=159 => 200,
        160..=179 => 404,
        other => 100 + u16::from(other) * 2,
    };
    let below = (pick % 4 != 0).then_some(i32::from(pick) * 1000);
    let limit = (pick % 3 != 0).then_some(u32::from(pick % 50));
    let _ = unisession::docspace::decode::connections("docspace", status, body, below, limit);
    let _ = unisession::docspace::decode::employee("people/email", status, body);
    let _ = unisession::docspace::decode::error(status, body);
});
