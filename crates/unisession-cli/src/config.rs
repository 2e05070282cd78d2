//! `unisession.toml`: provider instances with a kind, a base URL and options.
//! Secrets come from environment variables or files the file names, never inline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::{Table, Value};
use unisession::SessionProvider;
use unisession::http::{Adapter, COMMON_KEYS, SECRET_KEYS, Settings, TransportOptions};
use unisession::registry;

use crate::error::CliError;

/// Where the configuration came from and what it holds.
pub(crate) struct Config {
    pub path: PathBuf,
    pub providers: Vec<Configured>,
    /// The `[serve]` table, as written (read by `unisession serve`).
    pub serve: Option<Table>,
}

/// One configured provider instance.
pub(crate) struct Configured {
    pub name: String,
    pub kind: &'static str,
    pub adapter: Arc<dyn Adapter>,
}

impl Configured {
    pub(crate) fn provider(&self) -> Arc<dyn SessionProvider> {
        self.adapter.clone()
    }
}

/// `unisession.toml` in the platform's configuration directory, where it is looked
/// for when neither `--config` nor `UNISESSION_CONFIG` names one.
pub(crate) fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("unisession").join("unisession.toml"))
}

/// The file to read: `--config`, else `UNISESSION_CONFIG` (clap fills both into
/// `explicit`), else `unisession.toml` in the platform's configuration directory.
pub(crate) fn locate(explicit: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    match default_path() {
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

    /// A secret written inline is refused, whatever the kind.
    fn refuse_inline_secrets(&self) -> Result<(), CliError> {
        for key in self.table.keys() {
            if SECRET_KEYS.contains(&key.as_str()) {
                return Err(self.error(
                    key,
                    format!(
                        "secrets are never written in the configuration file (it ends up in backups and version control); set {key}_env = \"VARIABLE\" or {key}_file = \"/path/to/file\" instead"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Builds the instance through the registry: the common settings go to the
    /// transport, the rest to the kind's own configuration.
    fn build(&self) -> Result<(&'static str, Arc<dyn Adapter>), CliError> {
        self.refuse_inline_secrets()?;
        let kinds: Vec<&str> = registry::kinds().collect();
        let kind = match self.table.get("kind") {
            Some(Value::String(kind)) if !kind.trim().is_empty() => kind,
            Some(_) => return Err(self.error("kind", "must be a non-empty string, in quotes")),
            None => {
                return Err(self.error(
                    "kind",
                    format!("missing; set kind = \"{}\"", kinds.join(" | ")),
                ));
            }
        };
        let Some(registered) = registry::find(kind) else {
            return Err(self.error(
                "kind",
                format!("{kind:?} is not a provider kind; use {}", kinds.join(", ")),
            ));
        };
        let transport = TransportOptions::new()
            .with_name(self.name)
            .allow_insecure_http(self.boolean("allow_insecure_http")?)
            .with_time_scale(self.time_scale()?);
        let values = self
            .table
            .iter()
            .filter(|(key, _)| !COMMON_KEYS.contains(&key.as_str()))
            .map(|(key, value)| {
                serde_json::to_value(value)
                    .map(|v| (key.clone(), v))
                    .map_err(|e| self.error(key, e.to_string()))
            })
            .collect::<Result<serde_json::Map<_, _>, _>>()?;
        let dir = self.file.parent().unwrap_or(Path::new("."));
        let settings = Settings::new(values, dir, transport);
        let adapter = (registered.build)(&settings)
            .map_err(|e| self.error(e.key.as_deref().unwrap_or(""), &e.message))?;
        Ok((registered.kind, adapter))
    }
}

/// Reads and validates the configuration and builds every provider. Nothing is sent.
pub(crate) fn load(path: &Path) -> Result<Config, CliError> {
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
        if key != "providers" && key != "serve" {
            return Err(CliError::usage(format!(
                "{}: {key}: unknown section; the file holds [providers.NAME] tables and a [serve] table",
                path.display()
            )));
        }
    }
    let serve = match table.get("serve") {
        None => None,
        Some(Value::Table(serve)) => Some(serve.clone()),
        Some(_) => {
            return Err(CliError::usage(format!(
                "{}: serve: must be a table ([serve])",
                path.display()
            )));
        }
    };
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
        let (kind, adapter) = section.build()?;
        seen.insert(name.clone(), kind);
        configured.push(Configured {
            name: name.clone(),
            kind,
            adapter,
        });
    }
    Ok(Config {
        path: path.to_owned(),
        providers: configured,
        serve,
    })
}
