//! `unisession-emulator`: runs the emulated providers until stopped.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use unisession_emulator::{
    DocSpaceConfig, Emulator, EmulatorConfig, Faults, ProviderKind, RocketChatConfig, SlackConfig,
    TwoFactorMethod,
};

/// The providers to run: `all`, or one by its kind name.
#[derive(Clone, Debug)]
struct Which(Vec<ProviderKind>);

fn which(value: &str) -> Result<Which, String> {
    match value {
        "all" => Ok(Which(ProviderKind::ALL.to_vec())),
        one => one.parse().map(|kind| Which(vec![kind])),
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Method2fa {
    Password,
    Totp,
    Email,
}

/// Faithful fake servers of the DocSpace, Rocket.Chat and Slack session APIs.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Which provider to run: `all`, or a kind (`docspace`, `rocketchat`, `slack`).
    #[arg(long, value_parser = which, default_value = "all")]
    provider: Which,
    /// Port of the first provider; with `all`, the providers take PORT, PORT+1, …
    /// in registration order. 0 picks free ports.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Ordinary people to seed (the administrator comes on top).
    #[arg(long, default_value_t = 20)]
    users: usize,
    /// Sessions per person in each provider.
    #[arg(long, default_value_t = 3)]
    sessions_per_user: usize,
    /// Seed of the dataset.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests answered with a 5xx.
    #[arg(long, default_value_t = 0.0)]
    error_ratio: f64,
    /// Share of connections dropped.
    #[arg(long, default_value_t = 0.0)]
    drop_ratio: f64,
    /// Share of answers with a truncated body.
    #[arg(long, default_value_t = 0.0)]
    malformed_ratio: f64,
    /// Share of requests answered with the provider's 429.
    #[arg(long, default_value_t = 0.0)]
    rate_limit_ratio: f64,
    /// Enforce the published rate limits.
    #[arg(long)]
    enforce_rate_limits: bool,
    /// Run rate-limit windows this many times faster than real time.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Slack and Rocket.Chat without their Enterprise plan or license.
    #[arg(long)]
    no_enterprise: bool,
    /// DocSpace behaves like a server before v3.7.1.
    #[arg(long)]
    legacy_docspace: bool,
    /// The Rocket.Chat administrator's second factor.
    #[arg(long, value_enum, default_value = "password")]
    rocketchat_2fa: Method2fa,
    /// Requests kept in each server's log.
    #[arg(long, default_value_t = 10_000)]
    log_capacity: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let providers = args.provider.0.clone();
    let mut faults = Faults::none()
        .with_latency(Duration::from_millis(args.latency_ms))
        .with_server_errors(args.error_ratio)
        .with_drops(args.drop_ratio)
        .with_malformed(args.malformed_ratio)
        .with_rate_limits(args.rate_limit_ratio, Duration::from_secs(1));
    if args.enforce_rate_limits {
        faults = faults.with_enforced_limits(args.time_scale);
    }
    let mut config = EmulatorConfig::new()
        .users(args.users)
        .sessions_per_user(args.sessions_per_user)
        .seed(args.seed)
        .providers(providers.clone())
        .log_capacity(args.log_capacity);
    config.bind = args.bind;
    for (i, provider) in providers.iter().enumerate() {
        config = config.faults(*provider, faults.clone());
        if args.port != 0 {
            config = config.port(*provider, args.port.saturating_add(i as u16));
        }
    }
    let mut slack = SlackConfig::default();
    slack.enterprise = !args.no_enterprise;
    let mut rocketchat = RocketChatConfig::default();
    rocketchat.enterprise = !args.no_enterprise;
    rocketchat.admin_two_factor = match args.rocketchat_2fa {
        Method2fa::Password => TwoFactorMethod::Password,
        Method2fa::Totp => TwoFactorMethod::Totp,
        Method2fa::Email => TwoFactorMethod::Email,
    };
    let mut docspace = DocSpaceConfig::default();
    docspace.legacy = args.legacy_docspace;
    let config = config
        .slack(slack)
        .rocketchat(rocketchat)
        .docspace(docspace);

    let emulator = match Emulator::start(config).await {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("unisession-emulator: could not start: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{}", emulator.summary());
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
