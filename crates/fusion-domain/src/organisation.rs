//! Organisations, the people who administer them, and the platform an organisation works in.

use std::fmt;

use time::OffsetDateTime;

use crate::ids::{OrgId, PersonId};

/// The PSA an organisation uses. Only Autotask exists today; others come later behind the same
/// `Platform` port, which is why this is an enum and not a boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlatformKind {
    Autotask,
}

impl PlatformKind {
    /// The stable machine name used in storage, URLs and the JSON API.
    pub fn as_str(&self) -> &'static str {
        match self {
            PlatformKind::Autotask => "autotask",
        }
    }

    /// The name people read.
    pub fn display_name(&self) -> &'static str {
        match self {
            PlatformKind::Autotask => "Autotask",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "autotask" => Some(PlatformKind::Autotask),
            _ => None,
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// An account on this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    /// `None` until someone chooses a platform in Settings.
    pub platform: Option<PlatformKind>,
    pub created_at: OffsetDateTime,
}

/// A person who can sign in and administer exactly one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: PersonId,
    pub org_id: OrgId,
    /// Sign-in name; stored lower-cased so sign-in is case-insensitive.
    pub email: String,
    pub display_name: String,
    pub created_at: OffsetDateTime,
}
