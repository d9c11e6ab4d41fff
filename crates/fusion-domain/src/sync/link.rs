//! Ticket links: the pairing of a source ticket and a target ticket in one relationship, with what
//! was last synced. Once linked, a ticket is never created twice, and content the sync wrote is
//! recognised by its fingerprint instead of being echoed back.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::ids::RelationshipId;
use crate::relationship::Role;
use crate::sync::fingerprint::Fingerprint;
use crate::sync::ids::{AttachmentId, CommentId, TicketId};

/// One comment or attachment copied from one side to the other.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CopiedItem<Id> {
    /// The side the original lives on.
    pub from: Role,
    pub original: Id,
    /// The copy on the other side.
    pub copy: Id,
}

/// Source ticket ↔ target ticket for one relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketLink {
    pub relationship: RelationshipId,
    pub source: TicketId,
    pub target: TicketId,
    /// Display numbers, for history and the UI.
    pub source_number: String,
    pub target_number: String,
    /// The side the ticket was first raised on (Target for reverse sync).
    pub origin: Role,
    /// Per mapped source field (platform name): the fingerprint of its value as of the last sync —
    /// what was read when the link was made or what the sync last wrote or carried from it.
    pub source_fields: BTreeMap<String, Fingerprint>,
    /// The same for the target side's fields.
    pub target_fields: BTreeMap<String, Fingerprint>,
    /// Comments copied either way.
    pub comments: Vec<CopiedItem<CommentId>>,
    /// Attachments copied either way.
    pub attachments: Vec<CopiedItem<AttachmentId>>,
    /// The closure has been carried across; cleared when a closed side is seen open again.
    pub closed: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl TicketLink {
    pub fn ticket(&self, side: Role) -> &TicketId {
        match side {
            Role::Source => &self.source,
            Role::Target => &self.target,
        }
    }

    pub fn number(&self, side: Role) -> &str {
        match side {
            Role::Source => &self.source_number,
            Role::Target => &self.target_number,
        }
    }

    pub fn fields(&self, side: Role) -> &BTreeMap<String, Fingerprint> {
        match side {
            Role::Source => &self.source_fields,
            Role::Target => &self.target_fields,
        }
    }

    pub fn fields_mut(&mut self, side: Role) -> &mut BTreeMap<String, Fingerprint> {
        match side {
            Role::Source => &mut self.source_fields,
            Role::Target => &mut self.target_fields,
        }
    }

    /// Whether this comment is an original already copied, or a copy the sync made.
    pub fn knows_comment(&self, side: Role, comment: &CommentId) -> bool {
        self.comments.iter().any(|item| {
            (item.from == side && &item.original == comment)
                || (item.from != side && &item.copy == comment)
        })
    }

    /// Whether this attachment is an original already copied, or a copy the sync made.
    pub fn knows_attachment(&self, side: Role, attachment: &AttachmentId) -> bool {
        self.attachments.iter().any(|item| {
            (item.from == side && &item.original == attachment)
                || (item.from != side && &item.copy == attachment)
        })
    }
}
