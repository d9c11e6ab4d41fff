//! Queries: parsing the `QueryModel` (case-insensitive property names, every operator, `and`/`or` groups,
//! UDF filters), evaluating it over an id-ordered table, `includeFields` projection, and the opaque
//! `paging` token behind `nextPageUrl` / `prevPageUrl`.

use std::collections::BTreeMap;
use std::ops::Bound;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::schema::{EntityDefinition, WireType};
use crate::store::{Projection, Record, UdfDefinition, display_value};
use crate::wire::canonical_date_time;

/// The largest page Autotask returns.
pub(crate) const MAX_RECORDS: i64 = 500;

/// Most OR conditions one query may hold (SOAP thresholds page; assumed for REST).
const MAX_OR_CONDITIONS: usize = 500;

fn count_or_conditions(condition: &Condition) -> usize {
    match condition {
        Condition::Or(children) => {
            children.len() + children.iter().map(count_or_conditions).sum::<usize>()
        }
        Condition::And(children) => children.iter().map(count_or_conditions).sum(),
        _ => 0,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CompareOp {
    Eq,
    NotEq,
    Gt,
    Gte,
    Lt,
    Lte,
    BeginsWith,
    EndsWith,
    Contains,
}

#[derive(Debug, Clone)]
enum Operand {
    Number(f64),
    Text(String),
    Bool(bool),
}

#[derive(Debug, Clone)]
enum FieldRef {
    Column(usize, WireType),
    Udf(String),
}

#[derive(Debug, Clone)]
enum Condition {
    Compare(FieldRef, CompareOp, Operand),
    Exist(FieldRef),
    NotExist(FieldRef),
    In(FieldRef, Vec<Operand>),
    NotIn(FieldRef, Vec<Operand>),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

/// A parsed, validated query.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub max_records: usize,
    pub projection: Option<Projection>,
    conditions: Vec<Condition>,
}

fn property<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// Parses a `QueryModel` body. `require_max_records` is false for `query/count`.
pub(crate) fn parse_query(
    entity: &EntityDefinition,
    udfs: &[UdfDefinition],
    body: &Value,
    require_max_records: bool,
) -> Result<Query, String> {
    let Some(object) = body.as_object() else {
        return Err("The query is missing or is not a valid QueryModel.".to_owned());
    };
    let max_records = match property(object, "maxRecords").filter(|value| !value.is_null()) {
        Some(value) => {
            let number = value
                .as_i64()
                .or_else(|| value.as_str().and_then(|text| text.parse().ok()));
            match number {
                Some(number) if (1..=MAX_RECORDS).contains(&number) => number as usize,
                _ => return Err("maxCountOfRecordsToReturn must be between 1 and 500".to_owned()),
            }
        }
        None if require_max_records => MAX_RECORDS as usize,
        None => MAX_RECORDS as usize,
    };
    let filter = property(object, "filter")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty());
    let Some(filter) = filter else {
        return Err("The query must contain at least one filter condition.".to_owned());
    };
    let conditions = filter
        .iter()
        .map(|item| parse_condition(entity, udfs, item))
        .collect::<Result<Vec<_>, _>>()?;
    let or_conditions: usize = conditions.iter().map(count_or_conditions).sum();
    if or_conditions > MAX_OR_CONDITIONS {
        return Err(format!(
            "The query contains {or_conditions} OR conditions; at most {MAX_OR_CONDITIONS} are allowed."
        ));
    }
    let projection = match property(object, "includeFields").and_then(Value::as_array) {
        Some(names) if !names.is_empty() => {
            let mut projection = Projection::default();
            for name in names.iter().filter_map(Value::as_str) {
                if let Some(index) = entity.field_index(name) {
                    if !projection.columns.contains(&index) {
                        projection.columns.push(index);
                    }
                } else if let Some(udf) =
                    udfs.iter().find(|udf| udf.name.eq_ignore_ascii_case(name))
                {
                    projection.udfs.push(udf.name.clone());
                } else {
                    return Err(format!(
                        "Unable to find {name} in the {} entity.",
                        entity.singular
                    ));
                }
            }
            projection.columns.sort_unstable();
            Some(projection)
        }
        _ => None,
    };
    Ok(Query {
        max_records,
        projection,
        conditions,
    })
}

fn parse_condition(
    entity: &EntityDefinition,
    udfs: &[UdfDefinition],
    item: &Value,
) -> Result<Condition, String> {
    let Some(object) = item.as_object() else {
        return Err("Each filter item must be an object with op, field and value.".to_owned());
    };
    let op = property(object, "op")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if op == "and" || op == "or" {
        let items = property(object, "items")
            .and_then(Value::as_array)
            .filter(|items| !items.is_empty());
        let Some(items) = items else {
            return Err(format!("The {op} operator requires at least one item."));
        };
        let children = items
            .iter()
            .map(|child| parse_condition(entity, udfs, child))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(if op == "and" {
            Condition::And(children)
        } else {
            Condition::Or(children)
        });
    }
    let field_name = property(object, "field")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let is_udf = property(object, "udf")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let field = if is_udf {
        let udf = udfs
            .iter()
            .find(|udf| udf.name.eq_ignore_ascii_case(field_name))
            .ok_or_else(|| {
                format!(
                    "Unable to find user defined field {field_name} in the {} entity.",
                    entity.singular
                )
            })?;
        FieldRef::Udf(udf.name.clone())
    } else {
        let index = entity.field_index(field_name).ok_or_else(|| {
            format!(
                "Unable to find {field_name} in the {} entity.",
                entity.singular
            )
        })?;
        let definition = &entity.fields[index];
        if !definition.queryable {
            return Err(format!("{} is not a queryable field.", definition.name));
        }
        FieldRef::Column(index, definition.wire)
    };
    let value = property(object, "value").filter(|value| !value.is_null());
    let compare = match op.as_str() {
        "exist" => return Ok(Condition::Exist(field)),
        "notexist" => return Ok(Condition::NotExist(field)),
        "in" | "notin" => {
            let values = value.and_then(Value::as_array).ok_or_else(|| {
                format!("The {op} operator requires an array value for {field_name}.")
            })?;
            let operands = values
                .iter()
                .map(|value| operand(&field, field_name, value))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if op == "in" {
                Condition::In(field, operands)
            } else {
                Condition::NotIn(field, operands)
            });
        }
        "eq" => CompareOp::Eq,
        "noteq" => CompareOp::NotEq,
        "gt" => CompareOp::Gt,
        "gte" => CompareOp::Gte,
        "lt" => CompareOp::Lt,
        "lte" => CompareOp::Lte,
        "beginswith" => CompareOp::BeginsWith,
        "endswith" => CompareOp::EndsWith,
        "contains" => CompareOp::Contains,
        other => return Err(format!("Invalid filter operator '{other}'.")),
    };
    let value = value
        .ok_or_else(|| format!("A value is required for the {op} operator on {field_name}."))?;
    let operand = operand(&field, field_name, value)?;
    Ok(Condition::Compare(field, compare, operand))
}

fn operand(field: &FieldRef, name: &str, value: &Value) -> Result<Operand, String> {
    let invalid = || {
        format!(
            "Value '{}' is not valid for field {name}.",
            display_value(value)
        )
    };
    match field {
        FieldRef::Udf(_) => Ok(match value {
            Value::Number(number) => Operand::Number(number.as_f64().unwrap_or_default()),
            Value::Bool(flag) => Operand::Bool(*flag),
            other => Operand::Text(display_value(other).to_lowercase()),
        }),
        FieldRef::Column(_, wire) => match wire {
            WireType::Long | WireType::Integer | WireType::Double => match value {
                Value::Number(number) => Ok(Operand::Number(number.as_f64().unwrap_or_default())),
                Value::String(text) => text
                    .trim()
                    .parse()
                    .map(Operand::Number)
                    .map_err(|_| invalid()),
                _ => Err(invalid()),
            },
            WireType::Boolean => match value {
                Value::Bool(flag) => Ok(Operand::Bool(*flag)),
                _ => Err(format!(
                    "The value for {name} must be the literal true or false."
                )),
            },
            WireType::DateTime => value
                .as_str()
                .and_then(canonical_date_time)
                .map(Operand::Text)
                .ok_or_else(invalid),
            WireType::String | WireType::Bytes | WireType::UserDefinedFields => {
                Ok(Operand::Text(display_value(value).to_lowercase()))
            }
        },
    }
}

enum Cell<'a> {
    Missing,
    Number(f64),
    Text(std::borrow::Cow<'a, str>),
    Bool(bool),
}

fn cell<'a>(record: &'a Record, field: &FieldRef) -> Cell<'a> {
    match field {
        FieldRef::Column(index, wire) => match (&record.values[*index], wire) {
            (Value::Null, _) => Cell::Missing,
            (Value::Number(number), _) => Cell::Number(number.as_f64().unwrap_or_default()),
            (Value::Bool(flag), _) => Cell::Bool(*flag),
            (Value::String(text), WireType::DateTime) => {
                Cell::Text(std::borrow::Cow::Borrowed(text.as_str()))
            }
            (Value::String(text), _) if text.is_empty() => Cell::Missing,
            (Value::String(text), _) => Cell::Text(std::borrow::Cow::Owned(text.to_lowercase())),
            _ => Cell::Missing,
        },
        FieldRef::Udf(name) => match record.udfs.iter().find(|(udf, _)| udf == name) {
            Some((_, Some(text))) if !text.is_empty() => {
                Cell::Text(std::borrow::Cow::Owned(text.to_lowercase()))
            }
            _ => Cell::Missing,
        },
    }
}

fn compare(cell: &Cell<'_>, op: CompareOp, operand: &Operand) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (cell, operand) {
        (Cell::Missing, _) => return false,
        (Cell::Number(left), Operand::Number(right)) => left.partial_cmp(right),
        (Cell::Text(left), Operand::Number(right)) => match left.parse::<f64>() {
            Ok(left) => left.partial_cmp(right),
            Err(_) => Some(left.as_ref().cmp(&right.to_string())),
        },
        (Cell::Text(left), Operand::Text(right)) => {
            match op {
                CompareOp::BeginsWith => return left.starts_with(right.as_str()),
                CompareOp::EndsWith => return left.ends_with(right.as_str()),
                CompareOp::Contains => return left.contains(right.as_str()),
                _ => {}
            }
            Some(left.as_ref().cmp(right.as_str()))
        }
        (Cell::Number(left), Operand::Text(right)) => {
            let left = format_number(*left);
            match op {
                CompareOp::BeginsWith => return left.starts_with(right.as_str()),
                CompareOp::EndsWith => return left.ends_with(right.as_str()),
                CompareOp::Contains => return left.contains(right.as_str()),
                _ => Some(left.as_str().cmp(right.as_str())),
            }
        }
        (Cell::Bool(left), Operand::Bool(right)) => Some(left.cmp(right)),
        (Cell::Text(left), Operand::Bool(right)) => {
            Some(left.as_ref().cmp(if *right { "true" } else { "false" }))
        }
        _ => None,
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::NotEq => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Gte => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Lte => ordering != Ordering::Greater,
        CompareOp::BeginsWith | CompareOp::EndsWith | CompareOp::Contains => {
            ordering == Ordering::Equal
        }
    }
}

fn format_number(number: f64) -> String {
    if number.fract() == 0.0 {
        format!("{}", number as i64)
    } else {
        number.to_string()
    }
}

fn matches(record: &Record, condition: &Condition) -> bool {
    match condition {
        Condition::Compare(field, op, operand) => compare(&cell(record, field), *op, operand),
        Condition::Exist(field) => !matches!(cell(record, field), Cell::Missing),
        Condition::NotExist(field) => matches!(cell(record, field), Cell::Missing),
        Condition::In(field, operands) => {
            let cell = cell(record, field);
            operands
                .iter()
                .any(|operand| compare(&cell, CompareOp::Eq, operand))
        }
        Condition::NotIn(field, operands) => {
            let cell = cell(record, field);
            !matches!(cell, Cell::Missing)
                && !operands
                    .iter()
                    .any(|operand| compare(&cell, CompareOp::Eq, operand))
        }
        Condition::And(children) => children.iter().all(|child| matches(record, child)),
        Condition::Or(children) => children.iter().any(|child| matches(record, child)),
    }
}

impl Query {
    pub(crate) fn matches(&self, record: &Record) -> bool {
        self.conditions
            .iter()
            .all(|condition| matches(record, condition))
    }

    /// The smallest id that can match, from top-level `id gt|gte|eq` items (keeps id-cursor paging cheap).
    fn lower_bound(&self) -> Bound<i64> {
        let mut bound = Bound::Unbounded;
        for condition in &self.conditions {
            if let Condition::Compare(FieldRef::Column(0, _), op, Operand::Number(value)) =
                condition
            {
                let candidate = match op {
                    CompareOp::Gt => Bound::Excluded(value.floor() as i64),
                    CompareOp::Gte | CompareOp::Eq => Bound::Included(value.ceil() as i64),
                    _ => continue,
                };
                bound = tighter(bound, candidate);
            }
        }
        bound
    }

    /// Up to `max_records` matching records with id > `after`, and whether more follow.
    pub(crate) fn page<'a>(
        &self,
        table: &'a BTreeMap<i64, Record>,
        after: Option<i64>,
    ) -> (Vec<&'a Record>, bool) {
        let mut start = self.lower_bound();
        if let Some(after) = after {
            start = tighter(start, Bound::Excluded(after));
        }
        let mut rows = Vec::with_capacity(self.max_records.min(64));
        let mut more = false;
        for record in table
            .range((start, Bound::Unbounded))
            .map(|(_, record)| record)
        {
            if !self.matches(record) {
                continue;
            }
            if rows.len() == self.max_records {
                more = true;
                break;
            }
            rows.push(record);
        }
        (rows, more)
    }

    pub(crate) fn count(&self, table: &BTreeMap<i64, Record>) -> usize {
        table
            .range((self.lower_bound(), Bound::Unbounded))
            .filter(|(_, record)| self.matches(record))
            .count()
    }
}

fn tighter(left: Bound<i64>, right: Bound<i64>) -> Bound<i64> {
    let key = |bound: &Bound<i64>| match bound {
        Bound::Unbounded => i128::MIN,
        Bound::Included(value) => i128::from(*value) * 2,
        Bound::Excluded(value) => i128::from(*value) * 2 + 1,
    };
    if key(&left) >= key(&right) {
        left
    } else {
        right
    }
}

/// The decoded `paging` parameter: keyset paging by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageToken {
    /// `POST` or `GET`: the verb the original query used, the only one its next URL accepts.
    pub method: String,
    pub page_size: usize,
    /// This page starts after this id (`None` = first page).
    pub after: Option<i64>,
    /// The `after` values of earlier pages, oldest first (for `prevPageUrl`).
    pub previous_ids: Vec<Option<i64>>,
}

impl PageToken {
    pub(crate) fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub(crate) fn decode(text: &str) -> Option<PageToken> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim())
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}
