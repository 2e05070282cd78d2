//! `unisession config init`: a commented configuration to fill in, one
//! `[providers.NAME]` table per kind, from the registry's templates.

use std::io::Write;

use unisession::registry;

use super::Context;
use crate::cli::InitArgs;
use crate::config;
use crate::error::{CliError, Exit};

const HEADER: &str = "\
# unisession configuration: one [providers.NAME] table per provider instance.
# NAME is yours (it names the provider in reports, journals and the audit trail);
# two instances of one kind (two Slack organisations) are two tables.
#
# Credentials are never written here: each table names the environment variable
# (…_env) or the file (…_file) that holds one. Settings every kind takes:
#   allow_insecure_http = false   # http:// to a non-loopback host (credentials in clear)
#
# Then: unisession config check   (a harmless call per provider, naming whose
# credential it is), and unisession plan EMAIL (shows what would be revoked).
";

/// The text of the file: the header, then each kind's table.
pub(crate) fn template(kinds: &[&str]) -> String {
    let mut text = HEADER.to_owned();
    for kind in kinds {
        let Some(registered) = registry::find(kind) else {
            continue;
        };
        text.push_str(&format!(
            "\n# {}\n[providers.{}]\n{}",
            registered.title,
            registered.kind,
            registered.template.trim_end()
        ));
        text.push('\n');
    }
    text
}

pub(crate) fn run(ctx: &Context<'_>, args: &InitArgs) -> Result<Exit, CliError> {
    let mut kinds: Vec<&str> = if args.kinds.is_empty() {
        registry::kinds().collect()
    } else {
        args.kinds.iter().map(String::as_str).collect()
    };
    let mut seen = std::collections::HashSet::new();
    kinds.retain(|k| seen.insert(*k));
    let text = template(&kinds);
    let path = match (&args.output, &ctx.cli.config) {
        (Some(path), _) if path.as_os_str() == "-" => {
            std::io::stdout().write_all(text.as_bytes())?;
            return Ok(Exit::Complete);
        }
        (Some(path), _) | (None, Some(path)) => path.clone(),
        (None, None) => config::default_path().ok_or_else(|| {
            CliError::usage("no configuration directory on this platform: pass --output FILE")
        })?,
    };
    if path.exists() && !args.force {
        return Err(CliError::usage(format!(
            "{}: exists; nothing was written (pass --force to replace it)",
            path.display()
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| CliError::usage(format!("{}: cannot create: {e}", parent.display())))?;
    }
    std::fs::write(&path, text)
        .map_err(|e| CliError::usage(format!("{}: cannot write: {e}", path.display())))?;
    ctx.print(&format!(
        "wrote {} ({}): fill in each base_url, set the variables it names, then run unisession config check",
        path.display(),
        kinds.join(", ")
    ));
    Ok(Exit::Complete)
}
