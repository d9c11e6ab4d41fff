//! The delivery adapter against receivers in the test process: an SMTP sink and an HTTP
//! receiver on port 0 (no external service).
#![allow(clippy::unwrap_used)]

mod email;
mod sinks;
mod webhook;

use fusion_domain::{OrgId, RelationshipId};
use fusion_engine::notify::{ConnectionRef, EventFact, EventKind, EventPhase, NotificationEvent};

/// A "sync failed" event as the notifier builds it.
pub fn failed_run_event() -> NotificationEvent {
    NotificationEvent {
        kind: EventKind::RunFailed,
        phase: EventPhase::Opened,
        problem_key: "run_failed:test".to_owned(),
        organisation: OrgId::new(),
        connection: Some(ConnectionRef {
            id: RelationshipId::new(),
            name: "Managed support (Contoso ↔ Northwind IT)".to_owned(),
        }),
        title: "Sync failed: Managed support (Contoso ↔ Northwind IT)".to_owned(),
        facts: vec![
            EventFact::new(
                "why",
                "Why",
                "authentication failed: the API user is inactive",
            ),
            EventFact::new(
                "what_to_do",
                "What to do",
                "Enter the API secret again in Settings.",
            ),
        ],
        occurred_at: time::macros::datetime!(2026-12-04 10:00:00 UTC),
    }
}
