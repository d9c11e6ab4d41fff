//! Key rotation in the database: every stored secret (organisation credentials, relationship
//! override credentials, webhook signing secrets and webhook callout keys) re-sealed under a new
//! key in one write transaction that locks the rows it rewrites, so a failure leaves every row as
//! it was.

use fusion_domain::{OrgId, RelationshipId};
use fusion_engine::webhooks::WebhookId;
use sqlx::Transaction;
use uuid::Uuid;

use super::SqlStore;
use crate::StoreResult;
use crate::backend::{Backend, Bind, Columns};
use crate::crypto::{SecretKey, SecretPlace, decrypt_api_secret_with_ring, encrypt_api_secret};
use crate::database_errors::database_error;

/// One sealed column: its table, the id columns that name a row, and where a row's secret lives
/// (its associated data) from those ids.
struct SealedColumn {
    table: &'static str,
    keys: &'static [&'static str],
    column: &'static str,
    place: fn(&[Uuid]) -> SecretPlace,
}

const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "platform_credentials",
        keys: &["org_id"],
        column: "secret_ciphertext",
        place: |ids| SecretPlace::Organisation(OrgId::from_uuid(ids[0])),
    },
    SealedColumn {
        table: "relationship_credentials",
        keys: &["relationship_id", "org_id"],
        column: "secret_ciphertext",
        place: |ids| {
            SecretPlace::Relationship(RelationshipId::from_uuid(ids[0]), OrgId::from_uuid(ids[1]))
        },
    },
    SealedColumn {
        table: "notification_settings",
        keys: &["org_id"],
        column: "signing_secret_ciphertext",
        place: |ids| SecretPlace::WebhookSigning(OrgId::from_uuid(ids[0])),
    },
    SealedColumn {
        table: "webhook_registrations",
        keys: &["id"],
        column: "secret_ciphertext",
        place: |ids| SecretPlace::WebhookCallout(WebhookId::from_uuid(ids[0])),
    },
];

impl<B: Backend> SqlStore<B> {
    pub(crate) async fn reencrypt_all_secrets(&self, new_key: &SecretKey) -> StoreResult<u64> {
        let ring = self.key.rotation_ring(new_key);
        let mut transaction = self.begin_write().await?;
        let mut count = 0u64;
        for sealed in SEALED_COLUMNS {
            count += reseal::<B>(&mut transaction, &ring, new_key, sealed).await?;
        }
        transaction.commit().await.map_err(database_error)?;
        Ok(count)
    }
}

/// Re-seals `sealed`'s column of every row that has a secret, opened with `ring` and sealed
/// under `new_key`; how many rows.
async fn reseal<B: Backend>(
    transaction: &mut Transaction<'static, B>,
    ring: &[SecretKey],
    new_key: &SecretKey,
    sealed: &SealedColumn,
) -> StoreResult<u64> {
    let SealedColumn {
        table,
        keys,
        column,
        place,
    } = sealed;
    let key_list = keys.join(", ");
    let rows = sqlx::query::<B>(B::locking(&format!(
        "SELECT {key_list}, {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY {key_list}"
    )))
    .fetch_all(B::connection(transaction))
    .await
    .map_err(database_error)?;
    let matching = keys
        .iter()
        .enumerate()
        .map(|(index, key)| format!("{key} = ${}", index + 2))
        .collect::<Vec<_>>()
        .join(" AND ");
    let update = format!("UPDATE {table} SET {column} = $1 WHERE {matching}");
    let mut count = 0;
    for row in rows {
        let ids = keys
            .iter()
            .map(|key| row.uuid(key))
            .collect::<StoreResult<Vec<Uuid>>>()?;
        let place = place(&ids);
        let secret = decrypt_api_secret_with_ring(ring, place, &row.column::<Vec<u8>>(column)?)?;
        let mut query = sqlx::query::<B>(sqlx::AssertSqlSafe(update.clone()))
            .bind_value(encrypt_api_secret(new_key, place, &secret)?);
        for id in ids {
            query = query.bind_id(id);
        }
        query
            .execute(B::connection(transaction))
            .await
            .map_err(database_error)?;
        count += 1;
    }
    Ok(count)
}
