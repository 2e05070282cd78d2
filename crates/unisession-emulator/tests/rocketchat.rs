//! The Rocket.Chat emulator over real HTTP, one small emulator per test.
//!
//! Each test checks one behaviour of `shared/research/rocketchat.md` that the
//! emulator serves; the group headings name the research sections.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use unisession_emulator::{
    Emulator, EmulatorConfig, Fault, Faults, Misleading, Person, ProviderKind, RocketChatConfig,
    RocketChatCredentials, RocketChatEmulator, TwoFactorMethod,
};
use unisession_testkit::{Provider, Request, Spec, nonconforming};

// ----- helpers -----

const LOGGED_OUT: &str = "You must be logged in to do this.";
const FORBIDDEN_PERMISSION: &str =
    "User does not have the permissions required for this action [error-unauthorized]";

/// The six device-management routes (all Enterprise).
const SESSION_ROUTES: [(&str, &str); 6] = [
    ("GET", "sessions/list"),
    ("GET", "sessions/list.all"),
    ("GET", "sessions/info"),
    ("GET", "sessions/info.admin"),
    ("POST", "sessions/logout.me"),
    ("POST", "sessions/logout"),
];

struct Server {
    emulator: Emulator,
    http: reqwest::Client,
}

impl Server {
    async fn start(config: EmulatorConfig, tweak: impl FnOnce(&mut RocketChatConfig)) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut rocketchat = RocketChatConfig::default();
        tweak(&mut rocketchat);
        let emulator =
            Emulator::start(config.only(ProviderKind::RocketChat).rocketchat(rocketchat))
                .await
                .expect("emulator starts");
        let http = reqwest::Client::builder().build().expect("client");
        Self { emulator, http }
    }

    fn rc(&self) -> &RocketChatEmulator {
        self.emulator.rocketchat().expect("started")
    }

    fn creds(&self) -> &RocketChatCredentials {
        self.rc().credentials()
    }

    fn admin(&self) -> &Person {
        &self.emulator.people()[0]
    }

    fn member(&self) -> &Person {
        &self.emulator.people()[1]
    }

    fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            server: self,
            method,
            path: path.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }

    fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::GET, path)
    }

    fn post(&self, path: &str) -> Call<'_> {
        self.call(Method::POST, path)
    }

    /// `POST login {user, password[, code]}`.
    async fn login(&self, user: &str, password: &str, code: Option<&str>) -> Answer {
        let mut body = json!({"user": user, "password": password});
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        self.post("login").json(body).send().await
    }

    /// Every session id `path` lists, paging `count` at a time until `total`.
    async fn page_all(&self, path: &str, count: usize) -> (Vec<String>, u64) {
        let mut ids = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .get(path)
                .admin_2fa()
                .q("count", count)
                .q("offset", offset)
                .send()
                .await;
            let body = page.ok();
            let total = body["total"].as_u64().expect("total");
            let items = page.session_ids();
            assert!(!items.is_empty() || offset as u64 >= total, "{}", page.text);
            offset += items.len();
            ids.extend(items);
            if offset as u64 >= total {
                return (ids, total);
            }
        }
    }
}

/// 5 ordinary people with 3 sessions each, default switches.
async fn server() -> Server {
    Server::start(EmulatorConfig::new().users(5), |_| {}).await
}

async fn server_with(tweak: impl FnOnce(&mut RocketChatConfig)) -> Server {
    Server::start(EmulatorConfig::new().users(5), tweak).await
}

struct Call<'s> {
    server: &'s Server,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Value>,
}

impl Call<'_> {
    fn q(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_owned(), value.to_string()));
        self
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn auth(self, user: &str, token: &str) -> Self {
        self.header("X-User-Id", user).header("X-Auth-Token", token)
    }

    fn admin(self) -> Self {
        let c = self.server.creds();
        self.auth(&c.admin_user_id, &c.admin_token)
    }

    fn member(self) -> Self {
        let c = self.server.creds();
        self.auth(&c.member_user_id, &c.member_token)
    }

    fn pat(self) -> Self {
        let c = self.server.creds();
        self.auth(&c.admin_user_id, &c.admin_pat)
    }

    fn two_fa(self, method: &str, code: &str) -> Self {
        self.header("x-2fa-method", method)
            .header("x-2fa-code", code)
    }

    /// The administrator with the password fallback's code.
    fn admin_2fa(self) -> Self {
        let code = sha256_hex(&self.server.creds().admin_password);
        self.admin().two_fa("password", &code)
    }

    fn ua(self, agent: &str) -> Self {
        self.header("User-Agent", agent)
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn session(self, id: &str) -> Self {
        self.json(json!({ "sessionId": id }))
    }

    async fn send(self) -> Answer {
        let mut url = url::Url::parse(&self.server.rc().base_url())
            .and_then(|u| u.join(&format!("api/v1/{}", self.path)))
            .expect("url");
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        let mut request = self.server.http.request(self.method, url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &self.body {
            request = request.json(body);
        }
        let response = request.send().await.expect("answer");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            json,
        }
    }
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
    json: Value,
}

impl Answer {
    #[track_caller]
    fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.text);
        assert_eq!(self.json["success"], json!(true), "{}", self.text);
        &self.json
    }

    #[track_caller]
    fn failed(&self, status: u16, error_type: &str) -> &Value {
        assert_eq!(
            (self.status, self.json["errorType"].as_str().unwrap_or("")),
            (status, error_type),
            "{}",
            self.text
        );
        assert_eq!(self.json["success"], json!(false));
        &self.json
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    fn header_u64(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("header {name} missing: {:?}", self.headers))
            .parse()
            .expect("integer header")
    }

    fn session_ids(&self) -> Vec<String> {
        self.json["sessions"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|s| s["sessionId"].as_str().expect("sessionId").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

fn totp_at(secret: &str, unix_seconds: u64) -> String {
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("base32"))
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .build_noncompliant()
        .generate(unix_seconds)
        .to_string()
}

/// Waits out the last seconds of a TOTP step so a test's codes and the server's
/// check fall in the same step.
async fn away_from_step_edge() {
    let second = now_ms() / 1000 % 30;
    if second >= 27 {
        tokio::time::sleep(Duration::from_secs(31 - second)).await;
    }
}

fn logged_out_body() -> Value {
    json!({"success": false, "error": LOGGED_OUT, "status": "error", "message": LOGGED_OUT})
}

fn not_found_body() -> Value {
    json!({"success": false, "error": "Session not found"})
}

// ----- authentication (§3.4 step 1) -----

#[tokio::test]
async fn missing_credentials_answer_401_with_the_compat_body() {
    let s = server().await;
    for (method, path) in [
        ("GET", "sessions/list"),
        ("GET", "users.info"),
        ("POST", "users.logout"),
        ("POST", "logout"),
    ] {
        let answer = s
            .call(Method::from_bytes(method.as_bytes()).unwrap(), path)
            .send()
            .await;
        assert_eq!(answer.status, 401, "{path}: {}", answer.text);
        assert_eq!(answer.json, logged_out_body(), "{path}");
    }
}

#[tokio::test]
async fn a_wrong_token_or_another_users_token_answers_401() {
    let s = server().await;
    let c = s.creds().clone();
    let wrong_token = s
        .get("sessions/list")
        .auth(&c.admin_user_id, "not-a-token")
        .send()
        .await;
    assert_eq!(
        (wrong_token.status, &wrong_token.json),
        (401, &logged_out_body())
    );
    // The member's valid token under the administrator's id.
    let swapped = s
        .get("sessions/list")
        .auth(&c.admin_user_id, &c.member_token)
        .send()
        .await;
    assert_eq!((swapped.status, &swapped.json), (401, &logged_out_body()));
    let only_user = s
        .get("sessions/list")
        .header("X-User-Id", &c.admin_user_id)
        .send()
        .await;
    assert_eq!(only_user.status, 401);
    // The same route with matching credentials works.
    s.get("sessions/list").admin().send().await.ok();
}

// ----- license (§3.3) -----

#[tokio::test]
async fn without_license_every_sessions_route_answers_400_before_authentication() {
    let s = server_with(|c| c.enterprise = false).await;
    let expected = json!({
        "success": false,
        "error": "This is an enterprise feature [error-action-not-allowed]",
        "errorType": "error-action-not-allowed",
    });
    let member_session = s.creds().member_session_id.clone();
    for (method, path) in SESSION_ROUTES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let anonymous = s.call(method.clone(), path).send().await;
        assert_eq!(
            (anonymous.status, &anonymous.json),
            (400, &expected),
            "{path} without credentials"
        );
        let admin = s
            .call(method, path)
            .admin_2fa()
            .q("sessionId", &member_session)
            .session(&member_session)
            .send()
            .await;
        assert_eq!(
            (admin.status, &admin.json),
            (400, &expected),
            "{path} as admin"
        );
    }
    // Nothing was revoked by the refused calls.
    assert!(
        s.rc()
            .token_is_valid(&s.creds().member_user_id, &s.creds().member_token)
    );
}

#[tokio::test]
async fn without_license_users_logout_still_revokes() {
    let s = server_with(|c| c.enterprise = false).await;
    let c = s.creds().clone();
    let answer = s.post("users.logout").member().json(json!({})).send().await;
    assert_eq!(
        answer.ok()["message"],
        json!(format!("User {} has been logged out!", c.member_user_id))
    );
    assert!(!s.rc().token_is_valid(&c.member_user_id, &c.member_token));
}

// ----- second factor (§4) -----

#[tokio::test]
async fn list_all_without_a_code_answers_totp_required_with_the_password_method() {
    let s = server().await;
    let answer = s.get("sessions/list.all").admin().send().await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(
        answer.json,
        json!({
            "success": false,
            "error": "TOTP Required [totp-required]",
            "errorType": "totp-required",
            "details": {"method": "password", "codeGenerated": false, "availableMethods": []},
        })
    );
}

#[tokio::test]
async fn every_admin_route_needs_the_second_factor() {
    let s = server().await;
    let member_session = s.creds().member_session_id.clone();
    s.get("sessions/list.all")
        .admin()
        .send()
        .await
        .failed(400, "totp-required");
    s.get("sessions/info.admin")
        .admin()
        .q("sessionId", &member_session)
        .send()
        .await
        .failed(400, "totp-required");
    s.post("sessions/logout")
        .admin()
        .session(&member_session)
        .send()
        .await
        .failed(400, "totp-required");
    // The own-session routes need none.
    s.get("sessions/list").admin().send().await.ok();
    s.get("sessions/info")
        .admin()
        .q("sessionId", &s.creds().admin_session_id)
        .send()
        .await
        .ok();
    assert!(
        s.rc()
            .token_is_valid(&s.creds().member_user_id, &s.creds().member_token)
    );
}

#[tokio::test]
async fn password_method_takes_the_sha256_hex_of_the_password_in_either_case() {
    // The research's test vector (issue #18823), computed here.
    assert_eq!(
        sha256_hex("MyAdminPassword"),
        "04e6a0d0fd65de4869be263fc7d049e64dedad31b1a32f934f1f835f9e1a9937"
    );
    let s = server_with(|c| c.remember_two_factor = Duration::ZERO).await;
    let hash = sha256_hex(&s.creds().admin_password);
    let lower = s
        .get("sessions/list.all")
        .admin()
        .two_fa("password", &hash)
        .send()
        .await;
    assert!(lower.ok()["total"].as_u64().unwrap() > 0);
    let upper = s
        .get("sessions/list.all")
        .admin()
        .two_fa("password", &hash.to_uppercase())
        .send()
        .await;
    assert_eq!(upper.ok()["total"], lower.json["total"]);
}

#[tokio::test]
async fn password_method_rejects_a_wrong_hash_the_plain_password_and_the_echo_newline_hash() {
    let s = server_with(|c| c.remember_two_factor = Duration::ZERO).await;
    let password = s.creds().admin_password.clone();
    for code in [
        sha256_hex("MyAdminPassword"),
        password.clone(),
        // `echo "pw" | sha256sum` hashes a trailing newline.
        sha256_hex(&format!("{password}\n")),
    ] {
        let answer = s
            .get("sessions/list.all")
            .admin()
            .two_fa("password", &code)
            .send()
            .await;
        assert_eq!(
            answer.json,
            json!({
                "success": false,
                "error": "TOTP Invalid [totp-invalid]",
                "errorType": "totp-invalid",
                "details": {"method": "password", "codeGenerated": false, "availableMethods": []},
            }),
            "{code}"
        );
        assert_eq!(answer.status, 400);
    }
}

#[tokio::test]
async fn totp_method_accepts_codes_within_one_step_and_rejects_far_ones() {
    let s = server_with(|c| {
        c.admin_two_factor = TwoFactorMethod::Totp;
        c.remember_two_factor = Duration::ZERO;
    })
    .await;
    let secret = s.creds().admin_totp_secret.clone();
    let challenge = s.get("sessions/list.all").admin().send().await;
    assert_eq!(
        challenge.failed(400, "totp-required")["details"],
        json!({"method": "totp", "codeGenerated": false, "availableMethods": ["totp"]})
    );
    away_from_step_edge().await;
    let now = now_ms() / 1000;
    for (offset, accepted) in [
        (0i64, true),
        (-30, true),
        (30, true),
        (-150, false),
        (120, false),
    ] {
        let code = totp_at(&secret, now.saturating_add_signed(offset));
        let answer = s
            .get("sessions/list.all")
            .admin()
            .two_fa("totp", &code)
            .send()
            .await;
        if accepted {
            answer.ok();
        } else {
            assert_eq!(
                answer.failed(400, "totp-invalid")["details"]["method"],
                json!("totp"),
                "offset {offset}"
            );
        }
    }
    // The server picks TOTP itself when no method is named.
    let code = totp_at(&secret, now_ms() / 1000);
    s.get("sessions/list.all")
        .admin()
        .header("x-2fa-code", &code)
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn the_server_chooses_the_method_so_a_password_hash_fails_for_a_totp_user() {
    let s = server_with(|c| c.admin_two_factor = TwoFactorMethod::Totp).await;
    let hash = sha256_hex(&s.creds().admin_password);
    let answer = s
        .get("sessions/list.all")
        .admin()
        .two_fa("password", &hash)
        .send()
        .await;
    assert_eq!(
        answer.failed(400, "totp-invalid")["details"]["method"],
        json!("totp")
    );
}

#[tokio::test]
async fn naming_the_email_method_for_a_user_without_email_2fa_fails() {
    let s = server().await;
    let admin = s.creds().admin_user_id.clone();
    // A named registered checker is used even if the user has not enabled it.
    let challenge = s
        .get("sessions/list.all")
        .admin()
        .header("x-2fa-method", "email")
        .send()
        .await;
    let details = &challenge.failed(400, "totp-required")["details"];
    assert_eq!(
        (&details["method"], &details["availableMethods"]),
        (&json!("email"), &json!([]))
    );
    // processInvalidCode emailed a code, but EmailCheck.verify refuses it.
    let code = s.rc().last_email_code(&admin).expect("emailed");
    let answer = s
        .get("sessions/list.all")
        .admin()
        .two_fa("email", &code)
        .send()
        .await;
    answer.failed(400, "totp-invalid");
}

#[tokio::test]
async fn email_method_emails_a_code_on_the_first_challenge_that_works_once() {
    let s = server_with(|c| {
        c.admin_two_factor = TwoFactorMethod::Email;
        c.remember_two_factor = Duration::ZERO;
    })
    .await;
    let admin = s.creds().admin_user_id.clone();
    assert_eq!(s.rc().last_email_code(&admin), None);
    let first = s.get("sessions/list.all").admin().send().await;
    assert_eq!(
        first.failed(400, "totp-required")["details"],
        json!({
            "method": "email",
            "codeGenerated": true,
            "emailOrUsername": s.admin().username,
            "availableMethods": ["email"],
        })
    );
    let code = s.rc().last_email_code(&admin).expect("a code was emailed");
    assert!(
        code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
        "{code}"
    );
    // A second challenge reuses the pending code.
    let second = s.get("sessions/list.all").admin().send().await;
    let details = &second.failed(400, "totp-required")["details"];
    assert_eq!(details["codeGenerated"], json!(false));
    assert!(
        details["codeExpires"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z'))
    );
    assert_eq!(s.rc().last_email_code(&admin).as_deref(), Some(&*code));
    // The code as the email shows it (`123-456`), method picked by the server.
    let dashed = format!("{}-{}", &code[..3], &code[3..]);
    s.get("sessions/list.all")
        .admin()
        .header("x-2fa-code", &dashed)
        .send()
        .await
        .ok();
    // Used up: the next check emails a new code and refuses the old one.
    let again = s
        .get("sessions/list.all")
        .admin()
        .two_fa("email", &code)
        .send()
        .await;
    assert_eq!(
        again.failed(400, "totp-invalid")["details"]["codeGenerated"],
        json!(true)
    );
    let fresh = s.rc().last_email_code(&admin).expect("new code");
    s.get("sessions/list.all")
        .admin()
        .two_fa("email", &fresh)
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn wrong_email_codes_end_in_totp_max_attempts_then_a_new_code_is_sent() {
    let s = server_with(|c| {
        c.admin_two_factor = TwoFactorMethod::Email;
        c.max_email_attempts = 3;
    })
    .await;
    let admin = s.creds().admin_user_id.clone();
    s.get("sessions/list.all")
        .admin()
        .send()
        .await
        .failed(400, "totp-required");
    let code = s.rc().last_email_code(&admin).expect("emailed");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempt in 1..=3 {
        let answer = s
            .get("sessions/list.all")
            .admin()
            .two_fa("email", wrong)
            .send()
            .await;
        if attempt < 3 {
            answer.failed(400, "totp-invalid");
        } else {
            // The failure that reaches the maximum.
            assert_eq!(
                answer.json["error"],
                json!("TOTP Maximun Failed Attempts Reached [totp-max-attempts]")
            );
            assert_eq!(
                answer.failed(400, "totp-max-attempts")["details"]["method"],
                json!("email")
            );
        }
    }
    // The used-up code is replaced by a newly emailed one, which works.
    let next = s.get("sessions/list.all").admin().send().await;
    assert_eq!(
        next.failed(400, "totp-required")["details"]["codeGenerated"],
        json!(true)
    );
    let fresh = s.rc().last_email_code(&admin).expect("emailed");
    s.get("sessions/list.all")
        .admin()
        .two_fa("email", &fresh)
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn a_remembered_second_factor_skips_the_challenge_for_the_same_token_and_user_agent_only() {
    let s = server().await;
    s.get("sessions/list.all")
        .admin_2fa()
        .ua("agent-A")
        .send()
        .await
        .ok();
    s.get("sessions/list.all")
        .admin()
        .ua("agent-A")
        .send()
        .await
        .ok();
    // Remembered for every 2FA route of that token.
    s.get("sessions/info.admin")
        .admin()
        .ua("agent-A")
        .q("sessionId", &s.creds().member_session_id)
        .send()
        .await
        .ok();
    s.get("sessions/list.all")
        .admin()
        .ua("agent-B")
        .send()
        .await
        .failed(400, "totp-required");
    // Another token of the same user is not remembered.
    let admin = s.creds().admin_user_id.clone();
    let (_, other_token) = s.rc().add_session(&admin).expect("session");
    s.get("sessions/list.all")
        .auth(&admin, &other_token)
        .ua("agent-A")
        .send()
        .await
        .failed(400, "totp-required");
}

#[tokio::test]
async fn remember_for_zero_challenges_every_call() {
    let s = server_with(|c| c.remember_two_factor = Duration::ZERO).await;
    s.get("sessions/list.all")
        .admin_2fa()
        .ua("agent-A")
        .send()
        .await
        .ok();
    s.get("sessions/list.all")
        .admin()
        .ua("agent-A")
        .send()
        .await
        .failed(400, "totp-required");
}

#[tokio::test]
async fn a_personal_access_token_with_bypass_is_never_challenged() {
    let s = server_with(|c| c.admin_two_factor = TwoFactorMethod::Totp).await;
    let member_session = s.creds().member_session_id.clone();
    let list = s.get("sessions/list.all").pat().send().await;
    assert!(list.ok()["total"].as_u64().unwrap() > 0);
    s.get("sessions/info.admin")
        .pat()
        .q("sessionId", &member_session)
        .send()
        .await
        .ok();
    s.post("sessions/logout")
        .pat()
        .session(&member_session)
        .send()
        .await
        .ok();
    assert!(
        !s.rc()
            .token_is_valid(&s.creds().member_user_id, &s.creds().member_token)
    );
}

#[tokio::test]
async fn with_two_factor_disabled_nothing_is_challenged() {
    let s = server_with(|c| {
        c.two_factor_enabled = false;
        c.admin_two_factor = TwoFactorMethod::Totp;
    })
    .await;
    s.get("sessions/list.all").admin().send().await.ok();
    s.get("sessions/info.admin")
        .admin()
        .q("sessionId", &s.creds().member_session_id)
        .send()
        .await
        .ok();
    // Switched on at run time: challenged again.
    s.rc().update_config(|c| c.two_factor_enabled = true);
    s.get("sessions/list.all")
        .admin()
        .send()
        .await
        .failed(400, "totp-required");
}

// ----- pipeline order (§3.4) -----

#[tokio::test]
async fn list_all_checks_the_permission_before_the_second_factor() {
    let s = server().await;
    let answer = s.get("sessions/list.all").member().send().await;
    assert_eq!(answer.status, 403, "{}", answer.text);
    assert_eq!(
        answer.json,
        json!({"success": false, "error": FORBIDDEN_PERMISSION})
    );
    for (method, path) in [
        (Method::GET, "sessions/info.admin"),
        (Method::POST, "sessions/logout"),
    ] {
        let session = s.creds().admin_session_id.clone();
        let answer = s
            .call(method, path)
            .member()
            .q("sessionId", &session)
            .session(&session)
            .send()
            .await;
        assert_eq!(
            (answer.status, &answer.json["error"]),
            (403, &json!(FORBIDDEN_PERMISSION))
        );
    }
    assert!(
        s.rc()
            .token_is_valid(&s.creds().admin_user_id, &s.creds().admin_token)
    );
}

#[tokio::test]
async fn parameters_are_validated_after_authentication_and_before_permission_and_2fa() {
    let s = server().await;
    // Unauthenticated: 401 even with a bad parameter.
    let anonymous = s.get("sessions/list").q("query", "{}").send().await;
    assert_eq!(anonymous.status, 401);
    // The member's bad parameter on an admin route: 400, not 403.
    s.get("sessions/list.all")
        .member()
        .q("fields", "{}")
        .send()
        .await
        .failed(400, "invalid-params");
    // The admin's bad parameter without a code: 400 invalid-params, not totp-required.
    s.get("sessions/list.all")
        .admin()
        .q("search", "x")
        .send()
        .await
        .failed(400, "invalid-params");
    let missing = s.get("sessions/info.admin").member().send().await;
    assert_eq!(
        missing.failed(400, "invalid-params")["error"],
        json!("must have required property 'sessionId' [invalid-params]")
    );
}

// ----- pagination (§6, §3.1) -----

#[tokio::test]
async fn count_defaults_to_50_is_clamped_to_100_and_the_answer_echoes_the_request() {
    let s = Server::start(EmulatorConfig::new().users(40), |_| {}).await;
    let listed = s.rc().listed_session_count() as u64;
    assert!(listed > 110, "{listed}");
    let default = s.get("sessions/list.all").admin_2fa().send().await;
    let body = default.ok();
    assert_eq!(
        (&body["count"], &body["offset"], &body["total"]),
        (&json!(50), &json!(0), &json!(listed))
    );
    assert_eq!(default.session_ids().len(), 50);
    let clamped = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("count", 500)
        .send()
        .await;
    assert_eq!(clamped.ok()["count"], json!(100));
    assert_eq!(clamped.session_ids().len(), 100);
    // Near the end: fewer items than `count`, and `count` still echoes the request.
    let offset = listed - 4;
    let tail = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("count", 10)
        .q("offset", offset)
        .send()
        .await;
    let body = tail.ok();
    assert_eq!(
        (&body["count"], &body["offset"], &body["total"]),
        (&json!(10), &json!(offset), &json!(listed))
    );
    assert_eq!(tail.session_ids().len(), 4);
}

#[tokio::test]
async fn total_counts_distinct_login_tokens_not_session_documents() {
    let s = server().await;
    let answer = s.get("sessions/list.all").admin_2fa().send().await;
    let total = answer.ok()["total"].as_u64().unwrap();
    let documents = s.rc().snapshot()["session_docs"].as_u64().unwrap();
    // Reconnects left older documents sharing a login token with a newer one.
    assert!(documents > total, "{documents} documents, total {total}");
    assert_eq!(total, s.rc().listed_session_count() as u64);
    // 6 people × 3 seeded sessions, plus the administrator's and the member's.
    assert_eq!(total, 6 * 3 + 2);
    let ids = answer.session_ids();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
}

#[tokio::test]
async fn paging_with_offset_returns_every_session_exactly_once_newest_first() {
    let s = Server::start(EmulatorConfig::new().users(12), |_| {}).await;
    let (ids, total) = s.page_all("sessions/list.all", 7).await;
    assert_eq!(ids.len() as u64, total);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    assert_eq!(total, s.rc().listed_session_count() as u64);
    // Pages follow loginAt descending.
    let all = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("count", 100)
        .send()
        .await;
    let login_at: Vec<String> = all.ok()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["loginAt"].as_str().unwrap().to_owned())
        .collect();
    assert!(login_at.windows(2).all(|w| w[0] >= w[1]), "{login_at:?}");
    assert_eq!(all.session_ids(), ids);
}

#[tokio::test]
async fn own_sessions_page_the_same_way() {
    let s = server().await;
    let admin = s.creds().admin_user_id.clone();
    s.rc().add_sessions(&admin, 9);
    let (ids, total) = s.page_all("sessions/list", 4).await;
    assert_eq!(total, 3 + 1 + 9);
    assert_eq!(ids, s.rc().listed_sessions_of(&admin));
}

#[tokio::test]
async fn count_zero_fails_and_a_non_numeric_count_is_invalid_params() {
    let s = server().await;
    let zero = s.get("sessions/list").admin().q("count", 0).send().await;
    assert_eq!((zero.status, &zero.json["success"]), (400, &json!(false)));
    assert!(zero.json.get("sessions").is_none());
    s.get("sessions/list")
        .admin()
        .q("count", "ten")
        .send()
        .await
        .failed(400, "invalid-params");
}

#[tokio::test]
async fn unknown_query_parameters_answer_invalid_params() {
    let s = server().await;
    for (key, value) in [("query", "{}"), ("fields", "{\"ip\":1}"), ("search", "x")] {
        for path in ["sessions/list", "sessions/list.all"] {
            let answer = s.get(path).admin_2fa().q(key, value).send().await;
            assert_eq!(
                answer.failed(400, "invalid-params")["error"],
                json!("must NOT have additional properties [invalid-params]"),
                "{path}?{key}"
            );
        }
    }
    s.get("sessions/info")
        .admin()
        .q("sessionId", &s.creds().admin_session_id)
        .q("userId", "x")
        .send()
        .await
        .failed(400, "invalid-params");
}

#[tokio::test]
async fn a_bad_sort_is_rejected() {
    let s = server().await;
    let bad_json = s
        .get("sessions/list")
        .admin()
        .q("sort", "{loginAt")
        .send()
        .await;
    assert_eq!(
        bad_json.failed(400, "error-invalid-sort")["error"],
        json!("Invalid sort parameter provided: \"{loginAt\" [error-invalid-sort]")
    );
    let unknown_key = s
        .get("sessions/list")
        .admin()
        .q("sort", r#"{"ip":1}"#)
        .send()
        .await;
    assert_eq!(unknown_key.status, 400);
    assert_eq!(
        unknown_key.json,
        json!({"success": false, "error": "error-invalid-sort-keys"})
    );
    // `_user.*` only exists in list.all.
    let own = s
        .get("sessions/list")
        .admin()
        .q("sort", r#"{"_user.username":1}"#)
        .send()
        .await;
    assert_eq!(own.json["error"], json!("error-invalid-sort-keys"));
    s.get("sessions/list.all")
        .admin_2fa()
        .q("sort", r#"{"_user.username":1}"#)
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn sort_reorders_within_a_page_only() {
    let s = server().await;
    let newest = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("count", 6)
        .send()
        .await;
    let ascending = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("count", 6)
        .q("sort", r#"{"loginAt":1}"#)
        .send()
        .await;
    let login_at = |answer: &Answer| -> Vec<String> {
        answer.json["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["loginAt"].as_str().unwrap().to_owned())
            .collect()
    };
    ascending.ok();
    let mut reversed = login_at(&newest);
    reversed.reverse();
    // The same six newest sessions, oldest of them first: not the six oldest overall.
    assert_eq!(login_at(&ascending), reversed);
    let mut got = ascending.session_ids();
    let mut expected = newest.session_ids();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    let by_name = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("count", 6)
        .q("sort", r#"{"_user.username":1}"#)
        .send()
        .await;
    let names: Vec<String> = by_name.ok()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["_user"]["username"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    let mut same_set = by_name.session_ids();
    same_set.sort();
    let mut expected = newest.session_ids();
    expected.sort();
    assert_eq!(same_set, expected);
}

#[tokio::test]
async fn filter_matches_device_session_and_user_text_case_insensitively() {
    let s = server().await;
    let c = s.creds().clone();
    // A session id, in another case.
    let one = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("filter", c.member_session_id.to_lowercase())
        .send()
        .await;
    assert_eq!(one.ok()["total"], json!(1));
    assert_eq!(one.session_ids(), vec![c.member_session_id.clone()]);
    // A user id: every session of that user.
    let by_user = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("filter", &c.member_user_id)
        .send()
        .await;
    let mut got = by_user.session_ids();
    let mut expected = s.rc().listed_sessions_of(&c.member_user_id);
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    // An OS name, in the caller's own list.
    let all_own = s.get("sessions/list").admin().send().await;
    let windows = all_own.ok()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["device"]["os"]["name"] == json!("Windows"))
        .count();
    // The administrator's own session runs Chrome on Windows.
    assert!(windows >= 1);
    let filtered = s
        .get("sessions/list")
        .admin()
        .q("filter", "windows")
        .send()
        .await;
    assert_eq!(filtered.ok()["total"], json!(windows));
    assert!(
        filtered.json["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["device"]["os"]["name"] == json!("Windows"))
    );
    // The filter is escaped, not a regex.
    let regex = s
        .get("sessions/list")
        .admin()
        .q("filter", ".*")
        .send()
        .await;
    assert_eq!(regex.ok()["total"], json!(0));
    // The own list never shows another user's session, even when filtered for it.
    let foreign = s
        .get("sessions/list")
        .admin()
        .q("filter", &c.member_session_id)
        .send()
        .await;
    assert_eq!(foreign.ok()["total"], json!(0));
}

#[tokio::test]
async fn list_all_filter_also_matches_user_names() {
    let s = server().await;
    let member = s.member().clone();
    let needle = member.username.to_lowercase();
    let answer = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("filter", &member.username)
        .send()
        .await;
    answer.ok();
    // Up to 5 users whose user name or name contains the filter.
    let matching: Vec<&Person> = s
        .emulator
        .people()
        .iter()
        .filter(|p| {
            p.username.to_lowercase().contains(&needle)
                || p.display_name().to_lowercase().contains(&needle)
        })
        .take(5)
        .collect();
    let mut expected: Vec<String> = matching
        .iter()
        .flat_map(|p| s.rc().listed_sessions_of(&p.rocketchat_id))
        .collect();
    let mut got = answer.session_ids();
    expected.sort();
    got.sort();
    assert!(!got.is_empty());
    assert_eq!(got, expected);
}

// ----- sessions/list and list.all (§2.2, §2.3, §3) -----

#[tokio::test]
async fn sessions_list_shows_only_own_sessions_with_current_on_the_callers_session() {
    let s = server().await;
    let c = s.creds().clone();
    let answer = s.get("sessions/list").admin().send().await;
    let body = answer.ok();
    let items = body["sessions"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|i| i["userId"] == json!(c.admin_user_id)));
    assert!(items.iter().all(|i| i["_id"] == i["sessionId"]));
    assert!(items.iter().all(|i| i.get("_user").is_none()));
    let current: Vec<&Value> = items
        .iter()
        .filter(|i| i["current"] == json!(true))
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["sessionId"], json!(c.admin_session_id));
    assert!(items.iter().all(|i| i["current"].is_boolean()));
    // The same list through the personal access token: no session is current.
    let pat = s.get("sessions/list").pat().send().await;
    assert_eq!(pat.session_ids(), answer.session_ids());
    assert!(
        pat.json["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["current"] == json!(false))
    );
    // The member sees only theirs.
    let member = s.get("sessions/list").member().send().await;
    let mut ids = member.session_ids();
    let mut expected = s.rc().listed_sessions_of(&c.member_user_id);
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn sessions_list_all_shows_everyone_with_user_and_without_current() {
    let s = server().await;
    let answer = s.get("sessions/list.all").admin_2fa().send().await;
    let body = answer.ok();
    let items = body["sessions"].as_array().unwrap();
    let users: HashSet<&str> = items
        .iter()
        .map(|i| i["userId"].as_str().unwrap())
        .collect();
    assert_eq!(users.len(), s.emulator.people().len());
    for item in items {
        assert!(item.get("current").is_none(), "{item}");
        assert_eq!(item["_id"], item["sessionId"]);
        let person = s
            .emulator
            .people()
            .iter()
            .find(|p| p.rocketchat_id == item["userId"].as_str().unwrap())
            .expect("a seeded person");
        assert_eq!(
            item["_user"],
            json!({"username": person.username, "name": person.display_name()})
        );
        assert!(item["loginAt"].as_str().unwrap().ends_with('Z'));
        assert!(
            item["ip"]
                .as_str()
                .unwrap()
                .parse::<std::net::IpAddr>()
                .is_ok()
        );
    }
}

#[tokio::test]
async fn device_fields_are_sparse() {
    let s = Server::start(EmulatorConfig::new().users(40), |_| {}).await;
    let answer = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("count", 100)
        .send()
        .await;
    let items = answer.ok()["sessions"].as_array().unwrap().clone();
    let without_device = items.iter().filter(|i| i.get("device").is_none()).count();
    let without_os_version = items
        .iter()
        .filter(|i| i.get("device").is_some() && i["device"]["os"].get("version").is_none())
        .count();
    assert!(without_device >= 1, "every item has a device");
    assert!(without_os_version >= 1, "every device has an OS version");
    assert!(without_device + without_os_version < items.len());
    // Where present, `version` is the short form of `longVersion`.
    for device in items.iter().filter_map(|i| i.get("device")) {
        let long = device["longVersion"].as_str().unwrap();
        assert!(
            long.starts_with(device["version"].as_str().unwrap()),
            "{device}"
        );
        assert!(["browser", "desktop", "mobile"].contains(&device["type"].as_str().unwrap()));
    }
}

// ----- sessions/info and info.admin (§2.4, §2.5, §3.1) -----

#[tokio::test]
async fn sessions_info_returns_the_raw_document_with_the_hashed_login_token() {
    let s = server().await;
    let c = s.creds().clone();
    let answer = s
        .get("sessions/info")
        .admin()
        .q("sessionId", &c.admin_session_id)
        .send()
        .await;
    let doc = answer.ok();
    assert_eq!(doc["sessionId"], json!(c.admin_session_id));
    assert_eq!(doc["userId"], json!(c.admin_user_id));
    assert_eq!(doc["type"], json!("session"));
    let mongo_id = doc["_id"].as_str().unwrap();
    assert_ne!(mongo_id, c.admin_session_id);
    assert!(mongo_id.len() == 24 && mongo_id.chars().all(|ch| ch.is_ascii_hexdigit()));
    // base64(SHA-256(token)): how a client recognises its own session.
    let hashed =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(c.admin_token.as_bytes()));
    assert_eq!(doc["loginToken"], json!(hashed));
    assert!(
        doc["searchTerm"]
            .as_str()
            .unwrap()
            .contains(&c.admin_session_id)
    );
    assert!(doc.get("current").is_none() && doc.get("_user").is_none());
}

#[tokio::test]
async fn sessions_info_of_another_users_or_an_unknown_session_is_404() {
    let s = server().await;
    let c = s.creds().clone();
    for id in [c.member_session_id.as_str(), "NoSuchSession1234"] {
        let answer = s
            .get("sessions/info")
            .admin()
            .q("sessionId", id)
            .send()
            .await;
        assert_eq!(
            (answer.status, &answer.json),
            (404, &not_found_body()),
            "{id}"
        );
    }
    s.get("sessions/info")
        .admin()
        .send()
        .await
        .failed(400, "invalid-params");
}

#[tokio::test]
async fn info_admin_returns_the_populated_shape_of_any_session() {
    let s = server().await;
    let c = s.creds().clone();
    let answer = s
        .get("sessions/info.admin")
        .admin_2fa()
        .q("sessionId", &c.member_session_id)
        .send()
        .await;
    let item = answer.ok();
    let member = s.member();
    assert_eq!(item["sessionId"], json!(c.member_session_id));
    assert_eq!(item["_id"], json!(c.member_session_id));
    assert_eq!(item["userId"], json!(c.member_user_id));
    assert_eq!(
        item["_user"],
        json!({"username": member.username, "name": member.display_name()})
    );
    assert!(item.get("loginToken").is_none() && item.get("searchTerm").is_none());
    let unknown = s
        .get("sessions/info.admin")
        .admin_2fa()
        .q("sessionId", "NoSuchSession1234")
        .send()
        .await;
    assert_eq!((unknown.status, &unknown.json), (404, &not_found_body()));
}

#[tokio::test]
async fn info_admin_matches_the_id_as_a_search_term_so_a_user_id_finds_that_users_newest_session() {
    let s = server().await;
    let member = s.creds().member_user_id.clone();
    let answer = s
        .get("sessions/info.admin")
        .admin_2fa()
        .q("sessionId", &member)
        .send()
        .await;
    let item = answer.ok();
    assert_eq!(item["userId"], json!(member));
    assert_eq!(
        item["sessionId"],
        json!(s.rc().listed_sessions_of(&member)[0])
    );
    // Matched case-insensitively.
    let session = s.creds().member_session_id.clone();
    let lower = s
        .get("sessions/info.admin")
        .admin_2fa()
        .q("sessionId", session.to_lowercase())
        .send()
        .await;
    assert_eq!(lower.ok()["sessionId"], json!(session));
}

// ----- revocation through device management (§2.6, §2.7, §3.5) -----

#[tokio::test]
async fn logout_me_revokes_an_own_session_and_repeating_it_answers_200_again() {
    let s = server().await;
    let c = s.creds().clone();
    let (session, token) = s.rc().add_session(&c.admin_user_id).expect("session");
    s.get("sessions/list")
        .auth(&c.admin_user_id, &token)
        .send()
        .await
        .ok();
    let answer = s
        .post("sessions/logout.me")
        .admin()
        .session(&session)
        .send()
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json, json!({"sessionId": session, "success": true}));
    let dead = s
        .get("sessions/list")
        .auth(&c.admin_user_id, &token)
        .send()
        .await;
    assert_eq!((dead.status, &dead.json), (401, &logged_out_body()));
    // The caller's own token lives on; the session left the listing.
    let listed = s.get("sessions/list").admin().send().await;
    assert!(!listed.session_ids().contains(&session));
    assert_eq!(listed.ok()["total"], json!(4));
    assert!(!s.rc().live_sessions_of(&c.admin_user_id).contains(&session));
    // The document itself remains, marked logged out.
    let info = s
        .get("sessions/info")
        .admin()
        .q("sessionId", &session)
        .send()
        .await;
    assert!(info.ok()["logoutAt"].as_str().is_some());
    assert_eq!(info.json["logoutBy"], json!(c.admin_user_id));
    // Quirk: no logoutAt filter, so a second logout succeeds too.
    let again = s
        .post("sessions/logout.me")
        .admin()
        .session(&session)
        .send()
        .await;
    assert_eq!(again.json, json!({"sessionId": session, "success": true}));
}

#[tokio::test]
async fn logout_me_of_another_users_session_is_404_and_leaves_it_alive() {
    let s = server().await;
    let c = s.creds().clone();
    let answer = s
        .post("sessions/logout.me")
        .admin()
        .session(&c.member_session_id)
        .send()
        .await;
    assert_eq!((answer.status, &answer.json), (404, &not_found_body()));
    assert!(s.rc().token_is_valid(&c.member_user_id, &c.member_token));
    assert!(
        s.rc()
            .listed_sessions_of(&c.member_user_id)
            .contains(&c.member_session_id)
    );
    s.post("sessions/logout.me")
        .admin()
        .json(json!({}))
        .send()
        .await
        .failed(400, "invalid-params");
}

#[tokio::test]
async fn logout_me_of_the_callers_own_session_ends_the_callers_token() {
    let s = server().await;
    let c = s.creds().clone();
    s.post("sessions/logout.me")
        .member()
        .session(&c.member_session_id)
        .send()
        .await
        .ok();
    let after = s.get("sessions/list").member().send().await;
    assert_eq!(after.status, 401);
}

#[tokio::test]
async fn admin_logout_revokes_any_session_only_after_the_second_factor() {
    let s = server().await;
    let c = s.creds().clone();
    let refused = s
        .post("sessions/logout")
        .admin()
        .session(&c.member_session_id)
        .send()
        .await;
    refused.failed(400, "totp-required");
    assert!(s.rc().token_is_valid(&c.member_user_id, &c.member_token));
    let answer = s
        .post("sessions/logout")
        .admin_2fa()
        .session(&c.member_session_id)
        .send()
        .await;
    assert_eq!(
        (answer.status, &answer.json),
        (
            200,
            &json!({"sessionId": c.member_session_id, "success": true})
        )
    );
    let dead = s.get("sessions/list").member().send().await;
    assert_eq!(dead.status, 401);
    assert!(
        !s.rc()
            .listed_sessions_of(&c.member_user_id)
            .contains(&c.member_session_id)
    );
    let listed = s.get("sessions/list.all").admin_2fa().send().await;
    assert!(!listed.session_ids().contains(&c.member_session_id));
    // The member's other sessions are untouched.
    assert_eq!(s.rc().listed_sessions_of(&c.member_user_id).len(), 3);
    let again = s
        .post("sessions/logout")
        .admin_2fa()
        .session(&c.member_session_id)
        .send()
        .await;
    assert_eq!(again.status, 200);
    let unknown = s
        .post("sessions/logout")
        .admin_2fa()
        .session("NoSuchSession1234")
        .send()
        .await;
    assert_eq!((unknown.status, &unknown.json), (404, &not_found_body()));
}

// ----- users.logout and users.removeOtherTokens (§8) -----

#[tokio::test]
async fn users_logout_of_oneself_revokes_every_token_including_pats_and_the_callers_own() {
    let s = server().await;
    let c = s.creds().clone();
    let (_, other) = s.rc().add_session(&c.admin_user_id).expect("session");
    let answer = s.post("users.logout").admin().send().await;
    assert_eq!(
        answer.json,
        json!({"message": format!("User {} has been logged out!", c.admin_user_id), "success": true})
    );
    for token in [&c.admin_token, &c.admin_pat, &other] {
        let after = s
            .get("sessions/list")
            .auth(&c.admin_user_id, token)
            .send()
            .await;
        assert_eq!(after.status, 401);
    }
    assert!(s.rc().listed_sessions_of(&c.admin_user_id).is_empty());
    assert!(s.rc().live_sessions_of(&c.admin_user_id).is_empty());
    // Other users are untouched.
    assert!(s.rc().token_is_valid(&c.member_user_id, &c.member_token));
}

#[tokio::test]
async fn admin_users_logout_of_another_user_revokes_their_tokens_and_sessions() {
    let s = server().await;
    let c = s.creds().clone();
    let before = s.rc().listed_session_count();
    s.post("users.logout")
        .admin()
        .json(json!({"userId": c.member_user_id}))
        .send()
        .await
        .ok();
    assert!(!s.rc().token_is_valid(&c.member_user_id, &c.member_token));
    assert!(s.rc().listed_sessions_of(&c.member_user_id).is_empty());
    assert_eq!(s.rc().listed_session_count(), before - 4);
    s.get("sessions/list").admin().send().await.ok();
}

#[tokio::test]
async fn a_member_logging_out_another_user_gets_403_unauthorized() {
    let s = server().await;
    let c = s.creds().clone();
    let answer = s
        .post("users.logout")
        .member()
        .json(json!({"userId": c.admin_user_id}))
        .send()
        .await;
    assert_eq!(
        (answer.status, &answer.json),
        (403, &json!({"success": false, "error": "unauthorized"}))
    );
    assert!(s.rc().token_is_valid(&c.admin_user_id, &c.admin_token));
    assert_eq!(s.rc().listed_sessions_of(&c.admin_user_id).len(), 4);
}

#[tokio::test]
async fn users_logout_of_an_unknown_user_answers_200_and_changes_nothing() {
    let s = server().await;
    let before = s.rc().listed_session_count();
    let answer = s
        .post("users.logout")
        .admin()
        .json(json!({"userId": "NoSuchUser0000000"}))
        .send()
        .await;
    assert_eq!(
        answer.ok()["message"],
        json!("User NoSuchUser0000000 has been logged out!")
    );
    assert_eq!(s.rc().listed_session_count(), before);
}

#[tokio::test]
async fn remove_other_tokens_keeps_only_the_current_token_but_sessions_stay_listed() {
    let s = server().await;
    let c = s.creds().clone();
    let (_, other) = s.rc().add_session(&c.admin_user_id).expect("session");
    let listed_before = s.rc().listed_sessions_of(&c.admin_user_id);
    let answer = s.post("users.removeOtherTokens").admin().send().await;
    assert_eq!(
        (answer.status, &answer.json),
        (200, &json!({"success": true}))
    );
    assert!(s.rc().token_is_valid(&c.admin_user_id, &c.admin_token));
    for token in [&other, &c.admin_pat] {
        let after = s
            .get("sessions/list")
            .auth(&c.admin_user_id, token)
            .send()
            .await;
        assert_eq!(after.status, 401);
    }
    // Inferred quirk: the sessions collection is not touched.
    assert_eq!(s.rc().listed_sessions_of(&c.admin_user_id), listed_before);
    assert_eq!(
        s.rc().live_sessions_of(&c.admin_user_id),
        vec![c.admin_session_id.clone()]
    );
    let own = s.get("sessions/list").admin().send().await;
    assert_eq!(own.ok()["total"], json!(listed_before.len()));
    assert!(s.rc().token_is_valid(&c.member_user_id, &c.member_token));
}

// ----- users.info and users.list (§7) -----

#[tokio::test]
async fn users_info_finds_a_user_by_id_username_or_email() {
    let s = server().await;
    let member = s.member().clone();
    for (key, value) in [
        ("userId", member.rocketchat_id.as_str()),
        ("username", member.username.as_str()),
        ("email", member.email.as_str()),
    ] {
        let answer = s.get("users.info").admin().q(key, value).send().await;
        let user = &answer.ok()["user"];
        assert_eq!(user["_id"], json!(member.rocketchat_id), "{key}");
        assert_eq!(user["username"], json!(member.username));
        assert_eq!(user["emails"][0]["address"], json!(member.email));
        assert_eq!(user["name"], json!(member.display_name()));
    }
    // includeUserRooms rides along.
    s.get("users.info")
        .member()
        .q("username", &member.username)
        .q("includeUserRooms", "false")
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn a_member_may_look_up_only_their_own_email() {
    let s = server().await;
    let member = s.member().clone();
    let own = s
        .get("users.info")
        .member()
        .q("email", &member.email)
        .send()
        .await;
    assert_eq!(own.ok()["user"]["_id"], json!(member.rocketchat_id));
    let other = s
        .get("users.info")
        .member()
        .q("email", &s.admin().email)
        .send()
        .await;
    // Without view-full-other-user-info, somebody else's email is "not found", the
    // very answer an unknown address gets (getFullUserData.ts returns null).
    assert_eq!(
        (other.status, &other.json),
        (400, &json!({"success": false, "error": "User not found."})),
        "{}",
        other.text
    );
    // By user name the same user is visible.
    s.get("users.info")
        .member()
        .q("username", &s.admin().username)
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn users_info_by_email_before_8_4_is_invalid_params() {
    let s = server_with(|c| c.version = (8, 3)).await;
    let email = s.member().email.clone();
    let answer = s.get("users.info").admin().q("email", &email).send().await;
    assert!(
        answer.failed(400, "invalid-params")["error"]
            .as_str()
            .unwrap()
            .ends_with("must match a schema in anyOf [invalid-params]")
    );
    s.get("users.info")
        .admin()
        .q("username", &s.member().username)
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn users_info_of_nobody_is_400_user_not_found() {
    let s = server().await;
    for (key, value) in [
        ("username", "nobody.here"),
        ("userId", "NoSuchUser0000000"),
        ("email", "nobody@corp.example"),
    ] {
        let answer = s.get("users.info").admin().q(key, value).send().await;
        assert_eq!(
            (answer.status, &answer.json),
            (400, &json!({"success": false, "error": "User not found."})),
            "{key}"
        );
    }
    // None or two selectors fail validation.
    s.get("users.info")
        .admin()
        .send()
        .await
        .failed(400, "invalid-params");
    s.get("users.info")
        .admin()
        .q("username", "a")
        .q("userId", "b")
        .send()
        .await
        .failed(400, "invalid-params");
}

#[tokio::test]
async fn users_list_filters_by_email_case_insensitively_from_8_4() {
    let s = server().await;
    let member = s.member().clone();
    let answer = s
        .get("users.list")
        .admin()
        .q("email", member.email.to_uppercase())
        .send()
        .await;
    let body = answer.ok();
    assert_eq!((&body["count"], &body["total"]), (&json!(1), &json!(1)));
    assert_eq!(body["users"][0]["_id"], json!(member.rocketchat_id));
    // Without a filter: everybody, `count` being the number returned.
    let all = s.get("users.list").admin().q("count", 4).send().await;
    let body = all.ok();
    assert_eq!(body["count"], json!(4));
    assert_eq!(body["users"].as_array().unwrap().len(), 4);
    assert_eq!(body["total"], json!(s.emulator.people().len()));
    // Before 8.4 the parameter does not exist and nothing is validated: it is
    // ignored, and everybody comes back (users.ts has no validateParams there).
    s.rc().update_config(|c| c.version = (8, 3));
    let ignored = s
        .get("users.list")
        .admin()
        .q("email", &member.email)
        .send()
        .await;
    assert_eq!(ignored.ok()["total"], json!(s.emulator.people().len()));
    // From 8.4 an unknown parameter is refused.
    s.rc().update_config(|c| c.version = (8, 4));
    s.get("users.list")
        .admin()
        .q("nosuch", "1")
        .send()
        .await
        .failed(400, "invalid-params");
}

#[tokio::test]
async fn users_list_legacy_query_works_before_7_0_only() {
    let s = server_with(|c| c.version = (6, 6)).await;
    let member = s.member().clone();
    for query in [
        json!({"emails.address": member.email}),
        json!({"username": member.username}),
    ] {
        let answer = s
            .get("users.list")
            .admin()
            .q("query", query.to_string())
            .send()
            .await;
        let body = answer.ok();
        assert_eq!(body["total"], json!(1), "{query}");
        assert_eq!(body["users"][0]["_id"], json!(member.rocketchat_id));
    }
    // From 7.0 `query` is silently ignored unless ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS
    // is set (parseJsonQuery.ts, PR #33544): the answer is everybody, with success.
    s.rc().update_config(|c| c.version = (7, 0));
    let ignored = s
        .get("users.list")
        .admin()
        .q("query", json!({"username": member.username}).to_string())
        .send()
        .await;
    assert_eq!(ignored.ok()["total"], json!(s.emulator.people().len()));
    s.rc().update_config(|c| c.allow_unsafe_query = true);
    let honoured = s
        .get("users.list")
        .admin()
        .q("query", json!({"username": member.username}).to_string())
        .send()
        .await;
    assert_eq!(honoured.ok()["total"], json!(1));
    // Once removed (PR #41948), it is refused.
    s.rc().update_config(|c| c.query_removed = true);
    s.get("users.list")
        .admin()
        .q("query", json!({"username": member.username}).to_string())
        .send()
        .await
        .failed(400, "error-invalid-params");
}

#[tokio::test]
async fn users_list_legacy_email_query_of_a_limited_caller_loses_its_key() {
    // Before 7.0 a caller without view-full-other-user-info has top-level keys on
    // fields it may not see deleted from the query: everybody, without emails.
    let s = server_with(|c| c.version = (6, 6)).await;
    let admin = s.admin().clone();
    let answer = s
        .get("users.list")
        .member()
        .q("query", json!({"emails.address": admin.email}).to_string())
        .send()
        .await;
    let body = answer.ok();
    assert_eq!(body["total"], json!(s.emulator.people().len()));
    assert!(body["users"][0].get("emails").is_none(), "{body}");
    assert!(body["users"][0].get("nameInsensitive").is_some(), "{body}");
}

// ----- login and logout (§2.8, §4.7, §5) -----

#[tokio::test]
async fn login_returns_a_working_token_but_no_listed_session() {
    let s = server().await;
    let member = s.member().clone();
    let listed = s.rc().listed_session_count();
    for user in [member.username.as_str(), member.email.as_str()] {
        let answer = s.login(user, &member.password, None).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["status"], json!("success"));
        let data = &answer.json["data"];
        assert_eq!(data["userId"], json!(member.rocketchat_id));
        assert_eq!(data["me"]["username"], json!(member.username));
        let token = data["authToken"].as_str().unwrap();
        assert!(s.rc().token_is_valid(&member.rocketchat_id, token));
        let own = s
            .get("sessions/list")
            .auth(&member.rocketchat_id, token)
            .send()
            .await;
        assert!(
            own.ok()["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["current"] == json!(false))
        );
    }
    assert_eq!(s.rc().listed_session_count(), listed);
}

#[tokio::test]
async fn login_with_a_wrong_password_or_unknown_user_is_401_unauthorized() {
    let s = server().await;
    let member = s.member().clone();
    let expected = json!({"success": false, "status": "error", "error": "Unauthorized", "message": "Unauthorized"});
    for (user, password) in [
        (member.username.as_str(), "wrong"),
        ("nobody.here", member.password.as_str()),
    ] {
        let answer = s.login(user, password, None).await;
        assert_eq!((answer.status, &answer.json), (401, &expected), "{user}");
    }
}

#[tokio::test]
async fn login_of_a_totp_user_needs_a_code_and_has_no_password_fallback() {
    let s = server_with(|c| c.admin_two_factor = TwoFactorMethod::Totp).await;
    let c = s.creds().clone();
    let required = s.login(&c.admin_username, &c.admin_password, None).await;
    assert_eq!(required.status, 401);
    assert_eq!(
        required.json,
        json!({
            "success": false, "status": "error", "error": "totp-required", "message": "TOTP Required",
            "details": {"method": "totp", "codeGenerated": false, "availableMethods": ["totp"]},
        })
    );
    let hash = sha256_hex(&c.admin_password);
    let invalid = s
        .login(&c.admin_username, &c.admin_password, Some(&hash))
        .await;
    assert_eq!(
        (
            invalid.status,
            &invalid.json["error"],
            &invalid.json["message"]
        ),
        (401, &json!("totp-invalid"), &json!("TOTP Invalid"))
    );
    away_from_step_edge().await;
    let code = totp_at(&c.admin_totp_secret, now_ms() / 1000);
    let answer = s
        .login(&c.admin_username, &c.admin_password, Some(&code))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // The code may come in the `x-2fa-code` header instead.
    let header = s
        .post("login")
        .header("x-2fa-code", &code)
        .json(json!({"user": c.admin_username, "password": c.admin_password}))
        .send()
        .await;
    assert_eq!(header.status, 200, "{}", header.text);
    // A user without TOTP or email 2FA logs in without a code.
    let member = s.member().clone();
    let plain = s.login(&member.username, &member.password, None).await;
    assert_eq!(plain.status, 200, "{}", plain.text);
}

#[tokio::test]
async fn login_of_an_email_2fa_user_emails_a_code_that_completes_the_login() {
    let s = server_with(|c| c.admin_two_factor = TwoFactorMethod::Email).await;
    let c = s.creds().clone();
    let required = s.login(&c.admin_username, &c.admin_password, None).await;
    assert_eq!(
        (required.status, &required.json["error"]),
        (401, &json!("totp-required"))
    );
    assert_eq!(required.json["details"]["method"], json!("email"));
    assert_eq!(required.json["details"]["codeGenerated"], json!(true));
    let code = s.rc().last_email_code(&c.admin_user_id).expect("emailed");
    let answer = s
        .login(&c.admin_username, &c.admin_password, Some(&code))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn logins_beyond_the_token_cap_prune_the_oldest_resume_token() {
    let s = Server::start(EmulatorConfig::new().users(2).sessions_per_user(0), |c| {
        c.max_login_tokens = 2;
    })
    .await;
    let c = s.creds().clone();
    let member = s.member().clone();
    let first = s.login(&member.username, &member.password, None).await;
    let first = first.json["data"]["authToken"].as_str().unwrap().to_owned();
    assert!(s.rc().token_is_valid(&c.member_user_id, &c.member_token));
    let second = s.login(&member.username, &member.password, None).await;
    let second = second.json["data"]["authToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // Three resume tokens, cap two: the oldest (the seeded session's) goes.
    let pruned = s.get("sessions/list").member().send().await;
    assert_eq!(pruned.status, 401);
    for token in [&first, &second] {
        s.get("sessions/list")
            .auth(&c.member_user_id, token)
            .send()
            .await
            .ok();
    }
}

#[tokio::test]
async fn logout_ends_only_the_current_token() {
    let s = server().await;
    let member = s.member().clone();
    let login = s.login(&member.username, &member.password, None).await;
    let token = login.json["data"]["authToken"].as_str().unwrap().to_owned();
    let answer = s
        .post("logout")
        .auth(&member.rocketchat_id, &token)
        .send()
        .await;
    assert_eq!(
        (answer.status, &answer.json),
        (
            200,
            &json!({"status": "success", "data": {"message": "You've been logged out!"}})
        )
    );
    let after = s
        .get("sessions/list")
        .auth(&member.rocketchat_id, &token)
        .send()
        .await;
    assert_eq!(after.status, 401);
    s.get("sessions/list").member().send().await.ok();
    // The deprecated GET works as well.
    let login = s.login(&member.username, &member.password, None).await;
    let token = login.json["data"]["authToken"].as_str().unwrap().to_owned();
    let get = s
        .get("logout")
        .auth(&member.rocketchat_id, &token)
        .send()
        .await;
    assert_eq!(get.json["status"], json!("success"));
    assert!(!s.rc().token_is_valid(&member.rocketchat_id, &token));
}

// ----- rate limits (§5) -----

fn limited(
    calls: u32,
    time_scale: f64,
    tweak: impl FnOnce(&mut RocketChatConfig),
) -> (EmulatorConfig, impl FnOnce(&mut RocketChatConfig)) {
    let config = EmulatorConfig::new().users(3).faults(
        ProviderKind::RocketChat,
        Faults::none().with_enforced_limits(time_scale),
    );
    (config, move |c: &mut RocketChatConfig| {
        c.rate_limit_calls = calls;
        tweak(c);
    })
}

#[tokio::test]
async fn members_over_the_limit_get_429_with_a_millisecond_reset() {
    let (config, tweak) = limited(3, 10.0, |_| {});
    let s = Server::start(config, tweak).await;
    // Window: 60 s scaled down 10 times.
    let window_ms = 6_000;
    for remaining in [2, 1, 0] {
        let answer = s.get("sessions/list").member().send().await;
        answer.ok();
        assert_eq!(answer.header_u64("x-ratelimit-limit"), 3);
        assert_eq!(answer.header_u64("x-ratelimit-remaining"), remaining);
        let reset = answer.header_u64("x-ratelimit-reset");
        let now = now_ms();
        assert!(reset > now && reset <= now + window_ms, "{reset} vs {now}");
    }
    let before = now_ms();
    let refused = s.get("sessions/list").member().send().await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    let error = refused.json["error"].as_str().unwrap();
    assert!(
        error.starts_with("Error, too many requests. Please slow down. You must wait ")
            && error
                .ends_with(" seconds before trying this endpoint again. [error-too-many-requests]"),
        "{error}"
    );
    assert!(refused.json.get("errorType").is_none());
    assert_eq!(refused.header_u64("x-ratelimit-limit"), 3);
    assert_eq!(refused.header_u64("x-ratelimit-remaining"), 0);
    let reset = refused.header_u64("x-ratelimit-reset");
    assert!(reset > before && reset <= now_ms() + window_ms, "{reset}");
    // The limit is per route: another route still answers.
    s.get("sessions/info")
        .member()
        .q("sessionId", &s.creds().member_session_id)
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn unauthenticated_calls_do_not_count_against_the_limit() {
    let (config, tweak) = limited(3, 10.0, |_| {});
    let s = Server::start(config, tweak).await;
    for _ in 0..5 {
        let answer = s.get("sessions/list").send().await;
        assert_eq!(answer.status, 401);
        assert!(answer.header("x-ratelimit-limit").is_none());
    }
    let answer = s.get("sessions/list").member().send().await;
    answer.ok();
    assert_eq!(answer.header_u64("x-ratelimit-remaining"), 2);
}

#[tokio::test]
async fn admins_are_exempt_unless_configured_otherwise() {
    let (config, tweak) = limited(3, 10.0, |_| {});
    let s = Server::start(config, tweak).await;
    for _ in 0..6 {
        let answer = s.get("sessions/list").admin().send().await;
        answer.ok();
        assert!(answer.header("x-ratelimit-limit").is_none());
    }
    s.rc().update_config(|c| c.rate_limit_admins = true);
    for _ in 0..3 {
        s.get("sessions/list.all").admin_2fa().send().await.ok();
    }
    let refused = s.get("sessions/list.all").admin_2fa().send().await;
    assert_eq!(refused.status, 429);
}

#[tokio::test]
async fn old_servers_answer_rate_limits_with_400_and_an_error_type() {
    let (config, tweak) = limited(2, 10.0, |c| c.old_rate_limit_answer = true);
    let s = Server::start(config, tweak).await;
    for _ in 0..2 {
        s.get("users.info")
            .member()
            .q("username", &s.member().username)
            .send()
            .await
            .ok();
    }
    let refused = s
        .get("users.info")
        .member()
        .q("username", &s.member().username)
        .send()
        .await;
    let error = refused.failed(400, "error-too-many-requests")["error"]
        .as_str()
        .unwrap();
    assert!(error.ends_with("[error-too-many-requests]"), "{error}");
}

#[tokio::test]
async fn the_window_reopens_after_the_reset() {
    let (config, tweak) = limited(2, 30.0, |_| {});
    let s = Server::start(config, tweak).await;
    for _ in 0..2 {
        s.get("sessions/list").member().send().await.ok();
    }
    let refused = s.get("sessions/list").member().send().await;
    assert_eq!(refused.status, 429);
    let reset = refused.header_u64("x-ratelimit-reset");
    let wait = reset.saturating_sub(now_ms()) + 50;
    assert!(wait <= 2_100, "{wait}");
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let again = s.get("sessions/list").member().send().await;
    again.ok();
    assert_eq!(again.header_u64("x-ratelimit-remaining"), 1);
}

// ----- injected faults -----

#[tokio::test]
async fn injected_server_errors_answer_500_and_change_nothing() {
    let s = Server::start(
        EmulatorConfig::new().users(3).faults(
            ProviderKind::RocketChat,
            Faults::none().with_server_errors(1.0),
        ),
        |_| {},
    )
    .await;
    let c = s.creds().clone();
    let answer = s
        .post("sessions/logout.me")
        .member()
        .session(&c.member_session_id)
        .send()
        .await;
    assert_eq!(
        (answer.status, &answer.json),
        (
            500,
            &json!({"success": false, "error": "Internal server error"})
        )
    );
    assert!(s.rc().token_is_valid(&c.member_user_id, &c.member_token));
    let log = s.rc().requests();
    assert_eq!(
        log.last().map(|r| (r.status, r.fault)),
        Some((500, Some(Fault::ServerError)))
    );
    s.rc().set_faults(Faults::none());
    s.get("sessions/list").member().send().await.ok();
}

#[tokio::test]
async fn injected_drops_cut_the_connection() {
    let s = Server::start(
        EmulatorConfig::new()
            .users(3)
            .faults(ProviderKind::RocketChat, Faults::none().with_drops(1.0)),
        |_| {},
    )
    .await;
    let url = format!("{}api/v1/sessions/list", s.rc().base_url());
    let result = async {
        let response = s.http.get(&url).send().await?;
        response.text().await
    }
    .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(
        s.rc().requests().last().and_then(|r| r.fault),
        Some(Fault::Drop)
    );
}

#[tokio::test]
async fn injected_malformed_answers_are_truncated_json() {
    let s = Server::start(
        EmulatorConfig::new()
            .users(3)
            .faults(ProviderKind::RocketChat, Faults::none().with_malformed(1.0)),
        |_| {},
    )
    .await;
    let answer = s.get("sessions/list").member().send().await;
    assert_eq!(answer.status, 200);
    assert!(answer.text.starts_with('{'), "{}", answer.text);
    assert!(serde_json::from_str::<Value>(&answer.text).is_err());
}

#[tokio::test]
async fn injected_429s_carry_rate_limit_headers() {
    let s = Server::start(
        EmulatorConfig::new().users(3).faults(
            ProviderKind::RocketChat,
            Faults::none().with_rate_limits(1.0, Duration::from_millis(2_000)),
        ),
        |_| {},
    )
    .await;
    let before = now_ms();
    let answer = s.get("sessions/list").admin().send().await;
    assert_eq!(answer.status, 429);
    assert_eq!(
        answer.json,
        json!({"success": false, "error": "Error, too many requests. Please slow down. You must wait 2 seconds before trying this endpoint again. [error-too-many-requests]"})
    );
    assert_eq!(answer.header_u64("x-ratelimit-limit"), 10);
    assert_eq!(answer.header_u64("x-ratelimit-remaining"), 0);
    let reset = answer.header_u64("x-ratelimit-reset");
    assert!(
        reset >= before + 2_000 && reset <= now_ms() + 2_000,
        "{reset}"
    );
}

// ----- the official spec -----

/// Checks a JSON answer against the spec's schema for its status; `departures`
/// names the properties the server sends differently (§2, §4.2).
#[track_caller]
fn assert_schema(method: &str, path: &str, answer: &Answer, departures: &[&str]) {
    let spec = Spec::get(Provider::RocketChat);
    let template = format!("/api/v1/{path}");
    let schema = spec
        .response_schema(method, &template, answer.status)
        .unwrap_or_else(|| panic!("{method} {template} declares no {} answer", answer.status));
    let errors = spec.validate(schema, &answer.json, departures);
    assert!(
        errors.is_empty(),
        "{method} {path} {}: {errors:?}\n{}",
        answer.status,
        answer.text
    );
}

#[tokio::test]
async fn json_answers_validate_against_the_spec_schemas() {
    let s = server().await;
    let c = s.creds().clone();
    let member = s.member().clone();
    assert_schema(
        "GET",
        "sessions/list",
        &s.get("sessions/list").admin().send().await,
        &[],
    );
    assert_schema(
        "GET",
        "sessions/list",
        &s.get("sessions/list").send().await,
        &[],
    );
    let challenge = s.get("sessions/list.all").admin().send().await;
    assert_eq!(challenge.status, 400);
    assert_schema("GET", "sessions/list.all", &challenge, &[]);
    let forbidden = s.get("sessions/list.all").member().send().await;
    assert_schema("GET", "sessions/list.all", &forbidden, &[]);
    assert_schema(
        "GET",
        "sessions/list.all",
        &s.get("sessions/list.all").admin_2fa().send().await,
        &[],
    );
    let info = s
        .get("sessions/info")
        .admin()
        .q("sessionId", &c.admin_session_id)
        .send()
        .await;
    assert_schema("GET", "sessions/info", &info, &[]);
    let info_admin = s
        .get("sessions/info.admin")
        .admin_2fa()
        .q("sessionId", &c.member_session_id)
        .send()
        .await;
    assert_schema("GET", "sessions/info.admin", &info_admin, &[]);
    let (extra, _) = s.rc().add_session(&c.admin_user_id).expect("session");
    let logout_me = s
        .post("sessions/logout.me")
        .admin()
        .session(&extra)
        .send()
        .await;
    assert_schema("POST", "sessions/logout.me", &logout_me, &[]);
    let logout = s
        .post("sessions/logout")
        .admin_2fa()
        .session(&c.member_session_id)
        .send()
        .await;
    assert_schema("POST", "sessions/logout", &logout, &[]);
    let users_info = s
        .get("users.info")
        .admin()
        .q("userId", &member.rocketchat_id)
        .send()
        .await;
    assert_schema("GET", "users.info", &users_info, &[]);
    let not_found = s
        .get("users.info")
        .admin()
        .q("username", "nobody.here")
        .send()
        .await;
    assert_schema("GET", "users.info", &not_found, &[]);
    let users_list = s.get("users.list").admin().send().await;
    assert_schema("GET", "users.list", &users_list, &[]);
    let login = s.login(&member.username, &member.password, None).await;
    assert_schema("POST", "login", &login, &[]);
    let token = login.json["data"]["authToken"].as_str().unwrap().to_owned();
    let (_, other) = s.rc().add_session(&member.rocketchat_id).expect("session");
    let remove = s
        .post("users.removeOtherTokens")
        .auth(&member.rocketchat_id, &other)
        .send()
        .await;
    assert_schema("POST", "users.removeOtherTokens", &remove, &[]);
    assert!(!s.rc().token_is_valid(&member.rocketchat_id, &token));
    let logout_rest = s
        .post("logout")
        .auth(&member.rocketchat_id, &other)
        .send()
        .await;
    assert_schema("POST", "logout", &logout_rest, &[]);
    let users_logout = s
        .post("users.logout")
        .admin()
        .json(json!({"userId": member.rocketchat_id}))
        .send()
        .await;
    assert_schema("POST", "users.logout", &users_logout, &[]);
    assert_schema(
        "POST",
        "users.logout",
        &s.post("users.logout").send().await,
        &[],
    );
}

#[tokio::test]
async fn totp_and_email_challenges_match_the_spec_except_the_method_names() {
    // The spec types `availableMethods` items as objects; the server sends names.
    for method in [TwoFactorMethod::Totp, TwoFactorMethod::Email] {
        let s = server_with(|c| c.admin_two_factor = method).await;
        let challenge = s.get("sessions/list.all").admin().send().await;
        challenge.failed(400, "totp-required");
        assert_schema(
            "GET",
            "sessions/list.all",
            &challenge,
            &["availableMethods"],
        );
        let spec = Spec::get(Provider::RocketChat);
        let schema = spec
            .response_schema("GET", "/api/v1/sessions/list.all", 400)
            .expect("400 schema");
        assert!(!spec.validate(schema, &challenge.json, &[]).is_empty());
    }
}

#[tokio::test]
async fn an_unknown_session_answers_404_where_the_spec_documents_400() {
    let spec = Spec::get(Provider::RocketChat);
    for (method, path) in [
        ("GET", "sessions/info"),
        ("GET", "sessions/info.admin"),
        ("POST", "sessions/logout.me"),
    ] {
        let template = format!("/api/v1/{path}");
        assert!(spec.response_schema(method, &template, 400).is_some());
        assert!(spec.response_schema(method, &template, 404).is_none());
    }
    let s = server().await;
    let answer = s
        .get("sessions/info")
        .admin()
        .q("sessionId", "NoSuchSession1234")
        .send()
        .await;
    assert_eq!(answer.status, 404);
    // The body itself still has the documented shape.
    let schema = spec
        .response_schema("GET", "/api/v1/sessions/info", 400)
        .unwrap();
    assert!(spec.validate(schema, &answer.json, &[]).is_empty());
}

#[tokio::test]
async fn accepted_requests_conform_to_the_spec_operations() {
    let s = server().await;
    let c = s.creds().clone();
    let member = s.member().clone();
    s.get("sessions/list")
        .admin()
        .q("count", 5)
        .q("offset", 1)
        .q("sort", r#"{"loginAt":1}"#)
        .q("filter", "chrome")
        .send()
        .await
        .ok();
    s.get("sessions/list.all")
        .admin_2fa()
        .q("count", 3)
        .send()
        .await
        .ok();
    s.get("sessions/info")
        .admin()
        .q("sessionId", &c.admin_session_id)
        .send()
        .await
        .ok();
    s.get("sessions/info.admin")
        .admin_2fa()
        .q("sessionId", &c.member_session_id)
        .send()
        .await
        .ok();
    let (extra, _) = s.rc().add_session(&c.admin_user_id).expect("session");
    s.post("sessions/logout.me")
        .admin()
        .session(&extra)
        .send()
        .await
        .ok();
    s.post("sessions/logout")
        .admin_2fa()
        .session(&c.member_session_id)
        .send()
        .await
        .ok();
    s.get("users.info")
        .admin()
        .q("email", &member.email)
        .send()
        .await
        .ok();
    s.get("users.list")
        .admin()
        .q("email", &member.email)
        .send()
        .await
        .ok();
    let login = s.login(&member.username, &member.password, None).await;
    let token = login.json["data"]["authToken"].as_str().unwrap().to_owned();
    s.post("users.removeOtherTokens")
        .auth(&member.rocketchat_id, &token)
        .send()
        .await
        .ok();
    let logout = s
        .post("logout")
        .auth(&member.rocketchat_id, &token)
        .send()
        .await;
    assert_eq!(logout.status, 200);
    s.post("users.logout")
        .admin()
        .json(json!({"userId": member.rocketchat_id}))
        .send()
        .await
        .ok();
    let accepted: Vec<Request> = s
        .rc()
        .requests()
        .into_iter()
        .filter(|r| r.status < 400)
        .map(Request::from)
        .collect();
    assert_eq!(accepted.len(), 12);
    let problems = nonconforming(Spec::get(Provider::RocketChat), &accepted);
    assert!(problems.is_empty(), "{problems:#?}");
    // And a request the spec forbids is caught: logout.me without its token.
    let bad = Request {
        method: "POST".into(),
        path: "/api/v1/sessions/logout.me".into(),
        headers: vec![("X-User-Id".into(), c.admin_user_id.clone())],
        body: json!({"sessionId": c.admin_session_id}).to_string(),
        ..Request::default()
    };
    assert_eq!(
        nonconforming(Spec::get(Provider::RocketChat), &[bad]).len(),
        1
    );
}

// ----- the vendor's own tests, replayed -----
//
// What Rocket.Chat's end-to-end API tests assert, for the routes the project uses:
// `apps/meteor/tests/end-to-end/api/users.ts` (@ 78da2ffb, a 7.x file),
// `miscellaneous.ts` (@ 0037f042) and `failed-login-attempts.ts` (@ 7dd56553). They
// run with TEST_MODE (no 2FA) and without ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS,
// so `fields` is accepted and ignored. Rooms are not emulated: the tests on
// `includeUserRooms` are replayed for the parameter, not the rooms.

async fn vendor_server() -> Server {
    server_with(|c| {
        c.version = (7, 5);
        c.two_factor_enabled = false;
    })
    .await
}

/// users.ts `[/users.info]` "should return an error when the user does not exist".
#[tokio::test]
async fn vendor_users_info_of_an_invalid_username_is_400() {
    let s = vendor_server().await;
    let answer = s
        .get("users.info")
        .admin()
        .q("username", "invalid-username")
        .send()
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json["success"], json!(false));
    assert!(answer.json["error"].is_string());
}

/// users.ts "should query information about a user by userId", and the `rooms`
/// tests' parameters: `includeUserRooms=true` and `fields={"userRooms":1}` are
/// accepted beside the lookup key.
#[tokio::test]
async fn vendor_users_info_by_user_id_with_its_optional_parameters() {
    let s = vendor_server().await;
    let member = s.member().clone();
    for extra in [
        None,
        Some(("includeUserRooms", "true")),
        Some(("fields", r#"{"userRooms":1}"#)),
    ] {
        let mut call = s
            .get("users.info")
            .admin()
            .q("userId", &member.rocketchat_id);
        if let Some((key, value)) = extra {
            call = call.q(key, value);
        }
        let answer = call.send().await;
        let user = &answer.ok()["user"];
        assert_eq!(user["username"], json!(member.username), "{extra:?}");
        assert_eq!(user["active"], json!(true));
        assert!(user["name"].is_string());
        assert!(user.get("e2e").is_none());
    }
}

/// users.ts `[/users.list]` "should query all users in the system", "should sort
/// for user statuses..." (`fields` and `sort`), "...by name" (a stray
/// `name[$regex]` ignored before 8.4) and "should exclude inviteToken...".
#[tokio::test]
async fn vendor_users_list_with_fields_sort_and_stray_parameters() {
    let s = vendor_server().await;
    let all = s.get("users.list").admin().send().await;
    let body = all.ok();
    assert!(body["count"].is_u64() && body["total"].is_u64(), "{body}");
    let sorted = s
        .get("users.list")
        .admin()
        .q("fields", r#"{"username":1,"_id":1,"active":1,"status":1}"#)
        .q("sort", r#"{"status":1}"#)
        .send()
        .await;
    assert!(sorted.ok()["users"].is_array());
    let stray = s
        .get("users.list")
        .admin()
        .q("name[$regex]", "g")
        .q("sort", r#"{"createdAt":-1}"#)
        .send()
        .await;
    assert!(stray.ok()["total"].is_u64());
    for caller in ["admin", "member"] {
        let call = s
            .get("users.list")
            .q("fields", r#"{"inviteToken":1}"#)
            .q("sort", r#"{"inviteToken":-1}"#)
            .q("count", 100);
        let call = if caller == "admin" {
            call.admin()
        } else {
            call.member()
        };
        let answer = call.send().await;
        let users = answer.ok()["users"].as_array().unwrap().clone();
        assert!(
            users.iter().all(|u| u.get("inviteToken").is_none()),
            "{caller}"
        );
    }
    // A sort that is not ±1 is refused.
    let bad = s
        .get("users.list")
        .admin()
        .q("sort", r#"{"status":2}"#)
        .send()
        .await;
    bad.failed(400, "error-invalid-sort");
}

/// users.ts `[/users.logout]`: "should throw unauthorized error to user w/o
/// logout-other-user permission" (403), "should logout other user" (200), "should
/// logout the requester" (an empty body, 200).
#[tokio::test]
async fn vendor_users_logout_of_others_needs_the_permission_and_of_self_needs_none() {
    let s = vendor_server().await;
    let admin = s.admin().clone();
    let refused = s
        .post("users.logout")
        .member()
        .json(json!({"userId": admin.rocketchat_id}))
        .send()
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(
        refused.json,
        json!({"success": false, "error": "unauthorized"})
    );
    let other = s.emulator.people()[2].clone();
    let answer = s
        .post("users.logout")
        .admin()
        .json(json!({"userId": other.rocketchat_id}))
        .send()
        .await;
    answer.ok();
    let requester = s.post("users.logout").member().json(json!({})).send().await;
    requester.ok();
    assert!(
        !s.rc()
            .token_is_valid(&s.creds().member_user_id, &s.creds().member_token)
    );
}

/// users.ts `[/users.removeOtherTokens]` "should invalidate all active sesions": two
/// logins A and B; removeOtherTokens with B; then `me` with A is 401.
#[tokio::test]
async fn vendor_remove_other_tokens_leaves_only_the_callers_token() {
    let s = vendor_server().await;
    let member = s.member().clone();
    let a = s.login(&member.username, &member.password, None).await;
    let b = s.login(&member.username, &member.password, None).await;
    let token = |answer: &Answer| {
        answer.json["data"]["authToken"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (a, b) = (token(&a), token(&b));
    s.post("users.removeOtherTokens")
        .auth(&member.rocketchat_id, &b)
        .send()
        .await
        .ok();
    let me_a = s.get("me").auth(&member.rocketchat_id, &a).send().await;
    assert_eq!(me_a.status, 401);
    let me_b = s.get("me").auth(&member.rocketchat_id, &b).send().await;
    me_b.ok();
}

/// miscellaneous.ts "/login (wrapper username)", "(wrapper email)", "by user",
/// "by username"; and "/me".
#[tokio::test]
async fn vendor_login_forms_and_me() {
    let s = vendor_server().await;
    let admin = s.admin().clone();
    for body in [
        json!({"user": {"username": admin.username}, "password": admin.password}),
        json!({"user": {"email": admin.email}, "password": admin.password}),
        json!({"user": admin.email, "password": admin.password}),
        json!({"username": admin.username, "password": admin.password}),
    ] {
        let answer = s.post("login").json(body.clone()).send().await;
        assert_eq!(answer.status, 200, "{body}: {}", answer.text);
        assert_eq!(answer.json["status"], json!("success"));
        let data = &answer.json["data"];
        assert!(
            data["userId"].is_string() && data["authToken"].is_string() && data["me"].is_object()
        );
        let me = s
            .get("me")
            .auth(
                data["userId"].as_str().unwrap(),
                data["authToken"].as_str().unwrap(),
            )
            .send()
            .await;
        let me = me.ok();
        for field in ["_id", "username", "active", "name"] {
            assert!(me.get(field).is_some(), "{field}");
        }
        assert!(me["roles"].is_array());
        assert_eq!(me["emails"][0]["address"], json!(admin.email));
        assert!(me["settings"]["preferences"].is_object());
        assert!(me.pointer("/services/password/bcrypt").is_none());
    }
    // A digest instead of the password (`{digest, algorithm: "sha-256"}`) works too.
    let digest = hex::encode(Sha256::digest(admin.password.as_bytes()));
    let answer = s
        .post("login")
        .json(
            json!({"user": admin.username, "password": {"digest": digest, "algorithm": "sha-256"}}),
        )
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

/// failed-login-attempts.ts `shouldFailLoginWithUser`: a wrong password is 401 with
/// `status: "error"` and `message: "Unauthorized"`; a body with keys beyond the
/// compatibility form is no password login either.
#[tokio::test]
async fn vendor_a_failed_login_is_401_unauthorized() {
    let s = vendor_server().await;
    let member = s.member().clone();
    let wrong = s
        .login(
            &member.username,
            &format!("{}-incorrect", member.password),
            None,
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json["status"], json!("error"));
    assert_eq!(wrong.json["message"], json!("Unauthorized"));
    let extra = s
        .post("login")
        .json(json!({"username": member.username, "password": member.password, "foo": 1}))
        .send()
        .await;
    assert_eq!(extra.status, 401);
}

// ----- misleading switches and version switches -----

#[tokio::test]
async fn permissions_list_all_names_who_holds_view_full_other_user_info() {
    let s = server().await;
    let answer = s.get("permissions.listAll").member().send().await;
    let body = answer.ok();
    assert!(body["remove"].is_array());
    let held = body["update"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["_id"] == json!("view-full-other-user-info"))
        .expect("listed");
    assert_eq!(held["roles"], json!(["admin"]));
    assert_eq!(
        s.get("me").member().send().await.ok()["roles"],
        json!(["user"])
    );
}

#[tokio::test]
async fn sessions_list_carries_current_only_on_servers_that_mark_it() {
    for marks in [true, false] {
        let s = server_with(|c| c.marks_current = marks).await;
        let own = s.get("sessions/list").admin().send().await;
        let items = own.ok()["sessions"].as_array().unwrap().clone();
        assert!(!items.is_empty());
        assert_eq!(items.iter().all(|i| i.get("current").is_some()), marks);
        assert!(items.iter().all(|i| marks || i.get("current").is_none()));
    }
}

#[tokio::test]
async fn the_password_fallback_needs_a_local_password() {
    let s = server_with(|c| c.admin_has_password = false).await;
    // No TOTP, no email 2FA and no password: the second-factor route passes.
    let answer = s.get("sessions/list.all").admin().send().await;
    answer.ok();
    // With a password, the same call is challenged for it.
    s.rc().update_config(|c| c.admin_has_password = true);
    let challenged = s.get("sessions/list.all").admin().send().await;
    assert_eq!(challenged.json["details"]["method"], json!("password"));
}

#[tokio::test]
async fn users_logout_refusal_status_is_switchable_and_unknown_ids_answer_success() {
    let s = server_with(|c| c.logout_refusal_status = 401).await;
    let admin = s.admin().clone();
    let refused = s
        .post("users.logout")
        .member()
        .json(json!({"userId": admin.rocketchat_id}))
        .send()
        .await;
    assert_eq!(
        (refused.status, refused.json.clone()),
        (401, json!({"success": false, "error": "unauthorized"}))
    );
    // Users.unsetLoginTokens is an updateOne: any id "has been logged out".
    let ghost = s
        .post("users.logout")
        .admin()
        .json(json!({"userId": "NoSuchUser0000000"}))
        .send()
        .await;
    assert_eq!(
        ghost.ok()["message"],
        json!("User NoSuchUser0000000 has been logged out!")
    );
}

#[tokio::test]
async fn misleading_lookups_answer_another_person() {
    let s = server().await;
    let member = s.member().clone();
    let other = s.emulator.people()[2].clone();
    s.rc().set_misleading(
        Misleading::none().with_lookups_answering_with(Some(other.rocketchat_id.clone())),
    );
    let answer = s
        .get("users.info")
        .admin()
        .q("email", &member.email)
        .send()
        .await;
    assert_eq!(answer.ok()["user"]["_id"], json!(other.rocketchat_id));
    s.rc()
        .set_misleading(Misleading::none().with_lookups_ignoring_filter(true));
    let answer = s
        .get("users.list")
        .admin()
        .q("email", &member.email)
        .send()
        .await;
    assert_eq!(answer.ok()["total"], json!(s.emulator.people().len()));
}

#[tokio::test]
async fn a_stale_listing_shows_logged_out_sessions_for_a_while() {
    let s = server().await;
    s.rc()
        .set_misleading(Misleading::none().with_stale_listings(Duration::from_millis(300)));
    let member = s.member().clone();
    let before = s.rc().listed_sessions_of(&member.rocketchat_id).len();
    assert!(before > 0);
    s.post("users.logout")
        .admin()
        .json(json!({"userId": member.rocketchat_id}))
        .send()
        .await
        .ok();
    let listed = |answer: &Answer| {
        answer.json["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["userId"] == json!(member.rocketchat_id))
            .count()
    };
    let now = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("count", 100)
        .send()
        .await;
    assert_eq!(listed(&now), before, "still listed");
    assert!(
        s.rc().live_sessions_of(&member.rocketchat_id).is_empty(),
        "gone in truth"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let later = s
        .get("sessions/list.all")
        .admin_2fa()
        .q("count", 100)
        .send()
        .await;
    assert_eq!(listed(&later), 0);
}
