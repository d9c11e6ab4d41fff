//! In-memory state of one simulated Autotask database: id-ordered tables of records, API users,
//! picklists, UDF definitions, and the conversion of records to wire JSON.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::schema::{EntityDefinition, EntityKind, WireType, definition};
use crate::seed::{SECURITY_LEVEL_NO_COSTS, SeedError, TenantSeed};
use crate::wire::{canonical_date_time, format_date_time};

/// One stored record: values in the order of the entity's field list, plus UDF values.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub values: Vec<Value>,
    pub udfs: Vec<(String, Option<String>)>,
}

impl Record {
    pub(crate) fn empty(entity: &EntityDefinition, udfs: &[UdfDefinition]) -> Record {
        Record {
            values: vec![Value::Null; entity.fields.len()],
            udfs: udfs.iter().map(|udf| (udf.name.clone(), None)).collect(),
        }
    }

    pub(crate) fn get(&self, entity: &EntityDefinition, field: &str) -> &Value {
        entity
            .field_index(field)
            .map_or(&Value::Null, |index| &self.values[index])
    }

    pub(crate) fn set(&mut self, entity: &EntityDefinition, field: &str, value: Value) {
        if let Some(index) = entity.field_index(field) {
            self.values[index] = value;
        }
    }

    pub(crate) fn id(&self) -> i64 {
        self.values[0].as_i64().unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PicklistValue {
    pub value: i64,
    pub label: String,
    pub is_active: bool,
    pub is_default: bool,
    pub is_system: bool,
    pub sort_order: i32,
    pub parent_value: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct UdfDefinition {
    pub name: String,
    pub label: String,
    pub data_type: String,
    pub is_required: bool,
    pub length: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct ApiUser {
    pub username: String,
    pub secret: String,
    pub active: bool,
    pub security_level: String,
    pub resource_id: i64,
    pub denied: HashSet<EntityKind>,
    /// Single verbs withdrawn from the security level (`create`, `update`, `delete`, `query`) on
    /// an entity the user may otherwise use, as Autotask's per-entity add/edit/delete/view
    /// permissions do.
    pub denied_verbs: HashSet<(EntityKind, &'static str)>,
    /// The security level's "Can create WebHooks" (API-NOTES §12.1). Off by default in Autotask;
    /// seeded worlds grant it unless `set_webhook_permission` withdraws it.
    pub can_create_webhooks: bool,
    /// The security level's "Can view non-billable time entries": without it, non-billable
    /// time entries are simply not returned (API-NOTES §12.2) — no error says so.
    pub can_view_non_billable_time: bool,
}

impl ApiUser {
    pub(crate) fn can_read_costs(&self) -> bool {
        !self
            .security_level
            .eq_ignore_ascii_case(SECURITY_LEVEL_NO_COSTS)
    }
}

/// Everything stored for one tenant, behind the tenant's `RwLock`.
#[derive(Debug)]
pub(crate) struct TenantData {
    pub api_users: Vec<ApiUser>,
    pub picklists: HashMap<(EntityKind, &'static str), Vec<PicklistValue>>,
    pub udfs: HashMap<EntityKind, Vec<UdfDefinition>>,
    pub extra_required: HashSet<(EntityKind, &'static str)>,
    pub tables: Vec<BTreeMap<i64, Record>>,
    pub next_ids: Vec<i64>,
    pub ticket_sequence: (time::Date, u32),
    pub last_activity: OffsetDateTime,
    pub modules: Vec<(i32, bool)>,
    /// Ticket time entries need `startDateTime` and `endDateTime` (a tenant setting).
    pub time_entries_need_start_and_stop: bool,
}

impl TenantData {
    pub(crate) fn table(&self, kind: EntityKind) -> &BTreeMap<i64, Record> {
        &self.tables[kind.index()]
    }

    pub(crate) fn table_mut(&mut self, kind: EntityKind) -> &mut BTreeMap<i64, Record> {
        &mut self.tables[kind.index()]
    }

    pub(crate) fn udf_definitions(&self, kind: EntityKind) -> &[UdfDefinition] {
        self.udfs.get(&kind).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn picklist(&self, kind: EntityKind, field: &str) -> Option<&Vec<PicklistValue>> {
        let entity = definition(kind);
        let name = entity.field(field)?.name;
        self.picklists.get(&(kind, name))
    }

    pub(crate) fn allocate_id(&mut self, kind: EntityKind) -> i64 {
        let id = self.next_ids[kind.index()];
        self.next_ids[kind.index()] += 1;
        id
    }

    /// A strictly increasing activity time, so two changes never share a `lastActivityDate`.
    pub(crate) fn next_activity_time(&mut self, now: OffsetDateTime) -> OffsetDateTime {
        let floor = self.last_activity + time::Duration::milliseconds(1);
        let truncated = now
            .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
            .unwrap_or(now);
        let moment = if truncated < floor { floor } else { truncated };
        self.last_activity = moment;
        moment
    }

    /// `T20261127.0001`: T + UTC date + per-day sequence.
    pub(crate) fn next_ticket_number(&mut self, now: OffsetDateTime) -> String {
        let date = now.date();
        if self.ticket_sequence.0 != date {
            self.ticket_sequence = (date, 0);
        }
        self.ticket_sequence.1 += 1;
        format!(
            "T{:04}{:02}{:02}.{:04}",
            date.year(),
            u8::from(date.month()),
            date.day(),
            self.ticket_sequence.1
        )
    }

    pub(crate) fn api_user(&self, username: &str) -> Option<&ApiUser> {
        self.api_users
            .iter()
            .find(|user| user.username.eq_ignore_ascii_case(username))
    }

    pub(crate) fn api_user_mut(&mut self, username: &str) -> Option<&mut ApiUser> {
        self.api_users
            .iter_mut()
            .find(|user| user.username.eq_ignore_ascii_case(username))
    }

    /// Finds a Contact by id or e-mail address, for Client Portal edits.
    pub(crate) fn find_contact(&self, who: &str) -> Option<i64> {
        let entity = definition(EntityKind::Contacts);
        if let Ok(id) = who.parse::<i64>() {
            return self
                .table(EntityKind::Contacts)
                .contains_key(&id)
                .then_some(id);
        }
        self.table(EntityKind::Contacts)
            .values()
            .find(|record| {
                record
                    .get(entity, "emailAddress")
                    .as_str()
                    .is_some_and(|value| value.eq_ignore_ascii_case(who))
            })
            .map(Record::id)
    }

    /// Finds a (non-API) Resource by id, email or user name, for UI-like edits.
    pub(crate) fn find_resource(&self, who: &str) -> Option<i64> {
        let entity = definition(EntityKind::Resources);
        if let Ok(id) = who.parse::<i64>() {
            return self
                .table(EntityKind::Resources)
                .contains_key(&id)
                .then_some(id);
        }
        self.table(EntityKind::Resources)
            .values()
            .find(|record| {
                ["email", "userName"].iter().any(|field| {
                    record
                        .get(entity, field)
                        .as_str()
                        .is_some_and(|value| value.eq_ignore_ascii_case(who))
                })
            })
            .map(Record::id)
    }
}

/// How a record is rendered for one response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RenderOptions<'a> {
    pub projection: Option<&'a Projection>,
    pub hide_costs: bool,
    pub include_data: bool,
    pub dates_with_z: bool,
}

/// `includeFields`: which columns and UDFs appear.
#[derive(Debug, Clone, Default)]
pub(crate) struct Projection {
    pub columns: Vec<usize>,
    pub udfs: Vec<String>,
}

pub(crate) fn render_record(
    entity: &EntityDefinition,
    record: &Record,
    options: RenderOptions<'_>,
) -> Value {
    serde_json::to_value(RecordView {
        entity,
        record,
        options,
    })
    .unwrap_or(Value::Null)
}

/// A record as the wire shows it, serialised straight into the response (no intermediate map: a page
/// of 500 tickets × 80 properties stays cheap).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordView<'a> {
    pub entity: &'a EntityDefinition,
    pub record: &'a Record,
    pub options: RenderOptions<'a>,
}

#[derive(serde::Serialize)]
struct UdfEntry<'a> {
    name: &'a str,
    value: &'a Option<String>,
}

impl serde::Serialize for RecordView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let options = self.options;
        let mut map = serializer.serialize_map(None)?;
        let mut put = |index: usize| -> Result<(), S::Error> {
            let field = &self.entity.fields[index];
            let value = &self.record.values[index];
            let withheld = (field.cost && options.hide_costs)
                || (field.wire == WireType::Bytes && !options.include_data);
            if withheld {
                map.serialize_entry(field.name, &Value::Null)
            } else if field.wire == WireType::DateTime && options.dates_with_z {
                match value.as_str() {
                    Some(text) => map.serialize_entry(field.name, &format!("{text}Z")),
                    None => map.serialize_entry(field.name, &Value::Null),
                }
            } else {
                map.serialize_entry(field.name, value)
            }
        };
        match options.projection {
            Some(projection) => {
                for &index in &projection.columns {
                    put(index)?;
                }
            }
            None => {
                for index in 0..self.entity.fields.len() {
                    put(index)?;
                }
            }
        }
        if self.entity.has_udfs {
            let udfs: Vec<UdfEntry<'_>> = self
                .record
                .udfs
                .iter()
                .filter(|(name, _)| {
                    options.projection.is_none_or(|projection| {
                        projection
                            .udfs
                            .iter()
                            .any(|wanted| wanted.eq_ignore_ascii_case(name))
                    })
                })
                .map(|(name, value)| UdfEntry { name, value })
                .collect();
            map.serialize_entry("userDefinedFields", &udfs)?;
        }
        map.end()
    }
}

/// Converts a JSON value to the stored form of a field, or says why it cannot be.
pub(crate) fn coerce_value(wire: WireType, name: &str, value: &Value) -> Result<Value, String> {
    let invalid = || {
        format!(
            "Value '{}' is not valid for field {name}.",
            display_value(value)
        )
    };
    match (wire, value) {
        (_, Value::Null) => Ok(Value::Null),
        (WireType::Long | WireType::Integer, Value::Number(number)) => match number.as_i64() {
            Some(integer) => Ok(Value::from(integer)),
            None => match number.as_f64() {
                Some(float) if float.fract() == 0.0 => Ok(Value::from(float as i64)),
                _ => Err(invalid()),
            },
        },
        (WireType::Long | WireType::Integer, Value::String(text)) => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| invalid()),
        (WireType::Double, Value::Number(number)) => {
            Ok(Value::from(number.as_f64().unwrap_or_default()))
        }
        (WireType::Double, Value::String(text)) => text
            .trim()
            .parse::<f64>()
            .map(Value::from)
            .map_err(|_| invalid()),
        (WireType::Boolean, Value::Bool(flag)) => Ok(Value::Bool(*flag)),
        (WireType::Boolean, Value::String(text)) => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(invalid()),
        },
        (WireType::DateTime, Value::String(text)) => canonical_date_time(text)
            .map(Value::String)
            .ok_or_else(invalid),
        (WireType::String | WireType::Bytes, Value::String(text)) => {
            Ok(Value::String(text.clone()))
        }
        (WireType::String, Value::Number(number)) => Ok(Value::String(number.to_string())),
        (WireType::String, Value::Bool(flag)) => Ok(Value::String(flag.to_string())),
        _ => Err(invalid()),
    }
}

pub(crate) fn display_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Builds a tenant's data from its seed. `position` spreads default ids so the tenants' ids differ.
pub(crate) fn seed_tenant(
    seed: &TenantSeed,
    position: usize,
    now: OffsetDateTime,
) -> Result<TenantData, SeedError> {
    let invalid = |message: String| SeedError::Invalid(format!("tenant {}: {message}", seed.name));
    let first_id = seed.first_id.unwrap_or((position as i64 + 1) * 100_000 + 1);
    let mut data = TenantData {
        api_users: Vec::new(),
        picklists: HashMap::new(),
        udfs: HashMap::new(),
        extra_required: HashSet::new(),
        tables: EntityKind::ALL.iter().map(|_| BTreeMap::new()).collect(),
        next_ids: vec![first_id; EntityKind::ALL.len()],
        ticket_sequence: (now.date(), 0),
        last_activity: now - time::Duration::days(30),
        time_entries_need_start_and_stop: seed.time_entries_need_start_and_stop,
        modules: if seed.modules.is_empty() {
            vec![(1, true), (2, true), (3, false), (4, true), (24, true)]
        } else {
            seed.modules
                .iter()
                .map(|module| (module.key, module.active))
                .collect()
        },
    };
    for picklist in &seed.picklists {
        let kind = EntityKind::parse(&picklist.entity)
            .ok_or_else(|| invalid(format!("unknown entity {} in picklists", picklist.entity)))?;
        let field = definition(kind)
            .field(&picklist.field)
            .filter(|field| field.picklist)
            .ok_or_else(|| {
                invalid(format!(
                    "{}.{} is not a picklist field",
                    picklist.entity, picklist.field
                ))
            })?;
        let values = picklist
            .values
            .iter()
            .enumerate()
            .map(|(order, value)| PicklistValue {
                value: value.value,
                label: value.label.clone(),
                is_active: value.is_active,
                is_default: value.is_default,
                is_system: value.is_system,
                sort_order: value.sort_order.unwrap_or(order as i32 + 1),
                parent_value: value.parent_value,
            })
            .collect();
        data.picklists.insert((kind, field.name), values);
    }
    for udf in &seed.user_defined_fields {
        let kind = EntityKind::parse(&udf.entity)
            .filter(|kind| definition(*kind).has_udfs)
            .ok_or_else(|| invalid(format!("entity {} has no user-defined fields", udf.entity)))?;
        data.udfs.entry(kind).or_default().push(UdfDefinition {
            name: udf.name.clone(),
            label: udf.label.clone().unwrap_or_else(|| udf.name.clone()),
            data_type: udf.data_type.to_ascii_lowercase(),
            is_required: udf.is_required,
            length: udf
                .length
                .unwrap_or(if udf.data_type.eq_ignore_ascii_case("string") {
                    100
                } else {
                    0
                }),
        });
    }
    for required in &seed.required_fields {
        let kind = EntityKind::parse(&required.entity).ok_or_else(|| {
            invalid(format!(
                "unknown entity {} in required_fields",
                required.entity
            ))
        })?;
        let field = definition(kind).field(&required.field).ok_or_else(|| {
            invalid(format!(
                "unknown field {}.{}",
                required.entity, required.field
            ))
        })?;
        data.extra_required.insert((kind, field.name));
    }
    // Records in dependency order, whatever order the seed lists them in.
    for kind in [
        EntityKind::Resources,
        EntityKind::Roles,
        EntityKind::ResourceRoles,
        EntityKind::BillingCodes,
        EntityKind::Companies,
        EntityKind::Contacts,
        EntityKind::TicketCategories,
        EntityKind::Tickets,
        EntityKind::TicketNotes,
        EntityKind::TicketAttachments,
        EntityKind::TimeEntries,
        EntityKind::DeletedTicketLogs,
    ] {
        let rows = seed
            .records
            .iter()
            .filter(|(name, _)| EntityKind::parse(name) == Some(kind))
            .flat_map(|(_, rows)| rows.iter());
        for row in rows {
            insert_seed_record(&mut data, kind, row, now).map_err(&invalid)?;
        }
    }
    if !data
        .picklists
        .contains_key(&(EntityKind::Tickets, "ticketCategory"))
    {
        let categories = definition(EntityKind::TicketCategories);
        let values: Vec<PicklistValue> = data
            .table(EntityKind::TicketCategories)
            .values()
            .enumerate()
            .map(|(order, record)| PicklistValue {
                value: record.id(),
                label: record
                    .get(categories, "name")
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                is_active: record.get(categories, "isActive").as_bool().unwrap_or(true),
                is_default: record
                    .get(categories, "isGlobalDefault")
                    .as_bool()
                    .unwrap_or(false),
                is_system: false,
                sort_order: order as i32 + 1,
                parent_value: None,
            })
            .collect();
        if !values.is_empty() {
            data.picklists
                .insert((EntityKind::Tickets, "ticketCategory"), values);
        }
    }
    for name in seed.records.keys() {
        if EntityKind::parse(name).is_none() {
            return Err(invalid(format!("unknown entity {name} in records")));
        }
    }
    for user in &seed.api_users {
        if data.api_user(&user.username).is_some() {
            return Err(invalid(format!("API user {} listed twice", user.username)));
        }
        let mut denied = HashSet::new();
        for entity in &user.denied_entities {
            denied.insert(
                EntityKind::parse(entity).ok_or_else(|| {
                    invalid(format!("unknown entity {entity} in denied_entities"))
                })?,
            );
        }
        let resource_id = match user.resource_id {
            Some(id) => id,
            None => {
                let mut resource = serde_json::Map::new();
                resource.insert("firstName".into(), Value::from("API User"));
                resource.insert(
                    "lastName".into(),
                    Value::from(user.username.split('@').next().unwrap_or("API")),
                );
                resource.insert("email".into(), Value::from(user.username.clone()));
                resource.insert("userName".into(), Value::from(user.username.clone()));
                resource.insert("isActive".into(), Value::Bool(user.active));
                resource.insert("licenseType".into(), Value::from(7));
                resource.insert("resourceType".into(), Value::from("Employee"));
                resource.insert("userType".into(), Value::from(20));
                insert_seed_record(&mut data, EntityKind::Resources, &resource, now)
                    .map_err(&invalid)?
            }
        };
        data.api_users.push(ApiUser {
            username: user.username.clone(),
            secret: user.secret.clone(),
            active: user.active,
            security_level: user.security_level.clone(),
            resource_id,
            denied,
            denied_verbs: HashSet::new(),
            can_create_webhooks: true,
            can_view_non_billable_time: user.can_view_non_billable_time,
        });
    }
    Ok(data)
}

/// Inserts a seed row as-is (read-only fields allowed), filling system fields that are missing.
pub(crate) fn insert_seed_record(
    data: &mut TenantData,
    kind: EntityKind,
    row: &Map<String, Value>,
    now: OffsetDateTime,
) -> Result<i64, String> {
    let entity = definition(kind);
    let mut record = Record::empty(entity, data.udf_definitions(kind));
    for (key, value) in row {
        if key.eq_ignore_ascii_case("userDefinedFields") {
            let items = value
                .as_array()
                .ok_or_else(|| format!("{kind:?}: userDefinedFields must be an array"))?;
            for item in items {
                let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                let slot = record
                    .udfs
                    .iter_mut()
                    .find(|(udf, _)| udf.eq_ignore_ascii_case(name))
                    .ok_or_else(|| format!("{kind:?}: unknown user-defined field {name}"))?;
                slot.1 = item
                    .get("value")
                    .filter(|value| !value.is_null())
                    .map(display_value);
            }
            continue;
        }
        let index = entity
            .field_index(key)
            .ok_or_else(|| format!("{} has no property {key}", entity.path_name))?;
        let field = &entity.fields[index];
        record.values[index] = coerce_value(field.wire, field.name, value)?;
    }
    let id = match record.values[0].as_i64() {
        Some(id) => id,
        None => data.allocate_id(kind),
    };
    if data.table(kind).contains_key(&id) {
        return Err(format!("{} id {id} listed twice", entity.path_name));
    }
    record.values[0] = Value::from(id);
    if id >= data.next_ids[kind.index()] {
        data.next_ids[kind.index()] = id + 1;
    }
    let mut stamp: Option<Value> = None;
    for field in [
        "createDate",
        "createDateTime",
        "attachDate",
        "lastActivityDate",
        "lastModifiedDate",
        "lastModifiedDateTime",
    ] {
        if entity.field_index(field).is_some() && record.get(entity, field).is_null() {
            let value = stamp
                .get_or_insert_with(|| Value::from(format_date_time(now - time::Duration::days(1))))
                .clone();
            record.set(entity, field, value);
        }
    }
    if kind == EntityKind::Tickets && record.get(entity, "ticketNumber").is_null() {
        let number = data.next_ticket_number(now);
        record.set(entity, "ticketNumber", Value::from(number));
    }
    if kind == EntityKind::TicketAttachments {
        if let Some(encoded) = record.get(entity, "data").as_str() {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| format!("attachment {id}: data is not base64"))?;
            record.set(entity, "fileSize", Value::from(bytes.len() as f64));
        }
        if record.get(entity, "parentID").is_null() {
            let ticket = record.get(entity, "ticketID").clone();
            record.set(entity, "parentID", ticket);
        }
    }
    if let Some(link) = &entity.parent {
        let parent_id = record.get(entity, link.field).as_i64();
        if !parent_id.is_some_and(|parent| data.table(link.parent).contains_key(&parent)) {
            return Err(format!(
                "{} {id}: {} must name an existing {}",
                entity.path_name,
                link.field,
                link.parent.path_name()
            ));
        }
    }
    data.table_mut(kind).insert(id, record);
    Ok(id)
}
