//! Organisation scoping: whatever organisation A stores is never returned when asking for B.

use fusion_domain::{ConnectionTestReport, PlatformKind};
use fusion_engine::ports::CredentialsUpdate;
use fusion_store::SecretKey;
use secrecy::ExposeSecret;
use time::macros::datetime;

use crate::harness::{for_each_backend, organisation, secret};

#[tokio::test]
async fn one_organisations_data_is_never_returned_for_another() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Northwind IT").await;
        let org_b = organisation(&store, "Contoso Manufacturing").await;

        store
            .save_platform_credentials(
                org_a,
                None,
                CredentialsUpdate {
                    platform: PlatformKind::Autotask,
                    api_url: "https://webservices2.autotask.net/".to_owned(),
                    username: "AKEY@NORTHWINDIT.EXAMPLE".to_owned(),
                    secret: Some(secret("secret-of-a")),
                    integration_code_override: None,
                },
            )
            .await
            .expect("saves");
        store
            .record_test_result(
                org_a,
                &ConnectionTestReport::tested("Connected", datetime!(2026-11-27 01:00 UTC)),
            )
            .await
            .expect("records");

        assert_eq!(
            store.platform_credentials(org_b).await.expect("reads"),
            None
        );
        assert!(store.platform_secret(org_b).await.expect("reads").is_none());
        assert!(
            store
                .credentials_audit_log(org_b)
                .await
                .expect("reads")
                .is_empty()
        );
        assert_eq!(store.last_test_result(org_b).await.expect("reads"), None);
        assert_eq!(
            store
                .organisation(org_b)
                .await
                .expect("reads")
                .and_then(|org| org.platform),
            None
        );

        // B's own data stays B's, and A's is untouched by it.
        store
            .save_platform_credentials(
                org_b,
                None,
                CredentialsUpdate {
                    platform: PlatformKind::Autotask,
                    api_url: "https://webservices5.autotask.net/".to_owned(),
                    username: "BKEY@CONTOSO.EXAMPLE".to_owned(),
                    secret: Some(secret("secret-of-b")),
                    integration_code_override: None,
                },
            )
            .await
            .expect("saves");
        let secret_a = store
            .platform_secret(org_a)
            .await
            .expect("reads")
            .expect("set");
        let secret_b = store
            .platform_secret(org_b)
            .await
            .expect("reads")
            .expect("set");
        assert_eq!(secret_a.expose_secret(), "secret-of-a");
        assert_eq!(secret_b.expose_secret(), "secret-of-b");
        let credentials_a = store
            .platform_credentials(org_a)
            .await
            .expect("reads")
            .expect("set");
        assert_eq!(credentials_a.username, "AKEY@NORTHWINDIT.EXAMPLE");
        assert_eq!(
            store
                .credentials_audit_log(org_a)
                .await
                .expect("reads")
                .len(),
            4
        );
    })
    .await;
}
