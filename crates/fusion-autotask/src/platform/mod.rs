//! The engine's [`Platform`] port for Autotask: [`AutotaskPlatform`] reads changed tickets,
//! comments (ticket notes), attachments and deleted tickets (`DeletedTicketLogs`) as domain
//! snapshots and writes tickets, notes and attachments, through one [`AutotaskClient`] (so through
//! its endpoint limiter, request budget and retries) and the tenant's field knowledge
//! ([`TenantChoices`], which also gives the field rules values are fitted to before a write).
//!
//! ## Calls per operation (HTTP requests when nothing is retried; tests check them against the
//! simulator's request log)
//! - `own_actor`: 1 `POST Resources/query` (`userName eq` the API username) the first time, then
//!   0 (cached; 0 from the start for a platform built [`AutotaskPlatform::with_own_actor`]); a
//!   second query (`email eq`) only if no resource carries the user name.
//! - `changed_tickets`: 1 `POST Tickets/query` per page (`lastActivityDate gte since`, `id gt
//!   after`, `maxRecords` ≤ 500, `includeFields` = exactly the snapshot's fields), so reading
//!   n changed tickets costs ⌈n/500⌉ calls (plus one empty page when n is a multiple of 500).
//! - `ticket`, `find_by_marker`: 1 `POST Tickets/query` each (`id eq` / `externalID eq`).
//! - `tickets` (several by id): 1 `POST Tickets/query` (`id in [...]`) per 500 ids; the tickets
//!   read count as a page for the batched comment and attachment reads below.
//! - `create_ticket`: 1 `POST Tickets` + 1 `POST Tickets/query` reading the new ticket back (its
//!   number is only known to Autotask). A missing required field or an over-long value is refused
//!   before any call.
//! - `update_ticket`: 1 `PATCH Tickets` with `id` and the changed fields only (0 when there are no
//!   changes). `close_ticket`: 1 `PATCH Tickets` (a second one adding a resolution only if the
//!   tenant refuses to complete a ticket without one).
//! - `comments` / `attachments`: tickets of the pages returned by `changed_tickets` (or read
//!   together by `tickets`) are read in batches: the first `comments` call for a ticket of a
//!   page reads the notes of the whole page with one `POST TicketNotes/query` (`ticketID in
//!   [page]`, `createDateTime gte since`; one more call per 500 notes) and later calls for the
//!   page's tickets cost 0; likewise
//!   `POST TicketAttachments/query` for attachments. Each prefetched answer is served once; a
//!   ticket outside a recent page (or asked again, or written to since) costs 1 query (per 500).
//!   `comments_of_tickets` / `attachments_of_tickets` (the engine's batch reads, also
//!   [`AutotaskPlatform::comments_for_tickets`] and [`AutotaskPlatform::attachments_for_tickets`])
//!   read exactly the tickets asked for: one query per 500 tickets (one more per 500 rows). Comment authors the tenant's choices do not name (contacts,
//!   inactive resources) cost one `POST Contacts/query` and/or `POST Resources/query`
//!   (`id in [...]`) per batch, and nothing once their names are cached.
//! - `add_comment`: 1 `POST Tickets/{id}/Notes`. `add_attachment`: 1 `POST Tickets/{id}/Attachments`
//!   (0 when the file is over [`MAX_ATTACHMENT_BYTES`], or when it would take the attachments sent
//!   through this value past [`ATTACHMENT_WINDOW_BYTES`] in five minutes: Autotask would then
//!   block attachment creation for the whole tenant). `attachment_data`: 1 `GET
//!   Tickets/{id}/Attachments/{attachmentId}`.
//! - `deleted_tickets`: 1 `POST DeletedTicketLogs/query` per page (`deletedDateTime gte since`,
//!   `id gt` the last log read, `maxRecords` 500), so ⌈n/500⌉ calls for n deletions (plus one
//!   empty page when n is a multiple of 500; 1 when there are none). Who deleted a ticket is
//!   named from the tenant's active resources or names already looked up, never by another call.
//! - `field_rules`: 0 (built once in [`AutotaskPlatform::new`] from the field information loaded
//!   with the tenant's choices; see `field_rules`).
//!
//! [`Platform::calls_used`] counts the requests this value issued; the client's own retries of
//! transient failures are not visible to it.

mod content;
mod error_mapping;
mod field_rules;
mod filters;
mod ticket_mapping;
mod time_entries;

use filters::{id_filter, numeric, numeric_id, numeric_ids, own_activity_listed, ticket_filter};

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use fusion_domain::ChoiceValue;
use fusion_domain::sync::{
    ActorId, AttachmentDraft, AttachmentId, AttachmentSnapshot, CommentDraft, CommentId,
    CommentSnapshot, DeletedTicket, FieldChange, FieldRules, FieldValue, TicketDraft, TicketId,
    TicketMarker, TicketSnapshot,
};
use fusion_engine::{ChangedTicketsQuery, CreatedTicket, Platform, PlatformError, TicketPage};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::choices::{RESOURCE, TenantChoices};
use crate::client::{AutotaskClient, PAGE_SIZE, ResolvedZone};
use crate::wire::{
    AutotaskEntity, DeletedTicketLog, Filter, QueryModel, Resource, TicketAttachment, datetime,
};
use error_mapping::{CallKind, to_platform_error};
use ticket_mapping::{MARKER_FIELD, MARKER_MAX_CHARS, TicketSchema, WireTicket};

/// The largest attachment sent through the API: Autotask accepts 6–7 MB per file through the
/// API (the simulator: 7,000,000 bytes); larger files are refused before any call.
pub const MAX_ATTACHMENT_BYTES: u64 = 7_000_000;

/// Autotask accepts at most this many attachment bytes per database in
/// [`ATTACHMENT_WINDOW`] and then blocks attachment creation for five minutes.
pub const ATTACHMENT_WINDOW_BYTES: u64 = 10_000_000;
/// The rolling window of [`ATTACHMENT_WINDOW_BYTES`].
pub const ATTACHMENT_WINDOW: Duration = Duration::from_secs(5 * 60);

/// How many recent pages of tickets (`changed_tickets` pages and `tickets` batches) keep their
/// ids for batched comment and attachment reads: a run reads its changed tickets and their
/// partners first, then their comments, so this bounds the tickets a run batches (64 × 500 =
/// 32,000 per side) while keeping only ids.
const PREFETCH_PAGES: usize = 64;

const DELETED_TICKET_LOG_FIELDS: &[&str] = &[
    "id",
    "ticketID",
    "ticketNumber",
    "ticketTitle",
    "deletedByResourceID",
    "deletedDateTime",
];

/// Comments of one page, read in one batch.
#[derive(Debug)]
struct CommentBatch {
    since: Option<OffsetDateTime>,
    by_ticket: BTreeMap<TicketId, Vec<CommentSnapshot>>,
}

/// The tickets of one `changed_tickets` page whose comments/attachments were not served yet.
#[derive(Debug, Default)]
struct PrefetchPage {
    comment_tickets: BTreeSet<TicketId>,
    comments: Option<CommentBatch>,
    attachment_tickets: BTreeSet<TicketId>,
    attachments: Option<BTreeMap<TicketId, Vec<AttachmentSnapshot>>>,
}

/// The engine's view of one Autotask tenant through one API user. See the module docs for the
/// calls each operation makes.
pub struct AutotaskPlatform {
    client: AutotaskClient,
    schema: TicketSchema,
    /// What the tenant's fields accept, derived once from the choices (no call).
    field_rules: FieldRules,
    database_key: String,
    /// What the request gate counts this database's requests under.
    budget_key: String,
    own_actor: tokio::sync::OnceCell<ActorId>,
    calls: AtomicU64,
    prefetch: tokio::sync::Mutex<VecDeque<PrefetchPage>>,
    /// Attachment bytes sent through this value, with when (for Autotask's 5-minute limit).
    attachment_uploads: Mutex<VecDeque<(tokio::time::Instant, u64)>>,
    /// Names of comment authors the choices do not list (contacts, inactive resources).
    actor_names: Mutex<BTreeMap<ActorId, String>>,
    /// Whether tickets read carry their contact's name (a description composition shows it).
    contact_names: bool,
}

impl fmt::Debug for AutotaskPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutotaskPlatform")
            .field("database_key", &self.database_key)
            .field("client", &self.client)
            .field("own_actor", &self.own_actor.get())
            .field("calls_used", &self.calls.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl AutotaskPlatform {
    /// Resolves the API user's zone (cached by the service; one `ZoneInformation` call on a cold
    /// cache) and builds the platform.
    pub async fn connect(
        client: AutotaskClient,
        choices: TenantChoices,
    ) -> Result<AutotaskPlatform, PlatformError> {
        let zone = client
            .zone()
            .await
            .map_err(|error| to_platform_error(error, CallKind::Read))?;
        Ok(AutotaskPlatform::new(client, choices, &zone))
    }

    /// The platform for a client whose zone is known. `choices` are the tenant's field knowledge
    /// (picklists, required flags, UDFs) from [`crate::load_choices`].
    pub fn new(
        client: AutotaskClient,
        choices: TenantChoices,
        zone: &ResolvedZone,
    ) -> AutotaskPlatform {
        let username = client.username().trim().to_ascii_lowercase();
        let tenant = username
            .rsplit_once('@')
            .map_or(username.as_str(), |(_, domain)| domain)
            .to_owned();
        AutotaskPlatform {
            database_key: format!("autotask:{}:{tenant}", zone.api_url.host()),
            budget_key: zone.database_key(client.username()),
            client,
            field_rules: field_rules::field_rules(&choices),
            schema: TicketSchema::new(choices),
            own_actor: tokio::sync::OnceCell::new(),
            calls: AtomicU64::new(0),
            prefetch: tokio::sync::Mutex::new(VecDeque::new()),
            attachment_uploads: Mutex::new(VecDeque::new()),
            actor_names: Mutex::new(BTreeMap::new()),
            contact_names: false,
        }
    }

    /// Tickets read through this platform carry their contact's name as the `contactID` label
    /// (what a description composition with a "Contact" line shows). Costs one
    /// `POST Contacts/query` per 500 contacts not seen before by this platform value.
    pub fn with_contact_names(mut self) -> AutotaskPlatform {
        self.contact_names = true;
        self
    }

    /// Puts the contact's name on each ticket that has a contact, when asked to
    /// ([`AutotaskPlatform::with_contact_names`]). A failed look-up leaves the ids: the run goes
    /// on, and the composition shows the contact's id.
    async fn name_contacts(&self, rows: &[WireTicket], tickets: &mut [TicketSnapshot]) {
        if !self.contact_names {
            return;
        }
        let contact_of: BTreeMap<i64, ActorId> = rows
            .iter()
            .filter_map(|row| {
                let ticket = row.0.get("id").and_then(Value::as_i64)?;
                let contact = row.0.get("contactID").and_then(Value::as_i64)?;
                Some((ticket, ActorId::new(format!("contact:{contact}"))))
            })
            .collect();
        if contact_of.is_empty() {
            return;
        }
        let wanted: BTreeSet<ActorId> = contact_of.values().cloned().collect();
        let names = match self.actor_names(&wanted).await {
            Ok(names) => names,
            Err(error) => {
                tracing::warn!(%error, "cannot read the tickets' contact names; compositions show their ids");
                return;
            }
        };
        for ticket in tickets {
            if let Some(name) = ticket
                .id
                .as_str()
                .parse::<i64>()
                .ok()
                .and_then(|id| contact_of.get(&id))
                .and_then(|contact| names.get(contact))
            {
                ticket.labels.insert("contactID".to_owned(), name.clone());
            }
        }
    }

    /// The platform with the API user's resource id already known (found by an earlier
    /// platform for the same API user): [`Platform::own_actor`] then costs no request.
    pub fn with_own_actor(self, actor: ActorId) -> AutotaskPlatform {
        // A fresh platform's cell is empty; were it set, it would hold the same user's id.
        let _ = self.own_actor.set(actor);
        self
    }

    /// The API username this platform acts as.
    pub fn username(&self) -> &str {
        self.client.username()
    }

    /// Keeps the tickets of one page read together, so that their comments and attachments are
    /// then read together too (see the module docs).
    async fn remember_page(&self, tickets: &[TicketSnapshot]) {
        if tickets.len() < 2 {
            return;
        }
        let ids: BTreeSet<TicketId> = tickets.iter().map(|ticket| ticket.id.clone()).collect();
        let mut pages = self.prefetch.lock().await;
        if pages.len() == PREFETCH_PAGES {
            pages.pop_front();
        }
        pages.push_back(PrefetchPage {
            comment_tickets: ids.clone(),
            attachment_tickets: ids,
            ..PrefetchPage::default()
        });
    }

    /// The `includeFields` of every ticket read (exactly what a snapshot is built from).
    pub fn ticket_include_fields(&self) -> &[String] {
        self.schema.include_fields()
    }

    fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Every row matching `filter`, paged by id 500 at a time (one call per page).
    async fn query_rows<T: AutotaskEntity>(
        &self,
        filter: Vec<Filter>,
        include_fields: &[String],
    ) -> Result<Vec<T>, PlatformError> {
        let mut rows: Vec<T> = Vec::new();
        let mut last_id: Option<i64> = None;
        loop {
            let mut page_filter = filter.clone();
            if let Some(last) = last_id {
                page_filter.push(Filter::gt("id", last));
            }
            let query = QueryModel {
                max_records: PAGE_SIZE,
                include_fields: include_fields.to_vec(),
                filter: page_filter,
            };
            self.count_call();
            let page = self
                .client
                .query_page::<T>(&query)
                .await
                .map_err(|error| to_platform_error(error, CallKind::Read))?;
            let full = page.items.len() >= PAGE_SIZE as usize;
            let highest = page.items.iter().filter_map(AutotaskEntity::id).max();
            rows.extend(page.items);
            match highest {
                Some(highest) if full && last_id.is_none_or(|last| highest > last) => {
                    last_id = Some(highest);
                }
                _ => return Ok(rows),
            }
        }
    }

    async fn query_tickets(
        &self,
        filter: Vec<Filter>,
    ) -> Result<Vec<TicketSnapshot>, PlatformError> {
        let rows: Vec<WireTicket> = self
            .query_rows(filter, self.schema.include_fields())
            .await?;
        let mut tickets = self.snapshots(&rows)?;
        self.name_contacts(&rows, &mut tickets).await;
        Ok(tickets)
    }

    fn snapshots(&self, rows: &[WireTicket]) -> Result<Vec<TicketSnapshot>, PlatformError> {
        let mut tickets = rows
            .iter()
            .map(|row| {
                self.schema.snapshot(&row.0).ok_or_else(|| {
                    PlatformError::Malformed("a ticket in Autotask's answer has no id".to_owned())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        tickets.sort_by_key(|ticket| ticket.id.as_str().parse::<i64>().unwrap_or(i64::MAX));
        Ok(tickets)
    }

    /// Forgets prefetched reads of `ticket` (after writing to it).
    async fn forget_prefetched(&self, ticket: &TicketId) {
        let mut pages = self.prefetch.lock().await;
        for page in pages.iter_mut() {
            page.comment_tickets.remove(ticket);
            page.attachment_tickets.remove(ticket);
        }
    }

    /// Reserves `size` bytes of Autotask's attachment allowance, or refuses (nothing sent) when
    /// they would pass [`ATTACHMENT_WINDOW_BYTES`] within [`ATTACHMENT_WINDOW`] and so block
    /// attachment creation for the whole tenant for five minutes.
    fn reserve_attachment_bytes(&self, name: &str, size: u64) -> Result<(), PlatformError> {
        let now = tokio::time::Instant::now();
        let mut uploads = self
            .attachment_uploads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while uploads
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= ATTACHMENT_WINDOW)
        {
            uploads.pop_front();
        }
        let used: u64 = uploads.iter().map(|(_, bytes)| bytes).sum();
        if used + size > ATTACHMENT_WINDOW_BYTES {
            return Err(PlatformError::RateLimited(format!(
                "{name} ({size} bytes) waits: {used} bytes of attachments were sent in the last \
                 five minutes, and Autotask blocks attachment creation for five minutes beyond \
                 {ATTACHMENT_WINDOW_BYTES} bytes"
            )));
        }
        uploads.push_back((now, size));
        Ok(())
    }

    /// A deletion log row as the domain's [`DeletedTicket`]; `None` without a ticket id or time.
    fn deleted_ticket(&self, row: DeletedTicketLog) -> Option<DeletedTicket> {
        Some(DeletedTicket {
            id: TicketId::from(row.ticket_id?),
            number: row.ticket_number.unwrap_or_default(),
            title: row.ticket_title.unwrap_or_default(),
            deleted_by: row
                .deleted_by_resource_id
                .map(|resource| self.known_resource_name(resource)),
            deleted_at: row.deleted_date_time?,
        })
    }

    /// A resource's name as far as this platform knows it without asking: the tenant's active
    /// resources, then names looked up earlier; else "resource <id>".
    fn known_resource_name(&self, resource: i64) -> String {
        if let Some(label) = self
            .schema
            .choices()
            .label_of(RESOURCE, &ChoiceValue::from(resource))
        {
            return label.to_owned();
        }
        self.actor_names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&ActorId::from(resource))
            .cloned()
            .unwrap_or_else(|| format!("resource {resource}"))
    }

    /// The default value of a picklist ("note_publish"), else its first active value.
    fn default_choice(&self, list: &str) -> Option<ChoiceValue> {
        let choices = self.schema.choices().list_ref(list);
        choices
            .iter()
            .find(|choice| choice.is_default && choice.is_active)
            .or_else(|| choices.iter().find(|choice| choice.is_active))
            .map(|choice| choice.value.clone())
    }

    async fn patch_ticket(&self, body: Map<String, Value>) -> Result<(), PlatformError> {
        self.count_call();
        self.client
            .update("Tickets", &Value::Object(body))
            .await
            .map(|_| ())
            .map_err(|error| to_platform_error(error, CallKind::Write))
    }

    /// `POST Tickets` with the draft: the new ticket's id.
    async fn post_ticket(&self, draft: &TicketDraft) -> Result<TicketId, PlatformError> {
        let mut body = Map::new();
        body.insert("title".into(), Value::from(draft.title.as_str()));
        body.insert(
            "description".into(),
            Value::from(draft.description.as_str()),
        );
        body.insert(MARKER_FIELD.into(), Value::from(draft.marker.as_str()));
        for (field, value) in [
            ("companyID", &draft.company),
            ("queueID", &draft.queue),
            ("status", &draft.status),
            ("priority", &draft.priority),
            ("ticketType", &draft.ticket_type),
            ("ticketCategory", &draft.category),
            ("source", &draft.source),
            ("issueType", &draft.issue_type),
            ("subIssueType", &draft.sub_issue_type),
        ] {
            if let Some(value) = value {
                body.insert(
                    field.into(),
                    self.schema
                        .wire_value(field, &FieldValue::Choice(value.clone())),
                );
            }
        }
        for (field, value) in &draft.fields {
            if value.is_empty() && !body.contains_key(field) {
                continue;
            }
            self.schema
                .put(&mut body, field, value)
                .map_err(PlatformError::Rejected)?;
        }
        self.schema
            .check_create(&body)
            .map_err(PlatformError::Rejected)?;
        self.count_call();
        let id = self
            .client
            .create("Tickets", &Value::Object(body))
            .await
            .map_err(|error| to_platform_error(error, CallKind::Write))?;
        Ok(TicketId::from(id))
    }
}

#[async_trait]
impl Platform for AutotaskPlatform {
    fn database_key(&self) -> String {
        self.database_key.clone()
    }

    fn budget_key(&self) -> String {
        self.budget_key.clone()
    }

    async fn own_actor(&self) -> Result<ActorId, PlatformError> {
        self.own_actor
            .get_or_try_init(|| async {
                let username = self.client.username().trim().to_owned();
                let include = vec!["id".to_owned(), "userName".to_owned()];
                for field in ["userName", "email"] {
                    let resources: Vec<Resource> = self
                        .query_rows(vec![Filter::eq(field, username.as_str())], &include)
                        .await?;
                    if let Some(id) = resources.iter().filter_map(|r| r.id).min() {
                        return Ok(ActorId::from(id));
                    }
                }
                Err(PlatformError::NotFound(format!(
                    "no Autotask resource carries the API username {username}, so the sync \
                     cannot recognise its own changes"
                )))
            })
            .await
            .cloned()
    }

    async fn changed_tickets(
        &self,
        query: &ChangedTicketsQuery,
    ) -> Result<TicketPage, PlatformError> {
        let page_size = query.page_size.clamp(1, PAGE_SIZE);
        let mut filter = vec![Filter::gte(
            "lastActivityDate",
            datetime::format(query.since),
        )];
        if let Some(after) = &query.after {
            filter.push(Filter::gt("id", numeric_id(after)?));
        }
        filter.extend(
            query
                .own_activity_listed
                .as_ref()
                .and_then(own_activity_listed),
        );
        let model = QueryModel {
            max_records: page_size,
            include_fields: self.schema.include_fields().to_vec(),
            filter,
        };
        self.count_call();
        let rows = self
            .client
            .query_page::<WireTicket>(&model)
            .await
            .map_err(|error| to_platform_error(error, CallKind::Read))?
            .items;
        let full = rows.len() >= page_size as usize;
        let mut tickets = self.snapshots(&rows)?;
        self.name_contacts(&rows, &mut tickets).await;
        let next = if full {
            tickets.last().map(|ticket| ticket.id.clone())
        } else {
            None
        };
        self.remember_page(&tickets).await;
        Ok(TicketPage {
            tickets,
            next,
            read_through: None,
        })
    }

    async fn tickets(&self, ids: &[TicketId]) -> Result<Vec<TicketSnapshot>, PlatformError> {
        // Ids that are not numbers name no Autotask ticket.
        let mut numeric: Vec<i64> = ids
            .iter()
            .filter_map(|id| id.as_str().parse().ok())
            .collect();
        numeric.sort_unstable();
        numeric.dedup();
        let mut found = Vec::with_capacity(numeric.len());
        for chunk in numeric.chunks(PAGE_SIZE as usize) {
            let tickets = self.query_tickets(vec![id_filter(chunk)]).await?;
            self.remember_page(&tickets).await;
            found.extend(tickets);
        }
        Ok(found)
    }

    async fn ticket(&self, id: &TicketId) -> Result<Option<TicketSnapshot>, PlatformError> {
        let Ok(numeric) = id.as_str().parse::<i64>() else {
            return Ok(None);
        };
        Ok(self
            .query_tickets(vec![Filter::eq("id", numeric)])
            .await?
            .into_iter()
            .next())
    }

    async fn ticket_by_number(
        &self,
        number: &str,
    ) -> Result<Option<TicketSnapshot>, PlatformError> {
        let number = number.trim();
        // Autotask ticket numbers are short (`T20261204.0001`); anything else names no ticket.
        if number.is_empty() || number.chars().count() > 50 {
            return Ok(None);
        }
        Ok(self
            .query_tickets(vec![Filter::eq("ticketNumber", number)])
            .await?
            .into_iter()
            .find(|ticket| ticket.number.eq_ignore_ascii_case(number)))
    }

    async fn find_by_marker(
        &self,
        marker: &TicketMarker,
    ) -> Result<Option<TicketSnapshot>, PlatformError> {
        if marker.as_str().chars().count() > MARKER_MAX_CHARS {
            // Autotask cannot store it, so no ticket carries it.
            return Ok(None);
        }
        Ok(self
            .query_tickets(vec![Filter::eq(MARKER_FIELD, marker.as_str())])
            .await?
            .into_iter()
            .find(|ticket| ticket.marker.as_deref() == Some(marker.as_str())))
    }

    async fn create_ticket(&self, draft: &TicketDraft) -> Result<TicketSnapshot, PlatformError> {
        let id = self.post_ticket(draft).await?;
        match self.ticket(&id).await {
            Ok(Some(ticket)) => Ok(ticket),
            Ok(None) => Err(PlatformError::OutcomeUnknown(format!(
                "Autotask answered the create with ticket {id} but does not return it"
            ))),
            Err(error) => Err(PlatformError::OutcomeUnknown(format!(
                "ticket {id} was created but could not be read back: {error}"
            ))),
        }
    }

    /// `POST Tickets` answers only the id: the engine reads what it created in 500-id queries
    /// (`Platform::tickets`) instead of one query per ticket.
    async fn create_ticket_unread(
        &self,
        draft: &TicketDraft,
    ) -> Result<CreatedTicket, PlatformError> {
        self.post_ticket(draft).await.map(CreatedTicket::Unread)
    }

    async fn update_ticket(
        &self,
        id: &TicketId,
        changes: &[FieldChange],
    ) -> Result<(), PlatformError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut body = Map::new();
        body.insert("id".into(), Value::from(numeric_id(id)?));
        for change in changes {
            self.schema
                .put(&mut body, &change.field, &change.value)
                .map_err(PlatformError::Rejected)?;
        }
        self.schema
            .check_lengths(&body)
            .map_err(PlatformError::Rejected)?;
        self.patch_ticket(body).await
    }

    async fn close_ticket(&self, id: &TicketId, status: &ChoiceValue) -> Result<(), PlatformError> {
        let numeric = numeric_id(id)?;
        let mut body = Map::new();
        body.insert("id".into(), Value::from(numeric));
        body.insert(
            "status".into(),
            self.schema
                .wire_value("status", &FieldValue::Choice(status.clone())),
        );
        match self.patch_ticket(body.clone()).await {
            Err(PlatformError::Rejected(message))
                if message.to_ascii_lowercase().contains("resolution") =>
            {
                body.insert(
                    "resolution".into(),
                    Value::from("Closed by Support Fusion: the partner's copy was closed."),
                );
                self.patch_ticket(body).await
            }
            other => other,
        }
    }

    async fn comments(
        &self,
        ticket: &TicketId,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<CommentSnapshot>, PlatformError> {
        let keep = |comments: Vec<CommentSnapshot>| -> Vec<CommentSnapshot> {
            comments
                .into_iter()
                .filter(|comment| since.is_none_or(|since| comment.created_at >= since))
                .collect()
        };
        {
            let mut pages = self.prefetch.lock().await;
            if let Some(page) = pages
                .iter_mut()
                .rev()
                .find(|page| page.comment_tickets.contains(ticket))
            {
                if page.comments.is_none() {
                    let tickets: Vec<TicketId> = page.comment_tickets.iter().cloned().collect();
                    let by_ticket = self.comments_for_tickets(&tickets, since).await?;
                    page.comments = Some(CommentBatch { since, by_ticket });
                }
                page.comment_tickets.remove(ticket);
                if let Some(batch) = page.comments.as_mut() {
                    let covers = match (batch.since, since) {
                        (None, _) => true,
                        (Some(batch_since), Some(since)) => since >= batch_since,
                        (Some(_), None) => false,
                    };
                    let served = batch.by_ticket.remove(ticket);
                    if covers {
                        return Ok(keep(served.unwrap_or_default()));
                    }
                }
            }
        }
        let mut by_ticket = self
            .comments_for_tickets(std::slice::from_ref(ticket), since)
            .await?;
        Ok(keep(by_ticket.remove(ticket).unwrap_or_default()))
    }

    async fn comments_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<CommentSnapshot>>, PlatformError> {
        self.comments_for_tickets(tickets, None).await
    }

    async fn attachments_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<AttachmentSnapshot>>, PlatformError> {
        self.attachments_for_tickets(tickets).await
    }

    async fn time_entries_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<fusion_domain::sync::TimeEntrySnapshot>>, PlatformError>
    {
        self.time_entries_for_tickets(tickets).await
    }

    async fn create_time_entry(
        &self,
        ticket: &TicketId,
        draft: &fusion_domain::sync::TimeEntryDraft,
    ) -> Result<fusion_domain::sync::TimeEntryId, PlatformError> {
        self.forget_prefetched(ticket).await;
        self.create_time_entry_copy(ticket, draft).await
    }

    async fn update_time_entry(
        &self,
        entry: &fusion_domain::sync::TimeEntryId,
        draft: &fusion_domain::sync::TimeEntryDraft,
    ) -> Result<(), PlatformError> {
        self.update_time_entry_copy(entry, draft).await
    }

    async fn delete_time_entry(
        &self,
        entry: &fusion_domain::sync::TimeEntryId,
    ) -> Result<(), PlatformError> {
        self.delete_time_entry_copy(entry).await
    }

    async fn add_comment(
        &self,
        ticket: &TicketId,
        comment: &CommentDraft,
    ) -> Result<CommentId, PlatformError> {
        let numeric = numeric_id(ticket)?;
        let note_type = comment
            .note_type
            .clone()
            .or_else(|| self.default_choice("note_type"))
            .unwrap_or_else(|| ChoiceValue::from(1));
        let publish = comment
            .publish
            .clone()
            .or_else(|| self.default_choice("note_publish"))
            .unwrap_or_else(|| ChoiceValue::from(1));
        let mut body = Map::new();
        body.insert("ticketID".into(), Value::from(numeric));
        if !comment.title.trim().is_empty() {
            body.insert("title".into(), Value::from(comment.title.as_str()));
        }
        body.insert("description".into(), Value::from(comment.body.as_str()));
        body.insert("noteType".into(), choice_wire(&note_type));
        body.insert("publish".into(), choice_wire(&publish));
        self.forget_prefetched(ticket).await;
        self.count_call();
        self.client
            .create_child("Tickets", numeric, "Notes", &Value::Object(body))
            .await
            .map(CommentId::from)
            .map_err(|error| to_platform_error(error, CallKind::Write))
    }

    async fn attachments(
        &self,
        ticket: &TicketId,
    ) -> Result<Vec<AttachmentSnapshot>, PlatformError> {
        {
            let mut pages = self.prefetch.lock().await;
            if let Some(page) = pages
                .iter_mut()
                .rev()
                .find(|page| page.attachment_tickets.contains(ticket))
            {
                if page.attachments.is_none() {
                    let tickets: Vec<TicketId> = page.attachment_tickets.iter().cloned().collect();
                    page.attachments = Some(self.attachments_for_tickets(&tickets).await?);
                }
                page.attachment_tickets.remove(ticket);
                if let Some(served) = page
                    .attachments
                    .as_mut()
                    .and_then(|batch| batch.remove(ticket))
                {
                    return Ok(served);
                }
            }
        }
        let mut by_ticket = self
            .attachments_for_tickets(std::slice::from_ref(ticket))
            .await?;
        Ok(by_ticket.remove(ticket).unwrap_or_default())
    }

    async fn attachment_data(
        &self,
        ticket: &TicketId,
        attachment: &AttachmentId,
    ) -> Result<Vec<u8>, PlatformError> {
        let ticket_id = numeric_id(ticket)?;
        let attachment_id = attachment.as_str().parse::<i64>().map_err(|_| {
            PlatformError::NotFound(format!("{attachment} is not an Autotask attachment id"))
        })?;
        self.count_call();
        let found: Option<TicketAttachment> = self
            .client
            .get_child("Tickets", ticket_id, "Attachments", attachment_id)
            .await
            .map_err(|error| to_platform_error(error, CallKind::Read))?;
        let data = found
            .ok_or_else(|| {
                PlatformError::NotFound(format!(
                    "attachment {attachment} of ticket {ticket} does not exist"
                ))
            })?
            .data
            .ok_or_else(|| {
                PlatformError::Malformed(format!(
                    "Autotask returned attachment {attachment} without its content"
                ))
            })?;
        base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|error| {
                PlatformError::Malformed(format!(
                    "attachment {attachment} content is not base64: {error}"
                ))
            })
    }

    async fn add_attachment(
        &self,
        ticket: &TicketId,
        attachment: &AttachmentDraft,
        data: Vec<u8>,
    ) -> Result<AttachmentId, PlatformError> {
        let numeric = numeric_id(ticket)?;
        let size = data.len() as u64;
        if size > MAX_ATTACHMENT_BYTES {
            return Err(PlatformError::Rejected(format!(
                "{} is {size} bytes; Autotask accepts at most {MAX_ATTACHMENT_BYTES} bytes per \
                 attachment through its API",
                attachment.name
            )));
        }
        self.reserve_attachment_bytes(&attachment.name, size)?;
        let publish = attachment
            .publish
            .clone()
            .or_else(|| self.default_choice("attachment_publish"))
            .unwrap_or_else(|| ChoiceValue::from(1));
        let mut body = Map::new();
        body.insert("attachmentType".into(), Value::from("FILE_ATTACHMENT"));
        body.insert("fullPath".into(), Value::from(attachment.name.as_str()));
        body.insert("title".into(), Value::from(attachment.name.as_str()));
        body.insert("publish".into(), choice_wire(&publish));
        if let Some(content_type) = &attachment.content_type {
            body.insert("contentType".into(), Value::from(content_type.as_str()));
        }
        body.insert(
            "data".into(),
            Value::from(base64::engine::general_purpose::STANDARD.encode(&data)),
        );
        self.forget_prefetched(ticket).await;
        self.count_call();
        self.client
            .create_child("Tickets", numeric, "Attachments", &Value::Object(body))
            .await
            .map(AttachmentId::from)
            .map_err(|error| to_platform_error(error, CallKind::Write))
    }

    async fn deleted_tickets(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<DeletedTicket>, PlatformError> {
        let include: Vec<String> = DELETED_TICKET_LOG_FIELDS
            .iter()
            .map(|f| (*f).to_owned())
            .collect();
        let rows: Vec<DeletedTicketLog> = self
            .query_rows(
                vec![Filter::gte("deletedDateTime", datetime::format(since))],
                &include,
            )
            .await?;
        let mut deleted: Vec<DeletedTicket> = rows
            .into_iter()
            .filter_map(|row| self.deleted_ticket(row))
            .collect();
        deleted.sort_by_key(|ticket| (ticket.deleted_at, numeric(ticket.id.as_str())));
        Ok(deleted)
    }

    fn field_rules(&self) -> FieldRules {
        self.field_rules.clone()
    }

    fn max_attachment_bytes(&self) -> u64 {
        MAX_ATTACHMENT_BYTES
    }

    fn calls_used(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

fn choice_wire(value: &ChoiceValue) -> Value {
    value
        .as_i64()
        .map_or_else(|| Value::from(value.as_str()), Value::from)
}
