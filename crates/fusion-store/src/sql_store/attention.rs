//! Attention items and the Tickets page's link search, written once for both databases (the
//! [`SyncStore`](fusion_engine::ports::SyncStore) impl in `sync.rs` delegates here).

use fusion_domain::sync::{
    AttentionItem, AttentionKey, AttentionState, AttentionSubject, FailureClass, TicketId,
    TicketLink,
};
use fusion_domain::{RelationshipId, Role};
use fusion_engine::ports::{AttentionFilter, LinkQuery};

use super::SqlStore;
use crate::backend::{Backend, Bind, Columns, RowsAffected};
use crate::database_errors::{database_error, insert_error};
use crate::sync_rows::{LINK_COLUMNS, parse_role};
use crate::timestamps::to_storage_precision;
use crate::{StoreError, StoreResult};

const ATTENTION_COLUMNS: &str = "relationship_id, origin, origin_ticket, subject_kind, \
     subject_item, source_ticket, source_number, target_ticket, target_number, title, what, why, \
     what_to_do, class, state, first_seen, last_seen, times, ticket_activity, retry_requested, \
     skipped_by, resolved_at";

fn unknown(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("unknown {what} {value:?} in the database"))
}

fn attention_from_row(row: &impl Columns) -> StoreResult<AttentionItem> {
    let kind: String = row.column("subject_kind")?;
    let item: String = row.column("subject_item")?;
    let class: String = row.column("class")?;
    let state: String = row.column("state")?;
    let origin: String = row.column("origin")?;
    let times: i64 = row.column("times")?;
    Ok(AttentionItem {
        key: AttentionKey {
            relationship: RelationshipId::from_uuid(row.uuid("relationship_id")?),
            origin: parse_role("attention origin", &origin)?,
            origin_ticket: TicketId::new(row.column::<String>("origin_ticket")?),
            subject: AttentionSubject::from_parts(&kind, &item)
                .ok_or_else(|| unknown("attention subject", &kind))?,
        },
        source_ticket: row
            .column::<Option<String>>("source_ticket")?
            .map(TicketId::new),
        source_number: row.column("source_number")?,
        target_ticket: row
            .column::<Option<String>>("target_ticket")?
            .map(TicketId::new),
        target_number: row.column("target_number")?,
        title: row.column("title")?,
        what: row.column("what")?,
        why: row.column("why")?,
        what_to_do: row.column("what_to_do")?,
        class: FailureClass::parse(&class).ok_or_else(|| unknown("failure class", &class))?,
        state: AttentionState::parse(&state).ok_or_else(|| unknown("attention state", &state))?,
        first_seen: row.time("first_seen")?,
        last_seen: row.time("last_seen")?,
        times: u32::try_from(times).unwrap_or(u32::MAX),
        ticket_activity: row.optional_time("ticket_activity")?,
        retry_requested: row.column("retry_requested")?,
        skipped_by: row.column("skipped_by")?,
        resolved_at: row.optional_time("resolved_at")?,
    })
}

/// `%word%` for LIKE, with the wildcards in the word taken literally (`ESCAPE '\'`).
fn like_pattern(word: &str) -> String {
    let escaped = word
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl<B: Backend> SqlStore<B> {
    pub(super) async fn list_attention_items(
        &self,
        relationship: RelationshipId,
        filter: &AttentionFilter,
    ) -> StoreResult<Vec<AttentionItem>> {
        let mut conditions = vec!["relationship_id = $1".to_owned()];
        let mut next = 2;
        if !filter.states.is_empty() {
            conditions.push(B::in_texts("state", next));
            next += 1;
        }
        if filter.origin_ticket.is_some() {
            conditions.push(format!(
                "origin = ${next} AND origin_ticket = ${}",
                next + 1
            ));
        }
        let mut query = sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTENTION_COLUMNS} FROM attention_items WHERE {} \
             ORDER BY last_seen DESC, origin_ticket, subject_kind, subject_item",
            conditions.join(" AND ")
        )))
        .bind_id(relationship);
        if !filter.states.is_empty() {
            query = B::bind_texts(
                query,
                filter
                    .states
                    .iter()
                    .map(|state| state.as_str().to_owned())
                    .collect(),
            )?;
        }
        if let Some((side, ticket)) = &filter.origin_ticket {
            query = query
                .bind_value(side.as_str())
                .bind_value(ticket.as_str().to_owned());
        }
        query
            .fetch_all(self.pool())
            .await
            .map_err(database_error)?
            .iter()
            .map(attention_from_row)
            .collect()
    }

    pub(super) async fn upsert_attention_item(&self, item: &AttentionItem) -> StoreResult<()> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "INSERT INTO attention_items ({ATTENTION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                     $18, $19, $20, $21, $22) \
             ON CONFLICT (relationship_id, origin, origin_ticket, subject_kind, subject_item) \
             DO UPDATE SET source_ticket = excluded.source_ticket, \
                 source_number = excluded.source_number, target_ticket = excluded.target_ticket, \
                 target_number = excluded.target_number, title = excluded.title, \
                 what = excluded.what, why = excluded.why, what_to_do = excluded.what_to_do, \
                 class = excluded.class, state = excluded.state, \
                 first_seen = excluded.first_seen, last_seen = excluded.last_seen, \
                 times = excluded.times, ticket_activity = excluded.ticket_activity, \
                 retry_requested = excluded.retry_requested, skipped_by = excluded.skipped_by, \
                 resolved_at = excluded.resolved_at"
        )))
        .bind_id(item.key.relationship)
        .bind_value(item.key.origin.as_str())
        .bind_value(item.key.origin_ticket.as_str().to_owned())
        .bind_value(item.key.subject.kind())
        .bind_value(item.key.subject.item().to_owned())
        .bind_value(item.source_ticket.as_ref().map(|id| id.as_str().to_owned()))
        .bind_value(item.source_number.clone())
        .bind_value(item.target_ticket.as_ref().map(|id| id.as_str().to_owned()))
        .bind_value(item.target_number.clone())
        .bind_value(item.title.clone())
        .bind_value(item.what.clone())
        .bind_value(item.why.clone())
        .bind_value(item.what_to_do.clone())
        .bind_value(item.class.as_str())
        .bind_value(item.state.as_str())
        .bind_time(to_storage_precision(item.first_seen))
        .bind_time(to_storage_precision(item.last_seen))
        .bind_value(i64::from(item.times))
        .bind_optional_time(item.ticket_activity.map(to_storage_precision))
        .bind_value(item.retry_requested)
        .bind_value(item.skipped_by.clone())
        .bind_optional_time(item.resolved_at.map(to_storage_precision))
        .execute(self.pool())
        .await
        .map(drop)
        .map_err(|error| insert_error(error, "attention item conflict"))
    }

    pub(super) async fn mark_attention_retry(
        &self,
        relationship: RelationshipId,
        ticket: Option<(Role, TicketId)>,
    ) -> StoreResult<u64> {
        let done = match ticket {
            None => {
                sqlx::query::<B>(
                    "UPDATE attention_items SET retry_requested = TRUE \
                     WHERE relationship_id = $1 AND state = 'open'",
                )
                .bind_id(relationship)
                .execute(self.pool())
                .await
            }
            Some((side, ticket)) => {
                sqlx::query::<B>(
                    "UPDATE attention_items SET retry_requested = TRUE \
                     WHERE relationship_id = $1 AND state = 'open' AND origin = $2 \
                       AND origin_ticket = $3",
                )
                .bind_id(relationship)
                .bind_value(side.as_str())
                .bind_value(ticket.as_str().to_owned())
                .execute(self.pool())
                .await
            }
        }
        .map_err(database_error)?;
        Ok(done.rows_affected())
    }

    pub(super) async fn search_links(
        &self,
        relationship: RelationshipId,
        query: &LinkQuery,
    ) -> StoreResult<Vec<TicketLink>> {
        let words: Vec<String> = query
            .search
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .take(8)
            .map(str::to_owned)
            .collect();
        let mut conditions = vec!["relationship_id = $1".to_owned()];
        for (index, _) in words.iter().enumerate() {
            let like = 2 + index * 2;
            let exact = like + 1;
            conditions.push(format!(
                "(LOWER(title) LIKE ${like} ESCAPE '\\' OR LOWER(source_number) LIKE ${like} ESCAPE '\\' \
                  OR LOWER(target_number) LIKE ${like} ESCAPE '\\' OR source_ticket = ${exact} \
                  OR target_ticket = ${exact})"
            ));
        }
        let limit = 2 + words.len() * 2;
        let mut sql_query = sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLUMNS} FROM ticket_links WHERE {} \
             ORDER BY updated_at DESC, source_ticket LIMIT ${limit}",
            conditions.join(" AND ")
        )))
        .bind_id(relationship);
        for word in &words {
            sql_query = sql_query
                .bind_value(like_pattern(word))
                .bind_value(word.clone());
        }
        sql_query
            .bind_value(i64::from(query.limit))
            .fetch_all(self.pool())
            .await
            .map_err(database_error)?
            .iter()
            .map(super::sync::link_from_row)
            .collect()
    }
}
