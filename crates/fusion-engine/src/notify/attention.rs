//! Attention items as notifications: after every run of a connection the notifier reads the
//! connection's open attention items from the store and opens a problem for each one that needs
//! attention (so each new item is told once, however many runs see it), and resolves the
//! problems of items that no longer need attention (fixed, retried successfully or skipped).
//! Reading the items the engine stored, rather than being called from inside a run, keeps the
//! engine free of the notifier and makes the outcome the same however a run ended.

use std::collections::BTreeSet;

use fusion_domain::RelationshipId;
use fusion_domain::sync::{AttentionItem, AttentionState};

use super::event::EventKind;
use super::notifier::{AttentionNotice, Notifier, Problem};
use crate::ports::AttentionFilter;

/// The item's id within its relationship: `<origin side>:<original ticket>:<subject kind>:<item>`.
pub(super) fn item_id(item: &AttentionItem) -> String {
    format!(
        "{}:{}:{}:{}",
        item.key.origin.as_str(),
        item.key.origin_ticket,
        item.key.subject.kind(),
        item.key.subject.item()
    )
}

fn notice(relationship: RelationshipId, item: &AttentionItem) -> AttentionNotice {
    let number = |number: &Option<String>, id: &Option<fusion_domain::sync::TicketId>| {
        number
            .clone()
            .or_else(|| id.as_ref().map(ToString::to_string))
    };
    let what = if item.title.is_empty() {
        item.what.clone()
    } else {
        format!("{} (ticket \"{}\")", item.what, item.title)
    };
    AttentionNotice {
        relationship,
        item: item_id(item),
        source_ticket: number(&item.source_number, &item.source_ticket),
        target_ticket: number(&item.target_number, &item.target_ticket),
        what_failed: what,
        why: item.why.clone(),
        what_to_do: item.what_to_do.clone(),
    }
}

impl Notifier {
    /// Opens a problem for every attention item of `relationship` that needs attention and
    /// resolves those of items that no longer do.
    pub async fn reconcile_attention_items(&self, relationship: RelationshipId) {
        let items = match self
            .store()
            .attention_items(
                relationship,
                &AttentionFilter {
                    states: vec![AttentionState::Open],
                    origin_ticket: None,
                },
            )
            .await
        {
            Ok(items) => items,
            Err(error) => {
                tracing::warn!(%relationship, %error, "notifications: could not read attention items");
                return;
            }
        };
        let needing: Vec<&AttentionItem> =
            items.iter().filter(|item| item.needs_attention()).collect();
        for item in &needing {
            self.attention_item_opened(&notice(relationship, item))
                .await;
        }
        let still_open: BTreeSet<String> = needing
            .iter()
            .map(|item| attention_key(relationship, &item_id(item)))
            .collect();
        let Some((organisations, connection)) = self.connection(relationship).await else {
            return;
        };
        let prefix = format!("{}:{relationship}:", EventKind::AttentionItem.code());
        for org in organisations {
            let open = match self.store().open_notification_problems(org).await {
                Ok(open) => open,
                Err(error) => {
                    tracing::warn!(org_id = %org, %error, "notifications: could not read open problems");
                    continue;
                }
            };
            for problem in open {
                if problem.problem_key.starts_with(&prefix)
                    && !still_open.contains(&problem.problem_key)
                {
                    self.resolve(
                        &[org],
                        &Problem {
                            kind: EventKind::AttentionItem,
                            key: problem.problem_key.clone(),
                            title: format!("A ticket needs attention: {}", connection.name),
                            connection: Some(connection.clone()),
                            facts: Vec::new(),
                        },
                    )
                    .await;
                }
            }
        }
    }
}

pub(super) fn attention_key(relationship: RelationshipId, item: &str) -> String {
    format!("{}:{relationship}:{item}", EventKind::AttentionItem.code())
}
