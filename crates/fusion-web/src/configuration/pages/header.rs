//! The connection header every configuration page shows at the top: the contract, the partner,
//! my role, the state and readiness badges, and the tabs.

use crate::wording::human_date;
use fusion_domain::{Organisation, SyncReadiness};

use super::base_url;
use crate::AppState;
use crate::configuration::Scope;
use crate::page_chrome::connections_url;

/// The links and facts every configuration page shows at the top.
pub(crate) struct ConnectionHeader {
    pub contract_name: String,
    pub partner_name: String,
    pub role_label: &'static str,
    pub state_label: &'static str,
    pub readiness_label: &'static str,
    pub readiness_ready: bool,
    pub connections_url: String,
    pub configuration_url: String,
    pub mappings_url: String,
    pub description_url: String,
    pub file_url: String,
    /// Which tab is shown: "configuration", "mappings", "description" or "file".
    pub tab: &'static str,
    /// When the latest configuration change was the partner's: what it was and when, so nobody
    /// is surprised by a mapping that changed under them.
    pub partner_change: Option<String>,
}

pub(super) async fn header(
    state: &AppState,
    org: &Organisation,
    scope: &Scope,
    tab: &'static str,
) -> ConnectionHeader {
    let partner_name = match scope.relationship.partner_of(scope.org_id) {
        Some(partner) => match state.store().organisation(partner).await {
            Ok(Some(partner)) => partner.name,
            _ => "the partner".to_owned(),
        },
        None => "(not accepted yet)".to_owned(),
    };
    let base = base_url(org, scope);
    let partner_change = match state.configuration().shared_history(scope).await {
        Ok(history) => history
            .into_iter()
            .next()
            .filter(|latest| {
                latest.org_id != scope.org_id
                    && Some(latest.org_id) == scope.relationship.partner_of(scope.org_id)
            })
            .map(|latest| {
                format!(
                    "Changed by your partner, {partner_name}, on {}: {}. See the configuration history.",
                    human_date(latest.changed_at),
                    latest.change.trim_end_matches('.')
                )
            }),
        Err(error) => {
            tracing::warn!(%error, "the configuration history could not be read for the page header");
            None
        }
    };
    ConnectionHeader {
        contract_name: scope.relationship.contract_name.clone(),
        partner_name,
        role_label: scope.role.label(),
        state_label: scope.relationship.state.label(),
        readiness_label: scope.relationship.readiness.label(),
        readiness_ready: scope.relationship.readiness == SyncReadiness::ReadyForAutomaticSync,
        connections_url: connections_url(org),
        configuration_url: format!("{base}/configuration"),
        mappings_url: format!("{base}/mappings"),
        description_url: format!("{base}/description"),
        file_url: format!("{base}/configuration/import"),
        tab,
        partner_change,
    }
}
