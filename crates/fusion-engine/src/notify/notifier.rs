//! [`Notifier`]: problems opened and resolved, each told once to every organisation that wants
//! it. Callers: the `SyncService` after every run (through [`crate::SyncHooks`]) and on every
//! scheduler tick, `Connections` when a connection is paused, resumed or ended, and the engine
//! for attention items ([`Notifier::attention_item_opened`]).

use std::sync::Arc;

use async_trait::async_trait;
use fusion_domain::sync::RunStatus;
use fusion_domain::{Clock, OrgId, Relationship, RelationshipId, RelationshipState};

use super::channels::NotificationChannels;
use super::event::{ConnectionRef, EventFact, EventKind, EventPhase, NotificationEvent};
use super::settings::load_settings;
use crate::ports::{AppStore, StoreError};
use crate::service::{ServiceError, SetupError, SyncHooks};
use crate::{PlatformTenants, RunSummary};

/// When the notifier speaks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifierSettings {
    /// A connection with automatic sync "has not synced" once its last successful run started
    /// more than this many intervals ago.
    pub not_synced_intervals: u32,
    /// Per cent of this server's hourly API budget of a tenant at which "nearly used up" opens;
    /// it is resolved below three quarters of this.
    pub budget_warning_percent: u32,
}

impl Default for NotifierSettings {
    fn default() -> Self {
        Self {
            not_synced_intervals: 3,
            budget_warning_percent: 80,
        }
    }
}

/// A new attention item, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttentionNotice {
    pub relationship: RelationshipId,
    /// Stable id of the item within the relationship (its problem key is
    /// `attention_item:<relationship>:<item>`).
    pub item: String,
    /// The ticket number on the source side, if there is a ticket there.
    pub source_ticket: Option<String>,
    /// The ticket number on the target side, if it was created.
    pub target_ticket: Option<String>,
    /// "Attachment report.pdf", "Ticket create", …
    pub what_failed: String,
    pub why: String,
    pub what_to_do: String,
}

/// Opens and resolves problems and sends their notifications. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<NotifierInner>,
}

struct NotifierInner {
    store: Arc<dyn AppStore>,
    channels: Arc<dyn NotificationChannels>,
    clock: Arc<dyn Clock>,
    settings: NotifierSettings,
    /// The request budget per tenant (the API budget check); none: no budget events.
    tenants: Option<Arc<dyn PlatformTenants>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// A problem about to be opened or resolved, before it is addressed to an organisation.
pub(super) struct Problem {
    pub kind: EventKind,
    pub key: String,
    pub connection: Option<ConnectionRef>,
    pub title: String,
    /// Facts of the "opened" notification.
    pub facts: Vec<EventFact>,
}

impl Notifier {
    pub fn new(
        store: Arc<dyn AppStore>,
        channels: Arc<dyn NotificationChannels>,
        clock: Arc<dyn Clock>,
        settings: NotifierSettings,
        tenants: Option<Arc<dyn PlatformTenants>>,
    ) -> Self {
        Self {
            inner: Arc::new(NotifierInner {
                store,
                channels,
                clock,
                settings,
                tenants,
            }),
        }
    }

    pub(super) fn store(&self) -> &dyn AppStore {
        self.inner.store.as_ref()
    }

    pub(super) fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    pub(super) fn settings(&self) -> NotifierSettings {
        self.inner.settings
    }

    pub(super) fn tenants(&self) -> Option<&dyn PlatformTenants> {
        self.inner.tenants.as_deref()
    }

    /// A run of `relationship` ended: Failed opens `run_failed:<relationship>` for both sides,
    /// anything else resolves it.
    pub async fn run_finished(
        &self,
        relationship: RelationshipId,
        status: RunStatus,
        error: Option<&str>,
    ) {
        let key = format!("{}:{relationship}", EventKind::RunFailed.code());
        match status {
            RunStatus::Running => {}
            RunStatus::Failed => {
                let reason = error.unwrap_or("the run failed without a reason");
                self.open_for_connection(relationship, |connection| Problem {
                    kind: EventKind::RunFailed,
                    key: key.clone(),
                    title: format!("Sync failed: {}", connection.name),
                    connection: Some(connection),
                    facts: vec![
                        EventFact::new("why", "Why", reason),
                        EventFact::new(
                            "what_to_do",
                            "What to do",
                            "Open the connection's Sync page for the run's details. If the \
                             credentials stopped working, enter the API username and secret \
                             again in Settings and press Test connection; the next run then \
                             carries on where the last good one stopped.",
                        ),
                    ],
                })
                .await;
            }
            RunStatus::Success | RunStatus::Partial | RunStatus::NoTicketsFound => {
                self.resolve_for_connection(relationship, EventKind::RunFailed, &key, |name| {
                    format!("Sync failed: {name}")
                })
                .await;
            }
        }
    }

    /// A new attention item of `notice.relationship`, told to both sides once.
    pub async fn attention_item_opened(&self, notice: &AttentionNotice) {
        let key = attention_key(notice.relationship, &notice.item);
        let mut facts = Vec::new();
        if let Some(ticket) = &notice.source_ticket {
            facts.push(EventFact::new("source_ticket", "Source ticket", ticket));
        }
        if let Some(ticket) = &notice.target_ticket {
            facts.push(EventFact::new("target_ticket", "Target ticket", ticket));
        }
        facts.push(EventFact::new(
            "what_failed",
            "What failed",
            &notice.what_failed,
        ));
        facts.push(EventFact::new("why", "Why", &notice.why));
        facts.push(EventFact::new(
            "what_to_do",
            "What to do",
            &notice.what_to_do,
        ));
        let ticket = notice
            .source_ticket
            .clone()
            .or_else(|| notice.target_ticket.clone())
            .unwrap_or_else(|| notice.what_failed.clone());
        self.open_for_connection(notice.relationship, |connection| Problem {
            kind: EventKind::AttentionItem,
            key: key.clone(),
            title: format!("Ticket {ticket} needs attention: {}", connection.name),
            connection: Some(connection),
            facts: facts.clone(),
        })
        .await;
    }

    /// The attention item `item` of `relationship` was cleared (fixed, skipped or retried
    /// successfully): one "resolved" to each side that was told.
    pub async fn attention_item_resolved(&self, relationship: RelationshipId, item: &str) {
        let key = attention_key(relationship, item);
        self.resolve_for_connection(relationship, EventKind::AttentionItem, &key, |name| {
            format!("A ticket needs attention: {name}")
        })
        .await;
    }

    /// `relationship` changed state through `by`: Paused or Ended opens a problem for both
    /// sides, Active (resumed) resolves the pause.
    pub async fn connection_changed(&self, relationship: &Relationship, by: OrgId) {
        let paused_key = format!("connection_paused:{}", relationship.id);
        let by_name = self
            .organisation_name(by)
            .await
            .unwrap_or_else(|| "The partner".to_owned());
        let (key, verb) = match relationship.state {
            RelationshipState::Paused => (paused_key, "paused"),
            RelationshipState::Ended => (format!("connection_ended:{}", relationship.id), "ended"),
            RelationshipState::Active => {
                self.resolve_for_connection(
                    relationship.id,
                    EventKind::ConnectionChanged,
                    &paused_key,
                    |name| format!("Connection paused: {name}"),
                )
                .await;
                return;
            }
            RelationshipState::Pending | RelationshipState::Revoked => return,
        };
        let what_to_do = if relationship.state == RelationshipState::Paused {
            "Nothing syncs until the connection is resumed on the Connections page."
        } else {
            "Nothing syncs on this connection any more; links and history are kept. Create a new \
             connection to sync again."
        };
        self.open_for_connection(relationship.id, |connection| Problem {
            kind: EventKind::ConnectionChanged,
            key: key.clone(),
            title: format!("Connection {verb}: {}", connection.name),
            connection: Some(connection),
            facts: vec![
                EventFact::new("what", "What", format!("{by_name} {verb} the connection.")),
                EventFact::new("what_to_do", "What to do", what_to_do),
            ],
        })
        .await;
    }

    /// The scheduler's periodic checks: connections that have not synced for too long, and API
    /// budgets nearly used up.
    pub async fn check_periodically(&self) {
        self.check_not_synced().await;
        self.check_budgets().await;
    }

    // ---- addressing and sending ----

    async fn organisation_name(&self, org: OrgId) -> Option<String> {
        self.inner.store.organisation_name(org).await.ok().flatten()
    }

    /// The connection's organisations and how people name it, or `None` (logged) when it
    /// cannot be read.
    pub(super) async fn connection(
        &self,
        relationship: RelationshipId,
    ) -> Option<(Vec<OrgId>, ConnectionRef)> {
        let found = match self.inner.store.relationship(relationship).await {
            Ok(found) => found?,
            Err(error) => {
                tracing::warn!(%relationship, %error, "notifications: could not read the connection");
                return None;
            }
        };
        let mut organisations = vec![found.initiator];
        organisations.extend(found.partner);
        let mut names = Vec::new();
        for org in &organisations {
            names.push(
                self.organisation_name(*org)
                    .await
                    .unwrap_or_else(|| "an organisation".to_owned()),
            );
        }
        Some((
            organisations,
            ConnectionRef {
                id: relationship,
                name: format!("{} ({})", found.contract_name, names.join(" ↔ ")),
            },
        ))
    }

    async fn open_for_connection(
        &self,
        relationship: RelationshipId,
        problem: impl Fn(ConnectionRef) -> Problem,
    ) {
        if let Some((organisations, connection)) = self.connection(relationship).await {
            self.open(&organisations, &problem(connection)).await;
        }
    }

    async fn resolve_for_connection(
        &self,
        relationship: RelationshipId,
        kind: EventKind,
        key: &str,
        title: impl Fn(&str) -> String,
    ) {
        let Some((organisations, connection)) = self.connection(relationship).await else {
            return;
        };
        let problem = Problem {
            kind,
            key: key.to_owned(),
            title: title(&connection.name),
            connection: Some(connection),
            facts: Vec::new(),
        };
        self.resolve(&organisations, &problem).await;
    }

    /// Opens `problem` for each organisation that wants its kind; the organisations for which
    /// it is new are told.
    pub(super) async fn open(&self, organisations: &[OrgId], problem: &Problem) {
        for &org in organisations {
            if let Err(error) = self.open_one(org, problem).await {
                tracing::warn!(org_id = %org, problem = %problem.key, %error, "notifications: could not record a problem");
            }
        }
    }

    async fn open_one(&self, org: OrgId, problem: &Problem) -> Result<(), StoreError> {
        let settings = load_settings(self.inner.store.as_ref(), org).await?;
        if !settings.wants(problem.kind) {
            return Ok(());
        }
        let summary = problem
            .facts
            .iter()
            .find(|fact| fact.key == "why" || fact.key == "what")
            .map_or_else(|| problem.title.clone(), |fact| fact.value.clone());
        let opened = self
            .inner
            .store
            .open_notification_problem(
                org,
                &problem.key,
                problem.kind,
                &summary,
                self.inner.clock.now(),
            )
            .await?;
        if opened {
            self.deliver(org, &settings, problem, EventPhase::Opened)
                .await?;
        }
        Ok(())
    }

    /// Resolves `problem` for each organisation; those it was open for (and that still want
    /// its kind) are told once.
    pub(super) async fn resolve(&self, organisations: &[OrgId], problem: &Problem) {
        for &org in organisations {
            let result = async {
                let resolved = self
                    .inner
                    .store
                    .resolve_notification_problem(org, &problem.key, self.inner.clock.now())
                    .await?;
                if resolved {
                    let settings = load_settings(self.inner.store.as_ref(), org).await?;
                    if settings.wants(problem.kind) {
                        self.deliver(org, &settings, problem, EventPhase::Resolved)
                            .await?;
                    }
                }
                Ok::<(), StoreError>(())
            }
            .await;
            if let Err(error) = result {
                tracing::warn!(org_id = %org, problem = %problem.key, %error, "notifications: could not resolve a problem");
            }
        }
    }

    async fn deliver(
        &self,
        org: OrgId,
        settings: &super::NotificationSettings,
        problem: &Problem,
        phase: EventPhase,
    ) -> Result<(), StoreError> {
        let facts = match phase {
            EventPhase::Resolved => vec![EventFact::new(
                "what",
                "What",
                "This works again; nothing more to do.",
            )],
            _ => problem.facts.clone(),
        };
        let event = NotificationEvent {
            kind: problem.kind,
            phase,
            problem_key: problem.key.clone(),
            organisation: org,
            connection: problem.connection.clone(),
            title: problem.title.clone(),
            facts,
            occurred_at: self.inner.clock.now(),
        };
        if !settings.email_recipients.is_empty() {
            match self
                .inner
                .channels
                .send_email(&settings.email_recipients, &event)
                .await
            {
                Ok(()) => {
                    tracing::info!(org_id = %org, problem = %event.problem_key, phase = phase.code(), "notification emailed")
                }
                Err(error) => {
                    tracing::warn!(org_id = %org, problem = %event.problem_key, %error, "notification email not delivered")
                }
            }
        }
        if let Some(url) = &settings.webhook_url {
            match self.inner.store.webhook_signing_secret(org).await? {
                None => {
                    tracing::warn!(org_id = %org, "notification webhook not called: it has no signing secret")
                }
                Some(secret) => {
                    match self.inner.channels.post_webhook(url, &secret, &event).await {
                        Ok(()) => {
                            tracing::info!(org_id = %org, problem = %event.problem_key, phase = phase.code(), "notification webhook called")
                        }
                        Err(error) => {
                            tracing::warn!(org_id = %org, problem = %event.problem_key, %error, "notification webhook not delivered")
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

use super::attention::attention_key;

#[async_trait]
impl SyncHooks for Notifier {
    async fn run_finished(
        &self,
        relationship: RelationshipId,
        result: &Result<RunSummary, ServiceError>,
        interrupted: bool,
    ) {
        if interrupted {
            // Stopped for shutdown or a lost lease: not a problem, the next run carries on.
            return;
        }
        match result {
            Ok(summary) => {
                self.run_finished(relationship, summary.status, summary.error.as_deref())
                    .await;
                self.reconcile_attention_items(relationship).await;
            }
            // An Active connection that could not even be set up (its credentials are
            // rejected or gone, …). A paused or ended one is not ready on purpose.
            Err(ServiceError::Setup(SetupError::NotReady(reason))) => {
                let active = matches!(
                    self.inner.store.relationship(relationship).await,
                    Ok(Some(found)) if found.state == RelationshipState::Active
                );
                if active {
                    self.run_finished(relationship, RunStatus::Failed, Some(reason))
                        .await;
                }
            }
            // Busy, stopping, a database hiccup: not the connection's problem.
            Err(_) => {}
        }
    }

    async fn scheduler_tick(&self) {
        self.check_periodically().await;
    }

    async fn attention_items(
        &self,
        relationship: RelationshipId,
        opened: &[AttentionNotice],
        cleared: &[String],
    ) {
        for notice in opened {
            self.attention_item_opened(notice).await;
        }
        for item in cleared {
            self.attention_item_resolved(relationship, item).await;
        }
    }
}
