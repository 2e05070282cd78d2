//! Decoding: one page as each adapter decodes it, through the same functions the
//! adapters call (`decode::session_page`, `decode::connections`). The bodies have
//! the providers' real shapes, every optional field filled.
//!
//! `cargo bench --bench decode`

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};

fn main() {
    divan::main();
    // The same three, as JSON lines: median of 200 timed decodes each.
    type Decode = fn(&[u8]) -> usize;
    let cases: [(&str, usize, Vec<u8>, Decode); 3] = [
        ("slack", 1000, slack_page(1000), |b| {
            unisession::slack::decode::session_page("slack", 200, b).map_or(0, |p| p.items.len())
        }),
        ("rocketchat", 100, rocketchat_page(100), |b| {
            unisession::rocketchat::decode::session_page(
                "rocketchat",
                "api/v1/sessions/list.all",
                200,
                b,
                0,
                None,
            )
            .map_or(0, |p| p.items.len())
        }),
        ("docspace", 100, docspace_page(100), |b| {
            unisession::docspace::decode::connections("docspace", 200, b, None, Some(100))
                .map_or(0, |p| p.items.len())
        }),
    ];
    for (provider, sessions, body, decode) in cases {
        let mut times: Vec<f64> = (0..200)
            .map(|_| {
                let at = std::time::Instant::now();
                assert_eq!(black_box(decode(black_box(&body))), sessions);
                at.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "{}",
            serde_json::json!({
                "bench": "decode", "provider": provider, "sessions": sessions,
                "body_bytes": body.len(), "median_us": median * 1e6,
                "sessions_per_s": sessions as f64 / median,
                "mib_per_s": body.len() as f64 / median / 1024.0 / 1024.0,
            })
        );
    }
}

fn slack_page(n: usize) -> Vec<u8> {
    let items: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let snapshot = serde_json::json!({
                "device_hardware": if i % 3 == 0 { "iPhone" } else { "Unknown" },
                "os": if i % 3 == 0 { "iOS" } else { "Mac OS X" },
                "os_version": "17.4.1",
                "slack_client_version": "4.38.125",
                "ip": format!("203.0.113.{}", i % 250),
            });
            serde_json::json!({
                "user_id": format!("W{:010}", 1_000_000 + i / 3),
                "team_id": "E0123456789",
                "session_id": 9_000_000_000u64 + i as u64,
                "created": snapshot,
                "recent": snapshot,
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "ok": true,
        "active_sessions": items,
        "response_metadata": {"next_cursor": "c2Vzc2lvbjo5MDAwMDAwOTk5"},
    }))
    .expect("JSON")
}

fn rocketchat_page(n: usize) -> Vec<u8> {
    let items: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "_id": format!("Qo{:015}", i),
                "sessionId": format!("Qo{:015}", i),
                "userId": format!("rbAXPnMk{:09}", i / 3),
                "device": {
                    "type": if i % 2 == 0 { "browser" } else { "mobile-app" },
                    "name": "Chrome", "longVersion": "126.0.6478.127",
                    "os": {"name": "Windows", "version": "10"}, "version": "126.0.0",
                },
                "host": "chat.example.com", "ip": "172.20.0.2",
                "loginAt": "2026-05-23T16:33:45.202Z",
                "_user": {"_id": format!("rbAXPnMk{:09}", i / 3), "username": format!("user.{}", i / 3), "name": "A User"},
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "sessions": items, "total": 1_000_000, "count": n, "offset": 0, "success": true,
    }))
    .expect("JSON")
}

fn docspace_page(n: usize) -> Vec<u8> {
    let items: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "id": 48_000 + i, "tenantId": 1,
                "userId": "aae1e103-bca5-9fa1-ba8c-42058b4abf28",
                "mobile": i % 2 == 1, "ip": "203.0.113.7", "country": "Germany", "city": "Berlin",
                "browser": "Chrome 126", "platform": "Windows 10",
                "date": "2026-03-10T14:22:31.0000000+01:00",
                "page": "https://portal.example.com/login",
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "response": {"loginEvent": 48_000, "items": items},
        "count": 1, "links": [], "status": 0, "statusCode": 200,
    }))
    .expect("JSON")
}

#[divan::bench]
fn slack_1000_sessions(bencher: Bencher) {
    let body = slack_page(1000);
    bencher
        .counter(ItemsCount::new(1000usize))
        .counter(BytesCount::of_slice(&body))
        .bench(|| {
            let page = unisession::slack::decode::session_page("slack", 200, black_box(&body))
                .expect("decodes");
            assert_eq!(page.items.len(), 1000);
            page
        });
}

#[divan::bench]
fn rocketchat_100_sessions(bencher: Bencher) {
    let body = rocketchat_page(100);
    bencher
        .counter(ItemsCount::new(100usize))
        .counter(BytesCount::of_slice(&body))
        .bench(|| {
            let page = unisession::rocketchat::decode::session_page(
                "rocketchat",
                "api/v1/sessions/list.all",
                200,
                black_box(&body),
                0,
                None,
            )
            .expect("decodes");
            assert_eq!(page.items.len(), 100);
            page
        });
}

#[divan::bench]
fn docspace_100_sessions(bencher: Bencher) {
    let body = docspace_page(100);
    bencher
        .counter(ItemsCount::new(100usize))
        .counter(BytesCount::of_slice(&body))
        .bench(|| {
            let page = unisession::docspace::decode::connections(
                "docspace",
                200,
                black_box(&body),
                None,
                Some(100),
            )
            .expect("decodes");
            assert_eq!(page.items.len(), 100);
            page
        });
}
