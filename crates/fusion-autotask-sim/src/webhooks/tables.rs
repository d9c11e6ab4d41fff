//! The webhook configuration tables (API-NOTES §9.1): their columns as the Swagger names them, the
//! vendor's lengths and required flags (§7.5, §9.2), and the per-tenant rows. Rows are plain JSON maps
//! keyed by the canonical column names, so one set of query, render and write code serves every table.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::schema::EntityKind;

/// How a column travels on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    Long,
    Integer,
    Boolean,
    Text,
    DateTime,
}

impl ColumnType {
    pub(crate) fn data_type_label(self) -> &'static str {
        match self {
            ColumnType::Long => "long",
            ColumnType::Integer => "integer",
            ColumnType::Boolean => "boolean",
            ColumnType::Text => "string",
            ColumnType::DateTime => "datetime",
        }
    }
}

/// One column and the metadata `entityInformation/fields` reports for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub name: &'static str,
    pub column_type: ColumnType,
    /// Maximum characters for text columns (0 = not a text column).
    pub length: u32,
    pub required: bool,
    pub read_only: bool,
    /// The entity a reference column points at (`Resource`).
    pub reference: Option<&'static str>,
    /// Picklist columns (`fieldID`, `udfFieldID`) list their values in `entityInformation/fields`.
    pub picklist: bool,
}

impl Column {
    const fn new(name: &'static str, column_type: ColumnType) -> Column {
        Column {
            name,
            column_type,
            length: 0,
            required: false,
            read_only: false,
            reference: None,
            picklist: false,
        }
    }

    const fn text(name: &'static str, length: u32) -> Column {
        Column {
            length,
            ..Column::new(name, ColumnType::Text)
        }
    }

    const fn required(self) -> Column {
        Column {
            required: true,
            ..self
        }
    }

    const fn read_only(self) -> Column {
        Column {
            read_only: true,
            ..self
        }
    }

    const fn reference(self, entity: &'static str) -> Column {
        Column {
            reference: Some(entity),
            ..self
        }
    }

    const fn picklist(self) -> Column {
        Column {
            picklist: true,
            ..self
        }
    }
}

/// Every table's first column.
pub(crate) const ID_COLUMN: Column = Column::new("id", ColumnType::Long).read_only();

/// `TicketWebhookModel` / `TicketNoteWebhookModel` (identical shapes).
const WEBHOOK_COLUMNS: &[Column] = &[
    ID_COLUMN,
    Column::text("deactivationUrl", 500).required(),
    Column::new("isActive", ColumnType::Boolean),
    Column::new("isReady", ColumnType::Boolean).read_only(),
    Column::new("isSubscribedToCreateEvents", ColumnType::Boolean),
    Column::new("isSubscribedToDeleteEvents", ColumnType::Boolean),
    Column::new("isSubscribedToUpdateEvents", ColumnType::Boolean),
    Column::text("name", 50),
    Column::text("notificationEmailAddress", 150),
    Column::new("ownerResourceID", ColumnType::Integer).reference("Resource"),
    Column::text("secretKey", 64),
    Column::new("sendThresholdExceededNotification", ColumnType::Boolean),
    Column::text("webhookGUID", 100).read_only(),
    Column::text("webhookUrl", 500).required(),
];

const FIELD_COLUMNS: &[Column] = &[
    ID_COLUMN,
    Column::new("fieldID", ColumnType::Integer)
        .required()
        .picklist(),
    Column::new("isDisplayAlwaysField", ColumnType::Boolean),
    Column::new("isSubscribedField", ColumnType::Boolean),
    Column::new("webhookID", ColumnType::Integer).required(),
];

const UDF_FIELD_COLUMNS: &[Column] = &[
    ID_COLUMN,
    Column::new("isDisplayAlwaysField", ColumnType::Boolean),
    Column::new("isSubscribedField", ColumnType::Boolean),
    Column::new("udfFieldID", ColumnType::Integer)
        .required()
        .picklist(),
    Column::new("webhookID", ColumnType::Integer).required(),
];

const EXCLUDED_RESOURCE_COLUMNS: &[Column] = &[
    ID_COLUMN,
    Column::new("resourceID", ColumnType::Integer)
        .required()
        .reference("Resource"),
    Column::new("webhookID", ColumnType::Integer).required(),
];

/// `WebhookEventErrorLogModel`: the vendor model has only account and contact webhook ids, so a ticket
/// callout's log entry leaves both null; the payload's `Guid` names the webhook.
const ERROR_LOG_COLUMNS: &[Column] = &[
    ID_COLUMN,
    Column::new("accountWebhookID", ColumnType::Integer).read_only(),
    Column::new("contactWebhookID", ColumnType::Integer).read_only(),
    Column::new("createDateTime", ColumnType::DateTime).read_only(),
    Column::text("errorMessage", 8000).read_only(),
    Column::text("payload", 32000).read_only(),
    Column::new("sequenceNumber", ColumnType::Integer).read_only(),
];

/// The two webhook-capable entities the simulator keeps (API-NOTES §9.1 lists more; only tickets and
/// notes are synced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum WebhookKind {
    Ticket,
    TicketNote,
}

impl WebhookKind {
    /// The payload's `EntityType`.
    pub(crate) fn entity_type(self) -> &'static str {
        match self {
            WebhookKind::Ticket => "Ticket",
            WebhookKind::TicketNote => "TicketNote",
        }
    }

    pub(crate) fn entity(self) -> EntityKind {
        match self {
            WebhookKind::Ticket => EntityKind::Tickets,
            WebhookKind::TicketNote => EntityKind::TicketNotes,
        }
    }

    pub(crate) fn for_entity(entity: EntityKind) -> Option<WebhookKind> {
        match entity {
            EntityKind::Tickets => Some(WebhookKind::Ticket),
            EntityKind::TicketNotes => Some(WebhookKind::TicketNote),
            _ => None,
        }
    }

    pub(crate) fn webhooks_table(self) -> Table {
        match self {
            WebhookKind::Ticket => Table::TicketWebhooks,
            WebhookKind::TicketNote => Table::TicketNoteWebhooks,
        }
    }

    pub(crate) fn fields_table(self) -> Table {
        match self {
            WebhookKind::Ticket => Table::TicketWebhookFields,
            WebhookKind::TicketNote => Table::TicketNoteWebhookFields,
        }
    }

    pub(crate) fn excluded_table(self) -> Table {
        match self {
            WebhookKind::Ticket => Table::TicketWebhookExcludedResources,
            WebhookKind::TicketNote => Table::TicketNoteWebhookExcludedResources,
        }
    }

    /// Only ticket webhooks have UDF fields (the note entity has no UDFs).
    pub(crate) fn udf_fields_table(self) -> Option<Table> {
        match self {
            WebhookKind::Ticket => Some(Table::TicketWebhookUdfFields),
            WebhookKind::TicketNote => None,
        }
    }
}

/// Every webhook table the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Table {
    TicketWebhooks,
    TicketNoteWebhooks,
    TicketWebhookFields,
    TicketNoteWebhookFields,
    TicketWebhookUdfFields,
    TicketWebhookExcludedResources,
    TicketNoteWebhookExcludedResources,
    WebhookEventErrorLogs,
}

/// What a child table holds, and its segment under `/{Webhooks}/{parentId}/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildKind {
    Fields,
    UdfFields,
    ExcludedResources,
}

impl ChildKind {
    pub(crate) fn parse(segment: &str) -> Option<ChildKind> {
        match segment {
            "fields" => Some(ChildKind::Fields),
            "udffields" => Some(ChildKind::UdfFields),
            "excludedresources" => Some(ChildKind::ExcludedResources),
            _ => None,
        }
    }

    pub(crate) fn segment(self) -> &'static str {
        match self {
            ChildKind::Fields => "Fields",
            ChildKind::UdfFields => "UdfFields",
            ChildKind::ExcludedResources => "ExcludedResources",
        }
    }

    pub(crate) fn table(self, kind: WebhookKind) -> Option<Table> {
        match self {
            ChildKind::Fields => Some(kind.fields_table()),
            ChildKind::UdfFields => kind.udf_fields_table(),
            ChildKind::ExcludedResources => Some(kind.excluded_table()),
        }
    }
}

impl Table {
    pub(crate) const ALL: [Table; 8] = [
        Table::TicketWebhooks,
        Table::TicketNoteWebhooks,
        Table::TicketWebhookFields,
        Table::TicketNoteWebhookFields,
        Table::TicketWebhookUdfFields,
        Table::TicketWebhookExcludedResources,
        Table::TicketNoteWebhookExcludedResources,
        Table::WebhookEventErrorLogs,
    ];

    pub(crate) fn path_name(self) -> &'static str {
        match self {
            Table::TicketWebhooks => "TicketWebhooks",
            Table::TicketNoteWebhooks => "TicketNoteWebhooks",
            Table::TicketWebhookFields => "TicketWebhookFields",
            Table::TicketNoteWebhookFields => "TicketNoteWebhookFields",
            Table::TicketWebhookUdfFields => "TicketWebhookUdfFields",
            Table::TicketWebhookExcludedResources => "TicketWebhookExcludedResources",
            Table::TicketNoteWebhookExcludedResources => "TicketNoteWebhookExcludedResources",
            Table::WebhookEventErrorLogs => "WebhookEventErrorLogs",
        }
    }

    /// The name `entityInformation` reports.
    pub(crate) fn singular(self) -> &'static str {
        match self {
            Table::TicketWebhooks => "TicketWebhook",
            Table::TicketNoteWebhooks => "TicketNoteWebhook",
            Table::TicketWebhookFields => "TicketWebhookField",
            Table::TicketNoteWebhookFields => "TicketNoteWebhookField",
            Table::TicketWebhookUdfFields => "TicketWebhookUdfField",
            Table::TicketWebhookExcludedResources => "TicketWebhookExcludedResource",
            Table::TicketNoteWebhookExcludedResources => "TicketNoteWebhookExcludedResource",
            Table::WebhookEventErrorLogs => "WebhookEventErrorLog",
        }
    }

    pub(crate) fn parse(segment: &str) -> Option<Table> {
        Table::ALL
            .into_iter()
            .find(|table| table.path_name().eq_ignore_ascii_case(segment))
    }

    pub(crate) fn columns(self) -> &'static [Column] {
        match self {
            Table::TicketWebhooks | Table::TicketNoteWebhooks => WEBHOOK_COLUMNS,
            Table::TicketWebhookFields | Table::TicketNoteWebhookFields => FIELD_COLUMNS,
            Table::TicketWebhookUdfFields => UDF_FIELD_COLUMNS,
            Table::TicketWebhookExcludedResources | Table::TicketNoteWebhookExcludedResources => {
                EXCLUDED_RESOURCE_COLUMNS
            }
            Table::WebhookEventErrorLogs => ERROR_LOG_COLUMNS,
        }
    }

    pub(crate) fn column(self, name: &str) -> Option<&'static Column> {
        self.columns()
            .iter()
            .find(|column| column.name.eq_ignore_ascii_case(name))
    }

    /// The webhook kind of a webhook table.
    pub(crate) fn webhook_kind(self) -> Option<WebhookKind> {
        match self {
            Table::TicketWebhooks => Some(WebhookKind::Ticket),
            Table::TicketNoteWebhooks => Some(WebhookKind::TicketNote),
            _ => None,
        }
    }

    /// The webhook kind and child kind of a child table.
    pub(crate) fn child(self) -> Option<(WebhookKind, ChildKind)> {
        match self {
            Table::TicketWebhookFields => Some((WebhookKind::Ticket, ChildKind::Fields)),
            Table::TicketNoteWebhookFields => Some((WebhookKind::TicketNote, ChildKind::Fields)),
            Table::TicketWebhookUdfFields => Some((WebhookKind::Ticket, ChildKind::UdfFields)),
            Table::TicketWebhookExcludedResources => {
                Some((WebhookKind::Ticket, ChildKind::ExcludedResources))
            }
            Table::TicketNoteWebhookExcludedResources => {
                Some((WebhookKind::TicketNote, ChildKind::ExcludedResources))
            }
            _ => None,
        }
    }

    /// Verbs on the table's own URLs: (create/update on the root, delete by id).
    pub(crate) fn root_writes(self) -> (bool, bool) {
        match self {
            Table::TicketWebhooks | Table::TicketNoteWebhooks => (true, true),
            Table::WebhookEventErrorLogs => (false, true),
            _ => (false, false),
        }
    }
}

pub(crate) type Row = Map<String, Value>;

/// One tenant's webhook configuration and error log.
#[derive(Debug, Default)]
pub(crate) struct TenantWebhooks {
    pub tables: HashMap<Table, BTreeMap<i64, Row>>,
    /// One id sequence for every table keeps ids unique per tenant, so a delivery queue can be keyed by
    /// (tenant, webhook id) alone.
    next_id: i64,
    /// Events dropped in a row per webhook (reset by a delivered event or a reactivation).
    pub consecutive_failed_events: HashMap<i64, u32>,
}

impl TenantWebhooks {
    pub(crate) fn rows(&self, table: Table) -> impl Iterator<Item = &Row> {
        self.tables
            .get(&table)
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    pub(crate) fn row(&self, table: Table, id: i64) -> Option<&Row> {
        self.tables.get(&table).and_then(|rows| rows.get(&id))
    }

    pub(crate) fn row_mut(&mut self, table: Table, id: i64) -> Option<&mut Row> {
        self.tables
            .get_mut(&table)
            .and_then(|rows| rows.get_mut(&id))
    }

    pub(crate) fn insert(&mut self, table: Table, id: i64, row: Row) {
        self.tables.entry(table).or_default().insert(id, row);
    }

    pub(crate) fn remove(&mut self, table: Table, id: i64) -> Option<Row> {
        self.tables
            .get_mut(&table)
            .and_then(|rows| rows.remove(&id))
    }

    pub(crate) fn allocate_id(&mut self) -> i64 {
        if self.next_id == 0 {
            self.next_id = 1;
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Children of one webhook in a child table.
    pub(crate) fn children(&self, table: Table, webhook_id: i64) -> impl Iterator<Item = &Row> {
        self.rows(table)
            .filter(move |row| row.get("webhookID").and_then(Value::as_i64) == Some(webhook_id))
    }

    /// A webhook is ready once it has at least one field or UDF field (API-NOTES §9.2).
    pub(crate) fn is_ready(&self, kind: WebhookKind, webhook_id: i64) -> bool {
        self.children(kind.fields_table(), webhook_id)
            .next()
            .is_some()
            || kind
                .udf_fields_table()
                .is_some_and(|table| self.children(table, webhook_id).next().is_some())
    }
}
