//! Support Fusion's domain vocabulary: identifiers, organisations and the outcome of a platform
//! connection test. Plain data and pure logic only.
//!
//! This crate does no I/O, is not async and knows nothing of HTTP, SQL or Autotask field names.
//! Serialization belongs to the edges (the web crate's DTOs, the store's rows), so nothing here
//! derives serde.

pub mod connection;
pub mod ids;
pub mod organisation;

pub use connection::{ApiUsage, ConnectionTestReport, TestFailureKind, TestOutcome};
pub use ids::{OrgId, PersonId};
pub use organisation::{Organisation, Person, PlatformKind};
