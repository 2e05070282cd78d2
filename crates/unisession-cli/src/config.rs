//! `unisession.toml`: provider instances with a kind, a base URL and options.
//! Secrets come from environment variables or files the file names, never inline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::SecretString;
use toml::{Table, Value};
use unisession::SessionProvider;
use unisession::docspace::{DocSpaceBuilder, DocSpaceProvider};
use unisession::rocketchat::{RocketChatBuilder, RocketChatProvider, Scope, UserRevocation};
use unisession::slack::{SlackBuilder, SlackProvider};

use crate::error::CliError;

/// Where the configuration came from and what it holds.
pub struct Config {
    pub path: PathBuf,
    pub providers: Vec<Configured>,
}

/// One configured provider instance.
pub struct Configured {
    pub name: String,
    pub kind: &'static str,
    pub handle: Handle,
}

/// The concrete adapter, for provider-specific calls such as a credential check.
#[derive(Clone)]
pub enum Handle {
    DocSpace(Arc<DocSpaceProvider>),
    RocketChat(Arc<RocketChatProvider>),
    Slack(Arc<SlackProvider>),
}

impl Handle {
    pub fn provider(&self) -> Arc<dyn SessionProvider> {
        match self {
            Handle::DocSpace(p) => p.clone(),
            Handle::RocketChat(p) => p.clone(),
            Handle::Slack(p) => p.clone(),
        }
    }
}

const SECRET_KEYS: &[&str] = &[
    "token",
    "password",
    "api_key",
    "secret",
    "totp_secret",
    "two_factor_password",
    "client_secret",
];

/// The file to read: `--config`, else `UNISESSION_CONFIG` (clap fills both into
/// `explicit`), else `unisession.toml` in the platform's configuration directory.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    let default = dirs::config_dir().map(|d| d.join("unisession").join("unisession.toml"));
    match default {
        Some(path) if path.is_file() => Ok(path),
        Some(path) => Err(CliError::usage(format!(
            "no configuration: pass --config FILE, set UNISESSION_CONFIG, or create {} (unisession demo needs none)",
            path.display()
        ))),
        None => Err(CliError::usage(
            "no configuration: pass --config FILE or set UNISESSION_CONFIG",
        )),
    }
}

struct Section<'a> {
    file: &'a Path,
    name: &'a str,
    table: &'a Table,
}

impl Section<'_> {
    fn error(&self, key: &str, problem: impl AsRef<str>) -> CliError {
        let at = if key.is_empty() {
            format!("providers.{}", self.name)
        } else {
            format!("providers.{}.{key}", self.name)
        };
        CliError::usage(format!(
            "{}: {at}: {}",
            self.file.display(),
            problem.as_ref()
        ))
    }

    fn string(&self, key: &str) -> Result<Option<String>, CliError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(self.error(key, "must be a non-empty string, in quotes")),
        }
    }

    fn required(&self, key: &str, what: &str) -> Result<String, CliError> {
        self.string(key)?
            .ok_or_else(|| self.error(key, format!("missing; set {key} = \"{what}\"")))
    }

    fn boolean(&self, key: &str) -> Result<bool, CliError> {
        match self.table.get(key) {
            None => Ok(false),
            Some(Value::Boolean(b)) => Ok(*b),
            Some(_) => Err(self.error(key, "must be true or false")),
        }
    }

    /// `time_scale`: how much faster than real time the provider's rate-limit windows
    /// run (emulators only; real providers need the default 1).
    fn time_scale(&self) -> Result<f64, CliError> {
        let scale = match self.table.get("time_scale") {
            None => return Ok(1.0),
            Some(Value::Float(f)) => *f,
            Some(Value::Integer(i)) => *i as f64,
            Some(_) => return Err(self.error("time_scale", "must be a number")),
        };
        if scale.is_finite() && scale > 0.0 {
            Ok(scale)
        } else {
            Err(self.error("time_scale", "must be greater than 0"))
        }
    }

    fn check_keys(&self, allowed: &[&str]) -> Result<(), CliError> {
        for key in self.table.keys() {
            if SECRET_KEYS.contains(&key.as_str()) {
                return Err(self.error(
                    key,
                    format!(
                        "secrets are never written in the configuration file (it ends up in backups and version control); set {key}_env = \"VARIABLE\" or {key}_file = \"/path/to/file\" instead"
                    ),
                ));
            }
            if !allowed.contains(&key.as_str()) {
                return Err(self.error(
                    key,
                    format!("unknown setting; this kind takes {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The secret named by `{key}_env` or `{key}_file`, if either is set.
    fn secret(&self, key: &str) -> Result<Option<SecretString>, CliError> {
        let env_key = format!("{key}_env");
        let file_key = format!("{key}_file");
        match (self.string(&env_key)?, self.string(&file_key)?) {
            (Some(_), Some(_)) => Err(self.error(&env_key, format!("set {env_key} or {file_key}, not both"))),
            (Some(variable), None) => match std::env::var(&variable) {
                Ok(value) if !value.trim().is_empty() => Ok(Some(SecretString::from(value.trim().to_owned()))),
                Ok(_) => Err(self.error(&env_key, format!("the environment variable {variable} is empty"))),
                Err(_) => Err(self.error(&env_key, format!("the environment variable {variable} is not set; export it, or use {file_key}"))),
            },
            (None, Some(file)) => {
                let path = resolve(self.file, &file);
                match std::fs::read_to_string(&path) {
                    Ok(value) if !value.trim().is_empty() => Ok(Some(SecretString::from(value.trim().to_owned()))),
                    Ok(_) => Err(self.error(&file_key, format!("the file {} is empty", path.display()))),
                    Err(e) => Err(self.error(&file_key, format!("cannot read {}: {e}", path.display()))),
                }
            }
            (None, None) => Ok(None),
        }
    }

    fn required_secret(&self, key: &str) -> Result<SecretString, CliError> {
        self.secret(key)?
            .ok_or_else(|| self.error("", format!("missing credential; set {key}_env = \"VARIABLE\" or {key}_file = \"/path/to/file\"")))
    }
}

/// A path relative to the configuration file's directory.
fn resolve(file: &Path, path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    if path.is_absolute() {
        path
    } else {
        file.parent().unwrap_or(Path::new(".")).join(path)
    }
}

const COMMON: &[&str] = &["kind", "base_url", "allow_insecure_http", "time_scale"];

fn build_error(section: &Section<'_>, error: unisession::Error) -> CliError {
    section.error("", error.message())
}

fn slack(section: &Section<'_>, name: &str) -> Result<Handle, CliError> {
    section.check_keys(&[COMMON, &["token_env", "token_file", "team_id"]].concat())?;
    let mut builder = SlackBuilder::new(
        section
            .string("base_url")?
            .unwrap_or_else(|| SlackProvider::DEFAULT_BASE_URL.to_owned()),
    )
    .with_name(name)
    .with_token(section.required_secret("token")?)
    .with_time_scale(section.time_scale()?)
    .allow_insecure_http(section.boolean("allow_insecure_http")?);
    if let Some(team) = section.string("team_id")? {
        builder = builder.with_team_id(team);
    }
    Ok(Handle::Slack(Arc::new(
        builder.build().map_err(|e| build_error(section, e))?,
    )))
}

fn docspace(section: &Section<'_>, name: &str) -> Result<Handle, CliError> {
    section.check_keys(
        &[
            COMMON,
            &[
                "auth",
                "token_env",
                "token_file",
                "user",
                "password_env",
                "password_file",
            ],
        ]
        .concat(),
    )?;
    let base = section.required("base_url", "https://portal.example.com/")?;
    let rate = unisession_http::Rate::per_minute(1500).scaled(0.95 * section.time_scale()?);
    let builder = DocSpaceBuilder::new(base)
        .with_name(name)
        .with_rate(rate)
        .allow_insecure_http(section.boolean("allow_insecure_http")?);
    let auth = section
        .string("auth")?
        .unwrap_or_else(|| "personal_token".to_owned());
    let builder = match auth.as_str() {
        "api_key" => builder.with_api_key(section.required_secret("token")?),
        "personal_token" => builder.with_personal_token(section.required_secret("token")?),
        "oauth" => builder.with_oauth_token(section.required_secret("token")?),
        "login" => builder.with_login(
            section.required("user", "admin@portal.example.com")?,
            section.required_secret("password")?,
        ),
        "basic" => builder.with_basic(
            section.required("user", "admin@portal.example.com")?,
            section.required_secret("password")?,
        ),
        other => {
            return Err(section.error(
                "auth",
                format!("{other:?} is not a DocSpace credential; use api_key, personal_token, login, basic or oauth"),
            ));
        }
    };
    Ok(Handle::DocSpace(Arc::new(
        builder.build().map_err(|e| build_error(section, e))?,
    )))
}

fn rocketchat(section: &Section<'_>, name: &str) -> Result<Handle, CliError> {
    section.check_keys(
        &[
            COMMON,
            &[
                "user_id",
                "token_env",
                "token_file",
                "user",
                "password_env",
                "password_file",
                "scope",
                "two_factor_password_env",
                "two_factor_password_file",
                "totp_secret_env",
                "totp_secret_file",
                "user_revocation",
            ],
        ]
        .concat(),
    )?;
    let base = section.required("base_url", "https://chat.example.com/")?;
    // Rocket.Chat is not paced by default (it spends the budget the server announces).
    section.time_scale()?;
    let mut builder = RocketChatBuilder::new(base)
        .with_name(name)
        .allow_insecure_http(section.boolean("allow_insecure_http")?);
    builder = match (section.string("user_id")?, section.string("user")?) {
        (Some(user_id), None) => builder.with_token(user_id, section.required_secret("token")?),
        (None, Some(user)) => builder.with_login(user, section.required_secret("password")?),
        (Some(_), Some(_)) => {
            return Err(section.error(
                "user",
                "set user_id (with a token) or user (with a password), not both",
            ));
        }
        (None, None) => {
            return Err(section.error(
                "",
                "missing credential; set user_id and token_env, or user and password_env",
            ));
        }
    };
    builder = match section.string("scope")?.as_deref() {
        None | Some("workspace") => builder.with_scope(Scope::Workspace),
        Some("own") => builder.with_scope(Scope::Own),
        Some(other) => {
            return Err(section.error(
                "scope",
                format!("{other:?} is not a scope; use workspace or own"),
            ));
        }
    };
    builder = match section.string("user_revocation")?.as_deref() {
        None | Some("all_tokens") => builder.with_user_revocation(UserRevocation::AllTokens),
        Some("device_sessions") => builder.with_user_revocation(UserRevocation::DeviceSessions),
        Some(other) => {
            return Err(section.error(
                "user_revocation",
                format!("{other:?} is not a mode; use all_tokens or device_sessions"),
            ));
        }
    };
    if let Some(password) = section.secret("two_factor_password")? {
        builder = builder.with_two_factor_password(password);
    }
    if let Some(secret) = section.secret("totp_secret")? {
        builder = builder.with_totp_secret(secret);
    }
    Ok(Handle::RocketChat(Arc::new(
        builder.build().map_err(|e| build_error(section, e))?,
    )))
}

/// Reads and validates the configuration and builds every provider. Nothing is sent.
pub fn load(path: &Path) -> Result<Config, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(format!(
            "{}: cannot read the configuration: {e}; write one (see the README's quick start) or name another with --config",
            path.display()
        ))
    })?;
    let table: Table = toml::from_str(&text).map_err(|e| {
        // Where, but not the line itself: it could hold a secret pasted by mistake.
        let at = e.span().map_or(String::new(), |span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(" at line {line}, column {column}")
        });
        CliError::usage(format!(
            "{}: not valid TOML{at}: {}",
            path.display(),
            e.message()
        ))
    })?;
    for key in table.keys() {
        if key != "providers" {
            return Err(CliError::usage(format!(
                "{}: {key}: unknown section; the file holds [providers.NAME] tables",
                path.display()
            )));
        }
    }
    let providers = match table.get("providers") {
        Some(Value::Table(providers)) if !providers.is_empty() => providers,
        _ => {
            return Err(CliError::usage(format!(
                "{}: providers: no provider is configured; add a [providers.NAME] table with kind and base_url",
                path.display()
            )));
        }
    };
    let mut configured = Vec::new();
    let mut seen = BTreeMap::new();
    for (name, value) in providers {
        let Value::Table(table) = value else {
            return Err(CliError::usage(format!(
                "{}: providers.{name}: must be a table",
                path.display()
            )));
        };
        let section = Section {
            file: path,
            name,
            table,
        };
        let kind = section.required("kind", "slack | docspace | rocketchat")?;
        let (kind, handle) = match kind.as_str() {
            "slack" => ("slack", slack(&section, name)?),
            "docspace" => ("docspace", docspace(&section, name)?),
            "rocketchat" => ("rocketchat", rocketchat(&section, name)?),
            other => {
                return Err(section.error(
                    "kind",
                    format!("{other:?} is not a provider kind; use slack, docspace or rocketchat"),
                ));
            }
        };
        seen.insert(name.clone(), kind);
        configured.push(Configured {
            name: name.clone(),
            kind,
            handle,
        });
    }
    Ok(Config {
        path: path.to_owned(),
        providers: configured,
    })
}
