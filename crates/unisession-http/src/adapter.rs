//! What a built-in adapter crate says about itself, so that the facade's registry,
//! the command and the tests can build and check any of them without naming it.
//!
//! An adapter crate exports one [`AdapterKind`]: its kind name (`"slack"`), how to
//! build it from a `[providers.NAME]` table ([`Settings`]), and the credential check
//! `config check` runs ([`Adapter::check_credential`]). Its configuration is a serde
//! struct with `deny_unknown_fields`; credentials appear in it only as
//! `{key}_env`/`{key}_file` and are read by [`Settings::secret`], which keeps them in
//! a [`SecretString`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use unisession_core::{Result, SessionProvider, async_trait};

use crate::TransportOptions;
use url::Url;

/// A provider built from configuration, with a harmless call that proves its credential.
#[async_trait]
pub trait Adapter: SessionProvider {
    /// A call that changes nothing and succeeds only with a working credential; says
    /// whose credential it is (`config check`).
    async fn check_credential(&self) -> Result<String>;

    /// The base URL requests go to (as configured, normalised): reports and evidence
    /// name it. It never holds a credential: the transport refuses URLs with one.
    fn base_url(&self) -> &Url;
}

/// A configuration problem, naming the setting (`token_env`) where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The setting at fault, if one is.
    pub key: Option<String>,
    /// What is wrong and how to fix it. Never quotes a secret.
    pub message: String,
}

impl ConfigError {
    /// A problem with `key`.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: Some(key.into()),
            message: message.into(),
        }
    }

    /// A problem with the table as a whole.
    pub fn whole(message: impl Into<String>) -> Self {
        Self {
            key: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{key}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<unisession_core::Error> for ConfigError {
    fn from(error: unisession_core::Error) -> Self {
        Self::whole(error.message())
    }
}

/// The settings every kind takes, read by the caller into [`TransportOptions`] and
/// never passed to the adapter's own table.
pub const COMMON_KEYS: &[&str] = &["kind", "allow_insecure_http", "time_scale"];

/// Names of settings that would hold a secret written inline: refused, whatever the
/// kind, with the `_env`/`_file` forms suggested.
pub const SECRET_KEYS: &[&str] = &[
    "token",
    "password",
    "api_key",
    "secret",
    "totp_secret",
    "two_factor_password",
    "client_secret",
    "private_key",
];

/// One `[providers.NAME]` table on its way to an adapter: its settings (the common
/// ones removed), the directory `*_file` paths are relative to, the transport options,
/// and secrets handed over in memory by code that holds them (the emulators).
#[derive(Clone)]
pub struct Settings {
    values: serde_json::Map<String, serde_json::Value>,
    dir: PathBuf,
    transport: TransportOptions,
    secrets: BTreeMap<String, SecretString>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("values", &self.values)
            .field("dir", &self.dir)
            .field("transport", &self.transport)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Settings {
    /// Settings from a table's values, relative to `dir`.
    pub fn new(
        values: serde_json::Map<String, serde_json::Value>,
        dir: impl Into<PathBuf>,
        transport: TransportOptions,
    ) -> Self {
        Self {
            values,
            dir: dir.into(),
            transport,
            secrets: BTreeMap::new(),
        }
    }

    /// Hands `key`'s secret over in memory (used instead of `{key}_env`/`{key}_file`).
    pub fn with_secret(mut self, key: impl Into<String>, secret: SecretString) -> Self {
        self.secrets.insert(key.into(), secret);
        self
    }

    /// The transport options (with the instance name).
    pub fn transport(&self) -> &TransportOptions {
        &self.transport
    }

    /// The instance name.
    pub fn name(&self) -> Option<&str> {
        self.transport.name.as_deref()
    }

    /// The table read as the adapter's configuration. An unknown setting, a missing one
    /// or one of the wrong type is named, with what the kind takes.
    pub fn parse<T: DeserializeOwned>(&self) -> std::result::Result<T, ConfigError> {
        let value = serde_json::Value::Object(self.values.clone());
        serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            if let Some(rest) = inner.strip_prefix("unknown field `") {
                let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
                let takes = expected
                    .trim_start_matches(", expected one of ")
                    .trim_start_matches(", expected ")
                    .replace('`', "");
                return ConfigError::at(key, format!("unknown setting; this kind takes {takes}"));
            }
            if let Some(rest) = inner.strip_prefix("missing field `") {
                let key = rest.split('`').next().unwrap_or(rest);
                return ConfigError::at(key, "missing");
            }
            let key = (path != ".").then_some(path);
            ConfigError {
                key,
                message: inner,
            }
        })
    }

    /// The secret `key` names: handed over in memory, or read from the environment
    /// variable `env` or the file `file` (relative to the configuration's directory),
    /// trimmed. Both set, an unset variable, an unreadable or empty file: an error
    /// naming the setting, never the value.
    pub fn secret(
        &self,
        key: &str,
        env: Option<&str>,
        file: Option<&Path>,
    ) -> std::result::Result<Option<SecretString>, ConfigError> {
        let env_key = format!("{key}_env");
        let file_key = format!("{key}_file");
        if let Some(secret) = self.secrets.get(key) {
            return Ok(Some(secret.clone()));
        }
        match (env, file) {
            (Some(_), Some(_)) => Err(ConfigError::at(
                &env_key,
                format!("set {env_key} or {file_key}, not both"),
            )),
            (Some(variable), None) => match std::env::var(variable) {
                Ok(value) if !value.trim().is_empty() => {
                    Ok(Some(SecretString::from(value.trim().to_owned())))
                }
                Ok(_) => Err(ConfigError::at(
                    &env_key,
                    format!("the environment variable {variable} is empty"),
                )),
                Err(_) => Err(ConfigError::at(
                    &env_key,
                    format!(
                        "the environment variable {variable} is not set; export it, or use {file_key}"
                    ),
                )),
            },
            (None, Some(file)) => {
                let path = if file.is_absolute() {
                    file.to_owned()
                } else {
                    self.dir.join(file)
                };
                match std::fs::read_to_string(&path) {
                    Ok(value) if !value.trim().is_empty() => {
                        Ok(Some(SecretString::from(value.trim().to_owned())))
                    }
                    Ok(_) => Err(ConfigError::at(
                        &file_key,
                        format!("the file {} is empty", path.display()),
                    )),
                    Err(e) => Err(ConfigError::at(
                        &file_key,
                        format!("cannot read {}: {e}", path.display()),
                    )),
                }
            }
            (None, None) => Ok(None),
        }
    }

    /// [`secret`](Self::secret), required.
    pub fn required_secret(
        &self,
        key: &str,
        env: Option<&str>,
        file: Option<&Path>,
    ) -> std::result::Result<SecretString, ConfigError> {
        self.secret(key, env, file)?.ok_or_else(|| {
            ConfigError::whole(format!(
                "missing credential; set {key}_env = \"VARIABLE\" or {key}_file = \"/path/to/file\""
            ))
        })
    }
}

/// What an adapter crate registers: its kind name, how it is built from
/// configuration, and a commented configuration template.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct AdapterKind {
    /// The `kind` of a `[providers.NAME]` table: `slack`.
    pub kind: &'static str,
    /// The provider's name for people: `Slack`.
    pub title: &'static str,
    /// Builds the adapter from its table. Nothing is sent.
    pub build: fn(&Settings) -> std::result::Result<Arc<dyn Adapter>, ConfigError>,
    /// A commented `[providers.NAME]` table for this kind (`config init`).
    pub template: &'static str,
}

impl AdapterKind {
    /// A kind.
    pub const fn new(
        kind: &'static str,
        title: &'static str,
        build: fn(&Settings) -> std::result::Result<Arc<dyn Adapter>, ConfigError>,
        template: &'static str,
    ) -> Self {
        Self {
            kind,
            title,
            build,
            template,
        }
    }
}

impl fmt::Debug for AdapterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdapterKind")
            .field("kind", &self.kind)
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Wiki {
        base_url: String,
        token_env: Option<String>,
        token_file: Option<PathBuf>,
        #[serde(default)]
        page_size: u32,
    }

    fn settings(json: serde_json::Value) -> Settings {
        let serde_json::Value::Object(values) = json else {
            panic!("a table")
        };
        Settings::new(values, std::env::temp_dir(), TransportOptions::new())
    }

    #[test]
    fn unknown_missing_and_mistyped_settings_are_named() {
        let err = settings(serde_json::json!({"base_url": "x", "colour": "blue"}))
            .parse::<Wiki>()
            .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("colour"));
        assert!(
            err.message
                .starts_with("unknown setting; this kind takes base_url, token_env"),
            "{err}"
        );
        let err = settings(serde_json::json!({})).parse::<Wiki>().unwrap_err();
        assert_eq!(
            (err.key.as_deref(), err.message.as_str()),
            (Some("base_url"), "missing")
        );
        let err = settings(serde_json::json!({"base_url": "x", "page_size": "ten"}))
            .parse::<Wiki>()
            .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("page_size"), "{err}");
    }

    #[test]
    fn secrets_come_from_memory_the_environment_or_a_file_never_both() {
        let dir = tempfile_dir();
        std::fs::write(dir.join("wiki.token"), "  from-file\n").unwrap();
        let s = Settings::new(serde_json::Map::new(), &dir, TransportOptions::new());
        let file = s
            .secret("token", None, Some(Path::new("wiki.token")))
            .unwrap()
            .unwrap();
        assert_eq!(file.expose_secret(), "from-file");
        let err = s
            .secret("token", Some("PATH"), Some(Path::new("wiki.token")))
            .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("token_env"));
        let err = s
            .secret("token", Some("UNISESSION_SURELY_UNSET_VARIABLE"), None)
            .unwrap_err();
        assert!(err.message.contains("is not set"), "{err}");
        let err = s
            .secret("token", None, Some(Path::new("missing.token")))
            .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("token_file"));
        let err = s.required_secret("token", None, None).unwrap_err();
        assert!(err.message.contains("token_env"), "{err}");
        let memory = s.with_secret("token", SecretString::from("in-memory".to_owned()));
        let got = memory.secret("token", None, None).unwrap().unwrap();
        assert_eq!(got.expose_secret(), "in-memory");
        assert!(!format!("{memory:?}").contains("in-memory"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "unisession-settings-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
