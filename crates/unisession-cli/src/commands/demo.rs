//! `unisession demo`: three emulated providers, one person, listed, planned,
//! offboarded and verified, with no setup and no credentials.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::TryStreamExt;
use serde::Serialize;
use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::{Emulator, EmulatorConfig};
use unisession::fleet::{Plan, Report, Subject};
use unisession::{ListQuery, Session, SessionProvider, SessionProviderExt};

use super::{Context, report_exit};
use crate::cli::DemoArgs;
use crate::error::{CliError, Exit};
use crate::output;

const NEXT: &str = "\
Next: point unisession at your real providers.
  1. unisession config init       writes unisession.toml, a [providers.NAME] table per instance
  2. unisession config check      checks each credential with a harmless call
  3. unisession plan EMAIL        shows what would be revoked, revokes nothing
  4. unisession offboard EMAIL    logs the person out everywhere and verifies;
     with --evidence FILE it also writes the proof for auditors (HTML and JSON)";

#[derive(Serialize)]
struct Listing {
    provider: String,
    sessions: Option<Vec<Session>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Serialize)]
struct Output<'a> {
    command: &'static str,
    emulators: BTreeMap<&'static str, String>,
    person: &'a str,
    before: &'a [Listing],
    plan: &'a Plan,
    report: &'a Report,
    after: &'a [Listing],
    revoked_sessions: &'a BTreeMap<String, Vec<String>>,
}

/// What each provider shows of the person's sessions right now.
async fn listings(
    providers: &[(String, Arc<dyn SessionProvider>)],
    email: &str,
) -> Result<Vec<Listing>, CliError> {
    let mut out = Vec::new();
    for (name, provider) in providers {
        let caps = provider.capabilities();
        let listing = if !(caps.list_user_sessions || caps.list_all_sessions) {
            Listing {
                provider: name.clone(),
                sessions: None,
                note: Some(if caps.list_own_sessions {
                    "lists only the caller's own sessions: another user's cannot be shown"
                        .to_owned()
                } else {
                    "its API lists no sessions: it can only end them".to_owned()
                }),
            }
        } else {
            let email = unisession::Email::parse(email)?;
            let sessions = match provider.find_user(&email).await?.into_user() {
                None => Vec::new(),
                Some(user) => {
                    let query = if caps.list_user_sessions {
                        ListQuery::for_user(user.id.clone())
                    } else {
                        ListQuery::new()
                    };
                    provider
                        .list_all(query)
                        .try_filter(|s| std::future::ready(s.user == user.id))
                        .try_collect()
                        .await?
                }
            };
            Listing {
                provider: name.clone(),
                sessions: Some(sessions),
                note: None,
            }
        };
        out.push(listing);
    }
    Ok(out)
}

fn listing_table(listings: &[Listing]) -> String {
    let mut rows = Vec::new();
    let mut notes = output::Notes::default();
    for listing in listings {
        match &listing.sessions {
            Some(sessions) => rows.extend(output::session_rows(
                &listing.provider,
                sessions,
                true,
                &mut notes,
            )),
            None => rows.push(output::unlisted_row(
                &listing.provider,
                "cannot list",
                listing.note.clone().unwrap_or_default(),
                &mut notes,
            )),
        }
    }
    output::sessions_table(rows, &notes)
}

pub(crate) async fn run(ctx: &Context<'_>, args: &DemoArgs) -> Result<Exit, CliError> {
    let emulator = Emulator::start(EmulatorConfig::new().users(args.users.max(1)))
        .await
        .map_err(|e| CliError::partial(format!("could not start the emulators: {e}")))?;
    let person = emulator.people()[1].clone();
    // The demo's emulators enforce no rate limit: pacing may run much faster than
    // real providers need (1000 times), so the demo takes a second, not a minute.
    let providers = emulated::providers(
        &emulator,
        &EmulatedOptions::default().with_time_scale(1000.0),
    )?;
    let fleet = ctx.fleet(providers.clone())?;
    let subject = Subject::email(&person.email);
    let emulators: BTreeMap<&str, String> = emulator
        .served()
        .map(|served| (served.kind().as_str(), served.base_url()))
        .collect();
    if !ctx.json() {
        let titles: Vec<&str> = emulator
            .served()
            .filter_map(|served| unisession::registry::find(served.kind().as_str()))
            .map(|kind| kind.title)
            .collect();
        ctx.print(&format!(
            "unisession demo: {}, emulated on 127.0.0.1 with seeded people",
            and_list(&titles)
        ));
        for (name, url) in &emulators {
            ctx.print(&format!("  {name:<11} {url}"));
        }
        ctx.print(&format!("\n1. The sessions of {} everywhere", person.email));
    }
    let before = listings(&providers, &person.email).await?;
    if !ctx.json() {
        ctx.print(&listing_table(&before));
        ctx.print("\n2. The plan (dry run: nothing is revoked)");
    }
    let plan = fleet.plan(&subject).await;
    if !ctx.json() {
        ctx.print(&output::plan_table(&plan));
        let identity_first = plan.providers.iter().any(|p| p.step == 1);
        ctx.print(&format!(
            "\n3. Offboarding {}: {}, then a fresh listing (or the provider's own record) to verify",
            person.email,
            if identity_first {
                "the identity providers first, then every application at once"
            } else {
                "every provider at once"
            }
        ));
    }
    let report = fleet.offboard(&subject).await;
    let after = listings(&providers, &person.email).await?;
    let mut revoked: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (then, now) in before.iter().zip(&after) {
        if let (Some(sessions), Some(still)) = (&then.sessions, &now.sessions) {
            let gone = sessions
                .iter()
                .filter(|s| !still.iter().any(|n| n.id == s.id))
                .map(|s| s.id.to_string())
                .collect();
            revoked.insert(then.provider.clone(), gone);
        }
    }
    if ctx.json() {
        ctx.print(&output::json(&Output {
            command: "demo",
            emulators,
            person: &person.email,
            before: &before,
            plan: &plan,
            report: &report,
            after: &after,
            revoked_sessions: &revoked,
        }));
    } else {
        ctx.print(&output::report_table(&report));
        ctx.print("\n4. Revoked sessions, as a fresh listing shows");
        for (provider, ids) in &revoked {
            ctx.print(&format!(
                "  {provider:<11} {}",
                if ids.is_empty() {
                    "-".to_owned()
                } else {
                    ids.join(", ")
                }
            ));
        }
        for listing in after.iter().filter(|l| l.sessions.is_none()) {
            // Say what the provider answered, and how (if at all) it was checked.
            let pair = report
                .providers
                .iter()
                .find(|p| p.provider == listing.provider);
            let outcome = pair.map_or("not run", |p| p.outcome.name());
            let checked = match pair.and_then(|p| p.outcome.verification()) {
                Some(unisession::Verification::Confirmed { .. }) => {
                    "no listing exists, but its own record confirms it (see the note above)"
                }
                _ => {
                    "its sessions cannot be listed with this credential, so a fresh listing cannot confirm it"
                }
            };
            ctx.print(&format!(
                "  {:<11} {outcome}, as the provider answered; {checked}",
                listing.provider
            ));
        }
        let left: usize = after
            .iter()
            .filter_map(|l| l.sessions.as_ref())
            .map(Vec::len)
            .sum();
        ctx.print(&format!(
            "  sessions still listed for {}: {left}",
            person.email
        ));
        ctx.print(&format!(
            "\n{}: {}",
            person.email,
            if report.is_complete() {
                "complete, logged out of every provider."
            } else {
                "NOT complete: see the table above."
            }
        ));
        ctx.print(&format!("\n{NEXT}"));
    }
    Ok(report_exit(&[&report]))
}

/// `A, B and C`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
