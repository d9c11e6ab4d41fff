//! `fusion sync`: one run of one connection now — a manual run (with `--since`, which sets the
//! baseline the first time), a run since where the last one stopped, or a dry run that lists what
//! a run would do and writes nothing. Resolves the database and Autotask settings exactly as
//! `serve` does, runs through `SyncService::run`, and prints a summary (or one JSON object).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use fusion_autotask::AutotaskService;
use fusion_domain::sync::{PlannedTicket, RunStatus, SyncAction};
use fusion_domain::{RelationshipId, SyncReadiness};
use fusion_engine::{RunControl, RunObserver, RunSummary, SyncMode};
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::SecretString;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::SyncArgs;
use crate::commands::serve::{autotask_settings, open_store};
use crate::config_file::ConfigFile;
use crate::database_location::DatabaseLocation;
use crate::exit_status::{Completion, InvalidInput};
use crate::shutdown::shutdown_signal;

pub async fn run(
    args: SyncArgs,
    secret_key_from_environment: Option<SecretString>,
) -> anyhow::Result<Completion> {
    let relationship: RelationshipId = args.relationship.trim().parse().map_err(|_| {
        InvalidInput(format!(
            "--relationship {:?} is not a connection id; copy the id from the connection's page",
            args.relationship
        ))
    })?;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let mode = match (args.dry_run, since) {
        (true, since) => SyncMode::DryRun { since },
        (false, Some(since)) => SyncMode::Manual { since },
        (false, None) => SyncMode::Automatic,
    };

    let file = ConfigFile::load(args.config.file.as_deref())?;
    let database = DatabaseLocation::resolve(&file.database_args(&args.database))?;
    let autotask = autotask_settings(
        args.integration_code.or(file.autotask.integration_code),
        args.autotask_override.as_deref(),
    )?;
    let store = open_store(&database, secret_key_from_environment.as_ref()).await?;
    let Some(stored) = store
        .relationship(relationship)
        .await
        .context("cannot read the connection")?
    else {
        return Err(InvalidInput(format!(
            "there is no connection with the id {relationship} in {}",
            database.display_url()
        ))
        .into());
    };
    if matches!(mode, SyncMode::Automatic) && stored.readiness == SyncReadiness::InitialSyncRequired
    {
        return Err(InvalidInput(format!(
            "\"{}\" has not been synced yet: the first sync needs a start date, e.g. \
             fusion sync --relationship {relationship} --since 2026-11-01 (it sets the baseline)",
            stored.contract_name
        ))
        .into());
    }
    // The same API budget as the server's: this run counts towards each tenant's share and waits
    // when it is used up.
    let budget = crate::scheduler::budget_governor(
        store.clone(),
        fusion_engine::budget::BudgetSettings::default(),
    );
    if let Err(error) = budget.sync().await {
        tracing::warn!(%error, "could not read the API budget's counts");
    }
    let service = AutotaskService::with_gate(autotask, budget.clone())
        .context("cannot set up the Autotask client")?;
    let sync = crate::scheduler::sync_service_with(
        store,
        service,
        fusion_engine::EngineSettings::default(),
        Some(budget.clone()),
    );

    let started = Instant::now();
    let progress = (!args.json).then(|| Arc::new(Progress::new()));
    let control = match &progress {
        Some(progress) => RunControl::observed(progress.clone()),
        None => RunControl::default(),
    };
    let run = sync.run_with(relationship, mode.clone(), &control);
    tokio::pin!(run);
    // Ctrl-C: stop after the ticket in hand, so the run is recorded as stopped (not abandoned).
    let interrupted = shutdown_signal();
    tokio::pin!(interrupted);
    let outcome = tokio::select! {
        outcome = &mut run => outcome,
        () = &mut interrupted => {
            if let Some(progress) = &progress {
                progress.bar.println("Stopping after the ticket in hand…");
            }
            sync.stop_all();
            run.await
        }
    };
    if let Some(progress) = &progress {
        progress.bar.finish_and_clear();
    }
    if let Err(error) = budget.sync().await {
        tracing::warn!(%error, "could not record this run's API requests in the budget");
    }
    let summary = outcome.context("the sync did not run")?;
    let report = SyncReport::new(&summary, matches!(mode, SyncMode::DryRun { .. }), started);
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).context("cannot write the result")?
        );
    } else {
        print!("{}", report.text());
    }
    Ok(match summary.status {
        RunStatus::Success | RunStatus::NoTicketsFound => Completion::Succeeded,
        RunStatus::Running | RunStatus::Partial | RunStatus::Failed => Completion::CheckFailed,
    })
}

/// The progress bar on stderr (hidden when stderr is not a terminal): a spinner while changes
/// are read, then one step per ticket.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_message("reading changes from both sides…");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Self { bar }
    }
}

impl RunObserver for Progress {
    /// Called again as a run plans its next group: the bar grows, its position stays.
    fn planned(&self, tickets: usize) {
        self.bar.disable_steady_tick();
        self.bar.set_length(tickets as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} tickets  {elapsed_precise}  {msg}")
        {
            self.bar.set_style(style);
        }
        self.bar.set_message("");
    }

    fn ticket_done(&self, done: usize, _total: usize) {
        self.bar.set_position(done as u64);
    }
}

/// `2026-11-01` (midnight UTC) or an RFC 3339 time.
fn parse_since(raw: &str) -> Result<OffsetDateTime, InvalidInput> {
    let raw = raw.trim();
    if let Ok(time) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(time);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw, &format)
        .map(|date| date.midnight().assume_utc())
        .map_err(|_| {
            InvalidInput(format!(
                "--since {raw:?} is not a date; use 2026-11-01 (UTC midnight) or 2026-11-01T08:30:00Z"
            ))
        })
}

/// What the command prints.
#[derive(Debug, Serialize)]
struct SyncReport {
    dry_run: bool,
    status: &'static str,
    created: u32,
    updated: u32,
    closed: u32,
    failed: u32,
    skipped: u32,
    conflicts: u32,
    calls_used: u64,
    duration_ms: u128,
    error: Option<String>,
    /// Every write the run made (or, for a dry run, would make), in order.
    actions: Vec<String>,
    /// Failures and skips with their reasons.
    notes: Vec<String>,
}

impl SyncReport {
    fn new(summary: &RunSummary, dry_run: bool, started: Instant) -> Self {
        let mut actions = Vec::new();
        let mut notes = Vec::new();
        for action in summary.plan.actions() {
            match describe(action) {
                Described::Write(text) => actions.push(text),
                Described::Note(text) => notes.push(text),
                Described::Quiet => {}
            }
        }
        Self {
            dry_run,
            status: summary.status.label(),
            created: summary.counts.created,
            updated: summary.counts.updated,
            closed: summary.counts.closed,
            failed: summary.counts.failed,
            skipped: summary.counts.skipped,
            conflicts: summary.counts.conflicts,
            calls_used: summary.calls_used,
            duration_ms: started.elapsed().as_millis(),
            error: summary.error.clone(),
            actions,
            notes,
        }
    }

    fn text(&self) -> String {
        let mut text = String::new();
        if self.dry_run {
            text.push_str(&format!(
                "Dry run (nothing was written): {} action(s) planned\n",
                self.actions.len()
            ));
            for action in &self.actions {
                text.push_str(&format!("  - {action}\n"));
            }
        } else {
            text.push_str(&format!("Sync finished: {}\n", self.status));
        }
        text.push_str(&format!(
            "  {}created {}, updated {}, closed {}, failed {} (skipped {}, conflicts {})\n",
            if self.dry_run { "would have " } else { "" },
            self.created,
            self.updated,
            self.closed,
            self.failed,
            self.skipped,
            self.conflicts
        ));
        text.push_str(&format!(
            "  Autotask calls: {}, duration: {:.1} s\n",
            self.calls_used,
            self.duration_ms as f64 / 1000.0
        ));
        // Thousands of tickets skipped for the same reason make one line each.
        let mut grouped: Vec<(&str, usize)> = Vec::new();
        for note in &self.notes {
            match grouped.iter_mut().find(|(text, _)| *text == note.as_str()) {
                Some((_, count)) => *count += 1,
                None => grouped.push((note, 1)),
            }
        }
        for (note, count) in grouped {
            if count == 1 {
                text.push_str(&format!("  note: {note}\n"));
            } else {
                text.push_str(&format!("  note: {note} (×{count})\n"));
            }
        }
        if let Some(error) = &self.error {
            text.push_str(&format!("  error: {error}\n"));
        }
        text
    }
}

enum Described {
    Write(String),
    Note(String),
    Quiet,
}

fn planned(ticket: &PlannedTicket) -> String {
    match ticket {
        PlannedTicket::Existing(id) => format!("ticket {}", id.as_str()),
        PlannedTicket::Created => "the new ticket".to_owned(),
    }
}

/// One line per action, in the product's words.
fn describe(action: &SyncAction) -> Described {
    match action {
        SyncAction::CreateTicket {
            on, from, draft, ..
        } => Described::Write(format!(
            "create a ticket in the {} for ticket {} ({:?})",
            on.label(),
            from.as_str(),
            draft.title
        )),
        SyncAction::LinkExisting {
            source_number,
            target_number,
            ..
        } => Described::Write(format!(
            "link {source_number} (Source) with {target_number} (Target)"
        )),
        SyncAction::UpdateFields {
            on,
            ticket,
            changes,
            ..
        } => Described::Write(format!(
            "update {} on ticket {} in the {}",
            changes
                .iter()
                .map(|change| change.field.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            ticket.as_str(),
            on.label()
        )),
        SyncAction::AddComment { on, ticket, .. } => Described::Write(format!(
            "add a comment to {} in the {}",
            planned(ticket),
            on.label()
        )),
        SyncAction::AddAttachment {
            on, ticket, draft, ..
        } => Described::Write(format!(
            "attach {:?} to {} in the {}",
            draft.name,
            planned(ticket),
            on.label()
        )),
        SyncAction::AddTimeNote {
            on,
            ticket,
            carried,
            ..
        } => Described::Write(format!(
            "add a note to {} in the {} for the time entry {} ({})",
            planned(ticket),
            on.label(),
            carried.described,
            carried.change.as_str()
        )),
        SyncAction::CopyTimeEntry {
            on,
            ticket,
            write,
            carried,
            ..
        } => Described::Write(format!(
            "{} the time entry {} on {} in the {} ({} there)",
            match write {
                fusion_domain::sync::TimeEntryWrite::Create(_) => "log",
                fusion_domain::sync::TimeEntryWrite::Update { .. } => "change",
                fusion_domain::sync::TimeEntryWrite::Delete { .. } => "delete",
            },
            carried.described,
            planned(ticket),
            on.label(),
            carried.change.as_str()
        )),
        SyncAction::LinkTimeEntry { carried, .. } => Described::Write(format!(
            "record the time entry {} as copied already (found by its marker)",
            carried.described
        )),
        SyncAction::Close { on, ticket, .. } => {
            Described::Write(format!("close {} in the {}", planned(ticket), on.label()))
        }
        SyncAction::Skip { reason } => Described::Note(format!("skipped: {reason}")),
        SyncAction::Hold { reason } => Described::Note(format!("held back: {reason}")),
        SyncAction::Resume { .. } => {
            Described::Write("sync again: back in this relationship's company".to_owned())
        }
        SyncAction::FieldWarning { field, reason } => {
            Described::Note(format!("{field} fitted: {reason}"))
        }
        SyncAction::EndLink { reason, .. } => {
            Described::Write(format!("stop syncing this pair: {reason}"))
        }
        SyncAction::Conflict { field, winner } => {
            Described::Note(format!("conflict on {field}: the {} wins", winner.label()))
        }
        SyncAction::FieldFailure { field, reason } => {
            Described::Note(format!("{field} not synced: {reason}"))
        }
        SyncAction::AttachmentFailure { name, reason, .. } => {
            Described::Note(format!("attachment {name:?} not synced: {reason}"))
        }
        SyncAction::LinkComment { .. }
        | SyncAction::LinkAttachment { .. }
        | SyncAction::LinkTimeNote { .. }
        | SyncAction::ClosedState { .. } => Described::Quiet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_date_is_midnight_utc_and_a_time_is_taken_as_given() {
        assert_eq!(
            parse_since("2026-11-01").expect("a date"),
            time::macros::datetime!(2026-11-01 00:00 UTC)
        );
        assert_eq!(
            parse_since("2026-11-01T08:30:00+01:00").expect("a time"),
            time::macros::datetime!(2026-11-01 07:30 UTC)
        );
        assert!(parse_since("last tuesday").is_err());
    }

    #[test]
    fn the_summary_groups_repeated_notes_and_says_what_a_dry_run_would_do() {
        let report = SyncReport {
            dry_run: true,
            status: "Success",
            created: 1,
            updated: 0,
            closed: 0,
            failed: 0,
            skipped: 3,
            conflicts: 0,
            calls_used: 6,
            duration_ms: 120,
            error: None,
            actions: vec!["create a ticket in the Target for ticket 7 (\"Printer\")".into()],
            notes: vec![
                "skipped: already in step".into(),
                "skipped: already in step".into(),
                "skipped: raised on the target side and reverse sync is off".into(),
            ],
        };
        let text = report.text();
        assert!(text.contains("1 action(s) planned"), "{text}");
        assert!(text.contains("would have created 1"), "{text}");
        assert!(text.contains("skipped: already in step (×2)"), "{text}");
        assert!(text.contains("Autotask calls: 6"), "{text}");
    }
}
