//! An in-memory platform (one tenant) implementing the `Platform` port with the same semantics the
//! Autotask adapter must have, plus fault injection and "as a person would" edits for tests.
//!
//! Semantics modelled (and relied on by the engine):
//! - Ids are increasing integers (as text), shared by tickets, comments and attachments; ticket
//!   numbers look like `T20261127.0001`.
//! - Every change to a ticket — fields, status, a new comment or attachment — sets its
//!   `last_activity_at` to the tenant's clock and `last_activity_by` to whoever made it (the API
//!   user for the sync's writes).
//! - `changed_tickets` returns tickets with `last_activity_at >= since` and id greater than
//!   `after`, ascending by id, at most `page_size`; `next` is the last id of a full page.
//! - `find_by_marker` matches the marker exactly; the lowest id wins.
//! - `create_ticket` stores the draft (mapped `fields` win over typed defaults; `status` and
//!   `priority` are also fields) and returns the new ticket; `update_ticket` writes only the named
//!   fields (`title`, `description` and `status` go to the typed members).
//! - Writes are atomic: a fault either happens before anything is applied or after the write was
//!   fully applied (then the response is lost).
//! - `tickets` reads any number of tickets in one call (the adapter: one per 500 ids).
//! - `create_ticket_unread` answers with the whole ticket, or (after `answer_creates_unread`)
//!   with its id only, as the Autotask adapter does.
//! - `calls_used` counts every call, failed ones included.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use fusion_domain::sync::{
    ActorId, AttachmentDraft, AttachmentId, AttachmentSnapshot, CommentDraft, CommentId,
    CommentSnapshot, DESCRIPTION, FieldChange, FieldValue, STATUS, TITLE, TicketDraft, TicketId,
    TicketMarker, TicketSnapshot,
};
use fusion_domain::{ChoiceValue, Clock, ManualClock};
use fusion_engine::{ChangedTicketsQuery, CreatedTicket, Platform, PlatformError, TicketPage};
use time::OffsetDateTime;
use tokio::sync::Notify;

/// The platform calls faults can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    OwnActor,
    ChangedTickets,
    Ticket,
    FindByMarker,
    CreateTicket,
    UpdateTicket,
    CloseTicket,
    Comments,
    AddComment,
    Attachments,
    AttachmentData,
    AddAttachment,
    /// Any of the writes (create, update, close, add comment, add attachment).
    AnyWrite,
}

impl Operation {
    fn writes(self) -> bool {
        matches!(
            self,
            Operation::CreateTicket
                | Operation::UpdateTicket
                | Operation::CloseTicket
                | Operation::AddComment
                | Operation::AddAttachment
        )
    }
}

/// Something that happens in the world while a call is made (e.g. time passes, another process
/// takes a lease).
pub type HookFn = Arc<dyn Fn() + Send + Sync>;

/// What goes wrong.
#[derive(Clone)]
pub enum Fault {
    /// Runs the hook, then the call proceeds normally.
    Hook(HookFn),
    /// Fails with this error before anything is applied.
    Before(PlatformError),
    /// The write is applied, then the response is lost (`OutcomeUnknown`).
    TimeoutAfterApply,
    /// The write is applied (reads: nothing), then the call never returns; [`FakePlatform::hung`]
    /// completes. Dropping the engine's future then models a crash at that point.
    HangAfterApply,
}

impl std::fmt::Debug for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Hook(_) => f.write_str("Hook"),
            Fault::Before(error) => write!(f, "Before({error:?})"),
            Fault::TimeoutAfterApply => f.write_str("TimeoutAfterApply"),
            Fault::HangAfterApply => f.write_str("HangAfterApply"),
        }
    }
}

#[derive(Debug, Clone)]
struct FaultRule {
    operation: Operation,
    fault: Fault,
    /// Calls of this operation to let through first.
    skip: u32,
    /// How many calls fail (then the rule is gone).
    times: u32,
}

#[derive(Debug, Clone)]
struct StoredAttachment {
    meta: AttachmentSnapshot,
    data: Vec<u8>,
}

#[derive(Debug, Clone)]
struct StoredTicket {
    ticket: TicketSnapshot,
    comments: Vec<CommentSnapshot>,
    attachments: Vec<StoredAttachment>,
}

#[derive(Debug)]
struct Tenant {
    next_id: u64,
    tickets: BTreeMap<u64, StoredTicket>,
    faults: Vec<FaultRule>,
}

/// One simulated tenant.
#[derive(Debug, Clone)]
pub struct FakePlatform {
    name: String,
    own_actor: ActorId,
    clock: Arc<ManualClock>,
    tenant: Arc<Mutex<Tenant>>,
    calls: Arc<AtomicU64>,
    hung: Arc<Notify>,
    max_attachment_bytes: u64,
    /// The company people here raise tickets for (the partner's company in this tenant).
    company: i64,
    /// Answer creates with the id only, as Autotask's `POST Tickets` does (the engine then reads
    /// the copies back together).
    creates_unread: Arc<std::sync::atomic::AtomicBool>,
}

fn number_of(id: u64) -> String {
    format!("T20261127.{id:04}")
}

fn parse_id(id: &TicketId) -> Result<u64, PlatformError> {
    id.as_str()
        .parse()
        .map_err(|_| PlatformError::NotFound(format!("ticket {id}")))
}

impl FakePlatform {
    /// A tenant whose ids start at `first_id` (use different ranges per side so ids never
    /// coincide by accident in assertions).
    pub fn new(name: &str, own_actor: &str, clock: Arc<ManualClock>, first_id: u64) -> Self {
        Self {
            name: name.to_owned(),
            own_actor: ActorId::new(own_actor),
            clock,
            tenant: Arc::new(Mutex::new(Tenant {
                next_id: first_id,
                tickets: BTreeMap::new(),
                faults: Vec::new(),
            })),
            calls: Arc::new(AtomicU64::new(0)),
            hung: Arc::new(Notify::new()),
            max_attachment_bytes: 7_000_000,
            company: 100,
            creates_unread: Arc::default(),
        }
    }

    /// From now on creates answer with the new ticket's id only (see
    /// `Platform::create_ticket_unread`).
    pub fn answer_creates_unread(&self) {
        self.creates_unread.store(true, Ordering::SeqCst);
    }

    fn lock(&self) -> MutexGuard<'_, Tenant> {
        self.tenant
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ---------- fault injection ----------

    /// The next `times` calls of `operation` (after letting `skip` through) fail with `fault`.
    pub fn inject(&self, operation: Operation, fault: Fault, skip: u32, times: u32) {
        self.lock().faults.push(FaultRule {
            operation,
            fault,
            skip,
            times,
        });
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Completes when a call hit a `HangAfterApply` fault.
    pub async fn hung(&self) {
        self.hung.notified().await
    }

    fn fault_for(&self, operation: Operation) -> Option<Fault> {
        let mut tenant = self.lock();
        let index = tenant.faults.iter().position(|rule| {
            rule.operation == operation
                || (rule.operation == Operation::AnyWrite && operation.writes())
        })?;
        let rule = &mut tenant.faults[index];
        if rule.skip > 0 {
            rule.skip -= 1;
            return None;
        }
        let fault = rule.fault.clone();
        rule.times -= 1;
        if rule.times == 0 {
            tenant.faults.remove(index);
        }
        Some(fault)
    }

    /// Counts the call and runs `body` under the fault rules.
    async fn call<T>(
        &self,
        operation: Operation,
        body: impl FnOnce(&mut Tenant, OffsetDateTime) -> Result<T, PlatformError>,
    ) -> Result<T, PlatformError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let fault = self.fault_for(operation);
        if let Some(Fault::Before(error)) = fault {
            return Err(error);
        }
        if let Some(Fault::Hook(hook)) = &fault {
            hook();
        }
        let now = self.clock.now();
        let result = body(&mut self.lock(), now);
        match fault {
            Some(Fault::TimeoutAfterApply) if operation.writes() => Err(
                PlatformError::OutcomeUnknown("timed out waiting for the response".into()),
            ),
            Some(Fault::TimeoutAfterApply) => Err(PlatformError::Unavailable("timed out".into())),
            Some(Fault::HangAfterApply) => {
                self.hung.notify_one();
                std::future::pending::<()>().await;
                unreachable!("a pending future never completes")
            }
            _ => result,
        }
    }

    // ---------- a person using the tenant ----------

    fn touch(ticket: &mut TicketSnapshot, now: OffsetDateTime, actor: &ActorId) {
        ticket.last_activity_at = now;
        ticket.last_activity_by = Some(actor.clone());
    }

    /// People here raise tickets for `company` (100 unless set).
    /// The largest attachment this platform takes.
    pub fn with_max_attachment_bytes(mut self, bytes: u64) -> Self {
        self.max_attachment_bytes = bytes;
        self
    }

    pub fn with_company(mut self, company: i64) -> Self {
        self.company = company;
        self
    }

    /// A person raises a ticket (queue 10, the tenant's company, status 1, priority 2).
    pub fn person_creates_ticket(&self, title: &str, description: &str) -> TicketId {
        let now = self.clock.now();
        let person = ActorId::new("person");
        let mut tenant = self.lock();
        let id = tenant.next_id;
        tenant.next_id += 1;
        let ticket = TicketSnapshot {
            id: TicketId::from(id as i64),
            number: number_of(id),
            title: title.to_owned(),
            description: description.to_owned(),
            status: Some(ChoiceValue::from(1)),
            queue: Some(ChoiceValue::from(10)),
            company: Some(ChoiceValue::from(self.company)),
            category: None,
            fields: BTreeMap::from([(
                "priority".to_owned(),
                FieldValue::Choice(ChoiceValue::from(2)),
            )]),
            labels: BTreeMap::new(),
            marker: None,
            created_at: now,
            created_by: Some(person.clone()),
            last_activity_at: now,
            last_activity_by: Some(person),
        };
        tenant.tickets.insert(
            id,
            StoredTicket {
                ticket,
                comments: Vec::new(),
                attachments: Vec::new(),
            },
        );
        TicketId::from(id as i64)
    }

    /// A person raises a ticket for another company of the tenant.
    pub fn person_creates_ticket_for(&self, company: i64, title: &str) -> TicketId {
        let id = self.person_creates_ticket(title, "");
        self.person_edit(&id, |ticket| {
            ticket.company = Some(ChoiceValue::from(company));
        });
        id
    }

    fn person_edit(&self, id: &TicketId, edit: impl FnOnce(&mut TicketSnapshot)) {
        let now = self.clock.now();
        let mut tenant = self.lock();
        let key = parse_id(id).expect("numeric id");
        let stored = tenant.tickets.get_mut(&key).expect("ticket exists");
        edit(&mut stored.ticket);
        Self::touch(&mut stored.ticket, now, &ActorId::new("person"));
    }

    pub fn person_sets_title(&self, id: &TicketId, title: &str) {
        self.person_edit(id, |ticket| ticket.title = title.to_owned());
    }

    pub fn person_sets_field(&self, id: &TicketId, field: &str, value: FieldValue) {
        self.person_edit(id, |ticket| {
            ticket.fields.insert(field.to_owned(), value);
        });
    }

    pub fn person_sets_status(&self, id: &TicketId, status: i64) {
        self.person_edit(id, |ticket| ticket.status = Some(ChoiceValue::from(status)));
    }

    pub fn person_comments(&self, id: &TicketId, publish: i64, body: &str) -> CommentId {
        let now = self.clock.now();
        let person = ActorId::new("person");
        let mut tenant = self.lock();
        let comment_id = tenant.next_id;
        tenant.next_id += 1;
        let key = parse_id(id).expect("numeric id");
        let stored = tenant.tickets.get_mut(&key).expect("ticket exists");
        stored.comments.push(CommentSnapshot {
            id: CommentId::from(comment_id as i64),
            ticket: id.clone(),
            publish: Some(ChoiceValue::from(publish)),
            note_type: Some(ChoiceValue::from(1)),
            author: Some(person.clone()),
            author_name: "Jane Doe".into(),
            created_at: now,
            title: "Note".into(),
            body: body.to_owned(),
        });
        Self::touch(&mut stored.ticket, now, &person);
        CommentId::from(comment_id as i64)
    }

    pub fn person_attaches(&self, id: &TicketId, name: &str, data: Vec<u8>) -> AttachmentId {
        let now = self.clock.now();
        let person = ActorId::new("person");
        let mut tenant = self.lock();
        let attachment_id = tenant.next_id;
        tenant.next_id += 1;
        let key = parse_id(id).expect("numeric id");
        let stored = tenant.tickets.get_mut(&key).expect("ticket exists");
        stored.attachments.push(StoredAttachment {
            meta: AttachmentSnapshot {
                id: AttachmentId::from(attachment_id as i64),
                ticket: id.clone(),
                name: name.to_owned(),
                size_bytes: data.len() as u64,
                content_type: None,
                publish: Some(ChoiceValue::from(1)),
                author: Some(person.clone()),
                created_at: now,
            },
            data,
        });
        Self::touch(&mut stored.ticket, now, &person);
        AttachmentId::from(attachment_id as i64)
    }

    // ---------- inspection ----------

    pub fn tickets(&self) -> Vec<TicketSnapshot> {
        self.lock()
            .tickets
            .values()
            .map(|stored| stored.ticket.clone())
            .collect()
    }

    pub fn ticket_now(&self, id: &TicketId) -> TicketSnapshot {
        let key = parse_id(id).expect("numeric id");
        self.lock().tickets[&key].ticket.clone()
    }

    pub fn comments_of(&self, id: &TicketId) -> Vec<CommentSnapshot> {
        let key = parse_id(id).expect("numeric id");
        self.lock().tickets[&key].comments.clone()
    }

    pub fn attachments_of(&self, id: &TicketId) -> Vec<(AttachmentSnapshot, Vec<u8>)> {
        let key = parse_id(id).expect("numeric id");
        self.lock().tickets[&key]
            .attachments
            .iter()
            .map(|stored| (stored.meta.clone(), stored.data.clone()))
            .collect()
    }

    /// Tickets carrying a marker (copies the sync made).
    pub fn copies(&self) -> Vec<TicketSnapshot> {
        self.tickets()
            .into_iter()
            .filter(|ticket| ticket.marker.is_some())
            .collect()
    }
}

fn stored<'a>(
    tenant: &'a mut Tenant,
    id: &TicketId,
) -> Result<&'a mut StoredTicket, PlatformError> {
    let key = parse_id(id)?;
    tenant
        .tickets
        .get_mut(&key)
        .ok_or_else(|| PlatformError::NotFound(format!("ticket {id}")))
}

fn apply_field(ticket: &mut TicketSnapshot, field: &str, value: &FieldValue) {
    match field {
        TITLE => ticket.title = value.to_string(),
        DESCRIPTION => ticket.description = value.to_string(),
        STATUS => ticket.status = value.as_choice().cloned(),
        _ => {
            ticket.fields.insert(field.to_owned(), value.clone());
        }
    }
}

#[async_trait]
impl Platform for FakePlatform {
    fn database_key(&self) -> String {
        format!("fake:{}", self.name)
    }

    fn budget_key(&self) -> String {
        format!("fake:{}", self.name)
    }

    async fn own_actor(&self) -> Result<ActorId, PlatformError> {
        let actor = self.own_actor.clone();
        self.call(Operation::OwnActor, |_, _| Ok(actor)).await
    }

    async fn changed_tickets(
        &self,
        query: &ChangedTicketsQuery,
    ) -> Result<TicketPage, PlatformError> {
        let after = match &query.after {
            Some(id) => parse_id(id)?,
            None => 0,
        };
        let query = query.clone();
        self.call(Operation::ChangedTickets, move |tenant, _| {
            let tickets: Vec<TicketSnapshot> = tenant
                .tickets
                .range(after + 1..)
                .filter(|(_, stored)| stored.ticket.last_activity_at >= query.since)
                .take(query.page_size as usize)
                .map(|(_, stored)| stored.ticket.clone())
                .collect();
            let next = (tickets.len() == query.page_size as usize)
                .then(|| tickets.last().map(|ticket| ticket.id.clone()))
                .flatten();
            Ok(TicketPage {
                tickets,
                next,
                read_through: None,
            })
        })
        .await
    }

    async fn ticket(&self, id: &TicketId) -> Result<Option<TicketSnapshot>, PlatformError> {
        self.call(Operation::Ticket, |tenant, _| {
            Ok(parse_id(id)
                .ok()
                .and_then(|key| tenant.tickets.get(&key))
                .map(|stored| stored.ticket.clone()))
        })
        .await
    }

    async fn ticket_by_number(
        &self,
        number: &str,
    ) -> Result<Option<TicketSnapshot>, PlatformError> {
        self.call(Operation::Ticket, |tenant, _| {
            Ok(tenant
                .tickets
                .values()
                .find(|stored| stored.ticket.number == number)
                .map(|stored| stored.ticket.clone()))
        })
        .await
    }

    /// One call for any number of ids (the adapter needs one per 500).
    async fn tickets(&self, ids: &[TicketId]) -> Result<Vec<TicketSnapshot>, PlatformError> {
        self.call(Operation::Ticket, |tenant, _| {
            Ok(ids
                .iter()
                .filter_map(|id| parse_id(id).ok())
                .filter_map(|key| tenant.tickets.get(&key))
                .map(|stored| stored.ticket.clone())
                .collect())
        })
        .await
    }

    async fn find_by_marker(
        &self,
        marker: &TicketMarker,
    ) -> Result<Option<TicketSnapshot>, PlatformError> {
        self.call(Operation::FindByMarker, |tenant, _| {
            Ok(tenant
                .tickets
                .values()
                .find(|stored| stored.ticket.marker.as_deref() == Some(marker.as_str()))
                .map(|stored| stored.ticket.clone()))
        })
        .await
    }

    async fn create_ticket(&self, draft: &TicketDraft) -> Result<TicketSnapshot, PlatformError> {
        let actor = self.own_actor.clone();
        self.call(Operation::CreateTicket, |tenant, now| {
            let id = tenant.next_id;
            tenant.next_id += 1;
            let mut fields = BTreeMap::new();
            if let Some(priority) = &draft.priority {
                fields.insert("priority".to_owned(), FieldValue::Choice(priority.clone()));
            }
            let mut ticket = TicketSnapshot {
                id: TicketId::from(id as i64),
                number: number_of(id),
                title: draft.title.clone(),
                description: draft.description.clone(),
                status: draft.status.clone(),
                queue: draft.queue.clone(),
                company: draft.company.clone(),
                category: draft.category.clone(),
                fields,
                labels: BTreeMap::new(),
                marker: Some(draft.marker.to_string()),
                created_at: now,
                created_by: Some(actor.clone()),
                last_activity_at: now,
                last_activity_by: Some(actor.clone()),
            };
            for (field, value) in &draft.fields {
                apply_field(&mut ticket, field, value);
            }
            tenant.tickets.insert(
                id,
                StoredTicket {
                    ticket: ticket.clone(),
                    comments: Vec::new(),
                    attachments: Vec::new(),
                },
            );
            Ok(ticket)
        })
        .await
    }

    async fn create_ticket_unread(
        &self,
        draft: &TicketDraft,
    ) -> Result<CreatedTicket, PlatformError> {
        let created = self.create_ticket(draft).await?;
        Ok(if self.creates_unread.load(Ordering::SeqCst) {
            CreatedTicket::Unread(created.id)
        } else {
            CreatedTicket::Read(Box::new(created))
        })
    }

    async fn update_ticket(
        &self,
        id: &TicketId,
        changes: &[FieldChange],
    ) -> Result<(), PlatformError> {
        let actor = self.own_actor.clone();
        self.call(Operation::UpdateTicket, |tenant, now| {
            let stored = stored(tenant, id)?;
            for change in changes {
                apply_field(&mut stored.ticket, &change.field, &change.value);
            }
            Self::touch(&mut stored.ticket, now, &actor);
            Ok(())
        })
        .await
    }

    async fn close_ticket(&self, id: &TicketId, status: &ChoiceValue) -> Result<(), PlatformError> {
        let actor = self.own_actor.clone();
        self.call(Operation::CloseTicket, |tenant, now| {
            let stored = stored(tenant, id)?;
            stored.ticket.status = Some(status.clone());
            Self::touch(&mut stored.ticket, now, &actor);
            Ok(())
        })
        .await
    }

    async fn comments(
        &self,
        ticket: &TicketId,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<CommentSnapshot>, PlatformError> {
        self.call(Operation::Comments, |tenant, _| {
            Ok(stored(tenant, ticket)?
                .comments
                .iter()
                .filter(|comment| since.is_none_or(|since| comment.created_at >= since))
                .cloned()
                .collect())
        })
        .await
    }

    async fn add_comment(
        &self,
        ticket: &TicketId,
        comment: &CommentDraft,
    ) -> Result<CommentId, PlatformError> {
        let actor = self.own_actor.clone();
        self.call(Operation::AddComment, |tenant, now| {
            let id = tenant.next_id;
            tenant.next_id += 1;
            let stored = stored(tenant, ticket)?;
            stored.comments.push(CommentSnapshot {
                id: CommentId::from(id as i64),
                ticket: ticket.clone(),
                publish: comment.publish.clone(),
                note_type: comment.note_type.clone(),
                author: Some(actor.clone()),
                author_name: "Support Fusion".into(),
                created_at: now,
                title: comment.title.clone(),
                body: comment.body.clone(),
            });
            Self::touch(&mut stored.ticket, now, &actor);
            Ok(CommentId::from(id as i64))
        })
        .await
    }

    async fn attachments(
        &self,
        ticket: &TicketId,
    ) -> Result<Vec<AttachmentSnapshot>, PlatformError> {
        self.call(Operation::Attachments, |tenant, _| {
            Ok(stored(tenant, ticket)?
                .attachments
                .iter()
                .map(|stored| stored.meta.clone())
                .collect())
        })
        .await
    }

    async fn attachment_data(
        &self,
        ticket: &TicketId,
        attachment: &AttachmentId,
    ) -> Result<Vec<u8>, PlatformError> {
        self.call(Operation::AttachmentData, |tenant, _| {
            stored(tenant, ticket)?
                .attachments
                .iter()
                .find(|stored| &stored.meta.id == attachment)
                .map(|stored| stored.data.clone())
                .ok_or_else(|| PlatformError::NotFound(format!("attachment {attachment}")))
        })
        .await
    }

    async fn add_attachment(
        &self,
        ticket: &TicketId,
        attachment: &AttachmentDraft,
        data: Vec<u8>,
    ) -> Result<AttachmentId, PlatformError> {
        let actor = self.own_actor.clone();
        let limit = self.max_attachment_bytes;
        self.call(Operation::AddAttachment, |tenant, now| {
            if data.len() as u64 > limit {
                return Err(PlatformError::Rejected("the file is too large".into()));
            }
            let id = tenant.next_id;
            tenant.next_id += 1;
            let stored = stored(tenant, ticket)?;
            stored.attachments.push(StoredAttachment {
                meta: AttachmentSnapshot {
                    id: AttachmentId::from(id as i64),
                    ticket: ticket.clone(),
                    name: attachment.name.clone(),
                    size_bytes: data.len() as u64,
                    content_type: attachment.content_type.clone(),
                    publish: attachment.publish.clone(),
                    author: Some(actor.clone()),
                    created_at: now,
                },
                data,
            });
            Self::touch(&mut stored.ticket, now, &actor);
            Ok(AttachmentId::from(id as i64))
        })
        .await
    }

    fn max_attachment_bytes(&self) -> u64 {
        self.max_attachment_bytes
    }

    fn calls_used(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}
