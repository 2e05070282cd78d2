//! The Global Token Revocation endpoint over real HTTP: a fake Okta org (keys generated
//! at start, its discovery document and JWKS on loopback) calls it; the jobs offboard
//! from the emulators.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{API_TOKEN, BEARER_TOKEN, Served};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use unisession::emulator::universal_logout::{GTR_JWT_TYPE, SigningKey};

fn gtr_header(kid: Option<&str>) -> Header {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some(GTR_JWT_TYPE.to_owned());
    header.kid = kid.map(str::to_owned);
    header
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

#[tokio::test]
async fn a_signed_okta_request_offboards_the_person_everywhere_and_nobody_else() {
    let mut served = Served::start(6, json!({})).await;
    let (alice, bob) = (served.person(2), served.person(3));
    let bob_before = common::live(&served.emulator, &bob);
    assert!(
        common::live(&served.emulator, &alice)
            .iter()
            .any(|(_, n)| *n > 0)
    );

    let token = served.okta.token(&served.endpoint);
    let (status, job) = served
        .post(
            Some(&token),
            &Served::email_body(&alice.email.to_uppercase()),
        )
        .await;
    assert_eq!(status, 204);
    let job = served
        .finished(&job.expect("the job id is in the answer"))
        .await;

    assert_eq!(job["outcome"], "complete", "{job:#}");
    assert_eq!(job["subject"], alice.email.to_lowercase());
    assert_eq!(job["caller"], "okta");
    assert_eq!(job["format"], "email");
    let providers = job["report"]["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 6, "{job:#}");
    for p in providers {
        assert_ne!(p["outcome"], "failed", "{p}");
    }
    for (provider, left) in common::live(&served.emulator, &alice) {
        assert_eq!(left, 0, "{provider} still has a session of the person");
    }
    assert_eq!(
        common::live(&served.emulator, &bob),
        bob_before,
        "somebody else was logged out"
    );
    served.stop().await;
}

#[tokio::test]
async fn every_forged_or_misdirected_request_is_refused_and_nothing_is_queued() {
    let mut served = Served::start(4, json!({})).await;
    let victim = served.person(2).email;
    let body = Served::email_body(&victim);
    let okta = &served.okta;
    let key = okta.current_key();
    let kid = key.kid().to_owned();
    let claims = okta.claims(&served.endpoint);
    let now = chrono::Utc::now().timestamp();
    // A key that is not the org's, claiming the org's key id.
    let stranger = SigningKey::generate(kid.clone());
    // Another org, whose keys a `jku` header points at.
    let elsewhere = unisession::emulator::universal_logout::UniversalLogoutCaller::start("x")
        .await
        .unwrap();

    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": GTR_JWT_TYPE}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
    );
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.typ = Some(GTR_JWT_TYPE.to_owned());
    hs256.kid = Some(kid.clone());
    let hs256_with_public_key = jsonwebtoken::encode(
        &hs256,
        &claims,
        &EncodingKey::from_secret(key.public_pem().as_bytes()).unwrap(),
    )
    .unwrap();
    let mut jku = gtr_header(Some("elsewhere"));
    jku.jku = Some(format!("{}/oauth2/v1/keys", elsewhere.issuer()));
    let mut typ_jwt = gtr_header(Some(&kid));
    typ_jwt.typ = Some("JWT".to_owned());

    let cases: Vec<(&str, Option<String>, Vec<u8>, u16)> = vec![
        ("no credential", None, body.clone(), 401),
        ("forged signature", Some(stranger.sign(&gtr_header(Some(&kid)), &claims)), body.clone(), 401),
        ("alg none", Some(alg_none), body.clone(), 401),
        ("HS256 signed with the public key", Some(hs256_with_public_key), body.clone(), 401),
        ("unknown kid, jku pointing elsewhere", Some(elsewhere.current_key().sign(&jku, &claims)), body.clone(), 401),
        ("typ JWT", Some(key.sign(&typ_jwt, &claims)), body.clone(), 401),
        ("wrong aud", Some(key.sign(&gtr_header(Some(&kid)), &with(claims.clone(), json!({"aud": "https://other.example/global-token-revocation"})))), body.clone(), 401),
        ("aud with a query", Some(key.sign(&gtr_header(Some(&kid)), &with(claims.clone(), json!({"aud": format!("{}?x=1", served.endpoint)})))), body.clone(), 401),
        ("wrong iss", Some(key.sign(&gtr_header(Some(&kid)), &with(claims.clone(), json!({"iss": elsewhere.issuer()})))), body.clone(), 401),
        ("another application's token", Some(key.sign(&gtr_header(Some(&kid)), &with(claims.clone(), json!({"sub": "0oa-other-app"})))), body.clone(), 401),
        ("expired", Some(key.sign(&gtr_header(Some(&kid)), &with(claims.clone(), json!({"iat": now - 900, "nbf": now - 900, "exp": now - 120})))), body.clone(), 401),
        ("not yet valid", Some(key.sign(&gtr_header(Some(&kid)), &with(claims.clone(), json!({"nbf": now + 600, "exp": now + 900})))), body.clone(), 401),
        ("issued in the future", Some(key.sign(&gtr_header(Some(&kid)), &with(claims.clone(), json!({"iat": now + 600, "exp": now + 900})))), body.clone(), 401),
        ("valid for a day", Some(key.sign(&gtr_header(Some(&kid)), &with(claims.clone(), json!({"exp": now + 86_400})))), body.clone(), 401),
        ("no jti", Some(key.sign(&gtr_header(Some(&kid)), &{ let mut c = claims.clone(); c.as_object_mut().unwrap().remove("jti"); c })), body.clone(), 401),
        ("wrong static token", Some("not-the-token-0123456789abcdef0123456789".to_owned()), body.clone(), 401),
        ("oversized body", Some(okta.token(&served.endpoint)), {
            let mut big = json!({"sub_id": {"format": "email", "email": victim}}).to_string().into_bytes();
            big.truncate(big.len() - 1);
            big.extend(format!(",\"pad\":\"{}\"}}", "x".repeat(9000)).into_bytes());
            big
        }, 413),
        ("malformed JSON", Some(okta.token(&served.endpoint)), format!("{{\"sub_id\":{{\"format\":\"email\",\"email\":\"{victim}\"}}").into_bytes(), 400),
        ("unsupported subject format", Some(okta.token(&served.endpoint)), json!({"sub_id": {"format": "phone_number", "phone_number": "+12065550100"}}).to_string().into_bytes(), 400),
        ("sub_id and subject naming two people", Some(okta.token(&served.endpoint)), json!({"sub_id": {"format": "email", "email": victim}, "subject": {"format": "email", "email": "other@example.com"}}).to_string().into_bytes(), 400),
        ("an iss_sub nobody is mapped to", Some(okta.token(&served.endpoint)), json!({"sub_id": {"format": "iss_sub", "iss": okta.issuer(), "sub": "00u-unknown"}}).to_string().into_bytes(), 404),
        ("a bearer caller outside its domains", Some(BEARER_TOKEN.to_owned()), body.clone(), 403),
        ("a break-glass account", Some(okta.token(&served.endpoint)), Served::email_body("BreakGlass@example.com"), 422),
    ];
    for (name, token, body, expected) in &cases {
        let (status, job) = served.post(token.as_deref(), body).await;
        assert_eq!(status, *expected, "{name}");
        assert_eq!(job, None, "{name}: a job id was given");
    }
    assert!(
        served.jobs_of(&victim).await.is_empty(),
        "a refused request queued a job"
    );
    assert!(served.jobs_of("breakglass@example.com").await.is_empty());
    assert_eq!(
        elsewhere.jwks_fetches(),
        0,
        "a key set named in a header was fetched"
    );
    assert_eq!(elsewhere.discovery_fetches(), 0);

    // The metrics count each refusal by reason.
    let metrics = served
        .http
        .get(format!("{}/metrics", served.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in [
        "bad_signature",
        "algorithm_not_allowed",
        "wrong_typ",
        "wrong_audience",
        "wrong_issuer",
        "wrong_subject",
        "expired",
        "not_yet_valid",
        "body_too_large",
        "unknown_subject",
        "outside_caller_domains",
        "never_revoke",
    ] {
        assert!(
            metrics.contains(&format!("reason=\"{reason}\"")),
            "{reason} not in the metrics:\n{metrics}"
        );
    }
    assert!(
        metrics.contains("unisession_triggers_received_total 23"),
        "{metrics}"
    );
    served.stop().await;
}

#[tokio::test]
async fn a_token_is_accepted_once() {
    let mut served = Served::start(4, json!({})).await;
    let email = served.person(2).email;
    let token = served.okta.token(&served.endpoint);
    let (first, job) = served.post(Some(&token), &Served::email_body(&email)).await;
    assert_eq!(first, 204);
    let (again, second_job) = served.post(Some(&token), &Served::email_body(&email)).await;
    assert_eq!(again, 401, "a replayed token was accepted");
    assert_eq!(second_job, None);
    // Not even for somebody else.
    let other = served.person(3).email;
    assert_eq!(
        served
            .post(Some(&token), &Served::email_body(&other))
            .await
            .0,
        401
    );
    let jobs = served.jobs_of(&email).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["id"], job.unwrap().as_str());
    assert!(served.jobs_of(&other).await.is_empty());
    served.stop().await;
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_made_up_key_ids_do_not_flood_the_issuer() {
    let mut served = Served::start(4, json!({})).await;
    let email = served.person(2).email;
    let (status, _) = served
        .post(
            Some(&served.okta.token(&served.endpoint)),
            &Served::email_body(&email),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(served.okta.jwks_fetches(), 1);
    // Okta rotates: a new kid. The keys are fetched again once the refresh interval
    // (1 s here) has passed since the last fetch.
    served.okta.rotate();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = served
        .post(
            Some(&served.okta.token(&served.endpoint)),
            &Served::email_body(&email),
        )
        .await;
    assert_eq!(
        status, 204,
        "a token signed with the rotated key was refused"
    );
    assert_eq!(served.okta.jwks_fetches(), 2);
    // Tokens naming key ids that do not exist: refused, and the issuer is not asked
    // again within the interval.
    let stranger = SigningKey::generate("made-up");
    for i in 0..10 {
        let mut header = gtr_header(Some(&format!("made-up-{i}")));
        header.kid = Some(format!("made-up-{i}"));
        let token = stranger.sign(&header, &served.okta.claims(&served.endpoint));
        assert_eq!(
            served
                .post(Some(&token), &Served::email_body(&email))
                .await
                .0,
            401
        );
    }
    assert_eq!(
        served.okta.jwks_fetches(),
        2,
        "unknown key ids made the server fetch the keys each time"
    );
    served.stop().await;
}

#[tokio::test]
async fn the_legacy_subject_key_iss_sub_mappings_and_bearer_callers_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let subjects = dir.path().join("subjects.csv");
    // The dataset is seeded: the same people in every start.
    let probe =
        unisession::emulator::Emulator::start(unisession::emulator::EmulatorConfig::new().users(5))
            .await
            .unwrap();
    let carol = probe.people()[3].email.clone();
    let dave = probe.people()[4].email.clone();
    drop(probe);
    std::fs::write(
        &subjects,
        format!(
            "iss,sub,email\nhttps://idp.example,00u-carol,{carol}\nopaque:hr,opaque-dave,{dave}\n"
        ),
    )
    .unwrap();
    let mut served = Served::start(
        5,
        json!({
            "subjects_file": subjects.display().to_string(),
            "callers": {
                "okta": {"auth": "okta", "issuer": "https://unused.example", "client_id": "x"},
                "hr": {"auth": "bearer", "domains": ["corp.example"]},
            },
        }),
    )
    .await;
    let (status, job) = served.post(Some(BEARER_TOKEN), &json!({"subject": {"format": "iss_sub", "iss": "https://idp.example", "sub": "00u-carol"}}).to_string().into_bytes()).await;
    assert_eq!(status, 204);
    let job = served.finished(&job.unwrap()).await;
    assert_eq!(job["subject"], carol.to_lowercase());
    assert_eq!(job["format"], "iss_sub");
    assert_eq!(job["caller"], "hr");
    let (status, job) = served
        .post(
            Some(BEARER_TOKEN),
            &json!({"sub_id": {"format": "opaque", "id": "opaque-dave"}})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        served.finished(&job.unwrap()).await["subject"],
        dave.to_lowercase()
    );
    served.stop().await;
}

#[tokio::test]
async fn jobs_are_read_with_the_api_token_only() {
    let mut served = Served::start(4, json!({})).await;
    let email = served.person(2).email;
    let (_, job) = served
        .post(
            Some(&served.okta.token(&served.endpoint)),
            &Served::email_body(&email),
        )
        .await;
    let id = job.unwrap();
    for token in [None, Some(BEARER_TOKEN), Some("wrong")] {
        assert_eq!(served.get(&format!("/jobs/{id}"), token).await.0, 401);
        assert_eq!(
            served.get(&format!("/jobs?subject={email}"), token).await.0,
            401
        );
    }
    assert_eq!(
        served.get(&format!("/jobs/{id}"), Some(API_TOKEN)).await.0,
        200
    );
    assert_eq!(served.get("/jobs/nope", Some(API_TOKEN)).await.0, 404);
    assert_eq!(served.get("/healthz", None).await.0, 200);
    served.stop().await;
}

#[tokio::test]
async fn two_applications_of_one_org_are_told_apart_by_their_client_ids() {
    let mut served = Served::start(
        4,
        json!({"callers": {
            "first-app": {"auth": "okta", "issuer": "ISSUER", "client_id": "0oa-first", "allow_insecure_http": true},
            "okta": {"auth": "okta", "issuer": "ISSUER", "client_id": common::CLIENT_ID, "allow_insecure_http": true},
        }}),
    )
    .await;
    let email = served.person(2).email;
    let (status, job) = served
        .post(
            Some(&served.okta.token(&served.endpoint)),
            &Served::email_body(&email),
        )
        .await;
    assert_eq!(status, 204, "the second application of the org was refused");
    assert_eq!(served.finished(&job.unwrap()).await["caller"], "okta");
    served.stop().await;
}

#[tokio::test]
async fn an_issuer_whose_keys_cannot_be_fetched_is_a_temporary_failure_not_a_verdict() {
    // The org's keys are at a port nobody listens on: 503 (Okta may try again), not
    // 401, and nothing is queued.
    let mut served = Served::start(
        4,
        json!({"callers": {
            "okta": {"auth": "okta", "issuer": "http://127.0.0.1:9", "client_id": common::CLIENT_ID, "allow_insecure_http": true},
        }}),
    )
    .await;
    let email = served.person(2).email;
    let mut claims = served.okta.claims(&served.endpoint);
    claims["iss"] = json!("http://127.0.0.1:9");
    let token = served
        .okta
        .current_key()
        .sign(&served.okta.header(), &claims);
    let (status, job) = served.post(Some(&token), &Served::email_body(&email)).await;
    assert_eq!(status, 503);
    assert_eq!(job, None);
    assert!(served.jobs_of(&email).await.is_empty());
    served.stop().await;
}
