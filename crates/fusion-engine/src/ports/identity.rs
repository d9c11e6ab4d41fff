//! Who is who: organisations, the people in them (with the password check), their sessions and
//! API tokens. The web layer signs people in and scopes every request through this port.
//!
//! `fusion-store`'s `Store` has this trait as a supertrait, so `Arc<dyn Store>` coerces to
//! `Arc<dyn Identity>`. Passwords are kept only as hashes and tokens only as digests; how is the
//! adapter's business.

use async_trait::async_trait;
use fusion_domain::{ApiTokenId, OrgId, Organisation, Person, PersonId};
use secrecy::SecretString;
use time::OffsetDateTime;

use super::StoreResult;

/// A signed-in session, returned once with its token; only the digest is stored.
#[derive(Debug)]
pub struct NewSession {
    pub token: SecretString,
    pub expires_at: OffsetDateTime,
}

/// A new API token, returned once with the token itself; only its digest is stored.
#[derive(Debug)]
pub struct NewApiToken {
    pub id: ApiTokenId,
    pub token: SecretString,
    pub expires_at: Option<OffsetDateTime>,
}

/// An API token as its owner lists it: never the token, only what tells tokens apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenInfo {
    pub id: ApiTokenId,
    pub label: String,
    pub created_at: OffsetDateTime,
    /// Updated at most once a minute per token (a write on every API call would be waste).
    pub last_used_at: Option<OffsetDateTime>,
    /// `None`: never expires (chosen explicitly at creation, or a token from before expiry
    /// existed).
    pub expires_at: Option<OffsetDateTime>,
}

/// Organisations, people, sessions and API tokens.
#[async_trait]
pub trait Identity: Send + Sync {
    async fn create_organisation(&self, name: &str) -> StoreResult<Organisation>;
    async fn organisation(&self, id: OrgId) -> StoreResult<Option<Organisation>>;
    async fn organisations(&self) -> StoreResult<Vec<Organisation>>;

    /// Creates a person; the password is hashed. `Conflict` if the email is taken.
    async fn create_person(
        &self,
        org_id: OrgId,
        email: &str,
        display_name: &str,
        password: &SecretString,
    ) -> StoreResult<Person>;
    /// `Some(person)` when the email exists and the password matches.
    async fn verify_password(
        &self,
        email: &str,
        password: &SecretString,
    ) -> StoreResult<Option<Person>>;
    async fn person(&self, id: PersonId) -> StoreResult<Option<Person>>;

    async fn create_session(
        &self,
        person_id: PersonId,
        ttl: time::Duration,
    ) -> StoreResult<NewSession>;
    /// The person behind a live (unexpired) session token.
    async fn session_person(&self, token: &str) -> StoreResult<Option<Person>>;
    async fn delete_session(&self, token: &str) -> StoreResult<()>;

    /// Creates an API token for scripts; returned once, stored as a digest. It stops working at
    /// `expires_at` (`None`: never).
    async fn create_api_token(
        &self,
        person_id: PersonId,
        label: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> StoreResult<NewApiToken>;
    /// The person behind an API token that is neither expired nor revoked; notes the use.
    async fn api_token_person(&self, token: &str) -> StoreResult<Option<Person>>;
    /// `person_id`'s API tokens, newest first (expired ones included, so they can be told apart
    /// and removed).
    async fn api_tokens_of(&self, person_id: PersonId) -> StoreResult<Vec<ApiTokenInfo>>;
    /// Deletes one of `person_id`'s tokens; it stops working at once. `NotFound` when the person
    /// has no such token (another person's token is not found either).
    async fn revoke_api_token(&self, person_id: PersonId, id: ApiTokenId) -> StoreResult<()>;
}
