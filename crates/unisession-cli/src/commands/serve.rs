//! `unisession serve`: the Global Token Revocation endpoint, from the `[serve]` table.

use std::path::Path;

use unisession::http::{Settings, TransportOptions};
use unisession_serve::{Database, ServeConfig, Server};

use super::Context;
use crate::cli::{ServeArgs, ServeCommand};
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
    match &args.command {
        Some(ServeCommand::Streams) => return streams(ctx, &serve).await,
        Some(ServeCommand::Evidence { job, evidence }) => {
            return job_evidence(ctx, &config, &serve, audit.as_deref(), job, evidence).await;
        }
        None => {}
    }
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

/// `unisession serve evidence JOB --evidence FILE`: the job's report and the audit
/// records of its person within the job's time, as an auditor's page.
async fn job_evidence(
    ctx: &Context<'_>,
    config: &crate::config::Config,
    serve: &ServeConfig,
    audit: Option<&Path>,
    id: &str,
    file: &Path,
) -> Result<Exit, CliError> {
    use crate::evidence::{self, trail};
    let Some(audit) = audit else {
        return Err(CliError::usage(
            "the evidence needs the audit trail: set audit_log in [serve] or pass --audit FILE",
        ));
    };
    let job = unisession_serve::read_job(serve, id)
        .await
        .map_err(|e| CliError::usage(e.to_string()))?
        .ok_or_else(|| CliError::usage(format!("no job {id:?} in the queue")))?;
    if job.state != "finished" {
        return Err(CliError::usage(format!(
            "job {id} is {}; its evidence is written once it has finished",
            job.state
        )));
    }
    let report: unisession::fleet::Report = job
        .report
        .clone()
        .and_then(|r| serde_json::from_value(r).ok())
        .ok_or_else(|| CliError::partial(format!("job {id} holds no readable report")))?;
    let from = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(
        job.started_at_ms.unwrap_or(job.received_at_ms),
    )
    .unwrap_or(report.started_at);
    let to = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(
        job.finished_at_ms.unwrap_or_default(),
    )
    .unwrap_or(report.finished_at);
    // The person's records within the job's time (other jobs of the person at the
    // same time would be included too; they are about the same person).
    let extract = trail::extract(audit, |_, record| {
        record.subject == job.subject && record.time >= from && record.time <= to
    })?;
    let outcomes = report
        .providers
        .iter()
        .map(|p| evidence::Outcome {
            subject: &report.subject,
            report: p,
            recorded_at: None,
        })
        .collect();
    let command = format!(
        "unisession serve: job {id}, triggered by {} ({} subject{}) at {}, {} attempt(s)",
        job.caller,
        job.format,
        job.txn
            .as_deref()
            .map(|t| format!(", transaction {t}"))
            .unwrap_or_default(),
        time(job.received_at_ms),
        job.attempts
    );
    let gaps = vec![
        "the audit records are those of this person between the job's start and end".to_owned(),
    ];
    let built = evidence::build(evidence::Inputs {
        source: evidence::Source {
            command,
            journal: None,
        },
        run: evidence::RunTimes::new(from, to),
        configuration: evidence::configuration(config, "run"),
        outcomes,
        unrecorded_people: 0,
        trail: extract,
        gaps,
    });
    let written = evidence::write(&built, file)?;
    if ctx.json() {
        ctx.print(&crate::output::json(&serde_json::json!({
            "command": "serve evidence",
            "job": id,
            "complete": report.is_complete(),
        })));
    } else {
        ctx.print(&written.line());
    }
    Ok(if report.is_complete() {
        Exit::Complete
    } else {
        Exit::Partial
    })
}

/// `unisession serve streams`.
async fn streams(ctx: &Context<'_>, serve: &ServeConfig) -> Result<Exit, CliError> {
    if serve.transmitters.is_empty() {
        return Err(CliError::usage(
            "no [serve.transmitters.NAME] is configured; see the README's \"Shared Signals\"",
        ));
    }
    let results = unisession_serve::sync_streams(serve)
        .await
        .map_err(|e| CliError::usage(e.to_string()))?;
    let mut failed = false;
    let mut rows = Vec::new();
    let mut docs = Vec::new();
    for (name, result) in results {
        let t = serve.transmitters.iter().find(|t| t.name == name);
        let delivery = t.map_or("", |t| match t.delivery {
            unisession_serve::Delivery::Push { .. } => "push",
            _ => "poll",
        });
        match result {
            Ok(Some(stream)) => {
                let events = stream.config["events_delivered"]
                    .as_array()
                    .map_or(0, |e| e.len());
                let verified = match (stream.verified_at_ms, stream.verify_requested_at_ms) {
                    (Some(at), _) => format!("verified {}", time(at)),
                    (None, Some(_)) => "verification asked".to_owned(),
                    (None, None) => "not verified".to_owned(),
                };
                rows.push(vec![
                    name.clone(),
                    stream.stream_id.clone(),
                    delivery.to_owned(),
                    stream
                        .status
                        .clone()
                        .unwrap_or_else(|| "unknown".to_owned()),
                    events.to_string(),
                    verified,
                ]);
                docs.push(serde_json::json!({"transmitter": name, "ok": true, "stream": stream}));
            }
            Ok(None) => {
                rows.push(vec![
                    name.clone(),
                    "-".into(),
                    delivery.to_owned(),
                    "not managed".into(),
                    "-".into(),
                    "-".into(),
                ]);
                docs.push(serde_json::json!({"transmitter": name, "ok": true, "stream": null}));
            }
            Err(e) => {
                failed = true;
                rows.push(vec![
                    name.clone(),
                    "-".into(),
                    delivery.to_owned(),
                    format!("failed: {e}"),
                    "-".into(),
                    "-".into(),
                ]);
                docs.push(serde_json::json!({"transmitter": name, "ok": false, "error": e}));
            }
        }
    }
    if ctx.json() {
        ctx.print(&crate::output::json(
            &serde_json::json!({"command": "serve streams", "streams": docs}),
        ));
    } else {
        ctx.print(&crate::output::table(
            &[
                "TRANSMITTER",
                "STREAM",
                "DELIVERY",
                "STATUS",
                "EVENTS",
                "VERIFICATION",
            ],
            rows,
        ));
    }
    Ok(if failed {
        Exit::Partial
    } else {
        Exit::Complete
    })
}

fn time(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
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
