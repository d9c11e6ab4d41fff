//! The seed format: a `World` of tenants with API users, picklists, UDF definitions and records, loaded
//! from TOML or JSON (documented in `SEED-FORMAT.md`) or built in code (`World::demo`, `World::generated`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The full API-user security level.
pub const SECURITY_LEVEL_FULL: &str = "API User (system)";
/// The security level that hides cost fields.
pub const SECURITY_LEVEL_NO_COSTS: &str = "API User (system) Can't Read Costs";

/// Everything a simulator starts with.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    /// Integration codes (API tracking identifiers) of this deployment; each is valid for every tenant.
    #[serde(default)]
    pub integration_codes: Vec<String>,
    pub tenants: Vec<TenantSeed>,
}

/// One Autotask database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSeed {
    pub name: String,
    /// Zone number N of `webservicesN.autotask.net`.
    pub zone: u32,
    /// The database number ZoneInformation reports as `ci`; defaults to a number derived from the position.
    #[serde(default)]
    pub ci: Option<u32>,
    /// First id handed out for new records of every entity (defaults to (position + 1) × 100,000 + 1).
    #[serde(default)]
    pub first_id: Option<i64>,
    #[serde(default)]
    pub api_users: Vec<ApiUserSeed>,
    #[serde(default)]
    pub picklists: Vec<PicklistSeed>,
    #[serde(default)]
    pub user_defined_fields: Vec<UserDefinedFieldSeed>,
    /// Fields required on top of the built-in rules (like a ticket category that requires `queueID`).
    #[serde(default)]
    pub required_fields: Vec<RequiredFieldSeed>,
    /// `GET /V1.0/Modules` answer; defaults to a typical list.
    #[serde(default)]
    pub modules: Vec<ModuleSeed>,
    /// The tenant's "Require start and stop times for time entries on service tickets" (API-NOTES
    /// §12.2): a ticket time entry without both is refused.
    #[serde(default)]
    pub time_entries_need_start_and_stop: bool,
    /// Records by entity path name (`Tickets`, `TicketNotes`, `TicketAttachments`, `Companies`, `Contacts`,
    /// `Resources`, `TimeEntries`, `TicketCategories`, `DeletedTicketLogs`, `Roles`, `ResourceRoles`,
    /// `BillingCodes`), with wire (camelCase) property names.
    #[serde(default)]
    pub records: BTreeMap<String, Vec<Map<String, Value>>>,
}

/// An API-only user (license type "API User (system)").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiUserSeed {
    /// The API username (integration key), e.g. `7QKXG2MZ4HPWLRB@NORTHWINDIT.EXAMPLE`.
    pub username: String,
    pub secret: String,
    #[serde(default = "default_true")]
    pub active: bool,
    #[serde(default = "default_security_level")]
    pub security_level: String,
    /// Entities this user's security level may not touch (path names).
    #[serde(default)]
    pub denied_entities: Vec<String>,
    /// Id of the user's Resource record; allocated when absent.
    #[serde(default)]
    pub resource_id: Option<i64>,
    /// "Can view non-billable time entries" (default on): without it, non-billable time
    /// entries are left out of every answer.
    #[serde(default = "default_true")]
    pub can_view_non_billable_time: bool,
}

/// The values of one picklist field of one entity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PicklistSeed {
    pub entity: String,
    pub field: String,
    pub values: Vec<PicklistValueSeed>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PicklistValueSeed {
    pub value: i64,
    pub label: String,
    #[serde(default = "default_true")]
    pub is_active: bool,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub is_system: bool,
    #[serde(default)]
    pub sort_order: Option<i32>,
    /// For dependent picklists (sub-issue type → issue type): the controlling value.
    #[serde(default)]
    pub parent_value: Option<i64>,
}

/// A user-defined field definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDefinedFieldSeed {
    pub entity: String,
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    /// `string`, `integer`, `double`, `datetime`, `boolean`.
    #[serde(default = "default_udf_type")]
    pub data_type: String,
    #[serde(default)]
    pub is_required: bool,
    #[serde(default)]
    pub length: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredFieldSeed {
    pub entity: String,
    pub field: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleSeed {
    pub key: i32,
    pub active: bool,
}

fn default_true() -> bool {
    true
}

fn default_security_level() -> String {
    SECURITY_LEVEL_FULL.to_owned()
}

fn default_udf_type() -> String {
    "string".to_owned()
}

/// Why a world could not be loaded or seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("seed file {path} is not valid {format}: {message}")]
    Parse {
        path: String,
        format: &'static str,
        message: String,
    },
    #[error("seed is invalid: {0}")]
    Invalid(String),
}

impl World {
    /// Loads a world from a `.toml` or `.json` file (format by extension; anything else is tried as TOML).
    pub fn from_file(path: impl AsRef<Path>) -> Result<World, SeedError> {
        let path = path.as_ref();
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: display.clone(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("json"));
        if is_json {
            serde_json::from_str(&text).map_err(|error| SeedError::Parse {
                path: display,
                format: "JSON",
                message: error.to_string(),
            })
        } else {
            toml::from_str(&text).map_err(|error| SeedError::Parse {
                path: display,
                format: "TOML",
                message: error.to_string(),
            })
        }
    }

    /// Parses a TOML world from text.
    pub fn from_toml_str(text: &str) -> Result<World, SeedError> {
        toml::from_str(text).map_err(|error| SeedError::Parse {
            path: "<text>".to_owned(),
            format: "TOML",
            message: error.to_string(),
        })
    }
}
