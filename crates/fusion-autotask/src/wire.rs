//! Typed Autotask wire structs (serde, the vendor's camelCase names with capital `ID`).
//!
//! These are this crate's own types; the simulator has its own, so a misunderstanding of the
//! contract cannot hide on both sides at once. Everything is optional and unknown fields are
//! ignored: with `includeFields` Autotask omits what was not asked for, and empty fields come
//! back as `null`. Dates arrive as UTC without `Z` (`2026-11-27T01:43:57.123`) or with it;
//! picklist values and some ids arrive as strings; both are accepted.

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

/// A root entity with an `id`, queried at `/V1.0/{ENDPOINT}/query`.
pub trait AutotaskEntity: serde::de::DeserializeOwned + Send + 'static {
    /// The endpoint (entity set) name, e.g. `Tickets`.
    const ENDPOINT: &'static str;
    fn id(&self) -> Option<i64>;
}

/// A user-defined field value on a record; values are strings on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserDefinedFieldValue {
    pub name: String,
    pub value: Option<String>,
}

/// An Autotask ticket (`TicketModel`). Picklist fields are tenant-specific integer codes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ticket {
    #[serde(
        rename = "id",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub id: Option<i64>,
    #[serde(rename = "ticketNumber", skip_serializing_if = "Option::is_none")]
    pub ticket_number: Option<String>,
    #[serde(rename = "title", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        rename = "status",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub status: Option<i64>,
    #[serde(
        rename = "priority",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub priority: Option<i64>,
    #[serde(
        rename = "queueID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub queue_id: Option<i64>,
    #[serde(
        rename = "companyID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub company_id: Option<i64>,
    #[serde(
        rename = "contactID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub contact_id: Option<i64>,
    #[serde(
        rename = "issueType",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub issue_type: Option<i64>,
    #[serde(
        rename = "subIssueType",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub sub_issue_type: Option<i64>,
    #[serde(
        rename = "ticketType",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub ticket_type: Option<i64>,
    #[serde(
        rename = "ticketCategory",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub ticket_category: Option<i64>,
    #[serde(
        rename = "source",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub source: Option<i64>,
    #[serde(
        rename = "assignedResourceID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub assigned_resource_id: Option<i64>,
    #[serde(
        rename = "assignedResourceRoleID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub assigned_resource_role_id: Option<i64>,
    #[serde(
        rename = "creatorResourceID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub creator_resource_id: Option<i64>,
    #[serde(
        rename = "lastActivityResourceID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub last_activity_resource_id: Option<i64>,
    #[serde(
        rename = "completedByResourceID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub completed_by_resource_id: Option<i64>,
    #[serde(rename = "externalID", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(rename = "resolution", skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(
        rename = "createDate",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub create_date: Option<OffsetDateTime>,
    #[serde(
        rename = "lastActivityDate",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub last_activity_date: Option<OffsetDateTime>,
    #[serde(
        rename = "lastTrackedModificationDateTime",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub last_tracked_modification_date_time: Option<OffsetDateTime>,
    #[serde(
        rename = "completedDate",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub completed_date: Option<OffsetDateTime>,
    #[serde(
        rename = "dueDateTime",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub due_date_time: Option<OffsetDateTime>,
    #[serde(rename = "userDefinedFields", skip_serializing_if = "Option::is_none")]
    pub user_defined_fields: Option<Vec<UserDefinedFieldValue>>,
}

impl AutotaskEntity for Ticket {
    const ENDPOINT: &'static str = "Tickets";
    fn id(&self) -> Option<i64> {
        self.id
    }
}

/// A note on a ticket (`TicketNoteModel`). Created through `/Tickets/{id}/Notes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketNote {
    #[serde(
        rename = "id",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub id: Option<i64>,
    #[serde(
        rename = "ticketID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub ticket_id: Option<i64>,
    #[serde(rename = "title", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        rename = "noteType",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub note_type: Option<i64>,
    #[serde(
        rename = "publish",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub publish: Option<i64>,
    #[serde(
        rename = "creatorResourceID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub creator_resource_id: Option<i64>,
    #[serde(
        rename = "createdByContactID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub created_by_contact_id: Option<i64>,
    #[serde(
        rename = "impersonatorCreatorResourceID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub impersonator_creator_resource_id: Option<i64>,
    #[serde(
        rename = "createDateTime",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub create_date_time: Option<OffsetDateTime>,
    #[serde(
        rename = "lastActivityDate",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub last_activity_date: Option<OffsetDateTime>,
}

impl AutotaskEntity for TicketNote {
    const ENDPOINT: &'static str = "TicketNotes";
    fn id(&self) -> Option<i64> {
        self.id
    }
}

/// A ticket attachment (`TicketAttachmentModel`). `data` (base64) is only present when one attachment is read by id, and is required to create one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketAttachment {
    #[serde(
        rename = "id",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub id: Option<i64>,
    #[serde(
        rename = "ticketID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub ticket_id: Option<i64>,
    #[serde(
        rename = "ticketNoteID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub ticket_note_id: Option<i64>,
    #[serde(
        rename = "parentID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub parent_id: Option<i64>,
    #[serde(rename = "title", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "fullPath", skip_serializing_if = "Option::is_none")]
    pub full_path: Option<String>,
    #[serde(rename = "attachmentType", skip_serializing_if = "Option::is_none")]
    pub attachment_type: Option<String>,
    #[serde(rename = "contentType", skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(
        rename = "publish",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub publish: Option<i64>,
    #[serde(rename = "fileSize", skip_serializing_if = "Option::is_none")]
    pub file_size: Option<f64>,
    #[serde(
        rename = "attachedByResourceID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub attached_by_resource_id: Option<i64>,
    #[serde(
        rename = "attachedByContactID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub attached_by_contact_id: Option<i64>,
    #[serde(
        rename = "attachDate",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub attach_date: Option<OffsetDateTime>,
    #[serde(rename = "data", skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl AutotaskEntity for TicketAttachment {
    const ENDPOINT: &'static str = "TicketAttachments";
    fn id(&self) -> Option<i64> {
        self.id
    }
}

/// A company (`CompanyModel`). Company 0 is the tenant's own company.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Company {
    #[serde(
        rename = "id",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub id: Option<i64>,
    #[serde(rename = "companyName", skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(rename = "companyNumber", skip_serializing_if = "Option::is_none")]
    pub company_number: Option<String>,
    #[serde(
        rename = "companyType",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub company_type: Option<i64>,
    #[serde(rename = "isActive", skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(
        rename = "ownerResourceID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub owner_resource_id: Option<i64>,
    #[serde(
        rename = "parentCompanyID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub parent_company_id: Option<i64>,
    #[serde(rename = "phone", skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(rename = "webAddress", skip_serializing_if = "Option::is_none")]
    pub web_address: Option<String>,
    #[serde(
        rename = "createDate",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub create_date: Option<OffsetDateTime>,
    #[serde(
        rename = "lastActivityDate",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub last_activity_date: Option<OffsetDateTime>,
    #[serde(rename = "userDefinedFields", skip_serializing_if = "Option::is_none")]
    pub user_defined_fields: Option<Vec<UserDefinedFieldValue>>,
}

impl AutotaskEntity for Company {
    const ENDPOINT: &'static str = "Companies";
    fn id(&self) -> Option<i64> {
        self.id
    }
}

/// A contact person of a company (`ContactModel`). `isActive` is 0/1 on the wire, not a bool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Contact {
    #[serde(
        rename = "id",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub id: Option<i64>,
    #[serde(
        rename = "companyID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub company_id: Option<i64>,
    #[serde(rename = "firstName", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "lastName", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "emailAddress", skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    #[serde(rename = "phone", skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(rename = "mobilePhone", skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    #[serde(rename = "title", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(
        rename = "isActive",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub is_active: Option<i64>,
    #[serde(rename = "externalID", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(
        rename = "createDate",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub create_date: Option<OffsetDateTime>,
    #[serde(
        rename = "lastActivityDate",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub last_activity_date: Option<OffsetDateTime>,
    #[serde(
        rename = "lastModifiedDate",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub last_modified_date: Option<OffsetDateTime>,
}

impl AutotaskEntity for Contact {
    const ENDPOINT: &'static str = "Contacts";
    fn id(&self) -> Option<i64> {
        self.id
    }
}

/// A resource (an Autotask user, including API-only users) (`ResourceModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resource {
    #[serde(
        rename = "id",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub id: Option<i64>,
    #[serde(rename = "firstName", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "lastName", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "email", skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "userName", skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(rename = "isActive", skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(rename = "resourceType", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(
        rename = "userType",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub user_type: Option<i64>,
    #[serde(
        rename = "licenseType",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub license_type: Option<i64>,
    #[serde(rename = "title", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl AutotaskEntity for Resource {
    const ENDPOINT: &'static str = "Resources";
    fn id(&self) -> Option<i64> {
        self.id
    }
}

/// A resource's internal cost and nothing else: the connection test reads it to tell whether the
/// API user's security level reads cost fields (for a level that cannot, Autotask answers null).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ResourceCost {
    #[serde(rename = "id", deserialize_with = "crate::wire::lenient_integer")]
    pub id: Option<i64>,
    #[serde(rename = "internalCost")]
    pub internal_cost: Option<f64>,
}

impl AutotaskEntity for ResourceCost {
    const ENDPOINT: &'static str = "Resources";
    fn id(&self) -> Option<i64> {
        self.id
    }
}

/// A ticket deleted in the Autotask UI (`DeletedTicketLogModel`): the only trace of a deletion
/// a poller can read, since the ticket itself is gone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeletedTicketLog {
    #[serde(
        rename = "id",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub id: Option<i64>,
    #[serde(
        rename = "ticketID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub ticket_id: Option<i64>,
    #[serde(rename = "ticketNumber", skip_serializing_if = "Option::is_none")]
    pub ticket_number: Option<String>,
    #[serde(rename = "ticketTitle", skip_serializing_if = "Option::is_none")]
    pub ticket_title: Option<String>,
    #[serde(
        rename = "deletedByResourceID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient_integer"
    )]
    pub deleted_by_resource_id: Option<i64>,
    #[serde(
        rename = "deletedDateTime",
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::datetime"
    )]
    pub deleted_date_time: Option<OffsetDateTime>,
}

impl AutotaskEntity for DeletedTicketLog {
    const ENDPOINT: &'static str = "DeletedTicketLogs";
    fn id(&self) -> Option<i64> {
        self.id
    }
}

/// `GET /V1.0/ZoneInformation?user=` (no credentials).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ZoneInformation {
    #[serde(rename = "zoneName")]
    pub zone_name: Option<String>,
    /// The zone's REST root, e.g. `https://webservices5.autotask.net/atservicesrest/`.
    pub url: Option<String>,
    #[serde(rename = "webUrl")]
    pub web_url: Option<String>,
    /// The customer database number.
    #[serde(deserialize_with = "lenient_integer")]
    pub ci: Option<i64>,
}

/// `GET /V1.0/ThresholdInformation`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ThresholdInformation {
    #[serde(
        rename = "externalRequestThreshold",
        deserialize_with = "lenient_integer"
    )]
    pub external_request_threshold: Option<i64>,
    #[serde(
        rename = "requestThresholdTimeframe",
        deserialize_with = "lenient_integer"
    )]
    pub request_threshold_timeframe: Option<i64>,
    #[serde(
        rename = "currentTimeframeRequestCount",
        deserialize_with = "lenient_integer"
    )]
    pub current_timeframe_request_count: Option<i64>,
}

/// `{"items": [...], "pageDetails": {...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryResponse<T> {
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    #[serde(rename = "pageDetails", default)]
    pub page_details: Option<PageDetails>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PageDetails {
    #[serde(deserialize_with = "lenient_integer")]
    pub count: Option<i64>,
    #[serde(rename = "requestCount", deserialize_with = "lenient_integer")]
    pub request_count: Option<i64>,
    #[serde(rename = "prevPageUrl")]
    pub prev_page_url: Option<String>,
    #[serde(rename = "nextPageUrl")]
    pub next_page_url: Option<String>,
}

/// `{"item": {...}}` (or `{"item": null}` for a missing record). A child attachment read by id
/// (`/Tickets/{id}/Attachments/{id}`) answers `{"items": [{...}]}` instead; both are accepted.
#[derive(Debug, Clone, Deserialize)]
pub struct ItemResponse<T> {
    #[serde(default = "Option::default")]
    pub item: Option<T>,
    #[serde(default = "Option::default")]
    pub items: Option<Vec<T>>,
}

impl<T> ItemResponse<T> {
    /// The single record, from either shape.
    pub fn into_item(self) -> Option<T> {
        self.item
            .or_else(|| self.items.and_then(|items| items.into_iter().next()))
    }
}

/// `{"itemId": 123}` from create/patch; Autotask types `itemId` loosely, so a string is accepted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OperationResult {
    #[serde(rename = "itemId", deserialize_with = "lenient_integer")]
    pub item_id: Option<i64>,
}

/// `{"queryCount": n}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QueryCount {
    #[serde(rename = "queryCount", deserialize_with = "lenient_integer")]
    pub query_count: Option<i64>,
}

/// `GET /V1.0/{Entity}/entityInformation/fields`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct FieldInformationResult {
    pub fields: Vec<FieldInformation>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct FieldInformation {
    pub name: String,
    #[serde(rename = "dataType")]
    pub data_type: Option<String>,
    #[serde(deserialize_with = "lenient_integer")]
    pub length: Option<i64>,
    #[serde(rename = "isRequired")]
    pub is_required: bool,
    #[serde(rename = "isReadOnly")]
    pub is_read_only: bool,
    #[serde(rename = "isQueryable")]
    pub is_queryable: bool,
    #[serde(rename = "isReference")]
    pub is_reference: bool,
    #[serde(rename = "referenceEntityType")]
    pub reference_entity_type: Option<String>,
    #[serde(rename = "isPickList")]
    pub is_pick_list: bool,
    #[serde(rename = "picklistValues", deserialize_with = "null_as_empty")]
    pub picklist_values: Vec<PicklistValue>,
    #[serde(rename = "picklistParentValueField")]
    pub picklist_parent_value_field: Option<String>,
}

/// A picklist entry. `value` and `parentValue` are strings on the wire ("8"); parsed to integers
/// here so they compare correctly (`"08"` and `"8"` are the same value).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PicklistValue {
    #[serde(deserialize_with = "lenient_integer")]
    pub value: Option<i64>,
    pub label: String,
    #[serde(rename = "isDefaultValue")]
    pub is_default_value: bool,
    #[serde(rename = "sortOrder", deserialize_with = "lenient_integer")]
    pub sort_order: Option<i64>,
    #[serde(rename = "parentValue", deserialize_with = "lenient_integer")]
    pub parent_value: Option<i64>,
    #[serde(rename = "isActive")]
    pub is_active: bool,
    #[serde(rename = "isSystem")]
    pub is_system: bool,
}

/// `GET /V1.0/{Entity}/entityInformation/userDefinedFields`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct UserDefinedFieldInformationResult {
    pub fields: Vec<UserDefinedFieldInformation>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct UserDefinedFieldInformation {
    pub name: String,
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub field_type: Option<String>,
    #[serde(deserialize_with = "lenient_integer")]
    pub length: Option<i64>,
    pub description: Option<String>,
    #[serde(rename = "isRequired")]
    pub is_required: bool,
    #[serde(rename = "isReadOnly")]
    pub is_read_only: bool,
    #[serde(rename = "isQueryable")]
    pub is_queryable: bool,
    #[serde(rename = "isPickList")]
    pub is_pick_list: bool,
    #[serde(rename = "picklistValues", deserialize_with = "null_as_empty")]
    pub picklist_values: Vec<PicklistValue>,
    #[serde(rename = "defaultValue")]
    pub default_value: Option<String>,
}

/// One filter item of a `QueryModel`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filter {
    pub op: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub udf: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Filter>,
}

impl Filter {
    /// `{"op": op, "field": field, "value": value}` with op one of `eq`, `noteq`, `gt`, `gte`,
    /// `lt`, `lte`, `beginsWith`, `endsWith`, `contains`, `in`, `notIn`.
    pub fn compare(op: &str, field: &str, value: impl Into<serde_json::Value>) -> Filter {
        Filter {
            op: op.to_owned(),
            field: Some(field.to_owned()),
            value: Some(value.into()),
            udf: false,
            items: Vec::new(),
        }
    }
    pub fn eq(field: &str, value: impl Into<serde_json::Value>) -> Filter {
        Filter::compare("eq", field, value)
    }
    pub fn gt(field: &str, value: impl Into<serde_json::Value>) -> Filter {
        Filter::compare("gt", field, value)
    }
    pub fn gte(field: &str, value: impl Into<serde_json::Value>) -> Filter {
        Filter::compare("gte", field, value)
    }
    pub fn lt(field: &str, value: impl Into<serde_json::Value>) -> Filter {
        Filter::compare("lt", field, value)
    }
    /// `exist` on a field (no value).
    pub fn exist(field: &str) -> Filter {
        Filter {
            op: "exist".to_owned(),
            field: Some(field.to_owned()),
            value: None,
            udf: false,
            items: Vec::new(),
        }
    }
    /// `notExist` on a field (no value): the field is empty.
    pub fn not_exist(field: &str) -> Filter {
        Filter {
            op: "notExist".to_owned(),
            ..Filter::exist(field)
        }
    }
    /// `and`/`or` group.
    pub fn group(op: &str, items: Vec<Filter>) -> Filter {
        Filter {
            op: op.to_owned(),
            field: None,
            value: None,
            udf: false,
            items,
        }
    }
    /// The same comparison on a user-defined field.
    pub fn on_udf(mut self) -> Filter {
        self.udf = true;
        self
    }
    /// The usual "match all": `id gte 0`.
    pub fn all() -> Filter {
        Filter::gte("id", 0)
    }
}

/// The `QueryModel` body of `POST /V1.0/{Entity}/query`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryModel {
    #[serde(rename = "maxRecords")]
    pub max_records: u32,
    #[serde(rename = "includeFields", skip_serializing_if = "Vec::is_empty")]
    pub include_fields: Vec<String>,
    pub filter: Vec<Filter>,
}

/// Accepts an integer as a JSON number, a numeric string, or null.
pub(crate) fn lenient_integer<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(number)) => number
            .as_i64()
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.fract() == 0.0)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{number} is not an integer"))),
        Some(serde_json::Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(text)) => text
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("\"{text}\" is not an integer"))),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected an integer, found {other}"
        ))),
    }
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Autotask date-times: UTC, with or without `Z`/offset, with or without fractional seconds.
pub mod datetime {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    use time::{OffsetDateTime, PrimitiveDateTime};

    /// Parses `2026-11-27T01:43:57.123`, `2026-11-27T01:43:57Z`, `2026-11-27T01:43:57+01:00`.
    pub fn parse(text: &str) -> Option<OffsetDateTime> {
        let text = text.trim();
        if let Ok(with_offset) = OffsetDateTime::parse(text, &Rfc3339) {
            return Some(with_offset.to_offset(time::UtcOffset::UTC));
        }
        let with_fraction =
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
        let without_fraction = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        PrimitiveDateTime::parse(text, with_fraction)
            .or_else(|_| PrimitiveDateTime::parse(text, without_fraction))
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    }

    /// Formats as Autotask writes them, UTC with milliseconds and a `Z`.
    pub fn format(value: OffsetDateTime) -> String {
        let utc = value.to_offset(time::UtcOffset::UTC);
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        utc.format(format).unwrap_or_default()
    }

    pub fn serialize<S: Serializer>(
        value: &Option<OffsetDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.serialize_str(&format(*value)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) if text.trim().is_empty() => Ok(None),
            Some(text) => parse(&text).map(Some).ok_or_else(|| {
                serde::de::Error::custom(format!("unreadable date-time \"{text}\""))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dates_parse_with_and_without_z_as_utc() {
        let without = datetime::parse("2026-11-27T01:43:57.123").unwrap();
        let with = datetime::parse("2026-11-27T01:43:57.123Z").unwrap();
        assert_eq!(without, with);
        assert_eq!(
            datetime::parse("2026-11-27T02:43:57.123+01:00").unwrap(),
            with
        );
        assert!(datetime::parse("2026-11-27T01:43:57").is_some());
        assert!(datetime::parse("yesterday").is_none());
        assert_eq!(datetime::format(with), "2026-11-27T01:43:57.123Z");
    }

    #[test]
    fn tickets_decode_from_vendor_json_with_nulls_and_string_picklists() {
        let json = r#"{"id":42,"ticketNumber":"T20261127.0001","title":"Printer","status":"5","priority":2,
            "queueID":null,"companyID":0,"createDate":"2026-11-27T01:43:57.123","lastActivityDate":"2026-11-27T01:44:00Z",
            "userDefinedFields":[{"name":"Fusion Link","value":null}],"unknownField":true}"#;
        let ticket: Ticket = serde_json::from_str(json).unwrap();
        assert_eq!(ticket.id, Some(42));
        assert_eq!(ticket.status, Some(5));
        assert_eq!(ticket.queue_id, None);
        assert_eq!(ticket.company_id, Some(0));
        assert!(ticket.create_date.is_some());
        assert_eq!(ticket.user_defined_fields.unwrap()[0].name, "Fusion Link");
    }

    #[test]
    fn writes_send_only_the_fields_that_are_set_with_vendor_names() {
        let ticket = Ticket {
            title: Some("Printer".into()),
            company_id: Some(7),
            queue_id: Some(8),
            ..Ticket::default()
        };
        let json = serde_json::to_value(&ticket).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"title":"Printer","companyID":7,"queueID":8})
        );
    }

    #[test]
    fn item_ids_are_accepted_as_numbers_or_strings() {
        let number: OperationResult = serde_json::from_str(r#"{"itemId":12}"#).unwrap();
        let text: OperationResult = serde_json::from_str(r#"{"itemId":"12"}"#).unwrap();
        assert_eq!(number.item_id, Some(12));
        assert_eq!(text.item_id, Some(12));
    }

    #[test]
    fn picklist_values_are_parsed_to_integers() {
        let json = r#"{"fields":[{"name":"priority","dataType":"integer","isPickList":true,
            "picklistValues":[{"value":"4","label":"Critical","isDefaultValue":false,"sortOrder":"1","parentValue":"","isActive":true,"isSystem":true}]},
            {"name":"title","dataType":"string","length":255,"isRequired":true,"picklistValues":null}]}"#;
        let fields: FieldInformationResult = serde_json::from_str(json).unwrap();
        assert_eq!(fields.fields[0].picklist_values[0].value, Some(4));
        assert_eq!(fields.fields[0].picklist_values[0].parent_value, None);
        assert!(fields.fields[1].picklist_values.is_empty());
        assert!(fields.fields[1].is_required);
    }

    #[test]
    fn query_model_serialises_as_the_vendor_expects() {
        let query = QueryModel {
            max_records: 500,
            include_fields: vec![],
            filter: vec![
                Filter::gte("lastActivityDate", "2026-11-27T00:00:00Z"),
                Filter::gt("id", 10),
            ],
        };
        assert_eq!(
            serde_json::to_value(&query).unwrap(),
            serde_json::json!({"maxRecords":500,"filter":[
                {"op":"gte","field":"lastActivityDate","value":"2026-11-27T00:00:00Z"},
                {"op":"gt","field":"id","value":10}]})
        );
    }
}
