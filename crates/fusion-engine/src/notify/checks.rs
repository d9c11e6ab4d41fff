//! The notifier's periodic checks, run on every scheduler tick: a connection with automatic
//! sync whose last successful run started more than N intervals ago ("not synced"), and a
//! tenant whose share of the hourly API budget on this server is nearly used up.

use std::collections::BTreeSet;

use fusion_domain::RelationshipState;
use fusion_domain::sync::RunStatus;
use time::OffsetDateTime;

use super::event::{EventFact, EventKind};
use super::notifier::{Notifier, Problem};
use crate::ports::{RunFilter, StoreError};

impl Notifier {
    pub(super) async fn check_not_synced(&self) {
        let schedules = match self.store().automatic_schedules().await {
            Ok(schedules) => schedules,
            Err(error) => {
                tracing::warn!(%error, "notifications: could not list automatic syncs");
                return;
            }
        };
        let factor = i32::try_from(self.settings().not_synced_intervals.max(1)).unwrap_or(3);
        for (relationship, schedule) in schedules {
            let active = matches!(
                self.store().relationship(relationship).await,
                Ok(Some(found)) if found.state == RelationshipState::Active
            );
            if !active {
                continue;
            }
            let last = match self.last_synced(relationship).await {
                Ok(Some(last)) => last,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%relationship, %error, "notifications: could not read the last run");
                    continue;
                }
            };
            let limit = schedule.interval() * factor;
            let now = self.clock().now();
            let key = format!("{}:{relationship}", EventKind::NotSynced.code());
            let Some((organisations, connection)) = self.connection(relationship).await else {
                continue;
            };
            let problem = Problem {
                kind: EventKind::NotSynced,
                key,
                title: format!("Not synced: {}", connection.name),
                connection: Some(connection),
                facts: vec![
                    EventFact::new(
                        "why",
                        "Why",
                        format!(
                            "the last successful run started {} ago, at {}: more than {factor} \
                             times the automatic sync interval ({})",
                            words(now - last),
                            last.format(&time::format_description::well_known::Rfc3339)
                                .unwrap_or_else(|_| last.to_string()),
                            words(schedule.interval())
                        ),
                    ),
                    EventFact::new(
                        "what_to_do",
                        "What to do",
                        "Check that a `fusion serve` process is running and look at the \
                         connection's Sync page for failed or missing runs.",
                    ),
                ],
            };
            if now - last > limit {
                self.open(&organisations, &problem).await;
            } else {
                self.resolve(&organisations, &problem).await;
            }
        }
    }

    /// When the newest run that synced (Success, Partial or "No tickets found") started.
    async fn last_synced(
        &self,
        relationship: fusion_domain::RelationshipId,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let mut last = None;
        for status in [
            RunStatus::Success,
            RunStatus::Partial,
            RunStatus::NoTicketsFound,
        ] {
            let runs = self
                .store()
                .sync_runs(&RunFilter {
                    relationship: Some(relationship),
                    status: Some(status),
                    started_from: None,
                    started_before: None,
                    limit: 1,
                })
                .await?;
            if let Some(run) = runs.first() {
                last = last.max(Some(run.started_at));
            }
        }
        Ok(last)
    }

    pub(super) async fn check_budgets(&self) {
        let Some(tenants) = self.tenants() else {
            return;
        };
        if tenants.hourly_request_limit().is_none() {
            return;
        }
        let schedules = match self.store().automatic_schedules().await {
            Ok(schedules) => schedules,
            Err(error) => {
                tracing::warn!(%error, "notifications: could not list automatic syncs");
                return;
            }
        };
        let mut organisations = BTreeSet::new();
        for (relationship, _) in schedules {
            if let Ok(Some(found)) = self.store().relationship(relationship).await {
                organisations.insert(found.initiator);
                organisations.extend(found.partner);
            }
        }
        let warning = self.settings().budget_warning_percent.clamp(1, 100);
        for org in organisations {
            let Ok(Some(credentials)) = self.store().organisation_tenant_credentials(org).await
            else {
                continue;
            };
            let Some(used) = tenants.requests_last_hour(&credentials.username) else {
                continue;
            };
            let Some(limit) = tenants
                .hourly_request_limit_for(&credentials.username)
                .filter(|limit| *limit > 0)
            else {
                continue;
            };
            let percent = u64::from(used) * 100 / u64::from(limit);
            let problem = Problem {
                kind: EventKind::ApiBudget,
                key: format!("{}:{org}", EventKind::ApiBudget.code()),
                title: "API budget nearly used up".to_owned(),
                connection: None,
                facts: vec![
                    EventFact::new(
                        "why",
                        "Why",
                        format!(
                            "{percent}% used: this server made {used} of its {limit} requests an hour to your \
                             platform's API in the last hour; once they are used up, syncs wait \
                             until the hour rolls over"
                        ),
                    ),
                    EventFact::new(
                        "what_to_do",
                        "What to do",
                        "Check for other integrations using the same API user, lengthen the \
                         automatic sync interval, or raise this server's share of the budget.",
                    ),
                ],
            };
            if percent >= u64::from(warning) {
                self.open(&[org], &problem).await;
            } else if percent < u64::from(warning) * 3 / 4 {
                self.resolve(&[org], &problem).await;
            }
        }
    }
}

/// "15 minutes", "2 hours", "3 days".
fn words(duration: time::Duration) -> String {
    let minutes = duration.whole_minutes().max(0);
    if minutes < 120 {
        format!("{minutes} minutes")
    } else if minutes < 48 * 60 {
        format!("{} hours", minutes / 60)
    } else {
        format!("{} days", minutes / (24 * 60))
    }
}
