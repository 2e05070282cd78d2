//! The SSF receiver over real HTTP against a fake transmitter (its RSA key generated
//! at start, its discovery document, JWKS, stream management, push and poll on
//! loopback), with jobs offboarding from the emulators.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::API_TOKEN;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{Value, json};
use unisession::emulated;
use unisession::emulator::ssf::{self as tx, SsfTransmitter};
use unisession::emulator::universal_logout::SigningKey;
use unisession::emulator::{Emulator, EmulatorConfig, Person};
use unisession_http::{Settings, TransportOptions};
use unisession_serve::{Running, ServeConfig, Server};

const PUSH_SECRET: &str = "Bearer push-secret-0123456789abcdef0123456789";
const ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
const CREDENTIAL_COMPROMISE: &str =
    "https://schemas.openid.net/secevent/risc/event-type/credential-compromise";

struct Receiving {
    emulator: Emulator,
    tx: SsfTransmitter,
    running: Option<Running>,
    push_url: String,
    base: String,
    http: reqwest::Client,
    dir: tempfile::TempDir,
    table: serde_json::Map<String, Value>,
}

fn build(table: &serde_json::Map<String, Value>, dir: &std::path::Path) -> ServeConfig {
    let settings = Settings::new(table.clone(), dir, TransportOptions::new())
        .with_secret("api_token", SecretString::from(API_TOKEN))
        .with_secret("authorization_header", SecretString::from(PUSH_SECRET))
        .with_secret("client_secret", SecretString::from(tx::CLIENT_SECRET));
    ServeConfig::from_settings(&settings, dir).unwrap()
}

impl Receiving {
    /// A server with one transmitter, delivered by `delivery` (`push` or `poll`),
    /// managed with client credentials; `transmitter` is merged over its table.
    async fn start(delivery: &str, transmitter: Value, extra: Value) -> Self {
        let emulator = Emulator::start(EmulatorConfig::new().users(6))
            .await
            .unwrap();
        let tx = SsfTransmitter::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let port = common::free_port();
        let push_url = format!("http://127.0.0.1:{port}/ssf/push");
        let mut t = json!({
            "issuer": tx.issuer(),
            "allow_insecure_http": true,
            "delivery": delivery,
            "token_url": tx.token_url(),
            "client_id": tx::CLIENT_ID,
            "jwks_refresh_seconds": 1,
        });
        if delivery == "push" {
            t["push_url"] = json!(push_url);
        } else {
            t["poll_seconds"] = json!(0.05);
        }
        // "TX_ISSUER" in `transmitter` stands for the fake transmitter's issuer.
        let transmitter: Value =
            serde_json::from_str(&transmitter.to_string().replace("TX_ISSUER", tx.issuer()))
                .unwrap();
        for (k, v) in transmitter.as_object().unwrap() {
            if v.is_null() {
                t.as_object_mut().unwrap().remove(k);
            } else {
                t[k] = v.clone();
            }
        }
        let mut table = json!({
            "listen": format!("127.0.0.1:{port}"),
            "endpoint_url": format!("http://127.0.0.1:{port}/global-token-revocation"),
            "database": dir.path().join("jobs.db").display().to_string(),
            "workers": 2,
            "poll_millis": 20,
            "never_revoke": ["breakglass@example.com"],
            "transmitters": {"idp": t},
        });
        for (k, v) in extra.as_object().unwrap() {
            table[k] = v.clone();
        }
        let Value::Object(table) = table else {
            unreachable!()
        };
        let config = build(&table, dir.path());
        let fleet = emulated::fleet(&emulator, &common::fast())
            .unwrap()
            .build()
            .unwrap();
        let running = Server::new(config, fleet).start().await.unwrap();
        Self {
            emulator,
            tx,
            running: Some(running),
            push_url,
            base: format!("http://127.0.0.1:{port}"),
            http: common::client(),
            dir,
            table,
        }
    }

    fn person(&self, i: usize) -> Person {
        self.emulator.people()[i].clone()
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        serde_json::from_str(&response.text().await.unwrap()).unwrap()
    }

    /// The stream, once the transmitter has answered its verification request.
    async fn verified_stream(&self) -> Value {
        for _ in 0..400 {
            let streams = self.get("/streams").await;
            let stream = &streams["streams"][0]["stream"];
            if stream["verified_at_ms"].is_i64() {
                return stream.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the stream was never verified: {}",
            self.get("/streams").await
        );
    }

    async fn person_record(&self, email: &str) -> Value {
        self.get(&format!("/jobs?subject={email}")).await
    }

    async fn finished_jobs(&self, email: &str, n: usize) -> Vec<Value> {
        for _ in 0..600 {
            let record = self.person_record(email).await;
            let jobs = record["jobs"].as_array().unwrap().clone();
            if jobs.len() >= n && jobs.iter().all(|j| j["state"] == "finished") {
                return jobs;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no finished job for {email}: {}",
            self.person_record(email).await
        );
    }

    fn event(&self, event_type: &str, event: Value, email: &str) -> Value {
        self.tx.claims(
            &self.push_url,
            event_type,
            event,
            json!({"format": "email", "email": email}),
        )
    }

    async fn push(&self, set: &str) -> (u16, Value) {
        self.tx
            .push(&self.push_url, Some(PUSH_SECRET), set)
            .await
            .unwrap()
    }

    async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.unwrap();
        }
    }
}

fn set_header(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some(tx::SET_TYPE.to_owned());
    header.kid = Some(kid.to_owned());
    header
}

#[tokio::test]
async fn a_managed_push_stream_is_verified_and_a_session_revoked_event_offboards_the_person() {
    let mut r = Receiving::start("push", json!({}), json!({})).await;
    let stream = r.verified_stream().await;
    // The stream asks for push to our URL with the Authorization value we check.
    let at_transmitter = &r.tx.streams()[0];
    assert_eq!(at_transmitter["delivery"]["method"], tx::PUSH);
    assert_eq!(at_transmitter["delivery"]["endpoint_url"], r.push_url);
    assert_eq!(
        at_transmitter["delivery"]["authorization_header"],
        PUSH_SECRET
    );
    assert_eq!(
        at_transmitter["events_requested"].as_array().unwrap().len(),
        6
    );
    assert_eq!(stream["stream_id"], at_transmitter["stream_id"]);
    assert_eq!(stream["status"], "enabled");
    // Management needs the access token: without it, the transmitter refuses.
    let anonymous = r
        .http
        .get(format!("{}/ssf/stream", r.tx.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // What the transmitter echoes of the Authorization value is never kept or shown.
    let shown = r.get("/streams").await.to_string();
    assert!(
        !shown.contains(PUSH_SECRET) && !shown.contains("push-secret"),
        "{shown}"
    );

    let (alice, bob) = (r.person(2), r.person(3));
    let bob_before = common::live(&r.emulator, &bob);
    let set = r.tx.sign(&r.event(
        tx::SESSION_REVOKED,
        json!({"event_timestamp": 1_615_304_991}),
        &alice.email,
    ));
    r.tx.emit(stream["stream_id"].as_str().unwrap(), set);
    let jobs = r.finished_jobs(&alice.email.to_lowercase(), 1).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["outcome"], "complete", "{:#}", jobs[0]);
    assert_eq!(jobs[0]["caller"], "idp");
    for (provider, left) in common::live(&r.emulator, &alice) {
        assert_eq!(left, 0, "{provider}");
    }
    assert_eq!(common::live(&r.emulator, &bob), bob_before);
    let events = r.person_record(&alice.email.to_lowercase()).await["events"].clone();
    assert_eq!(events[0]["event_type"], tx::SESSION_REVOKED);
    assert_eq!(events[0]["action"], "job");
    r.stop().await;
}

#[tokio::test]
async fn every_forged_or_misdirected_set_gets_its_rfc_8935_error_and_nothing_is_queued() {
    let mut r = Receiving::start("push", json!({}), json!({})).await;
    let stream = r.verified_stream().await;
    let stream_id = stream["stream_id"].as_str().unwrap().to_owned();
    let victim = r.person(2).email.to_lowercase();
    let key = r.tx.key();
    let kid = key.kid().to_owned();
    let good = r.event(tx::SESSION_REVOKED, json!({}), &victim);
    let with = |changes: Value| {
        let mut claims = good.clone();
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    };
    let stranger = SigningKey::generate(kid.clone());
    let mut typ_jwt = set_header(&kid);
    typ_jwt.typ = Some("JWT".to_owned());
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": tx::SET_TYPE}).to_string()),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.typ = Some(tx::SET_TYPE.to_owned());
    hs256.kid = Some(kid.clone());
    let hs256 = jsonwebtoken::encode(
        &hs256,
        &good,
        &EncodingKey::from_secret(key.public_pem().as_bytes()).unwrap(),
    )
    .unwrap();
    let verification = |id: &str, state: Option<&str>| {
        let mut event = json!({});
        if let Some(state) = state {
            event["state"] = json!(state);
        }
        r.tx.claims(
            &r.push_url,
            tx::VERIFICATION,
            event,
            json!({"format": "opaque", "id": id}),
        )
    };
    let sign = |claims: &Value| key.sign(&set_header(&kid), claims);
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("typ JWT", key.sign(&typ_jwt, &good), 400, "invalid_request"),
        (
            "a sub claim",
            sign(&with(json!({"sub": victim}))),
            400,
            "invalid_request",
        ),
        (
            "an exp claim",
            sign(&with(json!({"exp": chrono::Utc::now().timestamp() + 600}))),
            400,
            "invalid_request",
        ),
        (
            "wrong iss",
            sign(&with(json!({"iss": "https://other.example"}))),
            400,
            "invalid_issuer",
        ),
        (
            "wrong aud",
            sign(&with(json!({"aud": "https://other.example/ssf"}))),
            400,
            "invalid_audience",
        ),
        (
            "forged signature",
            stranger.sign(&set_header(&kid), &good),
            400,
            "invalid_key",
        ),
        ("alg none", alg_none, 400, "invalid_request"),
        ("HS256 with the public key", hs256, 400, "invalid_key"),
        (
            "two events",
            sign(&with(
                json!({"events": {tx::SESSION_REVOKED: {}, ACCOUNT_DISABLED: {}}}),
            )),
            400,
            "invalid_request",
        ),
        (
            "not a JWS",
            "{\"events\":{}}".to_owned(),
            400,
            "invalid_request",
        ),
        (
            "a stream that does not exist",
            sign(&verification("no-such-stream", Some("x"))),
            400,
            "invalid_request",
        ),
        (
            "a verification with another state",
            sign(&verification(&stream_id, Some("not-the-state"))),
            400,
            "invalid_state",
        ),
    ];
    for (name, set, status, err) in &cases {
        let (got, body) = r.push(set).await;
        assert_eq!(
            (got, body["err"].as_str().unwrap_or_default()),
            (*status, *err),
            "{name}: {body}"
        );
        assert!(body["description"].is_string(), "{name}");
    }
    // Before any signature work: the Authorization header, the media type, the size.
    let valid = sign(&good);
    let (status, body) = r.tx.push(&r.push_url, None, &valid).await.unwrap();
    assert_eq!(
        (status, body["err"].as_str().unwrap()),
        (401, "authentication_failed")
    );
    let (status, body) =
        r.tx.push(&r.push_url, Some("Bearer wrong"), &valid)
            .await
            .unwrap();
    assert_eq!(
        (status, body["err"].as_str().unwrap()),
        (401, "authentication_failed")
    );
    let response = r
        .http
        .post(&r.push_url)
        .header("authorization", PUSH_SECRET)
        .header("content-type", "application/jwt")
        .body(valid.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let big = format!("{valid}{}", "A".repeat(70 * 1024));
    let (status, body) = r.push(&big).await;
    assert_eq!(
        (status, body["err"].as_str().unwrap()),
        (413, "invalid_request")
    );

    let record = r.person_record(&victim).await;
    assert!(
        record["jobs"].as_array().unwrap().is_empty(),
        "a refused SET queued a job: {record}"
    );
    assert!(
        record["events"].as_array().unwrap().is_empty(),
        "a refused SET was recorded: {record}"
    );

    // The valid one is accepted, once: a replay is answered 202 and does nothing.
    assert_eq!(r.push(&valid).await.0, 202);
    assert_eq!(r.push(&valid).await.0, 202);
    let jobs = r.finished_jobs(&victim, 1).await;
    assert_eq!(jobs.len(), 1, "a replayed SET started a second job");
    r.stop().await;
}

#[tokio::test]
async fn what_each_event_does_is_configuration_and_a_txn_is_one_job() {
    let mut r = Receiving::start(
        "push",
        json!({"events": {"account-disabled": ["okta", "slack"], "credential-compromise": "all", "account-purged": "record"}}),
        json!({}),
    )
    .await;
    r.verified_stream().await;
    let (carol, dave, erin) = (
        r.person(2).email.to_lowercase(),
        r.person(3).email.to_lowercase(),
        r.person(4).email.to_lowercase(),
    );

    // credential-change: recorded by default, whatever the change.
    for change in ["create", "revoke", "update"] {
        let set = r.tx.sign(&r.event(
            tx::CREDENTIAL_CHANGE,
            json!({"credential_type": "password", "change_type": change}),
            &carol,
        ));
        assert_eq!(r.push(&set).await.0, 202);
    }
    // account-purged configured to record only.
    assert_eq!(
        r.push(&r.tx.sign(&r.event(
            "https://schemas.openid.net/secevent/risc/event-type/account-purged",
            json!({}),
            &carol
        )))
        .await
        .0,
        202
    );
    // account-disabled: Okta and Slack only.
    assert_eq!(
        r.push(
            &r.tx
                .sign(&r.event(ACCOUNT_DISABLED, json!({"reason": "hijacking"}), &dave))
        )
        .await
        .0,
        202
    );
    // One incident, two events, one txn: one job.
    let mut first = r.event(tx::SESSION_REVOKED, json!({}), &erin);
    first["txn"] = json!("8675309");
    let mut second = r.event(
        CREDENTIAL_COMPROMISE,
        json!({"credential_type": "password"}),
        &erin,
    );
    second["txn"] = json!("8675309");
    assert_eq!(r.push(&r.tx.sign(&first)).await.0, 202);
    assert_eq!(r.push(&r.tx.sign(&second)).await.0, 202);

    let record = r.person_record(&carol).await;
    assert!(record["jobs"].as_array().unwrap().is_empty(), "{record}");
    let actions: Vec<&str> = record["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["record"; 4]);

    let jobs = r.finished_jobs(&dave, 1).await;
    assert_eq!(jobs[0]["providers"], json!(["okta", "slack"]));
    let providers: Vec<&str> = jobs[0]["report"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["okta", "slack"]);

    let jobs = r.finished_jobs(&erin, 1).await;
    assert_eq!(jobs.len(), 1, "two events of one txn made two jobs");
    assert_eq!(jobs[0]["txn"], "8675309");
    let events = r.person_record(&erin).await["events"].clone();
    assert_eq!(events.as_array().unwrap().len(), 2);
    assert_eq!(events[0]["job"], events[1]["job"]);
    r.stop().await;
}

#[tokio::test]
async fn polled_events_are_acknowledged_once_stored_and_done_once_after_a_crash_before_the_ack() {
    let mut r = Receiving::start("poll", json!({}), json!({})).await;
    r.verified_stream().await;
    let stream_id = r.tx.streams()[0]["stream_id"].as_str().unwrap().to_owned();
    let aud = r.tx.streams()[0]["aud"].as_str().unwrap().to_owned();
    let alice = r.person(2).email.to_lowercase();
    let bob = r.person(3).email.to_lowercase();
    // The receiver polls and stores, then every poll fails: the acknowledgements
    // never reach the transmitter, as if the receiver died between the two.
    r.tx.fail_polls_after_delivery();
    let polls = r.tx.polls();
    let sets: Vec<(String, String)> = [&alice, &bob]
        .iter()
        .map(|email| {
            let claims = r.tx.claims(
                &aud,
                tx::SESSION_REVOKED,
                json!({}),
                json!({"format": "email", "email": email}),
            );
            (
                claims["jti"].as_str().unwrap().to_owned(),
                r.tx.sign(&claims),
            )
        })
        .collect();
    for (_, set) in &sets {
        r.tx.emit(&stream_id, set.clone());
    }
    // Wait for both to be stored, then cut the acknowledgements off.
    for email in [&alice, &bob] {
        for _ in 0..400 {
            if !r.person_record(email).await["events"]
                .as_array()
                .unwrap()
                .is_empty()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert!(r.tx.polls() > polls);
    r.stop().await;
    let acked_before = r.tx.acked();
    assert!(
        sets.iter().all(|(jti, _)| !acked_before.contains(jti)),
        "an acknowledgement got through"
    );
    assert_eq!(r.tx.pending(&stream_id), 2);

    // The receiver comes back on the same queue; the transmitter sends what was not
    // acknowledged again; each event is done once and acknowledged.
    r.tx.fail_polls(false);
    let config = build(&r.table, r.dir.path());
    let fleet = emulated::fleet(&r.emulator, &common::fast())
        .unwrap()
        .build()
        .unwrap();
    r.running = Some(Server::new(config, fleet).start().await.unwrap());
    for _ in 0..400 {
        if r.tx.pending(&stream_id) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        r.tx.pending(&stream_id),
        0,
        "events were never acknowledged"
    );
    for (jti, _) in &sets {
        assert!(r.tx.acked().contains(jti));
    }
    for email in [&alice, &bob] {
        let jobs = r.finished_jobs(email, 1).await;
        assert_eq!(
            jobs.len(),
            1,
            "{email}: an event redelivered after the crash was done twice"
        );
        assert_eq!(jobs[0]["outcome"], "complete");
    }
    r.stop().await;
}

#[tokio::test]
async fn a_polled_set_that_fails_validation_is_reported_in_set_errs() {
    let mut r = Receiving::start("poll", json!({}), json!({})).await;
    r.verified_stream().await;
    let stream_id = r.tx.streams()[0]["stream_id"].as_str().unwrap().to_owned();
    let forged = SigningKey::generate(r.tx.key().kid().to_owned());
    let claims = r.tx.claims(
        r.tx.streams()[0]["aud"].as_str().unwrap(),
        tx::SESSION_REVOKED,
        json!({}),
        json!({"format": "email", "email": r.person(2).email}),
    );
    let jti = claims["jti"].as_str().unwrap().to_owned();
    r.tx.emit(
        &stream_id,
        forged.sign(&set_header(r.tx.key().kid()), &claims),
    );
    for _ in 0..400 {
        if !r.tx.set_errs().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let errs = r.tx.set_errs();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0]["jti"], jti);
    assert_eq!(errs[0]["err"]["err"], "invalid_key");
    assert!(
        r.person_record(&r.person(2).email.to_lowercase()).await["jobs"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    r.stop().await;
}

/// The specifications' example SETs and what real transmitters send
/// (`tests/fixtures/sets.json`), re-signed by the fake transmitter for this receiver.
#[tokio::test]
async fn the_specifications_example_sets_and_real_transmitter_shapes_are_understood() {
    let fixtures: Value = serde_json::from_str(include_str!("fixtures/sets.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let subjects = dir.path().join("subjects.csv");
    let people = Emulator::start(EmulatorConfig::new().users(6))
        .await
        .unwrap();
    let mut csv = "iss,sub,email\n".to_owned();
    for (i, row) in fixtures["subjects"].as_array().unwrap().iter().enumerate() {
        csv += &format!(
            "{},{},{}\n",
            row["iss"].as_str().unwrap(),
            row["sub"].as_str().unwrap(),
            people.people()[2 + i % 4].email
        );
    }
    drop(people);
    std::fs::write(&subjects, csv).unwrap();
    let mut r = Receiving::start(
        "push",
        json!({}),
        json!({"subjects_file": subjects.display().to_string()}),
    )
    .await;
    r.verified_stream().await;
    for case in fixtures["sets"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut claims = case["claims"].clone();
        claims["iss"] = json!(r.tx.issuer());
        claims["aud"] = json!(r.push_url);
        claims["iat"] = json!(chrono::Utc::now().timestamp());
        claims["jti"] = json!(format!(
            "{}-{}",
            claims["jti"].as_str().unwrap_or("x"),
            fastrand::u32(..)
        ));
        let (status, body) = r.push(&r.tx.sign(&claims)).await;
        assert_eq!(status, 202, "{name}: {body}");
        // The event is recorded with the action the fixture expects.
        let email = case["email"].as_str().map(|e| match e.parse::<usize>() {
            Ok(i) => r.person(i).email.to_lowercase(),
            Err(_) => e.to_owned(),
        });
        if let Some(email) = email {
            let events = r.person_record(&email).await["events"].clone();
            let found = events
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["jti"] == claims["jti"] && e["action"] == case["action"]);
            assert!(
                found,
                "{name}: expected {} for {email}: {events:#}",
                case["action"]
            );
        }
    }
    r.stop().await;
}

#[tokio::test]
async fn a_txn_of_a_finished_job_starts_a_new_one() {
    let mut r = Receiving::start("push", json!({}), json!({})).await;
    r.verified_stream().await;
    let email = r.person(2).email.to_lowercase();
    let mut first = r.event(tx::SESSION_REVOKED, json!({}), &email);
    first["txn"] = json!("reused");
    assert_eq!(r.push(&r.tx.sign(&first)).await.0, 202);
    r.finished_jobs(&email, 1).await;
    // The same txn later (a transmitter reusing it): a finished job is not joined.
    let mut later = r.event(
        CREDENTIAL_COMPROMISE,
        json!({"credential_type": "password"}),
        &email,
    );
    later["txn"] = json!("reused");
    assert_eq!(r.push(&r.tx.sign(&later)).await.0, 202);
    let jobs = r.finished_jobs(&email, 2).await;
    assert_eq!(
        jobs.len(),
        2,
        "an event joined a job that had already finished"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_transmitter_whose_keys_cannot_be_fetched_gets_503_not_an_error_code() {
    // Its discovery is at a port nobody listens on; the push is not refused as
    // invalid (the transmitter would drop it) but answered 503, and nothing stored.
    let mut r = Receiving::start(
        "push",
        json!({"issuer": "http://127.0.0.1:9", "token_url": null, "client_id": null}),
        json!({}),
    )
    .await;
    let email = r.person(2).email.to_lowercase();
    let mut claims = r.event(tx::SESSION_REVOKED, json!({}), &email);
    claims["iss"] = json!("http://127.0.0.1:9");
    let (status, body) = r.push(&r.tx.sign(&claims)).await;
    assert_eq!(status, 503, "{body}");
    let record = r.person_record(&email).await;
    assert!(
        record["jobs"].as_array().unwrap().is_empty()
            && record["events"].as_array().unwrap().is_empty()
    );
    r.stop().await;
}

#[tokio::test]
async fn a_google_style_transmitter_with_pinned_keys_and_streamless_verification_is_served() {
    // Google's RISC: discovery at risc-configuration, keys on another origin
    // (pinned here; the discovery URL given points nowhere, so only the pin can
    // work), the subject as subject_type iss-sub inside the event, and a verification
    // event that names no stream.
    let probe = Emulator::start(EmulatorConfig::new().users(6))
        .await
        .unwrap();
    let carol = probe.people()[2].email.to_lowercase();
    drop(probe);
    let dir = tempfile::tempdir().unwrap();
    let subjects = dir.path().join("subjects.csv");
    std::fs::write(
        &subjects,
        format!("iss,sub,email\nhttps://accounts.google.com/,7375626A656374,{carol}\n"),
    )
    .unwrap();
    let mut r = Receiving::start(
        "push",
        json!({
            "token_url": null,
            "client_id": null,
            "discovery_url": "http://127.0.0.1:9/.well-known/risc-configuration",
            "jwks_uri": "TX_ISSUER/jwks",
        }),
        json!({"subjects_file": subjects.display().to_string()}),
    )
    .await;
    let verification = r.tx.claims(
        &r.push_url,
        "https://schemas.openid.net/secevent/risc/event-type/verification",
        json!({"state": "set-through-google-api"}),
        Value::Null,
    );
    let mut verification = verification;
    verification.as_object_mut().unwrap().remove("sub_id");
    let (status, body) = r.push(&r.tx.sign(&verification)).await;
    assert_eq!(status, 202, "{body}");
    let mut disabled = r.tx.claims(
        &r.push_url,
        ACCOUNT_DISABLED,
        json!({"subject": {"subject_type": "iss-sub", "iss": "https://accounts.google.com/", "sub": "7375626A656374"}, "reason": "hijacking"}),
        Value::Null,
    );
    disabled.as_object_mut().unwrap().remove("sub_id");
    let (status, body) = r.push(&r.tx.sign(&disabled)).await;
    assert_eq!(status, 202, "{body}");
    let jobs = r.finished_jobs(&carol, 1).await;
    assert_eq!(jobs[0]["outcome"], "complete", "{:#}", jobs[0]);
    assert!(r.tx.jwks_fetches() >= 1, "the pinned keys were not used");
    r.stop().await;
}
