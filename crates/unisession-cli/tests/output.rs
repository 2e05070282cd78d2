//! What a person reads: every table of the demo, `plan`, `offboard` and
//! `sessions list` fits an 80- and a 120-column terminal, ids are shortened only in
//! tables, and explanations sit below the table as numbered notes.

mod common;

use std::process::{Command, Stdio};

use common::{BIN, Env, Run, run};
use unicode_width::UnicodeWidthStr;
use unisession::emulator::EmulatorConfig;

const WIDTHS: [usize; 2] = [80, 120];

/// Fails naming every line wider than `width` columns.
fn assert_fits(what: &str, run: &Run, width: usize) {
    let wide: Vec<(usize, &str)> = run
        .stdout
        .lines()
        .filter(|l| l.width() > width)
        .map(|l| (l.width(), l))
        .collect();
    assert!(
        wide.is_empty(),
        "{what} at {width} columns has lines wider than the terminal: {wide:#?}\n--- stdout ---\n{}",
        run.stdout
    );
    assert!(!run.stdout.trim().is_empty(), "{what} printed nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_fits_80_and_120_columns() {
    for width in WIDTHS {
        let demo = run({
            let mut c = Command::new(BIN);
            c.arg("demo")
                .env("COLUMNS", width.to_string())
                .env_remove("UNISESSION_CONFIG")
                .stdin(Stdio::null());
            c
        })
        .await;
        assert_eq!(demo.code, 0, "{}", demo.stderr);
        assert_fits("demo", &demo, width);
        // The offboard table has no column of question marks.
        assert!(
            !demo.stdout.lines().any(|l| l.contains("REVOKED")
                && demo.stdout.lines().filter(|l| l.contains(" ? ")).count() > 1),
            "{}",
            demo.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_offboard_and_sessions_list_fit_80_and_120_columns() {
    let env = Env::start(EmulatorConfig::new().users(8)).await;
    let people = env.emulator.people().to_vec();
    let file = env.dir.path().join("people.txt");
    std::fs::write(
        &file,
        format!(
            "{}\n{}\nnobody-here@corp.example\n",
            people[3].email, people[4].email
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap().to_owned();
    for (i, width) in WIDTHS.into_iter().enumerate() {
        let columns = width.to_string();
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("sessions list --all", vec!["sessions", "list", "--all"]),
            (
                "sessions list --user",
                vec!["sessions", "list", "--user", &people[1].email],
            ),
            ("plan", vec!["plan", &people[2].email]),
            // Explanations (how "not found" was established) become notes.
            ("plan of nobody", vec!["plan", "nobody-here@corp.example"]),
            (
                "offboard --file --dry-run",
                vec!["offboard", "--file", &file, "--dry-run"],
            ),
        ];
        for (what, args) in cases {
            let mut command = env.command(&args);
            command.env("COLUMNS", &columns);
            let out = run(command).await;
            assert!(
                out.code == 0 || out.code == 1,
                "{what}: {}\n{}",
                out.stdout,
                out.stderr
            );
            assert_fits(what, &out, width);
        }
        // Each width offboards other people, so both see real revocations.
        let mut command = env.command(&["offboard", &people[5 + i].email, "--yes"]);
        command.env("COLUMNS", &columns);
        let out = run(command).await;
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        assert_fits("offboard", &out, width);
        assert!(!out.stdout.contains(" ? "), "{}", out.stdout);

        let mut command = env.command(&["offboard", "--file", &file, "--yes"]);
        command.env("COLUMNS", &columns);
        let out = run(command).await;
        assert_fits("offboard --file", &out, width);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_ids_are_shortened_in_tables_and_whole_in_json() {
    let env = Env::start(EmulatorConfig::new().users(3)).await;
    let json = env
        .run(&["sessions", "list", "--all", "--format", "json"])
        .await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    // DocSpace's user ids are UUIDs: 36 characters.
    let long: String = json.json()["providers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["sessions"].as_array().unwrap().clone())
        .flat_map(|s| [s["id"].clone(), s["user"].clone()])
        .filter_map(|v| v.as_str().map(str::to_owned))
        .max_by_key(String::len)
        .unwrap();
    assert!(long.len() > 17, "{long}");
    let mut command = env.command(&["sessions", "list", "--all"]);
    command.env("COLUMNS", "80");
    let table = run(command).await;
    assert!(
        !table.stdout.contains(long.as_str()),
        "{long} is shortened in an 80-column table:\n{}",
        table.stdout
    );
    let head: String = long.chars().take(4).collect();
    let tail: String = long
        .chars()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.contains(&head) && l.contains('…') && l.contains(&tail)),
        "the middle of {long} is cut, its ends stay:\n{}",
        table.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_is_explained_in_a_numbered_note_not_in_a_column() {
    let env = Env::start(EmulatorConfig::new().users(3)).await;
    let person = env.emulator.people()[1].clone();
    // Slack refuses the credential: its explanation must not widen the table.
    let mut command = env.command(&["plan", &person.email]);
    command
        .env("COLUMNS", "80")
        .env("TEST_SLACK_TOKEN", "xoxp-not-a-token-anybody-issued");
    let out = run(command).await;
    assert_fits("plan with a failing provider", &out, 80);
    let table_end = out
        .stdout
        .lines()
        .position(|l| l.trim_start().starts_with("[1]"))
        .unwrap_or_else(|| panic!("a note [1] below the table:\n{}", out.stdout));
    let header = out
        .stdout
        .lines()
        .position(|l| l.contains("PROVIDER"))
        .unwrap();
    assert!(header < table_end, "{}", out.stdout);
    let slack_row = out
        .stdout
        .lines()
        .find(|l| l.trim_start_matches(['│', ' ']).starts_with("slack"))
        .unwrap();
    let mark = &slack_row[slack_row.find('[').unwrap()..=slack_row.find(']').unwrap()];
    let note = out
        .stdout
        .lines()
        .find(|l| l.starts_with(mark))
        .unwrap_or_else(|| panic!("the note {mark} is printed:\n{}", out.stdout));
    assert!(note.contains("invalid_auth"), "{note}");
}

/// The demo's output with what varies between runs of the seeded demo left out:
/// the ports (`127.0.0.1:PORT`) and the times the providers record
/// (`2026-12-01T01:23:07.048Z` as `TIME`).
fn without_ports(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(head);
        out.push_str("PORT");
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    // RFC 3339 times: digits and separators in the shape 0000-00-00T00:00:00(.0+)Z.
    let chars: Vec<char> = out.chars().collect();
    let shape = "0000-00-00T00:00:00";
    let mut normal = String::new();
    let mut i = 0;
    while i < chars.len() {
        let fits = chars.len() >= i + shape.len()
            && shape.chars().zip(&chars[i..i + shape.len()]).all(|(s, c)| {
                if s == '0' {
                    c.is_ascii_digit()
                } else {
                    s == *c
                }
            });
        if fits {
            let mut end = i + shape.len();
            while end < chars.len() && (chars[end] == '.' || chars[end].is_ascii_digit()) {
                end += 1;
            }
            if chars.get(end) == Some(&'Z') {
                end += 1;
            }
            normal.push_str("TIME");
            i = end;
        } else {
            normal.push(chars[i]);
            i += 1;
        }
    }
    normal
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_shows_the_demo_as_it_prints_at_100_columns() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let after = readme
        .split_once("In a 100-column terminal it prints")
        .expect("the README introduces the transcript")
        .1;
    let block = after.split_once("```text\n").unwrap().1;
    let transcript = block.split_once("\n```").unwrap().0;
    let demo = run({
        let mut c = Command::new(BIN);
        c.arg("demo")
            .env("COLUMNS", "100")
            .env_remove("UNISESSION_CONFIG")
            .stdin(Stdio::null());
        c
    })
    .await;
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    assert_eq!(
        without_ports(transcript),
        without_ports(demo.stdout.trim_end()),
        "the README's transcript is stale: paste the output of `COLUMNS=100 unisession demo`"
    );
}
