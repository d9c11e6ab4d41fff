//! Relationship data as plain column values, shared by both backends: the relationship row and
//! the rules for accepting its verification code, and the store-private serde documents behind
//! the JSON columns (side configuration, value mappings, composed description fields).
//!
//! The domain types have no serde on purpose; the documents here mirror them field by field
//! (destructured exhaustively, so a field added to the domain fails to compile here until it is
//! stored too). Every document field has a default, so rows written before a field existed still
//! load.

use fusion_domain::{
    AcceptCodeError, ChoiceValue, ClosureSettings, ComposedField, DescriptionComposition,
    FieldMapping, FieldMappingId, MappingDirection, NoteDefaults, OrgId, ReceiveDefaults,
    ReverseSync, SendFilter, SideConfig, SyncOptions, TimeArrival, TimeEntrySettings,
    TimeSendFilter, ValueMapping, VerificationCode,
};
use fusion_domain::{Relationship, RelationshipId, RelationshipState, Role, SyncReadiness};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{StoreError, StoreResult};

/// The columns every relationship query selects, in this order.
pub(crate) const RELATIONSHIP_COLUMNS: &str = "id, contract_name, initiator_org_id, initiator_role, \
     partner_org_id, state, readiness, code_expires_at, code_used_at, created_at, activated_at";

/// The SHA-256 digest a verification code is stored and looked up under.
pub(crate) fn code_digest(code: &VerificationCode) -> [u8; 32] {
    Sha256::digest(code.as_str().as_bytes()).into()
}

/// One `relationships` row (without the code digest and `updated_at`).
#[derive(Debug, Clone)]
pub(crate) struct RelationshipColumns {
    pub(crate) id: Uuid,
    pub(crate) contract_name: String,
    pub(crate) initiator: Uuid,
    pub(crate) initiator_role: String,
    pub(crate) partner: Option<Uuid>,
    pub(crate) state: String,
    pub(crate) readiness: String,
    pub(crate) code_expires_at: OffsetDateTime,
    pub(crate) code_used_at: Option<OffsetDateTime>,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) activated_at: Option<OffsetDateTime>,
}

/// A relationship as stored: the domain value plus what only the store needs to know.
#[derive(Debug, Clone)]
pub(crate) struct StoredRelationship {
    pub(crate) relationship: Relationship,
    /// When the current code stops working, whatever the state.
    pub(crate) code_expires_at: OffsetDateTime,
    pub(crate) code_used_at: Option<OffsetDateTime>,
}

impl RelationshipColumns {
    pub(crate) fn into_stored(self) -> StoreResult<StoredRelationship> {
        let initiator_role = Role::parse(&self.initiator_role)
            .ok_or_else(|| unknown_value("initiator role", &self.initiator_role))?;
        let state = RelationshipState::parse(&self.state)
            .ok_or_else(|| unknown_value("relationship state", &self.state))?;
        let readiness = SyncReadiness::parse(&self.readiness)
            .ok_or_else(|| unknown_value("sync readiness", &self.readiness))?;
        Ok(StoredRelationship {
            relationship: Relationship {
                id: RelationshipId::from_uuid(self.id),
                contract_name: self.contract_name,
                initiator: OrgId::from_uuid(self.initiator),
                initiator_role,
                partner: self.partner.map(OrgId::from_uuid),
                state,
                readiness,
                // The domain shows an expiry only while the code can still be used.
                code_expires_at: (state == RelationshipState::Pending)
                    .then_some(self.code_expires_at),
                created_at: self.created_at,
                activated_at: self.activated_at,
            },
            code_expires_at: self.code_expires_at,
            code_used_at: self.code_used_at,
        })
    }

    pub(crate) fn into_relationship(self) -> StoreResult<Relationship> {
        self.into_stored().map(|stored| stored.relationship)
    }
}

fn unknown_value(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("unknown {what} {value:?} in the database"))
}

impl StoredRelationship {
    /// Whether `accepting_org` may accept this relationship's code at `now`, judged in the order
    /// a person can act on: revoked, used, expired, own code. (The duplicate rule needs the other
    /// relationships and is checked by the backend.)
    pub(crate) fn judge_acceptance(
        &self,
        accepting_org: OrgId,
        now: OffsetDateTime,
    ) -> Result<(), AcceptCodeError> {
        let relationship = &self.relationship;
        if relationship.state == RelationshipState::Revoked {
            return Err(AcceptCodeError::Revoked);
        }
        if self.code_used_at.is_some() || relationship.state != RelationshipState::Pending {
            return Err(AcceptCodeError::AlreadyUsed);
        }
        if now >= self.code_expires_at {
            return Err(AcceptCodeError::Expired);
        }
        if relationship.initiator == accepting_org {
            return Err(AcceptCodeError::OwnCode);
        }
        Ok(())
    }
}

/// Parses a stored mapping direction.
pub(crate) fn parse_direction(text: &str) -> StoreResult<MappingDirection> {
    MappingDirection::parse(text).ok_or_else(|| unknown_value("mapping direction", text))
}

/// One `field_mappings` row.
#[derive(Debug, Clone)]
pub(crate) struct FieldMappingColumns {
    pub(crate) id: Uuid,
    pub(crate) relationship_id: Uuid,
    pub(crate) ticket_type: String,
    pub(crate) source_field: String,
    pub(crate) target_field: String,
    pub(crate) direction: String,
    pub(crate) value_mappings: String,
}

impl FieldMappingColumns {
    pub(crate) fn into_mapping(self) -> StoreResult<FieldMapping> {
        let value_mappings: Vec<ValueMappingDocument> =
            from_json("value mappings", &self.value_mappings)?;
        Ok(FieldMapping {
            id: FieldMappingId::from_uuid(self.id),
            relationship_id: RelationshipId::from_uuid(self.relationship_id),
            ticket_type: self.ticket_type,
            source_field: self.source_field,
            target_field: self.target_field,
            direction: parse_direction(&self.direction)?,
            value_mappings: value_mappings
                .into_iter()
                .map(|document| ValueMapping {
                    source: ChoiceValue::new(document.source),
                    target: ChoiceValue::new(document.target),
                })
                .collect(),
        })
    }
}

/// The `value_mappings` JSON of a field mapping.
pub(crate) fn value_mappings_json(mapping: &FieldMapping) -> StoreResult<String> {
    let documents: Vec<ValueMappingDocument> = mapping
        .value_mappings
        .iter()
        .map(|value_mapping| ValueMappingDocument {
            source: value_mapping.source.as_str().to_owned(),
            target: value_mapping.target.as_str().to_owned(),
        })
        .collect();
    to_json(&documents)
}

#[derive(Debug, Serialize, Deserialize)]
struct ValueMappingDocument {
    source: String,
    target: String,
}

/// The `fields` JSON of a description composition.
pub(crate) fn composed_fields_json(composition: &DescriptionComposition) -> StoreResult<String> {
    let documents: Vec<ComposedFieldDocument> = composition
        .fields
        .iter()
        .map(|field| ComposedFieldDocument {
            field: field.field.clone(),
            label: field.label.clone(),
        })
        .collect();
    to_json(&documents)
}

pub(crate) fn composition_from_columns(
    fields: &str,
    separator: String,
) -> StoreResult<DescriptionComposition> {
    let documents: Vec<ComposedFieldDocument> = from_json("description composition", fields)?;
    Ok(DescriptionComposition {
        fields: documents
            .into_iter()
            .map(|document| ComposedField {
                field: document.field,
                label: document.label,
            })
            .collect(),
        separator,
    })
}

#[derive(Debug, Serialize, Deserialize)]
struct ComposedFieldDocument {
    field: String,
    label: String,
}

/// The `config` JSON of one side's integration configuration.
pub(crate) fn side_config_json(config: &SideConfig) -> StoreResult<String> {
    to_json(&SideConfigDocument::from(config))
}

pub(crate) fn side_config_from_json(json: &str) -> StoreResult<SideConfig> {
    from_json::<SideConfigDocument>("integration configuration", json).map(SideConfig::from)
}

fn to_json(value: &impl Serialize) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::Backend(format!("cannot encode a JSON column: {error}")))
}

fn from_json<T: for<'de> Deserialize<'de>>(what: &str, json: &str) -> StoreResult<T> {
    serde_json::from_str(json)
        .map_err(|error| StoreError::Backend(format!("malformed {what} in the database: {error}")))
}

fn choice_text(value: &Option<ChoiceValue>) -> Option<String> {
    value.as_ref().map(|value| value.as_str().to_owned())
}

fn choice_texts(values: &[ChoiceValue]) -> Vec<String> {
    values
        .iter()
        .map(|value| value.as_str().to_owned())
        .collect()
}

fn choice(text: Option<String>) -> Option<ChoiceValue> {
    text.map(ChoiceValue::new)
}

fn choices(texts: Vec<String>) -> Vec<ChoiceValue> {
    texts.into_iter().map(ChoiceValue::new).collect()
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct SideConfigDocument {
    receive: ReceiveDocument,
    send: SendDocument,
    options: OptionsDocument,
    reverse_sync: ReverseSyncDocument,
    closure: ClosureDocument,
    time_entries: TimeEntriesDocument,
    override_api_settings: bool,
}

/// `TimeEntrySettings`: the settings' own codes ("off"/"notes"/"time_entries",
/// "all"/"public_summary"); a code this version does not know loads as the default (nothing
/// received, everything sent). The time-entry choices are absent until chosen.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct TimeEntriesDocument {
    arrive_as: String,
    send: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback_resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    billing_code: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    billable: bool,
}

impl From<&TimeEntrySettings> for TimeEntriesDocument {
    fn from(settings: &TimeEntrySettings) -> Self {
        let TimeEntrySettings {
            arrive_as,
            send,
            fallback_resource,
            role,
            billing_code,
            billable,
        } = settings;
        Self {
            arrive_as: arrive_as.as_str().to_owned(),
            send: send.as_str().to_owned(),
            fallback_resource: choice_text(fallback_resource),
            role: choice_text(role),
            billing_code: choice_text(billing_code),
            billable: *billable,
        }
    }
}

impl From<TimeEntriesDocument> for TimeEntrySettings {
    fn from(document: TimeEntriesDocument) -> Self {
        Self {
            arrive_as: TimeArrival::parse(&document.arrive_as).unwrap_or_default(),
            send: TimeSendFilter::parse(&document.send).unwrap_or_default(),
            fallback_resource: choice(document.fallback_resource),
            role: choice(document.role),
            billing_code: choice(document.billing_code),
            billable: document.billable,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct NoteDocument {
    note_type: Option<String>,
    publish: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct ReceiveDocument {
    company: Option<String>,
    queue: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    ticket_type: Option<String>,
    ticket_category: Option<String>,
    source: Option<String>,
    issue_type: Option<String>,
    sub_issue_type: Option<String>,
    public_comment: NoteDocument,
    internal_comment: NoteDocument,
    attachment_publish: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct SendDocument {
    queues: Vec<String>,
    partner_company: Option<String>,
    categories: Vec<String>,
    public_publish_levels: Vec<String>,
    internal_publish_levels: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
struct OptionsDocument {
    public_comments: bool,
    internal_comments: bool,
    attachments: bool,
}

impl Default for OptionsDocument {
    fn default() -> Self {
        Self::from(&SyncOptions::default())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct ReverseSyncDocument {
    enabled: bool,
    queues: Vec<String>,
    company: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct ClosureDocument {
    closed_statuses: Vec<String>,
    status_when_partner_closes: Option<String>,
}

impl From<&NoteDefaults> for NoteDocument {
    fn from(notes: &NoteDefaults) -> Self {
        let NoteDefaults { note_type, publish } = notes;
        Self {
            note_type: choice_text(note_type),
            publish: choice_text(publish),
        }
    }
}

impl From<NoteDocument> for NoteDefaults {
    fn from(document: NoteDocument) -> Self {
        Self {
            note_type: choice(document.note_type),
            publish: choice(document.publish),
        }
    }
}

impl From<&SyncOptions> for OptionsDocument {
    fn from(options: &SyncOptions) -> Self {
        let SyncOptions {
            public_comments,
            internal_comments,
            attachments,
        } = *options;
        Self {
            public_comments,
            internal_comments,
            attachments,
        }
    }
}

impl From<&SideConfig> for SideConfigDocument {
    fn from(config: &SideConfig) -> Self {
        let SideConfig {
            receive,
            send,
            options,
            reverse_sync,
            closure,
            time_entries,
            override_api_settings,
        } = config;
        let ReceiveDefaults {
            company,
            queue,
            status,
            priority,
            ticket_type,
            ticket_category,
            source,
            issue_type,
            sub_issue_type,
            public_comment,
            internal_comment,
            attachment_publish,
        } = receive;
        let SendFilter {
            queues,
            partner_company,
            categories,
            public_publish_levels,
            internal_publish_levels,
        } = send;
        let ReverseSync {
            enabled,
            queues: reverse_queues,
            company: reverse_company,
        } = reverse_sync;
        let ClosureSettings {
            closed_statuses,
            status_when_partner_closes,
        } = closure;
        Self {
            receive: ReceiveDocument {
                company: choice_text(company),
                queue: choice_text(queue),
                status: choice_text(status),
                priority: choice_text(priority),
                ticket_type: choice_text(ticket_type),
                ticket_category: choice_text(ticket_category),
                source: choice_text(source),
                issue_type: choice_text(issue_type),
                sub_issue_type: choice_text(sub_issue_type),
                public_comment: NoteDocument::from(public_comment),
                internal_comment: NoteDocument::from(internal_comment),
                attachment_publish: choice_text(attachment_publish),
            },
            send: SendDocument {
                queues: choice_texts(queues),
                partner_company: choice_text(partner_company),
                categories: choice_texts(categories),
                public_publish_levels: choice_texts(public_publish_levels),
                internal_publish_levels: choice_texts(internal_publish_levels),
            },
            options: OptionsDocument::from(options),
            reverse_sync: ReverseSyncDocument {
                enabled: *enabled,
                queues: choice_texts(reverse_queues),
                company: choice_text(reverse_company),
            },
            closure: ClosureDocument {
                closed_statuses: choice_texts(closed_statuses),
                status_when_partner_closes: choice_text(status_when_partner_closes),
            },
            time_entries: TimeEntriesDocument::from(time_entries),
            override_api_settings: *override_api_settings,
        }
    }
}

impl From<SideConfigDocument> for SideConfig {
    fn from(document: SideConfigDocument) -> Self {
        let SideConfigDocument {
            receive,
            send,
            options,
            reverse_sync,
            closure,
            time_entries,
            override_api_settings,
        } = document;
        SideConfig {
            receive: ReceiveDefaults {
                company: choice(receive.company),
                queue: choice(receive.queue),
                status: choice(receive.status),
                priority: choice(receive.priority),
                ticket_type: choice(receive.ticket_type),
                ticket_category: choice(receive.ticket_category),
                source: choice(receive.source),
                issue_type: choice(receive.issue_type),
                sub_issue_type: choice(receive.sub_issue_type),
                public_comment: NoteDefaults::from(receive.public_comment),
                internal_comment: NoteDefaults::from(receive.internal_comment),
                attachment_publish: choice(receive.attachment_publish),
            },
            send: SendFilter {
                queues: choices(send.queues),
                partner_company: choice(send.partner_company),
                categories: choices(send.categories),
                public_publish_levels: choices(send.public_publish_levels),
                internal_publish_levels: choices(send.internal_publish_levels),
            },
            options: SyncOptions {
                public_comments: options.public_comments,
                internal_comments: options.internal_comments,
                attachments: options.attachments,
            },
            reverse_sync: ReverseSync {
                enabled: reverse_sync.enabled,
                queues: choices(reverse_sync.queues),
                company: choice(reverse_sync.company),
            },
            closure: ClosureSettings {
                closed_statuses: choices(closure.closed_statuses),
                status_when_partner_closes: choice(closure.status_when_partner_closes),
            },
            time_entries: TimeEntrySettings::from(time_entries),
            override_api_settings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_document_loads_as_the_default_configuration() {
        assert_eq!(
            side_config_from_json("{}").expect("loads"),
            SideConfig::default()
        );
        let partial =
            side_config_from_json(r#"{"options":{"internal_comments":true}}"#).expect("loads");
        assert!(partial.options.internal_comments);
        assert!(
            partial.options.public_comments,
            "missing keys keep defaults"
        );
    }

    #[test]
    fn code_digests_depend_on_the_canonical_text_only() {
        let typed = VerificationCode::parse("7kq4 mx2p 9htd").expect("valid");
        let canonical = VerificationCode::parse("7KQ4-MX2P-9HTD").expect("valid");
        assert_eq!(code_digest(&typed), code_digest(&canonical));
        let other = VerificationCode::parse("7KQ4-MX2P-9HTE").expect("valid");
        assert_ne!(code_digest(&other), code_digest(&canonical));
    }
}
