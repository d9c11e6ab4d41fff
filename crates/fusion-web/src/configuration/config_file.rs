//! Configuration as code: one organisation's side of a relationship (its `SideConfig`), the
//! relationship's field mappings and its description composition as a versioned document, written
//! as TOML (with the tenant's labels in comments) or JSON, and read back with errors that name the
//! line and the field.
//!
//! The document (`version = 1`):
//!
//! ```toml
//! version = 1
//! scope = "Only tickets of Contoso Manufacturing are sent to Northwind IT, and only they are kept in step; …"
//!
//! [side]
//! role = "target"
//! override_api_settings = false
//!
//! [side.receive]
//! queue = 29683354  # Level I Support
//! status = 1  # New
//!
//! [side.receive.public_comment]
//! note_type = 1  # Task Notes
//! publish = 1  # All Autotask Users
//!
//! [side.send]
//! queues = [29683354]  # Level I Support
//!
//! [side.options]
//! public_comments = true
//! internal_comments = false
//! attachments = true
//!
//! [side.time_entries]
//! arrive_as = "time_entries"  # the partner's time: "off", "notes" or "time_entries"
//! send = "all"  # which of ours are sent ("all" or "public_summary")
//! fallback_resource = 29682885  # Jane Doe (logs the partner's time when no e-mail matches)
//! role = 29683461  # Technician
//! billing_code = 29682801  # Remote Support (the work type)
//! billable = false  # the partner's hours are logged as non-billable
//!
//! [[mappings]]
//! ticket_type = "Ticket"
//! source_field = "status"
//! target_field = "status"
//! direction = "Source to target"
//!
//! [[mappings.values]]
//! source = 5  # Complete
//! target = 5  # Complete
//!
//! [description]
//! separator = "----"
//!
//! [[description.fields]]
//! field = "ticketNumber"
//! label = "Customer ticket"
//! ```
//!
//! `scope` says in words which company's tickets the side carries (its `receive.company`); like the
//! comments it is written for people and ignored on import, where the company filters are checked
//! against `receive.company` instead.
//!
//! Invariants: export then import gives back exactly the same configuration (property-tested);
//! unknown keys are refused; comments and `scope` are for people and never change what is
//! imported.

use std::collections::HashMap;
use std::fmt;

use fusion_domain::mapping::DEFAULT_SEPARATOR;
use fusion_domain::{
    ChoiceValue, ClosureSettings, ComposedField, DescriptionComposition, FieldMapping,
    FieldMappingId, MappingDirection, NoteDefaults, ReceiveDefaults, RelationshipId, ReverseSync,
    Role, SendFilter, SideConfig, SyncOptions, TimeArrival, TimeEntrySettings, TimeSendFilter,
    ValueMapping,
};
use fusion_engine::configuration::{ConfigurationDocument, ExportLabels, MappingDraft};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The only document version this build reads and writes.
pub(crate) const CONFIG_FILE_VERSION: u32 = 1;

/// The ticket type mappings apply to when a file does not say.
const DEFAULT_TICKET_TYPE: &str = "Ticket";

/// A platform code as written in a file: integers as TOML/JSON numbers, anything else as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Code(pub ChoiceValue);

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_i64() {
            Some(number) if number.to_string() == self.0.as_str() => {
                serializer.serialize_i64(number)
            }
            _ => serializer.serialize_str(self.0.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CodeVisitor;
        impl Visitor<'_> for CodeVisitor {
            type Value = Code;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a number or a string (a code from the tenant)")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Code, E> {
                Ok(Code(ChoiceValue::from(value)))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Code, E> {
                Ok(Code(ChoiceValue::new(value.to_string())))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Code, E> {
                Ok(Code(ChoiceValue::new(value)))
            }
        }
        deserializer.deserialize_any(CodeVisitor)
    }
}

fn code(value: &Option<ChoiceValue>) -> Option<Code> {
    value.clone().map(Code)
}

fn codes(values: &[ChoiceValue]) -> Vec<Code> {
    values.iter().cloned().map(Code).collect()
}

fn choice(value: Option<Code>) -> Option<ChoiceValue> {
    value.map(|code| code.0)
}

fn choices(values: Vec<Code>) -> Vec<ChoiceValue> {
    values.into_iter().map(|code| code.0).collect()
}

/// `"source"` or `"target"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoleText(pub Role);

impl Serialize for RoleText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for RoleText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Role::parse(&text).map(RoleText).ok_or_else(|| {
            de::Error::custom(format!(
                "unknown role \"{text}\": use \"source\" or \"target\""
            ))
        })
    }
}

/// `"Source to target"`, `"Target to source"` or `"Both"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DirectionText(pub MappingDirection);

impl Serialize for DirectionText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.label())
    }
}

impl<'de> Deserialize<'de> for DirectionText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        MappingDirection::parse(&text)
            .map(DirectionText)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown direction \"{text}\": use \"Source to target\", \"Target to source\" or \"Both\""
                ))
            })
    }
}

/// How the partner's time entries arrive: `"off"`, `"notes"` or `"time_entries"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ArrivalText(pub TimeArrival);

impl Serialize for ArrivalText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for ArrivalText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TimeArrival::parse(&text).map(ArrivalText).ok_or_else(|| {
            de::Error::custom(format!(
                "unknown way for time entries to arrive \"{text}\": use \"off\", \"notes\" or \"time_entries\""
            ))
        })
    }
}

/// Which of this side's time entries are sent: `"all"` or `"public_summary"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TimeSendText(pub TimeSendFilter);

impl Serialize for TimeSendText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for TimeSendText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TimeSendFilter::parse(&text)
            .map(TimeSendText)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown time entry filter \"{text}\": use \"all\" or \"public_summary\""
                ))
            })
    }
}

/// The document version; anything but 1 is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Version;

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(CONFIG_FILE_VERSION)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = i64::deserialize(deserializer)?;
        if number == i64::from(CONFIG_FILE_VERSION) {
            Ok(Version)
        } else {
            Err(de::Error::custom(format!(
                "this file is version {number}; this server reads version {CONFIG_FILE_VERSION}"
            )))
        }
    }
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigDocument {
    pub version: Version,
    /// The side's company scope in words; written on export, ignored on import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub side: SideSection,
    #[serde(default)]
    pub mappings: Vec<MappingSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<DescriptionSection>,
}

/// One organisation's side; also the body of `GET/PUT …/configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SideSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleText>,
    #[serde(default)]
    pub override_api_settings: bool,
    #[serde(default)]
    pub receive: ReceiveSection,
    #[serde(default)]
    pub send: SendSection,
    #[serde(default)]
    pub options: OptionsSection,
    #[serde(default)]
    pub reverse_sync: ReverseSyncSection,
    #[serde(default)]
    pub closure: ClosureSection,
    #[serde(default)]
    pub time_entries: TimeEntriesSection,
}

/// `[side.time_entries]`: how the partner's time entries arrive here, and which of ours are sent;
/// for time entries, who logs them, under which role and work type, and whether billable.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TimeEntriesSection {
    pub arrive_as: ArrivalText,
    pub send: TimeSendText,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_resource: Option<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_code: Option<Code>,
    pub billable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReceiveSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_category: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_type: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_issue_type: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_publish: Option<Code>,
    #[serde(default)]
    pub public_comment: NoteSection,
    #[serde(default)]
    pub internal_comment: NoteSection,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_type: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Code>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendSection {
    #[serde(default)]
    pub queues: Vec<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_company: Option<Code>,
    #[serde(default)]
    pub categories: Vec<Code>,
    #[serde(default)]
    pub public_publish_levels: Vec<Code>,
    #[serde(default)]
    pub internal_publish_levels: Vec<Code>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct OptionsSection {
    pub public_comments: bool,
    pub internal_comments: bool,
    pub attachments: bool,
}

impl Default for OptionsSection {
    fn default() -> Self {
        let options = SyncOptions::default();
        Self {
            public_comments: options.public_comments,
            internal_comments: options.internal_comments,
            attachments: options.attachments,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReverseSyncSection {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub queues: Vec<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<Code>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClosureSection {
    #[serde(default)]
    pub closed_statuses: Vec<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_when_partner_closes: Option<Code>,
}

fn default_ticket_type() -> String {
    DEFAULT_TICKET_TYPE.to_owned()
}

/// One field mapping; also the body of `POST/PUT …/mappings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MappingSection {
    #[serde(default = "default_ticket_type")]
    pub ticket_type: String,
    pub source_field: String,
    pub target_field: String,
    pub direction: DirectionText,
    #[serde(default)]
    pub values: Vec<ValueSection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValueSection {
    pub source: Code,
    pub target: Code,
}

fn default_separator() -> String {
    DEFAULT_SEPARATOR.to_owned()
}

/// The description composition; also the body of `PUT …/description`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DescriptionSection {
    #[serde(default = "default_separator")]
    pub separator: String,
    #[serde(default)]
    pub fields: Vec<DescriptionField>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DescriptionField {
    pub field: String,
    pub label: String,
}

impl SideSection {
    pub fn from_config(role: Option<Role>, side: &SideConfig) -> Self {
        let receive = &side.receive;
        Self {
            role: role.map(RoleText),
            override_api_settings: side.override_api_settings,
            receive: ReceiveSection {
                company: code(&receive.company),
                queue: code(&receive.queue),
                status: code(&receive.status),
                priority: code(&receive.priority),
                ticket_type: code(&receive.ticket_type),
                ticket_category: code(&receive.ticket_category),
                source: code(&receive.source),
                issue_type: code(&receive.issue_type),
                sub_issue_type: code(&receive.sub_issue_type),
                attachment_publish: code(&receive.attachment_publish),
                public_comment: NoteSection {
                    note_type: code(&receive.public_comment.note_type),
                    publish: code(&receive.public_comment.publish),
                },
                internal_comment: NoteSection {
                    note_type: code(&receive.internal_comment.note_type),
                    publish: code(&receive.internal_comment.publish),
                },
            },
            send: SendSection {
                queues: codes(&side.send.queues),
                partner_company: code(&side.send.partner_company),
                categories: codes(&side.send.categories),
                public_publish_levels: codes(&side.send.public_publish_levels),
                internal_publish_levels: codes(&side.send.internal_publish_levels),
            },
            options: OptionsSection {
                public_comments: side.options.public_comments,
                internal_comments: side.options.internal_comments,
                attachments: side.options.attachments,
            },
            reverse_sync: ReverseSyncSection {
                enabled: side.reverse_sync.enabled,
                queues: codes(&side.reverse_sync.queues),
                company: code(&side.reverse_sync.company),
            },
            closure: ClosureSection {
                closed_statuses: codes(&side.closure.closed_statuses),
                status_when_partner_closes: code(&side.closure.status_when_partner_closes),
            },
            time_entries: TimeEntriesSection {
                arrive_as: ArrivalText(side.time_entries.arrive_as),
                send: TimeSendText(side.time_entries.send),
                fallback_resource: code(&side.time_entries.fallback_resource),
                role: code(&side.time_entries.role),
                billing_code: code(&side.time_entries.billing_code),
                billable: side.time_entries.billable,
            },
        }
    }

    pub fn into_config(self) -> SideConfig {
        let receive = self.receive;
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
                public_comment: NoteDefaults {
                    note_type: choice(receive.public_comment.note_type),
                    publish: choice(receive.public_comment.publish),
                },
                internal_comment: NoteDefaults {
                    note_type: choice(receive.internal_comment.note_type),
                    publish: choice(receive.internal_comment.publish),
                },
                attachment_publish: choice(receive.attachment_publish),
            },
            send: SendFilter {
                queues: choices(self.send.queues),
                partner_company: choice(self.send.partner_company),
                categories: choices(self.send.categories),
                public_publish_levels: choices(self.send.public_publish_levels),
                internal_publish_levels: choices(self.send.internal_publish_levels),
            },
            options: SyncOptions {
                public_comments: self.options.public_comments,
                internal_comments: self.options.internal_comments,
                attachments: self.options.attachments,
            },
            reverse_sync: ReverseSync {
                enabled: self.reverse_sync.enabled,
                queues: choices(self.reverse_sync.queues),
                company: choice(self.reverse_sync.company),
            },
            closure: ClosureSettings {
                closed_statuses: choices(self.closure.closed_statuses),
                status_when_partner_closes: choice(self.closure.status_when_partner_closes),
            },
            time_entries: TimeEntrySettings {
                arrive_as: self.time_entries.arrive_as.0,
                send: self.time_entries.send.0,
                fallback_resource: choice(self.time_entries.fallback_resource),
                role: choice(self.time_entries.role),
                billing_code: choice(self.time_entries.billing_code),
                billable: self.time_entries.billable,
            },
            override_api_settings: self.override_api_settings,
        }
    }
}

impl MappingSection {
    pub fn from_mapping(mapping: &FieldMapping) -> Self {
        Self {
            ticket_type: mapping.ticket_type.clone(),
            source_field: mapping.source_field.clone(),
            target_field: mapping.target_field.clone(),
            direction: DirectionText(mapping.direction),
            values: mapping
                .value_mappings
                .iter()
                .map(|value| ValueSection {
                    source: Code(value.source.clone()),
                    target: Code(value.target.clone()),
                })
                .collect(),
        }
    }

    /// The mapping as entered, for the core to check and store.
    pub fn into_draft(self) -> MappingDraft {
        MappingDraft {
            ticket_type: self.ticket_type,
            source_field: self.source_field,
            target_field: self.target_field,
            direction: self.direction.0,
            value_mappings: self
                .values
                .into_iter()
                .map(|value| ValueMapping {
                    source: value.source.0,
                    target: value.target.0,
                })
                .collect(),
        }
    }

    pub fn into_mapping(self, id: FieldMappingId, relationship_id: RelationshipId) -> FieldMapping {
        self.into_draft().into_mapping(id, relationship_id)
    }
}

impl DescriptionSection {
    pub fn from_composition(composition: &DescriptionComposition) -> Self {
        Self {
            separator: composition.separator.clone(),
            fields: composition
                .fields
                .iter()
                .map(|field| DescriptionField {
                    field: field.field.clone(),
                    label: field.label.clone(),
                })
                .collect(),
        }
    }

    pub fn into_composition(self) -> DescriptionComposition {
        DescriptionComposition {
            separator: self.separator,
            fields: self
                .fields
                .into_iter()
                .map(|field| ComposedField {
                    field: field.field,
                    label: field.label,
                })
                .collect(),
        }
    }
}

impl ConfigDocument {
    pub fn new(
        role: Role,
        side: &SideConfig,
        mappings: &[FieldMapping],
        composition: Option<&DescriptionComposition>,
    ) -> Self {
        Self {
            version: Version,
            scope: None,
            side: SideSection::from_config(Some(role), side),
            mappings: mappings.iter().map(MappingSection::from_mapping).collect(),
            description: composition.map(DescriptionSection::from_composition),
        }
    }

    /// The document with the side's company scope in words (see `SideConfig::scope_sentence`).
    pub fn with_scope(mut self, sentence: String) -> Self {
        self.scope = Some(sentence);
        self
    }

    /// What the document configures, in the core's terms; `scope` is for people and is not
    /// read. Mapping ids are new on every import.
    pub fn into_imported(self, relationship_id: RelationshipId) -> ConfigurationDocument {
        ConfigurationDocument {
            role: self.side.role.map(|role| role.0),
            side: self.side.into_config(),
            mappings: self
                .mappings
                .into_iter()
                .map(|mapping| mapping.into_mapping(FieldMappingId::new(), relationship_id))
                .collect(),
            composition: self.description.map(DescriptionSection::into_composition),
        }
    }
}

/// The two ways a document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileFormat {
    Toml,
    Json,
}

impl FileFormat {
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "toml" => Some(FileFormat::Toml),
            "json" => Some(FileFormat::Json),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Toml => "toml",
            FileFormat::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Toml => "application/toml; charset=utf-8",
            FileFormat::Json => "application/json",
        }
    }

    /// A file's format guessed from its text: JSON starts with `{`.
    pub fn sniff(text: &str) -> Self {
        if text.trim_start().starts_with('{') {
            FileFormat::Json
        } else {
            FileFormat::Toml
        }
    }
}

/// Why a document could not be written (never expected; the types are plain data).
#[derive(Debug, thiserror::Error)]
#[error("the configuration could not be written as {format}: {reason}")]
pub(crate) struct ExportError {
    format: &'static str,
    reason: String,
}

/// The document as text. TOML carries the tenant's labels as end-of-line comments.
pub(crate) fn export(
    document: &ConfigDocument,
    format: FileFormat,
    heading: &str,
    labels: &ExportLabels,
) -> Result<String, ExportError> {
    match format {
        FileFormat::Json => serde_json::to_string_pretty(document).map_err(|error| ExportError {
            format: "JSON",
            reason: error.to_string(),
        }),
        FileFormat::Toml => {
            let plain = toml::to_string(document).map_err(|error| ExportError {
                format: "TOML",
                reason: error.to_string(),
            })?;
            let mut text = String::new();
            for line in heading.lines() {
                text.push_str("# ");
                text.push_str(line);
                text.push('\n');
            }
            let annotated = format!("{text}{}", annotate(&plain, labels));
            // Comments must never change what is read back; if they could, leave them out.
            match toml::from_str::<ConfigDocument>(&annotated) {
                Ok(reread) if &reread == document => Ok(annotated),
                _ => Ok(format!("{text}{plain}")),
            }
        }
    }
}

/// Which choice list the codes under `table` / `key` come from.
fn list_for(table: &str, key: &str) -> Option<&'static str> {
    Some(match (table, key) {
        ("side.receive", "company") => "company",
        ("side.receive", "queue") => "queue",
        ("side.receive", "status") => "status",
        ("side.receive", "priority") => "priority",
        ("side.receive", "ticket_type") => "ticket_type",
        ("side.receive", "ticket_category") => "ticket_category",
        ("side.receive", "source") => "source",
        ("side.receive", "issue_type") => "issue_type",
        ("side.receive", "sub_issue_type") => "sub_issue_type",
        ("side.receive", "attachment_publish") => "attachment_publish",
        ("side.receive.public_comment" | "side.receive.internal_comment", "note_type") => {
            "note_type"
        }
        ("side.receive.public_comment" | "side.receive.internal_comment", "publish") => {
            "note_publish"
        }
        ("side.send" | "side.reverse_sync", "queues") => "queue",
        ("side.send", "partner_company") | ("side.reverse_sync", "company") => "company",
        ("side.send", "categories") => "ticket_category",
        ("side.send", "public_publish_levels" | "internal_publish_levels") => "note_publish",
        ("side.closure", "closed_statuses" | "status_when_partner_closes") => "status",
        ("side.time_entries", "fallback_resource") => "resource",
        ("side.time_entries", "role") => "time_role",
        ("side.time_entries", "billing_code") => "time_work_type",
        _ => return None,
    })
}

/// The codes of a `key = value` line (a single code or an inline array of codes).
fn codes_on_line(line: &str) -> Option<(String, Vec<ChoiceValue>)> {
    let table: toml::Table = toml::from_str(line).ok()?;
    let (key, value) = table.into_iter().next()?;
    let one = |value: &toml::Value| match value {
        toml::Value::Integer(number) => Some(ChoiceValue::from(*number)),
        toml::Value::String(text) => Some(ChoiceValue::new(text.as_str())),
        _ => None,
    };
    let values = match &value {
        toml::Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    };
    Some((key, values))
}

fn annotate(plain: &str, labels: &ExportLabels) -> String {
    let mut out = String::with_capacity(plain.len() * 2);
    let mut table = String::new();
    let mut mapping_index: Option<usize> = None;
    for line in plain.lines() {
        let trimmed = line.trim();
        if let Some(header) = trimmed
            .strip_prefix("[[")
            .and_then(|h| h.strip_suffix("]]"))
        {
            table = header.trim().to_owned();
            if table == "mappings" {
                mapping_index = Some(mapping_index.map_or(0, |index| index + 1));
            }
        } else if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            table = header.trim().to_owned();
        }
        out.push_str(line);
        let is_key_line = trimmed.contains('=') && !trimmed.starts_with('[');
        if is_key_line && let Some((key, values)) = codes_on_line(trimmed) {
            let names: Option<&HashMap<ChoiceValue, String>> = if table == "mappings.values" {
                mapping_index
                    .and_then(|index| labels.mapping_values.get(index))
                    .and_then(|(source, target)| match key.as_str() {
                        "source" => Some(source),
                        "target" => Some(target),
                        _ => None,
                    })
            } else {
                list_for(&table, &key).and_then(|list| labels.side.get(list))
            };
            if let Some(names) = names {
                let found: Vec<String> = values
                    .iter()
                    .filter_map(|value| names.get(value))
                    .map(|label| label.replace(['\n', '\r'], " "))
                    .collect();
                if !found.is_empty() && found.len() == values.len() {
                    out.push_str("  # ");
                    out.push_str(&found.join(", "));
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Why an imported file was refused: where (line, field) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImportProblem {
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.line, &self.field) {
            (Some(line), Some(field)) => write!(f, "line {line}, field `{field}`: ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            (None, Some(field)) => write!(f, "field `{field}`: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
        + 1
}

/// The field a serde error is about: the path where it happened, plus the key an
/// "unknown field"/"missing field" message names.
fn field_of(path: &str, message: &str) -> Option<String> {
    let path = if path == "." { "" } else { path };
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| message.split_once(prefix))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name.to_owned());
    match (path.is_empty(), named) {
        (true, None) => None,
        (true, Some(name)) => Some(name),
        (false, None) => Some(path.to_owned()),
        (false, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            Some(path.to_owned())
        }
        (false, Some(name)) => Some(format!("{path}.{name}")),
    }
}

/// The message without the position serde_json appends (the line is reported separately).
fn without_json_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// Reads a document, or says precisely what is wrong with it.
pub(crate) fn parse(text: &str, format: FileFormat) -> Result<ConfigDocument, ImportProblem> {
    match format {
        FileFormat::Toml => {
            let deserializer = toml::Deserializer::parse(text).map_err(|error| ImportProblem {
                line: error.span().map(|span| line_of_offset(text, span.start)),
                field: None,
                message: format!("this is not valid TOML: {}", error.message().trim()),
            })?;
            serde_path_to_error::deserialize(deserializer).map_err(|error| {
                let path = error.path().to_string();
                let inner = error.into_inner();
                let message = inner.message().trim().to_owned();
                ImportProblem {
                    line: inner.span().map(|span| line_of_offset(text, span.start)),
                    field: field_of(&path, &message),
                    message,
                }
            })
        }
        FileFormat::Json => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let document: ConfigDocument = serde_path_to_error::deserialize(&mut deserializer)
                .map_err(|error| {
                    let path = error.path().to_string();
                    let inner = error.into_inner();
                    let message = without_json_position(&inner.to_string());
                    let syntax = inner.is_syntax() || inner.is_eof();
                    ImportProblem {
                        line: Some(inner.line()),
                        field: if syntax {
                            None
                        } else {
                            field_of(&path, &message)
                        },
                        message: if syntax {
                            format!("this is not valid JSON: {message}")
                        } else {
                            message
                        },
                    }
                })?;
            deserializer.end().map_err(|error| ImportProblem {
                line: Some(error.line()),
                field: None,
                message: "there is more text after the JSON document".to_owned(),
            })?;
            Ok(document)
        }
    }
}

#[cfg(test)]
mod tests;
