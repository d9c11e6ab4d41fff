//! Distinct identifier types so that an organisation's id can never be passed where a person's id
//! is expected. One generic [`Id`] with a marker type per kind keeps them distinct without a macro.
//! Ids are UUID v7: sortable by creation time and not guessable from a neighbour.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;

use uuid::Uuid;

/// The kind of thing an [`Id`] names; implemented by zero-sized marker types.
pub trait IdKind {
    const NAME: &'static str;
}

/// Marker for organisations.
#[derive(Debug)]
pub enum OrgKind {}
impl IdKind for OrgKind {
    const NAME: &'static str = "OrgId";
}

/// Marker for people.
#[derive(Debug)]
pub enum PersonKind {}
impl IdKind for PersonKind {
    const NAME: &'static str = "PersonId";
}

/// Marker for relationships (organisation connections).
#[derive(Debug)]
pub enum RelationshipKind {}
impl IdKind for RelationshipKind {
    const NAME: &'static str = "RelationshipId";
}

/// Marker for field mappings.
#[derive(Debug)]
pub enum FieldMappingKind {}
impl IdKind for FieldMappingKind {
    const NAME: &'static str = "FieldMappingId";
}

/// An organisation (an account on this server).
/// An API token, as people list and revoke it (never the token itself).
#[derive(Debug)]
pub enum ApiTokenKind {}
impl IdKind for ApiTokenKind {
    const NAME: &'static str = "ApiTokenId";
}

pub type OrgId = Id<OrgKind>;
pub type ApiTokenId = Id<ApiTokenKind>;
/// A person who administers an organisation.
pub type PersonId = Id<PersonKind>;
/// A relationship between two organisations.
pub type RelationshipId = Id<RelationshipKind>;
/// One field mapping of a relationship.
pub type FieldMappingId = Id<FieldMappingKind>;

/// A typed UUID. `fn() -> K` keeps `Id` `Send + Sync + Copy` whatever the marker is.
pub struct Id<K: IdKind> {
    uuid: Uuid,
    kind: PhantomData<fn() -> K>,
}

impl<K: IdKind> Id<K> {
    /// A new, time-ordered identifier.
    pub fn new() -> Self {
        Self::from_uuid(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self {
            uuid,
            kind: PhantomData,
        }
    }

    pub fn as_uuid(&self) -> Uuid {
        self.uuid
    }
}

impl<K: IdKind> Default for Id<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: IdKind> Clone for Id<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: IdKind> Copy for Id<K> {}

impl<K: IdKind> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}
impl<K: IdKind> Eq for Id<K> {}

impl<K: IdKind> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: IdKind> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.uuid.cmp(&other.uuid)
    }
}

impl<K: IdKind> Hash for Id<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.uuid.hash(state)
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", K::NAME, self.uuid)
    }
}

impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.uuid, f)
    }
}

impl<K: IdKind> FromStr for Id<K> {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self::from_uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_their_kind_in_debug_and_parse_back_from_display() {
        let org = OrgId::new();
        assert!(format!("{org:?}").starts_with("OrgId("));
        assert_eq!(org.to_string().parse::<OrgId>().ok(), Some(org));
        assert!("not-a-uuid".parse::<PersonId>().is_err());
    }

    #[test]
    fn new_ids_sort_by_creation() {
        let first = OrgId::new();
        let second = OrgId::new();
        assert!(first < second);
    }
}
