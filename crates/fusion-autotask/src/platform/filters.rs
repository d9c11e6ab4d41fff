//! The query filters the platform's reads share: tickets or rows by id (one `eq`, else `in`),
//! and the changed-tickets listing's own-activity bound; ids as Autotask's numbers.

use fusion_domain::sync::TicketId;
use fusion_engine::{OwnActivityListed, PlatformError};
use serde_json::Value;

use crate::wire::{Filter, datetime};

pub(super) fn ticket_filter(ids: &[i64]) -> Filter {
    if let [single] = ids {
        return Filter::eq("ticketID", *single);
    }
    Filter::compare("in", "ticketID", Value::from(ids.to_vec()))
}

pub(super) fn id_filter(ids: &[i64]) -> Filter {
    if let [single] = ids {
        return Filter::eq("id", *single);
    }
    Filter::compare("in", "id", Value::from(ids.to_vec()))
}

pub(super) fn numeric(id: &str) -> i64 {
    id.parse().unwrap_or(i64::MAX)
}

/// Leaves out tickets whose last activity is the API user's own and earlier than `before`, as
/// one OR group that keeps everything else — including tickets with no `lastActivityResourceID`
/// (a contact's activity: `noteq` does not match an empty field). `lastActivityPersonType`
/// cannot be queried, so a contact whose id equals our resource's id looks like us (see
/// ARCHITECTURE.md, invariants). `None` (list everything) when the actor is not a number.
pub(super) fn own_activity_listed(listed: &OwnActivityListed) -> Option<Filter> {
    let actor: i64 = listed.actor.as_str().parse().ok()?;
    Some(Filter::group(
        "or",
        vec![
            Filter::compare("noteq", "lastActivityResourceID", actor),
            Filter::not_exist("lastActivityResourceID"),
            Filter::gte("lastActivityDate", datetime::format(listed.before)),
        ],
    ))
}

pub(super) fn numeric_id(ticket: &TicketId) -> Result<i64, PlatformError> {
    ticket
        .as_str()
        .parse()
        .map_err(|_| PlatformError::NotFound(format!("{ticket} is not an Autotask ticket id")))
}

pub(super) fn numeric_ids(tickets: &[TicketId]) -> Result<Vec<i64>, PlatformError> {
    tickets.iter().map(numeric_id).collect()
}
