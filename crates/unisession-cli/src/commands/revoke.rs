//! `unisession revoke session|user|others`.

use futures::TryStreamExt;
use serde::Serialize;
use unisession::fleet::{ErrorSummary, Subject};
use unisession::{DeviceScope, ListQuery, Revocation, SessionProviderExt, SessionRef};

use super::{Context, offboard, report_exit};
use crate::cli::{RevokeCommand, ScopeArg};
use crate::error::{CliError, Exit};
use crate::output;

#[derive(Serialize)]
struct Single<'a> {
    command: &'static str,
    provider: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<Revocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    would_revoke: Vec<unisession::Session>,
}

fn describe(outcome: &Revocation) -> String {
    match outcome {
        Revocation::Revoked { count: Some(n) } => format!("revoked ({n} session(s))"),
        Revocation::Revoked { count: None } => "revoked".to_owned(),
        Revocation::AlreadyGone => "already gone: nothing to revoke".to_owned(),
        Revocation::Queued => "queued: the provider completes it asynchronously".to_owned(),
        _ => "done".to_owned(),
    }
}

/// Records a single revocation's result in `out`, prints it (JSON, or one line:
/// `{done}: {outcome}` or `{failed}: FAILED: {error}`) and gives the exit.
fn finish(
    ctx: &Context<'_>,
    mut out: Single<'_>,
    result: unisession::Result<Revocation>,
    done: &str,
    failed: &str,
) -> Exit {
    let exit = match &result {
        Ok(_) => Exit::Complete,
        Err(e) => CliError::from_error(e).exit,
    };
    match result {
        Ok(outcome) => out.outcome = Some(outcome),
        Err(e) => out.error = Some((&e).into()),
    }
    if ctx.json() {
        ctx.print(&output::json(&out));
    } else if let Some(outcome) = &out.outcome {
        ctx.print(&format!("{done}: {}", describe(outcome)));
    } else if let Some(error) = &out.error {
        ctx.print(&format!("{failed}: FAILED: {error}"));
    }
    exit
}

pub(crate) async fn run(ctx: &Context<'_>, command: &RevokeCommand) -> Result<Exit, CliError> {
    match command {
        RevokeCommand::Session {
            provider,
            id,
            user_id,
            dry_run,
        } => {
            let config = ctx.config()?;
            let (name, handle) = ctx
                .providers(&config, std::slice::from_ref(provider))?
                .remove(0);
            let mut session = SessionRef::new(id.as_str());
            if let Some(user) = user_id {
                session = session.with_user(user.as_str());
            }
            let out = Single {
                command: "revoke session",
                provider: &name,
                session: Some(id),
                dry_run: *dry_run,
                outcome: None,
                error: None,
                would_revoke: Vec::new(),
            };
            if *dry_run {
                handle.capabilities().check_revoke_session(&session)?;
                if ctx.json() {
                    ctx.print(&output::json(&out));
                } else {
                    ctx.print(&format!(
                        "{name}: would revoke session {id} (dry run: nothing was sent)"
                    ));
                }
                return Ok(Exit::Complete);
            }
            ctx.confirm(&format!("revoke session {id} in {name}"))?;
            let result = handle.revoke_session(&session).await;
            let label = format!("{name}: session {id}");
            Ok(finish(ctx, out, result, &label, &label))
        }
        RevokeCommand::User {
            email,
            providers,
            scope,
            dry_run,
        } => {
            let config = ctx.config()?;
            let selected = ctx.providers(&config, providers)?;
            let scope = match scope {
                ScopeArg::All => DeviceScope::All,
                ScopeArg::Mobile => DeviceScope::Mobile,
                ScopeArg::Web => DeviceScope::Web,
            };
            let subject = Subject::email(email);
            let count = selected.len();
            let fleet = ctx.fleet_builder(selected)?.scope(scope).build()?;
            if *dry_run {
                // The plan of this scope: what the run would really do.
                return offboard::show_plan(ctx, &fleet, &subject, "revoke user --dry-run").await;
            }
            ctx.confirm(&format!(
                "revoke {scope} sessions of {email} in {count} provider(s)"
            ))?;
            let report = fleet.offboard(&subject).await;
            offboard::show_report(ctx, &report, "revoke user")?;
            Ok(report_exit(&[&report]))
        }
        RevokeCommand::Everyone(args) => super::everyone::run(ctx, args).await,
        RevokeCommand::Others { provider, dry_run } => {
            let config = ctx.config()?;
            let (name, handle) = ctx
                .providers(&config, std::slice::from_ref(provider))?
                .remove(0);
            handle
                .capabilities()
                .require(unisession::Operation::RevokeOtherSessions)
                .map_err(|e| {
                    CliError::partial(format!(
                        "{name}: {}",
                        e.with_provider(name.clone()).message()
                    ))
                })?;
            let mut out = Single {
                command: "revoke others",
                provider: &name,
                session: None,
                dry_run: *dry_run,
                outcome: None,
                error: None,
                would_revoke: Vec::new(),
            };
            if *dry_run {
                if handle.capabilities().list_own_sessions
                    && handle.capabilities().marks_current_session
                {
                    out.would_revoke = handle
                        .list_all(ListQuery::new())
                        .try_filter(|s| std::future::ready(!s.current))
                        .try_collect()
                        .await?;
                }
                if ctx.json() {
                    ctx.print(&output::json(&out));
                } else {
                    let mut notes = output::Notes::default();
                    let rows = output::session_rows(&name, &out.would_revoke, true, &mut notes);
                    ctx.print(&output::sessions_table(rows, &notes));
                    ctx.print(&format!("{name}: would revoke every session but the current one (dry run: nothing was sent)"));
                }
                return Ok(Exit::Complete);
            }
            ctx.confirm(&format!(
                "revoke every other session of this credential in {name}"
            ))?;
            let result = handle.revoke_other_sessions().await;
            Ok(finish(
                ctx,
                out,
                result,
                &format!("{name}: other sessions"),
                &name,
            ))
        }
    }
}
