//! Support Fusion's domain vocabulary: identifiers, organisations and the outcome of a platform
//! connection test. Plain data and pure logic only.
//!
//! This crate does no I/O (the one exception is `SystemClock`, which reads the time), is not async and knows nothing of HTTP, SQL or Autotask field names.
//! Serialization belongs to the edges (the web crate's DTOs, the store's rows), so nothing here
//! derives serde.

pub mod clock;
pub mod connection;
pub mod echo;
pub mod ids;
pub mod integration;
pub mod mapping;
pub mod organisation;
pub mod relationship;
pub mod sync;

pub use clock::{Clock, ManualClock, SystemClock};
pub use connection::{ApiUsage, ConnectionTestReport, TestFailureKind, TestOutcome};
pub use echo::{echo_for_message, has_hidden_controls};
pub use ids::{ApiTokenId, FieldMappingId, OrgId, PersonId, RelationshipId};
pub use integration::{
    Choice, ChoiceValue, ClosureSettings, ConfigWarning, IntegrationConfig, NoteDefaults,
    ReceiveDefaults, ReverseSync, ScopeError, SendFilter, SideConfig, SyncOptions, TimeArrival,
    TimeEntrySettings, TimeSendFilter,
};
pub use mapping::{
    ComposedField, DescriptionComposition, FieldMapping, MappingDirection, ValueMapping,
    suggest_value_mappings, unmapped_active_values,
};
pub use organisation::{Organisation, Person, PlatformKind};
pub use relationship::{
    AcceptCodeError, BySide, Relationship, RelationshipState, Role, StateChangeError,
    SyncReadiness, VERIFICATION_CODE_LIFETIME, VerificationCode,
};
