//! `unisession plan` and `unisession offboard`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use unisession::ErrorKind;
use unisession::fleet::{
    Fleet, JournalError, ManyReport, OffboardOptions, Plan, Progress, Report, Resolution, Subject,
    Summary,
};

use super::{Context, report_exit};
use crate::cli::OffboardArgs;
use crate::error::{CliError, Exit};
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
}

pub(crate) fn show_report(
    ctx: &Context<'_>,
    report: &Report,
    command: &'static str,
) -> Result<(), CliError> {
    if ctx.json() {
        ctx.print(&output::json(&ReportOutput { command, report }));
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
    }
    Ok(())
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
    let fleet = ctx.fleet(providers)?;
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
            show_report(ctx, &report, "offboard")?;
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
            many(ctx, &fleet, &subjects, args).await
        }
        (None, None) => Err(CliError::usage("give an EMAIL or --file FILE")),
    }
}

#[derive(Serialize)]
struct PlansOutput {
    command: &'static str,
    plans: Vec<Plan>,
}

async fn plan_many(
    ctx: &Context<'_>,
    fleet: &Fleet,
    subjects: &[Subject],
    concurrency: usize,
) -> Result<Exit, CliError> {
    use futures::StreamExt;
    let plans: Vec<Plan> = futures::stream::iter(subjects)
        .map(|s| fleet.plan(s))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    if ctx.json() {
        ctx.print(&output::json(&PlansOutput {
            command: "offboard --file --dry-run",
            plans: plans.clone(),
        }));
    } else {
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
}

async fn many(
    ctx: &Context<'_>,
    fleet: &Fleet,
    subjects: &[Subject],
    args: &OffboardArgs,
) -> Result<Exit, CliError> {
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
    let options = OffboardOptions::default()
        .with_concurrency(args.concurrency)
        .with_progress(move |event| match event {
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
        .offboard_many(subjects, args.journal.as_deref(), &options)
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
    if ctx.json() {
        ctx.print(&output::json(&ManyOutput {
            command: "offboard --file",
            report: &report,
        }));
    } else {
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
    }
    Ok(report_exit(&report.reports.iter().collect::<Vec<_>>()))
}

fn summary_table(summary: &Summary) -> String {
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
