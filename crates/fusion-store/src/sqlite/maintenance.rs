//! SQLite half of key rotation: every stored API secret (organisation credentials and
//! relationship override credentials) re-sealed under a new key in one `BEGIN IMMEDIATE`
//! transaction, so a failure leaves every row as it was.

use fusion_domain::{OrgId, RelationshipId};
use sqlx::Row;

use super::{SqliteStore, id_text, uuid_column};
use crate::StoreResult;
use crate::crypto::{SecretKey, SecretPlace, decrypt_api_secret_with_ring, encrypt_api_secret};
use crate::database_errors::database_error;

impl SqliteStore {
    pub(crate) async fn reencrypt_all_secrets(&self, new_key: &SecretKey) -> StoreResult<u64> {
        let ring = self.key.rotation_ring(new_key);
        let mut transaction = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(database_error)?;
        let mut count = 0u64;

        let organisation_rows = sqlx::query(
            "SELECT org_id, secret_ciphertext FROM platform_credentials \
             WHERE secret_ciphertext IS NOT NULL ORDER BY org_id",
        )
        .fetch_all(&mut *transaction)
        .await
        .map_err(database_error)?;
        for row in organisation_rows {
            let org_id = OrgId::from_uuid(uuid_column(&row, "org_id")?);
            let blob: Vec<u8> = row.try_get("secret_ciphertext").map_err(database_error)?;
            let place = SecretPlace::Organisation(org_id);
            let secret = decrypt_api_secret_with_ring(&ring, place, &blob)?;
            let sealed = encrypt_api_secret(new_key, place, &secret)?;
            sqlx::query("UPDATE platform_credentials SET secret_ciphertext = ? WHERE org_id = ?")
                .bind(sealed)
                .bind(id_text(org_id.as_uuid()))
                .execute(&mut *transaction)
                .await
                .map_err(database_error)?;
            count += 1;
        }

        let relationship_rows = sqlx::query(
            "SELECT relationship_id, org_id, secret_ciphertext FROM relationship_credentials \
             WHERE secret_ciphertext IS NOT NULL ORDER BY relationship_id, org_id",
        )
        .fetch_all(&mut *transaction)
        .await
        .map_err(database_error)?;
        for row in relationship_rows {
            let relationship_id = RelationshipId::from_uuid(uuid_column(&row, "relationship_id")?);
            let org_id = OrgId::from_uuid(uuid_column(&row, "org_id")?);
            let blob: Vec<u8> = row.try_get("secret_ciphertext").map_err(database_error)?;
            let place = SecretPlace::Relationship(relationship_id, org_id);
            let secret = decrypt_api_secret_with_ring(&ring, place, &blob)?;
            let sealed = encrypt_api_secret(new_key, place, &secret)?;
            sqlx::query(
                "UPDATE relationship_credentials SET secret_ciphertext = ? \
                 WHERE relationship_id = ? AND org_id = ?",
            )
            .bind(sealed)
            .bind(id_text(relationship_id.as_uuid()))
            .bind(id_text(org_id.as_uuid()))
            .execute(&mut *transaction)
            .await
            .map_err(database_error)?;
            count += 1;
        }

        transaction.commit().await.map_err(database_error)?;
        Ok(count)
    }
}
