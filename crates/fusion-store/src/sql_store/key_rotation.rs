//! Key rotation in the database: every stored secret (organisation credentials, relationship
//! override credentials and webhook signing secrets) re-sealed under a new key in one write transaction that
//! locks the rows it rewrites, so a failure leaves every row as it was.

use fusion_domain::{OrgId, RelationshipId};

use super::SqlStore;
use crate::StoreResult;
use crate::backend::{Backend, Bind, Columns};
use crate::crypto::{SecretKey, SecretPlace, decrypt_api_secret_with_ring, encrypt_api_secret};
use crate::database_errors::database_error;

impl<B: Backend> SqlStore<B> {
    pub(crate) async fn reencrypt_all_secrets(&self, new_key: &SecretKey) -> StoreResult<u64> {
        let ring = self.key.rotation_ring(new_key);
        let mut transaction = self.begin_write().await?;
        let mut count = 0u64;

        let organisation_rows = sqlx::query::<B>(B::locking(
            "SELECT org_id, secret_ciphertext FROM platform_credentials \
             WHERE secret_ciphertext IS NOT NULL ORDER BY org_id",
        ))
        .fetch_all(B::connection(&mut transaction))
        .await
        .map_err(database_error)?;
        for row in organisation_rows {
            let org_id: OrgId = row.id("org_id")?;
            let place = SecretPlace::Organisation(org_id);
            let secret = decrypt_api_secret_with_ring(
                &ring,
                place,
                &row.column::<Vec<u8>>("secret_ciphertext")?,
            )?;
            sqlx::query::<B>(
                "UPDATE platform_credentials SET secret_ciphertext = $1 WHERE org_id = $2",
            )
            .bind_value(encrypt_api_secret(new_key, place, &secret)?)
            .bind_id(org_id)
            .execute(B::connection(&mut transaction))
            .await
            .map_err(database_error)?;
            count += 1;
        }

        let relationship_rows = sqlx::query::<B>(B::locking(
            "SELECT relationship_id, org_id, secret_ciphertext FROM relationship_credentials \
             WHERE secret_ciphertext IS NOT NULL ORDER BY relationship_id, org_id",
        ))
        .fetch_all(B::connection(&mut transaction))
        .await
        .map_err(database_error)?;
        for row in relationship_rows {
            let relationship_id: RelationshipId = row.id("relationship_id")?;
            let org_id: OrgId = row.id("org_id")?;
            let place = SecretPlace::Relationship(relationship_id, org_id);
            let secret = decrypt_api_secret_with_ring(
                &ring,
                place,
                &row.column::<Vec<u8>>("secret_ciphertext")?,
            )?;
            sqlx::query::<B>(
                "UPDATE relationship_credentials SET secret_ciphertext = $1 \
                 WHERE relationship_id = $2 AND org_id = $3",
            )
            .bind_value(encrypt_api_secret(new_key, place, &secret)?)
            .bind_id(relationship_id)
            .bind_id(org_id)
            .execute(B::connection(&mut transaction))
            .await
            .map_err(database_error)?;
            count += 1;
        }

        let signing_rows = sqlx::query::<B>(B::locking(
            "SELECT org_id, signing_secret_ciphertext FROM notification_settings \
             WHERE signing_secret_ciphertext IS NOT NULL ORDER BY org_id",
        ))
        .fetch_all(B::connection(&mut transaction))
        .await
        .map_err(database_error)?;
        for row in signing_rows {
            let org_id: OrgId = row.id("org_id")?;
            let place = SecretPlace::WebhookSigning(org_id);
            let secret = decrypt_api_secret_with_ring(
                &ring,
                place,
                &row.column::<Vec<u8>>("signing_secret_ciphertext")?,
            )?;
            sqlx::query::<B>(
                "UPDATE notification_settings SET signing_secret_ciphertext = $1 WHERE org_id = $2",
            )
            .bind_value(encrypt_api_secret(new_key, place, &secret)?)
            .bind_id(org_id)
            .execute(B::connection(&mut transaction))
            .await
            .map_err(database_error)?;
            count += 1;
        }

        let callout_rows = sqlx::query::<B>(B::locking(
            "SELECT id, secret_ciphertext FROM webhook_registrations \
             WHERE secret_ciphertext IS NOT NULL ORDER BY id",
        ))
        .fetch_all(B::connection(&mut transaction))
        .await
        .map_err(database_error)?;
        for row in callout_rows {
            let id: fusion_engine::webhooks::WebhookId = row.id("id")?;
            let place = SecretPlace::WebhookCallout(id);
            let secret = decrypt_api_secret_with_ring(
                &ring,
                place,
                &row.column::<Vec<u8>>("secret_ciphertext")?,
            )?;
            sqlx::query::<B>(
                "UPDATE webhook_registrations SET secret_ciphertext = $1 WHERE id = $2",
            )
            .bind_value(encrypt_api_secret(new_key, place, &secret)?)
            .bind_id(id)
            .execute(B::connection(&mut transaction))
            .await
            .map_err(database_error)?;
            count += 1;
        }

        transaction.commit().await.map_err(database_error)?;
        Ok(count)
    }
}
