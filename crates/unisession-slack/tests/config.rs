//! Builder validation: every bad configuration is a typed error before any request.

use secrecy::SecretString;
use unisession_core::ErrorKind;
use unisession_slack::SlackBuilder;

fn token() -> SecretString {
    SecretString::from("xoxp-1-2-abc")
}

#[test]
fn a_missing_or_unusable_token_is_refused() {
    let err = SlackBuilder::new("https://slack.com/api/")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("token is required"), "{err}");
    for bad in ["", "   ", "xoxp-1\n2", "xoxb-123-456", "xapp-1-A1-2"] {
        let err = SlackBuilder::new("https://slack.com/api/")
            .with_token(SecretString::from(bad))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        assert!(
            !err.to_string().contains(bad.trim()) || bad.trim().is_empty(),
            "the token is not echoed"
        );
    }
}

#[test]
fn bad_team_ids_page_sizes_and_chunks_are_refused() {
    let base = || SlackBuilder::new("https://slack.com/api/").with_token(token());
    assert_eq!(
        base().with_team_id("T0123ABC").build().unwrap().to_string(),
        "slack"
    );
    assert!(base().with_team_id("E0123ABC").build().is_ok());
    for bad in ["", "U123", "T12 3", "T1/../x"] {
        assert_eq!(
            base().with_team_id(bad).build().unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
    }
    assert!(base().with_page_size(0).build().is_err());
    assert!(base().with_page_size(1001).build().is_err());
    assert!(base().with_bulk_chunk(0).build().is_err());
    assert!(base().with_bulk_chunk(1001).build().is_err());
    assert!(
        base()
            .with_transport(unisession_http::TransportOptions::new().with_time_scale(0.0))
            .build()
            .is_err()
    );
}

#[test]
fn plain_http_is_refused_except_on_loopback() {
    let err = SlackBuilder::new("http://slack.example.com/api/")
        .with_token(token())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        SlackBuilder::new("http://127.0.0.1:9/api/")
            .with_token(token())
            .build()
            .is_ok()
    );
}

#[test]
fn from_env_reads_the_prefixed_variables() {
    // SAFETY: this test is the only one in this binary touching these variables.
    unsafe {
        std::env::set_var("UNISESSION_TEST_SLACK_TOKEN", "xoxp-9-9-zzz");
        std::env::set_var("UNISESSION_TEST_SLACK_TEAM_ID", "T0TEAM");
        std::env::set_var("UNISESSION_TEST_SLACK_NAME", "slack:corp");
    }
    let slack = SlackBuilder::from_env("UNISESSION_TEST_SLACK_")
        .build()
        .unwrap();
    assert_eq!(slack.to_string(), "slack:corp");
    assert!(!format!("{slack:?}").contains("zzz"));
    let err = SlackBuilder::from_env("UNISESSION_TEST_NOTHING_")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
