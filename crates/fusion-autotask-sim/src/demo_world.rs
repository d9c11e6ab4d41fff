//! Built-in worlds: `World::demo()` (two tenants that differ the way real tenants do) and
//! `World::generated(tickets, notes)` for benchmarks.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::seed::{
    ApiUserSeed, PicklistSeed, PicklistValueSeed, SECURITY_LEVEL_FULL, SECURITY_LEVEL_NO_COSTS,
    TenantSeed, UserDefinedFieldSeed, World,
};
use crate::wire::format_date_time;

/// The deployment integration code of the demo world (27 characters).
pub const DEMO_INTEGRATION_CODE: &str = "FUSIONDEMOINTEGRATIONCODE01";

fn values(items: &[(i64, &str)]) -> Vec<PicklistValueSeed> {
    items
        .iter()
        .map(|(value, label)| PicklistValueSeed {
            value: *value,
            label: (*label).to_owned(),
            is_active: true,
            is_default: false,
            is_system: false,
            sort_order: None,
            parent_value: None,
        })
        .collect()
}

fn picklist(
    entity: &str,
    field: &str,
    mut items: Vec<PicklistValueSeed>,
    default: Option<i64>,
) -> PicklistSeed {
    for item in &mut items {
        item.is_default = Some(item.value) == default;
    }
    PicklistSeed {
        entity: entity.to_owned(),
        field: field.to_owned(),
        values: items,
    }
}

fn sub_issue_types(items: &[(i64, &str, i64)]) -> Vec<PicklistValueSeed> {
    items
        .iter()
        .map(|(value, label, parent)| PicklistValueSeed {
            value: *value,
            label: (*label).to_owned(),
            is_active: true,
            is_default: false,
            is_system: false,
            sort_order: None,
            parent_value: Some(*parent),
        })
        .collect()
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn stamp(now: OffsetDateTime, minutes_ago: i64) -> String {
    format_date_time(now - time::Duration::minutes(minutes_ago))
}

/// The demo tenants' roles (`Roles`): every person holds Technician.
pub const TECHNICIAN_ROLE: i64 = 29_683_461;
/// Held by each tenant's first person only.
pub const ENGINEER_ROLE: i64 = 29_683_462;
/// Inactive.
pub const RETIRED_ROLE: i64 = 29_683_463;
/// The demo tenants' work types (`BillingCodes` with `useType` 1).
pub const REMOTE_SUPPORT: i64 = 29_682_801;
pub const ONSITE_SUPPORT: i64 = 29_682_802;
/// Inactive.
pub const RETIRED_WORK_TYPE: i64 = 29_682_803;
/// A recurring-service code (`useType` 2): not a work type.
pub const MANAGED_SERVICES: i64 = 29_682_810;

struct TenantShape<'a> {
    name: &'a str,
    zone: u32,
    domain: &'a str,
    api_key: &'a str,
    inactive_key: &'a str,
    secret: &'a str,
    security_level: &'a str,
    statuses: &'a [(i64, &'a str)],
    priorities: &'a [(i64, &'a str)],
    queues: &'a [(i64, &'a str)],
    note_types: &'a [(i64, &'a str)],
    note_publish: &'a [(i64, &'a str)],
    people: &'a [(&'a str, &'a str)],
    customer: &'a str,
    customer_domain: &'a str,
}

fn tenant(shape: &TenantShape<'_>, first_id: i64, now: OffsetDateTime) -> TenantSeed {
    let complete_status = 5;
    let mut statuses = values(shape.statuses);
    for status in &mut statuses {
        status.is_system = status.value == complete_status || status.value == 1;
    }
    let picklists = vec![
        picklist("Tickets", "status", statuses, Some(1)),
        picklist("Tickets", "priority", values(shape.priorities), None),
        picklist("Tickets", "queueID", values(shape.queues), None),
        picklist(
            "Tickets",
            "issueType",
            values(&[(1, "Hardware"), (2, "Software"), (3, "Network")]),
            None,
        ),
        picklist(
            "Tickets",
            "subIssueType",
            sub_issue_types(&[
                (10, "Laptop", 1),
                (11, "Printer", 1),
                (20, "Email", 2),
                (21, "ERP", 2),
                (30, "VPN", 3),
            ]),
            None,
        ),
        picklist(
            "Tickets",
            "ticketType",
            values(&[
                (1, "Service Request"),
                (2, "Incident"),
                (3, "Problem"),
                (4, "Change Request"),
                (5, "Alert"),
            ]),
            Some(1),
        ),
        picklist(
            "Tickets",
            "source",
            values(&[
                (-1, "Insourced"),
                (2, "Phone"),
                (4, "Email"),
                (6, "Client Portal"),
                (11, "Web Service"),
            ]),
            Some(11),
        ),
        picklist(
            "Tickets",
            "creatorType",
            values(&[(1, "Resource"), (2, "Contact")]),
            None,
        ),
        picklist(
            "Tickets",
            "lastActivityPersonType",
            values(&[(1, "Resource"), (2, "Contact")]),
            None,
        ),
        picklist("TicketNotes", "noteType", values(shape.note_types), Some(1)),
        picklist(
            "TicketNotes",
            "publish",
            values(shape.note_publish),
            Some(1),
        ),
        picklist(
            "TicketAttachments",
            "publish",
            values(&[
                (1, "All Autotask Users"),
                (2, "Internal Users Only"),
                (4, "Internal & Co-Managed"),
            ]),
            Some(1),
        ),
        picklist(
            "Companies",
            "companyType",
            values(&[
                (1, "Customer"),
                (3, "Prospect"),
                (7, "Vendor"),
                (8, "Partner"),
            ]),
            None,
        ),
    ];
    let mut records = std::collections::BTreeMap::new();
    let person_ids: Vec<i64> = (0..shape.people.len() as i64)
        .map(|offset| first_id + offset)
        .collect();
    let resources: Vec<Map<String, Value>> = shape
        .people
        .iter()
        .zip(&person_ids)
        .map(|((first, last), id)| {
            let email = format!(
                "{}.{}@{}",
                first.to_lowercase(),
                last.to_lowercase(),
                shape.domain
            );
            object(json!({
                "id": id, "firstName": first, "lastName": last, "email": email, "userName": email,
                "isActive": true, "licenseType": 1, "resourceType": "Employee", "userType": 1,
                "internalCost": 42.5, "title": "Service Desk Engineer",
            }))
        })
        .collect();
    records.insert("Resources".to_owned(), resources);
    records.insert(
        "Roles".to_owned(),
        vec![
            object(json!({ "id": TECHNICIAN_ROLE, "name": "Technician", "isActive": true, "hourlyRate": 95.0, "hourlyFactor": 1.0, "roleType": 1, "isSystemRole": false })),
            object(json!({ "id": ENGINEER_ROLE, "name": "Senior Engineer", "isActive": true, "hourlyRate": 140.0, "hourlyFactor": 1.0, "roleType": 1, "isSystemRole": false })),
            object(json!({ "id": RETIRED_ROLE, "name": "Field Technician (retired)", "isActive": false, "hourlyRate": 80.0, "hourlyFactor": 1.0, "roleType": 1, "isSystemRole": false })),
        ],
    );
    // Everyone holds Technician; the first person is also a Senior Engineer.
    let mut resource_roles: Vec<Map<String, Value>> = person_ids
        .iter()
        .enumerate()
        .map(|(index, id)| {
            object(json!({ "id": first_id + 700 + index as i64, "resourceID": id, "roleID": TECHNICIAN_ROLE, "isActive": true }))
        })
        .collect();
    resource_roles.push(object(json!({ "id": first_id + 690, "resourceID": person_ids[0], "roleID": ENGINEER_ROLE, "isActive": true })));
    records.insert("ResourceRoles".to_owned(), resource_roles);
    records.insert(
        "BillingCodes".to_owned(),
        vec![
            object(json!({ "id": REMOTE_SUPPORT, "name": "Remote Support", "billingCodeType": 0, "useType": 1, "isActive": true, "unitPrice": 120.0, "unitCost": 40.0 })),
            object(json!({ "id": ONSITE_SUPPORT, "name": "On-site Support", "billingCodeType": 0, "useType": 1, "isActive": true, "unitPrice": 150.0, "unitCost": 55.0 })),
            object(json!({ "id": RETIRED_WORK_TYPE, "name": "Legacy Support (retired)", "billingCodeType": 0, "useType": 1, "isActive": false })),
            object(json!({ "id": MANAGED_SERVICES, "name": "Monthly Managed Services", "billingCodeType": 0, "useType": 2, "isActive": true, "unitPrice": 900.0 })),
        ],
    );
    let own_company = first_id + 100;
    let customer_company = first_id + 101;
    records.insert(
        "Companies".to_owned(),
        vec![
            object(json!({
                "id": own_company, "companyName": shape.name, "companyType": 8, "ownerResourceID": person_ids[0],
                "phone": "+1 555 0100", "isActive": true, "city": "Seattle",
            })),
            object(json!({
                "id": customer_company, "companyName": shape.customer, "companyType": 1, "ownerResourceID": person_ids[0],
                "phone": "+1 555 0199", "isActive": true, "city": "Portland",
            })),
        ],
    );
    let contact = first_id + 200;
    records.insert(
        "Contacts".to_owned(),
        vec![object(json!({
            "id": contact, "companyID": customer_company, "firstName": "Chris", "lastName": "Green",
            "emailAddress": format!("chris.green@{}", shape.customer_domain), "isActive": 1, "primaryContact": true,
        }))],
    );
    records.insert(
        "TicketCategories".to_owned(),
        vec![
            object(json!({ "id": 3, "name": "Standard", "nickname": "STD", "isActive": true, "isGlobalDefault": true, "isApiOnly": false })),
            object(json!({ "id": 4, "name": "Incident", "nickname": "INC", "isActive": true, "isGlobalDefault": false, "isApiOnly": false })),
        ],
    );
    let ticket_base = first_id + 300;
    let queue = shape.queues[0].0;
    let priority = shape.priorities[0].0;
    let tickets = [
        (
            ticket_base,
            "Printer on floor 2 jams constantly",
            1,
            11,
            1,
            180,
        ),
        (
            ticket_base + 1,
            "Cannot connect to VPN from home",
            3,
            30,
            1,
            120,
        ),
        (
            ticket_base + 2,
            "Outlook keeps asking for password",
            2,
            20,
            complete_status,
            60,
        ),
    ];
    records.insert(
        "Tickets".to_owned(),
        tickets
            .iter()
            .map(|(id, title, issue, sub_issue, status, minutes_ago)| {
                object(json!({
                    "id": id, "title": title, "description": format!("{title}. Reported by Chris Green."),
                    "companyID": customer_company, "contactID": contact, "status": status, "priority": priority,
                    "queueID": queue, "issueType": issue, "subIssueType": sub_issue, "ticketType": 1, "source": 2,
                    "ticketCategory": 3, "creatorResourceID": person_ids[0], "creatorType": 1,
                    "createDate": stamp(now, minutes_ago + 30), "lastActivityDate": stamp(now, *minutes_ago),
                    "lastActivityResourceID": person_ids[0], "lastActivityPersonType": 1,
                    "completedDate": if *status == complete_status { Value::from(stamp(now, *minutes_ago)) } else { Value::Null },
                    "userDefinedFields": [{ "name": "Customer Reference", "value": format!("CR-{id}") }],
                }))
            })
            .collect(),
    );
    let note_type = shape.note_types[0].0;
    records.insert(
        "TicketNotes".to_owned(),
        tickets
            .iter()
            .enumerate()
            .flat_map(|(position, (ticket, _, _, _, _, minutes_ago))| {
                let note_base = first_id + 400 + position as i64 * 2;
                [
                    object(json!({
                        "id": note_base, "ticketID": ticket, "title": "Initial triage",
                        "description": "Looked at it, asked the user for more detail.", "noteType": note_type, "publish": 1,
                        "creatorResourceID": person_ids[0], "createDateTime": stamp(now, minutes_ago + 20),
                        "lastActivityDate": stamp(now, minutes_ago + 20),
                    })),
                    object(json!({
                        "id": note_base + 1, "ticketID": ticket, "title": "Internal",
                        "description": "Internal remark, not for the customer.", "noteType": note_type, "publish": 2,
                        "creatorResourceID": person_ids[1 % person_ids.len()], "createDateTime": stamp(now, minutes_ago + 10),
                        "lastActivityDate": stamp(now, minutes_ago + 10),
                    })),
                ]
            })
            .collect(),
    );
    records.insert(
        "TimeEntries".to_owned(),
        vec![object(json!({
            "id": first_id + 600, "ticketID": ticket_base, "resourceID": person_ids[0], "roleID": TECHNICIAN_ROLE,
            "billingCodeID": REMOTE_SUPPORT,
            "dateWorked": stamp(now, 24 * 60), "startDateTime": stamp(now, 200), "endDateTime": stamp(now, 170),
            "hoursWorked": 0.5, "hoursToBill": 0.5, "summaryNotes": "Cleared the paper jam.",
            "isNonBillable": false, "createDateTime": stamp(now, 170),
        })), object(json!({
            // Goodwill time: visible only to API users with "Can view non-billable time entries".
            "id": first_id + 601, "ticketID": ticket_base + 1, "resourceID": person_ids[0], "roleID": TECHNICIAN_ROLE,
            "billingCodeID": REMOTE_SUPPORT, "dateWorked": stamp(now, 24 * 60), "startDateTime": stamp(now, 140),
            "endDateTime": stamp(now, 125), "hoursWorked": 0.25, "summaryNotes": "Checked the VPN client version.",
            "isNonBillable": true, "createDateTime": stamp(now, 125),
        }))],
    );
    records.insert(
        "TicketAttachments".to_owned(),
        vec![object(json!({
            "id": first_id + 500, "ticketID": ticket_base, "title": "error-log.txt", "fullPath": "error-log.txt",
            "attachmentType": "FILE_ATTACHMENT", "contentType": "text/plain", "publish": 1,
            "data": "UHJpbnRlciBlcnJvciAxMzoganFtIGluIHRyYXkgMgo=", "attachedByResourceID": person_ids[0],
            "attachDate": stamp(now, 170),
        }))],
    );
    TenantSeed {
        name: shape.name.to_owned(),
        zone: shape.zone,
        ci: None,
        first_id: Some(first_id + 1000),
        api_users: vec![
            ApiUserSeed {
                username: shape.api_key.to_owned(),
                secret: shape.secret.to_owned(),
                active: true,
                security_level: shape.security_level.to_owned(),
                denied_entities: Vec::new(),
                resource_id: None,
                can_view_non_billable_time: true,
            },
            ApiUserSeed {
                username: shape.inactive_key.to_owned(),
                secret: format!("{}-old", shape.secret),
                active: false,
                security_level: SECURITY_LEVEL_FULL.to_owned(),
                denied_entities: Vec::new(),
                resource_id: None,
                can_view_non_billable_time: true,
            },
        ],
        picklists,
        user_defined_fields: vec![UserDefinedFieldSeed {
            entity: "Tickets".to_owned(),
            name: "Customer Reference".to_owned(),
            label: Some("Customer reference".to_owned()),
            data_type: "string".to_owned(),
            is_required: false,
            length: Some(100),
        }],
        required_fields: Vec::new(),
        modules: Vec::new(),
        time_entries_need_start_and_stop: false,
        records,
    }
}

impl World {
    /// Two tenants: "Northwind IT" (the MSP, zone 2, Pre-release) and "Contoso Manufacturing" (its
    /// customer, zone 5, America West). Their picklist codes differ (Contoso has no priority 3), both have
    /// a "Complete" status (5); each has an active and an inactive API user, people with ordinary e-mail
    /// addresses, a customer company with a contact, tickets with notes, and an attachment.
    pub fn demo() -> World {
        let now = OffsetDateTime::now_utc();
        let northwind = TenantShape {
            name: "Northwind IT",
            zone: 2,
            domain: "northwindit.example",
            api_key: "7QKXG2MZ4HPWLRB@NORTHWINDIT.EXAMPLE",
            inactive_key: "J3VD8QTY6NCFXAE@NORTHWINDIT.EXAMPLE",
            secret: "Nw7$kQ2#pL9mX4zR",
            security_level: SECURITY_LEVEL_NO_COSTS,
            statuses: &[
                (1, "New"),
                (5, "Complete"),
                (8, "In Progress"),
                (13, "Waiting Customer"),
                (15, "Escalated"),
            ],
            priorities: &[(2, "Medium"), (1, "High"), (3, "Low"), (4, "Critical")],
            queues: &[
                (29683354, "Level I Support"),
                (29683355, "Level II Support"),
                (29682833, "Client Portal"),
            ],
            note_types: &[
                (1, "Task Notes"),
                (2, "Task Summary"),
                (3, "Task Detail"),
                (13, "Resolution"),
            ],
            note_publish: &[
                (1, "All Autotask Users"),
                (2, "Internal Project Team"),
                (4, "Internal & Co-Managed"),
            ],
            people: &[("Jane", "Doe"), ("Sam", "Patel"), ("Ola", "Berg")],
            customer: "Contoso Manufacturing",
            customer_domain: "contoso.example",
        };
        let contoso = TenantShape {
            name: "Contoso Manufacturing",
            zone: 5,
            domain: "contoso.example",
            api_key: "M8RZT4WQ2KXHJNC@CONTOSO.EXAMPLE",
            inactive_key: "B6PLY9DSG3VQEWT@CONTOSO.EXAMPLE",
            secret: "Ct4*vH8!nB2qW6yJ",
            security_level: SECURITY_LEVEL_FULL,
            statuses: &[
                (1, "New"),
                (5, "Complete"),
                (7, "Waiting Customer"),
                (10, "Scheduled"),
                (12, "With Provider"),
            ],
            priorities: &[(2, "Normal"), (1, "High"), (4, "Critical"), (5, "Low")],
            queues: &[(30100001, "Service Desk"), (30100002, "Escalations")],
            note_types: &[(1, "Task Notes"), (7, "Internal"), (13, "Resolution")],
            note_publish: &[(1, "All Autotask Users"), (2, "Internal Only")],
            people: &[("Alex", "Morgan"), ("Priya", "Shah")],
            customer: "Northwind IT",
            customer_domain: "northwindit.example",
        };
        World {
            integration_codes: vec![DEMO_INTEGRATION_CODE.to_owned()],
            tenants: vec![tenant(&northwind, 29_000_000, now), {
                // Contoso's Autotask wants start and stop times on service-ticket time.
                let mut contoso = tenant(&contoso, 31_000_000, now);
                contoso.time_entries_need_start_and_stop = true;
                contoso
            }],
        }
    }

    /// The demo world with more customers of "Northwind IT": each name in `more_customers` is a
    /// tenant shaped like "Contoso Manufacturing" (its own API users, a "Northwind IT" company)
    /// and a company in Northwind's tenant, so one MSP tenant sits in several relationships — the
    /// world in which privacy between relationships is tested.
    pub fn msp_with_customers(more_customers: &[&str]) -> World {
        let mut world = World::demo();
        let Some(contoso) = world
            .tenants
            .iter()
            .find(|tenant| tenant.name == "Contoso Manufacturing")
            .cloned()
        else {
            return world;
        };
        for (index, name) in more_customers.iter().enumerate() {
            let slug: String = name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_uppercase();
            let mut customer = contoso.clone();
            customer.name = (*name).to_owned();
            customer.ci = None;
            for user in &mut customer.api_users {
                user.username = user
                    .username
                    .replace("@CONTOSO.EXAMPLE", &format!("@{slug}.EXAMPLE"));
            }
            if let Some(companies) = customer.records.get_mut("Companies")
                && let Some(own) = companies.first_mut()
            {
                own.insert("companyName".into(), Value::from(*name));
            }
            world.tenants.push(customer);
            if let Some(northwind) = world
                .tenants
                .iter_mut()
                .find(|tenant| tenant.name == "Northwind IT")
                && let Some(companies) = northwind.records.get_mut("Companies")
                && let Some(template) = companies.get(1).cloned()
            {
                let next_id = companies
                    .iter()
                    .filter_map(|company| company.get("id").and_then(Value::as_i64))
                    .max()
                    .unwrap_or(0)
                    + 1
                    + index as i64;
                let mut company = template;
                company.insert("id".into(), Value::from(next_id));
                company.insert("companyName".into(), Value::from(*name));
                companies.push(company);
            }
        }
        world
    }

    /// The demo world whose first tenant ("Northwind IT") carries `tickets` generated tickets with
    /// `notes_per_ticket` notes each (instead of the demo tickets), for benchmarks and paging tests.
    pub fn generated(tickets: usize, notes_per_ticket: usize) -> World {
        let mut world = World::demo();
        let now = OffsetDateTime::now_utc();
        let Some(first) = world.tenants.first_mut() else {
            return world;
        };
        let customer = first
            .records
            .get("Companies")
            .and_then(|rows| rows.get(1))
            .and_then(|row| row.get("id"))
            .cloned();
        let creator = first
            .records
            .get("Resources")
            .and_then(|rows| rows.first())
            .and_then(|row| row.get("id"))
            .cloned();
        let (customer, creator) = (
            customer.unwrap_or(Value::Null),
            creator.unwrap_or(Value::Null),
        );
        let ticket_base: i64 = 40_000_000;
        let note_base: i64 = 50_000_000;
        let total = tickets as i64;
        let mut ticket_rows = Vec::with_capacity(tickets);
        let mut note_rows = Vec::with_capacity(tickets * notes_per_ticket);
        for index in 0..total {
            let id = ticket_base + index;
            let minutes_ago = total - index;
            let mut row = Map::new();
            row.insert("id".into(), Value::from(id));
            row.insert(
                "title".into(),
                Value::from(format!("Generated ticket {index}")),
            );
            row.insert(
                "description".into(),
                Value::from(format!("Generated ticket {index} for load tests.")),
            );
            row.insert("companyID".into(), customer.clone());
            row.insert(
                "status".into(),
                Value::from(if index % 10 == 9 { 5 } else { 1 }),
            );
            row.insert("priority".into(), Value::from(1 + index % 4));
            row.insert("queueID".into(), Value::from(29683354));
            row.insert("ticketType".into(), Value::from(1));
            row.insert("source".into(), Value::from(2));
            row.insert("creatorResourceID".into(), creator.clone());
            row.insert("lastActivityResourceID".into(), creator.clone());
            row.insert(
                "ticketNumber".into(),
                Value::from(format!("T20260101.{:04}", index % 10_000)),
            );
            let activity = stamp(now, minutes_ago);
            row.insert(
                "createDate".into(),
                Value::from(stamp(now, minutes_ago + 5)),
            );
            row.insert("lastActivityDate".into(), Value::from(activity.clone()));
            ticket_rows.push(row);
            for note in 0..notes_per_ticket as i64 {
                let mut note_row = Map::new();
                note_row.insert(
                    "id".into(),
                    Value::from(note_base + index * notes_per_ticket as i64 + note),
                );
                note_row.insert("ticketID".into(), Value::from(id));
                note_row.insert("title".into(), Value::from(format!("Note {note}")));
                note_row.insert(
                    "description".into(),
                    Value::from(format!("Note {note} on generated ticket {index}.")),
                );
                note_row.insert("noteType".into(), Value::from(1));
                note_row.insert("publish".into(), Value::from(1));
                note_row.insert("creatorResourceID".into(), creator.clone());
                note_row.insert("createDateTime".into(), Value::from(activity.clone()));
                note_row.insert("lastActivityDate".into(), Value::from(activity.clone()));
                note_rows.push(note_row);
            }
        }
        first.records.insert("Tickets".into(), ticket_rows);
        first.records.insert("TicketNotes".into(), note_rows);
        first.records.insert("TicketAttachments".into(), Vec::new());
        world
    }
}
