//! Notifications end to end, in-process: the demo connection over the simulator (the sync
//! harness), the real delivery adapter with an SMTP sink and an HTTP receiver in the test
//! process, and the core's `Notifier` hooked into the `SyncService` exactly as `fusion serve`
//! does. A credentials failure is told once by email to each organisation and once to the
//! webhook; failing again tells nothing more; working again tells "resolved" once.

use std::sync::Arc;
use std::time::Duration;

use fusion_domain::sync::{RunStatus, SyncSchedule};
use fusion_domain::{Clock, ManualClock, OrgId, SystemClock};
use fusion_engine::notify::{
    EventKind, NotificationSettingsDraft, NotificationSettingsService, Notifier, NotifierSettings,
};
use fusion_engine::{Connections, LifecycleAction, SyncMode, WrongCodeThrottle};
use fusion_notify::{
    DeliveryChannels, SIGNATURE_HEADER, SmtpSecurity, SmtpSettings, WebhookSettings, sign,
};
use secrecy::{ExposeSecret, SecretString};

use crate::demo_connection::TARGET_ORGANISATION;
use crate::sinks::{HttpReceiver, ReceivedMail, SmtpSink};
use crate::sync_end_to_end::{Harness, active_user, tenant};

struct Notified {
    harness: Harness,
    sink: SmtpSink,
    receiver: HttpReceiver,
    channels: Arc<DeliveryChannels>,
    contoso: OrgId,
    northwind: OrgId,
    signing_secret: SecretString,
    /// The API user the connection uses in Northwind's tenant.
    northwind_user: String,
}

impl Notified {
    /// The demo connection with notifications on: Contoso by email and webhook, Northwind by
    /// email.
    async fn start() -> Notified {
        let harness = Harness::demo().await;
        let sink = SmtpSink::spawn().await;
        let receiver = HttpReceiver::spawn(200).await;
        let channels = Arc::new(
            DeliveryChannels::new(
                Some(&SmtpSettings {
                    host: "127.0.0.1".to_owned(),
                    port: sink.address.port(),
                    security: SmtpSecurity::None,
                    username: None,
                    password: None,
                    from: "Support Fusion <fusion@server.example>".to_owned(),
                    timeout: Duration::from_secs(5),
                }),
                WebhookSettings {
                    allowed_hosts: vec!["127.0.0.1".to_owned()],
                    timeout: Duration::from_secs(5),
                },
            )
            .expect("the channels build"),
        );
        let relationship = harness
            .store
            .relationship(harness.relationship)
            .await
            .expect("reads")
            .expect("exists");
        let contoso = relationship.initiator;
        let northwind = relationship.partner.expect("accepted");
        let settings = NotificationSettingsService::new(
            harness.store.clone(),
            channels.clone(),
            Arc::new(SystemClock),
        );
        let saved = settings
            .save(
                contoso,
                &NotificationSettingsDraft {
                    email_recipients: "ops@contoso.example".to_owned(),
                    webhook_url: receiver.url("/fusion-events"),
                    events: EventKind::all(),
                },
            )
            .await
            .expect("Contoso's settings save");
        let signing_secret = saved
            .new_signing_secret
            .expect("created with the webhook URL");
        settings
            .save(
                northwind,
                &NotificationSettingsDraft {
                    email_recipients: "noc@northwind.example".to_owned(),
                    webhook_url: String::new(),
                    events: EventKind::all(),
                },
            )
            .await
            .expect("Northwind's settings save");
        let tenants = harness.simulator().tenants();
        let (northwind_user, _) = active_user(tenant(&tenants, TARGET_ORGANISATION));
        Notified {
            northwind_user,
            harness,
            sink,
            receiver,
            channels,
            contoso,
            northwind,
            signing_secret,
        }
    }

    fn notifier(&self, clock: Arc<dyn Clock>) -> Notifier {
        Notifier::new(
            self.harness.store.clone(),
            self.channels.clone(),
            clock,
            NotifierSettings::default(),
            None,
        )
    }

    fn set_northwind_user_active(&self, active: bool) {
        assert!(self.harness.simulator().set_api_user_active(
            TARGET_ORGANISATION,
            &self.northwind_user,
            active
        ));
    }

    /// Every secret of the set-up: the tenants' API secrets and Contoso's signing secret.
    fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self
            .harness
            .simulator()
            .tenants()
            .iter()
            .flat_map(|tenant| tenant.api_users.iter().map(|user| user.secret.clone()))
            .collect();
        secrets.push(self.signing_secret.expose_secret().to_owned());
        secrets
    }

    fn assert_no_secret_in(&self, text: &str) {
        for secret in self.secrets() {
            assert!(!text.contains(&secret), "a secret leaked into: {text}");
        }
    }

    /// The emails and webhook calls sent so far and not yet taken (every delivery finished
    /// before the run that caused it returned).
    fn pending(&mut self) -> (Vec<ReceivedMail>, Vec<serde_json::Value>) {
        let mails = self.sink.pending();
        let hooks = self
            .receiver
            .pending()
            .into_iter()
            .map(|request| {
                assert_eq!(
                    request.header(SIGNATURE_HEADER),
                    format!("sha256={}", sign(&self.signing_secret, &request.body)),
                    "every event is signed with Contoso's secret"
                );
                self.assert_no_secret_in(&String::from_utf8_lossy(&request.body));
                request.json()
            })
            .collect();
        for mail in &mails {
            self.assert_no_secret_in(&mail.decoded());
        }
        (mails, hooks)
    }
}

fn recipients(mails: &[ReceivedMail]) -> Vec<String> {
    let mut all: Vec<String> = mails.iter().flat_map(|mail| mail.to.clone()).collect();
    all.sort();
    all
}

#[tokio::test]
async fn a_credentials_failure_is_told_once_and_its_recovery_once() {
    let mut notified = Notified::start().await;
    let sync = notified
        .harness
        .sync
        .clone()
        .with_hooks(Arc::new(notified.notifier(Arc::new(SystemClock))));
    let relationship = notified.harness.relationship;
    let baseline = sync
        .run(
            relationship,
            SyncMode::Manual {
                since: notified.harness.started,
            },
        )
        .await
        .expect("the first run runs");
    assert_eq!(baseline.status, RunStatus::NoTicketsFound);
    let (mails, hooks) = notified.pending();
    assert!(
        mails.is_empty() && hooks.is_empty(),
        "a working connection tells nothing"
    );

    notified.set_northwind_user_active(false);
    notified.harness.raise_in_contoso("Compressor alarm");
    let failed = sync.run(relationship, SyncMode::Automatic).await;
    let failed_status = failed.as_ref().map(|summary| summary.status);
    assert!(
        matches!(failed_status, Ok(RunStatus::Failed))
            || matches!(failed, Err(fusion_engine::ServiceError::Setup(_))),
        "the run fails on Northwind's credentials: {failed_status:?}"
    );
    let (mails, hooks) = notified.pending();
    assert_eq!(
        recipients(&mails),
        ["<noc@northwind.example>", "<ops@contoso.example>"],
        "one email to each organisation"
    );
    let text = mails[0].decoded();
    assert!(
        text.contains("Subject: [Support Fusion] Sync failed: "),
        "{text}"
    );
    assert!(text.to_lowercase().contains("authentication"), "{text}");
    assert!(text.contains("What to do:"), "{text}");
    assert_eq!(hooks.len(), 1, "one webhook event: {hooks:?}");
    assert_eq!(hooks[0]["event"], "run_failed");
    assert_eq!(hooks[0]["status"], "opened");
    assert_eq!(hooks[0]["organisation_id"], notified.contoso.to_string());
    assert_eq!(hooks[0]["connection"]["id"], relationship.to_string());
    assert!(
        hooks[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("[Support Fusion] Sync failed: "),
        "{}",
        hooks[0]
    );

    // One more failing run (each refused login counts: this server sends at most three an hour
    // per API username, so a third would pause the recovery below for the rest of the hour).
    let _still_failing = sync.run(relationship, SyncMode::Automatic).await;
    let (mails, hooks) = notified.pending();
    assert!(
        mails.is_empty(),
        "no second email while it keeps failing: {mails:?}"
    );
    assert!(
        hooks.is_empty(),
        "no second webhook while it keeps failing: {hooks:?}"
    );
    let open = notified
        .harness
        .store
        .open_notification_problems(notified.northwind)
        .await
        .expect("reads");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, EventKind::RunFailed);

    notified.set_northwind_user_active(true);
    let recovered = sync
        .run(relationship, SyncMode::Automatic)
        .await
        .expect("runs again");
    assert_ne!(recovered.status, RunStatus::Failed, "{:?}", recovered.error);
    let (mails, hooks) = notified.pending();
    assert_eq!(
        recipients(&mails),
        ["<noc@northwind.example>", "<ops@contoso.example>"],
        "one 'resolved' email to each organisation"
    );
    assert!(
        mails[0]
            .decoded()
            .contains("Subject: [Support Fusion] Resolved: Sync failed: "),
        "{}",
        mails[0].decoded()
    );
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["status"], "resolved");

    sync.run(relationship, SyncMode::Automatic)
        .await
        .expect("runs");
    let (mails, hooks) = notified.pending();
    assert!(mails.is_empty() && hooks.is_empty(), "resolved once only");
}

#[tokio::test]
async fn a_paused_connection_is_told_to_both_sides_and_resuming_resolves_it() {
    let mut notified = Notified::start().await;
    let connections = Connections::new(
        notified.harness.store.clone(),
        notified.harness.store.clone(),
        Arc::new(SystemClock),
        WrongCodeThrottle::new(5, Duration::from_secs(60)),
    );
    connections.set_notifier(notified.notifier(Arc::new(SystemClock)));
    let relationship = notified.harness.relationship;

    connections
        .perform(notified.northwind, relationship, LifecycleAction::Pause)
        .await
        .expect("Northwind pauses");
    // Told in a task of its own (the person's request does not wait for the mail server).
    let mut mails = vec![notified.sink.next().await, notified.sink.next().await];
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(
        recipients(&mails),
        ["<noc@northwind.example>", "<ops@contoso.example>"]
    );
    let text = mails[1].decoded();
    assert!(text.contains("Connection paused"), "{text}");
    assert!(
        text.contains(&format!("{TARGET_ORGANISATION} paused the connection.")),
        "{text}"
    );
    let hook = notified.receiver.next().await.json();
    assert_eq!(hook["event"], "connection_changed");
    assert_eq!(hook["status"], "opened");

    // "Sync now" on the paused connection is refused, and that is not a failure to tell.
    let sync = notified
        .harness
        .sync
        .clone()
        .with_hooks(Arc::new(notified.notifier(Arc::new(SystemClock))));
    let refused = sync
        .run(
            relationship,
            SyncMode::Manual {
                since: notified.harness.started,
            },
        )
        .await;
    assert!(refused.is_err(), "a paused connection does not sync");
    let (mails, hooks) = notified.pending();
    assert!(mails.is_empty() && hooks.is_empty(), "{mails:?} {hooks:?}");

    connections
        .perform(notified.contoso, relationship, LifecycleAction::Resume)
        .await
        .expect("Contoso resumes");
    let resolved = notified.sink.next().await;
    assert!(
        resolved.decoded().contains("Resolved: Connection paused"),
        "{}",
        resolved.decoded()
    );
    assert_eq!(notified.receiver.next().await.json()["status"], "resolved");
}

#[tokio::test]
async fn a_connection_that_has_not_synced_for_three_intervals_is_told_once() {
    let mut notified = Notified::start().await;
    let relationship = notified.harness.relationship;
    let sync = notified.harness.sync.clone();
    sync.run(
        relationship,
        SyncMode::Manual {
            since: notified.harness.started,
        },
    )
    .await
    .expect("the baseline run");
    notified
        .harness
        .store
        .set_sync_schedule(
            relationship,
            &SyncSchedule::new(true, time::Duration::minutes(5)).expect("valid"),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("automatic sync on");
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let notifier = notified.notifier(clock.clone());

    clock.advance(time::Duration::minutes(10));
    notifier.check_periodically().await;
    let (mails, hooks) = notified.pending();
    assert!(
        mails.is_empty() && hooks.is_empty(),
        "two intervals late is not yet a problem"
    );

    clock.advance(time::Duration::minutes(10));
    notifier.check_periodically().await;
    notifier.check_periodically().await;
    let (mails, hooks) = notified.pending();
    assert_eq!(mails.len(), 2, "one email per organisation, once");
    assert!(
        mails[0].decoded().contains("Not synced: "),
        "{}",
        mails[0].decoded()
    );
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["event"], "not_synced");

    // A run now, seen from a clock that is back in step: resolved once.
    sync.run(relationship, SyncMode::Automatic)
        .await
        .expect("runs");
    clock.set(time::OffsetDateTime::now_utc());
    notifier.check_periodically().await;
    let (mails, hooks) = notified.pending();
    assert_eq!(mails.len(), 2);
    assert_eq!(hooks[0]["status"], "resolved");
}

/// A platform that answers only the request budget (what the notifier's budget check asks).
struct BudgetOnly {
    limit: u32,
    used_by: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

impl BudgetOnly {
    fn set_used(&self, username: &str, used: u32) {
        self.used_by
            .lock()
            .unwrap()
            .insert(username.to_owned(), used);
    }
}

#[async_trait::async_trait]
impl fusion_engine::PlatformTenants for BudgetOnly {
    fn clean_input(&self, _: &str) -> fusion_engine::CleanedInput {
        unreachable!("the notifier only asks for the budget")
    }
    fn check_api_url(&self, _: &str) -> Result<String, fusion_engine::ApiUrlProblem> {
        unreachable!("the notifier only asks for the budget")
    }
    fn credential_help(&self, _: fusion_engine::CredentialField) -> fusion_engine::CredentialHelp {
        unreachable!("the notifier only asks for the budget")
    }
    async fn test_connection(
        &self,
        _: fusion_engine::TenantCredentials,
    ) -> fusion_domain::ConnectionTestReport {
        unreachable!("the notifier only asks for the budget")
    }
    async fn choices(
        &self,
        _: &fusion_engine::TenantCredentials,
        _: fusion_engine::Freshness,
    ) -> Result<Arc<fusion_engine::LiveChoices>, fusion_engine::TenantError> {
        unreachable!("the notifier only asks for the budget")
    }
    fn standard_ticket_fields(&self) -> Vec<fusion_engine::TicketField> {
        unreachable!("the notifier only asks for the budget")
    }
    fn default_field_mappings(
        &self,
        _: fusion_domain::RelationshipId,
    ) -> Vec<fusion_domain::FieldMapping> {
        unreachable!("the notifier only asks for the budget")
    }
    fn suggested_value_mappings(
        &self,
        _: &fusion_engine::TicketField,
        _: &fusion_engine::LiveChoices,
        _: &fusion_engine::LiveChoices,
    ) -> Vec<fusion_domain::ValueMapping> {
        unreachable!("the notifier only asks for the budget")
    }
    fn ticket_facts(&self) -> Vec<fusion_engine::TicketFact> {
        unreachable!("the notifier only asks for the budget")
    }
    fn ticket_type(&self) -> &'static str {
        unreachable!("the notifier only asks for the budget")
    }
    async fn preview(
        &self,
        _: &fusion_engine::TenantCredentials,
        _: &fusion_engine::PreviewTicket,
        _: &fusion_domain::ChoiceValue,
    ) -> Result<fusion_engine::TicketPreview, fusion_engine::TenantError> {
        unreachable!("the notifier only asks for the budget")
    }
    fn ticket_web_url(&self, _: &str, _: &fusion_domain::sync::TicketId) -> Option<String> {
        unreachable!("the notifier only asks for the budget")
    }
    fn hourly_request_limit(&self) -> Option<u32> {
        Some(self.limit)
    }
    fn requests_last_hour(&self, username: &str) -> Option<u32> {
        Some(
            self.used_by
                .lock()
                .unwrap()
                .get(username)
                .copied()
                .unwrap_or(0),
        )
    }

    fn budget_key(&self, _username: &str) -> Option<String> {
        None
    }
}

#[tokio::test]
async fn a_nearly_used_up_api_budget_is_told_to_its_organisation_once_and_resolved_once() {
    let mut notified = Notified::start().await;
    notified
        .harness
        .store
        .set_sync_schedule(
            notified.harness.relationship,
            &SyncSchedule::new(true, time::Duration::minutes(5)).expect("valid"),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("automatic sync on");
    let budget = Arc::new(BudgetOnly {
        limit: 100,
        used_by: std::sync::Mutex::default(),
    });
    let notifier = Notifier::new(
        notified.harness.store.clone(),
        notified.channels.clone(),
        Arc::new(SystemClock),
        NotifierSettings::default(),
        Some(budget.clone()),
    );
    let tenants = notified.harness.simulator().tenants();
    let (contoso_user, _) = active_user(tenant(
        &tenants,
        crate::demo_connection::SOURCE_ORGANISATION,
    ));

    budget.set_used(&contoso_user, 85);
    notifier.check_periodically().await;
    notifier.check_periodically().await;
    let (mails, hooks) = notified.pending();
    assert_eq!(
        recipients(&mails),
        ["<ops@contoso.example>"],
        "Contoso's tenant only, once"
    );
    let text = mails[0].decoded();
    assert!(text.contains("API budget nearly used up"), "{text}");
    assert!(
        text.contains("85% used: this server made 85 of its 100 requests"),
        "{text}"
    );
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["event"], "api_budget");

    budget.set_used(&contoso_user, 70);
    notifier.check_periodically().await;
    let (mails, hooks) = notified.pending();
    assert!(
        mails.is_empty() && hooks.is_empty(),
        "no flapping just under the threshold"
    );

    budget.set_used(&contoso_user, 40);
    notifier.check_periodically().await;
    let (mails, hooks) = notified.pending();
    assert_eq!(recipients(&mails), ["<ops@contoso.example>"]);
    assert!(
        mails[0]
            .decoded()
            .contains("Resolved: API budget nearly used up")
    );
    assert_eq!(hooks[0]["status"], "resolved");
    assert!(
        notified
            .harness
            .store
            .open_notification_problems(notified.northwind)
            .await
            .expect("reads")
            .is_empty(),
        "Northwind's tenant used none of its budget"
    );
}

#[tokio::test]
async fn a_new_attention_item_is_told_once_with_both_ticket_numbers_and_once_when_cleared() {
    use fusion_engine::SyncHooks;
    use fusion_engine::notify::AttentionNotice;

    let mut notified = Notified::start().await;
    let notifier = notified.notifier(Arc::new(SystemClock));
    let relationship = notified.harness.relationship;
    let notice = AttentionNotice {
        relationship,
        item: "attachment:T20261204.0006:report.pdf".to_owned(),
        source_ticket: Some("T20261204.0006".to_owned()),
        target_ticket: Some("T20261204.0042".to_owned()),
        what_failed: "Attachment report.pdf".to_owned(),
        why: "the file is 31 MB; Autotask accepts at most 6 MB".to_owned(),
        what_to_do: "Attach a smaller file, or Skip this attachment on the Tickets page."
            .to_owned(),
    };
    for _ in 0..3 {
        notifier
            .attention_items(relationship, std::slice::from_ref(&notice), &[])
            .await;
    }
    let (mails, hooks) = notified.pending();
    assert_eq!(
        recipients(&mails),
        ["<noc@northwind.example>", "<ops@contoso.example>"],
        "once per organisation, however often it is seen"
    );
    let text = mails[0].decoded();
    assert!(
        text.contains("Ticket T20261204.0006 needs attention"),
        "{text}"
    );
    assert!(text.contains("Source ticket: T20261204.0006"), "{text}");
    assert!(text.contains("Target ticket: T20261204.0042"), "{text}");
    assert!(text.contains("Why: the file is 31 MB"), "{text}");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["event"], "attention_item");
    assert_eq!(hooks[0]["details"]["target_ticket"], "T20261204.0042");
    assert_eq!(hooks[0]["details"]["what_to_do"], notice.what_to_do);

    notifier
        .attention_items(relationship, &[], std::slice::from_ref(&notice.item))
        .await;
    notifier
        .attention_item_resolved(relationship, &notice.item)
        .await;
    let (mails, hooks) = notified.pending();
    assert_eq!(mails.len(), 2, "one 'resolved' per organisation");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["status"], "resolved");
}

#[tokio::test]
async fn an_oversized_attachment_is_told_once_as_needing_attention_and_once_when_skipped() {
    use fusion_domain::Role;
    use fusion_domain::sync::{AttentionState, TicketId};
    use fusion_engine::RepairStep;
    use fusion_engine::ports::AttentionFilter;

    let mut notified = Notified::start().await;
    let sync = notified
        .harness
        .sync
        .clone()
        .with_hooks(Arc::new(notified.notifier(Arc::new(SystemClock))));
    let relationship = notified.harness.relationship;
    let raised = notified
        .harness
        .raise_in_contoso("CAD drawings for the new line");
    sync.run(
        relationship,
        SyncMode::Manual {
            since: notified.harness.started,
        },
    )
    .await
    .expect("the first run runs");
    let (mails, hooks) = notified.pending();
    assert!(
        mails.is_empty() && hooks.is_empty(),
        "a synced ticket tells nothing"
    );

    notified
        .harness
        .simulator()
        .ui_add_attachment(
            crate::demo_connection::SOURCE_ORGANISATION,
            "alex.morgan@contoso.example",
            raised,
            "line-3.dwg",
            &vec![b'x'; 7_500_000],
            1,
        )
        .expect("attached in Contoso");
    for _ in 0..3 {
        sync.run(relationship, SyncMode::Automatic)
            .await
            .expect("runs");
    }
    let (mails, hooks) = notified.pending();
    assert_eq!(
        recipients(&mails),
        ["<noc@northwind.example>", "<ops@contoso.example>"],
        "one email per organisation for the new attention item, not one per run"
    );
    let text = mails[0].decoded();
    assert!(text.contains("needs attention"), "{text}");
    assert!(text.contains("line-3.dwg"), "{text}");
    assert!(
        text.contains("Source ticket: T"),
        "both ticket numbers: {text}"
    );
    assert!(
        text.contains("Target ticket: T"),
        "both ticket numbers: {text}"
    );
    assert!(text.contains("What to do: "), "{text}");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["event"], "attention_item");
    assert_eq!(hooks[0]["status"], "opened");

    let items = notified
        .harness
        .store
        .attention_items(
            relationship,
            &AttentionFilter {
                states: vec![AttentionState::Open],
                origin_ticket: None,
            },
        )
        .await
        .expect("reads");
    assert_eq!(items.len(), 1);
    sync.repair(
        relationship,
        Role::Source,
        TicketId::new(raised.to_string()),
        RepairStep::Skip {
            subject: items[0].key.subject.clone(),
        },
        "jane.doe@northwindit.example",
    )
    .await
    .expect("skipped");
    sync.run(relationship, SyncMode::Automatic)
        .await
        .expect("runs");
    let (mails, hooks) = notified.pending();
    assert_eq!(mails.len(), 2, "one 'resolved' per organisation: {mails:?}");
    assert!(
        mails[0]
            .decoded()
            .contains("Resolved: A ticket needs attention"),
        "{}",
        mails[0].decoded()
    );
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["status"], "resolved");
}
