//! The CLI under abuse: killed mid-run and resumed from its journal.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Env;
use unisession::emulator::{EmulatorConfig, Faults, ProviderKind};

const PEOPLE: usize = 200;
const PROVIDERS: [&str; 3] = ["docspace", "rocketchat", "slack"];

/// The header and the outcome lines (`sending` and `revoked` lines record
/// revocations in flight, not outcomes).
fn journal_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .filter(|l| {
                    !l.starts_with(r#"{"type":"sending""#) && !l.starts_with(r#"{"type":"revoked""#)
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offboarding_killed_three_times_resumes_to_exactly_one_outcome_per_pair() {
    // Latency on every answer keeps the run long enough to be killed inside it.
    let mut config = EmulatorConfig::new().users(PEOPLE).seed(9);
    for provider in ProviderKind::ALL {
        config = config.faults(
            provider,
            Faults::none().with_latency(Duration::from_millis(4)),
        );
    }
    let env = Env::start(config).await;
    let people = env.emulator.people()[1..].to_vec();
    let file = env.dir.path().join("leavers.txt");
    let emails: Vec<&str> = people.iter().map(|p| p.email.as_str()).collect();
    std::fs::write(&file, emails.join("\n")).unwrap();
    let journal = env.dir.path().join("run.jsonl");
    let args = [
        "offboard",
        "--file",
        file.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
        "--yes",
    ];

    // Three kills at random points: after a random number of new journal lines,
    // plus a random delay, so some land between writes and some mid-request.
    // UNISESSION_KILL_SEED=<seed> replays a run's kill points.
    let seed = std::env::var("UNISESSION_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("kill points from UNISESSION_KILL_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let pairs = PEOPLE * PROVIDERS.len();
    let mut kills = 0;
    for _ in 0..3 {
        let before = journal_lines(&journal);
        let target = before + 1 + rng.usize(..(pairs - before) / 2);
        let mut child = env
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut finished = false;
        while journal_lines(&journal) < target {
            assert!(Instant::now() < deadline, "the run made no progress");
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if finished {
            break;
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(..25))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        eprintln!(
            "kill {kills}: {} journal lines (target {target})",
            journal_lines(&journal)
        );
    }
    assert_eq!(kills, 3, "each run was killed before it finished");
    assert!(
        journal_lines(&journal) < pairs + 1,
        "the work was not done before the last kill"
    );

    let last = env.run(&args).await;
    assert_eq!(last.code, 0, "{}\n{}", last.stdout, last.stderr);
    assert!(
        last.stdout
            .contains(&format!("{PEOPLE} of {PEOPLE} people complete")),
        "{}",
        last.stdout
    );

    // The journal: a header, then exactly one final outcome per pair.
    let text = std::fs::read_to_string(&journal).unwrap();
    let mut per_pair: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("a torn line ({e}): {line}"));
        if v["type"] != "outcome" {
            continue; // `sending` and `revoked`: a revocation in flight
        }
        let pair = (
            v["subject"].as_str().unwrap().to_owned(),
            v["provider"].as_str().unwrap().to_owned(),
        );
        let outcome = v["outcome"]["outcome"]
            .as_str()
            .or_else(|| v["outcome"].as_str())
            .unwrap_or_default()
            .to_owned();
        per_pair.entry(pair).or_default().push(outcome);
    }
    let expected: BTreeSet<(String, String)> = people
        .iter()
        .flat_map(|p| PROVIDERS.map(|provider| (p.email.clone(), provider.to_owned())))
        .collect();
    let journaled: BTreeSet<(String, String)> = per_pair.keys().cloned().collect();
    assert_eq!(journaled, expected, "nobody skipped, nobody unknown");
    for (pair, outcomes) in &per_pair {
        assert_eq!(outcomes.len(), 1, "{pair:?} journaled {outcomes:?}");
        assert!(
            ["revoked", "already_clean", "queued"].contains(&outcomes[0].as_str()),
            "{pair:?}: {outcomes:?}"
        );
    }

    // And the providers agree: everyone is logged out everywhere.
    let ds = env.emulator.docspace().unwrap();
    let rc = env.emulator.rocketchat().unwrap();
    let slack = env.emulator.slack().unwrap();
    for person in &people {
        assert!(
            ds.active_events_of(&person.docspace_id).is_empty(),
            "{}",
            person.email
        );
        assert!(
            rc.live_sessions_of(&person.rocketchat_id).is_empty(),
            "{}",
            person.email
        );
        assert!(
            slack.sessions_of(&person.slack_id).is_empty(),
            "{}",
            person.email
        );
    }
}

/// Everybody's sessions in every provider, from the emulators' state.
fn state(env: &Env) -> Vec<(String, usize)> {
    let e = &env.emulator;
    e.people()
        .iter()
        .flat_map(|p| {
            [
                (
                    format!("docspace {}", p.email),
                    e.docspace().unwrap().active_events_of(&p.docspace_id).len(),
                ),
                (
                    format!("rocketchat {}", p.email),
                    e.rocketchat()
                        .unwrap()
                        .live_sessions_of(&p.rocketchat_id)
                        .len(),
                ),
                (
                    format!("slack {}", p.email),
                    e.slack().unwrap().sessions_of(&p.slack_id).len(),
                ),
            ]
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_and_emails_through_the_cli_are_refused_or_sent_intact() {
    use futures::StreamExt;
    use unisession_testkit::{Provider, Request, hostile};

    let env = Env::start(EmulatorConfig::new().users(5).log_capacity(100_000)).await;
    let before = state(&env);
    // NUL cannot travel in an argument; the library test covers it.
    let ids: Vec<String> = hostile::ids()
        .into_iter()
        .filter(|s| hostile::fits_argv(s))
        .collect();
    let emails: Vec<String> = hostile::emails()
        .into_iter()
        .filter(|s| hostile::fits_argv(s))
        .collect();
    assert!(ids.len() >= 200 && emails.len() >= 200);
    // Each id once as a session of that user id, the provider rotating; each email
    // once through `offboard` (every provider); `--` so that nothing is read as an
    // option.
    let mut invocations: Vec<Vec<String>> = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        let provider = PROVIDERS[k % 3].to_owned();
        invocations.push(
            [
                "--format",
                "json",
                "--yes",
                "revoke",
                "session",
                "--provider",
                &provider,
                "--user-id",
                id,
                "--",
                id,
            ]
            .map(str::to_owned)
            .to_vec(),
        );
    }
    for email in &emails {
        invocations.push(
            ["--format", "json", "--yes", "offboard", "--", email]
                .map(str::to_owned)
                .to_vec(),
        );
    }
    let runs: Vec<(Vec<String>, common::Run)> = futures::stream::iter(invocations)
        .map(|args| {
            let command = env.command(&args.iter().map(String::as_str).collect::<Vec<_>>());
            async move { (args, common::run(command).await) }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut codes: BTreeMap<i32, usize> = BTreeMap::new();
    for (args, run) in &runs {
        *codes.entry(run.code).or_default() += 1;
        assert!(
            [0, 1, 2].contains(&run.code),
            "{args:?}: exit {}\n{}",
            run.code,
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
        if run.code != 0 {
            // JSON output carries the error; stderr, if anything, is one line.
            let json: serde_json::Value = serde_json::from_str(&run.stdout)
                .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", run.stdout));
            let text = json.to_string();
            assert!(
                text.contains("\"error\"") || text.contains("failed"),
                "{args:?}: exit {} without a cause: {text}",
                run.code
            );
            assert!(run.stderr.lines().count() <= 1, "{args:?}: {}", run.stderr);
        }
    }
    eprintln!("{} invocations, exit codes {codes:?}", runs.len());
    assert_eq!(state(&env), before, "no session of anybody changed");

    let logs = [
        (
            Provider::DocSpace,
            env.emulator.docspace().unwrap().requests(),
        ),
        (
            Provider::RocketChat,
            env.emulator.rocketchat().unwrap().requests(),
        ),
        (Provider::Slack, env.emulator.slack().unwrap().requests()),
    ];
    for (provider, log) in logs {
        let requests: Vec<Request> = log.into_iter().map(Request::from).collect();
        // The fleet keys people by email, trimmed and lower-cased.
        let (problems, _) =
            hostile::check_requests(provider, &requests, |field, value| match field {
                "email" => emails.iter().any(|e| e.trim().to_lowercase() == value),
                _ => ids.iter().any(|i| i == value),
            });
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
