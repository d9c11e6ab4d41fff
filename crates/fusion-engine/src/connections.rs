//! The organisation-connection use cases, in one place for every caller (the web API and pages,
//! the demo): list an organisation's connections with each partner's name, create one (with a
//! fresh verification code), accept a partner's code (throttled per organisation), and the
//! lifecycle actions revoke, re-issue, pause, resume and end.
//!
//! Only orchestration lives here: the lifecycle rules come from `RelationshipState::change_to`,
//! the code format from `VerificationCode`, persistence (and the atomic single-use acceptance)
//! from the [`RelationshipStore`] port, partners' names from the [`OrganisationNames`] port, and
//! "now" from the injected `Clock`.
//!
//! Invariants:
//! - A connection the organisation is not part of is [`ConnectionError::NotFound`], exactly like
//!   one that does not exist; a Pending connection belongs to the organisation that created it.
//! - A verification code leaves this module once, in the answer that created (or re-issued) it;
//!   the store keeps only its digest.
//! - Wrong codes are counted per organisation ([`WrongCodeThrottle`]); while an organisation is
//!   locked, its codes are not even looked at, so a lock cannot be probed around.

mod throttle;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use fusion_domain::{
    AcceptCodeError, Clock, OrgId, Relationship, RelationshipId, RelationshipState, Role,
    StateChangeError, VERIFICATION_CODE_LIFETIME, VerificationCode,
};
use rand::TryRng;
use time::OffsetDateTime;

use crate::ports::{OrganisationNames, RelationshipStore, StoreError};

pub use throttle::WrongCodeThrottle;

/// Longest contract name accepted; it is a label people read in lists, not a document.
pub const CONTRACT_NAME_MAX_CHARS: usize = 200;

/// What can go wrong with a connection request: the cases a caller answers differently.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// No such connection, or one the organisation is not part of (the two are indistinguishable
    /// on purpose).
    #[error("no such connection")]
    NotFound,
    /// The request does not fit the connection as it is (e.g. re-issuing the code of a
    /// connection that is no longer pending).
    #[error("{message}")]
    Conflict { message: String },
    /// The lifecycle rules do not allow this change.
    #[error(transparent)]
    StateChange(#[from] StateChangeError),
    /// The verification code did not open a pending connection.
    #[error(transparent)]
    Code(AcceptCodeError),
    /// Too many wrong codes from this organisation; accepting codes is locked for `retry_after`.
    #[error(
        "too many wrong verification codes; accepting codes is locked for {} more seconds",
        retry_after.as_secs().max(1)
    )]
    Throttled { retry_after: Duration },
    /// The new connection's details are not acceptable as entered.
    #[error(transparent)]
    Invalid(#[from] CreateProblem),
    /// The store failed (anything but "not found", which is [`ConnectionError::NotFound`]).
    #[error(transparent)]
    Store(StoreError),
    /// Something that should not happen (the operating system gave no randomness).
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ConnectionError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ConnectionError::NotFound,
            other => ConnectionError::Store(other),
        }
    }
}

/// A connection as one organisation sees it: with the partner's name (when there is a partner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSeen {
    pub relationship: Relationship,
    /// The organisation looking at it.
    pub viewer: OrgId,
    pub partner_name: Option<String>,
}

impl ConnectionSeen {
    /// The viewer's role.
    pub fn role(&self) -> Role {
        self.relationship
            .role_of(self.viewer)
            .unwrap_or(self.relationship.initiator_role)
    }

    pub fn initiated_by_viewer(&self) -> bool {
        self.relationship.initiator == self.viewer
    }

    /// A Pending connection whose code has run out (it can still be re-issued or revoked).
    pub fn code_expired(&self, now: OffsetDateTime) -> bool {
        self.relationship.state == RelationshipState::Pending
            && self
                .relationship
                .code_expires_at
                .is_some_and(|expires_at| expires_at <= now)
    }

    /// Which lifecycle actions the viewer may take now.
    pub fn available_actions(&self) -> Vec<LifecycleAction> {
        LifecycleAction::ALL
            .into_iter()
            .filter(|action| action.is_available(&self.relationship, self.viewer))
            .collect()
    }
}

/// A new connection and its verification code, which is shown exactly once.
#[derive(Debug)]
pub struct IssuedCode {
    pub connection: ConnectionSeen,
    pub code: VerificationCode,
}

/// What a lifecycle action produced: the connection, and the new code after a re-issue.
#[derive(Debug)]
pub struct ActionOutcome {
    pub connection: ConnectionSeen,
    pub new_code: Option<VerificationCode>,
}

/// The lifecycle actions, by the names URLs use (`…/{id}/revoke`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleAction {
    Revoke,
    Reissue,
    Pause,
    Resume,
    End,
}

impl LifecycleAction {
    /// Every action, in the order buttons show them.
    pub const ALL: [LifecycleAction; 5] = [
        LifecycleAction::Reissue,
        LifecycleAction::Revoke,
        LifecycleAction::Pause,
        LifecycleAction::Resume,
        LifecycleAction::End,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleAction::Revoke => "revoke",
            LifecycleAction::Reissue => "reissue",
            LifecycleAction::Pause => "pause",
            LifecycleAction::Resume => "resume",
            LifecycleAction::End => "end",
        }
    }

    /// The button text.
    pub fn label(self) -> &'static str {
        match self {
            LifecycleAction::Revoke => "Revoke",
            LifecycleAction::Reissue => "Re-issue code",
            LifecycleAction::Pause => "Pause",
            LifecycleAction::Resume => "Resume",
            LifecycleAction::End => "End connection",
        }
    }

    /// What the page says after it worked.
    pub fn done_message(self) -> &'static str {
        match self {
            LifecycleAction::Revoke => "Connection revoked. Its verification code no longer works.",
            LifecycleAction::Reissue => {
                "New verification code issued. The previous code no longer works."
            }
            LifecycleAction::Pause => "Connection paused. Nothing syncs until it is resumed.",
            LifecycleAction::Resume => "Connection resumed.",
            LifecycleAction::End => "Connection ended.",
        }
    }

    /// The state this action moves to (re-issuing keeps the connection Pending).
    fn target_state(self) -> RelationshipState {
        match self {
            LifecycleAction::Revoke => RelationshipState::Revoked,
            LifecycleAction::Reissue => RelationshipState::Pending,
            LifecycleAction::Pause => RelationshipState::Paused,
            LifecycleAction::Resume => RelationshipState::Active,
            LifecycleAction::End => RelationshipState::Ended,
        }
    }

    /// Revoking and re-issuing belong to the organisation that issued the code; the other
    /// actions to either side.
    fn initiator_only(self) -> bool {
        matches!(self, LifecycleAction::Revoke | LifecycleAction::Reissue)
    }

    fn is_available(self, relationship: &Relationship, viewer: OrgId) -> bool {
        if self.initiator_only() && relationship.initiator != viewer {
            return false;
        }
        match self {
            LifecycleAction::Reissue => relationship.state == RelationshipState::Pending,
            _ => relationship.state.change_to(self.target_state()).is_ok(),
        }
    }
}

/// Why a new connection cannot be created as entered. The message is what the person reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub enum CreateProblem {
    MissingRole,
    UnknownRole,
    MissingContractName,
    ContractNameTooLong,
    ContractNameHasControlCharacters,
}

impl CreateProblem {
    /// The field the problem is in: `role` or `contract_name`.
    pub fn field(&self) -> &'static str {
        match self {
            CreateProblem::MissingRole | CreateProblem::UnknownRole => "role",
            _ => "contract_name",
        }
    }

    /// Whether the field was left empty (rather than filled wrongly).
    pub fn is_missing(&self) -> bool {
        matches!(
            self,
            CreateProblem::MissingRole | CreateProblem::MissingContractName
        )
    }

    pub fn message(&self) -> String {
        match self {
            CreateProblem::MissingRole | CreateProblem::UnknownRole => {
                "Choose your role: Source (tickets originate here) or Target (tickets are received here).".to_owned()
            }
            CreateProblem::MissingContractName => {
                "Enter a contract name, so both organisations can tell this connection apart.".to_owned()
            }
            CreateProblem::ContractNameTooLong => format!(
                "The contract name is too long; use at most {CONTRACT_NAME_MAX_CHARS} characters."
            ),
            CreateProblem::ContractNameHasControlCharacters => {
                "The contract name contains line breaks or control characters; use a single line of text.".to_owned()
            }
        }
    }
}

/// A checked request to create a connection: a role and a single-line contract name of at most
/// [`CONTRACT_NAME_MAX_CHARS`] characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnection {
    role: Role,
    contract_name: String,
}

impl NewConnection {
    /// Checks a request as entered (a form or a JSON body): both values optional, the role by
    /// name ("source" or "target").
    pub fn parse(role: Option<&str>, contract_name: Option<&str>) -> Result<Self, CreateProblem> {
        let role = match role.map(str::trim).filter(|role| !role.is_empty()) {
            None => return Err(CreateProblem::MissingRole),
            Some(role) => Role::parse(role).ok_or(CreateProblem::UnknownRole)?,
        };
        Self::new(role, contract_name.unwrap_or_default())
    }

    /// Checks the contract name for a role already chosen.
    pub fn new(role: Role, contract_name: &str) -> Result<Self, CreateProblem> {
        let contract_name = contract_name.trim();
        if contract_name.is_empty() {
            return Err(CreateProblem::MissingContractName);
        }
        if contract_name.chars().count() > CONTRACT_NAME_MAX_CHARS {
            return Err(CreateProblem::ContractNameTooLong);
        }
        if contract_name.chars().any(char::is_control) {
            return Err(CreateProblem::ContractNameHasControlCharacters);
        }
        Ok(Self {
            role,
            contract_name: contract_name.to_owned(),
        })
    }

    /// The role of the organisation creating the connection.
    pub fn role(&self) -> Role {
        self.role
    }

    pub fn contract_name(&self) -> &str {
        &self.contract_name
    }
}

/// The connection use cases over the ports they need. One per process (the wrong-code counts
/// live in it); cheap to share behind an `Arc`.
pub struct Connections {
    relationships: Arc<dyn RelationshipStore>,
    organisations: Arc<dyn OrganisationNames>,
    clock: Arc<dyn Clock>,
    throttle: WrongCodeThrottle,
    /// Told when a connection is paused, resumed or ended (set once by the binary).
    notifier: std::sync::OnceLock<crate::notify::Notifier>,
}

impl fmt::Debug for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections")
            .field("clock", &self.clock)
            .field("throttle", &self.throttle)
            .finish_non_exhaustive()
    }
}

impl Connections {
    /// The use cases over `relationships` and `organisations` (the store implements both), with
    /// "now" from `clock` and wrong codes counted by `throttle`.
    pub fn new(
        relationships: Arc<dyn RelationshipStore>,
        organisations: Arc<dyn OrganisationNames>,
        clock: Arc<dyn Clock>,
        throttle: WrongCodeThrottle,
    ) -> Self {
        Self {
            relationships,
            organisations,
            clock,
            throttle,
            notifier: std::sync::OnceLock::new(),
        }
    }

    /// Tells `notifier` when a connection is paused, resumed or ended (both organisations hear
    /// about it through their notification settings). The first notifier given wins.
    pub fn set_notifier(&self, notifier: crate::notify::Notifier) {
        let _first_notifier_wins = self.notifier.set(notifier);
    }

    /// Every connection `org` is part of, newest first.
    pub async fn list(&self, org: OrgId) -> Result<Vec<ConnectionSeen>, ConnectionError> {
        let relationships = self.relationships.relationships_of(org).await?;
        let mut seen = Vec::with_capacity(relationships.len());
        for relationship in relationships {
            if relationship.involves(org) {
                seen.push(self.seen_by(relationship, org).await?);
            }
        }
        Ok(seen)
    }

    /// The relationship if `org` is part of it; otherwise [`ConnectionError::NotFound`], exactly
    /// like an unknown id.
    pub async fn visible(
        &self,
        org: OrgId,
        id: RelationshipId,
    ) -> Result<Relationship, ConnectionError> {
        self.relationships
            .relationship(id)
            .await?
            .filter(|relationship| relationship.involves(org))
            .ok_or(ConnectionError::NotFound)
    }

    /// One connection as `org` sees it ([`Connections::visible`], with the partner's name).
    pub async fn connection(
        &self,
        org: OrgId,
        id: RelationshipId,
    ) -> Result<ConnectionSeen, ConnectionError> {
        let relationship = self.visible(org, id).await?;
        self.seen_by(relationship, org).await
    }

    /// Creates a Pending connection initiated by `org`, with a code valid for
    /// `VERIFICATION_CODE_LIFETIME`.
    pub async fn create(
        &self,
        org: OrgId,
        new: NewConnection,
    ) -> Result<IssuedCode, ConnectionError> {
        let code = new_verification_code()?;
        let now = self.clock.now();
        let relationship = self
            .relationships
            .create_relationship(
                org,
                new.role,
                &new.contract_name,
                &code,
                now,
                now + VERIFICATION_CODE_LIFETIME,
            )
            .await?;
        tracing::info!(relationship_id = %relationship.id, org_id = %org, "organisation connection created");
        Ok(IssuedCode {
            connection: self.seen_by(relationship, org).await?,
            code,
        })
    }

    /// Accepts a partner's code, as typed, for `org`. After too many wrong codes the organisation
    /// is locked out for a while (checked before the code is even looked at).
    pub async fn accept(
        &self,
        org: OrgId,
        typed_code: &str,
    ) -> Result<ConnectionSeen, ConnectionError> {
        let now = self.clock.now();
        if let Err(retry_after) = self.throttle.check(org, now) {
            tracing::warn!(org_id = %org, "verification code refused: locked after repeated wrong codes");
            return Err(ConnectionError::Throttled { retry_after });
        }
        let code = VerificationCode::parse(typed_code).map_err(ConnectionError::Code)?;
        match self
            .relationships
            .accept_relationship(org, &code, now)
            .await?
        {
            Ok(relationship) => {
                self.throttle.record_success(org);
                tracing::info!(relationship_id = %relationship.id, org_id = %org, "organisation connection accepted");
                self.seen_by(relationship, org).await
            }
            Err(error) => {
                if counts_as_wrong_code(error) {
                    self.throttle.record_failure(org, now);
                }
                tracing::info!(org_id = %org, reason = ?error, "verification code not accepted");
                Err(ConnectionError::Code(error))
            }
        }
    }

    /// Runs a lifecycle action for `org` on connection `id`.
    pub async fn perform(
        &self,
        org: OrgId,
        id: RelationshipId,
        action: LifecycleAction,
    ) -> Result<ActionOutcome, ConnectionError> {
        let relationship = self.visible(org, id).await?;
        if relationship.state == RelationshipState::Pending && relationship.initiator != org {
            // A Pending connection belongs to its initiator alone (the partner joins by accepting
            // the code); the store never lists anyone else on it, so this is only a safety net.
            return Err(ConnectionError::NotFound);
        }
        let (relationship, new_code) = match action {
            LifecycleAction::Reissue => {
                if relationship.state != RelationshipState::Pending {
                    return Err(ConnectionError::Conflict {
                        message: format!(
                            "only a pending connection's code can be re-issued; this one is {}",
                            relationship.state.label().to_lowercase()
                        ),
                    });
                }
                let code = new_verification_code()?;
                let expires_at = self.clock.now() + VERIFICATION_CODE_LIFETIME;
                let relationship = self
                    .relationships
                    .reissue_code(id, &code, expires_at)
                    .await?;
                (relationship, Some(code))
            }
            _ => {
                let next = relationship.state.change_to(action.target_state())?;
                let relationship = self.relationships.set_relationship_state(id, next).await?;
                if let Some(notifier) = self.notifier.get() {
                    // In its own task: the person's request does not wait for a mail server.
                    let notifier = notifier.clone();
                    let changed = relationship.clone();
                    tokio::spawn(async move { notifier.connection_changed(&changed, org).await });
                }
                (relationship, None)
            }
        };
        tracing::info!(relationship_id = %id, org_id = %org, action = action.as_str(), "organisation connection changed");
        Ok(ActionOutcome {
            connection: self.seen_by(relationship, org).await?,
            new_code,
        })
    }

    async fn seen_by(
        &self,
        relationship: Relationship,
        viewer: OrgId,
    ) -> Result<ConnectionSeen, ConnectionError> {
        let partner_name = match relationship.partner_of(viewer) {
            Some(partner) => self.organisations.organisation_name(partner).await?,
            None => None,
        };
        Ok(ConnectionSeen {
            relationship,
            viewer,
            partner_name,
        })
    }
}

/// Whether a failed code counts towards the lock: any well-formed code that did not open a pending
/// connection (a guess looks like this), not a typo the format check catches or a rule about a
/// code that did work (own code, duplicate).
fn counts_as_wrong_code(error: AcceptCodeError) -> bool {
    matches!(
        error,
        AcceptCodeError::Unknown
            | AcceptCodeError::Expired
            | AcceptCodeError::AlreadyUsed
            | AcceptCodeError::Revoked
    )
}

/// A fresh verification code from the operating system's random number generator.
fn new_verification_code() -> Result<VerificationCode, ConnectionError> {
    // 12 symbols need 12 accepted bytes; 64 bytes leave rejection sampling a wide margin, and the
    // loop covers the (astronomically unlikely) rest.
    for _ in 0..8 {
        let mut bytes = [0u8; 64];
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes)
            .map_err(|error| {
                ConnectionError::Internal(format!(
                    "the operating system gave no randomness: {error}"
                ))
            })?;
        if let Some(code) = VerificationCode::from_random_bytes(bytes) {
            return Ok(code);
        }
    }
    Err(ConnectionError::Internal(
        "could not draw a verification code from the random bytes".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_connections_need_a_role_and_a_single_line_contract_name() {
        let parsed = NewConnection::parse(Some(" Target "), Some("  Managed services "))
            .expect("a valid request");
        assert_eq!(parsed.role(), Role::Target);
        assert_eq!(parsed.contract_name(), "Managed services");
        assert!(matches!(
            NewConnection::parse(None, Some("x")),
            Err(CreateProblem::MissingRole)
        ));
        assert!(matches!(
            NewConnection::parse(Some("provider"), Some("x")),
            Err(CreateProblem::UnknownRole)
        ));
        assert!(matches!(
            NewConnection::parse(Some("source"), Some("   ")),
            Err(CreateProblem::MissingContractName)
        ));
        assert!(matches!(
            NewConnection::parse(Some("source"), None),
            Err(CreateProblem::MissingContractName)
        ));
        assert!(matches!(
            NewConnection::parse(Some("source"), Some("a\nb")),
            Err(CreateProblem::ContractNameHasControlCharacters)
        ));
        let long = "x".repeat(CONTRACT_NAME_MAX_CHARS + 1);
        assert!(matches!(
            NewConnection::parse(Some("source"), Some(&long)),
            Err(CreateProblem::ContractNameTooLong)
        ));
        assert_eq!(
            NewConnection::new(Role::Source, " Support "),
            NewConnection::parse(Some("source"), Some("Support"))
        );
    }

    #[test]
    fn fresh_codes_are_valid_and_differ() {
        let first = new_verification_code().expect("randomness");
        let second = new_verification_code().expect("randomness");
        assert_eq!(VerificationCode::parse(first.as_str()), Ok(first.clone()));
        assert_ne!(first, second);
    }

    #[test]
    fn only_the_initiator_may_revoke_or_reissue_and_only_while_pending() {
        let (initiator, partner) = (OrgId::new(), OrgId::new());
        let mut relationship = Relationship {
            id: RelationshipId::new(),
            contract_name: "Support".into(),
            initiator,
            initiator_role: Role::Source,
            partner: None,
            state: RelationshipState::Pending,
            readiness: fusion_domain::SyncReadiness::InitialSyncRequired,
            code_expires_at: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            activated_at: None,
        };
        let actions = |relationship: &Relationship, viewer| {
            LifecycleAction::ALL
                .into_iter()
                .filter(|action| action.is_available(relationship, viewer))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            actions(&relationship, initiator),
            vec![LifecycleAction::Reissue, LifecycleAction::Revoke]
        );
        relationship.partner = Some(partner);
        relationship.state = RelationshipState::Active;
        assert_eq!(
            actions(&relationship, partner),
            vec![LifecycleAction::Pause, LifecycleAction::End]
        );
        relationship.state = RelationshipState::Paused;
        assert_eq!(
            actions(&relationship, initiator),
            vec![LifecycleAction::Resume, LifecycleAction::End]
        );
        relationship.state = RelationshipState::Ended;
        assert!(actions(&relationship, initiator).is_empty());
    }
}
