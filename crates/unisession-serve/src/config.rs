//! The `[serve]` table of `unisession.toml`, read and checked before anything listens.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use secrecy::SecretString;
use serde::Deserialize;
use unisession_http::{ConfigError, Settings, Url, validate_base_url};

/// Where the queue lives.
#[derive(Clone)]
#[non_exhaustive]
pub enum Database {
    /// A SQLite file (one `serve` process at a time).
    Sqlite(PathBuf),
    /// A PostgreSQL database, shared by every replica. The URL can hold a password.
    Postgres(SecretString),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "Sqlite({})", path.display()),
            Self::Postgres(_) => f.write_str("Postgres(<url withheld>)"),
        }
    }
}

impl Database {
    /// `postgres://…`/`postgresql://…` or a SQLite file (a path, or `sqlite:PATH`),
    /// relative to `dir`.
    pub fn parse(raw: &str, dir: &Path) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(SecretString::from(raw.to_owned())));
        }
        if raw.contains("://") && !raw.starts_with("sqlite://") {
            return Err(
                "use postgres://… for PostgreSQL, or a file path (or sqlite:PATH) for SQLite"
                    .to_owned(),
            );
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() || path == ":memory:" {
            return Err(
                "the SQLite queue must be a file, so that accepted jobs survive a restart"
                    .to_owned(),
            );
        }
        let path = Path::new(path);
        Ok(Self::Sqlite(if path.is_absolute() {
            path.to_owned()
        } else {
            dir.join(path)
        }))
    }

    /// Whether the URL carries a password (then it belongs in `database_env`).
    fn has_password(raw: &str) -> bool {
        Url::parse(raw).is_ok_and(|u| u.password().is_some())
    }
}

/// A caller allowed to post Global Token Revocation requests.
#[derive(Clone)]
#[non_exhaustive]
pub struct Caller {
    /// The name in `[serve.callers.NAME]`, shown in jobs and metrics.
    pub name: String,
    /// How it authenticates.
    pub auth: CallerAuth,
    /// The e-mail domains whose people it may log out (empty: any). A request for
    /// anybody else is answered 403.
    pub domains: BTreeSet<String>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("name", &self.name)
            .field("auth", &self.auth)
            .field("domains", &self.domains)
            .finish()
    }
}

/// How a caller proves who it is.
#[derive(Clone)]
#[non_exhaustive]
pub enum CallerAuth {
    /// Okta Universal Logout: a JWT signed by the org's key.
    Okta {
        /// The org's issuer URL, exactly as in its ID tokens.
        issuer: String,
        /// The application's client id in the org: the token's `sub`.
        client_id: String,
        /// The signing algorithms accepted (default RS256).
        algorithms: Vec<Algorithm>,
        /// Whether an `http://` loopback issuer is allowed (tests, the local demo).
        allow_insecure_http: bool,
        /// The least time between two fetches of the keys caused by an unknown `kid`.
        jwks_refresh: Duration,
    },
    /// A static bearer token, compared in constant time.
    Bearer {
        /// The token.
        token: SecretString,
    },
}

impl std::fmt::Debug for CallerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Okta {
                issuer,
                client_id,
                algorithms,
                ..
            } => f
                .debug_struct("Okta")
                .field("issuer", issuer)
                .field("client_id", client_id)
                .field("algorithms", algorithms)
                .finish(),
            Self::Bearer { .. } => f.write_str("Bearer(<token withheld>)"),
        }
    }
}

/// What an event type does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Offboard the person from every provider.
    All,
    /// Offboard the person from these providers only.
    Providers(Vec<String>),
    /// Only record the event.
    Record,
}

/// How a transmitter delivers its events.
#[derive(Clone)]
#[non_exhaustive]
pub enum Delivery {
    /// It posts them to `url` (RFC 8935) with `Authorization: {authorization}`.
    Push {
        /// The public URL it posts to; its path is served.
        url: Url,
        /// What it must send in `Authorization`, checked before any signature work.
        authorization: SecretString,
    },
    /// The receiver polls for them (RFC 8936).
    Poll {
        /// The poll endpoint when no stream is managed (else the stream's).
        url: Option<Url>,
        /// The wait between two polls that found nothing more.
        interval: Duration,
    },
}

/// The OAuth client credentials that authenticate stream management (and polls).
#[derive(Clone)]
#[non_exhaustive]
pub struct Management {
    /// The token endpoint.
    pub token_url: Url,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
    /// The scopes asked for.
    pub scopes: Vec<String>,
}

/// A Shared Signals Framework transmitter the receiver accepts events from.
#[derive(Clone)]
#[non_exhaustive]
pub struct Transmitter {
    /// The name in `[serve.transmitters.NAME]`.
    pub name: String,
    /// Its issuer, exactly as in its SETs and discovery document.
    pub issuer: String,
    /// Whether an `http://` loopback issuer is allowed (tests, the local demo).
    pub allow_insecure_http: bool,
    /// The `aud` values accepted (besides a managed stream's own).
    pub audience: Vec<String>,
    /// How events arrive.
    pub delivery: Delivery,
    /// The signing algorithms accepted (default RS256).
    pub algorithms: Vec<Algorithm>,
    /// Accept `typ: JWT` or no `typ` (transmitters on generic JWT libraries).
    pub legacy_typ: bool,
    /// The least time between two key fetches caused by an unknown `kid`.
    pub jwks_refresh: Duration,
    /// The action per event type URI.
    pub actions: BTreeMap<String, Action>,
    /// Stream management credentials; with them the stream is created or updated.
    pub management: Option<Management>,
    /// A stream id known without management (verification events must name it).
    pub stream_id: Option<String>,
    /// Where its discovery document is, when not at the SSF path (Google:
    /// `/.well-known/risc-configuration`).
    pub discovery_url: Option<Url>,
    /// Where its keys are, when not at the discovery document's `jwks_uri` on the
    /// issuer's origin.
    pub jwks_uri: Option<Url>,
    /// The e-mail domains whose people its events may log out (empty: any).
    pub domains: BTreeSet<String>,
}

impl std::fmt::Debug for Transmitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transmitter")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("push", &matches!(self.delivery, Delivery::Push { .. }))
            .field("actions", &self.actions)
            .field("managed", &self.management.is_some())
            .finish_non_exhaustive()
    }
}

/// The validated `[serve]` table.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The endpoint's public URL (what callers post to, and the `aud` Okta signs).
    pub endpoint_url: Url,
    /// Plain HTTP on a non-loopback address (TLS ended by a proxy in front).
    pub allow_plain_http: bool,
    /// The queue.
    pub database: Database,
    /// The provider instances a job offboards (empty: every configured one).
    pub providers: Vec<String>,
    /// Jobs run at once by this process.
    pub workers: usize,
    /// How long a claimed job stays this process's without a heartbeat.
    pub lease: Duration,
    /// Attempts of a job before its unfinished pairs are reported failed.
    pub max_attempts: u32,
    /// The wait before the first retry of a job's failed pairs (doubling after).
    pub retry_after: Duration,
    /// How often an idle worker looks for jobs queued by other replicas.
    pub poll: Duration,
    /// The largest request body accepted.
    pub body_limit: usize,
    /// The clock skew allowed on `iat`, `nbf` and `exp`.
    pub clock_skew: Duration,
    /// People no trigger may log out (break-glass accounts): answered 422.
    pub never_revoke: BTreeSet<String>,
    /// `iss_sub` and `opaque` subjects mapped to e-mail addresses.
    pub subjects: BTreeMap<(String, String), String>,
    /// The token that reads `/jobs` (none: `/jobs` answers 401).
    pub api_token: Option<SecretString>,
    /// The callers of the Global Token Revocation endpoint.
    pub callers: Vec<Caller>,
    /// The Shared Signals Framework transmitters.
    pub transmitters: Vec<Transmitter>,
}

/// Tried at start-up: the configuration as a table, then the callers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_listen")]
    listen: String,
    endpoint_url: String,
    #[serde(default)]
    allow_plain_http: bool,
    database: Option<String>,
    database_env: Option<String>,
    database_file: Option<PathBuf>,
    #[serde(default)]
    providers: Vec<String>,
    #[serde(default = "default_workers")]
    workers: usize,
    #[serde(default = "default_lease")]
    lease_seconds: f64,
    #[serde(default = "default_attempts")]
    max_attempts: u32,
    #[serde(default = "default_retry")]
    retry_seconds: f64,
    #[serde(default = "default_poll")]
    poll_millis: u64,
    #[serde(default = "default_body_limit")]
    body_limit: usize,
    #[serde(default = "default_skew")]
    clock_skew_seconds: u64,
    #[serde(default)]
    never_revoke: Vec<String>,
    subjects_file: Option<PathBuf>,
    api_token_env: Option<String>,
    api_token_file: Option<PathBuf>,
    /// Read by the command that builds the fleet; accepted here so the table is one.
    #[serde(default)]
    #[allow(dead_code)]
    audit_log: Option<PathBuf>,
    #[serde(default)]
    callers: BTreeMap<String, RawCaller>,
    #[serde(default)]
    transmitters: BTreeMap<String, RawTransmitter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransmitter {
    issuer: String,
    #[serde(default)]
    allow_insecure_http: bool,
    delivery: String,
    push_url: Option<String>,
    authorization_header_env: Option<String>,
    authorization_header_file: Option<PathBuf>,
    poll_url: Option<String>,
    poll_seconds: Option<f64>,
    #[serde(default)]
    audience: Vec<String>,
    algorithms: Option<Vec<String>>,
    #[serde(default)]
    legacy_typ: bool,
    jwks_refresh_seconds: Option<f64>,
    #[serde(default)]
    events: BTreeMap<String, serde_json::Value>,
    token_url: Option<String>,
    client_id: Option<String>,
    client_secret_env: Option<String>,
    client_secret_file: Option<PathBuf>,
    scopes: Option<Vec<String>>,
    stream_id: Option<String>,
    discovery_url: Option<String>,
    jwks_uri: Option<String>,
    #[serde(default)]
    domains: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaller {
    auth: String,
    issuer: Option<String>,
    client_id: Option<String>,
    algorithms: Option<Vec<String>>,
    #[serde(default)]
    allow_insecure_http: bool,
    jwks_refresh_seconds: Option<f64>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    #[serde(default)]
    domains: Vec<String>,
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_owned()
}
fn default_workers() -> usize {
    4
}
fn default_lease() -> f64 {
    30.0
}
fn default_attempts() -> u32 {
    5
}
fn default_retry() -> f64 {
    30.0
}
fn default_poll() -> u64 {
    250
}
fn default_body_limit() -> usize {
    8 * 1024
}
fn default_skew() -> u64 {
    60
}

/// The keys of `[serve]` that would hold a secret written inline.
const INLINE_SECRETS: &[&str] = &[
    "api_token",
    "token",
    "authorization_header",
    "client_secret",
];

fn seconds(key: &str, value: f64) -> Result<Duration, ConfigError> {
    if value.is_finite() && value > 0.0 && value < 86_400.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(ConfigError::at(
            key,
            "must be a number of seconds above 0 and below a day",
        ))
    }
}

/// A lower-cased e-mail address, or why it is not one.
pub(crate) fn canonical_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let valid = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    valid.then_some(email)
}

impl ServeConfig {
    /// Reads the `[serve]` table `settings` holds (paths relative to its directory).
    /// Nothing is opened or sent.
    pub fn from_settings(settings: &Settings, dir: &Path) -> Result<Self, ConfigError> {
        let raw: Raw = settings.parse()?;
        let listen: SocketAddr = raw.listen.parse().map_err(|_| {
            ConfigError::at(
                "listen",
                "must be an address and port, like \"127.0.0.1:8080\" or \"0.0.0.0:8080\"",
            )
        })?;
        if !listen.ip().is_loopback() && !raw.allow_plain_http {
            return Err(ConfigError::at(
                "listen",
                format!(
                    "{listen} is not a loopback address and `serve` speaks plain HTTP: put it behind a TLS proxy and set allow_plain_http = true, or listen on 127.0.0.1"
                ),
            ));
        }
        let endpoint_url = Url::parse(&raw.endpoint_url)
            .map_err(|e| ConfigError::at("endpoint_url", format!("not a URL: {e}")))?;
        let loopback_endpoint = endpoint_url.host_str().is_some_and(|h| {
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
                || h == "[::1]"
        });
        if endpoint_url.scheme() != "https"
            && !(endpoint_url.scheme() == "http" && loopback_endpoint)
        {
            return Err(ConfigError::at(
                "endpoint_url",
                "must be https:// (the Global Token Revocation draft requires it); http:// only on loopback",
            ));
        }
        if endpoint_url.query().is_some() || endpoint_url.fragment().is_some() {
            return Err(ConfigError::at(
                "endpoint_url",
                "must have no query or fragment (Okta's `aud` never has one)",
            ));
        }
        let database = match (raw.database, raw.database_env, raw.database_file) {
            (Some(url), None, None) => {
                if Database::has_password(&url) {
                    return Err(ConfigError::at(
                        "database",
                        "this URL holds a password, and secrets are never written in the configuration file; set database_env = \"VARIABLE\" or database_file = \"/path\" instead",
                    ));
                }
                Database::parse(&url, dir).map_err(|e| ConfigError::at("database", e))?
            }
            (None, env, file) if env.is_some() || file.is_some() => {
                let url = settings
                    .secret("database", env.as_deref(), file.as_deref())?
                    .ok_or_else(|| ConfigError::at("database_env", "missing"))?;
                Database::parse(secrecy::ExposeSecret::expose_secret(&url), dir)
                    .map_err(|e| ConfigError::at("database_env", e))?
            }
            (None, None, None) => Database::Sqlite(dir.join("unisession-jobs.db")),
            _ => {
                return Err(ConfigError::at(
                    "database",
                    "set one of database, database_env and database_file",
                ));
            }
        };
        if raw.workers == 0 || raw.workers > 256 {
            return Err(ConfigError::at("workers", "must be between 1 and 256"));
        }
        if raw.max_attempts == 0 || raw.max_attempts > 100 {
            return Err(ConfigError::at("max_attempts", "must be between 1 and 100"));
        }
        if !(1024..=64 * 1024).contains(&raw.body_limit) {
            return Err(ConfigError::at(
                "body_limit",
                "must be between 1024 and 65536 bytes",
            ));
        }
        if raw.clock_skew_seconds > 300 {
            return Err(ConfigError::at(
                "clock_skew_seconds",
                "at most 300: a larger skew lets an expired token through",
            ));
        }
        if raw.poll_millis == 0 || raw.poll_millis > 60_000 {
            return Err(ConfigError::at(
                "poll_millis",
                "must be between 1 and 60000",
            ));
        }
        let mut never_revoke = BTreeSet::new();
        for email in &raw.never_revoke {
            never_revoke.insert(canonical_email(email).ok_or_else(|| {
                ConfigError::at(
                    "never_revoke",
                    format!("{email:?} is not an e-mail address"),
                )
            })?);
        }
        let subjects = match &raw.subjects_file {
            Some(file) => read_subjects(&if file.is_absolute() {
                file.clone()
            } else {
                dir.join(file)
            })?,
            None => BTreeMap::new(),
        };
        let api_token = settings.secret(
            "api_token",
            raw.api_token_env.as_deref(),
            raw.api_token_file.as_deref(),
        )?;
        let mut callers = Vec::new();
        for (name, caller) in raw.callers {
            callers.push(caller_from(settings, &name, caller).map_err(|e| {
                ConfigError::at(
                    format!(
                        "callers.{name}{}",
                        e.key.map(|k| format!(".{k}")).unwrap_or_default()
                    ),
                    e.message,
                )
            })?);
        }
        let mut transmitters = Vec::new();
        for (name, raw) in raw.transmitters {
            transmitters.push(transmitter_from(settings, &name, raw).map_err(|e| {
                ConfigError::at(
                    format!(
                        "transmitters.{name}{}",
                        e.key.map(|k| format!(".{k}")).unwrap_or_default()
                    ),
                    e.message,
                )
            })?);
        }
        const RESERVED: &[&str] = &["/jobs", "/streams", "/healthz", "/metrics"];
        let reserved = |path: &str| {
            RESERVED
                .iter()
                .any(|r| path == *r || path.starts_with(&format!("{r}/")))
        };
        if reserved(endpoint_url.path()) || endpoint_url.path() == "/" {
            return Err(ConfigError::at(
                "endpoint_url",
                "its path is one the server uses itself (/, /jobs, /streams, /healthz, /metrics)",
            ));
        }
        for t in &transmitters {
            if let Delivery::Push { url, .. } = &t.delivery {
                if reserved(url.path()) || url.path() == "/" {
                    return Err(ConfigError::at(
                        format!("transmitters.{}.push_url", t.name),
                        "its path is one the server uses itself (/, /jobs, /streams, /healthz, /metrics)",
                    ));
                }
            }
        }
        let mut paths = BTreeSet::from([endpoint_url.path().to_owned()]);
        for t in &transmitters {
            if let Delivery::Push { url, .. } = &t.delivery {
                if !paths.insert(url.path().to_owned()) {
                    return Err(ConfigError::at(
                        format!("transmitters.{}.push_url", t.name),
                        "this path is served for another endpoint already",
                    ));
                }
            }
        }
        if callers.is_empty() && transmitters.is_empty() {
            return Err(ConfigError::at(
                "callers",
                "no caller is configured; add [serve.callers.okta] (auth = \"okta\"), a bearer caller, or a [serve.transmitters.NAME], or nobody can trigger a logout",
            ));
        }
        Ok(Self {
            listen,
            endpoint_url,
            allow_plain_http: raw.allow_plain_http,
            database,
            providers: raw.providers,
            workers: raw.workers,
            lease: seconds("lease_seconds", raw.lease_seconds)?,
            max_attempts: raw.max_attempts,
            retry_after: seconds("retry_seconds", raw.retry_seconds)?,
            poll: Duration::from_millis(raw.poll_millis),
            body_limit: raw.body_limit,
            clock_skew: Duration::from_secs(raw.clock_skew_seconds),
            never_revoke,
            subjects,
            api_token,
            callers,
            transmitters,
        })
    }

    /// The `[serve]` table's keys that name a secret written inline, refused before
    /// anything else is read.
    pub fn inline_secret(table: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
        for key in INLINE_SECRETS {
            if table.contains_key(*key) {
                return Some((*key).to_owned());
            }
        }
        for section in ["callers", "transmitters"] {
            if let Some(serde_json::Value::Object(entries)) = table.get(section) {
                for (name, entry) in entries {
                    if let serde_json::Value::Object(entry) = entry {
                        for key in INLINE_SECRETS {
                            if entry.contains_key(*key) {
                                return Some(format!("{section}.{name}.{key}"));
                            }
                        }
                    }
                }
            }
        }
        None
    }
}

fn caller_from(settings: &Settings, name: &str, raw: RawCaller) -> Result<Caller, ConfigError> {
    let domains = domains(&raw.domains)?;
    let auth = match raw.auth.as_str() {
        "okta" => {
            if raw.token_env.is_some() || raw.token_file.is_some() {
                return Err(ConfigError::at(
                    "token_env",
                    "an okta caller signs its requests; it has no token",
                ));
            }
            let issuer = raw.issuer.ok_or_else(|| {
                ConfigError::at(
                    "issuer",
                    "missing; the Okta org's URL, as in its ID tokens (https://example.okta.com)",
                )
            })?;
            // The issuer is where keys are fetched from: https, or loopback when allowed.
            let parsed = validate_base_url(&issuer, false)
                .map_err(|e| ConfigError::at("issuer", e.to_string()))?;
            if parsed.scheme() != "https"
                && !(raw.allow_insecure_http && unisession_http::is_loopback(&parsed))
            {
                return Err(ConfigError::at(
                    "issuer",
                    "must be https:// (the keys that sign logouts are fetched from it); http:// only on loopback with allow_insecure_http = true",
                ));
            }
            if raw.allow_insecure_http && !unisession_http::is_loopback(&parsed) {
                return Err(ConfigError::at(
                    "allow_insecure_http",
                    "only a loopback issuer may be fetched over http://",
                ));
            }
            let client_id = raw
                .client_id
                .filter(|c| !c.trim().is_empty())
                .ok_or_else(|| {
                    ConfigError::at(
                        "client_id",
                        "missing; the application's client id in Okta (the token's sub)",
                    )
                })?;
            let algorithms = algorithms(raw.algorithms)?;
            let jwks_refresh = jwks_refresh(raw.jwks_refresh_seconds)?;
            CallerAuth::Okta {
                issuer,
                client_id,
                algorithms,
                allow_insecure_http: raw.allow_insecure_http,
                jwks_refresh,
            }
        }
        "bearer" => {
            if raw.issuer.is_some()
                || raw.client_id.is_some()
                || raw.algorithms.is_some()
                || raw.jwks_refresh_seconds.is_some()
            {
                return Err(ConfigError::at(
                    "issuer",
                    "a bearer caller has only token_env or token_file (and domains)",
                ));
            }
            let token = settings.required_secret(
                "token",
                raw.token_env.as_deref(),
                raw.token_file.as_deref(),
            )?;
            if secrecy::ExposeSecret::expose_secret(&token).len() < 32 {
                return Err(ConfigError::at(
                    "token_env",
                    "the token is shorter than 32 characters; use a long random one (openssl rand -hex 32)",
                ));
            }
            CallerAuth::Bearer { token }
        }
        other => {
            return Err(ConfigError::at(
                "auth",
                format!("{other:?} is not a caller kind; use \"okta\" or \"bearer\""),
            ));
        }
    };
    Ok(Caller {
        name: name.to_owned(),
        auth,
        domains,
    })
}

/// E-mail domains as configured (`@` and case ignored), each checked.
fn domains(raw: &[String]) -> Result<BTreeSet<String>, ConfigError> {
    let mut domains = BTreeSet::new();
    for domain in raw {
        let domain = domain.trim().trim_start_matches('@').to_lowercase();
        if domain.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err(ConfigError::at(
                "domains",
                format!("{domain:?} is not a domain"),
            ));
        }
        domains.insert(domain);
    }
    Ok(domains)
}

/// The least time between two key fetches an unknown `kid` causes (default 10 s).
fn jwks_refresh(raw: Option<f64>) -> Result<Duration, ConfigError> {
    let refresh = seconds("jwks_refresh_seconds", raw.unwrap_or(10.0))?;
    if refresh < Duration::from_secs(1) {
        return Err(ConfigError::at(
            "jwks_refresh_seconds",
            "at least 1: each unknown kid may cost the issuer a request",
        ));
    }
    Ok(refresh)
}

fn algorithms(raw: Option<Vec<String>>) -> Result<Vec<Algorithm>, ConfigError> {
    let mut algorithms = Vec::new();
    for alg in raw.unwrap_or_else(|| vec!["RS256".to_owned()]) {
        algorithms.push(match alg.as_str() {
            "RS256" => Algorithm::RS256,
            "RS384" => Algorithm::RS384,
            "RS512" => Algorithm::RS512,
            "ES256" => Algorithm::ES256,
            "ES384" => Algorithm::ES384,
            "PS256" => Algorithm::PS256,
            "PS384" => Algorithm::PS384,
            "PS512" => Algorithm::PS512,
            other => {
                return Err(ConfigError::at(
                    "algorithms",
                    format!("{other:?} is not accepted: only asymmetric signatures (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384)"),
                ));
            }
        });
    }
    if algorithms.is_empty() {
        return Err(ConfigError::at(
            "algorithms",
            "must name one algorithm at least",
        ));
    }
    Ok(algorithms)
}

/// An https URL, or an http one on loopback when `allow_insecure_http`.
fn url_setting(key: &str, raw: &str, allow_insecure_http: bool) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::at(key, format!("not a URL: {e}")))?;
    let loopback = unisession_http::is_loopback(&url);
    if url.scheme() != "https" && !(url.scheme() == "http" && (loopback && allow_insecure_http)) {
        return Err(ConfigError::at(
            key,
            "must be https:// (http:// only on loopback with allow_insecure_http = true)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::at(key, "must have no query or fragment"));
    }
    Ok(url)
}

fn transmitter_from(
    settings: &Settings,
    name: &str,
    raw: RawTransmitter,
) -> Result<Transmitter, ConfigError> {
    let issuer_url = url_setting("issuer", &raw.issuer, raw.allow_insecure_http)?;
    if raw.allow_insecure_http && !unisession_http::is_loopback(&issuer_url) {
        return Err(ConfigError::at(
            "allow_insecure_http",
            "only a loopback issuer may be fetched over http://",
        ));
    }
    let mut actions = BTreeMap::new();
    for (short, uri) in crate::ssf::EVENTS {
        // credential-change records by default: a new factor is not a compromise.
        let default = if *short == "credential-change" {
            Action::Record
        } else {
            Action::All
        };
        actions.insert((*uri).to_owned(), default);
    }
    for (short, value) in raw.events {
        let Some((_, uri)) = crate::ssf::EVENTS.iter().find(|(s, _)| *s == short) else {
            let known: Vec<&str> = crate::ssf::EVENTS.iter().map(|(s, _)| *s).collect();
            return Err(ConfigError::at(
                format!("events.{short}"),
                format!("not an event type; use {}", known.join(", ")),
            ));
        };
        let action = match &value {
            serde_json::Value::String(s) if s == "all" => Action::All,
            serde_json::Value::String(s) if s == "record" => Action::Record,
            serde_json::Value::Array(names) if !names.is_empty() => Action::Providers(
                names
                    .iter()
                    .map(|n| n.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        ConfigError::at(format!("events.{short}"), "provider names are strings")
                    })?,
            ),
            _ => {
                return Err(ConfigError::at(
                    format!("events.{short}"),
                    "\"all\", \"record\", or a list of provider names",
                ));
            }
        };
        actions.insert((*uri).to_owned(), action);
    }
    let delivery = match raw.delivery.as_str() {
        "push" => {
            let url = url_setting(
                "push_url",
                raw.push_url.as_deref().ok_or_else(|| {
                    ConfigError::at(
                        "push_url",
                        "missing; the public URL the transmitter posts to",
                    )
                })?,
                true,
            )?;
            let authorization = settings
                .secret(
                    "authorization_header",
                    raw.authorization_header_env.as_deref(),
                    raw.authorization_header_file.as_deref(),
                )?
                .ok_or_else(|| {
                    ConfigError::at(
                        "authorization_header_env",
                        "missing; the value the transmitter must send in Authorization (registered with the stream), so that unauthenticated posts are refused before any signature work",
                    )
                })?;
            if secrecy::ExposeSecret::expose_secret(&authorization).len() < 32 {
                return Err(ConfigError::at(
                    "authorization_header_env",
                    "shorter than 32 characters; use a long random value",
                ));
            }
            if raw.poll_url.is_some() || raw.poll_seconds.is_some() {
                return Err(ConfigError::at(
                    "poll_url",
                    "a push transmitter is not polled",
                ));
            }
            Delivery::Push { url, authorization }
        }
        "poll" => {
            if raw.push_url.is_some()
                || raw.authorization_header_env.is_some()
                || raw.authorization_header_file.is_some()
            {
                return Err(ConfigError::at(
                    "push_url",
                    "a poll transmitter does not push",
                ));
            }
            let url = raw
                .poll_url
                .as_deref()
                .map(|u| url_setting("poll_url", u, raw.allow_insecure_http))
                .transpose()?;
            Delivery::Poll {
                url,
                interval: seconds("poll_seconds", raw.poll_seconds.unwrap_or(5.0))?,
            }
        }
        other => {
            return Err(ConfigError::at(
                "delivery",
                format!("{other:?}: use \"push\" or \"poll\""),
            ));
        }
    };
    let management = match (raw.token_url, raw.client_id) {
        (Some(token_url), Some(client_id)) => Some(Management {
            token_url: url_setting("token_url", &token_url, raw.allow_insecure_http)?,
            client_id,
            client_secret: settings.required_secret(
                "client_secret",
                raw.client_secret_env.as_deref(),
                raw.client_secret_file.as_deref(),
            )?,
            scopes: raw
                .scopes
                .unwrap_or_else(|| vec!["ssf.manage".to_owned(), "ssf.read".to_owned()]),
        }),
        (None, None) => None,
        (Some(_), None) => return Err(ConfigError::at("client_id", "missing (token_url is set)")),
        (None, Some(_)) => return Err(ConfigError::at("token_url", "missing (client_id is set)")),
    };
    if let Delivery::Poll { url: None, .. } = &delivery {
        if management.is_none() {
            return Err(ConfigError::at(
                "poll_url",
                "missing; set poll_url, or token_url and client_id so that the stream (and its poll URL) is managed",
            ));
        }
    }
    let domains = domains(&raw.domains)?;
    let jwks_refresh = jwks_refresh(raw.jwks_refresh_seconds)?;
    let mut audience = raw.audience;
    if audience.is_empty() {
        match &delivery {
            Delivery::Push { url, .. } => audience.push(url.as_str().to_owned()),
            // A managed stream brings its own aud; an unmanaged poll stream must say.
            Delivery::Poll { .. } if management.is_none() => {
                return Err(ConfigError::at(
                    "audience",
                    "missing; the aud the transmitter puts in its SETs for this receiver",
                ));
            }
            Delivery::Poll { .. } => {}
        }
    }
    Ok(Transmitter {
        name: name.to_owned(),
        issuer: raw.issuer,
        allow_insecure_http: raw.allow_insecure_http,
        audience,
        delivery,
        algorithms: algorithms(raw.algorithms)?,
        legacy_typ: raw.legacy_typ,
        jwks_refresh,
        actions,
        management,
        stream_id: raw.stream_id,
        discovery_url: raw
            .discovery_url
            .as_deref()
            .map(|u| url_setting("discovery_url", u, raw.allow_insecure_http))
            .transpose()?,
        jwks_uri: raw
            .jwks_uri
            .as_deref()
            .map(|u| url_setting("jwks_uri", u, raw.allow_insecure_http))
            .transpose()?,
        domains,
    })
}

/// `iss,sub,email` rows: an `iss_sub` subject, or with `iss` = `opaque:NAME` an
/// `opaque` id as the caller or transmitter NAME sends it.
fn read_subjects(path: &Path) -> Result<BTreeMap<(String, String), String>, ConfigError> {
    let key = "subjects_file";
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| ConfigError::at(key, format!("cannot read {}: {e}", path.display())))?;
    let headers = reader
        .headers()
        .map_err(|e| ConfigError::at(key, format!("{}: {e}", path.display())))?
        .clone();
    if headers.iter().collect::<Vec<_>>() != ["iss", "sub", "email"] {
        return Err(ConfigError::at(
            key,
            format!("{}: the first line must be iss,sub,email", path.display()),
        ));
    }
    let mut map = BTreeMap::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row =
            row.map_err(|e| ConfigError::at(key, format!("{} line {line}: {e}", path.display())))?;
        let (iss, sub, email) = (&row[0], &row[1], &row[2]);
        if iss.is_empty() || iss == "opaque:" {
            return Err(ConfigError::at(
                key,
                format!(
                    "{} line {line}: iss is empty; list an opaque id under opaque:NAME, NAME the caller or transmitter that sends it",
                    path.display()
                ),
            ));
        }
        if sub.is_empty() {
            return Err(ConfigError::at(
                key,
                format!("{} line {line}: sub is empty", path.display()),
            ));
        }
        let email = canonical_email(email).ok_or_else(|| {
            ConfigError::at(
                key,
                format!("{} line {line}: not an e-mail address", path.display()),
            )
        })?;
        if map
            .insert((iss.to_owned(), sub.to_owned()), email)
            .is_some()
        {
            return Err(ConfigError::at(
                key,
                format!(
                    "{} line {line}: this subject is listed twice",
                    path.display()
                ),
            ));
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_canonical_or_refused() {
        assert_eq!(
            canonical_email(" Ann@Example.COM ").as_deref(),
            Some("ann@example.com")
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "a b@example.com",
            "a@b@example.com",
        ] {
            assert_eq!(canonical_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn databases_are_files_or_postgres() {
        let dir = Path::new("/etc/unisession");
        assert!(
            matches!(Database::parse("jobs.db", dir), Ok(Database::Sqlite(p)) if p == Path::new("/etc/unisession/jobs.db"))
        );
        assert!(
            matches!(Database::parse("sqlite:/var/q.db", dir), Ok(Database::Sqlite(p)) if p == Path::new("/var/q.db"))
        );
        assert!(matches!(
            Database::parse("postgres://db/unisession", dir),
            Ok(Database::Postgres(_))
        ));
        assert!(Database::parse("mysql://db/x", dir).is_err());
        assert!(Database::parse("sqlite::memory:", dir).is_err());
        assert!(Database::has_password("postgres://u:hunter2@db/x"));
        assert!(!Database::has_password("postgres://u@db/x"));
        let shown = format!(
            "{:?}",
            Database::parse("postgres://u:hunter2@db/x", dir).unwrap()
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
