//! The simulated entities: their properties (from the vendor Swagger), the behaviour the Swagger does not
//! carry (required, read-only, queryable, picklist and reference flags, lengths, cost fields), and which
//! verbs each entity accepts on its root and parent-child URLs.

mod swagger_fields;

use std::collections::HashMap;
use std::sync::LazyLock;

/// How a property travels on the wire (Swagger `type` + `format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireType {
    Long,
    Integer,
    Double,
    Boolean,
    DateTime,
    Bytes,
    String,
    UserDefinedFields,
}

impl WireType {
    /// The lower-case `dataType` that `entityInformation/fields` reports.
    pub(crate) fn data_type_label(self) -> &'static str {
        match self {
            WireType::Long => "long",
            WireType::Integer => "integer",
            WireType::Double => "double",
            WireType::Boolean => "boolean",
            WireType::DateTime => "datetime",
            WireType::Bytes | WireType::String | WireType::UserDefinedFields => "string",
        }
    }
}

/// The entities the simulator keeps. Anything else under `/V1.0/` is "no HTTP resource".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityKind {
    Tickets,
    TicketNotes,
    TicketAttachments,
    Companies,
    Contacts,
    Resources,
    TimeEntries,
    TicketCategories,
    /// Tickets deleted in the UI (the only way a poller learns about deletions).
    DeletedTicketLogs,
    /// Roles (a time entry's `roleID`); read-only here.
    Roles,
    /// Which roles each resource holds (a time entry's resource must hold its role).
    ResourceRoles,
    /// Billing codes: work types are the active general allocation codes (`billingCodeType` 0,
    /// `useType` 1), the only ones a time entry's `billingCodeID` may name.
    BillingCodes,
}

impl EntityKind {
    pub const ALL: [EntityKind; 12] = [
        EntityKind::Tickets,
        EntityKind::TicketNotes,
        EntityKind::TicketAttachments,
        EntityKind::Companies,
        EntityKind::Contacts,
        EntityKind::Resources,
        EntityKind::TimeEntries,
        EntityKind::TicketCategories,
        EntityKind::DeletedTicketLogs,
        EntityKind::Roles,
        EntityKind::ResourceRoles,
        EntityKind::BillingCodes,
    ];

    /// The URL segment as the Swagger spells it, e.g. `TicketNotes`.
    pub fn path_name(self) -> &'static str {
        definition(self).path_name
    }

    /// Parses a URL segment or seed key case-insensitively (`tickets`, `TicketNotes`, …).
    pub fn parse(name: &str) -> Option<EntityKind> {
        EntityKind::ALL
            .into_iter()
            .find(|kind| kind.path_name().eq_ignore_ascii_case(name))
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// One property of an entity with the metadata `entityInformation/fields` reports.
#[derive(Debug)]
pub(crate) struct FieldDefinition {
    pub name: &'static str,
    pub wire: WireType,
    pub required: bool,
    pub read_only: bool,
    pub queryable: bool,
    pub reference: Option<EntityKind>,
    pub picklist: bool,
    pub picklist_parent: Option<&'static str>,
    pub length: u32,
    /// Withheld from users whose security level cannot read costs.
    pub cost: bool,
}

/// Verbs accepted on one URL shape.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Verbs {
    pub query: bool,
    pub get: bool,
    pub create: bool,
    pub update: bool,
    pub delete: bool,
}

/// `/{Parent}/{parentId}/{Child}`: the only place some entities can be written.
#[derive(Debug)]
pub(crate) struct ParentLink {
    pub parent: EntityKind,
    /// Lower-case child segment, e.g. `notes`.
    pub segment: &'static str,
    /// The child's property holding the parent id, e.g. `ticketID`.
    pub field: &'static str,
    pub verbs: Verbs,
}

#[derive(Debug)]
pub(crate) struct EntityDefinition {
    pub kind: EntityKind,
    pub path_name: &'static str,
    /// The name `entityInformation` reports (`Ticket`).
    pub singular: &'static str,
    pub fields: Vec<FieldDefinition>,
    index: HashMap<String, usize>,
    /// Exact-spelling lookup first: the common case needs no lower-casing allocation.
    exact_index: HashMap<&'static str, usize>,
    pub has_udfs: bool,
    pub root: Verbs,
    pub parent: Option<ParentLink>,
}

impl EntityDefinition {
    /// Field index by case-insensitive name (bodies and filters are matched case-insensitively).
    pub(crate) fn field_index(&self, name: &str) -> Option<usize> {
        if let Some(index) = self.exact_index.get(name) {
            return Some(*index);
        }
        self.index.get(&name.to_ascii_lowercase()).copied()
    }

    pub(crate) fn field(&self, name: &str) -> Option<&FieldDefinition> {
        self.field_index(name).map(|index| &self.fields[index])
    }
}

struct Overlay {
    required: &'static [&'static str],
    read_only: &'static [&'static str],
    not_queryable: &'static [&'static str],
    references: &'static [(&'static str, EntityKind)],
    picklists: &'static [(&'static str, Option<&'static str>)],
    lengths: &'static [(&'static str, u32)],
    cost: &'static [&'static str],
}

const COMMON_READ_ONLY: &[&str] = &[
    "id",
    "createDate",
    "createDateTime",
    "lastActivityDate",
    "lastModifiedDate",
    "lastModifiedDateTime",
    "lastTrackedModificationDateTime",
    "lastTrackedModifiedDateTime",
    "impersonatorCreatorResourceID",
    "impersonatorUpdaterResourceID",
    "creatorResourceID",
    "createdByResourceID",
    "creatorType",
];

#[allow(clippy::too_many_arguments)]
fn build(
    kind: EntityKind,
    path_name: &'static str,
    singular: &'static str,
    properties: &'static [(&'static str, WireType)],
    overlay: Overlay,
    root: Verbs,
    parent: Option<ParentLink>,
) -> EntityDefinition {
    let mut fields = Vec::new();
    let mut has_udfs = false;
    for &(name, wire) in properties {
        if wire == WireType::UserDefinedFields {
            has_udfs = true;
            continue;
        }
        let picklist = overlay.picklists.iter().find(|(field, _)| *field == name);
        let length = match wire {
            WireType::String => overlay
                .lengths
                .iter()
                .find(|(field, _)| *field == name)
                .map_or(255, |(_, length)| *length),
            WireType::Bytes => 0,
            _ => 0,
        };
        fields.push(FieldDefinition {
            name,
            wire,
            required: overlay.required.contains(&name),
            read_only: COMMON_READ_ONLY.contains(&name) || overlay.read_only.contains(&name),
            queryable: !overlay.not_queryable.contains(&name),
            reference: overlay
                .references
                .iter()
                .find(|(field, _)| *field == name)
                .map(|(_, target)| *target),
            picklist: picklist.is_some(),
            picklist_parent: picklist.and_then(|(_, parent)| *parent),
            length,
            cost: overlay.cost.contains(&name),
        });
    }
    let index = fields
        .iter()
        .enumerate()
        .map(|(position, field)| (field.name.to_ascii_lowercase(), position))
        .collect();
    let exact_index = fields
        .iter()
        .enumerate()
        .map(|(position, field)| (field.name, position))
        .collect();
    EntityDefinition {
        kind,
        path_name,
        singular,
        fields,
        index,
        exact_index,
        has_udfs,
        root,
        parent,
    }
}

const READ_ONLY_ROOT: Verbs = Verbs {
    query: true,
    get: true,
    create: false,
    update: false,
    delete: false,
};

static DEFINITIONS: LazyLock<Vec<EntityDefinition>> = LazyLock::new(|| {
    vec![
        build(
            EntityKind::Tickets,
            "Tickets",
            "Ticket",
            swagger_fields::TICKET,
            Overlay {
                required: &["companyID", "title", "status", "priority"],
                read_only: &[
                    "ticketNumber",
                    "lastActivityResourceID",
                    "lastActivityPersonType",
                    "completedDate",
                    "completedByResourceID",
                    "createdByContactID",
                    "firstResponseDateTime",
                    "lastCustomerNotificationDateTime",
                    "lastCustomerVisibleActivityDateTime",
                ],
                not_queryable: &["creatorType", "lastActivityPersonType"],
                references: &[
                    ("companyID", EntityKind::Companies),
                    ("contactID", EntityKind::Contacts),
                    ("assignedResourceID", EntityKind::Resources),
                    ("completedByResourceID", EntityKind::Resources),
                    ("creatorResourceID", EntityKind::Resources),
                    ("lastActivityResourceID", EntityKind::Resources),
                ],
                picklists: &[
                    ("status", None),
                    ("priority", None),
                    ("queueID", None),
                    ("issueType", None),
                    ("subIssueType", Some("issueType")),
                    ("ticketType", None),
                    ("source", None),
                    ("creatorType", None),
                    ("lastActivityPersonType", None),
                    // Values come from the tenant's TicketCategories unless seeded explicitly.
                    ("ticketCategory", None),
                ],
                lengths: &[
                    ("title", 255),
                    ("description", 8000),
                    ("externalID", 50),
                    ("resolution", 32000),
                ],
                cost: &[],
            },
            Verbs {
                query: true,
                get: true,
                create: true,
                update: true,
                delete: false,
            },
            None,
        ),
        build(
            EntityKind::TicketNotes,
            "TicketNotes",
            "TicketNote",
            swagger_fields::TICKET_NOTE,
            Overlay {
                required: &["description", "noteType", "publish"],
                read_only: &["ticketID", "createdByContactID"],
                not_queryable: &[],
                references: &[
                    ("ticketID", EntityKind::Tickets),
                    ("creatorResourceID", EntityKind::Resources),
                ],
                picklists: &[("noteType", None), ("publish", None)],
                lengths: &[("title", 250), ("description", 32000)],
                cost: &[],
            },
            READ_ONLY_ROOT,
            Some(ParentLink {
                parent: EntityKind::Tickets,
                segment: "notes",
                field: "ticketID",
                verbs: Verbs {
                    query: true,
                    get: true,
                    create: true,
                    update: true,
                    delete: false,
                },
            }),
        ),
        build(
            EntityKind::TicketAttachments,
            "TicketAttachments",
            "TicketAttachment",
            swagger_fields::TICKET_ATTACHMENT,
            Overlay {
                required: &["attachmentType", "fullPath", "title", "publish"],
                read_only: &[
                    "ticketID",
                    "attachDate",
                    "attachedByResourceID",
                    "attachedByContactID",
                    "fileSize",
                    "parentID",
                    "parentType",
                    "isTaskAttachment",
                ],
                not_queryable: &["data", "fileSize", "creatorType"],
                references: &[
                    ("ticketID", EntityKind::Tickets),
                    ("attachedByResourceID", EntityKind::Resources),
                ],
                picklists: &[("publish", None)],
                lengths: &[
                    ("title", 255),
                    ("fullPath", 255),
                    ("contentType", 100),
                    ("attachmentType", 20),
                ],
                cost: &[],
            },
            READ_ONLY_ROOT,
            Some(ParentLink {
                parent: EntityKind::Tickets,
                segment: "attachments",
                field: "ticketID",
                verbs: Verbs {
                    query: true,
                    get: true,
                    create: true,
                    update: false,
                    delete: true,
                },
            }),
        ),
        build(
            EntityKind::Companies,
            "Companies",
            "Company",
            swagger_fields::COMPANY,
            Overlay {
                required: &["companyName", "companyType", "ownerResourceID", "phone"],
                read_only: &[],
                not_queryable: &[],
                references: &[
                    ("ownerResourceID", EntityKind::Resources),
                    ("parentCompanyID", EntityKind::Companies),
                ],
                picklists: &[("companyType", None)],
                lengths: &[("companyName", 100), ("phone", 25)],
                cost: &[],
            },
            Verbs {
                query: true,
                get: true,
                create: true,
                update: true,
                delete: false,
            },
            None,
        ),
        build(
            EntityKind::Contacts,
            "Contacts",
            "Contact",
            swagger_fields::CONTACT,
            Overlay {
                required: &["firstName", "lastName", "isActive"],
                read_only: &["companyID"],
                not_queryable: &[],
                references: &[("companyID", EntityKind::Companies)],
                picklists: &[],
                lengths: &[("firstName", 50), ("lastName", 50), ("emailAddress", 254)],
                cost: &[],
            },
            READ_ONLY_ROOT,
            Some(ParentLink {
                parent: EntityKind::Companies,
                segment: "contacts",
                field: "companyID",
                verbs: Verbs {
                    query: true,
                    get: true,
                    create: true,
                    update: true,
                    delete: true,
                },
            }),
        ),
        build(
            EntityKind::Resources,
            "Resources",
            "Resource",
            swagger_fields::RESOURCE,
            Overlay {
                required: &["firstName", "lastName", "email", "userName"],
                read_only: &["userName", "licenseType", "resourceType", "userType"],
                not_queryable: &[],
                references: &[],
                picklists: &[],
                lengths: &[
                    ("firstName", 50),
                    ("lastName", 50),
                    ("email", 254),
                    ("userName", 254),
                ],
                cost: &["internalCost"],
            },
            Verbs {
                query: true,
                get: true,
                create: false,
                update: true,
                delete: false,
            },
            None,
        ),
        build(
            EntityKind::TimeEntries,
            "TimeEntries",
            "TimeEntry",
            swagger_fields::TIME_ENTRY,
            Overlay {
                required: &["resourceID"],
                read_only: &[
                    "creatorUserID",
                    "lastModifiedUserID",
                    "billingApprovalDateTime",
                ],
                not_queryable: &[],
                references: &[
                    ("ticketID", EntityKind::Tickets),
                    ("resourceID", EntityKind::Resources),
                ],
                picklists: &[],
                lengths: &[("summaryNotes", 32000), ("internalNotes", 32000)],
                cost: &[],
            },
            Verbs {
                query: true,
                get: true,
                create: true,
                update: true,
                delete: true,
            },
            None,
        ),
        build(
            EntityKind::TicketCategories,
            "TicketCategories",
            "TicketCategory",
            swagger_fields::TICKET_CATEGORY,
            Overlay {
                required: &["name", "nickname"],
                read_only: &[],
                not_queryable: &[],
                references: &[],
                picklists: &[],
                lengths: &[("name", 30), ("nickname", 3)],
                cost: &[],
            },
            READ_ONLY_ROOT,
            None,
        ),
        build(
            EntityKind::DeletedTicketLogs,
            "DeletedTicketLogs",
            "DeletedTicketLog",
            swagger_fields::DELETED_TICKET_LOG,
            Overlay {
                required: &[],
                read_only: &[
                    "ticketID",
                    "ticketNumber",
                    "ticketTitle",
                    "deletedByResourceID",
                    "deletedDateTime",
                ],
                not_queryable: &[],
                references: &[("deletedByResourceID", EntityKind::Resources)],
                picklists: &[],
                lengths: &[("ticketTitle", 255), ("ticketNumber", 50)],
                cost: &[],
            },
            READ_ONLY_ROOT,
            None,
        ),
        build(
            EntityKind::Roles,
            "Roles",
            "Role",
            swagger_fields::ROLE,
            Overlay {
                required: &["name", "hourlyFactor", "hourlyRate", "isActive"],
                read_only: &["isSystemRole"],
                not_queryable: &[],
                references: &[],
                picklists: &[],
                lengths: &[("name", 200), ("description", 200)],
                cost: &["hourlyRate", "hourlyFactor"],
            },
            READ_ONLY_ROOT,
            None,
        ),
        build(
            EntityKind::ResourceRoles,
            "ResourceRoles",
            "ResourceRole",
            swagger_fields::RESOURCE_ROLE,
            Overlay {
                required: &["resourceID", "roleID"],
                read_only: &[],
                not_queryable: &[],
                references: &[
                    ("resourceID", EntityKind::Resources),
                    ("roleID", EntityKind::Roles),
                ],
                picklists: &[],
                lengths: &[],
                cost: &[],
            },
            READ_ONLY_ROOT,
            None,
        ),
        build(
            EntityKind::BillingCodes,
            "BillingCodes",
            "BillingCode",
            swagger_fields::BILLING_CODE,
            Overlay {
                required: &["name", "billingCodeType", "useType", "isActive"],
                read_only: &[],
                not_queryable: &[],
                references: &[],
                picklists: &[],
                lengths: &[("name", 200), ("description", 500), ("externalNumber", 100)],
                cost: &["unitCost", "unitPrice", "markupRate"],
            },
            READ_ONLY_ROOT,
            None,
        ),
    ]
});

pub(crate) fn definition(kind: EntityKind) -> &'static EntityDefinition {
    &DEFINITIONS[kind.index()]
}

/// The child entity reached by `/{parent}/{id}/{segment}` (segment lower-case).
pub(crate) fn child_of(parent: EntityKind, segment: &str) -> Option<&'static EntityDefinition> {
    DEFINITIONS.iter().find(|definition| {
        definition
            .parent
            .as_ref()
            .is_some_and(|link| link.parent == parent && link.segment == segment)
    })
}
