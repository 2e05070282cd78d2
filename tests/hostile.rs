//! Hostile input through the library: every id of the corpus as a session, a user
//! and a listing filter, every email as a lookup, against each adapter and its
//! emulator. Each call ends in a typed error or a correctly encoded request that
//! finds nothing; no session of anybody changes; and every request the emulators
//! saw is an operation of the provider's official spec, well formed.

use std::collections::BTreeMap;

use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::{Emulator, EmulatorConfig};
use unisession::{
    DeviceScope, Email, ErrorKind, ListQuery, Revocation, SessionProvider, SessionRef, UserId,
    UserLookup,
};
use unisession_testkit::{Provider, Request, hostile};

/// Everybody's sessions in every provider, from the emulators' state.
fn state(emulator: &Emulator) -> BTreeMap<String, Vec<String>> {
    let mut state = BTreeMap::new();
    for person in emulator.people() {
        let ds = emulator.docspace().unwrap();
        let rc = emulator.rocketchat().unwrap();
        let slack = emulator.slack().unwrap();
        let mut ds_events: Vec<String> = ds
            .active_events_of(&person.docspace_id)
            .iter()
            .map(i32::to_string)
            .collect();
        ds_events.sort();
        state.insert(format!("docspace {}", person.email), ds_events);
        state.insert(
            format!("rocketchat {}", person.email),
            rc.live_sessions_of(&person.rocketchat_id),
        );
        state.insert(
            format!("slack {}", person.email),
            slack
                .sessions_of(&person.slack_id)
                .iter()
                .map(u64::to_string)
                .collect(),
        );
        let okta = emulator.okta().unwrap();
        let okta_sessions = okta
            .user_id_by_email(&person.email)
            .map(|id| okta.sessions_of(&id))
            .unwrap_or_default();
        state.insert(format!("okta {}", person.email), okta_sessions);
        let entra = emulator.entra().unwrap();
        let entra_sessions = entra
            .user_id_by_email(&person.email)
            .map_or(0, |id| entra.sessions_of(&id));
        state.insert(
            format!("entra {}", person.email),
            vec![entra_sessions.to_string()],
        );
        let google = emulator.google().unwrap();
        state.insert(
            format!("google {}", person.email),
            vec![
                google.sessions_of(&person.email).to_string(),
                format!("{:?}", google.grants_of(&person.email)),
            ],
        );
    }
    state
}

/// Acceptable outcomes: a refusal before sending, or the provider's "nothing here".
fn acceptable(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::InvalidInput | ErrorKind::NotFound)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_and_emails_get_a_typed_error_or_a_well_formed_request() {
    tokio::time::timeout(std::time::Duration::from_secs(120), hostile_input())
        .await
        .expect("bounded: the corpus passes within 2 minutes");
}

async fn hostile_input() {
    let ids = hostile::ids();
    let emails = hostile::emails();
    assert!(
        ids.len() >= 200 && emails.len() >= 200,
        "{} ids, {} emails",
        ids.len(),
        emails.len()
    );
    let emulator = Emulator::start(EmulatorConfig::new().users(5).log_capacity(100_000))
        .await
        .unwrap();
    let before = state(&emulator);
    let options = EmulatedOptions::default().with_time_scale(10_000.0);
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (name, provider) in emulated::providers(&emulator, &options).unwrap() {
        let provider: &dyn SessionProvider = provider.as_ref();
        let mut note = |what: &str, outcome: String| {
            *tally
                .entry(format!("{name} {what}: {outcome}"))
                .or_default() += 1;
        };
        for id in &ids {
            let label = format!("{name} {id:?}");
            if provider.capabilities().revoke_session {
                match provider
                    .revoke_session(&SessionRef::new(id.as_str()).with_user(id.as_str()))
                    .await
                {
                    Ok(Revocation::AlreadyGone) => note("revoke_session", "already gone".into()),
                    Ok(other) => panic!("{label}: revoke_session revoked something: {other:?}"),
                    Err(e) => {
                        assert!(acceptable(e.kind()), "{label}: revoke_session: {e}");
                        note("revoke_session", format!("{:?}", e.kind()));
                    }
                }
            }
            match provider
                .revoke_user_sessions(&UserId::new(id.as_str()), DeviceScope::All)
                .await
            {
                Err(e) => {
                    assert!(acceptable(e.kind()), "{label}: revoke_user_sessions: {e}");
                    note("revoke_user_sessions", format!("{:?}", e.kind()));
                }
                // Some providers answer an unknown user with success (the state check
                // below proves nobody was touched).
                Ok(r) => note("revoke_user_sessions", format!("ok {r:?}")),
            }
            if provider.capabilities().list_user_sessions {
                match provider
                    .list_sessions(&ListQuery::for_user(id.as_str()))
                    .await
                {
                    Ok(page) => {
                        assert!(page.items.is_empty(), "{label}: listed {:?}", page.items);
                        note("list_sessions", "empty".into());
                    }
                    Err(e) => {
                        assert!(acceptable(e.kind()), "{label}: list_sessions: {e}");
                        note("list_sessions", format!("{:?}", e.kind()));
                    }
                }
            }
        }
        for email in &emails {
            let parsed = match Email::parse(email) {
                Ok(parsed) => parsed,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{email:?}: {e}");
                    note("find_user", "refused before sending".into());
                    continue;
                }
            };
            match provider.find_user(&parsed).await {
                Ok(UserLookup::NotFound { .. }) => note("find_user", "not found".into()),
                Ok(other) => panic!("{name} {email:?}: found {other:?}"),
                Err(e) => {
                    assert!(acceptable(e.kind()), "{name} {email:?}: find_user: {e}");
                    note("find_user", format!("{:?}", e.kind()));
                }
            }
        }
    }
    eprintln!("{tally:#?}");
    assert_eq!(state(&emulator), before, "no session of anybody changed");

    // Every request that left is an operation of the provider's spec, well formed.
    let logs = [
        (Provider::DocSpace, emulator.docspace().unwrap().requests()),
        (
            Provider::RocketChat,
            emulator.rocketchat().unwrap().requests(),
        ),
        (Provider::Slack, emulator.slack().unwrap().requests()),
        (Provider::Okta, emulator.okta().unwrap().requests()),
        (
            Provider::Entra,
            emulator
                .entra()
                .unwrap()
                .requests()
                .into_iter()
                // The identity platform's token endpoint is not part of Graph's spec.
                .filter(|r| !r.path.ends_with("/oauth2/v2.0/token"))
                .collect(),
        ),
        (
            Provider::Google,
            emulator
                .google()
                .unwrap()
                .requests()
                .into_iter()
                // The token endpoint is not part of the Directory API.
                .filter(|r| r.path != "/token")
                .collect(),
        ),
    ];
    let mut sent = 0;
    let mut round_trips = 0;
    for (provider, log) in logs {
        let requests: Vec<Request> = log.into_iter().map(Request::from).collect();
        sent += requests.len();
        let (problems, carried) =
            hostile::check_requests(provider, &requests, |field, value| match field {
                "email" => emails.iter().any(|e| e.trim() == value),
                // Okta looks a login (an email) up at users/{id}.
                _ => ids.iter().any(|i| i == value) || emails.iter().any(|e| e.trim() == value),
            });
        round_trips += carried;
        assert!(problems.is_empty(), "{problems:#?}");
    }
    assert!(sent > 0, "some hostile input was valid enough to be sent");
    assert!(
        round_trips >= 200,
        "hostile values reached the wire and came back intact: {round_trips}"
    );
}
