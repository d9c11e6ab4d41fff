//! Organisations and the people who sign in to them: creation, lookup (also of the name alone,
//! the engine's `OrganisationNames` port), password checks and case-insensitive unique emails.

use fusion_domain::{OrgId, PersonId};
use fusion_store::{SecretKey, StoreError};

use crate::harness::{for_each_backend, organisation_with_person, secret};

#[tokio::test]
async fn created_organisations_are_listed_by_name_and_found_by_id() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let contoso = store
            .create_organisation("Contoso Manufacturing")
            .await
            .expect("creates");
        let northwind = store
            .create_organisation("Northwind IT")
            .await
            .expect("creates");
        assert_eq!(contoso.platform, None);

        let listed = store.organisations().await.expect("lists");
        let names: Vec<&str> = listed.iter().map(|org| org.name.as_str()).collect();
        assert_eq!(names, ["Contoso Manufacturing", "Northwind IT"]);
        assert_eq!(
            store.organisation(northwind.id).await.expect("reads"),
            Some(northwind)
        );
        assert_eq!(store.organisation(OrgId::new()).await.expect("reads"), None);
        assert_eq!(
            store.organisation_name(contoso.id).await.expect("reads"),
            Some("Contoso Manufacturing".to_owned())
        );
        assert_eq!(
            store.organisation_name(OrgId::new()).await.expect("reads"),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn the_right_password_signs_in_and_a_wrong_one_does_not() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let (org, person) = organisation_with_person(
            &store,
            "Northwind IT",
            "jane.doe@northwindit.example",
            "correct horse",
        )
        .await;
        assert_eq!(person.org_id, org.id);

        let signed_in = store
            .verify_password("jane.doe@northwindit.example", &secret("correct horse"))
            .await
            .expect("verifies");
        assert_eq!(signed_in.as_ref(), Some(&person));
        for wrong in ["Correct horse", "correct horse ", ""] {
            let refused = store
                .verify_password("jane.doe@northwindit.example", &secret(wrong))
                .await
                .expect("verifies");
            assert_eq!(refused, None, "password {wrong:?} must not sign in");
        }
        let unknown = store
            .verify_password("nobody@northwindit.example", &secret("correct horse"))
            .await
            .expect("verifies");
        assert_eq!(unknown, None);
        assert_eq!(store.person(person.id).await.expect("reads"), Some(person));
        assert_eq!(store.person(PersonId::new()).await.expect("reads"), None);
    })
    .await;
}

#[tokio::test]
async fn email_is_stored_lower_cased_and_sign_in_ignores_case_and_spaces() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let (_, person) = organisation_with_person(
            &store,
            "Northwind IT",
            "  Jane.Doe@NorthwindIT.example ",
            "pw-1",
        )
        .await;
        assert_eq!(person.email, "jane.doe@northwindit.example");
        let signed_in = store
            .verify_password("JANE.DOE@NORTHWINDIT.EXAMPLE", &secret("pw-1"))
            .await
            .expect("verifies");
        assert_eq!(signed_in.map(|p| p.id), Some(person.id));
    })
    .await;
}

#[tokio::test]
async fn an_email_taken_in_any_case_is_a_conflict() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let (org, _) =
            organisation_with_person(&store, "Northwind IT", "jane.doe@northwindit.example", "pw")
                .await;
        let other_org = store.create_organisation("Contoso").await.expect("creates");
        for (org_id, email) in [
            (org.id, "jane.doe@northwindit.example"),
            (other_org.id, "JANE.DOE@northwindit.example"),
        ] {
            let error = store
                .create_person(org_id, email, "Someone Else", &secret("other"))
                .await
                .expect_err("the email is taken");
            assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
        }
        // The original password still works: the failed attempts changed nothing.
        assert!(
            store
                .verify_password("jane.doe@northwindit.example", &secret("pw"))
                .await
                .expect("verifies")
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn a_person_for_an_unknown_organisation_is_not_found() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let error = store
            .create_person(OrgId::new(), "a@b.example", "A", &secret("pw"))
            .await
            .expect_err("no such organisation");
        assert!(matches!(error, StoreError::NotFound), "{error:?}");
    })
    .await;
}
