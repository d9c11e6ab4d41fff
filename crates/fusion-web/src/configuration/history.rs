//! The configuration history of a connection as people read it — both sides' recorded changes,
//! newest first, with the names of the people and of the partner organisation — shared by the
//! configuration page and `GET …/configuration/history`.

use std::collections::HashMap;

use fusion_domain::{OrgId, PersonId};
use fusion_engine::ports::ConfigurationAuditEntry;

use super::{ConfigurationError, Scope};
use crate::AppState;
use crate::wording::human_date;

/// One recorded change to the connection's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigurationChangeRow {
    /// "Support Fusion", a person's name, or "a person" when the name is not known any more.
    pub who: String,
    /// `Some(partner's name)` when the partner's side made the change.
    pub by_partner: Option<String>,
    pub when: String,
    pub changed_at: time::OffsetDateTime,
    pub change: String,
}

/// The configuration history as shown; `names` holds the people of both organisations by id;
/// `partner` the partner organisation's id and name (entries of any other organisation than the
/// partner count as mine).
pub(crate) fn history_rows(
    entries: Vec<ConfigurationAuditEntry>,
    names: &HashMap<PersonId, String>,
    partner: Option<(OrgId, &str)>,
) -> Vec<ConfigurationChangeRow> {
    entries
        .into_iter()
        .map(|entry| ConfigurationChangeRow {
            by_partner: partner
                .filter(|(partner_id, _)| *partner_id == entry.org_id)
                .map(|(_, name)| name.to_owned()),
            who: match entry.person_id {
                None => "Support Fusion".to_owned(),
                Some(person) => names
                    .get(&person)
                    .cloned()
                    .unwrap_or_else(|| "a person".to_owned()),
            },
            when: human_date(entry.changed_at),
            changed_at: entry.changed_at,
            change: entry.change,
        })
        .collect()
}

/// The connection's configuration history (both sides), with the names of the people behind it
/// and of the partner organisation.
pub(crate) async fn configuration_history(
    state: &AppState,
    scope: &Scope,
) -> Result<Vec<ConfigurationChangeRow>, ConfigurationError> {
    let entries = state.configuration().shared_history(scope).await?;
    let partner_id = scope.relationship.partner_of(scope.org_id);
    let store = state.store();
    let partner_name = match partner_id {
        Some(partner_id) => store
            .organisation(partner_id)
            .await?
            .map(|organisation| organisation.name),
        None => None,
    };
    // People's names come from the core's `Identity` port; the history only has their ids. Only
    // people of the two organisations of this connection are named.
    let mut names = HashMap::new();
    for person_id in entries.iter().filter_map(|entry| entry.person_id) {
        if names.contains_key(&person_id) {
            continue;
        }
        if let Some(person) = store
            .person(person_id)
            .await?
            .filter(|person| person.org_id == scope.org_id || Some(person.org_id) == partner_id)
        {
            names.insert(person_id, person.display_name);
        }
    }
    let partner = partner_id.map(|id| (id, partner_name.as_deref().unwrap_or("your partner")));
    Ok(history_rows(entries, &names, partner))
}
