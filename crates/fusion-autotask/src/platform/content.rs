//! Comments (ticket notes) and attachments of many tickets at once: the batched reads behind
//! `comments_of_tickets`, `attachments_of_tickets` and the page prefetch, with the names of their
//! authors (see the module docs of `platform` for the calls they make).

use std::collections::{BTreeMap, BTreeSet};

use fusion_domain::ChoiceValue;
use fusion_domain::sync::{
    ActorId, AttachmentId, AttachmentSnapshot, CommentId, CommentSnapshot, TicketId,
};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::ticket_mapping::{integer, resource_or_contact};
use fusion_engine::PlatformError;

use super::{AutotaskPlatform, id_filter, numeric, numeric_ids, ticket_filter};
use crate::choices::RESOURCE;
use crate::client::PAGE_SIZE;
use crate::wire::{
    AutotaskEntity, Contact, Filter, Resource, TicketAttachment, TicketNote, datetime,
};

const NOTE_FIELDS: &[&str] = &[
    "id",
    "ticketID",
    "title",
    "description",
    "noteType",
    "publish",
    "creatorResourceID",
    "createdByContactID",
    "createDateTime",
];

const ATTACHMENT_FIELDS: &[&str] = &[
    "id",
    "ticketID",
    "title",
    "fullPath",
    "contentType",
    "publish",
    "fileSize",
    "attachedByResourceID",
    "attachedByContactID",
    "attachDate",
];

impl AutotaskPlatform {
    /// Comments of several tickets with one `POST TicketNotes/query` (`ticketID in [...]`) per
    /// 500 tickets (and per 500 notes), created at or after `since` (all when `None`); each
    /// list oldest first. Every asked ticket has an entry.
    pub async fn comments_for_tickets(
        &self,
        tickets: &[TicketId],
        since: Option<OffsetDateTime>,
    ) -> Result<BTreeMap<TicketId, Vec<CommentSnapshot>>, PlatformError> {
        let mut by_ticket: BTreeMap<TicketId, Vec<CommentSnapshot>> = tickets
            .iter()
            .map(|ticket| (ticket.clone(), Vec::new()))
            .collect();
        let include: Vec<String> = NOTE_FIELDS.iter().map(|f| (*f).to_owned()).collect();
        for chunk in numeric_ids(tickets)?.chunks(PAGE_SIZE as usize) {
            let mut filter = vec![ticket_filter(chunk)];
            if let Some(since) = since {
                filter.push(Filter::gte("createDateTime", datetime::format(since)));
            }
            let notes: Vec<Map<String, Value>> = self
                .query_rows::<RawNote>(filter, &include)
                .await?
                .into_iter()
                .map(|note| note.0)
                .collect();
            for note in notes {
                if let Some(comment) = self.comment_snapshot(&note) {
                    by_ticket
                        .entry(comment.ticket.clone())
                        .or_default()
                        .push(comment);
                }
            }
        }
        let unnamed: BTreeSet<ActorId> = by_ticket
            .values()
            .flatten()
            .filter(|comment| comment.author_name.is_empty())
            .filter_map(|comment| comment.author.clone())
            .collect();
        if !unnamed.is_empty() {
            let names = self.actor_names(&unnamed).await?;
            for comment in by_ticket.values_mut().flatten() {
                if comment.author_name.is_empty()
                    && let Some(name) = comment.author.as_ref().and_then(|a| names.get(a))
                {
                    comment.author_name = name.clone();
                }
            }
        }
        for comments in by_ticket.values_mut() {
            comments.sort_by_key(|comment| (comment.created_at, numeric(comment.id.as_str())));
        }
        Ok(by_ticket)
    }

    /// Attachment metadata of several tickets with one `POST TicketAttachments/query`
    /// (`ticketID in [...]`) per 500 tickets (and per 500 attachments); each list oldest first.
    pub async fn attachments_for_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<AttachmentSnapshot>>, PlatformError> {
        let mut by_ticket: BTreeMap<TicketId, Vec<AttachmentSnapshot>> = tickets
            .iter()
            .map(|ticket| (ticket.clone(), Vec::new()))
            .collect();
        let include: Vec<String> = ATTACHMENT_FIELDS.iter().map(|f| (*f).to_owned()).collect();
        for chunk in numeric_ids(tickets)?.chunks(PAGE_SIZE as usize) {
            let rows: Vec<RawAttachment> = self
                .query_rows(vec![ticket_filter(chunk)], &include)
                .await?;
            for row in rows {
                if let Some(attachment) = attachment_snapshot(&row.0) {
                    by_ticket
                        .entry(attachment.ticket.clone())
                        .or_default()
                        .push(attachment);
                }
            }
        }
        for attachments in by_ticket.values_mut() {
            attachments.sort_by_key(|item| (item.created_at, numeric(item.id.as_str())));
        }
        Ok(by_ticket)
    }

    /// Names of authors the tenant's choices do not list (contacts, inactive resources): cached,
    /// else one `POST Contacts/query` and one `POST Resources/query` (`id in [...]`) for all of
    /// them.
    pub(super) async fn actor_names(
        &self,
        actors: &BTreeSet<ActorId>,
    ) -> Result<BTreeMap<ActorId, String>, PlatformError> {
        let mut names = BTreeMap::new();
        let mut contacts = Vec::new();
        let mut resources = Vec::new();
        {
            let cache = self
                .actor_names
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for actor in actors {
                if let Some(name) = cache.get(actor) {
                    names.insert(actor.clone(), name.clone());
                } else if let Some(contact) = actor.as_str().strip_prefix("contact:") {
                    contacts.extend(contact.parse::<i64>().ok());
                } else {
                    resources.extend(actor.as_str().parse::<i64>().ok());
                }
            }
        }
        let include: Vec<String> = ["id", "firstName", "lastName"]
            .iter()
            .map(|f| (*f).to_owned())
            .collect();
        let mut found = Vec::new();
        for chunk in contacts.chunks(PAGE_SIZE as usize) {
            let rows: Vec<Contact> = self.query_rows(vec![id_filter(chunk)], &include).await?;
            found.extend(rows.into_iter().filter_map(|row| {
                let name = person_name(&row.first_name, &row.last_name)?;
                Some((ActorId::new(format!("contact:{}", row.id?)), name))
            }));
        }
        for chunk in resources.chunks(PAGE_SIZE as usize) {
            let rows: Vec<Resource> = self.query_rows(vec![id_filter(chunk)], &include).await?;
            found.extend(rows.into_iter().filter_map(|row| {
                let name = person_name(&row.first_name, &row.last_name)?;
                Some((ActorId::from(row.id?), name))
            }));
        }
        let mut cache = self
            .actor_names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (actor, name) in found {
            cache.insert(actor.clone(), name.clone());
            names.insert(actor, name);
        }
        Ok(names)
    }

    fn comment_snapshot(&self, note: &Map<String, Value>) -> Option<CommentSnapshot> {
        let parsed: TicketNote = serde_json::from_value(Value::Object(note.clone())).ok()?;
        let author = resource_or_contact(note, "creatorResourceID", "createdByContactID");
        let author_name = parsed
            .creator_resource_id
            .and_then(|id| {
                self.schema
                    .choices()
                    .label_of(RESOURCE, &ChoiceValue::from(id))
            })
            .unwrap_or_default()
            .to_owned();
        Some(CommentSnapshot {
            id: CommentId::from(parsed.id?),
            ticket: TicketId::from(parsed.ticket_id?),
            publish: parsed.publish.map(ChoiceValue::from),
            note_type: parsed.note_type.map(ChoiceValue::from),
            author,
            author_name,
            created_at: parsed
                .create_date_time
                .or(parsed.last_activity_date)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            title: parsed.title.unwrap_or_default(),
            body: parsed.description.unwrap_or_default(),
        })
    }
}

/// A note as raw JSON (the typed `TicketNote` is read from it).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
struct RawNote(Map<String, Value>);

impl AutotaskEntity for RawNote {
    const ENDPOINT: &'static str = "TicketNotes";
    fn id(&self) -> Option<i64> {
        self.0.get("id").and_then(integer)
    }
}

/// An attachment's metadata as raw JSON.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
struct RawAttachment(Map<String, Value>);

impl AutotaskEntity for RawAttachment {
    const ENDPOINT: &'static str = "TicketAttachments";
    fn id(&self) -> Option<i64> {
        self.0.get("id").and_then(integer)
    }
}

fn attachment_snapshot(row: &Map<String, Value>) -> Option<AttachmentSnapshot> {
    let parsed: TicketAttachment = serde_json::from_value(Value::Object(row.clone())).ok()?;
    let name = parsed
        .title
        .clone()
        .filter(|title| !title.trim().is_empty())
        .or(parsed.full_path.clone())
        .unwrap_or_default();
    Some(AttachmentSnapshot {
        id: AttachmentId::from(parsed.id?),
        ticket: TicketId::from(parsed.ticket_id?),
        name,
        size_bytes: parsed
            .file_size
            .filter(|size| size.is_finite() && *size >= 0.0)
            .map_or(0, |size| size as u64),
        content_type: parsed.content_type,
        publish: parsed.publish.map(ChoiceValue::from),
        author: resource_or_contact(row, "attachedByResourceID", "attachedByContactID"),
        created_at: parsed.attach_date.unwrap_or(OffsetDateTime::UNIX_EPOCH),
    })
}

/// "First Last" from optional parts; `None` when both are blank.
fn person_name(first: &Option<String>, last: &Option<String>) -> Option<String> {
    let name = [first, last]
        .into_iter()
        .flatten()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}
