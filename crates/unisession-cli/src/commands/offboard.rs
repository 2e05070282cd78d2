//! `unisession plan` and `unisession offboard`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use unisession::ErrorKind;
use unisession::fleet::{
    Fleet, JournalError, ManyReport, OffboardOptions, Plan, Progress, Report, Resolution,
    ResolutionPlan, ResolveWay, Subject, Summary,
};

use std::path::{Path, PathBuf};

use super::{Context, report_exit};
use crate::cli::OffboardArgs;
use crate::error::{CliError, Exit};
use crate::evidence::{self, trail};
use crate::{output, people};

#[derive(Serialize)]
struct PlanOutput<'a> {
    command: &'static str,
    #[serde(flatten)]
    plan: &'a Plan,
}

fn plan_exit(plans: &[&Plan]) -> Exit {
    let errors: Vec<ErrorKind> = plans
        .iter()
        .flat_map(|p| &p.providers)
        .filter_map(|p| match &p.resolution {
            Resolution::Failed { error } => Some(error.kind),
            _ => None,
        })
        .collect();
    if errors.contains(&ErrorKind::Unauthenticated) {
        Exit::Unauthenticated
    } else if errors.is_empty() {
        Exit::Complete
    } else {
        Exit::Partial
    }
}

pub(crate) async fn show_plan(
    ctx: &Context<'_>,
    fleet: &Fleet,
    subject: &Subject,
    command: &'static str,
) -> Result<Exit, CliError> {
    let plan = fleet.plan(subject).await;
    if ctx.json() {
        ctx.print(&output::json(&PlanOutput {
            command,
            plan: &plan,
        }));
    } else {
        ctx.print(&format!(
            "Plan for {} (dry run: nothing is revoked)",
            plan.subject
        ));
        ctx.print(&output::plan_table(&plan));
    }
    Ok(plan_exit(&[&plan]))
}

#[derive(Serialize)]
struct ReportOutput<'a> {
    command: &'static str,
    #[serde(flatten)]
    report: &'a Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a evidence::Written>,
}

pub(crate) fn show_report(
    ctx: &Context<'_>,
    report: &Report,
    command: &'static str,
) -> Result<(), CliError> {
    show_report_with(ctx, report, command, None)
}

fn show_report_with(
    ctx: &Context<'_>,
    report: &Report,
    command: &'static str,
    evidence: Option<&evidence::Written>,
) -> Result<(), CliError> {
    if ctx.json() {
        ctx.print(&output::json(&ReportOutput {
            command,
            report,
            evidence,
        }));
    } else {
        ctx.print(&output::report_table(report));
        if report.is_complete() {
            ctx.print(&format!("{}: complete.", report.subject));
        } else {
            for (provider, why) in report.problems() {
                ctx.print(&format!(
                    "{}: NOT done in {provider}: {why}",
                    report.subject
                ));
            }
        }
        if let Some(written) = evidence {
            ctx.print(&written.line());
        }
    }
    Ok(())
}

/// Where a run with `--evidence` writes its audit trail, and how long the trail was
/// before: the run's records are the lines after.
pub(crate) struct Trail {
    pub(crate) path: PathBuf,
    start: usize,
}

impl Trail {
    pub(crate) fn open(
        ctx: &Context<'_>,
        evidence: Option<&Path>,
    ) -> Result<Option<Self>, CliError> {
        let Some(file) = evidence else {
            return Ok(None);
        };
        let path = ctx
            .cli
            .audit
            .clone()
            .unwrap_or_else(|| evidence::default_trail(file));
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::usage(format!("{}: cannot create: {e}", parent.display()))
            })?;
        }
        let start = trail::line_count(&path)?;
        Ok(Some(Self { path, start }))
    }

    /// Builds and writes the evidence of the pairs `reports` holds.
    pub(crate) fn write(
        &self,
        file: &Path,
        command: &str,
        journal: Option<&Path>,
        configuration: evidence::Configuration,
        reports: &[&Report],
    ) -> Result<evidence::Written, CliError> {
        let start = self.start;
        let extract = trail::extract(&self.path, |line, _| line > start)?;
        let started = reports.iter().map(|r| r.started_at).min();
        let finished = reports.iter().map(|r| r.finished_at).max();
        let now = chrono::Utc::now();
        let outcomes = reports
            .iter()
            .flat_map(|r| {
                r.providers.iter().map(|p| evidence::Outcome {
                    subject: &r.subject,
                    report: p,
                    recorded_at: None,
                })
            })
            .collect();
        let evidence = evidence::build(evidence::Inputs {
            source: evidence::Source {
                command: command.to_owned(),
                journal: journal.map(|j| j.display().to_string()),
            },
            run: evidence::RunTimes::new(started.unwrap_or(now), finished.unwrap_or(now)),
            configuration,
            outcomes,
            unrecorded_people: 0,
            trail: extract,
            gaps: Vec::new(),
        });
        evidence::write(&evidence, file)
    }
}

pub(crate) async fn plan(ctx: &Context<'_>, email: &str) -> Result<Exit, CliError> {
    let config = ctx.config()?;
    let fleet = ctx.fleet(ctx.providers(&config, &[])?)?;
    show_plan(ctx, &fleet, &Subject::email(email), "plan").await
}

pub(crate) async fn offboard(ctx: &Context<'_>, args: &OffboardArgs) -> Result<Exit, CliError> {
    let config = ctx.config()?;
    let providers = ctx.providers(&config, &[])?;
    let names: Vec<String> = providers.iter().map(|(n, _)| n.clone()).collect();
    let trail = Trail::open(ctx, args.evidence.as_deref())?;
    // A run that may be reported on later counts what it revokes.
    let count_before = args.evidence.is_some() || args.journal.is_some();
    let fleet = ctx
        .fleet_builder_with_trail(
            providers,
            trail
                .as_ref()
                .map(|t| t.path.as_path())
                .or(ctx.cli.audit.as_deref()),
        )?
        .count_before(count_before)
        .build()?;
    let configuration = || evidence::configuration(&config, "run");
    match (&args.email, &args.file) {
        (Some(email), _) => {
            let subject = Subject::email(email);
            if args.dry_run {
                return show_plan(ctx, &fleet, &subject, "offboard --dry-run").await;
            }
            ctx.confirm(&format!(
                "log {} out of {} provider(s)",
                subject.key(),
                names.len()
            ))?;
            let report = fleet.offboard(&subject).await;
            let written = match (&trail, &args.evidence) {
                (Some(trail), Some(file)) => {
                    Some(trail.write(file, "offboard", None, configuration(), &[&report]))
                }
                _ => None,
            };
            let shown = written.as_ref().and_then(|w| w.as_ref().ok());
            show_report_with(ctx, &report, "offboard", shown)?;
            if let Some(Err(e)) = written {
                return Err(evidence_failed(e));
            }
            Ok(report_exit(&[&report]))
        }
        (None, Some(file)) => {
            let subjects = people::read(file, &names)?;
            if args.dry_run {
                return plan_many(ctx, &fleet, &subjects, args.concurrency).await;
            }
            ctx.confirm(&format!(
                "log {} people out of {} provider(s)",
                subjects.len(),
                names.len()
            ))?;
            let options = OffboardOptions::default().with_concurrency(args.concurrency);
            let report = many(&fleet, &subjects, args.journal.as_deref(), options).await?;
            finish_many(
                ctx,
                "offboard --file",
                trail.as_ref().zip(args.evidence.as_deref()),
                args.journal.as_deref(),
                configuration,
                &report,
            )
        }
        (None, None) => Err(CliError::usage("give an EMAIL or --file FILE")),
    }
}

/// The run happened; only its evidence is missing.
fn evidence_failed(error: CliError) -> CliError {
    CliError::partial(format!(
        "the run finished (its outcome is above) but no evidence was written: {}",
        error.message
    ))
}

#[derive(Serialize)]
struct PlansOutput {
    command: &'static str,
    /// How each provider would find the people: the way and its calls.
    resolution: Vec<ResolutionPlan>,
    plans: Vec<Plan>,
}

/// The planner's choice per provider, as a table.
fn resolution_table(plans: &[ResolutionPlan]) -> String {
    let rows = plans
        .iter()
        .map(|p| {
            let calls = match (p.way, p.scan_calls) {
                (ResolveWay::Scan, Some(pages)) => format!("{pages} (not {})", p.lookup_calls),
                (ResolveWay::Scan, None) => "?".to_owned(),
                _ => p.lookup_calls.to_string(),
            };
            let least = p.minimum_ms.map_or_else(
                || "-".to_owned(),
                |ms| format!("{:.1} s", ms as f64 / 1000.0),
            );
            vec![
                p.provider.clone(),
                p.people.to_string(),
                p.way.as_str().to_owned(),
                calls,
                least,
            ]
        })
        .collect();
    output::table(
        &["PROVIDER", "PEOPLE", "FIND BY", "CALLS", "AT LEAST"],
        rows,
    )
}

async fn plan_many(
    ctx: &Context<'_>,
    fleet: &Fleet,
    subjects: &[Subject],
    concurrency: usize,
) -> Result<Exit, CliError> {
    use futures::StreamExt;
    let resolution = fleet.plan_resolution(subjects).await;
    let plans: Vec<Plan> = futures::stream::iter(subjects)
        .map(|s| fleet.plan(s))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    if ctx.json() {
        ctx.print(&output::json(&PlansOutput {
            command: "offboard --file --dry-run",
            resolution,
            plans: plans.clone(),
        }));
    } else {
        ctx.print(&resolution_table(&resolution));
        for p in resolution.iter().filter(|p| p.way == ResolveWay::Scan) {
            ctx.print(&format!("{}: {}", p.provider, p.reason));
        }
        for plan in &plans {
            ctx.print(&format!("{} (dry run)", plan.subject));
            ctx.print(&output::plan_table(plan));
        }
    }
    Ok(plan_exit(&plans.iter().collect::<Vec<_>>()))
}

#[derive(Serialize)]
struct ManyOutput<'a> {
    command: &'static str,
    #[serde(flatten)]
    report: &'a ManyReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a evidence::Written>,
}

pub(crate) async fn many(
    fleet: &Fleet,
    subjects: &[Subject],
    journal: Option<&Path>,
    options: OffboardOptions,
) -> Result<ManyReport, CliError> {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} pairs  {elapsed_precise}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress_bar = bar.clone();
    let options = options.with_progress(move |event| match event {
        Progress::Started { pairs, done } => {
            progress_bar.set_length(*pairs as u64);
            progress_bar.set_position(*done as u64);
        }
        Progress::PairDone {
            subject,
            provider,
            outcome,
        } => {
            progress_bar.inc(1);
            progress_bar.set_message(format!("{subject} @ {provider}: {outcome}"));
        }
        Progress::Finished => progress_bar.finish_and_clear(),
        _ => {}
    });
    let report = fleet
        .offboard_many(subjects, journal, &options)
        .await
        .map_err(|e| match e {
            // Refused at opening: nothing was done.
            JournalError::Mismatch { .. } | JournalError::Corrupt { .. } => {
                CliError::usage(e.to_string())
            }
            // A write failed, perhaps mid-run: some pairs may be done.
            _ => CliError::partial(format!(
                "{e}; pairs finished before it may be done: fix the cause and rerun with the same journal"
            )),
        })?;
    bar.finish_and_clear();
    Ok(report)
}

/// A many-person run's end: its evidence written where asked (`(trail, FILE)`), its
/// report shown, and its exit.
pub(crate) fn finish_many(
    ctx: &Context<'_>,
    command: &'static str,
    evidence: Option<(&Trail, &Path)>,
    journal: Option<&Path>,
    configuration: impl FnOnce() -> evidence::Configuration,
    report: &ManyReport,
) -> Result<Exit, CliError> {
    let reports: Vec<&Report> = report.reports.iter().collect();
    let written = evidence
        .map(|(trail, file)| trail.write(file, command, journal, configuration(), &reports));
    let shown = written.as_ref().and_then(|w| w.as_ref().ok());
    show_many(ctx, command, report, shown);
    if let Some(Err(e)) = written {
        return Err(evidence_failed(e));
    }
    Ok(report_exit(&reports))
}

fn show_many(
    ctx: &Context<'_>,
    command: &'static str,
    report: &ManyReport,
    evidence: Option<&evidence::Written>,
) {
    if ctx.json() {
        ctx.print(&output::json(&ManyOutput {
            command,
            report,
            evidence,
        }));
        return;
    }
    ctx.print(&summary_table(&report.summary));
    for person in report.reports.iter().filter(|r| !r.is_complete()) {
        for (provider, why) in person.problems() {
            ctx.print(&format!(
                "{}: NOT done in {provider}: {why}",
                person.subject
            ));
        }
    }
    let complete = report.reports.iter().filter(|r| r.is_complete()).count();
    ctx.print(&format!(
        "{complete} of {} people complete ({} pair(s) resumed from the journal).",
        report.reports.len(),
        report.resumed
    ));
    if let Some(written) = evidence {
        ctx.print(&written.line());
    }
}

pub(crate) fn summary_table(summary: &Summary) -> String {
    let rows = [
        ("revoked", summary.revoked),
        ("queued", summary.queued),
        ("already clean", summary.already_clean),
        ("user not found", summary.user_not_found),
        ("unsupported", summary.unsupported),
        ("failed", summary.failed),
        ("still active after revoking", summary.still_active),
        ("unverifiable", summary.unverifiable),
    ]
    .into_iter()
    .map(|(what, n)| vec![what.to_owned(), n.to_string()])
    .collect();
    output::table(&["OUTCOME", "PAIRS"], rows)
}
