//! Rocket.Chat's answer decoding: the first byte picks the HTTP status, the route
//! and the user filter, the rest is the body. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use unisession::UserId;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let status = if pick < 160 { 200 } else { 100 + u16::from(pick) * 2 };
    let route = if pick % 2 == 0 {
        "api/v1/sessions/list.all"
    } else {
        "api/v1/sessions/list"
    };
    let user = (pick % 3 == 0).then(|| UserId::new("rbAXPnMktTFbNpwtJ"));
    let _ = unisession::rocketchat::decode::session_page(
        "rocketchat",
        route,
        status,
        body,
        u64::from(pick) * 100,
        user.as_ref(),
    );
    let _ = unisession::rocketchat::decode::error(status, body, pick % 2 == 0);
});
