//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) const AFTER_HELP: &str = "\
Exit codes:
  0  complete: everything asked for is done (and verified where the provider can list)
  1  partial failure: a provider failed, cannot do it, or still shows sessions
     (or the journal could not be written: rerun with it)
  2  usage or configuration error (nothing was revoked)
  3  not authenticated: a provider refused the credential

Configuration: --config FILE, else UNISESSION_CONFIG, else unisession.toml in the
platform configuration directory. Credentials come from environment variables or
files the configuration names (token_env / token_file), never from the file itself.
Logs go to stderr (RUST_LOG, or -v / -vv / -vvv). JSON output (--format json) is one
document per command.";

/// List and revoke user sessions across SaaS tools: log a person out of everything, and prove it.
#[derive(Debug, Parser)]
#[command(name = "unisession", version, about, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// The configuration file.
    #[arg(long, global = true, env = "UNISESSION_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// More logging on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Do not ask for confirmation before revoking.
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// Append the audit trail (JSON Lines) to this file (`report`: the trail to read).
    #[arg(long, global = true, value_name = "FILE")]
    pub audit: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start three emulated providers and offboard a person from all of them, end to end.
    Demo(DemoArgs),
    /// Sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Revoke one session, a user's sessions, or the caller's other sessions.
    #[command(subcommand)]
    Revoke(RevokeCommand),
    /// Show what offboarding EMAIL would do, without revoking anything.
    Plan {
        /// The person's email.
        email: String,
    },
    /// Log a person (or everyone in a file) out of every provider, then verify.
    Offboard(OffboardArgs),
    /// Summarise a finished `offboard --file` run from its journal; with --evidence,
    /// write evidence from the journal and the run's audit trail (--audit FILE).
    Report(ReportArgs),
    /// The configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the emulated providers in the foreground.
    Emulate(EmulateArgs),
    /// Serve the Global Token Revocation endpoint (Okta Universal Logout) from the
    /// `[serve]` table, running each accepted request as a durable job.
    Serve(ServeArgs),
    /// Print a shell completion script: `unisession completions bash > /etc/bash_completion.d/unisession`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages: unisession(1) on stdout, or every page into --dir.
    Man {
        /// Write unisession.1 and one page per command (unisession-offboard.1, …) here.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

impl Command {
    /// The command as a user typed it, for JSON output.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Command::Demo(_) => "demo",
            Command::Sessions(SessionsCommand::List(_)) => "sessions list",
            Command::Revoke(RevokeCommand::Session { .. }) => "revoke session",
            Command::Revoke(RevokeCommand::User { .. }) => "revoke user",
            Command::Revoke(RevokeCommand::Others { .. }) => "revoke others",
            Command::Revoke(RevokeCommand::Everyone(_)) => "revoke everyone",
            Command::Plan { .. } => "plan",
            Command::Offboard(args) if args.file.is_some() => "offboard --file",
            Command::Offboard(_) => "offboard",
            Command::Report(_) => "report",
            Command::Config(ConfigCommand::Check) => "config check",
            Command::Config(ConfigCommand::Init(_)) => "config init",
            Command::Emulate(_) => "emulate",
            Command::Serve(ServeArgs {
                command: Some(ServeCommand::Streams),
                ..
            }) => "serve streams",
            Command::Serve(ServeArgs {
                command: Some(ServeCommand::Evidence { .. }),
                ..
            }) => "serve evidence",
            Command::Serve(_) => "serve",
            Command::Completions { .. } => "completions",
            Command::Man { .. } => "man",
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServeCommand {
    /// Create or update the stream at each managed SSF transmitter, read its status,
    /// ask for a verification event, and show every transmitter's stream.
    Streams,
    /// Write the evidence of a finished job (HTML page and JSON twin) from the queue
    /// and the audit trail (`audit_log`, or --audit).
    Evidence {
        /// The job id (the `Unisession-Job` header of the 204, or `GET /jobs?subject=`).
        job: String,
        /// Where to write the page; the JSON twin goes beside it.
        #[arg(long, value_name = "FILE")]
        evidence: std::path::PathBuf,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = false)]
pub(crate) struct ServeArgs {
    #[command(subcommand)]
    pub command: Option<ServeCommand>,
    /// The job queue, instead of the `[serve]` table's: a SQLite file, or
    /// postgres://… shared by several replicas.
    #[arg(
        long,
        env = "UNISESSION_DATABASE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// The address to listen on, instead of the `[serve]` table's.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Logs as JSON lines (one object per event) instead of text.
    #[arg(long)]
    pub log_json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// People to seed in the emulators.
    #[arg(long, default_value_t = 8)]
    pub users: usize,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SessionsCommand {
    /// List sessions: of a person (--user), of an id in one provider (--user-id), or all (--all).
    List(ListArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// The person's email, looked up in each provider.
    #[arg(long, value_name = "EMAIL", conflicts_with_all = ["user_id", "all"])]
    pub user: Option<String>,
    /// The user's id in the provider named by --provider.
    #[arg(long, value_name = "ID", requires = "provider", conflicts_with = "all")]
    pub user_id: Option<String>,
    /// Every session the credentials can see.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScopeArg {
    All,
    Mobile,
    Web,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RevokeCommand {
    /// Revoke one session.
    Session {
        /// The provider.
        #[arg(long)]
        provider: String,
        /// The session id.
        id: String,
        /// The session's user (Slack needs it).
        #[arg(long, value_name = "ID")]
        user_id: Option<String>,
        /// Say what would be done; send nothing that changes anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Revoke every session of a person.
    User {
        /// The person's email.
        email: String,
        /// Only these providers (repeatable).
        #[arg(long = "provider", value_name = "NAME")]
        providers: Vec<String>,
        /// Which devices.
        #[arg(long, value_enum, default_value_t = ScopeArg::All)]
        scope: ScopeArg,
        /// Say what would be done; send nothing that changes anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Log out every person of the named providers (an incident), but the accounts
    /// of the except file and the credential's own. The most destructive command:
    /// on a terminal you type the provider names to confirm; without one, --yes and
    /// --everyone-count N (the planned count) are both required.
    Everyone(EveryoneArgs),
    /// Revoke every session of the caller but the current one.
    Others {
        /// The provider.
        #[arg(long)]
        provider: String,
        /// Say what would be done; send nothing that changes anything.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct EveryoneArgs {
    /// The providers (repeatable; at least one).
    #[arg(long = "provider", value_name = "NAME", required = true)]
    pub providers: Vec<String>,
    /// Accounts to keep: one email or provider user id per line (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub except: Option<PathBuf>,
    /// Show who would be logged out and what it costs; revoke nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Without a terminal: the number of people the plan logs out, as a check.
    #[arg(long, value_name = "N")]
    pub everyone_count: Option<usize>,
    /// The journal: every pair's outcome is recorded (and the planned people beside
    /// it, FILE.people.json); a rerun with the same journal logs out the same people,
    /// skipping the finished pairs.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// People handled at once in each provider.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Write evidence for auditors: FILE.html and FILE.json (as `offboard`).
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub evidence: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct OffboardArgs {
    /// The person's email.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub email: Option<String>,
    /// A file of people: one email per line (.txt), or CSV with an `email` column
    /// and optional columns named after providers holding explicit user ids.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The journal of a --file run: every pair's outcome is recorded, and a rerun with
    /// the same journal skips the finished pairs and tries the failed ones again.
    #[arg(long, value_name = "FILE", requires = "file")]
    pub journal: Option<PathBuf>,
    /// People handled at once in each provider.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Show the plan; revoke nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write evidence for auditors: FILE.html (a page that prints to PDF) and its
    /// JSON twin FILE.json. The audit trail goes to --audit, else FILE.audit.jsonl;
    /// sessions are counted before revoking.
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub evidence: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The journal of an `offboard --file` run.
    pub journal: PathBuf,
    /// Write evidence for auditors from the journal and the run's audit trail
    /// (--audit FILE): FILE.html and FILE.json.
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate the configuration and check each credential with a harmless call.
    Check,
    /// Write a commented unisession.toml: one [providers.NAME] table per kind.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The kinds to configure (repeatable); every kind this build knows by default.
    #[arg(long = "kind", value_name = "KIND", value_parser = registered_kind)]
    pub kinds: Vec<String>,
    /// Where to write it (`-` for stdout); else --config, else the platform's
    /// configuration directory, where the other commands look.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

/// A kind of the provider registry.
fn registered_kind(value: &str) -> Result<String, String> {
    if unisession::registry::find(value).is_some() {
        Ok(value.to_owned())
    } else {
        let kinds: Vec<&str> = unisession::registry::kinds().collect();
        Err(format!("not a provider kind; use {}", kinds.join(", ")))
    }
}

#[derive(Debug, Args)]
pub(crate) struct EmulateArgs {
    /// Which provider: `all` (the default), or one emulated kind.
    #[arg(long, value_parser = emulated_kind, default_value = "all")]
    pub provider: String,
    /// Port of the first provider (the next ones take the following ports); 0 picks free ports.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// People to seed.
    #[arg(long, default_value_t = 20)]
    pub users: usize,
    /// Sessions per person in each provider.
    #[arg(long, default_value_t = 3)]
    pub sessions_per_user: usize,
    /// Seed of the dataset.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Write a unisession.toml and the credential files it names into this directory.
    #[arg(long, value_name = "DIR")]
    pub write_config: Option<PathBuf>,
}

/// `all`, or the kind of an emulated provider.
fn emulated_kind(value: &str) -> Result<String, String> {
    if value != "all" {
        value.parse::<unisession::emulator::ProviderKind>()?;
    }
    Ok(value.to_owned())
}
