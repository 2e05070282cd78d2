//! `unisession revoke everyone`: the incident-wide logout.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use unisession::fleet::{EveryonePlan, OffboardOptions};

use super::Context;
use super::offboard::{Trail, finish_many, many};
use crate::cli::EveryoneArgs;
use crate::error::{CliError, Exit};
use crate::{evidence, output};

/// The plan kept beside a journal, so that a rerun logs out the same people even if
/// the directory changed meanwhile.
#[derive(Serialize, Deserialize)]
struct Planned {
    providers: Vec<String>,
    /// The except list the plan was made with.
    #[serde(default)]
    except: Vec<String>,
    plan: EveryonePlan,
}

fn planned_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".people.json");
    PathBuf::from(name)
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it over
/// `path`: a run killed meanwhile leaves the old file or the new one, never half.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::usage(format!("{}: {e}", path.display()));
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    let temporary = PathBuf::from(name);
    let mut file = std::fs::File::create(&temporary).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(fail)
}

/// The except file: one email or id per line; blank lines and `#` comments skipped.
fn read_except(file: &Path) -> Result<Vec<String>, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

fn minutes(ms: Option<u64>) -> String {
    match ms {
        Some(ms) if ms >= 60_000 => format!("{:.1} min", ms as f64 / 60_000.0),
        Some(ms) => format!("{:.1} s", ms as f64 / 1000.0),
        None => "no published limit".to_owned(),
    }
}

#[derive(Serialize)]
struct DryRun<'a> {
    command: &'static str,
    dry_run: bool,
    count: usize,
    #[serde(flatten)]
    plan: &'a EveryonePlan,
}

fn show_plan(ctx: &Context<'_>, plan: &EveryonePlan, dry_run: bool) {
    if ctx.json() {
        if dry_run {
            ctx.print(&output::json(&DryRun {
                command: "revoke everyone",
                dry_run,
                count: plan.count(),
                plan,
            }));
        }
        return;
    }
    let rows = plan
        .providers
        .iter()
        .map(|p| {
            let others: Vec<String> = p
                .not_people
                .iter()
                .map(|(status, n)| format!("{n} {status}"))
                .collect();
            vec![
                p.provider.clone(),
                p.targets.len().to_string(),
                p.kept.len().to_string(),
                if others.is_empty() {
                    "-".to_owned()
                } else {
                    others.join(", ")
                },
                format!("{} + {}", p.directory_calls, p.revocation_calls),
                minutes(p.minimum_ms),
            ]
        })
        .collect();
    ctx.print(&output::table(
        &[
            "PROVIDER",
            "LOG OUT",
            "KEPT",
            "LEFT ALONE",
            "CALLS (LIST + REVOKE)",
            "AT LEAST",
        ],
        rows,
    ));
    for p in &plan.providers {
        for kept in &p.kept {
            let who = kept.account.user.email.as_deref().unwrap_or("(no address)");
            ctx.print(&format!(
                "{}: keeps {} ({who}): {}",
                p.provider, kept.account.user.id, kept.reason
            ));
        }
        for x in &p.unmatched_except {
            ctx.print(&format!(
                "{}: except entry {x:?} matches no account",
                p.provider
            ));
        }
    }
    ctx.print(&format!(
        "{} people in all; verification listings come on top of the calls above.",
        plan.count()
    ));
}

/// The confirmation: the provider names typed on a terminal; else `--yes` and
/// `--everyone-count` matching the plan.
fn confirm(ctx: &Context<'_>, args: &EveryoneArgs, count: usize) -> Result<(), CliError> {
    if std::io::stdin().is_terminal() && !ctx.json() {
        let expected = args.providers.join(" ");
        eprint!(
            "About to log {count} people out of {expected}. Type the provider names ({expected}) to continue: "
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        let typed: Vec<&str> = answer.split_whitespace().collect();
        return if typed.join(" ") == expected {
            Ok(())
        } else {
            Err(CliError::usage("cancelled: nothing was revoked"))
        };
    }
    match (ctx.cli.yes, args.everyone_count) {
        (true, Some(n)) if n == count => Ok(()),
        (true, Some(n)) => Err(CliError::usage(format!(
            "--everyone-count {n} does not match the plan's {count} people: nothing was revoked (see --dry-run)"
        ))),
        _ => Err(CliError::usage(format!(
            "refusing to log {count} people out without a terminal unless both --yes and --everyone-count {count} are given (see --dry-run)"
        ))),
    }
}

pub(crate) async fn run(ctx: &Context<'_>, args: &EveryoneArgs) -> Result<Exit, CliError> {
    let config = ctx.config()?;
    let providers = ctx.providers(&config, &args.providers)?;
    let trail = Trail::open(ctx, args.evidence.as_deref())?;
    let fleet = ctx
        .fleet_builder_with_trail(
            providers,
            trail
                .as_ref()
                .map(|t| t.path.as_path())
                .or(ctx.cli.audit.as_deref()),
        )?
        .count_before(args.evidence.is_some() || args.journal.is_some())
        .build()?;
    let except = match &args.except {
        Some(file) => read_except(file)?,
        None => Vec::new(),
    };
    // A rerun with a journal logs out the people planned the first time.
    let saved = args.journal.as_deref().map(planned_path);
    let journal_exists = args.journal.as_deref().is_some_and(Path::exists);
    let resumed_plan = match &saved {
        Some(path) if path.exists() && !journal_exists => {
            return Err(CliError::usage(format!(
                "{} holds a plan but its journal is gone: nothing of that run can be resumed; remove the plan or use a new journal",
                path.display()
            )));
        }
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
            let planned: Planned = serde_json::from_str(&text).map_err(|e| {
                CliError::usage(format!("{}: not a plan of this tool: {e}", path.display()))
            })?;
            if planned.providers != args.providers {
                return Err(CliError::usage(format!(
                    "the journal's plan is for {}; rerun with those providers or a new journal",
                    planned.providers.join(", ")
                )));
            }
            if planned.except != except {
                return Err(CliError::usage(
                    "the except list differs from the one the journal's plan was made with: a resume logs out the people planned then; use a new journal for a new plan",
                ));
            }
            Some(planned.plan)
        }
        _ => None,
    };
    let resuming = resumed_plan.is_some();
    let plan = match resumed_plan {
        Some(plan) => plan,
        None => fleet
            .everyone(&args.providers, &except)
            .await
            .map_err(|e| CliError::from_error(&e))?,
    };
    show_plan(ctx, &plan, args.dry_run);
    let unmatched = plan.unmatched_everywhere();
    if !unmatched.is_empty() && !args.dry_run && !resuming {
        return Err(CliError::usage(format!(
            "the except list names {} that match no account of {}: nothing was revoked (a typo there would log that person out); fix the file",
            unmatched
                .iter()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            args.providers.join(", ")
        )));
    }
    if args.dry_run {
        return Ok(Exit::Complete);
    }
    if resuming {
        if !ctx.json() {
            ctx.print(
                "Resuming the journal's run: the people planned then, the finished pairs skipped.",
            );
        }
    } else {
        confirm(ctx, args, plan.count())?;
    }
    if let (Some(path), false) = (&saved, resuming) {
        let planned = Planned {
            providers: args.providers.clone(),
            except: except.clone(),
            plan: plan.clone(),
        };
        write_atomically(path, output::json(&planned).as_bytes())?;
    }
    let options = OffboardOptions::default().with_concurrency(args.concurrency);
    let subjects = plan.subjects();
    let report = many(
        &fleet,
        &subjects,
        args.journal.as_deref(),
        options.with_ids_only(true),
    )
    .await?;
    finish_many(
        ctx,
        "revoke everyone",
        trail.as_ref().zip(args.evidence.as_deref()),
        args.journal.as_deref(),
        || evidence::configuration(&config, "run"),
        &report,
    )
}
