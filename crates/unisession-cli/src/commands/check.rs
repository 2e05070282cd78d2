//! `unisession config check`.

use serde::Serialize;
use unisession::{ErrorKind, ListQuery};

use super::Context;
use crate::config::Handle;
use crate::error::{CliError, Exit};
use crate::output;

#[derive(Serialize)]
struct Checked {
    provider: String,
    kind: &'static str,
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<unisession::fleet::ErrorSummary>,
}

#[derive(Serialize)]
struct Output {
    command: &'static str,
    config: String,
    providers: Vec<Checked>,
}

/// A harmless call per kind: Slack `auth.test`, Rocket.Chat `users.info` of the
/// caller, DocSpace one page of the caller's own sessions.
async fn check(handle: &Handle) -> unisession::Result<String> {
    match handle {
        Handle::Slack(slack) => {
            let me = slack.whoami().await?;
            Ok(format!(
                "token of {} in {}",
                me.user.unwrap_or_default(),
                me.team_id.unwrap_or_default()
            ))
        }
        Handle::RocketChat(rc) => {
            let me = rc.whoami().await?;
            Ok(format!(
                "credential of {}",
                me.name.or(me.email).unwrap_or_else(|| me.id.to_string())
            ))
        }
        Handle::DocSpace(ds) => {
            let page = unisession::SessionProvider::list_sessions(
                ds.as_ref(),
                &ListQuery::new().with_limit(1),
            )
            .await?;
            Ok(format!(
                "credential accepted ({} session(s) of its own on the first page)",
                page.items.len()
            ))
        }
    }
}

pub async fn run(ctx: &Context<'_>) -> Result<Exit, CliError> {
    let config = ctx.config()?;
    let results = futures::future::join_all(
        config
            .providers
            .iter()
            .map(|p| async move { (p, check(&p.handle).await) }),
    )
    .await;
    let mut exit = Exit::Complete;
    let mut out = Output {
        command: "config check",
        config: config.path.display().to_string(),
        providers: Vec::new(),
    };
    for (provider, result) in results {
        match result {
            Ok(detail) => out.providers.push(Checked {
                provider: provider.name.clone(),
                kind: provider.kind,
                ok: true,
                detail,
                error: None,
            }),
            Err(error) => {
                exit = match (exit, error.kind()) {
                    (_, ErrorKind::Unauthenticated) | (Exit::Unauthenticated, _) => {
                        Exit::Unauthenticated
                    }
                    _ => Exit::Partial,
                };
                out.providers.push(Checked {
                    provider: provider.name.clone(),
                    kind: provider.kind,
                    ok: false,
                    detail: error.to_string(),
                    error: Some((&error).into()),
                });
            }
        }
    }
    if ctx.json() {
        ctx.print(&output::json(&out));
    } else {
        let rows = out
            .providers
            .iter()
            .map(|c| {
                vec![
                    c.provider.clone(),
                    c.kind.to_owned(),
                    if c.ok { "ok" } else { "FAILED" }.to_owned(),
                    c.detail.clone(),
                ]
            })
            .collect();
        ctx.print(&format!("{}: valid", out.config));
        ctx.print(&output::table(
            &["PROVIDER", "KIND", "CHECK", "DETAIL"],
            rows,
        ));
    }
    Ok(exit)
}
