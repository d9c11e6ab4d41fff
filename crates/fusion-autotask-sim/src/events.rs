//! The change-event stream: every applied change to a record (through the API or a UI-like edit) is
//! published here, so a webhook module (`webhooks.rs`, later) can subscribe and deliver callouts.

use time::OffsetDateTime;

use crate::schema::EntityKind;

/// What happened to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    Create,
    Update,
    Delete,
}

impl ChangeAction {
    /// The webhook payload's `Action` spelling.
    pub fn label(self) -> &'static str {
        match self {
            ChangeAction::Create => "Create",
            ChangeAction::Update => "Update",
            ChangeAction::Delete => "Delete",
        }
    }
}

/// One applied change.
#[derive(Debug, Clone)]
pub struct ChangeEvent {
    /// Tenant name.
    pub tenant: String,
    pub entity: EntityKind,
    pub id: i64,
    pub action: ChangeAction,
    /// Wire names of the properties whose value changed (every set property on Create).
    pub changed_fields: Vec<String>,
    /// The Resource that made the change (the API user's resource, or the impersonated one).
    pub person_id: i64,
    pub at: OffsetDateTime,
    /// Increases by one per event across the simulator.
    pub sequence: u64,
    /// The record as wire JSON after the change (before it, for Delete); attachment data omitted.
    /// Webhook payloads take their `Fields` from here.
    pub record: serde_json::Value,
}
