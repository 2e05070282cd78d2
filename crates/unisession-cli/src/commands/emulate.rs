//! `unisession emulate`: the emulated providers in the foreground.

use std::path::Path;

use unisession::emulator::{Emulator, EmulatorConfig, ProviderKind};

use super::Context;
use crate::cli::EmulateArgs;
use crate::error::{CliError, Exit};

/// Writes a configuration for the emulators, the credentials in files beside it.
fn write_config(dir: &Path, emulator: &Emulator) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut text = String::from(
        "# Written by `unisession emulate`: the emulated providers and their test credentials.\n",
    );
    for served in emulator.served() {
        let connection = served.connection();
        let kind = connection.kind.as_str();
        let mut table = toml::Table::new();
        table.insert("kind".into(), kind.into());
        for (key, value) in &connection.settings {
            if let Some(text) = value.as_str() {
                table.insert(key.clone(), text.into());
            }
        }
        for (key, secret) in &connection.secrets {
            let file = format!("{kind}.{key}");
            let path = dir.join(&file);
            std::fs::write(&path, secret)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
            table.insert(format!("{key}_file"), file.into());
        }
        if connection.time_scale != 1.0 {
            table.insert("time_scale".into(), connection.time_scale.into());
        }
        let mut providers = toml::Table::new();
        providers.insert(kind.to_owned(), toml::Value::Table(table));
        let mut document = toml::Table::new();
        document.insert("providers".into(), toml::Value::Table(providers));
        text += "\n";
        text += &toml::to_string(&document).map_err(std::io::Error::other)?;
    }
    let path = dir.join("unisession.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

pub(crate) async fn run(ctx: &Context<'_>, args: &EmulateArgs) -> Result<Exit, CliError> {
    let providers = match args.provider.as_str() {
        "all" => ProviderKind::ALL.to_vec(),
        one => vec![one.parse::<ProviderKind>().map_err(CliError::usage)?],
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
    ctx.print_verbatim(&emulator.summary());
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
