//! The notification vocabulary: which kinds of event there are ([`EventKind`]), whether a
//! notification opens a problem, says it is resolved or is a test ([`EventPhase`]), and the
//! [`NotificationEvent`] itself — plain text and labelled facts that a delivery adapter turns into
//! an email or a webhook body. Events carry names, ticket numbers and reasons in words; never a
//! secret, a token or a credential.

use std::collections::BTreeSet;

use fusion_domain::{OrgId, RelationshipId};
use time::OffsetDateTime;

/// A kind of event an organisation can choose to be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// A connection's sync run Failed (e.g. the credentials stopped working); resolved by the
    /// next run that is not Failed.
    RunFailed,
    /// A ticket needs attention (a permanent failure); resolved when the item is cleared.
    AttentionItem,
    /// A connection with automatic sync has not synced for longer than N× its interval.
    NotSynced,
    /// This server's share of a tenant's hourly API budget is nearly used up.
    ApiBudget,
    /// A connection was paused or ended; resolved when it is resumed.
    ConnectionChanged,
}

impl EventKind {
    /// Every kind, in the order the settings page lists them.
    pub const ALL: [EventKind; 5] = [
        EventKind::RunFailed,
        EventKind::AttentionItem,
        EventKind::NotSynced,
        EventKind::ApiBudget,
        EventKind::ConnectionChanged,
    ];

    /// The stable code used in the API, the webhook body and the database.
    pub fn code(self) -> &'static str {
        match self {
            EventKind::RunFailed => "run_failed",
            EventKind::AttentionItem => "attention_item",
            EventKind::NotSynced => "not_synced",
            EventKind::ApiBudget => "api_budget",
            EventKind::ConnectionChanged => "connection_changed",
        }
    }

    pub fn from_code(code: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// What a person reads next to the checkbox.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::RunFailed => {
                "A connection's sync run failed (e.g. credentials stopped working)"
            }
            EventKind::AttentionItem => "A ticket needs attention",
            EventKind::NotSynced => "A connection has not synced for longer than expected",
            EventKind::ApiBudget => "The API budget is nearly used up",
            EventKind::ConnectionChanged => "A connection was paused or ended",
        }
    }

    /// Every kind: what a new organisation receives until it chooses.
    pub fn all() -> BTreeSet<EventKind> {
        EventKind::ALL.into_iter().collect()
    }
}

/// Where a notification stands in the life of its problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventPhase {
    /// The problem is new (sent once until it is resolved).
    Opened,
    /// The problem went away (sent once, after an `Opened`).
    Resolved,
    /// A person pressed "Send test".
    Test,
}

impl EventPhase {
    pub fn code(self) -> &'static str {
        match self {
            EventPhase::Opened => "opened",
            EventPhase::Resolved => "resolved",
            EventPhase::Test => "test",
        }
    }
}

/// The connection an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRef {
    pub id: RelationshipId,
    /// "Contract name (Contoso ↔ Northwind)".
    pub name: String,
}

/// One labelled fact of an event ("Why": "the API secret was rejected").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFact {
    /// Stable key for machines (`why`, `what_to_do`, `source_ticket`, …).
    pub key: &'static str,
    /// Label for people.
    pub label: &'static str,
    pub value: String,
}

impl EventFact {
    pub fn new(key: &'static str, label: &'static str, value: impl Into<String>) -> Self {
        Self {
            key,
            label,
            value: value.into(),
        }
    }
}

/// One notification to one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationEvent {
    pub kind: EventKind,
    pub phase: EventPhase,
    /// Identifies the problem (`run_failed:<relationship id>`); one Opened and one Resolved
    /// notification per problem and organisation.
    pub problem_key: String,
    /// The organisation receiving it.
    pub organisation: OrgId,
    pub connection: Option<ConnectionRef>,
    /// One line for people ("Sync failed: Support contract (Contoso ↔ Northwind)").
    pub title: String,
    pub facts: Vec<EventFact>,
    pub occurred_at: OffsetDateTime,
}

impl NotificationEvent {
    /// The email subject.
    pub fn subject(&self) -> String {
        match self.phase {
            EventPhase::Opened => format!("[Support Fusion] {}", self.title),
            EventPhase::Resolved => format!("[Support Fusion] Resolved: {}", self.title),
            EventPhase::Test => format!("[Support Fusion] {}", self.title),
        }
    }

    /// Plain text for people: the subject line, then one `Label: value` line per fact (the
    /// email body and the webhook's Slack/Teams `text`).
    pub fn text(&self) -> String {
        let mut text = self.subject();
        if let Some(connection) = &self.connection {
            text.push_str(&format!("\nConnection: {}", connection.name));
        }
        for fact in &self.facts {
            text.push_str(&format!("\n{}: {}", fact.label, fact.value));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_code() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(EventKind::from_code("nope"), None);
    }

    #[test]
    fn text_has_the_title_the_connection_and_every_fact() {
        let event = NotificationEvent {
            kind: EventKind::RunFailed,
            phase: EventPhase::Resolved,
            problem_key: "run_failed:x".into(),
            organisation: OrgId::new(),
            connection: Some(ConnectionRef {
                id: RelationshipId::new(),
                name: "Support (A ↔ B)".into(),
            }),
            title: "Sync failed: Support (A ↔ B)".into(),
            facts: vec![EventFact::new("why", "Why", "wrong secret")],
            occurred_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(
            event.text(),
            "[Support Fusion] Resolved: Sync failed: Support (A ↔ B)\nConnection: Support (A ↔ B)\nWhy: wrong secret"
        );
    }
}
