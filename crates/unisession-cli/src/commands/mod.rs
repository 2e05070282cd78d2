//! The commands.

pub(crate) mod check;
pub(crate) mod demo;
pub(crate) mod emulate;
pub(crate) mod everyone;
pub(crate) mod init;
pub(crate) mod manual;
pub(crate) mod offboard;
pub(crate) mod report;
pub(crate) mod revoke;
pub(crate) mod serve;
pub(crate) mod sessions;

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use unisession::fleet::{Fleet, FleetBuilder, Report};
use unisession::{ErrorKind, SessionProvider};

use crate::cli::{Cli, Format};
use crate::config::{self, Config};
use crate::error::{CliError, Exit};

/// Named providers, in configuration order.
pub(crate) type Named = Vec<(String, Arc<dyn SessionProvider>)>;

/// What every command gets.
pub(crate) struct Context<'a> {
    pub cli: &'a Cli,
}

impl Context<'_> {
    pub(crate) fn json(&self) -> bool {
        self.cli.format == Format::Json
    }

    pub(crate) fn config(&self) -> Result<Config, CliError> {
        let path = config::locate(self.cli.config.as_deref())?;
        config::load(&path)
    }

    /// Providers by name; `only` restricts them (unknown names are an error).
    pub(crate) fn providers(&self, config: &Config, only: &[String]) -> Result<Named, CliError> {
        for name in only {
            if !config.providers.iter().any(|p| &p.name == name) {
                let known: Vec<&str> = config.providers.iter().map(|p| p.name.as_str()).collect();
                return Err(CliError::usage(format!(
                    "{}: no provider named {name:?}; configured: {}",
                    config.path.display(),
                    known.join(", ")
                )));
            }
        }
        Ok(config
            .providers
            .iter()
            .filter(|p| only.is_empty() || only.contains(&p.name))
            .map(|p| (p.name.clone(), p.provider()))
            .collect())
    }

    pub(crate) fn fleet(
        &self,
        providers: Vec<(String, Arc<dyn SessionProvider>)>,
    ) -> Result<Fleet, CliError> {
        Ok(self.fleet_builder(providers)?.build()?)
    }

    /// A fleet of `providers` writing to the `--audit` log, for the caller to finish.
    pub(crate) fn fleet_builder(
        &self,
        providers: Vec<(String, Arc<dyn SessionProvider>)>,
    ) -> Result<FleetBuilder, CliError> {
        self.fleet_builder_with_trail(providers, self.cli.audit.as_deref())
    }

    /// A fleet of `providers` appending its audit trail to `trail`.
    pub(crate) fn fleet_builder_with_trail(
        &self,
        providers: Vec<(String, Arc<dyn SessionProvider>)>,
        trail: Option<&std::path::Path>,
    ) -> Result<FleetBuilder, CliError> {
        let mut builder = Fleet::builder();
        for (name, provider) in providers {
            builder = builder.provider(name, provider);
        }
        if let Some(path) = trail {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    CliError::usage(format!(
                        "{}: cannot open the audit log: {e}",
                        path.display()
                    ))
                })?;
            builder = builder.audit_log(file);
        }
        Ok(builder)
    }

    /// Asks before a destructive step, on a terminal; refuses without a terminal
    /// unless `--yes` was given.
    pub(crate) fn confirm(&self, what: &str) -> Result<(), CliError> {
        if self.cli.yes {
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            return Err(CliError::usage(format!(
                "refusing to {what} without confirmation: stdin is not a terminal; pass --yes (or --dry-run to see the plan)"
            )));
        }
        eprint!("About to {what}. Continue? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
            Ok(())
        } else {
            Err(CliError::usage("cancelled: nothing was revoked"))
        }
    }

    /// Prints `text`: JSON as it is; for people, lines wider than the terminal are
    /// wrapped (tables are built to fit already).
    pub(crate) fn print(&self, text: &str) {
        if self.json() {
            println!("{text}");
        } else {
            println!("{}", crate::output::wrap(text, crate::output::width()));
        }
    }

    /// Prints `text` as it is: for what must be copied whole (credentials).
    pub(crate) fn print_verbatim(&self, text: &str) {
        println!("{text}");
    }
}

/// The exit a report deserves: 0 complete, 3 if a provider refused the credential,
/// else 1.
pub(crate) fn report_exit(reports: &[&Report]) -> Exit {
    if reports.iter().all(|r| r.is_complete()) {
        return Exit::Complete;
    }
    let unauthenticated = reports.iter().flat_map(|r| &r.providers).any(|p| {
        matches!(&p.outcome, unisession::fleet::ProviderOutcome::Failed { error } if error.kind == ErrorKind::Unauthenticated)
    });
    if unauthenticated {
        Exit::Unauthenticated
    } else {
        Exit::Partial
    }
}
