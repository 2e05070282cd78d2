//! `unisession sessions list`.

use futures::TryStreamExt;
use serde::Serialize;
use unisession::{ErrorKind, ListQuery, Session, SessionProviderExt, UserId};

use super::Context;
use crate::cli::ListArgs;
use crate::error::{CliError, Exit};
use crate::output;

#[derive(Serialize)]
struct ProviderSessions {
    provider: String,
    sessions: Vec<Session>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<unisession::fleet::ErrorSummary>,
}

#[derive(Serialize)]
struct Output {
    command: &'static str,
    providers: Vec<ProviderSessions>,
    total: usize,
}

pub(crate) async fn list(ctx: &Context<'_>, args: &ListArgs) -> Result<Exit, CliError> {
    if args.user.is_none() && args.user_id.is_none() && !args.all {
        return Err(CliError::usage(
            "say whose sessions: --user EMAIL, --user-id ID (with --provider), or --all",
        ));
    }
    let config = ctx.config()?;
    let only: Vec<String> = args.provider.iter().cloned().collect();
    let providers = ctx.providers(&config, &only)?;
    let results = futures::future::join_all(providers.iter().map(|(name, provider)| async move {
        let listed: unisession::Result<Vec<Session>> = async {
            let (query, user) = if args.all {
                (ListQuery::new(), None)
            } else if let Some(id) = &args.user_id {
                (
                    ListQuery::for_user(id.as_str()),
                    Some(UserId::new(id.clone())),
                )
            } else {
                let email = unisession::Email::parse(args.user.as_deref().unwrap_or_default())?;
                let Some(user) = provider.find_user(&email).await?.into_user() else {
                    return Ok(Vec::new());
                };
                let caps = provider.capabilities();
                let query = if caps.list_user_sessions {
                    ListQuery::for_user(user.id.clone())
                } else if caps.list_all_sessions {
                    ListQuery::new()
                } else {
                    return Err(unisession::Error::unsupported(
                        unisession::Operation::ListSessions,
                        "this provider lists only the caller's own sessions",
                    ));
                };
                (query, Some(user.id))
            };
            provider
                .list_all(query)
                .try_filter(|s| std::future::ready(user.as_ref().is_none_or(|u| &s.user == u)))
                .try_collect()
                .await
        }
        .await;
        (name.clone(), listed)
    }))
    .await;
    let mut exit = Exit::Complete;
    let mut out = Output {
        command: "sessions list",
        providers: Vec::new(),
        total: 0,
    };
    for (provider, listed) in results {
        match listed {
            Ok(sessions) => {
                out.total += sessions.len();
                out.providers.push(ProviderSessions {
                    provider,
                    sessions,
                    error: None,
                });
            }
            Err(error) => {
                exit = match (exit, error.kind()) {
                    (_, ErrorKind::Unauthenticated) | (Exit::Unauthenticated, _) => {
                        Exit::Unauthenticated
                    }
                    _ => Exit::Partial,
                };
                out.providers.push(ProviderSessions {
                    provider,
                    sessions: Vec::new(),
                    error: Some((&error).into()),
                });
            }
        }
    }
    if ctx.json() {
        ctx.print(&output::json(&out));
    } else {
        let one_person = args.user.is_some() || args.user_id.is_some();
        let mut notes = output::Notes::default();
        let mut rows = Vec::new();
        for p in &out.providers {
            match &p.error {
                Some(error) => rows.push(output::unlisted_row(
                    &p.provider,
                    if error.kind == unisession::ErrorKind::Unsupported {
                        "cannot list"
                    } else {
                        "failed"
                    },
                    error.message.clone(),
                    &mut notes,
                )),
                None => rows.extend(output::session_rows(
                    &p.provider,
                    &p.sessions,
                    one_person,
                    &mut notes,
                )),
            }
        }
        ctx.print(&output::sessions_table(rows, &notes));
        ctx.print(&format!("{} session(s)", out.total));
    }
    Ok(exit)
}
