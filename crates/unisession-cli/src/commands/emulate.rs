//! `unisession emulate`: the emulated providers in the foreground.

use std::path::Path;

use unisession::emulator::{Emulator, EmulatorConfig, ProviderKind};

use super::Context;
use crate::cli::EmulateArgs;
use crate::error::{CliError, Exit};

/// Writes a configuration for the emulators, the credentials in files beside it.
fn write_config(dir: &Path, emulator: &Emulator) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let secret = |name: &str, value: &str| -> std::io::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, value)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    };
    let mut toml = String::from(
        "# Written by `unisession emulate`: the emulated providers and their test credentials.\n",
    );
    if let Some(ds) = emulator.docspace() {
        secret("docspace.token", &ds.credentials().admin_token)?;
        toml += &format!(
            "\n[providers.docspace]\nkind = \"docspace\"\nbase_url = \"{}\"\nauth = \"personal_token\"\ntoken_file = \"docspace.token\"\ntime_scale = 1000\n",
            ds.base_url()
        );
    }
    if let Some(rc) = emulator.rocketchat() {
        secret("rocketchat.token", &rc.credentials().admin_pat)?;
        toml += &format!(
            "\n[providers.rocketchat]\nkind = \"rocketchat\"\nbase_url = \"{}\"\nuser_id = \"{}\"\ntoken_file = \"rocketchat.token\"\n",
            rc.base_url(),
            rc.credentials().admin_user_id
        );
    }
    if let Some(slack) = emulator.slack() {
        secret("slack.token", &slack.tokens().admin)?;
        toml += &format!(
            "\n[providers.slack]\nkind = \"slack\"\nbase_url = \"{}\"\ntoken_file = \"slack.token\"\n",
            slack.base_url()
        );
    }
    let path = dir.join("unisession.toml");
    std::fs::write(&path, toml)?;
    Ok(path)
}

pub async fn run(ctx: &Context<'_>, args: &EmulateArgs) -> Result<Exit, CliError> {
    let providers = match args.provider.as_str() {
        "all" => ProviderKind::ALL.to_vec(),
        one => vec![one.parse().map_err(CliError::usage)?],
    };
    let mut config = EmulatorConfig::new()
        .users(args.users)
        .sessions_per_user(args.sessions_per_user)
        .seed(args.seed)
        .providers(providers.clone());
    if args.port != 0 {
        for (i, provider) in providers.iter().enumerate() {
            config = config.port(*provider, args.port.saturating_add(i as u16));
        }
    }
    let emulator = Emulator::start(config)
        .await
        .map_err(|e| CliError::usage(format!("could not start the emulators: {e}")))?;
    ctx.print(&emulator.summary());
    if let Some(dir) = &args.write_config {
        let path = write_config(dir, &emulator)
            .map_err(|e| CliError::usage(format!("{}: {e}", dir.display())))?;
        ctx.print(&format!(
            "configuration written: {}  (try: unisession --config {} config check)",
            path.display(),
            path.display()
        ));
    }
    ctx.print("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    Ok(Exit::Complete)
}
