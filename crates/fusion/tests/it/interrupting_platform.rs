//! One platform for the crash-safety tests: it forwards every call to the real one (so no call
//! silently falls back to a trait default) and interrupts one kind of write — running a hook just
//! before it (e.g. telling the simulator to time out the next request) and/or answering the write
//! that landed with an error, as if the process died right after it.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use fusion_domain::ChoiceValue;
use fusion_domain::sync::{
    ActorId, AttachmentDraft, AttachmentId, AttachmentSnapshot, CommentDraft, CommentId,
    CommentSnapshot, DeletedTicket, FieldChange, FieldRules, TicketDraft, TicketId, TicketMarker,
    TicketSnapshot, TimeEntryDraft, TimeEntryId, TimeEntrySnapshot,
};
use fusion_engine::{ChangedTicketsQuery, CreatedTicket, Platform, PlatformError, TicketPage};
use time::OffsetDateTime;

/// The write a test interrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Write {
    CreateTicket,
    UpdateTicket,
    AddComment,
    CreateTimeEntry,
}

/// `inner` with one kind of write interrupted.
pub(crate) struct Interrupting {
    pub(crate) inner: Arc<dyn Platform>,
    pub(crate) write: Write,
    /// Runs just before each such write.
    pub(crate) before: Option<Box<dyn Fn() + Send + Sync>>,
    /// When set, the write goes through and is then answered with this as an error (the run
    /// stops as if the process died right after it).
    pub(crate) stop_after: Option<&'static str>,
}

impl std::fmt::Debug for Interrupting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupting")
            .field("write", &self.write)
            .field("stop_after", &self.stop_after)
            .finish_non_exhaustive()
    }
}

impl Interrupting {
    /// Interrupts `write`: the write lands, then the run stops with `reason`.
    pub(crate) fn stop_after(inner: Arc<dyn Platform>, write: Write, reason: &'static str) -> Self {
        Self {
            inner,
            write,
            before: None,
            stop_after: Some(reason),
        }
    }

    /// Runs `before` just before each `write`.
    pub(crate) fn before(
        inner: Arc<dyn Platform>,
        write: Write,
        before: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            write,
            before: Some(Box::new(before)),
            stop_after: None,
        }
    }

    fn about_to(&self, write: Write) {
        if write == self.write
            && let Some(before) = &self.before
        {
            before();
        }
    }

    fn landed<T>(
        &self,
        write: Write,
        result: Result<T, PlatformError>,
    ) -> Result<T, PlatformError> {
        let value = result?;
        match self.stop_after {
            Some(reason) if write == self.write => {
                Err(PlatformError::Authentication(reason.to_owned()))
            }
            _ => Ok(value),
        }
    }
}

#[async_trait]
impl Platform for Interrupting {
    fn database_key(&self) -> String {
        self.inner.database_key()
    }
    fn budget_key(&self) -> String {
        self.inner.budget_key()
    }
    async fn own_actor(&self) -> Result<ActorId, PlatformError> {
        self.inner.own_actor().await
    }
    async fn changed_tickets(
        &self,
        query: &ChangedTicketsQuery,
    ) -> Result<TicketPage, PlatformError> {
        self.inner.changed_tickets(query).await
    }
    async fn ticket_by_number(
        &self,
        number: &str,
    ) -> Result<Option<TicketSnapshot>, PlatformError> {
        self.inner.ticket_by_number(number).await
    }
    async fn ticket(&self, id: &TicketId) -> Result<Option<TicketSnapshot>, PlatformError> {
        self.inner.ticket(id).await
    }
    async fn tickets(&self, ids: &[TicketId]) -> Result<Vec<TicketSnapshot>, PlatformError> {
        self.inner.tickets(ids).await
    }
    async fn find_by_marker(
        &self,
        marker: &TicketMarker,
    ) -> Result<Option<TicketSnapshot>, PlatformError> {
        self.inner.find_by_marker(marker).await
    }
    async fn create_ticket(&self, draft: &TicketDraft) -> Result<TicketSnapshot, PlatformError> {
        self.about_to(Write::CreateTicket);
        let result = self.inner.create_ticket(draft).await;
        self.landed(Write::CreateTicket, result)
    }
    async fn create_ticket_unread(
        &self,
        draft: &TicketDraft,
    ) -> Result<CreatedTicket, PlatformError> {
        self.about_to(Write::CreateTicket);
        let result = self.inner.create_ticket_unread(draft).await;
        self.landed(Write::CreateTicket, result)
    }
    async fn update_ticket(
        &self,
        id: &TicketId,
        changes: &[FieldChange],
    ) -> Result<(), PlatformError> {
        self.about_to(Write::UpdateTicket);
        let result = self.inner.update_ticket(id, changes).await;
        self.landed(Write::UpdateTicket, result)
    }
    async fn close_ticket(&self, id: &TicketId, status: &ChoiceValue) -> Result<(), PlatformError> {
        self.inner.close_ticket(id, status).await
    }
    async fn comments(
        &self,
        ticket: &TicketId,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<CommentSnapshot>, PlatformError> {
        self.inner.comments(ticket, since).await
    }
    async fn add_comment(
        &self,
        ticket: &TicketId,
        comment: &CommentDraft,
    ) -> Result<CommentId, PlatformError> {
        self.about_to(Write::AddComment);
        let result = self.inner.add_comment(ticket, comment).await;
        self.landed(Write::AddComment, result)
    }
    async fn attachments(
        &self,
        ticket: &TicketId,
    ) -> Result<Vec<AttachmentSnapshot>, PlatformError> {
        self.inner.attachments(ticket).await
    }
    async fn comments_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<CommentSnapshot>>, PlatformError> {
        self.inner.comments_of_tickets(tickets).await
    }
    async fn attachments_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<AttachmentSnapshot>>, PlatformError> {
        self.inner.attachments_of_tickets(tickets).await
    }
    async fn time_entries_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<TimeEntrySnapshot>>, PlatformError> {
        self.inner.time_entries_of_tickets(tickets).await
    }
    async fn create_time_entry(
        &self,
        ticket: &TicketId,
        draft: &TimeEntryDraft,
    ) -> Result<TimeEntryId, PlatformError> {
        self.about_to(Write::CreateTimeEntry);
        let result = self.inner.create_time_entry(ticket, draft).await;
        self.landed(Write::CreateTimeEntry, result)
    }
    async fn update_time_entry(
        &self,
        entry: &TimeEntryId,
        draft: &TimeEntryDraft,
    ) -> Result<(), PlatformError> {
        self.inner.update_time_entry(entry, draft).await
    }
    async fn delete_time_entry(&self, entry: &TimeEntryId) -> Result<(), PlatformError> {
        self.inner.delete_time_entry(entry).await
    }
    async fn attachment_data(
        &self,
        ticket: &TicketId,
        attachment: &AttachmentId,
    ) -> Result<Vec<u8>, PlatformError> {
        self.inner.attachment_data(ticket, attachment).await
    }
    async fn add_attachment(
        &self,
        ticket: &TicketId,
        attachment: &AttachmentDraft,
        data: Vec<u8>,
    ) -> Result<AttachmentId, PlatformError> {
        self.inner.add_attachment(ticket, attachment, data).await
    }
    async fn deleted_tickets(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<DeletedTicket>, PlatformError> {
        self.inner.deleted_tickets(since).await
    }
    fn field_rules(&self) -> FieldRules {
        self.inner.field_rules()
    }
    fn max_attachment_bytes(&self) -> u64 {
        self.inner.max_attachment_bytes()
    }
    fn calls_used(&self) -> u64 {
        self.inner.calls_used()
    }
}
