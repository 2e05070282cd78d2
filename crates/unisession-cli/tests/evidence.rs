//! Evidence for auditors: the page and its JSON twin say exactly what the run did
//! (checked against the emulators, the command's own report and the journal), the
//! digest matches the audit records, nothing secret is in any file, and the page
//! renders in a real headless browser.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Env, Run, run};
use serde_json::Value;
use sha2::{Digest, Sha256};
use unisession::emulator::EmulatorConfig;

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The SHA-256 of the trail's lines `ranges` names (`1-3,7`), recomputed here.
fn digest_of(trail: &Path, ranges: &str) -> (String, usize) {
    let text = std::fs::read_to_string(trail).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut hash = Sha256::new();
    let mut count = 0;
    for range in ranges.split(',').filter(|r| !r.is_empty()) {
        let (a, b) = range.split_once('-').unwrap_or((range, range));
        for n in a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap() {
            hash.update(lines[n - 1].as_bytes());
            count += 1;
        }
    }
    (hex::encode(hash.finalize()), count)
}

fn assert_no_secret(env: &Env, files: &[&Path]) {
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        for secret in env.secrets() {
            assert!(
                !text.contains(&secret),
                "{} holds a credential",
                file.display()
            );
        }
    }
}

fn pair<'a>(evidence: &'a Value, subject: &str, provider: &str) -> &'a Value {
    evidence["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["subject"] == subject)
        .and_then(|p| {
            p["providers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["provider"] == provider)
        })
        .unwrap_or_else(|| panic!("no pair {subject} × {provider} in the evidence"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_of_one_person_says_what_the_run_did_and_the_digest_holds() {
    let env = Env::start(EmulatorConfig::new().users(4)).await;
    let person = env.emulator.people()[2].clone();
    let slack = env.emulator.slack().unwrap();
    let rc = env.emulator.rocketchat().unwrap();
    let before = BTreeMap::from([
        ("slack", slack.sessions_of(&person.slack_id).len() as u64),
        (
            "rocketchat",
            rc.live_sessions_of(&person.rocketchat_id).len() as u64,
        ),
    ]);
    assert!(before.values().all(|n| *n > 0));
    let file = env.dir.path().join("evidence").join("leaver");
    let out = env
        .run(&[
            "offboard",
            &person.email,
            "--yes",
            "--format",
            "json",
            "--evidence",
            file.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    let html = file.with_extension("html");
    let json = file.with_extension("json");
    let trail = file.with_extension("audit.jsonl");
    assert_eq!(report["evidence"]["html"], html.to_str().unwrap());
    let evidence = read_json(&json);

    assert_eq!(evidence["format"], "unisession-evidence/1");
    assert_eq!(evidence["source"]["command"], "offboard");
    assert_eq!(evidence["summary"]["complete"], true);
    assert_eq!(evidence["summary"]["pairs"], 3);
    let configured: Vec<&str> = evidence["configuration"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["base_url"].as_str().unwrap())
        .collect();
    assert!(
        configured.contains(&slack.base_url().to_string().as_str()),
        "{configured:?}"
    );
    for reported in report["providers"].as_array().unwrap() {
        let name = reported["provider"].as_str().unwrap();
        let got = pair(&evidence, &person.email, name);
        assert_eq!(got["outcome"], reported["outcome"], "{name}");
        assert_eq!(got["retries"], reported["retries"], "{name}");
        assert_eq!(got["user"], reported["user"], "{name}");
        let operations: Vec<&str> = got["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["operation"].as_str().unwrap())
            .collect();
        assert_eq!(
            operations.first(),
            Some(&"find_user"),
            "{name}: {operations:?}"
        );
        assert!(
            operations.contains(&"revoke_user_sessions"),
            "{name}: {operations:?}"
        );
        match before.get(name) {
            // Counted before, none after: the emulators agree.
            Some(count) => {
                assert_eq!(got["sessions_before"], *count, "{name}");
                assert_eq!(got["sessions_after"], 0, "{name}");
            }
            // DocSpace cannot list another person's sessions: it says so, no number.
            None => {
                assert!(got["sessions_before"].is_null());
                assert!(
                    got["verification"]
                        .as_str()
                        .unwrap()
                        .starts_with("not verifiable"),
                    "{got}"
                );
            }
        }
    }
    assert!(slack.sessions_of(&person.slack_id).is_empty());

    // The digest covers the whole (new) trail, and recomputing it gives the same.
    let trail_lines = std::fs::read_to_string(&trail).unwrap().lines().count();
    assert_eq!(evidence["audit"]["lines"], format!("1-{trail_lines}"));
    assert_eq!(evidence["audit"]["records"], trail_lines);
    let (sha, _) = digest_of(&trail, evidence["audit"]["lines"].as_str().unwrap());
    assert_eq!(evidence["audit"]["sha256"], sha);
    let whole = hex::encode(Sha256::digest(std::fs::read(&trail).unwrap()));
    assert_eq!(sha, whole, "sha256sum of the trail gives the same digest");

    let page = std::fs::read_to_string(&html).unwrap();
    for needle in [
        person.email.as_str(),
        "Complete.",
        &sha,
        "slack",
        "rocketchat",
        "docspace",
    ] {
        assert!(page.contains(needle), "the page shows {needle}");
    }
    assert!(
        !page.contains("{{") && !page.contains("{%"),
        "every template tag rendered"
    );
    assert!(
        !page.contains("http://") || !page.contains("<link"),
        "no external asset"
    );
    assert!(!page.contains("<script"), "no script");
    assert_no_secret(&env, &[&html, &json, &trail]);

    // A second evidence over the same trail summarises only its own run's lines.
    let other = env.emulator.people()[3].clone();
    let second = env.dir.path().join("evidence").join("second");
    let out = env
        .run(&[
            "--audit",
            trail.to_str().unwrap(),
            "offboard",
            &other.email,
            "--yes",
            "--evidence",
            second.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let evidence = read_json(&second.with_extension("json"));
    let lines = evidence["audit"]["lines"].as_str().unwrap();
    assert!(
        lines.starts_with(&format!("{}-", trail_lines + 1)),
        "{lines}"
    );
    let (sha, count) = digest_of(&trail, lines);
    assert_eq!(evidence["audit"]["sha256"], sha);
    assert_eq!(evidence["audit"]["records"], count);
}

/// The journal's last outcome per pair, read straight from its lines.
fn journal_outcomes(path: &Path) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines().skip(1) {
        let value: Value = serde_json::from_str(line).unwrap();
        if value["type"] != "outcome" {
            continue; // a revocation in flight, not an outcome
        }
        let key = (
            value["subject"].as_str().unwrap().to_owned(),
            value["provider"].as_str().unwrap().to_owned(),
        );
        out.insert(key, value);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_of_a_200_person_run_matches_its_journal_from_the_run_and_from_report() {
    let env = Env::start(EmulatorConfig::new().users(201)).await;
    let people: Vec<String> = env.emulator.people()[1..=200]
        .iter()
        .map(|p| p.email.clone())
        .collect();
    let dir = env.dir.path();
    let list = dir.join("leavers.txt");
    std::fs::write(&list, people.join("\n") + "\n").unwrap();
    let journal = dir.join("run.jsonl");
    let trail = dir.join("run.audit.jsonl");
    let at = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let out = env
        .run(&[
            "--audit",
            &at("run.audit.jsonl"),
            "offboard",
            "--file",
            &at("leavers.txt"),
            "--journal",
            &at("run.jsonl"),
            "--yes",
            "--evidence",
            &at("run-evidence"),
        ])
        .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let from_run = read_json(&dir.join("run-evidence.json"));

    let out = env
        .run(&[
            "--audit",
            &at("run.audit.jsonl"),
            "report",
            &at("run.jsonl"),
            "--evidence",
            &at("report-evidence"),
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.json()["complete"], true);
    let from_report = read_json(&dir.join("report-evidence.json"));

    let journal_pairs = journal_outcomes(&journal);
    assert_eq!(journal_pairs.len(), 600);
    for evidence in [&from_run, &from_report] {
        assert_eq!(evidence["summary"]["people"], 200);
        assert_eq!(evidence["summary"]["pairs"], 600);
        let mut counted: BTreeMap<String, u64> = BTreeMap::new();
        for ((subject, provider), line) in &journal_pairs {
            let got = pair(evidence, subject, provider);
            for field in [
                "outcome",
                "retries",
                "user",
                "sessions_before",
                "elapsed_ms",
            ] {
                let expected = line.get(field).cloned().unwrap_or(Value::Null);
                assert_eq!(got[field], expected, "{subject} × {provider}: {field}");
            }
            let verified = &line["verified"];
            let after = match verified["verification"].as_str() {
                Some("verified") => Value::from(0),
                Some("still_active") => verified["remaining"].clone(),
                _ => Value::Null,
            };
            assert_eq!(
                got["sessions_after"], after,
                "{subject} × {provider}: {line}"
            );
            *counted
                .entry(line["outcome"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        for (outcome, n) in counted {
            assert_eq!(evidence["summary"]["outcomes"][&outcome], n, "{outcome}");
        }
        let (sha, count) = digest_of(&trail, evidence["audit"]["lines"].as_str().unwrap());
        assert_eq!(evidence["audit"]["sha256"], sha);
        assert_eq!(evidence["audit"]["records"], count);
    }
    assert_eq!(from_run["audit"]["sha256"], from_report["audit"]["sha256"]);
    assert_eq!(from_report["source"]["journal"], journal.to_str().unwrap());
    let page = std::fs::read_to_string(dir.join("report-evidence.html")).unwrap();
    for person in &people {
        assert!(page.contains(person.as_str()), "{person} is on the page");
    }
    assert_no_secret(
        &env,
        &[
            &dir.join("report-evidence.html"),
            &dir.join("report-evidence.json"),
            &dir.join("run-evidence.html"),
            &dir.join("run-evidence.json"),
            &trail,
            &journal,
        ],
    );

    // An edited trail no longer gives the digest the evidence holds…
    let original = std::fs::read_to_string(&trail).unwrap();
    std::fs::write(
        &trail,
        original.replacen("\"verified\"", "\"still_active\"", 1),
    )
    .unwrap();
    let (sha, _) = digest_of(&trail, from_report["audit"]["lines"].as_str().unwrap());
    assert_ne!(from_report["audit"]["sha256"], sha);
    // …and a trail with a line that is no audit record is refused, nothing written.
    std::fs::write(&trail, format!("{original}not a record\n")).unwrap();
    let out = env
        .run(&[
            "--audit",
            &at("run.audit.jsonl"),
            "report",
            &at("run.jsonl"),
            "--evidence",
            &at("refused"),
        ])
        .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not an audit record"), "{}", out.stderr);
    assert!(!dir.join("refused.html").exists());
    // Without the trail, --evidence says what it needs.
    let out = env
        .run(&["report", &at("run.jsonl"), "--evidence", &at("refused")])
        .await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--audit"), "{}", out.stderr);
}

/// A headless Chromium or Chrome: `UNISESSION_BROWSER`, else the usual names.
fn browser() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("UNISESSION_BROWSER") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|candidate| candidate.is_file())
}

async fn headless(browser: &Path, args: &[String]) -> Run {
    let mut command = Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--no-pdf-header-footer",
        ])
        .args(args)
        .stdin(Stdio::null());
    run(command).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_evidence_page_renders_in_a_headless_browser() {
    let Some(browser) = browser() else {
        if std::env::var_os("UNISESSION_REQUIRE_BROWSER").is_some() {
            panic!(
                "no headless browser found, and UNISESSION_REQUIRE_BROWSER is set (CI installs chromium)"
            );
        }
        eprintln!(
            "SKIPPED the_evidence_page_renders_in_a_headless_browser: no chromium or chrome on PATH (apt-get install chromium, or set UNISESSION_BROWSER)"
        );
        return;
    };
    let env = Env::start(EmulatorConfig::new().users(3)).await;
    let person = env.emulator.people()[1].clone();
    let file = env.dir.path().join("leaver");
    let out = env
        .run(&[
            "offboard",
            &person.email,
            "--yes",
            "--evidence",
            file.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let html = file.with_extension("html");
    let url = format!("file://{}", html.display());
    let profile = env.dir.path().join("profile");
    let profile = format!("--user-data-dir={}", profile.display());

    // The page as the browser parsed it: the facts are in the document.
    let dom = headless(
        &browser,
        &[profile.clone(), "--dump-dom".into(), url.clone()],
    )
    .await;
    assert_eq!(dom.code, 0, "{}", dom.stderr);
    for needle in [
        person.email.as_str(),
        "Complete.",
        "Audit trail",
        "verified: a fresh listing shows no session",
    ] {
        assert!(
            dom.stdout.contains(needle),
            "the rendered page shows {needle}"
        );
    }

    // A screenshot, kept in the target directory for a person to look at.
    let shot = env.dir.path().join("evidence.png");
    let out = headless(
        &browser,
        &[
            profile.clone(),
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1800".into(),
            url.clone(),
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    assert!(
        png.len() > 20_000,
        "a page with content, not a blank one: {} bytes",
        png.len()
    );
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("evidence-screenshot.png");
    std::fs::copy(&shot, &keep).unwrap();
    eprintln!("screenshot: {}", keep.display());

    // Printed to PDF, as an auditor would file it.
    let pdf = env.dir.path().join("evidence.pdf");
    let out = headless(
        &browser,
        &[profile, format!("--print-to-pdf={}", pdf.display()), url],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"), "a PDF");
}
