//! `unisession config check`.

use serde::Serialize;
use unisession::ErrorKind;

use super::Context;
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

pub(crate) async fn run(ctx: &Context<'_>) -> Result<Exit, CliError> {
    let config = ctx.config()?;
    let results = futures::future::join_all(
        config
            .providers
            .iter()
            .map(|p| async move { (p, p.adapter.check_credential().await) }),
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
