//! The one storage handle a front end (the web layer) holds: every storage port it needs, in one
//! trait object. Anything implementing them all is an [`AppStore`] (blanket impl);
//! `fusion-store`'s `Store` has it as a supertrait, so `Arc<dyn Store>` coerces to
//! `Arc<dyn AppStore>`, and an `Arc<dyn AppStore>` coerces to an `Arc` of each port.

use super::{
    BudgetLedger, Identity, NotificationStore, OrganisationCredentials, OrganisationNames,
    OrganisationSettings, RelationshipStore, StoreHealth, SyncStore, WebhookStore,
};

/// All storage ports behind one handle.
pub trait AppStore:
    Identity
    + OrganisationSettings
    + StoreHealth
    + RelationshipStore
    + SyncStore
    + OrganisationNames
    + OrganisationCredentials
    + NotificationStore
    + WebhookStore
    + BudgetLedger
    + Send
    + Sync
    + std::fmt::Debug
{
}

impl<T> AppStore for T where
    T: Identity
        + OrganisationSettings
        + StoreHealth
        + RelationshipStore
        + SyncStore
        + OrganisationNames
        + OrganisationCredentials
        + NotificationStore
        + WebhookStore
        + BudgetLedger
        + Send
        + Sync
        + std::fmt::Debug
        + ?Sized
{
}
