//! `unisession`: list and revoke user sessions across SaaS tools.

mod cli;
mod commands;
mod config;
mod error;
mod evidence;
mod output;
mod people;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, ConfigCommand, Format, SessionsCommand};
use commands::Context;
use error::{CliError, Exit};

fn init_logging(verbose: u8, serving: Option<bool>) {
    let default = match verbose {
        // A service logs what it accepts and does.
        0 if serving.is_some() => "info",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if serving == Some(true) {
        builder.json().with_current_span(false).init();
    } else {
        builder.with_ansi(ansi).init();
    }
}

async fn run(cli: &Cli) -> Result<Exit, CliError> {
    let ctx = Context { cli };
    match &cli.command {
        Command::Demo(args) => commands::demo::run(&ctx, args).await,
        Command::Sessions(SessionsCommand::List(args)) => {
            commands::sessions::list(&ctx, args).await
        }
        Command::Revoke(command) => commands::revoke::run(&ctx, command).await,
        Command::Plan { email } => commands::offboard::plan(&ctx, email).await,
        Command::Offboard(args) => commands::offboard::offboard(&ctx, args).await,
        Command::Report(args) => commands::report::run(&ctx, args),
        Command::Config(ConfigCommand::Check) => commands::check::run(&ctx).await,
        Command::Config(ConfigCommand::Init(args)) => commands::init::run(&ctx, args),
        Command::Emulate(args) => commands::emulate::run(&ctx, args).await,
        Command::Serve(args) => commands::serve::run(&ctx, args).await,
        Command::Completions { shell } => commands::manual::completions(*shell),
        Command::Man { dir } => commands::manual::man(dir.as_deref()),
    }
}

fn main() -> ExitCode {
    // One line, never a backtrace, should anything panic.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        eprintln!("unisession: internal error: {}", message.replace('\n', " "));
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Exit::Complete.code()
                }
                _ => Exit::Usage.code(),
            };
        }
    };
    let serving = match &cli.command {
        Command::Serve(args) => Some(args.log_json),
        _ => None,
    };
    init_logging(cli.verbose, serving);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("unisession: cannot start: {e}");
            return Exit::Partial.code();
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(exit) => exit.code(),
        Err(error) => {
            eprintln!("unisession: {error}");
            if cli.format == Format::Json {
                // Scripts read stdout: one document there too, naming the failure.
                println!(
                    "{}",
                    serde_json::json!({
                        "command": cli.command.name(),
                        "error": {"exit": error.exit.number(), "message": error.message},
                    })
                );
            }
            error.exit.code()
        }
    }
}
