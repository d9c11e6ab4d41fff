//! The Tickets view of one relationship: every linked ticket pair and every ticket the sync tried
//! and could not create, with where it stands (in sync, needs attention, retrying, skipped,
//! unlinked) and why — for the Tickets page, its API, and the repair actions next to each row.
//!
//! Only what the relationship itself stored is shown: its links and its attention items, which
//! exist only for tickets of its own company scope.

use std::collections::BTreeMap;

use fusion_domain::sync::{AttentionItem, AttentionState, TicketId, TicketLink};
use fusion_domain::{RelationshipId, Role};
use time::OffsetDateTime;

use crate::ports::{AttentionFilter, LinkQuery, StoreError, SyncStore};

/// Where a ticket pair stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketSyncState {
    /// Linked, nothing failing.
    InSync,
    /// A failure a person should look at.
    NeedsAttention,
    /// A failure the next runs retry on their own (not shown as needing attention yet).
    Retrying,
    /// A person skipped a failure, or the pair is held back (it moved to another company).
    Skipped,
    /// The pair stopped syncing (unlinked by a person, or a ticket was deleted).
    Unlinked,
}

impl TicketSyncState {
    pub fn as_str(&self) -> &'static str {
        match self {
            TicketSyncState::InSync => "in_sync",
            TicketSyncState::NeedsAttention => "needs_attention",
            TicketSyncState::Retrying => "retrying",
            TicketSyncState::Skipped => "skipped",
            TicketSyncState::Unlinked => "unlinked",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            TicketSyncState::InSync => "In sync",
            TicketSyncState::NeedsAttention => "Needs attention",
            TicketSyncState::Retrying => "Retrying",
            TicketSyncState::Skipped => "Skipped",
            TicketSyncState::Unlinked => "Unlinked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "in_sync" => TicketSyncState::InSync,
            "needs_attention" => TicketSyncState::NeedsAttention,
            "retrying" => TicketSyncState::Retrying,
            "skipped" => TicketSyncState::Skipped,
            "unlinked" => TicketSyncState::Unlinked,
            _ => return None,
        })
    }

    pub const ALL: [TicketSyncState; 5] = [
        TicketSyncState::InSync,
        TicketSyncState::NeedsAttention,
        TicketSyncState::Retrying,
        TicketSyncState::Skipped,
        TicketSyncState::Unlinked,
    ];
}

/// One row of the Tickets view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRow {
    pub source_ticket: Option<TicketId>,
    pub source_number: Option<String>,
    pub target_ticket: Option<TicketId>,
    pub target_number: Option<String>,
    /// The side the original ticket lives on.
    pub origin: Role,
    pub title: String,
    pub state: TicketSyncState,
    /// Why, for every state but In sync.
    pub reason: Option<String>,
    /// When the pair was last written or found in step (links only).
    pub last_synced: Option<OffsetDateTime>,
    /// Its open and skipped failures, most recent first.
    pub items: Vec<AttentionItem>,
    /// Time carried to the partner (notes or time entries, not deleted), in words: "Source → Target:
    /// 2 time entries, 3.75 h" per side that sent some; empty when none (links only).
    pub time_carried: Vec<String>,
}

impl TicketRow {
    /// The ticket of the row on `side`, for repairs (any ticket of the pair will do).
    pub fn ticket(&self, side: Role) -> Option<&TicketId> {
        match side {
            Role::Source => self.source_ticket.as_ref(),
            Role::Target => self.target_ticket.as_ref(),
        }
    }
}

/// What the Tickets view lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketsQuery {
    /// Ticket numbers (either side), ids or title words.
    pub search: Option<String>,
    pub state: Option<TicketSyncState>,
    /// At most this many rows.
    pub limit: u32,
}

fn matches_search(words: &[String], title: &str, numbers: [Option<&str>; 2]) -> bool {
    let title = title.to_lowercase();
    words.iter().all(|word| {
        title.contains(word)
            || numbers
                .iter()
                .flatten()
                .any(|number| number.to_lowercase().contains(word))
    })
}

fn state_of(
    link: Option<&TicketLink>,
    items: &[AttentionItem],
) -> (TicketSyncState, Option<String>) {
    if let Some(end) = link.and_then(|link| link.ended.as_ref()) {
        return (TicketSyncState::Unlinked, Some(upper_first(&end.reason)));
    }
    let sentence = |item: &AttentionItem| upper_first(&format!("{}: {}", item.what, item.why));
    if let Some(item) = items.iter().find(|item| item.needs_attention()) {
        return (TicketSyncState::NeedsAttention, Some(sentence(item)));
    }
    if let Some(item) = items.iter().find(|item| item.state == AttentionState::Open) {
        return (TicketSyncState::Retrying, Some(sentence(item)));
    }
    if let Some(item) = items
        .iter()
        .find(|item| item.state == AttentionState::Skipped)
    {
        return (
            TicketSyncState::Skipped,
            Some(format!(
                "{} (skipped by {})",
                sentence(item),
                item.skipped_by.as_deref().unwrap_or("a person")
            )),
        );
    }
    if link.is_some_and(TicketLink::is_held) {
        return (
            TicketSyncState::Skipped,
            Some(
                "Held back: a ticket of the pair moved to another company; nothing flows until \
                 it moves back"
                    .into(),
            ),
        );
    }
    (TicketSyncState::InSync, None)
}

/// `text` with its first letter capitalised: the core's sentences (lower-case so they can be
/// embedded) as a sentence of their own.
pub fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The rows of the Tickets view: tickets with failures first (most recent first), then the
/// other linked pairs, most recently synced first.
pub async fn ticket_rows(
    store: &dyn SyncStore,
    relationship: RelationshipId,
    query: &TicketsQuery,
) -> Result<Vec<TicketRow>, StoreError> {
    let limit = query.limit.clamp(1, 1_000);
    let words: Vec<String> = query
        .search
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let items = store
        .attention_items(
            relationship,
            &AttentionFilter {
                states: vec![AttentionState::Open, AttentionState::Skipped],
                origin_ticket: None,
            },
        )
        .await?;
    let mut by_ticket: BTreeMap<(Role, TicketId), Vec<AttentionItem>> = BTreeMap::new();
    for item in items {
        by_ticket
            .entry((item.key.origin, item.key.origin_ticket.clone()))
            .or_default()
            .push(item);
    }
    // The links of tickets with failures, whatever their age, then the latest others.
    let mut links: BTreeMap<(Role, TicketId), TicketLink> = BTreeMap::new();
    for (origin, ticket) in by_ticket.keys() {
        if let Some(link) = store.link_by_ticket(relationship, *origin, ticket).await? {
            links.insert((*origin, ticket.clone()), link);
        }
    }
    let mut rows = Vec::new();
    for ((origin, ticket), items) in &by_ticket {
        let link = links.get(&(*origin, ticket.clone()));
        let first = &items[0];
        let row = match link {
            Some(link) => row_of_link(link, items.clone()),
            None => {
                let (state, reason) = state_of(None, items);
                TicketRow {
                    source_ticket: first.source_ticket.clone(),
                    source_number: first.source_number.clone(),
                    target_ticket: first.target_ticket.clone(),
                    target_number: first.target_number.clone(),
                    origin: *origin,
                    title: first.title.clone(),
                    state,
                    reason,
                    last_synced: None,
                    items: items.clone(),
                    time_carried: Vec::new(),
                }
            }
        };
        rows.push(row);
    }
    rows.sort_by_key(|row| std::cmp::Reverse(row.items.first().map(|item| item.last_seen)));
    for link in store
        .links(
            relationship,
            &LinkQuery {
                search: query.search.clone(),
                limit,
            },
        )
        .await?
    {
        if by_ticket.contains_key(&(link.origin, link.ticket(link.origin).clone())) {
            continue;
        }
        rows.push(row_of_link(&link, Vec::new()));
    }
    rows.retain(|row| {
        matches_search(
            &words,
            &row.title,
            [row.source_number.as_deref(), row.target_number.as_deref()],
        ) || words.iter().all(|word| {
            row.source_ticket
                .as_ref()
                .is_some_and(|t| t.as_str() == word)
                || row
                    .target_ticket
                    .as_ref()
                    .is_some_and(|t| t.as_str() == word)
        })
    });
    if let Some(state) = query.state {
        rows.retain(|row| row.state == state);
    }
    rows.truncate(limit as usize);
    Ok(rows)
}

fn row_of_link(link: &TicketLink, items: Vec<AttentionItem>) -> TicketRow {
    let (state, reason) = state_of(Some(link), &items);
    TicketRow {
        source_ticket: Some(link.source.clone()),
        source_number: Some(link.source_number.clone()),
        target_ticket: Some(link.target.clone()),
        target_number: Some(link.target_number.clone()),
        origin: link.origin,
        title: link.title.clone(),
        state,
        reason,
        last_synced: Some(link.updated_at),
        items,
        time_carried: [Role::Source, Role::Target]
            .into_iter()
            .filter_map(|from| {
                let (count, hours) = link.time_carried(from)?;
                Some(format!(
                    "{} \u{2192} {}: {count} time {}, {hours}",
                    from.label(),
                    from.opposite().label(),
                    if count == 1 { "entry" } else { "entries" }
                ))
            })
            .collect(),
    }
}

/// How many of the relationship's tickets need a person's attention now (for the Dashboard).
pub async fn attention_count(
    store: &dyn SyncStore,
    relationship: RelationshipId,
) -> Result<u32, StoreError> {
    let items = store
        .attention_items(
            relationship,
            &AttentionFilter {
                states: vec![AttentionState::Open],
                origin_ticket: None,
            },
        )
        .await?;
    let tickets: std::collections::BTreeSet<(Role, &TicketId)> = items
        .iter()
        .filter(|item| item.needs_attention())
        .map(|item| (item.key.origin, &item.key.origin_ticket))
        .collect();
    Ok(u32::try_from(tickets.len()).unwrap_or(u32::MAX))
}
