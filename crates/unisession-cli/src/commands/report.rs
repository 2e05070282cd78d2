//! `unisession report JOURNAL`: what a finished `offboard --file` run did, from its
//! journal; with `--evidence`, the evidence from the journal and the run's audit
//! trail (`--audit`).

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;
use unisession::fleet::{JournalRecord, Summary};

use super::Context;
use super::offboard::summary_table;
use crate::cli::ReportArgs;
use crate::error::{CliError, Exit};
use crate::evidence::{self, trail};
use crate::output;

#[derive(Serialize)]
struct Output<'a> {
    command: &'static str,
    journal: String,
    people: usize,
    people_recorded: usize,
    people_complete: usize,
    summary: &'a Summary,
    complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a evidence::Written>,
}

/// The providers as the configuration names them now; names alone when it cannot
/// be read (a credential it names may be absent where the report is written).
fn configuration(
    ctx: &Context<'_>,
    names: &[String],
    gaps: &mut Vec<String>,
) -> evidence::Configuration {
    match ctx.config() {
        Ok(config) => {
            let mut configured = evidence::configuration(&config, "report");
            configured.providers.retain(|p| names.contains(&p.name));
            for name in names {
                if !configured.providers.iter().any(|p| &p.name == name) {
                    gaps.push(format!(
                        "the provider {name} of the run is no longer in the configuration: its kind and base URL are not shown"
                    ));
                    configured.providers.push(evidence::ConfiguredProvider {
                        name: name.clone(),
                        kind: None,
                        base_url: None,
                    });
                }
            }
            configured
        }
        Err(e) => {
            gaps.push(format!(
                "the configuration could not be read when this evidence was written ({}): providers are shown by name only",
                e.message
            ));
            evidence::Configuration {
                file: None,
                read_at: "report",
                providers: names
                    .iter()
                    .map(|name| evidence::ConfiguredProvider {
                        name: name.clone(),
                        kind: None,
                        base_url: None,
                    })
                    .collect(),
            }
        }
    }
}

pub(crate) fn run(ctx: &Context<'_>, args: &ReportArgs) -> Result<Exit, CliError> {
    let record = JournalRecord::read(&args.journal).map_err(|e| CliError::usage(e.to_string()))?;
    let latest = record.latest();
    let mut summary = Summary::default();
    let mut people: Vec<&str> = Vec::new();
    let mut not_done: BTreeSet<&str> = BTreeSet::new();
    for entry in &latest {
        summary.add(&entry.report.outcome);
        if !people.contains(&entry.subject.as_str()) {
            people.push(&entry.subject);
        }
        if !entry.report.outcome.is_done() {
            not_done.insert(&entry.subject);
        }
    }
    // A person is complete with every provider done.
    let pairs_of = |subject: &str| latest.iter().filter(|e| e.subject == subject).count();
    let complete_people = people
        .iter()
        .filter(|p| !not_done.contains(*p) && pairs_of(p) == record.providers.len())
        .count();
    let unrecorded = record.subjects.saturating_sub(people.len());
    let complete = complete_people == record.subjects;

    let written = match &args.evidence {
        None => None,
        Some(file) => {
            let Some(trail_path) = &ctx.cli.audit else {
                return Err(CliError::usage(
                    "--evidence summarises the run's audit trail: name it with --audit FILE (the file the run wrote)",
                ));
            };
            let subjects: HashSet<&str> = people.iter().copied().collect();
            let providers: HashSet<&str> = record.providers.iter().map(String::as_str).collect();
            let (from, to) = (record.created_at, record.finished_at());
            let extract = trail::extract(trail_path, |_, r| {
                r.time >= from
                    && r.time <= to
                    && providers.contains(r.provider.as_str())
                    && (subjects.contains(r.subject.as_str()) || evidence::is_shared(r))
            })?;
            let mut gaps = Vec::new();
            let configuration = configuration(ctx, &record.providers, &mut gaps);
            let outcomes = latest
                .iter()
                .map(|e| evidence::Outcome {
                    subject: &e.subject,
                    report: &e.report,
                    recorded_at: Some(e.at),
                })
                .collect();
            let built = evidence::build(evidence::Inputs {
                source: evidence::Source {
                    command: "report".to_owned(),
                    journal: Some(args.journal.display().to_string()),
                },
                run: evidence::RunTimes::new(record.created_at, record.finished_at()),
                configuration,
                outcomes,
                unrecorded_people: unrecorded,
                trail: extract,
                gaps,
            });
            Some(evidence::write(&built, file)?)
        }
    };

    if ctx.json() {
        ctx.print(&output::json(&Output {
            command: "report",
            journal: args.journal.display().to_string(),
            people: record.subjects,
            people_recorded: people.len(),
            people_complete: complete_people,
            summary: &summary,
            complete,
            evidence: written.as_ref(),
        }));
    } else {
        ctx.print(&format!(
            "Run of {} (journal {}): {} people, {} provider(s)",
            record.created_at.format("%Y-%m-%d %H:%M UTC"),
            args.journal.display(),
            record.subjects,
            record.providers.len()
        ));
        ctx.print(&summary_table(&summary));
        for entry in latest.iter().filter(|e| !e.report.outcome.is_done()) {
            ctx.print(&format!(
                "{}: NOT done in {}: {}",
                entry.subject,
                entry.report.provider,
                entry.report.outcome.name()
            ));
        }
        if unrecorded > 0 {
            ctx.print(&format!(
                "{unrecorded} people have no recorded outcome: the run did not finish them; run it again with the same journal."
            ));
        }
        ctx.print(&format!(
            "{complete_people} of {} people complete.",
            record.subjects
        ));
        if let Some(written) = &written {
            ctx.print(&written.line());
        }
    }
    Ok(if complete {
        Exit::Complete
    } else {
        Exit::Partial
    })
}
