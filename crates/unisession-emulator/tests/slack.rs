//! The Slack emulator over real HTTP, checked against `shared/research/slack.md`
//! (section numbers below refer to it) and, where it still describes a method, the
//! official OpenAPI spec.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use unisession_emulator::{
    Emulator, EmulatorConfig, Fault, Faults, LoggedRequest, Misleading, ProviderKind, SlackConfig,
    SlackEmulator,
};
use unisession_testkit::{Provider, Request, Spec, nonconforming};

const LIST: &str = "admin.users.session.list";
const INVALIDATE: &str = "admin.users.session.invalidate";
const RESET: &str = "admin.users.session.reset";
const RESET_BULK: &str = "admin.users.session.resetBulk";
const GET_SETTINGS: &str = "admin.users.session.getSettings";
const SET_SETTINGS: &str = "admin.users.session.setSettings";
const CLEAR_SETTINGS: &str = "admin.users.session.clearSettings";
const LOOKUP: &str = "users.lookupByEmail";
const AUTH_TEST: &str = "auth.test";

/// The seven session methods, each with arguments that would succeed.
fn session_methods(user: &str) -> Vec<(&'static str, Value)> {
    vec![
        (LIST, json!({})),
        (INVALIDATE, json!({"user_id": user, "session_id": 1})),
        (RESET, json!({"user_id": user})),
        (RESET_BULK, json!({"user_ids": [user]})),
        (GET_SETTINGS, json!({"user_ids": [user]})),
        (
            SET_SETTINGS,
            json!({"user_ids": [user], "duration": 28_800}),
        ),
        (CLEAR_SETTINGS, json!({"user_ids": [user]})),
    ]
}

const JSON_UTF8: &str = "application/json; charset=utf-8";
const FORM: &str = "application/x-www-form-urlencoded";

/// Time runs this much faster for the enforced rate limits: Tier 2 becomes 20 calls
/// per 1.2 s, Tier 4 100 per 1.2 s.
const SCALE: f64 = 50.0;
const WINDOW: Duration = Duration::from_millis(1200);

// ----- harness -----

struct Env {
    emulator: Emulator,
    http: reqwest::Client,
}

impl Env {
    /// Six people (admin first) with three sessions each, the primary owner with one,
    /// and a bot without sessions.
    async fn start() -> Self {
        Self::with(EmulatorConfig::new().users(5)).await
    }

    async fn with(config: EmulatorConfig) -> Self {
        let emulator = Emulator::start(config.only(ProviderKind::Slack))
            .await
            .expect("emulator starts");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().build().expect("http client");
        Self { emulator, http }
    }

    async fn with_faults(faults: Faults) -> Self {
        Self::with(
            EmulatorConfig::new()
                .users(5)
                .faults(ProviderKind::Slack, faults),
        )
        .await
    }

    fn slack(&self) -> &SlackEmulator {
        self.emulator.slack().expect("slack started")
    }

    fn admin(&self) -> String {
        self.slack().tokens().admin.clone()
    }

    /// The Slack id of seeded person `index` (0 is the admin who owns the admin token).
    fn person(&self, index: usize) -> String {
        self.emulator.people()[index].slack_id.clone()
    }

    fn url(&self, method: &str) -> String {
        format!("{}{method}", self.slack().base_url())
    }

    fn control(&self, path: &str) -> String {
        format!("http://{}/__unisession/{path}", self.slack().addr())
    }

    /// POSTs `body` as it is: the answer untouched.
    async fn post(
        &self,
        method: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut request = self.http.post(self.url(method)).body(body);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send().await.expect("request sent")
    }

    /// POSTs `args` as a UTF-8 JSON body with the token as `Authorization: Bearer`;
    /// expects HTTP 200 and returns the JSON answer.
    async fn call(&self, method: &str, token: &str, args: Value) -> Value {
        json_200(
            self.post(method, Some(token), Some(JSON_UTF8), args.to_string())
                .await,
        )
        .await
    }

    /// [`Env::call`] with the admin token.
    async fn admin_call(&self, method: &str, args: Value) -> Value {
        self.call(method, &self.admin(), args).await
    }

    /// POSTs `fields` form-encoded; the token, if any, as `Authorization: Bearer`.
    async fn form(&self, method: &str, token: Option<&str>, fields: &[(&str, &str)]) -> Value {
        json_200(
            self.post(method, token, Some(FORM), form_body(fields))
                .await,
        )
        .await
    }

    /// Every page of an unfiltered `list` at `limit` per page.
    async fn list_pages(&self, limit: u64) -> Vec<Value> {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut args = json!({"limit": limit});
            if let Some(cursor) = &cursor {
                args["cursor"] = json!(cursor);
            }
            let page = self.admin_call(LIST, args).await;
            assert_ok(&page);
            let next = page["response_metadata"]["next_cursor"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            pages.push(page);
            if next.is_empty() {
                return pages;
            }
            assert!(pages.len() < 1000, "pagination does not end");
            cursor = Some(next);
        }
    }

    /// The sessions `list` shows for `user`, filtered by team and user.
    async fn listed_sessions_of(&self, user: &str) -> Vec<Value> {
        let answer = self
            .admin_call(
                LIST,
                json!({"team_id": self.slack().team_id(), "user_id": user}),
            )
            .await;
        if answer["error"] == "no_active_sessions" {
            return Vec::new();
        }
        assert_ok(&answer);
        answer["active_sessions"].as_array().expect("array").clone()
    }

    /// A fresh user with `mobile` mobile and `web` browser sessions: (id, mobile ids, web ids).
    fn user_with_devices(&self, mobile: usize, web: usize) -> (String, Vec<u64>, Vec<u64>) {
        let user = self.slack().add_user("devices@corp.example");
        let mobile = (0..mobile)
            .map(|_| self.slack().add_session(&user, true).expect("user exists"))
            .collect();
        let web = (0..web)
            .map(|_| self.slack().add_session(&user, false).expect("user exists"))
            .collect();
        (user, mobile, web)
    }

    fn logged(&self) -> Vec<LoggedRequest> {
        self.slack().requests()
    }
}

fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

async fn json_200(response: reqwest::Response) -> Value {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body read");
    assert_eq!(
        status, 200,
        "Slack answers 200 even for errors (§3.1): {text}"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[track_caller]
fn assert_ok(answer: &Value) {
    assert_eq!(answer["ok"], json!(true), "expected ok: {answer}");
    assert!(answer.get("error").is_none(), "{answer}");
}

#[track_caller]
fn assert_error(answer: &Value, code: &str) {
    assert_eq!(answer["ok"], json!(false), "expected {code}: {answer}");
    assert_eq!(answer["error"], json!(code), "{answer}");
}

fn session_ids(page: &Value) -> Vec<u64> {
    page["active_sessions"]
        .as_array()
        .expect("active_sessions")
        .iter()
        .map(|s| s["session_id"].as_u64().expect("integer session_id"))
        .collect()
}

fn sorted(mut ids: Vec<u64>) -> Vec<u64> {
    ids.sort_unstable();
    ids
}

/// Waits up to five seconds for `done`.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn retry_after_secs(response: &reqwest::Response) -> f64 {
    response
        .headers()
        .get("retry-after")
        .expect("429 carries Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

fn spec_request(logged: &LoggedRequest) -> Request {
    logged.into()
}

// ----- authentication and the envelope (§1 "Token type…", §3.1, §3.3) -----

#[tokio::test]
async fn missing_token_is_not_authed_as_http_200_envelope() {
    let env = Env::start().await;
    let response = env.post(LIST, None, Some(JSON_UTF8), "{}").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"ok": false, "error": "not_authed"}));
}

#[tokio::test]
async fn unknown_token_is_invalid_auth() {
    let env = Env::start().await;
    let answer = env.call(LIST, "xoxp-1-2-nonsense", json!({})).await;
    assert_eq!(answer, json!({"ok": false, "error": "invalid_auth"}));
}

#[tokio::test]
async fn revoked_token_is_token_revoked_on_every_method() {
    let env = Env::start().await;
    let revoked = env.slack().tokens().revoked.clone();
    let user = env.person(1);
    for (method, args) in session_methods(&user)
        .into_iter()
        .chain([(AUTH_TEST, json!({}))])
    {
        let answer = env.call(method, &revoked, args).await;
        assert_error(&answer, "token_revoked");
    }
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
}

#[tokio::test]
async fn bot_token_on_admin_methods_is_not_allowed_token_type() {
    let env = Env::start().await;
    let bot = env.slack().tokens().bot.clone();
    let user = env.person(1);
    let before = env.slack().all_sessions();
    for (method, args) in session_methods(&user) {
        let answer = env.call(method, &bot, args).await;
        assert_error(&answer, "not_allowed_token_type");
    }
    assert_eq!(env.slack().all_sessions(), before);
    assert_eq!(env.slack().settings_of(&user), None);
}

#[tokio::test]
async fn member_token_is_missing_scope_with_needed_and_provided() {
    let env = Env::start().await;
    let member = env.slack().tokens().member.clone();
    let user = env.person(2);
    for (method, args) in session_methods(&user) {
        let answer = env.call(method, &member, args).await;
        assert_error(&answer, "missing_scope");
        let needed = if matches!(method, LIST | GET_SETTINGS) {
            "admin.users:read"
        } else {
            "admin.users:write"
        };
        assert_eq!(answer["needed"], json!(needed), "{method}: {answer}");
        let provided = answer["provided"].as_str().expect("provided is a string");
        assert!(!provided.is_empty(), "{answer}");
        assert!(!provided.split(',').any(|s| s == needed), "{answer}");
    }
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
}

#[tokio::test]
async fn not_admin_token_is_not_an_admin_and_changes_nothing() {
    let env = Env::start().await;
    let not_admin = env.slack().tokens().not_admin.clone();
    let user = env.person(2);
    let before = env.slack().all_sessions();
    for (method, args) in session_methods(&user) {
        let answer = env.call(method, &not_admin, args).await;
        assert_error(&answer, "not_an_admin");
    }
    assert_eq!(env.slack().all_sessions(), before);
    assert_eq!(env.slack().settings_of(&user), None);
}

#[tokio::test]
async fn token_in_form_field_authenticates() {
    let env = Env::start().await;
    let user = env.person(1);
    let admin = env.admin();
    let answer = env
        .form(
            RESET,
            None,
            &[("token", admin.as_str()), ("user_id", &user)],
        )
        .await;
    assert_eq!(answer, json!({"ok": true}));
    assert!(env.slack().sessions_of(&user).is_empty());
}

#[tokio::test]
async fn token_inside_json_body_is_not_read() {
    let env = Env::start().await;
    let user = env.person(1);
    let body = json!({"token": env.admin(), "user_id": user}).to_string();
    let answer = json_200(env.post(RESET, None, Some(JSON_UTF8), body).await).await;
    assert_eq!(answer, json!({"ok": false, "error": "not_authed"}));
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
}

#[tokio::test]
async fn token_in_query_string_is_not_read() {
    let env = Env::start().await;
    let url = format!("{}?token={}", env.url(AUTH_TEST), env.admin());
    let response = env.http.post(url).send().await.unwrap();
    assert_error(&json_200(response).await, "not_authed");
}

#[tokio::test]
async fn header_token_wins_over_form_token() {
    let env = Env::start().await;
    let revoked = env.slack().tokens().revoked.clone();
    let admin = env.admin();
    let answer = env
        .form(AUTH_TEST, Some(&revoked), &[("token", admin.as_str())])
        .await;
    assert_error(&answer, "token_revoked");
}

#[tokio::test]
async fn unknown_method_is_unknown_method() {
    let env = Env::start().await;
    let answer = env.admin_call("admin.users.session.nope", json!({})).await;
    assert_eq!(answer, json!({"ok": false, "error": "unknown_method"}));
}

#[tokio::test]
async fn path_outside_the_api_is_404() {
    let env = Env::start().await;
    let url = format!("http://{}/elsewhere", env.slack().addr());
    let response = env.http.post(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

// ----- Enterprise plan (§0) -----

#[tokio::test]
async fn session_methods_without_enterprise_plan_are_feature_not_enabled() {
    let mut slack = SlackConfig::default();
    slack.enterprise = false;
    let env = Env::with(EmulatorConfig::new().users(5).slack(slack)).await;
    let user = env.person(1);
    for (method, args) in session_methods(&user) {
        assert_error(&env.admin_call(method, args).await, "feature_not_enabled");
    }
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
    // The methods outside the admin family do not need the plan.
    assert_ok(&env.admin_call(AUTH_TEST, json!({})).await);
    let email = env.emulator.people()[1].email.clone();
    assert_ok(&env.admin_call(LOOKUP, json!({"email": email})).await);
    // Switching the plan on at run time opens them.
    env.slack().set_enterprise(true);
    assert_ok(&env.admin_call(RESET, json!({"user_id": user})).await);
    assert!(env.slack().sessions_of(&user).is_empty());
}

#[tokio::test]
async fn enterprise_plan_switched_off_at_run_time_closes_the_session_methods() {
    let env = Env::start().await;
    env.slack().set_enterprise(false);
    assert_error(
        &env.admin_call(LIST, json!({})).await,
        "feature_not_enabled",
    );
}

// ----- request encoding (§1 common errors, §3.1, §3.3) -----

#[tokio::test]
async fn json_body_without_charset_gets_missing_charset_warning() {
    let env = Env::start().await;
    let user = env.person(1);
    let body = json!({"user_id": user}).to_string();
    let answer = json_200(
        env.post(RESET, Some(&env.admin()), Some("application/json"), body)
            .await,
    )
    .await;
    assert_ok(&answer);
    assert_eq!(answer["warning"], json!("missing_charset"));
    assert_eq!(
        answer["response_metadata"]["warnings"],
        json!(["missing_charset"])
    );
    // The warning does not stop the call.
    assert!(env.slack().sessions_of(&user).is_empty());
}

#[tokio::test]
async fn missing_charset_warning_sits_beside_next_cursor() {
    let env = Env::start().await;
    let answer = json_200(
        env.post(
            LIST,
            Some(&env.admin()),
            Some("application/json"),
            r#"{"limit":2}"#,
        )
        .await,
    )
    .await;
    assert_ok(&answer);
    assert_eq!(
        answer["response_metadata"]["warnings"],
        json!(["missing_charset"])
    );
    assert!(
        !answer["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn json_body_with_charset_gets_no_warning() {
    let env = Env::start().await;
    let answer = env
        .admin_call(RESET, json!({"user_id": env.person(1)}))
        .await;
    assert_eq!(answer, json!({"ok": true}));
}

#[tokio::test]
async fn form_body_gets_no_warning() {
    let env = Env::start().await;
    let user = env.person(1);
    let answer = env
        .form(RESET, Some(&env.admin()), &[("user_id", &user)])
        .await;
    assert_eq!(answer, json!({"ok": true}));
}

#[tokio::test]
async fn unsupported_content_type_is_invalid_post_type() {
    let env = Env::start().await;
    let user = env.person(1);
    let body = format!("<user_id>{user}</user_id>");
    let answer = json_200(
        env.post(RESET, Some(&env.admin()), Some("text/xml"), body)
            .await,
    )
    .await;
    assert_error(&answer, "invalid_post_type");
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
}

#[tokio::test]
async fn body_without_content_type_is_missing_post_type() {
    let env = Env::start().await;
    let user = env.person(1);
    let answer = json_200(
        env.post(
            RESET,
            Some(&env.admin()),
            None,
            form_body(&[("user_id", &user)]),
        )
        .await,
    )
    .await;
    assert_error(&answer, "missing_post_type");
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
}

#[tokio::test]
async fn charset_other_than_utf8_or_latin1_is_invalid_charset() {
    let env = Env::start().await;
    let user = env.person(1);
    let body = json!({"user_id": user}).to_string();
    let answer = json_200(
        env.post(
            RESET,
            Some(&env.admin()),
            Some("application/json; charset=utf-16"),
            body.clone(),
        )
        .await,
    )
    .await;
    assert_error(&answer, "invalid_charset");
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
    let answer = json_200(
        env.post(
            RESET,
            Some(&env.admin()),
            Some("application/json; charset=iso-8859-1"),
            body,
        )
        .await,
    )
    .await;
    assert_eq!(answer, json!({"ok": true}));
}

#[tokio::test]
async fn broken_json_body_is_invalid_json_and_non_object_is_json_not_object() {
    let env = Env::start().await;
    let admin = env.admin();
    let broken = json_200(
        env.post(LIST, Some(&admin), Some(JSON_UTF8), r#"{"limit": "#)
            .await,
    )
    .await;
    assert_error(&broken, "invalid_json");
    let array = json_200(env.post(LIST, Some(&admin), Some(JSON_UTF8), "[1,2]").await).await;
    assert_error(&array, "json_not_object");
}

#[tokio::test]
async fn multipart_form_body_is_accepted() {
    let env = Env::start().await;
    let user = env.person(1);
    let boundary = "----unisession42";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"user_id\"\r\n\r\n{user}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"mobile_only\"\r\n\r\nfalse\r\n--{boundary}--\r\n"
    );
    let answer = json_200(
        env.post(
            RESET,
            Some(&env.admin()),
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body,
        )
        .await,
    )
    .await;
    assert_eq!(answer, json!({"ok": true}));
    assert!(env.slack().sessions_of(&user).is_empty());
}

#[tokio::test]
async fn truncated_multipart_body_is_invalid_form_data() {
    let env = Env::start().await;
    let user = env.person(1);
    let body = format!("--b0\r\nContent-Disposition: form-data; name=\"user_id\"\r\n\r\n{user}");
    let answer = json_200(
        env.post(
            RESET,
            Some(&env.admin()),
            Some("multipart/form-data; boundary=b0"),
            body,
        )
        .await,
    )
    .await;
    assert_error(&answer, "invalid_form_data");
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
}

#[tokio::test]
async fn text_plain_body_is_read_as_form_fields() {
    let env = Env::start().await;
    let user = env.person(1);
    let answer = json_200(
        env.post(
            RESET,
            Some(&env.admin()),
            Some("text/plain"),
            form_body(&[("user_id", &user)]),
        )
        .await,
    )
    .await;
    assert_eq!(answer, json!({"ok": true}));
    assert!(env.slack().sessions_of(&user).is_empty());
}

#[tokio::test]
async fn query_arguments_are_read_beside_the_body() {
    let env = Env::start().await;
    let user = env.person(1);
    let url = format!("{}?user_id={user}", env.url(RESET));
    let response = env
        .http
        .post(url)
        .bearer_auth(env.admin())
        .send()
        .await
        .unwrap();
    assert_eq!(json_200(response).await, json!({"ok": true}));
    assert!(env.slack().sessions_of(&user).is_empty());
}

// ----- admin.users.session.list (§1.1, §3.4) -----

#[tokio::test]
async fn list_pagination_returns_every_non_bot_session_exactly_once() {
    let env = Env::start().await;
    let bot = env.slack().bot_user_id();
    let bot_sessions = [
        env.slack().add_session(&bot, false).unwrap(),
        env.slack().add_session(&bot, true).unwrap(),
    ];
    let expected: Vec<u64> = env
        .slack()
        .all_sessions()
        .into_iter()
        .filter(|id| !bot_sessions.contains(id))
        .collect();
    assert_eq!(expected.len(), 6 * 3 + 1);
    let pages = env.list_pages(4).await;
    assert_eq!(pages.len(), expected.len().div_ceil(4));
    for (i, page) in pages.iter().enumerate() {
        let ids = session_ids(page);
        if i + 1 < pages.len() {
            assert_eq!(ids.len(), 4, "a full page before the last");
            assert!(
                !page["response_metadata"]["next_cursor"]
                    .as_str()
                    .unwrap()
                    .is_empty()
            );
        } else {
            assert_eq!(ids.len(), expected.len() - 4 * i);
            assert_eq!(page["response_metadata"]["next_cursor"], json!(""));
        }
    }
    let mut seen: Vec<u64> = pages.iter().flat_map(session_ids).collect();
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a session listed twice");
    seen.sort_unstable();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn list_without_limit_returns_everything_on_one_page_with_empty_next_cursor() {
    let env = Env::start().await;
    let answer = env.admin_call(LIST, json!({})).await;
    assert_ok(&answer);
    assert_eq!(sorted(session_ids(&answer)), env.slack().all_sessions());
    assert_eq!(answer["response_metadata"]["next_cursor"], json!(""));
}

#[tokio::test]
async fn list_limit_bounds_are_1_and_1000() {
    let env = Env::start().await;
    for bad in [json!(0), json!(1001), json!(-1), json!("many"), json!(2.5)] {
        let answer = env.admin_call(LIST, json!({"limit": bad})).await;
        assert_error(&answer, "invalid_arguments");
    }
    let one = env.admin_call(LIST, json!({"limit": 1})).await;
    assert_eq!(session_ids(&one).len(), 1);
    let all = env.admin_call(LIST, json!({"limit": 1000})).await;
    assert_eq!(session_ids(&all).len(), env.slack().session_count());
    // Form-encoded numbers are text.
    let admin = env.admin();
    let two = env.form(LIST, Some(&admin), &[("limit", "2")]).await;
    assert_eq!(session_ids(&two).len(), 2);
    let zero = env.form(LIST, Some(&admin), &[("limit", "0")]).await;
    assert_error(&zero, "invalid_arguments");
}

#[tokio::test]
async fn list_team_id_without_user_id_is_missing_user() {
    let env = Env::start().await;
    let answer = env
        .admin_call(LIST, json!({"team_id": env.slack().team_id()}))
        .await;
    assert_eq!(answer, json!({"ok": false, "error": "missing_user"}));
}

#[tokio::test]
async fn list_user_id_without_team_id_is_missing_team() {
    let env = Env::start().await;
    let answer = env
        .admin_call(LIST, json!({"user_id": env.person(1)}))
        .await;
    assert_eq!(answer, json!({"ok": false, "error": "missing_team"}));
}

#[tokio::test]
async fn list_with_unknown_team_is_team_not_found() {
    let env = Env::start().await;
    let answer = env
        .admin_call(
            LIST,
            json!({"team_id": "T0NOSUCHTEAM", "user_id": env.person(1)}),
        )
        .await;
    assert_error(&answer, "team_not_found");
}

#[tokio::test]
async fn list_filtered_by_team_and_user_returns_only_that_users_sessions() {
    let env = Env::start().await;
    let user = env.person(2);
    let expected = env.slack().sessions_of(&user);
    assert_eq!(expected.len(), 3);
    // The workspace id and the org id both name the team.
    for team in [env.slack().team_id(), env.slack().enterprise_id()] {
        let answer = env
            .admin_call(LIST, json!({"team_id": team, "user_id": user}))
            .await;
        assert_ok(&answer);
        assert_eq!(sorted(session_ids(&answer)), expected);
        for session in answer["active_sessions"].as_array().unwrap() {
            assert_eq!(session["user_id"], json!(user));
            // Listings report the org id (`E…`) as team_id (§1.1 example).
            assert_eq!(session["team_id"], json!(env.slack().enterprise_id()));
        }
        // The documented example for one user's sessions has no response_metadata.
        assert!(answer.get("response_metadata").is_none(), "{answer}");
    }
}

#[tokio::test]
async fn list_filtered_to_user_without_sessions_is_no_active_sessions() {
    let env = Env::start().await;
    let user = env.slack().add_user("nobody@corp.example");
    let answer = env
        .admin_call(
            LIST,
            json!({"team_id": env.slack().team_id(), "user_id": user}),
        )
        .await;
    assert_eq!(answer, json!({"ok": false, "error": "no_active_sessions"}));
}

#[tokio::test]
async fn list_filtered_to_unknown_user_is_user_not_found() {
    let env = Env::start().await;
    let answer = env
        .admin_call(
            LIST,
            json!({"team_id": env.slack().team_id(), "user_id": "U0NOSUCHUSR"}),
        )
        .await;
    assert_error(&answer, "user_not_found");
}

#[tokio::test]
async fn list_filtered_to_a_bot_is_bots_not_allowed() {
    let env = Env::start().await;
    let bot = env.slack().bot_user_id();
    env.slack().add_session(&bot, false).unwrap();
    let answer = env
        .admin_call(
            LIST,
            json!({"team_id": env.slack().team_id(), "user_id": bot}),
        )
        .await;
    assert_eq!(answer, json!({"ok": false, "error": "bots_not_allowed"}));
}

#[tokio::test]
async fn list_session_ids_are_json_integers_beyond_u32() {
    let env = Env::start().await;
    let answer = env.admin_call(LIST, json!({})).await;
    let sessions = answer["active_sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 19);
    for session in sessions {
        assert!(session["session_id"].is_u64(), "{session}");
        assert!(session["session_id"].as_u64().unwrap() > u64::from(u32::MAX));
    }
}

#[tokio::test]
async fn list_carries_recent_only_on_sessions_changed_since_creation() {
    let env = Env::start().await;
    let answer = env.admin_call(LIST, json!({})).await;
    let sessions = answer["active_sessions"].as_array().unwrap();
    let with_recent = sessions
        .iter()
        .filter(|s| s.get("recent").is_some())
        .count();
    assert!(with_recent > 0, "no session has `recent`");
    assert!(with_recent < sessions.len(), "every session has `recent`");
    for session in sessions {
        for key in ["user_id", "team_id", "session_id", "created"] {
            assert!(session.get(key).is_some(), "required {key}: {session}");
        }
        let snapshots = std::iter::once(&session["created"]).chain(session.get("recent"));
        for snapshot in snapshots {
            for field in [
                "device_hardware",
                "os",
                "os_version",
                "slack_client_version",
                "ip",
            ] {
                assert!(snapshot[field].is_string(), "{field}: {session}");
            }
            let ip = snapshot["ip"].as_str().unwrap();
            assert!(ip.parse::<std::net::IpAddr>().is_ok(), "not an IP: {ip}");
        }
    }
}

#[tokio::test]
async fn list_with_invalid_cursor_is_invalid_cursor() {
    let env = Env::start().await;
    for cursor in ["not-a-cursor", "5c3e53d5", "c2Vzc2lvbl9pZDp4"] {
        let answer = env.admin_call(LIST, json!({"cursor": cursor})).await;
        assert_eq!(answer, json!({"ok": false, "error": "invalid_cursor"}));
    }
}

#[tokio::test]
async fn list_cursor_survives_revocations_between_pages() {
    let env = Env::start().await;
    let first = env.admin_call(LIST, json!({"limit": 5})).await;
    let cursor = first["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // Revoke a session on a later page, then continue.
    let later = env.slack().all_sessions()[7];
    let owner = env
        .emulator
        .people()
        .iter()
        .map(|p| p.slack_id.clone())
        .find(|u| env.slack().sessions_of(u).contains(&later))
        .expect("a person owns it");
    assert_ok(
        &env.admin_call(INVALIDATE, json!({"user_id": owner, "session_id": later}))
            .await,
    );
    let second = env
        .admin_call(LIST, json!({"limit": 1000, "cursor": cursor}))
        .await;
    let mut seen = session_ids(&first);
    seen.extend(session_ids(&second));
    assert_eq!(sorted(seen), env.slack().all_sessions());
}

// ----- admin.users.session.invalidate (§1.2) -----

#[tokio::test]
async fn invalidate_removes_exactly_that_session() {
    let env = Env::start().await;
    let user = env.person(1);
    let sessions = env.slack().sessions_of(&user);
    let total = env.slack().session_count();
    let answer = env
        .admin_call(
            INVALIDATE,
            json!({"user_id": user, "session_id": sessions[1]}),
        )
        .await;
    assert_eq!(answer, json!({"ok": true}));
    assert_eq!(
        env.slack().sessions_of(&user),
        vec![sessions[0], sessions[2]]
    );
    assert_eq!(env.slack().session_count(), total - 1);
    let listed: Vec<u64> = env
        .listed_sessions_of(&user)
        .await
        .iter()
        .map(|s| s["session_id"].as_u64().unwrap())
        .collect();
    assert_eq!(sorted(listed), vec![sessions[0], sessions[2]]);
}

#[tokio::test]
async fn invalidate_takes_form_encoded_session_id_text() {
    let env = Env::start().await;
    let user = env.person(1);
    let session = env.slack().sessions_of(&user)[0];
    let answer = env
        .form(
            INVALIDATE,
            Some(&env.admin()),
            &[("user_id", &user), ("session_id", &session.to_string())],
        )
        .await;
    assert_eq!(answer, json!({"ok": true}));
    assert!(!env.slack().sessions_of(&user).contains(&session));
}

#[tokio::test]
async fn invalidate_without_user_id_is_invalid_arguments() {
    let env = Env::start().await;
    let user = env.person(1);
    let session = env.slack().sessions_of(&user)[0];
    // The legacy `team_id` form (removed from the docs in Jan 2025) does not stand in.
    for args in [
        json!({"session_id": session}),
        json!({"team_id": env.slack().team_id(), "session_id": session}),
    ] {
        assert_error(&env.admin_call(INVALIDATE, args).await, "invalid_arguments");
    }
    assert!(env.slack().sessions_of(&user).contains(&session));
}

#[tokio::test]
async fn invalidate_without_integer_session_id_is_invalid_arguments() {
    let env = Env::start().await;
    let user = env.person(1);
    for args in [
        json!({"user_id": user}),
        json!({"user_id": user, "session_id": "abc"}),
        json!({"user_id": user, "session_id": 1.5}),
        json!({"user_id": user, "session_id": -3}),
    ] {
        assert_error(&env.admin_call(INVALIDATE, args).await, "invalid_arguments");
    }
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
}

#[tokio::test]
async fn invalidate_of_unknown_session_is_session_not_found() {
    let env = Env::start().await;
    let user = env.person(1);
    let answer = env
        .admin_call(INVALIDATE, json!({"user_id": user, "session_id": 12345}))
        .await;
    assert_eq!(answer, json!({"ok": false, "error": "session_not_found"}));
    assert_eq!(env.slack().session_count(), 19);
}

#[tokio::test]
async fn invalidate_of_another_users_session_is_session_not_found() {
    let env = Env::start().await;
    let (alice, bob) = (env.person(1), env.person(2));
    let bobs = env.slack().sessions_of(&bob)[0];
    let answer = env
        .admin_call(INVALIDATE, json!({"user_id": alice, "session_id": bobs}))
        .await;
    assert_error(&answer, "session_not_found");
    assert!(env.slack().sessions_of(&bob).contains(&bobs));
    assert_eq!(env.slack().sessions_of(&alice).len(), 3);
}

#[tokio::test]
async fn invalidate_twice_is_session_not_found() {
    let env = Env::start().await;
    let user = env.person(1);
    let session = env.slack().sessions_of(&user)[0];
    let args = json!({"user_id": user, "session_id": session});
    assert_ok(&env.admin_call(INVALIDATE, args.clone()).await);
    assert_error(&env.admin_call(INVALIDATE, args).await, "session_not_found");
    assert_eq!(env.slack().sessions_of(&user).len(), 2);
}

#[tokio::test]
async fn invalidate_of_primary_owner_session_is_cannot_invalidate_primary_owner() {
    let env = Env::start().await;
    let owner = env.slack().primary_owner_id();
    let session = env.slack().sessions_of(&owner)[0];
    let answer = env
        .admin_call(INVALIDATE, json!({"user_id": owner, "session_id": session}))
        .await;
    assert_eq!(
        answer,
        json!({"ok": false, "error": "cannot_invalidate_primary_owner"})
    );
    assert_eq!(env.slack().sessions_of(&owner), vec![session]);
}

#[tokio::test]
async fn invalidate_for_unknown_user_is_user_not_found() {
    let env = Env::start().await;
    let session = env.slack().all_sessions()[0];
    let answer = env
        .admin_call(
            INVALIDATE,
            json!({"user_id": "U0NOSUCHUSR", "session_id": session}),
        )
        .await;
    assert_error(&answer, "user_not_found");
    assert_eq!(env.slack().session_count(), 19);
}

// ----- admin.users.session.reset (§1.3) -----

#[tokio::test]
async fn reset_removes_every_session_of_the_user_and_no_other() {
    let env = Env::start().await;
    let user = env.person(3);
    let mine = env.slack().sessions_of(&user);
    let others: Vec<u64> = env
        .slack()
        .all_sessions()
        .into_iter()
        .filter(|id| !mine.contains(id))
        .collect();
    let answer = env.admin_call(RESET, json!({"user_id": user})).await;
    assert_eq!(answer, json!({"ok": true}));
    assert!(env.slack().sessions_of(&user).is_empty());
    assert_eq!(env.slack().all_sessions(), others);
    assert!(env.listed_sessions_of(&user).await.is_empty());
}

#[tokio::test]
async fn reset_of_user_without_sessions_is_ok() {
    let env = Env::start().await;
    let user = env.slack().add_user("idle@corp.example");
    assert_eq!(
        env.admin_call(RESET, json!({"user_id": user})).await,
        json!({"ok": true})
    );
    assert_eq!(env.slack().session_count(), 19);
}

#[tokio::test]
async fn reset_mobile_only_removes_only_mobile_sessions() {
    let env = Env::start().await;
    let (user, _mobile, web) = env.user_with_devices(2, 2);
    // python-slack-sdk sends booleans as "1" in forms (§4.1).
    let answer = env
        .form(
            RESET,
            Some(&env.admin()),
            &[("user_id", &user), ("mobile_only", "1")],
        )
        .await;
    assert_eq!(answer, json!({"ok": true}));
    assert_eq!(env.slack().sessions_of(&user), web);
    for session in env.listed_sessions_of(&user).await {
        let os = session["created"]["os"].as_str().unwrap();
        assert!(!["iOS", "Android"].contains(&os), "mobile left: {session}");
    }
}

#[tokio::test]
async fn reset_web_only_removes_only_web_sessions() {
    let env = Env::start().await;
    let (user, mobile, _web) = env.user_with_devices(2, 3);
    let answer = env
        .admin_call(RESET, json!({"user_id": user, "web_only": true}))
        .await;
    assert_eq!(answer, json!({"ok": true}));
    assert_eq!(env.slack().sessions_of(&user), mobile);
    for session in env.listed_sessions_of(&user).await {
        let os = session["created"]["os"].as_str().unwrap();
        assert!(["iOS", "Android"].contains(&os), "web left: {session}");
    }
}

#[tokio::test]
async fn reset_with_false_flags_removes_everything() {
    let env = Env::start().await;
    let (user, _, _) = env.user_with_devices(1, 1);
    let answer = env
        .form(
            RESET,
            Some(&env.admin()),
            &[
                ("user_id", &user),
                ("mobile_only", "false"),
                ("web_only", "0"),
            ],
        )
        .await;
    assert_eq!(answer, json!({"ok": true}));
    assert!(env.slack().sessions_of(&user).is_empty());
}

#[tokio::test]
async fn reset_of_bot_is_cannot_reset_bot() {
    let env = Env::start().await;
    let bot = env.slack().bot_user_id();
    let session = env.slack().add_session(&bot, false).unwrap();
    let answer = env.admin_call(RESET, json!({"user_id": bot})).await;
    assert_eq!(answer, json!({"ok": false, "error": "cannot_reset_bot"}));
    assert_eq!(env.slack().sessions_of(&bot), vec![session]);
}

#[tokio::test]
async fn reset_of_primary_owner_is_cannot_reset_primary_owner() {
    let env = Env::start().await;
    let owner = env.slack().primary_owner_id();
    let answer = env.admin_call(RESET, json!({"user_id": owner})).await;
    assert_eq!(
        answer,
        json!({"ok": false, "error": "cannot_reset_primary_owner"})
    );
    assert_eq!(env.slack().sessions_of(&owner).len(), 1);
}

#[tokio::test]
async fn reset_of_unknown_user_is_user_not_found() {
    let env = Env::start().await;
    let answer = env
        .admin_call(RESET, json!({"user_id": "W0NOSUCHUSR"}))
        .await;
    assert_eq!(answer, json!({"ok": false, "error": "user_not_found"}));
    assert_eq!(env.slack().session_count(), 19);
}

#[tokio::test]
async fn reset_without_user_id_is_invalid_arguments() {
    let env = Env::start().await;
    assert_error(
        &env.admin_call(RESET, json!({"mobile_only": true})).await,
        "invalid_arguments",
    );
    assert_eq!(env.slack().session_count(), 19);
}

// ----- admin.users.session.resetBulk (§1.4, §1.8) -----

fn bulk_env_config() -> EmulatorConfig {
    let mut slack = SlackConfig::default();
    slack.reset_bulk_delay = Duration::from_millis(400);
    EmulatorConfig::new().users(5).slack(slack)
}

#[tokio::test]
async fn reset_bulk_is_asynchronous_sessions_go_shortly_after_ok() {
    let env = Env::with(bulk_env_config()).await;
    let (a, b, untouched) = (env.person(1), env.person(2), env.person(3));
    let answer = env
        .admin_call(RESET_BULK, json!({"user_ids": [a, b]}))
        .await;
    assert_eq!(answer, json!({"ok": true}));
    // "An ok response … does not mean all sessions have been reset."
    assert_eq!(env.slack().sessions_of(&a).len(), 3);
    wait_until("the bulk reset", || {
        env.slack().sessions_of(&a).is_empty() && env.slack().sessions_of(&b).is_empty()
    })
    .await;
    assert_eq!(env.slack().sessions_of(&untouched).len(), 3);
    assert_eq!(env.slack().session_count(), 19 - 6);
}

#[tokio::test]
async fn reset_bulk_accepts_a_json_array_string_in_a_form() {
    let env = Env::start().await;
    let (a, b) = (env.person(1), env.person(2));
    let ids = json!([a, b]).to_string();
    let answer = env
        .form(RESET_BULK, Some(&env.admin()), &[("user_ids", &ids)])
        .await;
    assert_eq!(answer, json!({"ok": true}));
    wait_until("the bulk reset", || {
        env.slack().sessions_of(&a).is_empty() && env.slack().sessions_of(&b).is_empty()
    })
    .await;
    assert_eq!(env.slack().session_count(), 19 - 6);
}

#[tokio::test]
async fn reset_bulk_accepts_comma_separated_ids_in_a_form() {
    let env = Env::start().await;
    let (a, b, c) = (env.person(1), env.person(2), env.person(4));
    let ids = format!("{a},{b},{c}");
    let answer = env
        .form(RESET_BULK, Some(&env.admin()), &[("user_ids", &ids)])
        .await;
    assert_eq!(answer, json!({"ok": true}));
    wait_until("the bulk reset", || env.slack().session_count() == 19 - 9).await;
    for user in [a, b, c] {
        assert!(env.slack().sessions_of(&user).is_empty());
    }
}

#[tokio::test]
async fn reset_bulk_mobile_only_removes_only_mobile_sessions() {
    let env = Env::start().await;
    let (user, _mobile, web) = env.user_with_devices(3, 1);
    let answer = env
        .admin_call(RESET_BULK, json!({"user_ids": [user], "mobile_only": true}))
        .await;
    assert_eq!(answer, json!({"ok": true}));
    wait_until("the bulk reset", || env.slack().sessions_of(&user) == web).await;
}

#[tokio::test]
async fn reset_bulk_of_more_than_1000_or_no_users_is_invalid_arguments() {
    let env = Env::start().await;
    let many: Vec<String> = (0..1001).map(|i| format!("U{i:010}")).collect();
    for args in [
        json!({"user_ids": many}),
        json!({"user_ids": []}),
        json!({}),
        json!({"user_ids": [1, 2]}),
    ] {
        assert_error(&env.admin_call(RESET_BULK, args).await, "invalid_arguments");
    }
    // 1000 is still allowed: those unknown users fail one by one instead.
    let thousand: Vec<String> = (0..1000).map(|i| format!("U{i:010}")).collect();
    let answer = env
        .admin_call(RESET_BULK, json!({"user_ids": thousand}))
        .await;
    assert_error(&answer, "failed_for_some_users");
    assert_eq!(
        answer["response_metadata"]["messages"]
            .as_array()
            .unwrap()
            .len(),
        1000
    );
}

#[tokio::test]
async fn reset_bulk_with_some_invalid_ids_is_failed_for_some_users_and_resets_the_rest() {
    let env = Env::start().await;
    let valid = env.person(1);
    let owner = env.slack().primary_owner_id();
    let bot = env.slack().bot_user_id();
    let unknown = "U0NOSUCHUSR".to_owned();
    let answer = env
        .admin_call(
            RESET_BULK,
            json!({"user_ids": [valid, unknown, bot, owner]}),
        )
        .await;
    assert_error(&answer, "failed_for_some_users");
    let messages: Vec<&str> = answer["response_metadata"]["messages"]
        .as_array()
        .expect("details in response_metadata.messages")
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    for failed in [&unknown, &bot, &owner] {
        assert_eq!(
            messages
                .iter()
                .filter(|m| m.contains(failed.as_str()))
                .count(),
            1,
            "{failed}: {messages:?}"
        );
    }
    assert!(messages.iter().all(|m| m.starts_with("[ERROR]")));
    assert!(!messages.iter().any(|m| m.contains(valid.as_str())));
    wait_until("the valid user's reset", || {
        env.slack().sessions_of(&valid).is_empty()
    })
    .await;
    assert_eq!(env.slack().sessions_of(&owner).len(), 1);
    assert_eq!(env.slack().session_count(), 19 - 3);
}

// ----- get/set/clearSettings (§1.5–1.7) -----

#[tokio::test]
async fn set_settings_then_get_settings_reports_them() {
    let env = Env::start().await;
    let (a, b) = (env.person(1), env.person(2));
    let answer = env
        .admin_call(
            SET_SETTINGS,
            json!({"user_ids": [a], "duration": 86_400, "desktop_app_browser_quit": true}),
        )
        .await;
    assert_eq!(answer, json!({"ok": true}));
    assert_eq!(
        env.slack().settings_of(&a),
        Some((Some(86_400), Some(true)))
    );
    assert_eq!(env.slack().settings_of(&b), None);
    let got = env
        .admin_call(GET_SETTINGS, json!({"user_ids": [a, b]}))
        .await;
    assert_eq!(
        got,
        json!({
            "ok": true,
            "session_settings": [
                {"user_id": a, "desktop_app_browser_quit": true, "duration": 86_400}
            ],
            "no_settings_applied": [b],
        })
    );
}

#[tokio::test]
async fn set_settings_of_one_setting_leaves_the_other_null() {
    let env = Env::start().await;
    let user = env.person(1);
    let admin = env.admin();
    let answer = env
        .form(
            SET_SETTINGS,
            Some(&admin),
            &[("user_ids", &user), ("desktop_app_browser_quit", "false")],
        )
        .await;
    assert_eq!(answer, json!({"ok": true}));
    let got = env
        .admin_call(GET_SETTINGS, json!({"user_ids": [user]}))
        .await;
    assert_eq!(
        got["session_settings"],
        json!([{"user_id": user, "desktop_app_browser_quit": false, "duration": null}])
    );
    // A later duration keeps the earlier flag.
    assert_ok(
        &env.admin_call(
            SET_SETTINGS,
            json!({"user_ids": [user], "duration": 28_800}),
        )
        .await,
    );
    assert_eq!(
        env.slack().settings_of(&user),
        Some((Some(28_800), Some(false)))
    );
}

#[tokio::test]
async fn set_settings_duration_must_be_28800_to_315569520() {
    let env = Env::start().await;
    let user = env.person(1);
    for bad in [json!(28_799), json!(315_569_521), json!(180), json!("long")] {
        let answer = env
            .admin_call(SET_SETTINGS, json!({"user_ids": [user], "duration": bad}))
            .await;
        assert_error(&answer, "invalid_arguments");
        assert_eq!(env.slack().settings_of(&user), None, "after {bad}");
    }
    for good in [28_800u64, 315_569_520] {
        let answer = env
            .admin_call(SET_SETTINGS, json!({"user_ids": [user], "duration": good}))
            .await;
        assert_eq!(answer, json!({"ok": true}));
        assert_eq!(env.slack().settings_of(&user), Some((Some(good), None)));
    }
}

#[tokio::test]
async fn set_settings_without_any_setting_is_at_least_one_session_setting_required() {
    let env = Env::start().await;
    let user = env.person(1);
    let answer = env
        .admin_call(SET_SETTINGS, json!({"user_ids": [user]}))
        .await;
    assert_eq!(
        answer,
        json!({"ok": false, "error": "at_least_one_session_setting_required"})
    );
    assert_eq!(env.slack().settings_of(&user), None);
}

#[tokio::test]
async fn set_settings_user_ids_bounds_are_1_to_1000() {
    let env = Env::start().await;
    let many: Vec<String> = (0..1001).map(|_| env.person(1)).collect();
    for ids in [json!(many), json!([])] {
        let answer = env
            .admin_call(SET_SETTINGS, json!({"user_ids": ids, "duration": 28_800}))
            .await;
        assert_error(&answer, "invalid_arguments");
    }
    assert_eq!(env.slack().settings_of(&env.person(1)), None);
}

#[tokio::test]
async fn get_settings_lists_users_without_settings_in_no_settings_applied() {
    let env = Env::start().await;
    let (a, b) = (env.person(1), env.person(2));
    let got = env
        .admin_call(GET_SETTINGS, json!({"user_ids": [a, b]}))
        .await;
    assert_eq!(
        got,
        json!({"ok": true, "session_settings": [], "no_settings_applied": [a, b]})
    );
}

#[tokio::test]
async fn get_settings_omits_users_without_sessions() {
    let env = Env::start().await;
    let with_sessions = env.person(1);
    let idle = env.slack().add_user("idle@corp.example");
    let bare = env.slack().add_user("bare@corp.example");
    assert_ok(
        &env.admin_call(
            SET_SETTINGS,
            json!({"user_ids": [with_sessions, idle], "duration": 28_800}),
        )
        .await,
    );
    assert_eq!(env.slack().settings_of(&idle), Some((Some(28_800), None)));
    let got = env
        .admin_call(
            GET_SETTINGS,
            json!({"user_ids": [with_sessions, idle, bare]}),
        )
        .await;
    assert_eq!(
        got,
        json!({
            "ok": true,
            "session_settings": [
                {"user_id": with_sessions, "desktop_app_browser_quit": null, "duration": 28_800}
            ],
            "no_settings_applied": [],
        })
    );
}

#[tokio::test]
async fn clear_settings_removes_them() {
    let env = Env::start().await;
    let (a, b) = (env.person(1), env.person(2));
    assert_ok(
        &env.admin_call(
            SET_SETTINGS,
            json!({"user_ids": [a, b], "duration": 43_200}),
        )
        .await,
    );
    let answer = env
        .admin_call(CLEAR_SETTINGS, json!({"user_ids": [a]}))
        .await;
    assert_eq!(answer, json!({"ok": true}));
    assert_eq!(env.slack().settings_of(&a), None);
    assert_eq!(env.slack().settings_of(&b), Some((Some(43_200), None)));
    let got = env
        .admin_call(GET_SETTINGS, json!({"user_ids": [a, b]}))
        .await;
    assert_eq!(got["no_settings_applied"], json!([a]));
    assert_eq!(got["session_settings"][0]["user_id"], json!(b));
}

#[tokio::test]
async fn settings_methods_for_unknown_user_are_user_not_found() {
    let env = Env::start().await;
    let known = env.person(1);
    for (method, args) in [
        (GET_SETTINGS, json!({"user_ids": [known, "U0NOSUCHUSR"]})),
        (
            SET_SETTINGS,
            json!({"user_ids": [known, "U0NOSUCHUSR"], "duration": 28_800}),
        ),
        (CLEAR_SETTINGS, json!({"user_ids": [known, "U0NOSUCHUSR"]})),
    ] {
        assert_error(&env.admin_call(method, args).await, "user_not_found");
    }
    assert_eq!(env.slack().settings_of(&known), None);
}

#[tokio::test]
async fn settings_methods_for_a_bot_are_bots_not_allowed() {
    let env = Env::start().await;
    let bot = env.slack().bot_user_id();
    for (method, args) in [
        (GET_SETTINGS, json!({"user_ids": [bot]})),
        (SET_SETTINGS, json!({"user_ids": [bot], "duration": 28_800})),
        (CLEAR_SETTINGS, json!({"user_ids": [bot]})),
    ] {
        assert_error(&env.admin_call(method, args).await, "bots_not_allowed");
    }
    assert_eq!(env.slack().settings_of(&bot), None);
}

#[tokio::test]
async fn settings_user_ids_may_be_comma_separated_in_a_form() {
    let env = Env::start().await;
    let (a, b) = (env.person(1), env.person(2));
    let ids = format!("{a},{b}");
    let answer = env
        .form(
            SET_SETTINGS,
            Some(&env.admin()),
            &[("user_ids", &ids), ("duration", "28800")],
        )
        .await;
    assert_eq!(answer, json!({"ok": true}));
    assert_eq!(env.slack().settings_of(&a), Some((Some(28_800), None)));
    assert_eq!(env.slack().settings_of(&b), Some((Some(28_800), None)));
}

// ----- users.lookupByEmail and auth.test -----

#[tokio::test]
async fn lookup_by_email_finds_the_user() {
    let env = Env::start().await;
    let person = env.emulator.people()[2].clone();
    let answer = env.admin_call(LOOKUP, json!({"email": person.email})).await;
    assert_ok(&answer);
    assert_eq!(answer["user"]["id"], json!(person.slack_id));
    assert_eq!(answer["user"]["profile"]["email"], json!(person.email));
    assert_eq!(answer["user"]["real_name"], json!(person.display_name()));
    assert_eq!(answer["user"]["is_bot"], json!(false));
    assert_eq!(answer["user"]["team_id"], json!(env.slack().team_id()));
}

#[tokio::test]
async fn lookup_by_email_ignores_letter_case() {
    let env = Env::start().await;
    let person = env.emulator.people()[1].clone();
    let answer = env
        .admin_call(LOOKUP, json!({"email": person.email.to_uppercase()}))
        .await;
    assert_eq!(answer["user"]["id"], json!(person.slack_id));
}

#[tokio::test]
async fn lookup_by_email_of_unknown_address_is_users_not_found() {
    let env = Env::start().await;
    let answer = env
        .admin_call(LOOKUP, json!({"email": "ghost@corp.example"}))
        .await;
    assert_eq!(answer, json!({"ok": false, "error": "users_not_found"}));
}

#[tokio::test]
async fn lookup_by_email_works_as_get_with_query_and_for_members() {
    let env = Env::start().await;
    let person = env.emulator.people()[3].clone();
    let member = env.slack().tokens().member.clone();
    let url = format!(
        "{}?{}",
        env.url(LOOKUP),
        form_body(&[("email", &person.email)])
    );
    let response = env.http.get(url).bearer_auth(&member).send().await.unwrap();
    let answer = json_200(response).await;
    assert_eq!(answer["user"]["id"], json!(person.slack_id));
    let spec = Spec::get(Provider::Slack);
    let schema = spec
        .response_schema("GET", "/api/users.lookupByEmail", 200)
        .expect("spec describes users.lookupByEmail");
    assert_eq!(spec.validate(schema, &answer, &[]), Vec::<String>::new());
}

#[tokio::test]
async fn lookup_by_email_with_bot_token_lacking_the_scope_is_missing_scope() {
    let env = Env::start().await;
    let bot = env.slack().tokens().bot.clone();
    let email = env.emulator.people()[1].email.clone();
    let answer = env.call(LOOKUP, &bot, json!({"email": email})).await;
    assert_error(&answer, "missing_scope");
    assert_eq!(answer["needed"], json!("users:read.email"));
}

#[tokio::test]
async fn auth_test_reports_the_token_owner_and_the_org() {
    let env = Env::start().await;
    let admin = env.emulator.people()[0].clone();
    let answer = env.admin_call(AUTH_TEST, json!({})).await;
    assert_ok(&answer);
    assert_eq!(answer["user_id"], json!(admin.slack_id));
    assert_eq!(answer["user"], json!(admin.username));
    assert_eq!(answer["team_id"], json!(env.slack().enterprise_id()));
    assert_eq!(answer["enterprise_id"], json!(env.slack().enterprise_id()));
    assert_eq!(answer["is_enterprise_install"], json!(true));
    assert!(answer["url"].as_str().unwrap().starts_with("https://"));
    let spec = Spec::get(Provider::Slack);
    let schema = spec
        .response_schema("GET", "/api/auth.test", 200)
        .expect("spec describes auth.test");
    // The 2020 schema forbids extra properties; Enterprise answers add `enterprise_id`.
    assert_eq!(
        spec.validate(schema, &answer, &[]),
        vec!["$: unexpected property enterprise_id".to_owned()]
    );
    assert_eq!(
        spec.validate(schema, &answer, &["enterprise_id"]),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn auth_test_of_member_and_bot_tokens_names_their_owners() {
    let env = Env::start().await;
    let member = env.slack().tokens().member.clone();
    let answer = env.call(AUTH_TEST, &member, json!({})).await;
    assert_eq!(answer["user_id"], json!(env.person(1)));
    let bot = env.slack().tokens().bot.clone();
    let answer = env.call(AUTH_TEST, &bot, json!({})).await;
    assert_eq!(answer["user_id"], json!(env.slack().bot_user_id()));
    assert!(
        answer["bot_id"].as_str().unwrap().starts_with('B'),
        "{answer}"
    );
}

// ----- rate limits (§3.2) -----

fn enforced(scale: f64) -> Faults {
    Faults::none().with_enforced_limits(scale)
}

/// Makes `n` successful `method` calls.
async fn spend(env: &Env, method: &str, args: &Value, n: usize) {
    for i in 0..n {
        let response = env
            .post(
                method,
                Some(&env.admin()),
                Some(JSON_UTF8),
                args.to_string(),
            )
            .await;
        assert_eq!(response.status().as_u16(), 200, "{method} call {}", i + 1);
    }
}

#[tokio::test]
async fn tier2_method_answers_429_ratelimited_with_retry_after_on_the_21st_call() {
    let env = Env::with_faults(enforced(SCALE)).await;
    let started = Instant::now();
    spend(&env, LIST, &json!({"limit": 1}), 20).await;
    let response = env
        .post(LIST, Some(&env.admin()), Some(JSON_UTF8), "{}")
        .await;
    assert!(started.elapsed() < WINDOW, "too slow to judge the window");
    assert_eq!(response.status().as_u16(), 429);
    let wait = retry_after_secs(&response);
    assert!(
        wait > 0.0 && wait <= WINDOW.as_secs_f64(),
        "Retry-After {wait}"
    );
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body, json!({"ok": false, "error": "ratelimited"}));
    let last = env.logged().pop().unwrap();
    assert_eq!((last.status, last.fault), (429, None));
}

#[tokio::test]
async fn in_real_time_retry_after_is_whole_seconds_as_slack_sends_it() {
    let env = Env::with_faults(enforced(1.0)).await;
    spend(&env, LIST, &json!({"limit": 1}), 20).await;
    let response = env
        .post(LIST, Some(&env.admin()), Some(JSON_UTF8), "{}")
        .await;
    assert_eq!(response.status().as_u16(), 429);
    let value = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .to_owned();
    let seconds: u64 = value
        .parse()
        .unwrap_or_else(|_| panic!("{value:?} is not whole seconds"));
    assert!((1..=60).contains(&seconds), "{seconds}");
}

#[tokio::test]
async fn rate_limited_answer_may_have_an_empty_body() {
    let env = Env::with_faults(enforced(SCALE).with_empty_rate_limit_body(true)).await;
    spend(&env, RESET, &json!({"user_id": env.person(1)}), 20).await;
    let response = env
        .post(
            RESET,
            Some(&env.admin()),
            Some(JSON_UTF8),
            json!({"user_id": env.person(2)}).to_string(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 429);
    assert!(retry_after_secs(&response) > 0.0);
    assert_eq!(response.text().await.unwrap(), "");
    // The refused call did nothing.
    assert_eq!(env.slack().sessions_of(&env.person(2)).len(), 3);
}

#[tokio::test]
async fn rate_limited_method_passes_again_after_retry_after() {
    let env = Env::with_faults(enforced(SCALE)).await;
    spend(&env, LIST, &json!({"limit": 1}), 20).await;
    let refused = env
        .post(LIST, Some(&env.admin()), Some(JSON_UTF8), "{}")
        .await;
    assert_eq!(refused.status().as_u16(), 429);
    let wait = retry_after_secs(&refused);
    tokio::time::sleep(Duration::from_secs_f64(wait) + Duration::from_millis(30)).await;
    let answer = env.admin_call(LIST, json!({"limit": 1})).await;
    assert_eq!(session_ids(&answer).len(), 1);
}

#[tokio::test]
async fn rate_limits_are_per_method() {
    let env = Env::with_faults(enforced(SCALE)).await;
    spend(&env, LIST, &json!({"limit": 1}), 20).await;
    let refused = env
        .post(LIST, Some(&env.admin()), Some(JSON_UTF8), "{}")
        .await;
    assert_eq!(refused.status().as_u16(), 429);
    // Another Tier 2 method has its own budget.
    let user = env.person(1);
    let answer = env
        .admin_call(INVALIDATE, json!({"user_id": user, "session_id": 1}))
        .await;
    assert_error(&answer, "session_not_found");
    // A Tier 4 method is not limited by Tier 2 use.
    let answer = env
        .admin_call(GET_SETTINGS, json!({"user_ids": [user]}))
        .await;
    assert_ok(&answer);
}

#[tokio::test]
async fn tier4_allows_100_and_tier3_allows_50_calls_per_window() {
    // A slower clock (100 per 6 s) so that 101 calls surely fit in one window.
    let env = Env::with_faults(enforced(10.0)).await;
    let args = json!({"user_ids": [env.person(1)]});
    spend(&env, GET_SETTINGS, &args, 100).await;
    let refused = env
        .post(
            GET_SETTINGS,
            Some(&env.admin()),
            Some(JSON_UTF8),
            args.to_string(),
        )
        .await;
    assert_eq!(refused.status().as_u16(), 429);
    assert!(retry_after_secs(&refused) <= 6.0);
    // Tier 2 would have refused the 21st: Tier 3 users.lookupByEmail allows 50.
    let email = json!({"email": env.emulator.people()[1].email});
    spend(&env, LOOKUP, &email, 50).await;
    let refused = env
        .post(
            LOOKUP,
            Some(&env.admin()),
            Some(JSON_UTF8),
            email.to_string(),
        )
        .await;
    assert_eq!(refused.status().as_u16(), 429);
}

#[tokio::test]
async fn limits_are_not_enforced_unless_switched_on() {
    let env = Env::start().await;
    spend(&env, LIST, &json!({"limit": 1}), 30).await;
    assert_eq!(env.slack().request_count(), 30);
}

// ----- injected faults -----

#[tokio::test]
async fn injected_server_errors_are_503_at_the_configured_ratio_and_unprocessed() {
    let env = Env::with_faults(Faults::none().with_server_errors(0.5)).await;
    let mut errors = 0;
    for _ in 0..60 {
        let response = env
            .post(LIST, Some(&env.admin()), Some(JSON_UTF8), "{}")
            .await;
        match response.status().as_u16() {
            503 => {
                errors += 1;
                assert!(
                    response.headers()["content-type"]
                        .to_str()
                        .unwrap()
                        .starts_with("text/html")
                );
            }
            200 => assert_ok(&response.json().await.unwrap()),
            other => panic!("unexpected status {other}"),
        }
    }
    assert!((15..=45).contains(&errors), "{errors} of 60");
    let log = env.logged();
    let logged_errors = log
        .iter()
        .filter(|r| r.fault == Some(Fault::ServerError))
        .inspect(|r| assert_eq!(r.status, 503))
        .count();
    assert_eq!(logged_errors, errors);

    // A 5xx is answered before the method runs.
    env.slack()
        .set_faults(Faults::none().with_server_errors(1.0));
    let user = env.person(1);
    let response = env
        .post(
            RESET,
            Some(&env.admin()),
            Some(JSON_UTF8),
            json!({"user_id": user}).to_string(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
}

#[tokio::test]
async fn injected_drop_breaks_the_connection_before_any_change() {
    let env = Env::with_faults(Faults::none().with_drops(1.0)).await;
    let user = env.person(1);
    let result = async {
        env.http
            .post(env.url(RESET))
            .bearer_auth(env.admin())
            .header("content-type", JSON_UTF8)
            .body(json!({"user_id": user}).to_string())
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    let error = result.expect_err("the client sees a broken connection");
    assert!(!error.is_status(), "{error}");
    let log = env.logged();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].fault, Some(Fault::Drop));
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
}

#[tokio::test]
async fn injected_malformed_answer_is_not_json_but_the_call_took_effect() {
    let env = Env::with_faults(Faults::none().with_malformed(1.0)).await;
    let user = env.person(1);
    let response = env
        .post(
            RESET,
            Some(&env.admin()),
            Some(JSON_UTF8),
            json!({"user_id": user}).to_string(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(env.logged()[0].fault, Some(Fault::Malformed));
    // The body is cut after processing: the reset happened.
    assert!(env.slack().sessions_of(&user).is_empty());
}

#[tokio::test]
async fn injected_429_carries_retry_after_and_ratelimited_body() {
    let env = Env::with_faults(Faults::none().with_rate_limits(1.0, Duration::from_secs(2))).await;
    let user = env.person(1);
    let response = env
        .post(
            RESET,
            Some(&env.admin()),
            Some(JSON_UTF8),
            json!({"user_id": user}).to_string(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"ok": false, "error": "ratelimited"}));
    let log = env.logged();
    assert_eq!(
        (log[0].status, log[0].fault),
        (429, Some(Fault::RateLimited))
    );
    assert_eq!(env.slack().sessions_of(&user).len(), 3);
}

#[tokio::test]
async fn injected_429_can_have_an_empty_body() {
    let env = Env::with_faults(
        Faults::none()
            .with_rate_limits(1.0, Duration::from_secs(1))
            .with_empty_rate_limit_body(true),
    )
    .await;
    let response = env
        .post(LIST, Some(&env.admin()), Some(JSON_UTF8), "{}")
        .await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.text().await.unwrap(), "");
}

#[tokio::test]
async fn faults_switched_off_at_run_time_stop() {
    let env = Env::with_faults(Faults::none().with_server_errors(1.0)).await;
    let response = env
        .post(LIST, Some(&env.admin()), Some(JSON_UTF8), "{}")
        .await;
    assert_eq!(response.status().as_u16(), 503);
    env.slack().set_faults(Faults::none());
    assert_eq!(
        session_ids(&env.admin_call(LIST, json!({})).await).len(),
        19
    );
}

// ----- the control surface -----

#[tokio::test]
async fn control_requests_log_lists_api_calls_but_not_control_calls() {
    let env = Env::start().await;
    let user = env.person(1);
    env.admin_call(AUTH_TEST, json!({})).await;
    env.admin_call(RESET, json!({"user_id": user})).await;
    env.post(LIST, None, Some(JSON_UTF8), "{}").await;
    let get = |path: &'static str| {
        let url = env.control(path);
        let http = env.http.clone();
        async move {
            let response = http.get(url).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    get("faults").await;
    get("state").await;
    let log: Vec<LoggedRequest> =
        serde_json::from_value(get("requests").await).expect("a request log");
    let paths: Vec<&str> = log.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/auth.test",
            "/api/admin.users.session.reset",
            "/api/admin.users.session.list"
        ]
    );
    assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(log[1].method, "POST");
    assert_eq!(log[1].status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&log[1].body).unwrap(),
        json!({"user_id": user})
    );
    assert_eq!(
        log[1].header("authorization"),
        Some(format!("Bearer {}", env.admin()).as_str())
    );
    assert_eq!(log, env.slack().requests());
    assert_eq!(env.slack().request_count(), 3);
    let since: Vec<LoggedRequest> = serde_json::from_value(get("requests?since=2").await).unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].path, "/api/admin.users.session.list");
}

#[tokio::test]
async fn control_faults_put_and_get_round_trip_and_take_effect() {
    let env = Env::start().await;
    let faults = Faults::none().with_rate_limits(1.0, Duration::from_secs(3));
    let response = env
        .http
        .put(env.control("faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let read: Faults = env
        .http
        .get(env.control("faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, faults);
    assert_eq!(env.slack().faults(), faults);
    let response = env
        .post(LIST, Some(&env.admin()), Some(JSON_UTF8), "{}")
        .await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(env.slack().request_count(), 1);
}

#[tokio::test]
async fn control_state_follows_revocations() {
    let env = Env::start().await;
    let state = |env: &Env| {
        let url = env.control("state");
        let http = env.http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let user = env.person(1);
    let before = state(&env).await;
    assert_eq!(before, env.slack().snapshot());
    assert_eq!(before["sessions"], json!(19));
    assert_eq!(before["enterprise"], json!(true));
    assert_eq!(before["sessions_by_user"][&user], json!(3));
    env.admin_call(RESET, json!({"user_id": user})).await;
    let after = state(&env).await;
    assert_eq!(after["sessions"], json!(16));
    assert!(after["sessions_by_user"].get(&user).is_none(), "{after}");
    assert_eq!(env.slack().request_count(), 1);
}

// ----- the official spec (§2) -----

#[tokio::test]
async fn reset_requests_conform_to_the_spec_operation() {
    let env = Env::start().await;
    let admin = env.admin();
    let (a, b) = (env.person(1), env.person(2));
    assert_ok(
        &env.form(
            RESET,
            Some(&admin),
            &[("user_id", &a), ("mobile_only", "true")],
        )
        .await,
    );
    assert_ok(&env.admin_call(RESET, json!({"user_id": b})).await);
    let spec = Spec::get(Provider::Slack);
    let requests: Vec<Request> = env.logged().iter().map(spec_request).collect();
    assert_eq!(requests.len(), 2);
    assert_eq!(nonconforming(spec, &requests), vec![]);
    // A request without `user_id` is flagged, so the check has teeth.
    let mut bad = requests[1].clone();
    bad.body = "{}".into();
    assert_eq!(
        nonconforming(spec, &[bad]),
        vec![(
            "POST /api/admin.users.session.reset".to_owned(),
            vec!["required form field user_id missing".to_owned()]
        )]
    );
}

#[tokio::test]
async fn invalidate_request_departs_from_the_spec_only_by_the_retired_team_id() {
    let env = Env::start().await;
    let user = env.person(1);
    let session = env.slack().sessions_of(&user)[0];
    assert_ok(
        &env.admin_call(INVALIDATE, json!({"user_id": user, "session_id": session}))
            .await,
    );
    let spec = Spec::get(Provider::Slack);
    let requests: Vec<Request> = env.logged().iter().map(spec_request).collect();
    // The 2020 spec still requires `team_id`; Slack replaced it by `user_id` (§1.2).
    assert_eq!(
        nonconforming(spec, &requests),
        vec![(
            "POST /api/admin.users.session.invalidate".to_owned(),
            vec!["required form field team_id missing".to_owned()]
        )]
    );
}

#[tokio::test]
async fn invalidate_and_reset_answers_validate_against_the_spec_templates() {
    let env = Env::start().await;
    let spec = Spec::get(Provider::Slack);
    let user = env.person(1);
    let session = env.slack().sessions_of(&user)[0];
    let answers = [
        (
            INVALIDATE,
            env.admin_call(INVALIDATE, json!({"user_id": user, "session_id": session}))
                .await,
            env.admin_call(INVALIDATE, json!({"user_id": user, "session_id": session}))
                .await,
        ),
        (
            RESET,
            env.admin_call(RESET, json!({"user_id": user})).await,
            env.admin_call(RESET, json!({"user_id": "W0NOSUCHUSR"}))
                .await,
        ),
    ];
    for (method, success, failure) in answers {
        let path = format!("/api/{method}");
        let operation = spec.operation("POST", &path).expect("in the spec");
        let schema = spec
            .response_schema("POST", &operation.template, 200)
            .expect("a 200 schema");
        assert_eq!(schema["title"], json!("Default success template"));
        assert_eq!(spec.validate(schema, &success, &[]), Vec::<String>::new());
        assert!(!spec.validate(schema, &failure, &[]).is_empty());
        let pointer = format!("/paths/~1{method}/post/responses/default/schema");
        let error_schema = spec.doc().pointer(&pointer).expect("a default schema");
        assert_eq!(error_schema["title"], json!("Default error template"));
        assert_eq!(
            spec.validate(error_schema, &failure, &[]),
            Vec::<String>::new()
        );
        assert!(!spec.validate(error_schema, &success, &[]).is_empty());
    }
}

#[tokio::test]
async fn methods_the_spec_lacks_are_served_from_the_docs() {
    let spec = Spec::get(Provider::Slack);
    for method in [LIST, RESET_BULK, GET_SETTINGS, SET_SETTINGS, CLEAR_SETTINGS] {
        assert!(spec.operation("POST", &format!("/api/{method}")).is_none());
    }
    let env = Env::start().await;
    let user = env.person(1);
    for (method, args) in session_methods(&user) {
        if method == INVALIDATE {
            continue;
        }
        let answer = env.admin_call(method, args).await;
        assert_eq!(answer["ok"], json!(true), "{method}: {answer}");
    }
}

// ----- the vendor's own tests, replayed -----
//
// What slackapi/python-slack-sdk (integration_tests/web @ ae87985) and
// slackapi/java-slack-sdk (test_with_remote_apis) assert against the real API, for
// the methods the project uses. An emulator stricter or poorer than the server
// hides client bugs.

/// python-slack-sdk `test_admin_users.py` `TestWebClient.test_sync`:
/// `admin_users_session_list()` with no arguments has `active_sessions`.
#[tokio::test]
async fn vendor_session_list_without_arguments_has_active_sessions() {
    let env = Env::start().await;
    let answer = env.admin_call(LIST, json!({})).await;
    assert_ok(&answer);
    assert!(answer["active_sessions"].is_array(), "{answer}");
}

/// java-slack-sdk `AdminApi_users_Test.usersSessionList`: `limit(5)`, then
/// `limit(10).teamId(..).userId(..)`, neither with an error.
#[tokio::test]
async fn vendor_session_list_with_limit_and_with_team_and_user() {
    let env = Env::start().await;
    assert_ok(&env.admin_call(LIST, json!({"limit": 5})).await);
    let answer = env
        .admin_call(
            LIST,
            json!({"limit": 10, "team_id": env.slack().team_id(), "user_id": env.person(1)}),
        )
        .await;
    assert_ok(&answer);
}

/// python-slack-sdk `test_admin_users_session.py` `test_reset`, `test_resetBulk`
/// (a list) and `test_resetBulk_str` (`",".join(user_ids)`): no `error`.
#[tokio::test]
async fn vendor_reset_and_reset_bulk_with_a_list_or_a_comma_string() {
    let env = Env::start().await;
    let (a, b, c) = (env.person(1), env.person(2), env.person(3));
    let answer = env
        .form(RESET, Some(&env.admin()), &[("user_id", &a)])
        .await;
    assert!(answer.get("error").is_none(), "{answer}");
    let list = serde_json::to_string(&[&b, &c]).unwrap();
    let answer = env
        .form(RESET_BULK, Some(&env.admin()), &[("user_ids", &list)])
        .await;
    assert!(answer.get("error").is_none(), "{answer}");
    let joined = format!("{b},{c}");
    let answer = env
        .form(RESET_BULK, Some(&env.admin()), &[("user_ids", &joined)])
        .await;
    assert!(answer.get("error").is_none(), "{answer}");
}

/// python-slack-sdk `test_admin_users_session_settings.py`: getSettings has
/// `session_settings`; setSettings with `duration=60*60*24*30` and clearSettings
/// raise no error.
#[tokio::test]
async fn vendor_session_settings_get_set_clear() {
    let env = Env::start().await;
    let ids = serde_json::to_string(&[env.person(1), env.person(2)]).unwrap();
    let got = env
        .form(GET_SETTINGS, Some(&env.admin()), &[("user_ids", &ids)])
        .await;
    assert!(got["session_settings"].is_array(), "{got}");
    let thirty_days = (60 * 60 * 24 * 30).to_string();
    assert_ok(
        &env.form(
            SET_SETTINGS,
            Some(&env.admin()),
            &[("user_ids", &ids), ("duration", &thirty_days)],
        )
        .await,
    );
    assert_ok(
        &env.form(CLEAR_SETTINGS, Some(&env.admin()), &[("user_ids", &ids)])
            .await,
    );
}

/// java-slack-sdk `AdminApi_users_Test.usersSessionInvalidate`: a session id that
/// is not a number is `invalid_arguments`.
#[tokio::test]
async fn vendor_invalidate_with_a_non_numeric_session_is_invalid_arguments() {
    let env = Env::start().await;
    let answer = env
        .form(
            INVALIDATE,
            Some(&env.admin()),
            &[("user_id", &env.person(1)), ("session_id", "XXX")],
        )
        .await;
    assert_error(&answer, "invalid_arguments");
}

/// java-slack-sdk `users_Test.lookupByEmailSupported_user`: the id looked up by a
/// member's email is that member's; and the user object carries what a client needs
/// to tell a guest from a member (`is_restricted`, `is_ultra_restricted`), as the
/// method's documented example does.
#[tokio::test]
async fn vendor_lookup_returns_the_same_id_with_the_guest_flags() {
    let env = Env::start().await;
    let email = env.emulator.people()[2].email.clone();
    let answer = env
        .form(LOOKUP, Some(&env.admin()), &[("email", &email)])
        .await;
    assert_ok(&answer);
    let user = &answer["user"];
    assert_eq!(user["id"], json!(env.person(2)));
    for flag in [
        "is_restricted",
        "is_ultra_restricted",
        "is_bot",
        "is_app_user",
        "deleted",
        "is_admin",
        "is_owner",
    ] {
        assert!(user[flag].is_boolean(), "{flag}: {user}");
    }
    assert_eq!(user["profile"]["email"], json!(email));
}

// ----- misleading switches (off by default) -----

#[tokio::test]
async fn users_info_answers_a_user_by_id_or_user_not_found() {
    let env = Env::start().await;
    let answer = env
        .form(
            "users.info",
            Some(&env.admin()),
            &[("user", &env.person(1))],
        )
        .await;
    assert_ok(&answer);
    assert_eq!(answer["user"]["id"], json!(env.person(1)));
    let answer = env
        .form("users.info", Some(&env.admin()), &[("user", "U0NOBODY00")])
        .await;
    assert_error(&answer, "user_not_found");
}

#[tokio::test]
async fn misleading_lookups_answer_another_person_or_ignore_the_filter() {
    let env = Env::start().await;
    let email = env.emulator.people()[2].email.clone();
    env.slack()
        .set_misleading(Misleading::none().with_lookups_answering_with(Some(env.person(4))));
    let answer = env
        .form(LOOKUP, Some(&env.admin()), &[("email", &email)])
        .await;
    assert_eq!(answer["user"]["id"], json!(env.person(4)));
    env.slack()
        .set_misleading(Misleading::none().with_lookups_ignoring_filter(true));
    let answer = env
        .form(
            LOOKUP,
            Some(&env.admin()),
            &[("email", "nobody@corp.example")],
        )
        .await;
    assert_eq!(
        answer["user"]["id"],
        json!(env.person(0)),
        "the directory's first user"
    );
    // The control surface sets them too, and refuses a misspelled switch.
    let client = &env.http;
    let put = client
        .put(env.control("misleading"))
        .json(&json!({"success_for_unknown_user": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let answer = env
        .form(RESET, Some(&env.admin()), &[("user_id", "U0NOBODY00")])
        .await;
    assert_ok(&answer);
    let refused = client
        .put(env.control("misleading"))
        .json(&json!({"succes_for_unknown_user": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
}

#[tokio::test]
async fn a_stale_listing_shows_revoked_sessions_for_a_while() {
    let env = Env::start().await;
    env.slack()
        .set_misleading(Misleading::none().with_stale_listings(Duration::from_millis(300)));
    let user = env.person(1);
    assert_ok(
        &env.form(RESET, Some(&env.admin()), &[("user_id", &user)])
            .await,
    );
    assert!(env.slack().sessions_of(&user).is_empty(), "gone in truth");
    assert_eq!(env.listed_sessions_of(&user).await.len(), 3, "still listed");
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(env.listed_sessions_of(&user).await.is_empty());
}

#[tokio::test]
async fn session_expired_answer_for_an_ended_session_when_switched_on() {
    let mut slack = SlackConfig::default();
    slack.expired_session_answer = true;
    let env = Env::with(EmulatorConfig::new().users(3).slack(slack)).await;
    let user = env.person(1);
    let session = env.slack().sessions_of(&user)[0].to_string();
    let args = [("user_id", user.as_str()), ("session_id", session.as_str())];
    assert_ok(&env.form(INVALIDATE, Some(&env.admin()), &args).await);
    assert_error(
        &env.form(INVALIDATE, Some(&env.admin()), &args).await,
        "session_expired",
    );
    // An id never issued is still session_not_found.
    assert_error(
        &env.form(
            INVALIDATE,
            Some(&env.admin()),
            &[("user_id", user.as_str()), ("session_id", "1")],
        )
        .await,
        "session_not_found",
    );
}
