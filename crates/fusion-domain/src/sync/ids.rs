//! Platform identifiers as text newtypes (tickets, comments, attachments, time entries, actors) and the
//! idempotency marker written on every ticket the sync creates.
//!
//! Platform ids are opaque here: Autotask's integers are written in decimal, other platforms may
//! use any text. Nothing in the domain orders or parses them.

use std::fmt;

use uuid::Uuid;

use crate::ids::RelationshipId;
use crate::relationship::Role;

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Wraps a platform id; surrounding whitespace is removed.
            pub fn new(id: impl Into<String>) -> Self {
                let id = id.into();
                let trimmed = id.trim();
                if trimmed.len() == id.len() {
                    Self(id)
                } else {
                    Self(trimmed.to_owned())
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self::new(id)
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id.to_string())
            }
        }
    };
}

text_id!(
    /// A ticket's platform id (Autotask `Tickets.id`), not its display number.
    TicketId
);
text_id!(
    /// A comment's platform id (Autotask `TicketNotes.id`).
    CommentId
);
text_id!(
    /// An attachment's platform id (Autotask `TicketAttachments.id`).
    AttachmentId
);
text_id!(
    /// A time entry's platform id (Autotask `TimeEntries.id`).
    TimeEntryId
);
text_id!(
    /// Who did something on a platform: a person, a contact or an API user. Adapters must give
    /// different kinds of actor distinct ids (Autotask: resources as `"29682885"`, contacts as
    /// `"contact:123"`), because loop prevention compares them with the sync's own actor.
    ActorId
);

/// The idempotency marker written on every ticket the sync creates (Autotask `externalID`).
/// It names the relationship, the side the ticket came from and the original ticket, so a copy can
/// be found again after an ambiguous failure or a crash, and is never created twice.
///
/// Form: `sf:` + the relationship's UUID as 32 hex digits + `S`/`T` (origin side) + the origin
/// ticket id, e.g. `sf:0192f3c4a1b27c3d8e9f0a1b2c3d4e5fS4711`: 46 characters for a 10-digit id,
/// within Autotask's 50-character `externalID`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketMarker(String);

/// What a marker says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerParts {
    pub relationship: RelationshipId,
    /// The side the original ticket lives on.
    pub origin: Role,
    pub origin_ticket: TicketId,
}

impl TicketMarker {
    const PREFIX: &'static str = "sf:";

    /// The marker for the copy of `origin_ticket` (on side `origin`) in `relationship`.
    pub fn for_copy_of(
        relationship: RelationshipId,
        origin: Role,
        origin_ticket: &TicketId,
    ) -> Self {
        let side = match origin {
            Role::Source => 'S',
            Role::Target => 'T',
        };
        Self(format!(
            "{}{}{}{}",
            Self::PREFIX,
            relationship.as_uuid().simple(),
            side,
            origin_ticket.as_str()
        ))
    }

    /// Reads a marker found on a ticket; `None` for anything the sync did not write.
    pub fn parse(text: &str) -> Option<MarkerParts> {
        let rest = text.trim().strip_prefix(Self::PREFIX)?;
        let uuid = rest.get(..32)?;
        let side = rest.get(32..33)?;
        let ticket = rest.get(33..)?;
        if ticket.is_empty() {
            return None;
        }
        let relationship = RelationshipId::from_uuid(Uuid::try_parse(uuid).ok()?);
        let origin = match side {
            "S" => Role::Source,
            "T" => Role::Target,
            _ => return None,
        };
        Some(MarkerParts {
            relationship,
            origin,
            origin_ticket: TicketId::new(ticket),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TicketMarker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The marker written on every time entry the sync copies (Autotask: in the copy's internal
/// notes, which the customer never sees and the sync never sends): it names the relationship, the
/// side the original was logged on and the original entry, so a copy made before a crash is found
/// again instead of written twice, and a copy is never sent back.
///
/// Form: `sf-time:` + the relationship's UUID as 32 hex digits + `S`/`T` + the original entry id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeEntryMarker(String);

impl TimeEntryMarker {
    const PREFIX: &'static str = "sf-time:";

    /// The marker for the copy of `original` (logged on side `origin`) in `relationship`.
    pub fn for_copy_of(relationship: RelationshipId, origin: Role, original: &TimeEntryId) -> Self {
        let side = match origin {
            Role::Source => 'S',
            Role::Target => 'T',
        };
        Self(format!(
            "{}{}{}{}",
            Self::PREFIX,
            relationship.as_uuid().simple(),
            side,
            original.as_str()
        ))
    }

    /// The first marker in `text` (e.g. a time entry's internal notes), whoever wrote the rest.
    pub fn find_in(text: &str) -> Option<TimeEntryMarker> {
        let start = text.find(Self::PREFIX)?;
        let token: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '-')
            .collect();
        Self::parse(&token).map(|_| TimeEntryMarker(token))
    }

    /// What a marker says: the relationship, the side of the original and its id.
    pub fn parse(text: &str) -> Option<(RelationshipId, Role, TimeEntryId)> {
        let rest = text.trim().strip_prefix(Self::PREFIX)?;
        let uuid = rest.get(..32)?;
        let side = rest.get(32..33)?;
        let entry = rest.get(33..)?;
        if entry.is_empty() {
            return None;
        }
        let relationship = RelationshipId::from_uuid(Uuid::try_parse(uuid).ok()?);
        let origin = match side {
            "S" => Role::Source,
            "T" => Role::Target,
            _ => return None,
        };
        Some((relationship, origin, TimeEntryId::new(entry)))
    }

    /// A marker as read back from a platform (already checked with [`TimeEntryMarker::find_in`]).
    pub fn from_found(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TimeEntryMarker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_names_relationship_side_and_ticket_and_fits_autotask_external_id() {
        let relationship = RelationshipId::new();
        let marker =
            TicketMarker::for_copy_of(relationship, Role::Target, &TicketId::new("1234567890"));
        assert!(marker.as_str().len() <= 50, "{}", marker.as_str().len());
        let parts = TicketMarker::parse(marker.as_str()).expect("our own marker parses");
        assert_eq!(parts.relationship, relationship);
        assert_eq!(parts.origin, Role::Target);
        assert_eq!(parts.origin_ticket, TicketId::new("1234567890"));
    }

    #[test]
    fn a_time_entry_marker_is_found_inside_other_text_and_names_its_original() {
        let relationship = RelationshipId::new();
        let marker =
            TimeEntryMarker::for_copy_of(relationship, Role::Source, &TimeEntryId::new("4711"));
        let text = format!("Logged by Jane Doe at Northwind IT.\n{marker}\nmore");
        let found = TimeEntryMarker::find_in(&text).expect("found");
        assert_eq!(found, marker);
        let (found_relationship, side, original) =
            TimeEntryMarker::parse(found.as_str()).expect("parses");
        assert_eq!(found_relationship, relationship);
        assert_eq!(side, Role::Source);
        assert_eq!(original, TimeEntryId::new("4711"));
        assert_eq!(TimeEntryMarker::find_in("sf-time: nothing here"), None);
        assert_eq!(
            TimeEntryMarker::find_in(marker.as_str().replace("sf-time:", "sf:").as_str()),
            None
        );
    }

    #[test]
    fn text_someone_else_wrote_is_not_a_marker() {
        for text in [
            "",
            "sf:",
            "T20261127.0001",
            "sf:nothex",
            "sf:0192f3c4a1b27c3d8e9f0a1b2c3d4e5fX1",
        ] {
            assert_eq!(TicketMarker::parse(text), None, "{text}");
        }
    }
}
