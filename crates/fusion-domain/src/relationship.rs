//! Relationships ("Organisation connections"): the pairing of two organisations, who plays which
//! role, its lifecycle, and the verification code one side gives the other to accept it.

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::ids::{OrgId, RelationshipId};

/// How long a verification code stays valid.
pub const VERIFICATION_CODE_LIFETIME: Duration = Duration::days(7);

/// The role an organisation plays in a relationship — and the one notion of "side" everywhere
/// (ordered Source before Target, so it can key ordered maps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Tickets originate here (typically the customer).
    Source,
    /// Tickets are received here (typically the provider).
    Target,
}

impl Role {
    pub fn label(&self) -> &'static str {
        match self {
            Role::Source => "Source",
            Role::Target => "Target",
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Target => "target",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "source" => Some(Role::Source),
            "target" => Some(Role::Target),
            _ => None,
        }
    }

    pub fn opposite(&self) -> Self {
        match self {
            Role::Source => Role::Target,
            Role::Target => Role::Source,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Lifecycle: Pending → Active (→ Paused ↔ Active) → Ended; a Pending one may be Revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationshipState {
    Pending,
    Active,
    Paused,
    Ended,
    Revoked,
}

impl RelationshipState {
    pub fn label(&self) -> &'static str {
        match self {
            RelationshipState::Pending => "Pending",
            RelationshipState::Active => "Active",
            RelationshipState::Paused => "Paused",
            RelationshipState::Ended => "Ended",
            RelationshipState::Revoked => "Revoked",
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RelationshipState::Pending => "pending",
            RelationshipState::Active => "active",
            RelationshipState::Paused => "paused",
            RelationshipState::Ended => "ended",
            RelationshipState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => RelationshipState::Pending,
            "active" => RelationshipState::Active,
            "paused" => RelationshipState::Paused,
            "ended" => RelationshipState::Ended,
            "revoked" => RelationshipState::Revoked,
            _ => return None,
        })
    }

    /// Whether the pair still counts as connected (for the "no duplicate relationship" rule).
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            RelationshipState::Pending | RelationshipState::Active | RelationshipState::Paused
        )
    }
}

/// Why a state change is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from} connection cannot be {verb}", from = from.label().to_lowercase(), verb = to.verb())]
pub struct StateChangeError {
    pub from: RelationshipState,
    pub to: RelationshipState,
}

impl RelationshipState {
    fn verb(&self) -> &'static str {
        match self {
            RelationshipState::Pending => "re-opened",
            RelationshipState::Active => "resumed",
            RelationshipState::Paused => "paused",
            RelationshipState::Ended => "ended",
            RelationshipState::Revoked => "revoked",
        }
    }

    /// The lifecycle rules: revoke only while Pending; pause only while Active; resume only while
    /// Paused; end while Active or Paused. Ended and Revoked are final.
    pub fn change_to(self, to: RelationshipState) -> Result<RelationshipState, StateChangeError> {
        use RelationshipState::*;
        let allowed = matches!(
            (self, to),
            (Pending, Revoked) | (Active, Paused) | (Paused, Active) | (Active | Paused, Ended)
        );
        if allowed {
            Ok(to)
        } else {
            Err(StateChangeError { from: self, to })
        }
    }
}

/// Whether the relationship may sync automatically yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncReadiness {
    /// No manual sync has set the baseline yet.
    InitialSyncRequired,
    ReadyForAutomaticSync,
}

impl SyncReadiness {
    pub fn label(&self) -> &'static str {
        match self {
            SyncReadiness::InitialSyncRequired => "Initial sync required",
            SyncReadiness::ReadyForAutomaticSync => "Ready for automatic sync",
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            SyncReadiness::InitialSyncRequired => "initial_sync_required",
            SyncReadiness::ReadyForAutomaticSync => "ready_for_automatic_sync",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "initial_sync_required" => Some(SyncReadiness::InitialSyncRequired),
            "ready_for_automatic_sync" => Some(SyncReadiness::ReadyForAutomaticSync),
            _ => None,
        }
    }
}

/// The pairing of two organisations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    pub id: RelationshipId,
    pub contract_name: String,
    /// The organisation that created it and issued the verification code.
    pub initiator: OrgId,
    pub initiator_role: Role,
    /// `None` while Pending.
    pub partner: Option<OrgId>,
    pub state: RelationshipState,
    pub readiness: SyncReadiness,
    /// When the current verification code stops working (Pending only).
    pub code_expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub activated_at: Option<OffsetDateTime>,
}

impl Relationship {
    /// The role `org` plays, or `None` when it is not part of this relationship.
    pub fn role_of(&self, org: OrgId) -> Option<Role> {
        if org == self.initiator {
            Some(self.initiator_role)
        } else if Some(org) == self.partner {
            Some(self.initiator_role.opposite())
        } else {
            None
        }
    }

    pub fn involves(&self, org: OrgId) -> bool {
        self.role_of(org).is_some()
    }

    /// The other organisation, seen from `org`.
    pub fn partner_of(&self, org: OrgId) -> Option<OrgId> {
        if org == self.initiator {
            self.partner
        } else if Some(org) == self.partner {
            Some(self.initiator)
        } else {
            None
        }
    }

    pub fn org_in_role(&self, role: Role) -> Option<OrgId> {
        if role == self.initiator_role {
            Some(self.initiator)
        } else {
            self.partner
        }
    }

    pub fn source_org(&self) -> Option<OrgId> {
        self.org_in_role(Role::Source)
    }

    pub fn target_org(&self) -> Option<OrgId> {
        self.org_in_role(Role::Target)
    }
}

/// Why a verification code was not accepted. The texts are what the person entering it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum AcceptCodeError {
    #[error(
        "That verification code is not valid. Check it with your partner; codes look like 7KQ4-MX2P-9HTD."
    )]
    Malformed,
    #[error("No pending connection has that verification code. Check it with your partner.")]
    Unknown,
    #[error(
        "That verification code has expired (codes last 7 days). Ask your partner to re-issue it."
    )]
    Expired,
    #[error(
        "That verification code has already been used. Each code works once; ask your partner for a new one."
    )]
    AlreadyUsed,
    #[error("Your partner revoked that connection. Ask them to create a new one.")]
    Revoked,
    #[error("That code was issued by your own organisation. Give it to your partner to enter.")]
    OwnCode,
    #[error("You already have a live connection with this organisation under that contract name.")]
    Duplicate,
    #[error("Too many wrong codes. Wait a few minutes and try again.")]
    Throttled,
}

/// The alphabet of verification codes: no 0/O, 1/I/L or U, so a code can be read aloud and typed
/// without confusion.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_GROUPS: usize = 3;
const CODE_GROUP_LEN: usize = 4;
/// Number of random symbols in a code (≈ 58.9 bits).
pub const CODE_SYMBOLS: usize = CODE_GROUPS * CODE_GROUP_LEN;

/// A verification code in its canonical display form, e.g. `7KQ4-MX2P-9HTD`.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl VerificationCode {
    /// Builds a code from random bytes (the caller owns the randomness, so this stays pure).
    /// Uses rejection sampling so every symbol is equally likely.
    pub fn from_random_bytes(bytes: impl IntoIterator<Item = u8>) -> Option<Self> {
        let limit = (256 / CODE_ALPHABET.len() * CODE_ALPHABET.len()) as u8;
        let symbols: Vec<u8> = bytes
            .into_iter()
            .filter(|b| *b < limit)
            .map(|b| CODE_ALPHABET[b as usize % CODE_ALPHABET.len()])
            .take(CODE_SYMBOLS)
            .collect();
        (symbols.len() == CODE_SYMBOLS).then(|| Self::from_symbols(&symbols))
    }

    /// Reads what a person typed: case, spaces and dashes do not matter; look-alike letters
    /// (O for 0 is not in the alphabet, so it is refused rather than guessed).
    pub fn parse(input: &str) -> Result<Self, AcceptCodeError> {
        let symbols: Vec<u8> = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase() as u32)
            .map(|c| u8::try_from(c).unwrap_or(0))
            .collect();
        if symbols.len() != CODE_SYMBOLS || !symbols.iter().all(|s| CODE_ALPHABET.contains(s)) {
            return Err(AcceptCodeError::Malformed);
        }
        Ok(Self::from_symbols(&symbols))
    }

    fn from_symbols(symbols: &[u8]) -> Self {
        let groups: Vec<String> = symbols
            .chunks(CODE_GROUP_LEN)
            .map(|group| group.iter().map(|b| *b as char).collect())
            .collect();
        Self(groups.join("-"))
    }

    /// The form shown to people and the input to the stored hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_three_groups_of_four_unambiguous_symbols() {
        let code = VerificationCode::from_random_bytes(0u8..=255).expect("enough bytes");
        let text = code.as_str();
        assert_eq!(text.len(), 14);
        assert_eq!(text.split('-').count(), 3);
        assert!(
            text.bytes()
                .filter(|b| *b != b'-')
                .all(|b| CODE_ALPHABET.contains(&b))
        );
    }

    #[test]
    fn typed_codes_ignore_case_spaces_and_dashes() {
        let code = VerificationCode::parse("7kq4 mx2p-9htd").expect("valid");
        assert_eq!(code.as_str(), "7KQ4-MX2P-9HTD");
        assert_eq!(VerificationCode::parse("7KQ4MX2P9HTD"), Ok(code));
    }

    #[test]
    fn codes_with_ambiguous_or_missing_symbols_are_refused() {
        assert_eq!(
            VerificationCode::parse("0KQ4-MX2P-9HTD"),
            Err(AcceptCodeError::Malformed)
        );
        assert_eq!(
            VerificationCode::parse("7KQ4-MX2P"),
            Err(AcceptCodeError::Malformed)
        );
        assert_eq!(
            VerificationCode::parse("ä"),
            Err(AcceptCodeError::Malformed)
        );
    }

    #[test]
    fn too_few_random_bytes_make_no_code() {
        assert!(VerificationCode::from_random_bytes([1u8; 5]).is_none());
        assert!(VerificationCode::from_random_bytes([255u8; 64]).is_none());
    }

    #[test]
    fn lifecycle_allows_only_the_documented_changes() {
        use RelationshipState::*;
        assert_eq!(Pending.change_to(Revoked), Ok(Revoked));
        assert_eq!(Active.change_to(Paused), Ok(Paused));
        assert_eq!(Paused.change_to(Active), Ok(Active));
        assert_eq!(Paused.change_to(Ended), Ok(Ended));
        assert!(Pending.change_to(Active).is_err());
        assert!(Ended.change_to(Active).is_err());
        let error = Revoked.change_to(Paused).expect_err("final");
        assert_eq!(error.to_string(), "a revoked connection cannot be paused");
    }

    #[test]
    fn roles_are_seen_from_each_side() {
        let (a, b, c) = (OrgId::new(), OrgId::new(), OrgId::new());
        let relationship = Relationship {
            id: RelationshipId::new(),
            contract_name: "Managed services".into(),
            initiator: a,
            initiator_role: Role::Source,
            partner: Some(b),
            state: RelationshipState::Active,
            readiness: SyncReadiness::InitialSyncRequired,
            code_expires_at: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            activated_at: None,
        };
        assert_eq!(relationship.role_of(a), Some(Role::Source));
        assert_eq!(relationship.role_of(b), Some(Role::Target));
        assert_eq!(relationship.role_of(c), None);
        assert_eq!(relationship.partner_of(b), Some(a));
        assert_eq!(relationship.source_org(), Some(a));
        assert_eq!(relationship.target_org(), Some(b));
    }
}

/// One value per side of a relationship, read and written by [`Role`] (instead of `[T; 2]`
/// indexed by hand).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BySide<T> {
    pub source: T,
    pub target: T,
}

impl<T> BySide<T> {
    pub fn new(source: T, target: T) -> Self {
        Self { source, target }
    }

    /// Both values, made by `make(side)`, Source first.
    pub fn from_fn(mut make: impl FnMut(Role) -> T) -> Self {
        let source = make(Role::Source);
        let target = make(Role::Target);
        Self { source, target }
    }

    pub fn get(&self, side: Role) -> &T {
        match side {
            Role::Source => &self.source,
            Role::Target => &self.target,
        }
    }

    pub fn get_mut(&mut self, side: Role) -> &mut T {
        match side {
            Role::Source => &mut self.source,
            Role::Target => &mut self.target,
        }
    }

    /// The two values with their sides, Source first.
    pub fn into_sides(self) -> impl Iterator<Item = (Role, T)> {
        [(Role::Source, self.source), (Role::Target, self.target)].into_iter()
    }
}
