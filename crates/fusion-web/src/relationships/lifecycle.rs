//! What the organisation-connections API and pages both do, in one place: list an organisation's
//! connections, create one (with a fresh verification code), accept a partner's code (throttled
//! per organisation), and the lifecycle actions revoke, re-issue, pause, resume and end.
//!
//! Only orchestration lives here: the lifecycle rules come from
//! `RelationshipState::change_to`, the code format from `VerificationCode`, persistence (and the
//! atomic single-use acceptance) from the `RelationshipStore` port, and "now" from the injected
//! `Clock`.

use fusion_domain::{
    AcceptCodeError, OrgId, Relationship, RelationshipId, RelationshipState, Role,
    VERIFICATION_CODE_LIFETIME, VerificationCode,
};
use fusion_engine::ports::RelationshipStore;
use rand::TryRng;

use crate::AppState;
use crate::error::ApiError;
use crate::relationships::error::ConnectionError;

/// Longest contract name accepted; it is a label people read in lists, not a document.
pub(crate) const CONTRACT_NAME_MAX_CHARS: usize = 200;

/// The relationship port of the app's store.
fn relationship_store(state: &AppState) -> &dyn RelationshipStore {
    state.store().as_ref()
}

/// A connection as one organisation sees it: with the partner's name (when there is a partner).
pub(crate) struct ConnectionSeen {
    pub relationship: Relationship,
    /// The organisation looking at it.
    pub viewer: OrgId,
    pub partner_name: Option<String>,
}

impl ConnectionSeen {
    pub fn role(&self) -> Role {
        self.relationship
            .role_of(self.viewer)
            .unwrap_or(self.relationship.initiator_role)
    }

    pub fn initiated_by_viewer(&self) -> bool {
        self.relationship.initiator == self.viewer
    }

    /// A Pending connection whose code has run out (it can still be re-issued or revoked).
    pub fn code_expired(&self, now: time::OffsetDateTime) -> bool {
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

/// A relationship and the verification code that goes with it, shown exactly once.
pub(crate) struct IssuedCode {
    pub connection: ConnectionSeen,
    pub code: VerificationCode,
}

/// The lifecycle actions, as they appear in URLs (`…/{id}/revoke`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LifecycleAction {
    Revoke,
    Reissue,
    Pause,
    Resume,
    End,
}

impl LifecycleAction {
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
}

/// A fresh verification code from the operating system's random number generator.
fn new_verification_code() -> Result<VerificationCode, ApiError> {
    // 12 symbols need 12 accepted bytes; 64 bytes leave rejection sampling a wide margin, and the
    // loop covers the (astronomically unlikely) rest.
    for _ in 0..8 {
        let mut bytes = [0u8; 64];
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes)
            .map_err(|error| {
                ApiError::Internal(format!("the operating system gave no randomness: {error}"))
            })?;
        if let Some(code) = VerificationCode::from_random_bytes(bytes) {
            return Ok(code);
        }
    }
    Err(ApiError::Internal(
        "could not draw a verification code from the random bytes".to_owned(),
    ))
}

async fn seen_by(
    state: &AppState,
    relationship: Relationship,
    viewer: OrgId,
) -> Result<ConnectionSeen, ConnectionError> {
    let partner_name = match relationship.partner_of(viewer) {
        Some(partner) => state
            .store()
            .organisation(partner)
            .await?
            .map(|organisation| organisation.name),
        None => None,
    };
    Ok(ConnectionSeen {
        relationship,
        viewer,
        partner_name,
    })
}

/// Every connection `org` is part of, newest first.
pub(crate) async fn connections_of(
    state: &AppState,
    org: OrgId,
) -> Result<Vec<ConnectionSeen>, ConnectionError> {
    let relationships = relationship_store(state).relationships_of(org).await?;
    let mut seen = Vec::with_capacity(relationships.len());
    for relationship in relationships {
        if relationship.involves(org) {
            seen.push(seen_by(state, relationship, org).await?);
        }
    }
    Ok(seen)
}

/// Parses a relationship id from a path segment; anything unparsable is "not found".
pub(crate) fn parse_relationship_id(raw: &str) -> Result<RelationshipId, ConnectionError> {
    raw.parse().map_err(|_| ApiError::NotFound.into())
}

/// The relationship if `org` is part of it; otherwise `NotFound`, exactly like an unknown id.
pub(crate) async fn visible_relationship(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
) -> Result<Relationship, ConnectionError> {
    relationship_store(state)
        .relationship(id)
        .await?
        .filter(|relationship| relationship.involves(org))
        .ok_or(ConnectionError::Api(ApiError::NotFound))
}

pub(crate) async fn connection(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
) -> Result<ConnectionSeen, ConnectionError> {
    let relationship = visible_relationship(state, org, id).await?;
    seen_by(state, relationship, org).await
}

/// Why a new connection cannot be created as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CreateProblem {
    MissingRole,
    UnknownRole,
    MissingContractName,
    ContractNameTooLong,
    ContractNameHasControlCharacters,
}

impl CreateProblem {
    pub fn field(&self) -> &'static str {
        match self {
            CreateProblem::MissingRole | CreateProblem::UnknownRole => "role",
            _ => "contract_name",
        }
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

    pub fn into_api_error(self) -> ApiError {
        let code = match self {
            CreateProblem::MissingRole | CreateProblem::MissingContractName => "missing_value",
            _ => "invalid_value",
        };
        ApiError::Invalid {
            code,
            field: Some(self.field()),
            message: self.message(),
            fix: None,
            suggested_api_url: None,
        }
    }
}

/// A checked request to create a connection.
pub(crate) struct NewConnection {
    pub role: Role,
    pub contract_name: String,
}

impl NewConnection {
    pub fn parse(role: Option<&str>, contract_name: Option<&str>) -> Result<Self, CreateProblem> {
        let role = match role.map(str::trim).filter(|role| !role.is_empty()) {
            None => return Err(CreateProblem::MissingRole),
            Some(role) => Role::parse(role).ok_or(CreateProblem::UnknownRole)?,
        };
        let contract_name = contract_name.unwrap_or_default().trim();
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
}

/// Creates a Pending connection initiated by `org`, with a code valid for seven days.
pub(crate) async fn create(
    state: &AppState,
    org: OrgId,
    new: NewConnection,
) -> Result<IssuedCode, ConnectionError> {
    let code = new_verification_code()?;
    let now = state.clock().now();
    let relationship = relationship_store(state)
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
        connection: seen_by(state, relationship, org).await?,
        code,
    })
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

/// Accepts a partner's code for `org`. After too many wrong codes the organisation is locked out
/// for a while (checked before the code is even looked at, so a lock cannot be probed around).
pub(crate) async fn accept(
    state: &AppState,
    org: OrgId,
    typed_code: &str,
) -> Result<ConnectionSeen, ConnectionError> {
    let throttle = state.code_throttle();
    let now = state.clock().now();
    if let Err(retry_after) = throttle.check(org, now) {
        tracing::warn!(org_id = %org, "verification code refused: locked after repeated wrong codes");
        return Err(ConnectionError::Throttled { retry_after });
    }
    let code = VerificationCode::parse(typed_code).map_err(ConnectionError::Code)?;
    match relationship_store(state)
        .accept_relationship(org, &code, now)
        .await?
    {
        Ok(relationship) => {
            throttle.record_success(org);
            tracing::info!(relationship_id = %relationship.id, org_id = %org, "organisation connection accepted");
            seen_by(state, relationship, org).await
        }
        Err(error) => {
            if counts_as_wrong_code(error) {
                throttle.record_failure(org, now);
            }
            tracing::info!(org_id = %org, reason = ?error, "verification code not accepted");
            Err(ConnectionError::Code(error))
        }
    }
}

/// What a lifecycle action produced: the connection, and a new code for a re-issue.
pub(crate) struct ActionOutcome {
    pub connection: ConnectionSeen,
    pub new_code: Option<VerificationCode>,
}

/// Runs a lifecycle action for `org` on connection `id`.
pub(crate) async fn perform(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
    action: LifecycleAction,
) -> Result<ActionOutcome, ConnectionError> {
    let relationship = visible_relationship(state, org, id).await?;
    if relationship.state == RelationshipState::Pending && relationship.initiator != org {
        // A Pending connection belongs to its initiator alone (the partner joins by accepting
        // the code); the store never lists anyone else on it, so this is only a safety net.
        return Err(ApiError::NotFound.into());
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
            let expires_at = state.clock().now() + VERIFICATION_CODE_LIFETIME;
            let relationship = relationship_store(state)
                .reissue_code(id, &code, expires_at)
                .await?;
            (relationship, Some(code))
        }
        _ => {
            let next = relationship.state.change_to(action.target_state())?;
            let relationship = relationship_store(state)
                .set_relationship_state(id, next)
                .await?;
            (relationship, None)
        }
    };
    tracing::info!(relationship_id = %id, org_id = %org, action = action.as_str(), "organisation connection changed");
    Ok(ActionOutcome {
        connection: seen_by(state, relationship, org).await?,
        new_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_connections_need_a_role_and_a_single_line_contract_name() {
        let parsed = NewConnection::parse(Some(" Target "), Some("  Managed services "))
            .expect("a valid request");
        assert_eq!(parsed.role, Role::Target);
        assert_eq!(parsed.contract_name, "Managed services");
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
            NewConnection::parse(Some("source"), Some("a\nb")),
            Err(CreateProblem::ContractNameHasControlCharacters)
        ));
        let long = "x".repeat(CONTRACT_NAME_MAX_CHARS + 1);
        assert!(matches!(
            NewConnection::parse(Some("source"), Some(&long)),
            Err(CreateProblem::ContractNameTooLong)
        ));
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
            created_at: time::OffsetDateTime::UNIX_EPOCH,
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
