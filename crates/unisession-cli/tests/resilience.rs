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

fn journal_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
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
