//! Issue 16, finding 9: the configuration audit of a connection — both organisations' changes,
//! each with who, which organisation, what and when — read the same by both sides.

use fusion_domain::RelationshipId;
use fusion_store::{SecretKey, StoreError};

use crate::harness::{for_each_backend, organisation_with_person};
use crate::relationships::connected;

#[tokio::test]
async fn both_sides_read_every_recorded_change_with_who_and_which_organisation() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let (contoso, alice) =
            organisation_with_person(&store, "Contoso", "alice@contoso.example", "pw").await;
        let (northwind, bob) =
            organisation_with_person(&store, "Northwind IT", "bob@northwind.example", "pw").await;
        let relationship = connected(&store, contoso.id, northwind.id, "Managed services").await;
        store
            .record_configuration_change(
                relationship.id,
                contoso.id,
                Some(alice.id),
                "Added the field mapping status → status (Both ways)",
            )
            .await
            .expect("records");
        store
            .record_configuration_change(
                relationship.id,
                northwind.id,
                Some(bob.id),
                "Deleted the field mapping status → status (Both ways)",
            )
            .await
            .expect("records");

        let log = store
            .relationship_configuration_audit_log(relationship.id)
            .await
            .expect("reads");
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].org_id, northwind.id, "newest first");
        assert_eq!(log[0].person_id, Some(bob.id));
        assert!(log[0].change.starts_with("Deleted"));
        assert_eq!(log[1].org_id, contoso.id);
        assert_eq!(log[1].person_id, Some(alice.id));
        // The per-side log still lists only that side's entries.
        let mine = store
            .configuration_audit_log(relationship.id, contoso.id)
            .await
            .expect("reads");
        assert_eq!(mine.len(), 1);
        // A change for a relationship that does not exist is refused.
        let unknown = store
            .record_configuration_change(RelationshipId::new(), contoso.id, None, "x")
            .await;
        assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    })
    .await;
}
