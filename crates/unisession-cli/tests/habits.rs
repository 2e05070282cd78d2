//! The habits of a good command: shell completions, manual pages, and a commented
//! configuration to start from that works once filled in.

mod common;

use common::{BIN, Env, assert_one_line_error, run};
use std::process::{Command, Stdio};
use unisession::emulator::EmulatorConfig;

fn bin(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("UNISESSION_CONFIG")
        .stdin(Stdio::null());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_cover_every_command_in_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef unisession"),
        ("fish", "complete -c unisession"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(bin(&["completions", shell])).await;
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains(marker), "{shell}: {}", out.stdout);
        for command in ["offboard", "sessions", "completions", "init"] {
            assert!(out.stdout.contains(command), "{shell} completes {command}");
        }
    }
    let out = run(bin(&["completions", "tcsh"])).await;
    assert_eq!(out.code, 2, "an unknown shell is a usage error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn man_writes_a_page_per_command() {
    let page = run(bin(&["man"])).await;
    assert_eq!(page.code, 0, "{}", page.stderr);
    assert!(page.stdout.contains(".TH unisession 1"), "{}", page.stdout);
    assert!(page.stdout.contains("offboard"));
    let dir = tempfile::tempdir().unwrap();
    let out = run(bin(&["man", "--dir", dir.path().to_str().unwrap()])).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    for name in [
        "unisession",
        "unisession-offboard",
        "unisession-config-init",
    ] {
        let text = std::fs::read_to_string(dir.path().join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"));
        assert!(text.contains(&format!(".TH {name} 1")), "{text}");
    }
    let offboard = std::fs::read_to_string(dir.path().join("unisession-offboard.1")).unwrap();
    assert!(offboard.contains("journal"), "the options are documented");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_init_writes_a_template_that_works_once_filled_in() {
    let env = Env::start(EmulatorConfig::new().users(2)).await;
    let file = env.dir.path().join("new.toml");
    let path = file.to_str().unwrap();
    let out = run(bin(&["config", "init", "--output", path])).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    for kind in ["docspace", "rocketchat", "slack"] {
        assert!(text.contains(&format!("[providers.{kind}]")), "{text}");
    }
    assert!(
        text.lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count()
            > 10,
        "commented"
    );
    // No secret is ever asked for inline.
    let table: toml::Table = toml::from_str(&text).unwrap();
    for (_, provider) in table["providers"].as_table().unwrap() {
        for key in provider.as_table().unwrap().keys() {
            assert!(
                !["token", "password", "api_key", "secret"].contains(&key.as_str()),
                "{key}"
            );
        }
    }

    // Written again: refused, the file unchanged.
    std::fs::write(&file, "# mine\n").unwrap();
    let again = run(bin(&["config", "init", "--output", path])).await;
    assert_one_line_error(&again, 2, "--force");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
    let unknown = run(bin(&["config", "init", "--kind", "jira", "-o", "-"])).await;
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("not a provider kind"),
        "{}",
        unknown.stderr
    );

    // Only the kinds asked for, filled in with the emulators' addresses: it works.
    let out = run(bin(&[
        "config",
        "init",
        "--kind",
        "rocketchat",
        "--kind",
        "slack",
        "--output",
        path,
        "--force",
    ]))
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("[providers.docspace]"));
    let rc = env.emulator.rocketchat().unwrap();
    let slack = env.emulator.slack().unwrap();
    let filled = text
        .replace("https://chat.corp.example/", &rc.base_url().to_string())
        .replace("aobEdbYhXfu5hkeqG", &rc.credentials().admin_user_id)
        .replace(
            "kind = \"slack\"",
            &format!("kind = \"slack\"\nbase_url = \"{}\"", slack.base_url()),
        );
    std::fs::write(&file, filled).unwrap();
    let mut check = bin(&["--config", path, "config", "check"]);
    check
        .env("ROCKETCHAT_TOKEN", &rc.credentials().admin_pat)
        .env("SLACK_ADMIN_TOKEN", env.slack_token());
    let out = run(check).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("valid"), "{}", out.stdout);
}
