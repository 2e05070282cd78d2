//! The `unisession` command as a user runs it: the real binary, against emulators
//! the test starts, through a configuration file the test writes.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, Env, Run, assert_one_line_error, run, url_encode};
use unisession::emulator::{EmulatorConfig, Faults, ProviderKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_succeeds_and_its_output_names_the_revoked_sessions() {
    let json = run({
        let mut c = Command::new(BIN);
        c.args(["demo", "--format", "json"]).stdin(Stdio::null());
        c
    })
    .await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let doc = json.json();
    assert_eq!(doc["command"], "demo");
    assert_eq!(doc["report"]["complete"], true);
    let revoked: Vec<String> = doc["revoked_sessions"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ids| {
            ids.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
        })
        .collect();
    assert!(revoked.len() >= 4, "{revoked:?}");
    let table = run({
        let mut c = Command::new(BIN);
        c.arg("demo").stdin(Stdio::null());
        c
    })
    .await;
    assert_eq!(table.code, 0);
    for id in &revoked {
        assert!(
            table.stdout.contains(id.as_str()),
            "the revoked session {id} is named"
        );
    }
    assert!(
        table
            .stdout
            .contains("complete, logged out of every provider")
    );
    assert!(
        table.stdout.contains("unisession config check"),
        "tells what to do next"
    );
    assert!(!table.stdout.contains('\u{1b}'), "no colour codes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_list_shows_what_each_provider_can_list_with_the_right_counts() {
    let env = Env::start(EmulatorConfig::new().users(4)).await;
    let all = env
        .run(&["sessions", "list", "--all", "--format", "json"])
        .await;
    assert_eq!(all.code, 0, "{}", all.stderr);
    let doc = all.json();
    let count = |name: &str| -> usize {
        doc["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["provider"] == name)
            .unwrap()["sessions"]
            .as_array()
            .unwrap()
            .len()
    };
    let slack = env.emulator.slack().unwrap();
    let expected_slack = slack.session_count() - slack.sessions_of(&slack.bot_user_id()).len();
    assert_eq!(count("slack"), expected_slack);
    assert_eq!(
        count("rocketchat"),
        env.emulator.rocketchat().unwrap().listed_session_count()
    );
    let admin = env
        .emulator
        .docspace()
        .unwrap()
        .credentials()
        .admin_id
        .clone();
    assert_eq!(
        count("docspace"),
        env.emulator
            .docspace()
            .unwrap()
            .active_events_of(&admin)
            .len()
    );
    assert_eq!(
        doc["total"].as_u64().unwrap() as usize,
        count("slack") + count("rocketchat") + count("docspace")
    );

    let alice = env.emulator.people()[1].clone();
    let user = env
        .run(&[
            "sessions",
            "list",
            "--user",
            &alice.email,
            "--format",
            "json",
        ])
        .await;
    assert_eq!(
        user.code, 1,
        "DocSpace cannot list another user's sessions: partial"
    );
    let doc = user.json();
    let providers = doc["providers"].as_array().unwrap();
    let docspace = providers
        .iter()
        .find(|p| p["provider"] == "docspace")
        .unwrap();
    assert_eq!(docspace["error"]["kind"], "unsupported");
    let slack_sessions = providers.iter().find(|p| p["provider"] == "slack").unwrap()["sessions"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(slack_sessions, slack.sessions_of(&alice.slack_id).len());

    let by_id = env
        .run(&[
            "sessions",
            "list",
            "--provider",
            "slack",
            "--user-id",
            &alice.slack_id,
        ])
        .await;
    assert_eq!(by_id.code, 0, "{}", by_id.stderr);
    for id in slack.sessions_of(&alice.slack_id) {
        assert!(by_id.stdout.contains(&id.to_string()));
    }
    let none = env.run(&["sessions", "list"]).await;
    assert_one_line_error(&none, 2, "--all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_session_user_and_others_do_what_they_say_and_dry_runs_send_nothing() {
    let env = Env::start(EmulatorConfig::new().users(4)).await;
    let slack = env.emulator.slack().unwrap();
    let alice = env.emulator.people()[1].clone();
    let session = slack.sessions_of(&alice.slack_id)[0].to_string();

    let before = slack.request_count();
    let dry = env
        .run(&[
            "revoke",
            "session",
            "--provider",
            "slack",
            &session,
            "--user-id",
            &alice.slack_id,
            "--dry-run",
        ])
        .await;
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("would revoke"));
    assert_eq!(slack.request_count(), before, "a dry run sends nothing");

    let refused = env
        .run(&[
            "revoke",
            "session",
            "--provider",
            "slack",
            &session,
            "--user-id",
            &alice.slack_id,
        ])
        .await;
    assert_one_line_error(&refused, 2, "--yes");
    assert!(
        slack
            .sessions_of(&alice.slack_id)
            .contains(&session.parse().unwrap())
    );

    let done = env
        .run(&[
            "revoke",
            "session",
            "--provider",
            "slack",
            &session,
            "--user-id",
            &alice.slack_id,
            "--yes",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(done.json()["outcome"]["outcome"], "revoked");
    assert!(
        !slack
            .sessions_of(&alice.slack_id)
            .contains(&session.parse().unwrap())
    );
    let again = env
        .run(&[
            "revoke",
            "session",
            "--provider",
            "slack",
            &session,
            "--user-id",
            &alice.slack_id,
            "--yes",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(again.json()["outcome"]["outcome"], "already_gone");

    // Device scope: only mobile sessions go.
    let bob = env.emulator.people()[2].clone();
    let mobile = slack.add_session(&bob.slack_id, true).unwrap();
    let web = slack.add_session(&bob.slack_id, false).unwrap();
    let scoped = env
        .run(&[
            "revoke",
            "user",
            &bob.email,
            "--provider",
            "slack",
            "--scope",
            "mobile",
            "--yes",
        ])
        .await;
    assert_eq!(scoped.code, 0, "{}\n{}", scoped.stdout, scoped.stderr);
    let left = slack.sessions_of(&bob.slack_id);
    assert!(!left.contains(&mobile) && left.contains(&web));

    // Revoke others: Rocket.Chat keeps only the credential in use.
    let rc = env.emulator.rocketchat().unwrap();
    let c = rc.credentials().clone();
    let others = env
        .run(&["revoke", "others", "--provider", "rocketchat", "--yes"])
        .await;
    assert_eq!(others.code, 0, "{}", others.stderr);
    assert!(rc.token_is_valid(&c.admin_user_id, &c.admin_pat));
    assert!(!rc.token_is_valid(&c.admin_user_id, &c.admin_token));
    let unsupported = env
        .run(&["revoke", "others", "--provider", "slack", "--yes"])
        .await;
    assert_one_line_error(&unsupported, 1, "revoke_other_sessions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_changes_nothing_and_offboard_logs_the_person_out_everywhere() {
    let env = Env::start(EmulatorConfig::new().users(4)).await;
    let alice = env.emulator.people()[2].clone();
    let slack = env.emulator.slack().unwrap();
    let rc = env.emulator.rocketchat().unwrap();
    let before = (
        slack.sessions_of(&alice.slack_id).len(),
        rc.live_sessions_of(&alice.rocketchat_id).len(),
    );

    let plan = env.run(&["plan", &alice.email, "--format", "json"]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let doc = plan.json();
    assert_eq!(doc["command"], "plan");
    let slack_plan = doc["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "slack")
        .unwrap();
    assert_eq!(slack_plan["sessions"].as_array().unwrap().len(), before.0);
    assert_eq!(
        (
            slack.sessions_of(&alice.slack_id).len(),
            rc.live_sessions_of(&alice.rocketchat_id).len()
        ),
        before
    );
    let dry = env.run(&["offboard", &alice.email, "--dry-run"]).await;
    assert_eq!(dry.code, 0);
    assert!(dry.stdout.contains("dry run"));

    let offboard = env
        .run(&["offboard", &alice.email, "--yes", "--format", "json"])
        .await;
    assert_eq!(offboard.code, 0, "{}\n{}", offboard.stdout, offboard.stderr);
    let doc = offboard.json();
    assert_eq!(doc["command"], "offboard");
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["summary"]["revoked"], 3);
    assert!(slack.sessions_of(&alice.slack_id).is_empty());
    assert!(rc.live_sessions_of(&alice.rocketchat_id).is_empty());
    assert!(
        env.emulator
            .docspace()
            .unwrap()
            .active_events_of(&alice.docspace_id)
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboard_from_a_text_or_csv_file_uses_the_journal() {
    let env = Env::start(EmulatorConfig::new().users(6)).await;
    let people = env.emulator.people()[1..].to_vec();
    let txt = env.dir.path().join("people.txt");
    std::fs::write(
        &txt,
        format!("# leavers\n{}\n{}\n", people[0].email, people[1].email),
    )
    .unwrap();
    let run1 = env
        .run(&[
            "offboard",
            "--file",
            txt.to_str().unwrap(),
            "--journal",
            env.dir.path().join("a.jsonl").to_str().unwrap(),
            "--yes",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(run1.code, 0, "{}\n{}", run1.stdout, run1.stderr);
    let doc = run1.json();
    assert_eq!(doc["reports"].as_array().unwrap().len(), 2);
    assert_eq!(doc["complete"], true);

    let csv = env.dir.path().join("people.csv");
    std::fs::write(
        &csv,
        format!(
            "email,slack\n{},\n,{}\n",
            people[2].email, people[3].slack_id
        ),
    )
    .unwrap();
    let run2 = env
        .run(&["offboard", "--file", csv.to_str().unwrap(), "--yes"])
        .await;
    assert_eq!(
        run2.code, 1,
        "the id-only row has no email for DocSpace and Rocket.Chat: {}",
        run2.stdout
    );
    assert!(
        run2.stdout.contains("1 of 2 people complete"),
        "{}",
        run2.stdout
    );
    assert!(
        env.emulator
            .slack()
            .unwrap()
            .sessions_of(&people[3].slack_id)
            .is_empty()
    );

    let bad = env.dir.path().join("bad.csv");
    std::fs::write(&bad, "email,jira\na@b.example,1\n").unwrap();
    let run3 = env
        .run(&["offboard", "--file", bad.to_str().unwrap(), "--yes"])
        .await;
    assert_one_line_error(&run3, 2, "jira");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_names_each_credentials_owner_and_a_wrong_token_exits_3() {
    let env = Env::start(EmulatorConfig::new().users(2)).await;
    let ok = env.run(&["config", "check", "--format", "json"]).await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let doc = ok.json();
    assert!(
        doc["providers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["ok"] == true),
        "{doc}"
    );
    let mut wrong = env.command(&["config", "check"]);
    wrong.env("TEST_SLACK_TOKEN", "xoxp-not-a-real-one");
    let wrong = run(wrong).await;
    assert_eq!(wrong.code, 3, "{}", wrong.stdout);
    assert!(
        wrong.stdout.contains("FAILED") && wrong.stdout.contains("invalid_auth"),
        "{}",
        wrong.stdout
    );
}

async fn with_config(text: &str, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("unisession.toml");
    std::fs::write(&config, text).unwrap();
    let mut command = Command::new(BIN);
    command
        .arg("--config")
        .arg(&config)
        .args(args)
        .env_remove("UNISESSION_MISSING")
        .stdin(Stdio::null());
    run(command).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_exit_2_with_one_actionable_line() {
    let cases: [(&str, &str); 7] = [
        ("this is [ not toml", "not valid TOML"),
        (
            "[providers.s]\nkind = \"slack\"\ntoken = \"xoxp-inline\"\n",
            "providers.s.token: secrets are never written in the configuration file",
        ),
        (
            "[providers.s]\nkind = \"slack\"\ntoken_env = \"UNISESSION_MISSING\"\n",
            "providers.s.token_env: the environment variable UNISESSION_MISSING is not set",
        ),
        (
            "[providers.s]\nkind = \"slack\"\ntoken_file = \"nope.token\"\n",
            "providers.s.token_file: cannot read",
        ),
        (
            "[providers.s]\nkind = \"jira\"\n",
            "providers.s.kind: \"jira\" is not a provider kind",
        ),
        (
            "[providers.s]\nkind = \"slack\"\ntoken_env = \"PATH\"\ncolour = \"blue\"\n",
            "providers.s.colour: unknown setting",
        ),
        (
            "[providers.d]\nkind = \"docspace\"\nbase_url = \"http://docspace.example.com/\"\ntoken_env = \"PATH\"\n",
            "clear text",
        ),
    ];
    for (text, needle) in cases {
        let run = with_config(text, &["config", "check"]).await;
        assert_one_line_error(&run, 2, needle);
        assert!(
            run.stderr.contains("unisession.toml"),
            "the file is named: {}",
            run.stderr
        );
    }
    let missing = run({
        let mut c = Command::new(BIN);
        c.args([
            "--config",
            "/nonexistent/unisession.toml",
            "plan",
            "a@b.example",
        ])
        .stdin(Stdio::null());
        c
    })
    .await;
    assert_one_line_error(&missing, 2, "cannot read the configuration");
    let usage = run({
        let mut c = Command::new(BIN);
        c.args(["offboard"]).stdin(Stdio::null());
        c
    })
    .await;
    assert_eq!(usage.code, 2);
    // A syntax error says where, without quoting the line.
    let located = with_config(
        "[providers.s]\nkind = \"slack\"\nbase_url = xoxp-pasted-by-mistake\n",
        &["config", "check"],
    )
    .await;
    assert_one_line_error(&located, 2, "at line 3, column 12");
    assert!(!located.stderr.contains("xoxp"), "{}", located.stderr);
    // With --format json, the failure is one JSON document on stdout too.
    let json = with_config(
        "[providers.s]\nkind = \"jira\"\n",
        &["--format", "json", "plan", "a@b.example"],
    )
    .await;
    assert_eq!(json.code, 2);
    let document = json.json();
    assert_eq!(document["command"], "plan");
    assert_eq!(document["error"]["exit"], 2);
    assert!(
        document["error"]["message"]
            .as_str()
            .unwrap()
            .contains("jira")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_provider_is_a_partial_failure_with_exit_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t"), "xoxp-1-2-3").unwrap();
    let text = format!(
        "[providers.slack]\nkind = \"slack\"\nbase_url = \"http://127.0.0.1:{port}/api/\"\ntoken_file = \"{}\"\n",
        dir.path().join("t").display()
    );
    let run = with_config(&text, &["offboard", "someone@corp.example", "--yes"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("NOT done in slack") && run.stdout.contains("could not connect"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_file_run_resumes_from_its_journal_and_finishes() {
    let config = EmulatorConfig::new().users(40).faults(
        ProviderKind::Slack,
        Faults::none().with_latency(Duration::from_millis(15)),
    );
    let env = Env::start(config).await;
    let people: Vec<String> = env.emulator.people()[1..]
        .iter()
        .map(|p| p.email.clone())
        .collect();
    let file = env.dir.path().join("leavers.txt");
    std::fs::write(&file, people.join("\n")).unwrap();
    let journal = env.dir.path().join("run.jsonl");
    let args = [
        "offboard",
        "--file",
        file.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
        "--yes",
    ];
    let mut child = env
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The header and the outcome lines, not the lines of revocations in flight.
    let lines = |path: &Path| {
        std::fs::read_to_string(path)
            .map(|t| {
                t.lines()
                    .filter(|l| {
                        !l.contains(r#""type":"sending""#) && !l.contains(r#""type":"revoked""#)
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while lines(&journal) < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run made no progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run finished before it could be killed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let written = lines(&journal);
    assert!(
        written < people.len() * 3 + 1,
        "killed midway ({written} lines)"
    );
    let rerun = env.run(&args).await;
    assert_eq!(rerun.code, 0, "{}\n{}", rerun.stdout, rerun.stderr);
    assert!(
        rerun.stdout.contains(&format!(
            "{} of {} people complete",
            people.len(),
            people.len()
        )),
        "{}",
        rerun.stdout
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    // Outcome lines only: `sending` and `revoked` lines record revocations in flight.
    let pairs: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "outcome")
        .map(|v| {
            (
                v["subject"].as_str().unwrap().to_owned(),
                v["provider"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let unique: std::collections::BTreeSet<_> = pairs.iter().cloned().collect();
    assert_eq!(
        (pairs.len(), unique.len()),
        (people.len() * 3, people.len() * 3),
        "one line per pair, none twice"
    );
    for person in &env.emulator.people()[1..] {
        assert!(
            env.emulator
                .slack()
                .unwrap()
                .sessions_of(&person.slack_id)
                .is_empty(),
            "{}",
            person.email
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_stdout_or_stderr_even_at_trace_level() {
    let env = Env::start(EmulatorConfig::new().users(3)).await;
    let alice = env.emulator.people()[1].email.clone();
    let audit = env.dir.path().join("audit.jsonl");
    let mut outputs = Vec::new();
    for args in [
        vec![
            "-vvv",
            "offboard",
            alice.as_str(),
            "--yes",
            "--audit",
            audit.to_str().unwrap(),
        ],
        vec!["-vvv", "sessions", "list", "--all", "--format", "json"],
        vec!["-vvv", "config", "check"],
    ] {
        let mut command = env.command(&args);
        command.env("RUST_LOG", "trace");
        let run = run(command).await;
        assert!(
            run.stderr.contains("TRACE") || run.stderr.contains("DEBUG"),
            "logging is on"
        );
        outputs.push(run.stdout);
        outputs.push(run.stderr);
    }
    outputs.push(std::fs::read_to_string(&audit).unwrap());
    use base64::Engine;
    for secret in env.secrets() {
        let forms = [
            secret.clone(),
            url_encode(&secret),
            base64::engine::general_purpose::STANDARD.encode(&secret),
        ];
        for output in &outputs {
            for form in &forms {
                assert!(!output.contains(form.as_str()), "a secret leaked");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_runs_in_the_foreground_and_writes_a_working_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["emulate", "--users", "3", "--write-config"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let config = dir.path().join("unisession.toml");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !config.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no configuration was written"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let check = run({
        let mut c = Command::new(BIN);
        c.arg("--config")
            .arg(&config)
            .args(["config", "check"])
            .stdin(Stdio::null());
        c
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    assert_eq!(
        check.stdout.matches(" ok ").count(),
        unisession::emulator::ProviderKind::ALL.len(),
        "{}",
        check.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dry_run_changes_nothing_and_names_its_command() {
    let env = Env::start(EmulatorConfig::new().users(4)).await;
    let state = |env: &Env| -> Vec<usize> {
        env.emulator
            .people()
            .iter()
            .flat_map(|p| {
                [
                    env.emulator
                        .docspace()
                        .unwrap()
                        .active_events_of(&p.docspace_id)
                        .len(),
                    env.emulator
                        .rocketchat()
                        .unwrap()
                        .live_sessions_of(&p.rocketchat_id)
                        .len(),
                    env.emulator.slack().unwrap().sessions_of(&p.slack_id).len(),
                ]
            })
            .collect()
    };
    let before = state(&env);
    let alice = env.emulator.people()[1].email.clone();
    let file = env.dir.path().join("leavers.txt");
    let emails: Vec<String> = env.emulator.people()[1..]
        .iter()
        .map(|p| p.email.clone())
        .collect();
    std::fs::write(&file, emails.join("\n")).unwrap();
    let file = file.to_str().unwrap().to_owned();
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["revoke", "user", &alice, "--scope", "mobile", "--dry-run"],
            "revoke user --dry-run",
        ),
        (
            vec!["revoke", "others", "--provider", "rocketchat", "--dry-run"],
            "revoke others",
        ),
        (vec!["offboard", &alice, "--dry-run"], "offboard --dry-run"),
        (
            vec!["offboard", "--file", &file, "--dry-run"],
            "offboard --file",
        ),
    ];
    for (args, command) in cases {
        let mut full = vec!["--format", "json"];
        full.extend(args.iter().copied());
        let ran = env.run(&full).await;
        assert!(
            ran.code == 0 || ran.code == 1,
            "{full:?}: {}\n{}",
            ran.stdout,
            ran.stderr
        );
        let document = ran.json();
        assert!(
            document["command"].as_str().unwrap().starts_with(command),
            "{full:?}: {}",
            document["command"]
        );
        if command == "revoke user --dry-run" {
            // The plan of the mobile scope: Slack can, the others cannot.
            let providers = document["providers"].as_array().unwrap();
            let slack = providers.iter().find(|p| p["provider"] == "slack").unwrap();
            assert_eq!(slack["method"], "revoke_user_sessions (mobile sessions)");
            let docspace = providers
                .iter()
                .find(|p| p["provider"] == "docspace")
                .unwrap();
            assert!(docspace["method"].is_null(), "{docspace}");
        }
    }
    assert_eq!(state(&env), before, "a dry run revokes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_is_found_through_unisession_config() {
    let env = Env::start(EmulatorConfig::new().users(2)).await;
    let mut command = Command::new(BIN);
    command
        .args(["--format", "json", "config", "check"])
        .env("UNISESSION_CONFIG", &env.config)
        .env("TEST_SLACK_TOKEN", env.slack_token())
        .current_dir(env.dir.path())
        .stdin(Stdio::null());
    let ran = run(command).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let document = ran.json();
    assert_eq!(
        document["config"].as_str(),
        env.config.to_str(),
        "the file named by UNISESSION_CONFIG"
    );
    assert_eq!(document["providers"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_everyone_needs_the_planned_count_keeps_the_except_list_and_resumes() {
    let env = Env::start(
        EmulatorConfig::new()
            .users(8)
            .providers([ProviderKind::Slack, ProviderKind::RocketChat]),
    )
    .await;
    let slack = env.emulator.slack().unwrap();
    let rc = env.emulator.rocketchat().unwrap();
    let people = env.emulator.people().to_vec();
    // The primary owner can only be logged out by itself; a break-glass account.
    let except = env.dir.path().join("keep.txt");
    std::fs::write(
        &except,
        format!(
            "# break-glass\n{}\n{}\n",
            slack.primary_owner_id(),
            people[3].email
        ),
    )
    .unwrap();
    let except = except.to_str().unwrap();
    let sessions = |id: &str| slack.sessions_of(id).len() + rc.live_sessions_of(id).len();
    let before: Vec<usize> = people
        .iter()
        .map(|p| sessions(&p.slack_id) + sessions(&p.rocketchat_id))
        .collect();

    let dry = env
        .run(&[
            "revoke",
            "everyone",
            "--provider",
            "slack",
            "--provider",
            "rocketchat",
            "--except",
            except,
            "--dry-run",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(dry.code, 0, "{}\n{}", dry.stdout, dry.stderr);
    let plan = dry.json();
    // In each: everyone but the admin and people[3] (and in Slack the kept owner; its
    // bot is left alone).
    let count = plan["count"].as_u64().unwrap() as usize;
    assert_eq!(count, 2 * (people.len() - 2), "{plan:#}");
    let right = count.to_string();
    let wrong = (count - 1).to_string();
    assert_eq!(plan["providers"][0]["not_people"]["bot"], 1);
    let kept: Vec<&str> = plan["providers"][0]["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["reason"].as_str().unwrap())
        .collect();
    assert!(kept.contains(&"the credential's own account"), "{kept:?}");

    // Without a terminal: both --yes and the matching --everyone-count, or nothing.
    let journal = env.dir.path().join("incident.jsonl");
    let journal = journal.to_str().unwrap();
    for extra in [
        vec!["--yes"],
        vec!["--everyone-count", right.as_str()],
        vec!["--yes", "--everyone-count", wrong.as_str()],
    ] {
        let mut args = vec![
            "revoke",
            "everyone",
            "--provider",
            "slack",
            "--provider",
            "rocketchat",
            "--except",
            except,
            "--journal",
            journal,
        ];
        args.extend(extra.iter().copied());
        let refused = env.run(&args).await;
        assert_eq!(
            refused.code, 2,
            "{extra:?}: {}\n{}",
            refused.stdout, refused.stderr
        );
        assert!(
            refused.stderr.contains("--everyone-count"),
            "{}",
            refused.stderr
        );
    }
    // An except entry matching nobody anywhere is a typo that would log its person out.
    let typo = env.dir.path().join("typo.txt");
    std::fs::write(
        &typo,
        format!("{}\nbreak.glas@corp.example\n", people[3].email),
    )
    .unwrap();
    let refused = env
        .run(&[
            "revoke",
            "everyone",
            "--provider",
            "slack",
            "--provider",
            "rocketchat",
            "--except",
            typo.to_str().unwrap(),
            "--yes",
            "--everyone-count",
            "99",
        ])
        .await;
    assert_eq!(refused.code, 2, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("break.glas@corp.example"),
        "{}",
        refused.stderr
    );
    let now: Vec<usize> = people
        .iter()
        .map(|p| sessions(&p.slack_id) + sessions(&p.rocketchat_id))
        .collect();
    assert_eq!(now, before, "a refused command revoked something");

    let args = [
        "revoke",
        "everyone",
        "--provider",
        "slack",
        "--provider",
        "rocketchat",
        "--except",
        except,
        "--journal",
        journal,
        "--yes",
        "--everyone-count",
        right.as_str(),
    ];
    let done = env.run(&args).await;
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    for (i, person) in people.iter().enumerate() {
        let left = sessions(&person.slack_id) + sessions(&person.rocketchat_id);
        if i == 0 || i == 3 {
            assert_eq!(left, before[i], "{} is kept", person.email);
        } else {
            assert_eq!(left, 0, "{} is logged out", person.email);
        }
    }
    assert!(std::path::Path::new(&format!("{journal}.people.json")).exists());

    // A rerun with the journal resumes the planned people: nothing left to send.
    let logouts = |r: &[unisession::emulator::LoggedRequest]| {
        r.iter()
            .filter(|q| q.path.ends_with("resetBulk") || q.path.ends_with("users.logout"))
            .count()
    };
    let sent = logouts(&slack.requests()) + logouts(&rc.requests());
    let rerun = env.run(&args).await;
    assert_eq!(rerun.code, 0, "{}\n{}", rerun.stdout, rerun.stderr);
    assert!(rerun.stdout.contains("Resuming"), "{}", rerun.stdout);
    assert_eq!(logouts(&slack.requests()) + logouts(&rc.requests()), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_dry_run_shows_how_each_provider_will_find_the_people() {
    let env = Env::start(
        EmulatorConfig::new()
            .users(12)
            .providers([ProviderKind::Slack, ProviderKind::RocketChat]),
    )
    .await;
    let people = env.emulator.people()[1..].to_vec();
    let many = env.dir.path().join("many.txt");
    let emails: Vec<&str> = people.iter().map(|p| p.email.as_str()).collect();
    std::fs::write(&many, emails.join("\n")).unwrap();
    let one = env.dir.path().join("one.txt");
    std::fs::write(&one, &people[0].email).unwrap();
    let way = |run: &Run, provider: &str| {
        let doc = run.json();
        doc["resolution"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["provider"] == provider)
            .map(|r| {
                (
                    r["way"].as_str().unwrap().to_owned(),
                    r["scan_calls"].clone(),
                )
            })
            .unwrap()
    };
    let run = env
        .run(&[
            "offboard",
            "--file",
            many.to_str().unwrap(),
            "--dry-run",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // Eleven people: one page of each directory instead of eleven lookups.
    assert_eq!(
        way(&run, "slack"),
        ("scan".to_owned(), serde_json::json!(1))
    );
    assert_eq!(
        way(&run, "rocketchat"),
        ("scan".to_owned(), serde_json::json!(1))
    );
    let run = env
        .run(&[
            "offboard",
            "--file",
            one.to_str().unwrap(),
            "--dry-run",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(way(&run, "slack").0, "lookups");
    assert_eq!(way(&run, "rocketchat").0, "lookups");
    let table = env
        .run(&["offboard", "--file", many.to_str().unwrap(), "--dry-run"])
        .await;
    assert!(table.stdout.contains("FIND BY"), "{}", table.stdout);
}
