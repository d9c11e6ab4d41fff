//! The API budget of an organisation's own Autotask database: the share of Autotask's 10,000
//! requests an hour this server may use (Settings › API budget, `PUT /api/v1/orgs/{org_id}/
//! api-budget`) and its use over the last 24 hours by connection (Settings, the Dashboard,
//! `GET …/api-budget`), from the core's `fusion_engine::budget::BudgetGovernor`.
//!
//! Connections of other organisations that reach the same database (with override credentials)
//! are counted together under one unnamed row: an organisation sees only its own connections'
//! names.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use fusion_domain::OrgId;
use fusion_engine::budget::TenantUsage;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiJson;
use crate::error::ApiError;
use crate::page_chrome::settings_url;
use crate::relationships::connections_of;
use crate::session::OrgApiCaller;
use crate::wording::{counted, thousands};

pub(crate) fn api_routes() -> Router<AppState> {
    Router::new().route("/orgs/{org_id}/api-budget", get(read).put(update))
}

mod page;

pub(crate) use page::page_routes;

/// What the server's own work (Settings, connection tests, choices, webhooks) is called.
const OWN_WORK: &str = "Settings, connection tests and webhooks";
/// Connections of other organisations that use this database.
const OTHERS: &str = "Other organisations' connections to this database";

/// One row of the use by connection.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageRowDto {
    /// `null` for the server's own work and for other organisations' connections.
    pub relationship_id: Option<String>,
    pub name: String,
    pub last_hour: u32,
    pub last_24h: u32,
}

/// The organisation's Autotask database's budget, as the API answers it.
#[derive(Serialize)]
pub(crate) struct ApiBudgetDto {
    /// Whether this server knows the organisation's database yet (after its first request or
    /// connection test); the figures below are zero until then.
    pub known: bool,
    /// This server's share, per cent of `platform_hourly_limit`.
    pub percent: u8,
    /// Whether the organisation set the share (else the server's default).
    pub share_set: bool,
    /// Requests an hour this server may send to the database.
    pub allowance: u32,
    pub platform_hourly_limit: u32,
    pub used_last_hour: u32,
    /// Busiest first.
    pub connections: Vec<UsageRowDto>,
}

/// The budget section of Settings and the Dashboard.
pub(crate) struct BudgetPanel {
    pub sentence: String,
    pub percent: u8,
    pub share_set: bool,
    pub rows: Vec<UsageRowDto>,
    pub form_url: String,
    /// Set on Settings, where the share can be changed.
    pub csrf_token: Option<String>,
}

/// The organisation's database's budget key and its use, when both are known.
async fn usage_of(state: &AppState, org: OrgId) -> Result<Option<TenantUsage>, ApiError> {
    let Some(governor) = state.budget() else {
        return Ok(None);
    };
    let Some(credentials) = state.store().platform_credentials(org).await? else {
        return Ok(None);
    };
    let Some(key) = state.tenants().budget_key(&credentials.username) else {
        return Ok(None);
    };
    Ok(Some(governor.usage(&key).await?))
}

/// The rows with the organisation's own connections named and the rest folded together.
async fn rows(state: &AppState, org: OrgId, usage: &TenantUsage) -> Vec<UsageRowDto> {
    let connections = connections_of(state, org).await.unwrap_or_default();
    let mut rows: Vec<UsageRowDto> = Vec::new();
    let mut others = UsageRowDto {
        relationship_id: None,
        name: OTHERS.to_owned(),
        last_hour: 0,
        last_24h: 0,
    };
    for used in &usage.connections {
        let named = used.relationship.and_then(|id| {
            connections
                .iter()
                .find(|seen| seen.relationship.id == id)
                .map(|seen| match &seen.partner_name {
                    Some(partner) => format!("{} ({partner})", seen.relationship.contract_name),
                    None => seen.relationship.contract_name.clone(),
                })
        });
        match (used.relationship, named) {
            (Some(id), Some(name)) => rows.push(UsageRowDto {
                relationship_id: Some(id.to_string()),
                name,
                last_hour: used.last_hour,
                last_24h: used.last_day,
            }),
            (None, _) => rows.push(UsageRowDto {
                relationship_id: None,
                name: OWN_WORK.to_owned(),
                last_hour: used.last_hour,
                last_24h: used.last_day,
            }),
            (Some(_), None) => {
                others.last_hour += used.last_hour;
                others.last_24h += used.last_day;
            }
        }
    }
    if others.last_24h > 0 {
        rows.push(others);
    }
    rows
}

fn sentence(usage: &TenantUsage) -> String {
    format!(
        "This server may send {} requests an hour to your Autotask database — {} % of the {} Autotask allows{} — and sent {} in the last hour. Initial syncs may use up to 75 % of it and scheduled syncs 90 %; the rest is kept for what people start, webhooks and closures. Work over its share waits (\"Waiting for API budget\") and carries on by itself.",
        thousands(usage.allowance),
        usage.percent,
        thousands(usage.platform_hourly_limit),
        if usage.share_set {
            ", as set here"
        } else {
            ", this server's default"
        },
        counted(usage.last_hour, "request", "requests"),
    )
}

/// The budget section for `org`'s pages; `None` before its database is known.
pub(crate) async fn panel(
    state: &AppState,
    org: &fusion_domain::Organisation,
    csrf_token: Option<String>,
) -> Option<BudgetPanel> {
    let usage = usage_of(state, org.id).await.ok()??;
    Some(BudgetPanel {
        sentence: sentence(&usage),
        percent: usage.percent,
        share_set: usage.share_set,
        rows: rows(state, org.id, &usage).await,
        form_url: format!("{}/api-budget", settings_url(org)),
        csrf_token,
    })
}

async fn dto(state: &AppState, org: OrgId) -> Result<ApiBudgetDto, ApiError> {
    Ok(match usage_of(state, org).await? {
        Some(usage) => ApiBudgetDto {
            known: true,
            percent: usage.percent,
            share_set: usage.share_set,
            allowance: usage.allowance,
            platform_hourly_limit: usage.platform_hourly_limit,
            used_last_hour: usage.last_hour,
            connections: rows(state, org, &usage).await,
        },
        None => {
            let mut empty = ApiBudgetDto::empty();
            if let Some(governor) = state.budget() {
                let settings = governor.settings();
                empty.percent = settings.default_percent;
                empty.platform_hourly_limit = settings.platform_hourly_limit;
                empty.allowance =
                    fusion_engine::budget::RequestGate::default_allowance(governor.as_ref());
            }
            empty
        }
    })
}

impl ApiBudgetDto {
    fn empty() -> ApiBudgetDto {
        ApiBudgetDto {
            known: false,
            percent: 0,
            share_set: false,
            allowance: 0,
            platform_hourly_limit: 0,
            used_last_hour: 0,
            connections: Vec::new(),
        }
    }
}

async fn read(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
) -> Result<Json<ApiBudgetDto>, ApiError> {
    Ok(Json(dto(&state, org_id).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareRequest {
    /// 1–100, or `null` for the server's default.
    percent: Option<i64>,
}

/// Why a share cannot be set.
pub(super) fn share_problem(message: String) -> ApiError {
    ApiError::Invalid {
        code: "invalid_share",
        field: Some("percent"),
        message,
        suggested_api_url: None,
        fix: Some(
            "Give a whole number from 1 to 100 (per cent of Autotask's 10,000 requests an hour), or leave it empty for this server's default."
                .to_owned(),
        ),
    }
}

pub(super) fn checked_percent(percent: Option<i64>) -> Result<Option<u8>, ApiError> {
    match percent {
        None => Ok(None),
        Some(percent @ 1..=100) => Ok(Some(percent as u8)),
        Some(other) => Err(share_problem(format!(
            "The share must be from 1 to 100 per cent; {other} is outside that."
        ))),
    }
}

/// Sets the share of the organisation's own database (known once a request or a connection
/// test reached it).
pub(super) async fn set_share(
    state: &AppState,
    org: OrgId,
    percent: Option<u8>,
) -> Result<(), ApiError> {
    let Some(governor) = state.budget() else {
        return Err(ApiError::Invalid {
            code: "budget_unavailable",
            field: None,
            message: "This server process runs no sync, so it keeps no API budget.".to_owned(),
            suggested_api_url: None,
            fix: Some("Set the share on a server started with `fusion serve`.".to_owned()),
        });
    };
    let credentials = state.store().platform_credentials(org).await?;
    let key = credentials.and_then(|c| state.tenants().budget_key(&c.username));
    let Some(key) = key else {
        return Err(ApiError::Invalid {
            code: "database_unknown",
            field: None,
            message: "This server does not know your Autotask database yet.".to_owned(),
            suggested_api_url: None,
            fix: Some(
                "Save your Autotask credentials and test the connection, then set the share."
                    .to_owned(),
            ),
        });
    };
    governor.set_share(&key, percent).await?;
    Ok(())
}

async fn update(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    ApiJson(request): ApiJson<ShareRequest>,
) -> Result<Json<ApiBudgetDto>, ApiError> {
    let percent = checked_percent(request.percent)?;
    set_share(&state, org_id, percent).await?;
    Ok(Json(dto(&state, org_id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_a_whole_per_cent_from_1_to_100_or_the_default() {
        assert_eq!(checked_percent(None).ok(), Some(None));
        assert_eq!(checked_percent(Some(1)).ok(), Some(Some(1)));
        assert_eq!(checked_percent(Some(100)).ok(), Some(Some(100)));
        for wrong in [0, 101, -5] {
            assert!(matches!(
                checked_percent(Some(wrong)),
                Err(ApiError::Invalid {
                    code: "invalid_share",
                    ..
                })
            ));
        }
    }
}
