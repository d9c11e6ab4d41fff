//! Queries over the webhook tables: the `QueryModel` (`filter` with every operator and `and`/`or`
//! groups, `maxRecords` 1–500, `includeFields`) evaluated against rendered rows. The tables are small,
//! so this is a plain scan; the field and value rules match the ticket query engine's messages.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::tables::{ColumnType, Table};
use crate::wire::canonical_date_time;

const MAX_RECORDS: i64 = 500;

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
enum Condition {
    Compare(&'static str, ColumnType, CompareOp, Value),
    Exist(&'static str),
    NotExist(&'static str),
    In(&'static str, ColumnType, Vec<Value>, bool),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

/// A parsed query over one webhook table.
#[derive(Debug, Clone)]
pub(super) struct RowQuery {
    pub max_records: usize,
    /// `includeFields`, canonical names; `None` = every column.
    pub include_fields: Option<Vec<&'static str>>,
    conditions: Vec<Condition>,
}

fn property<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

pub(super) fn parse_query(table: Table, body: &Value) -> Result<RowQuery, String> {
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
        None => MAX_RECORDS as usize,
    };
    let Some(filter) = property(object, "filter")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
    else {
        return Err("The query must contain at least one filter condition.".to_owned());
    };
    let conditions = filter
        .iter()
        .map(|item| parse_condition(table, item))
        .collect::<Result<Vec<_>, _>>()?;
    let include_fields = match property(object, "includeFields").and_then(Value::as_array) {
        Some(names) if !names.is_empty() => {
            let mut columns = Vec::new();
            for name in names.iter().filter_map(Value::as_str) {
                let column = table.column(name).ok_or_else(|| {
                    format!("Unable to find {name} in the {} entity.", table.singular())
                })?;
                if !columns.contains(&column.name) {
                    columns.push(column.name);
                }
            }
            Some(columns)
        }
        _ => None,
    };
    Ok(RowQuery {
        max_records,
        include_fields,
        conditions,
    })
}

fn parse_condition(table: Table, item: &Value) -> Result<Condition, String> {
    let Some(object) = item.as_object() else {
        return Err("Each filter item must be an object with op, field and value.".to_owned());
    };
    let op = property(object, "op")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if op == "and" || op == "or" {
        let Some(items) = property(object, "items")
            .and_then(Value::as_array)
            .filter(|items| !items.is_empty())
        else {
            return Err(format!("The {op} operator requires at least one item."));
        };
        let children = items
            .iter()
            .map(|child| parse_condition(table, child))
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
    if property(object, "udf").and_then(Value::as_bool) == Some(true) {
        return Err(format!(
            "Unable to find user defined field {field_name} in the {} entity.",
            table.singular()
        ));
    }
    let column = table.column(field_name).ok_or_else(|| {
        format!(
            "Unable to find {field_name} in the {} entity.",
            table.singular()
        )
    })?;
    let value = property(object, "value").filter(|value| !value.is_null());
    let compare = match op.as_str() {
        "exist" => return Ok(Condition::Exist(column.name)),
        "notexist" => return Ok(Condition::NotExist(column.name)),
        "in" | "notin" => {
            let values = value.and_then(Value::as_array).ok_or_else(|| {
                format!("The {op} operator requires an array value for {field_name}.")
            })?;
            let operands = values
                .iter()
                .map(|value| operand(column.column_type, field_name, value))
                .collect::<Result<_, _>>()?;
            return Ok(Condition::In(
                column.name,
                column.column_type,
                operands,
                op == "in",
            ));
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
    Ok(Condition::Compare(
        column.name,
        column.column_type,
        compare,
        operand(column.column_type, field_name, value)?,
    ))
}

/// Normalises a filter value to the stored form of its column.
fn operand(column_type: ColumnType, name: &str, value: &Value) -> Result<Value, String> {
    let invalid = || format!("Value '{value}' is not valid for field {name}.");
    match column_type {
        ColumnType::Long | ColumnType::Integer => match value {
            Value::Number(number) => number.as_f64().map(Value::from).ok_or_else(invalid),
            Value::String(text) => text
                .trim()
                .parse::<f64>()
                .map(Value::from)
                .map_err(|_| invalid()),
            _ => Err(invalid()),
        },
        ColumnType::Boolean => match value {
            Value::Bool(flag) => Ok(Value::Bool(*flag)),
            _ => Err(format!(
                "The value for {name} must be the literal true or false."
            )),
        },
        ColumnType::DateTime => value
            .as_str()
            .and_then(canonical_date_time)
            .map(Value::String)
            .ok_or_else(invalid),
        ColumnType::Text => Ok(Value::String(match value {
            Value::String(text) => text.to_lowercase(),
            other => other.to_string().to_lowercase(),
        })),
    }
}

fn cell_text(cell: &Value) -> Option<String> {
    match cell {
        Value::Null => None,
        Value::String(text) => Some(text.trim_end_matches('Z').to_lowercase()),
        other => Some(other.to_string().to_lowercase()),
    }
}

fn compare(cell: &Value, column_type: ColumnType, op: CompareOp, operand: &Value) -> bool {
    if cell.is_null() {
        return op == CompareOp::NotEq;
    }
    let ordering = match column_type {
        ColumnType::Long | ColumnType::Integer => cell
            .as_f64()
            .zip(operand.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        ColumnType::Boolean => {
            return match op {
                CompareOp::Eq => cell.as_bool() == operand.as_bool(),
                CompareOp::NotEq => cell.as_bool() != operand.as_bool(),
                _ => false,
            };
        }
        ColumnType::Text | ColumnType::DateTime => {
            let Some(text) = cell_text(cell) else {
                return false;
            };
            let wanted = operand.as_str().unwrap_or_default().to_lowercase();
            match op {
                CompareOp::BeginsWith => return text.starts_with(&wanted),
                CompareOp::EndsWith => return text.ends_with(&wanted),
                CompareOp::Contains => return text.contains(&wanted),
                _ => Some(text.as_str().cmp(wanted.as_str())),
            }
        }
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
            let text = cell_text(cell).unwrap_or_default();
            let wanted = cell_text(operand).unwrap_or_default();
            match op {
                CompareOp::BeginsWith => text.starts_with(&wanted),
                CompareOp::EndsWith => text.ends_with(&wanted),
                _ => text.contains(&wanted),
            }
        }
    }
}

fn matches(row: &Map<String, Value>, condition: &Condition) -> bool {
    let cell = |name: &str| row.get(name).unwrap_or(&Value::Null);
    match condition {
        Condition::Compare(name, column_type, op, operand) => {
            compare(cell(name), *column_type, *op, operand)
        }
        Condition::Exist(name) => !cell(name).is_null(),
        Condition::NotExist(name) => cell(name).is_null(),
        Condition::In(name, column_type, operands, wanted) => {
            let value = cell(name);
            if value.is_null() {
                return false;
            }
            operands
                .iter()
                .any(|operand| compare(value, *column_type, CompareOp::Eq, operand))
                == *wanted
        }
        Condition::And(children) => children.iter().all(|child| matches(row, child)),
        Condition::Or(children) => children.iter().any(|child| matches(row, child)),
    }
}

impl RowQuery {
    pub(super) fn matches(&self, row: &Map<String, Value>) -> bool {
        self.conditions
            .iter()
            .all(|condition| matches(row, condition))
    }
}
