//! `unisession serve`: the Global Token Revocation endpoint, from the `[serve]` table.

use std::path::Path;

use unisession::http::{Settings, TransportOptions};
use unisession_serve::{Database, ServeConfig, Server};

use super::Context;
use crate::cli::ServeArgs;
use crate::error::{CliError, Exit};

/// Reads the `[serve]` table: every error names the file and the key.
fn serve_config(
    file: &Path,
    table: &toml::Table,
    args: &ServeArgs,
) -> Result<(ServeConfig, Option<std::path::PathBuf>), CliError> {
    let at = |key: &str, problem: &str| {
        CliError::usage(format!("{}: serve.{key}: {problem}", file.display()))
    };
    let values: serde_json::Map<String, serde_json::Value> = table
        .iter()
        .map(|(k, v)| {
            serde_json::to_value(v)
                .map(|v| (k.clone(), v))
                .map_err(|e| at(k, &e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    if let Some(key) = ServeConfig::inline_secret(&values) {
        return Err(at(
            &key,
            &format!(
                "secrets are never written in the configuration file; set {key}_env = \"VARIABLE\" or {key}_file = \"/path/to/file\" instead"
            ),
        ));
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let audit = values
        .get("audit_log")
        .and_then(|v| v.as_str())
        .map(|p| dir.join(p));
    let settings = Settings::new(values, dir, TransportOptions::new());
    let mut config = ServeConfig::from_settings(&settings, dir)
        .map_err(|e| at(e.key.as_deref().unwrap_or(""), &e.message))?;
    if let Some(raw) = &args.database {
        config.database = Database::parse(raw, Path::new("."))
            .map_err(|e| CliError::usage(format!("--database: {e}")))?;
    }
    if let Some(listen) = &args.listen {
        let addr: std::net::SocketAddr = listen.parse().map_err(|_| {
            CliError::usage(format!("--listen {listen:?}: not an address and port"))
        })?;
        if !addr.ip().is_loopback() && !config.allow_plain_http {
            return Err(CliError::usage(format!(
                "--listen {addr}: not a loopback address and `serve` speaks plain HTTP; put it behind a TLS proxy and set allow_plain_http = true in [serve]"
            )));
        }
        config.listen = addr;
    }
    Ok((config, audit))
}

pub(crate) async fn run(ctx: &Context<'_>, args: &ServeArgs) -> Result<Exit, CliError> {
    let config = ctx.config()?;
    let Some(table) = &config.serve else {
        return Err(CliError::usage(format!(
            "{}: no [serve] table; add one with endpoint_url and a caller (see the README's \"Run it as a service\")",
            config.path.display()
        )));
    };
    let (serve, audit) = serve_config(&config.path, table, args)?;
    // --audit wins over the table's audit_log.
    let audit = ctx.cli.audit.clone().or(audit);
    let providers = ctx.providers(&config, &serve.providers)?;
    let fleet = ctx
        .fleet_builder_with_trail(providers, audit.as_deref())?
        .build()?;
    let running = Server::new(serve, fleet)
        .start()
        .await
        .map_err(|e| CliError::usage(e.to_string()))?;
    eprintln!("unisession serve: listening on {}", running.addr());
    shutdown_signal().await;
    eprintln!("unisession serve: stopping (running jobs finish or go back to the queue)");
    running
        .shutdown()
        .await
        .map_err(|e| CliError::partial(e.to_string()))?;
    Ok(Exit::Complete)
}

/// Ctrl-C, or SIGTERM (systemd, Docker, Kubernetes).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
