//! The [`RelationshipStore`] half of [`SqlStore`], written once for both databases:
//! relationships, verification codes, integration configuration, field mappings, the description
//! composition and override credentials.
//!
//! Every read-then-write step runs in a [`SqlStore::begin_write`] transaction and reads the
//! relationship's row with [`Backend::locking`]: two partners accepting one code are served one
//! after the other, and the second finds the code used (SQLite: the transaction holds the write
//! lock; PostgreSQL: the read locks the row, and the second reads it as the first left it). Two
//! different codes of the same pair accepted at once are settled by the unique index on connected
//! pairs (the loser is told "duplicate").

use async_trait::async_trait;
use fusion_domain::{
    AcceptCodeError, DescriptionComposition, FieldMapping, FieldMappingId, OrgId, PersonId,
    Relationship, RelationshipId, RelationshipState, Role, SideConfig, SyncReadiness,
    VerificationCode,
};
use fusion_engine::ports::{
    ConfigurationAuditEntry, CredentialsAuditEntry, CredentialsUpdate, PlatformCredentials,
    RelationshipStore,
};
use secrecy::SecretString;
use sqlx::Transaction;
use time::OffsetDateTime;

use super::{BindCredentials, CREDENTIAL_COLUMNS, SqlStore, audit_from_row, credentials_from_row};
use crate::backend::{Backend, Bind, Columns, RowsAffected};
use crate::credentials::{StoredCredentials, plan_credentials_save};
use crate::crypto::{SecretPlace, decrypt_api_secret};
use crate::database_errors::{database_error, insert_error};
use crate::relationship_rows::{
    FieldMappingColumns, RELATIONSHIP_COLUMNS, RelationshipColumns, StoredRelationship,
    code_digest, composed_fields_json, composition_from_columns, side_config_from_json,
    side_config_json, value_mappings_json,
};
use crate::timestamps::{now, to_storage_precision};
use crate::{StoreError, StoreResult};

const CODE_COLLISION: &str =
    "another pending connection has the same verification code; issue a new code";

fn relationship_columns(row: &impl Columns) -> StoreResult<RelationshipColumns> {
    Ok(RelationshipColumns {
        id: row.uuid("id")?,
        contract_name: row.column("contract_name")?,
        initiator: row.uuid("initiator_org_id")?,
        initiator_role: row.column("initiator_role")?,
        partner: row.optional_uuid("partner_org_id")?,
        state: row.column("state")?,
        readiness: row.column("readiness")?,
        code_expires_at: row.time("code_expires_at")?,
        code_used_at: row.optional_time("code_used_at")?,
        created_at: row.time("created_at")?,
        activated_at: row.optional_time("activated_at")?,
    })
}

fn relationship_from_row(row: &impl Columns) -> StoreResult<Relationship> {
    relationship_columns(row)?.into_relationship()
}

fn field_mapping_from_row(row: &impl Columns) -> StoreResult<FieldMapping> {
    FieldMappingColumns {
        id: row.uuid("id")?,
        relationship_id: row.uuid("relationship_id")?,
        ticket_type: row.column("ticket_type")?,
        source_field: row.column("source_field")?,
        target_field: row.column("target_field")?,
        direction: row.column("direction")?,
        value_mappings: row.column("value_mappings")?,
    }
    .into_mapping()
}

/// Whether `org` is the initiator or the partner of relationship `id`; locks the relationship's
/// row for the rest of the transaction.
async fn is_member<B: Backend>(
    transaction: &mut Transaction<'static, B>,
    id: RelationshipId,
    org: OrgId,
) -> StoreResult<bool> {
    let member = sqlx::query::<B>(B::locking(
        "SELECT id FROM relationships WHERE id = $1 \
         AND (initiator_org_id = $2 OR partner_org_id = $2)",
    ))
    .bind_id(id)
    .bind_id(org)
    .fetch_optional(B::connection(transaction))
    .await
    .map_err(database_error)?;
    Ok(member.is_some())
}

/// Locks relationship `id`'s row for the rest of the transaction; `NotFound` when there is none.
async fn lock_relationship<B: Backend>(
    transaction: &mut Transaction<'static, B>,
    id: RelationshipId,
) -> StoreResult<String> {
    sqlx::query::<B>(B::locking("SELECT state FROM relationships WHERE id = $1"))
        .bind_id(id)
        .fetch_optional(B::connection(transaction))
        .await
        .map_err(database_error)?
        .ok_or(StoreError::NotFound)?
        .column("state")
}

async fn insert_field_mapping<B: Backend>(
    transaction: &mut Transaction<'static, B>,
    mapping: &FieldMapping,
) -> StoreResult<u64> {
    sqlx::query::<B>(
        "INSERT INTO field_mappings (id, relationship_id, position, ticket_type, source_field, \
             target_field, direction, value_mappings) \
         VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM field_mappings WHERE relationship_id = $3), \
             $4, $5, $6, $7, $8) \
         ON CONFLICT (id) DO UPDATE SET ticket_type = excluded.ticket_type, \
             source_field = excluded.source_field, target_field = excluded.target_field, \
             direction = excluded.direction, value_mappings = excluded.value_mappings \
         WHERE field_mappings.relationship_id = excluded.relationship_id",
    )
    .bind_id(mapping.id)
    .bind_id(mapping.relationship_id)
    .bind_id(mapping.relationship_id)
    .bind_value(mapping.ticket_type.as_str())
    .bind_value(mapping.source_field.as_str())
    .bind_value(mapping.target_field.as_str())
    .bind_value(mapping.direction.as_str())
    .bind_value(value_mappings_json(mapping)?)
    .execute(B::connection(transaction))
    .await
    .map(|done| done.rows_affected())
    .map_err(|error| insert_error(error, "field mapping conflict"))
}

impl<B: Backend> SqlStore<B> {
    async fn existing_relationship_credentials(
        transaction: &mut Transaction<'static, B>,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Option<StoredCredentials>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM relationship_credentials \
             WHERE relationship_id = $1 AND org_id = $2"
        )))
        .bind_id(id)
        .bind_id(org)
        .fetch_optional(B::connection(transaction))
        .await
        .map_err(database_error)?
        .map(|row| credentials_from_row(&row))
        .transpose()
    }

    /// Sets one column of a relationship and returns the relationship as it is afterwards.
    async fn update_relationship_column(
        &self,
        id: RelationshipId,
        assignment: &'static str,
        value: &'static str,
    ) -> StoreResult<Relationship> {
        let sql = format!(
            "UPDATE relationships SET {assignment} = $1, updated_at = $2 WHERE id = $3 \
             RETURNING {RELATIONSHIP_COLUMNS}"
        );
        sqlx::query::<B>(sqlx::AssertSqlSafe(sql))
            .bind_value(value)
            .bind_time(now())
            .bind_id(id)
            .fetch_optional(self.pool())
            .await
            .map_err(|error| {
                insert_error(
                    error,
                    "the two organisations already have a live connection under that contract name",
                )
            })?
            .map(|row| relationship_from_row(&row))
            .transpose()?
            .ok_or(StoreError::NotFound)
    }
}

#[async_trait]
impl<B: Backend> RelationshipStore for SqlStore<B> {
    async fn create_relationship(
        &self,
        initiator: OrgId,
        initiator_role: Role,
        contract_name: &str,
        code: &VerificationCode,
        now: OffsetDateTime,
        code_expires_at: OffsetDateTime,
    ) -> StoreResult<Relationship> {
        let created_at = to_storage_precision(now);
        let relationship = Relationship {
            id: RelationshipId::new(),
            contract_name: contract_name.to_owned(),
            initiator,
            initiator_role,
            partner: None,
            state: RelationshipState::Pending,
            readiness: SyncReadiness::InitialSyncRequired,
            code_expires_at: Some(to_storage_precision(code_expires_at)),
            created_at,
            activated_at: None,
        };
        sqlx::query::<B>(
            "INSERT INTO relationships (id, contract_name, initiator_org_id, initiator_role, \
                 partner_org_id, state, readiness, code_digest, code_expires_at, code_used_at, \
                 created_at, activated_at, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, NULL, $9, NULL, $10)",
        )
        .bind_id(relationship.id)
        .bind_value(relationship.contract_name.as_str())
        .bind_id(initiator)
        .bind_value(initiator_role.as_str())
        .bind_value(relationship.state.as_str())
        .bind_value(relationship.readiness.as_str())
        .bind_value(&code_digest(code)[..])
        .bind_optional_time(relationship.code_expires_at)
        .bind_time(created_at)
        .bind_time(created_at)
        .execute(self.pool())
        .await
        .map_err(|error| insert_error(error, CODE_COLLISION))?;
        Ok(relationship)
    }

    async fn relationship(&self, id: RelationshipId) -> StoreResult<Option<Relationship>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {RELATIONSHIP_COLUMNS} FROM relationships WHERE id = $1"
        )))
        .bind_id(id)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| relationship_from_row(&row))
        .transpose()
    }

    async fn relationships_of(&self, org: OrgId) -> StoreResult<Vec<Relationship>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {RELATIONSHIP_COLUMNS} FROM relationships \
             WHERE initiator_org_id = $1 OR partner_org_id = $1 \
             ORDER BY created_at DESC, id DESC"
        )))
        .bind_id(org)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(relationship_from_row)
        .collect()
    }

    async fn accept_relationship(
        &self,
        accepting_org: OrgId,
        code: &VerificationCode,
        now: OffsetDateTime,
    ) -> StoreResult<Result<Relationship, AcceptCodeError>> {
        let now = to_storage_precision(now);
        let mut transaction = self.begin_write().await?;
        // A used or revoked code keeps its digest; a pending one wins if a digest ever repeats.
        let row = sqlx::query::<B>(B::locking(&format!(
            "SELECT {RELATIONSHIP_COLUMNS} FROM relationships WHERE code_digest = $1 \
             ORDER BY state = 'pending' DESC, created_at DESC LIMIT 1"
        )))
        .bind_value(&code_digest(code)[..])
        .fetch_optional(B::connection(&mut transaction))
        .await
        .map_err(database_error)?;
        let Some(row) = row else {
            return Ok(Err(AcceptCodeError::Unknown));
        };
        let stored: StoredRelationship = relationship_columns(&row)?.into_stored()?;
        if let Err(refusal) = stored.judge_acceptance(accepting_org, now) {
            return Ok(Err(refusal));
        }
        let relationship = stored.relationship;
        let duplicate: bool = sqlx::query::<B>(
            "SELECT EXISTS (SELECT 1 FROM relationships WHERE id <> $1 \
                 AND state IN ('pending', 'active', 'paused') \
                 AND lower(contract_name) = lower($2) \
                 AND ((initiator_org_id = $3 AND partner_org_id = $4) \
                      OR (initiator_org_id = $4 AND partner_org_id = $3))) AS found",
        )
        .bind_id(relationship.id)
        .bind_value(relationship.contract_name.as_str())
        .bind_id(relationship.initiator)
        .bind_id(accepting_org)
        .fetch_one(B::connection(&mut transaction))
        .await
        .map_err(database_error)?
        .column("found")?;
        if duplicate {
            return Ok(Err(AcceptCodeError::Duplicate));
        }
        let accepted = sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "UPDATE relationships SET partner_org_id = $1, state = $2, readiness = $3, \
                 activated_at = $4, code_used_at = $5, updated_at = $6 \
             WHERE id = $7 RETURNING {RELATIONSHIP_COLUMNS}"
        )))
        .bind_id(accepting_org)
        .bind_value(RelationshipState::Active.as_str())
        .bind_value(SyncReadiness::InitialSyncRequired.as_str())
        .bind_time(now)
        .bind_time(now)
        .bind_time(now)
        .bind_id(relationship.id)
        .fetch_one(B::connection(&mut transaction))
        .await;
        let row = match accepted {
            Ok(row) => row,
            Err(sqlx::Error::Database(database)) if database.is_unique_violation() => {
                return Ok(Err(AcceptCodeError::Duplicate));
            }
            Err(error) => return Err(insert_error(error, "accept conflict")),
        };
        let relationship = relationship_from_row(&row)?;
        transaction.commit().await.map_err(database_error)?;
        Ok(Ok(relationship))
    }

    async fn reissue_code(
        &self,
        id: RelationshipId,
        code: &VerificationCode,
        code_expires_at: OffsetDateTime,
    ) -> StoreResult<Relationship> {
        let mut transaction = self.begin_write().await?;
        let state = lock_relationship(&mut transaction, id).await?;
        if state != RelationshipState::Pending.as_str() {
            return Err(StoreError::Conflict(format!(
                "only a pending connection's verification code can be re-issued; this connection is {state}"
            )));
        }
        let row = sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "UPDATE relationships SET code_digest = $1, code_expires_at = $2, code_used_at = NULL, \
                 updated_at = $3 \
             WHERE id = $4 RETURNING {RELATIONSHIP_COLUMNS}"
        )))
        .bind_value(&code_digest(code)[..])
        .bind_time(code_expires_at)
        .bind_time(now())
        .bind_id(id)
        .fetch_one(B::connection(&mut transaction))
        .await
        .map_err(|error| insert_error(error, CODE_COLLISION))?;
        let relationship = relationship_from_row(&row)?;
        transaction.commit().await.map_err(database_error)?;
        Ok(relationship)
    }

    async fn set_relationship_state(
        &self,
        id: RelationshipId,
        state: RelationshipState,
    ) -> StoreResult<Relationship> {
        self.update_relationship_column(id, "state", state.as_str())
            .await
    }

    async fn set_sync_readiness(
        &self,
        id: RelationshipId,
        readiness: SyncReadiness,
    ) -> StoreResult<Relationship> {
        self.update_relationship_column(id, "readiness", readiness.as_str())
            .await
    }

    async fn integration_config(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Option<SideConfig>> {
        let json: Option<String> = sqlx::query::<B>(
            "SELECT config FROM integration_configs WHERE relationship_id = $1 AND org_id = $2",
        )
        .bind_id(id)
        .bind_id(org)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| row.column("config"))
        .transpose()?;
        json.as_deref().map(side_config_from_json).transpose()
    }

    async fn save_integration_config(
        &self,
        id: RelationshipId,
        org: OrgId,
        config: &SideConfig,
    ) -> StoreResult<()> {
        let json = side_config_json(config)?;
        let mut transaction = self.begin_write().await?;
        if !is_member(&mut transaction, id, org).await? {
            return Err(StoreError::NotFound);
        }
        sqlx::query::<B>(
            "INSERT INTO integration_configs (relationship_id, org_id, config, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (relationship_id, org_id) DO UPDATE SET config = excluded.config, \
                 updated_at = excluded.updated_at",
        )
        .bind_id(id)
        .bind_id(org)
        .bind_value(json)
        .bind_time(now())
        .execute(B::connection(&mut transaction))
        .await
        .map_err(|error| insert_error(error, "integration configuration conflict"))?;
        transaction.commit().await.map_err(database_error)
    }

    async fn field_mappings(&self, id: RelationshipId) -> StoreResult<Vec<FieldMapping>> {
        sqlx::query::<B>(
            "SELECT id, relationship_id, ticket_type, source_field, target_field, direction, \
                    value_mappings \
             FROM field_mappings WHERE relationship_id = $1 ORDER BY position, id",
        )
        .bind_id(id)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(field_mapping_from_row)
        .collect()
    }

    async fn save_field_mapping(&self, mapping: &FieldMapping) -> StoreResult<()> {
        let mut transaction = self.begin_write().await?;
        lock_relationship(&mut transaction, mapping.relationship_id).await?;
        if insert_field_mapping(&mut transaction, mapping).await? == 0 {
            return Err(StoreError::Conflict(
                "that field mapping belongs to another connection".to_owned(),
            ));
        }
        transaction.commit().await.map_err(database_error)
    }

    async fn delete_field_mapping(
        &self,
        id: RelationshipId,
        mapping: FieldMappingId,
    ) -> StoreResult<()> {
        let deleted =
            sqlx::query::<B>("DELETE FROM field_mappings WHERE relationship_id = $1 AND id = $2")
                .bind_id(id)
                .bind_id(mapping)
                .execute(self.pool())
                .await
                .map_err(database_error)?
                .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn replace_field_mappings(
        &self,
        id: RelationshipId,
        mappings: &[FieldMapping],
    ) -> StoreResult<()> {
        if mappings.iter().any(|mapping| mapping.relationship_id != id) {
            return Err(StoreError::Conflict(
                "every replacing field mapping must belong to the connection it replaces"
                    .to_owned(),
            ));
        }
        let mut transaction = self.begin_write().await?;
        lock_relationship(&mut transaction, id).await?;
        sqlx::query::<B>("DELETE FROM field_mappings WHERE relationship_id = $1")
            .bind_id(id)
            .execute(B::connection(&mut transaction))
            .await
            .map_err(database_error)?;
        for mapping in mappings {
            if insert_field_mapping(&mut transaction, mapping).await? == 0 {
                return Err(StoreError::Conflict(
                    "a field mapping with that id belongs to another connection".to_owned(),
                ));
            }
        }
        transaction.commit().await.map_err(database_error)
    }

    async fn description_composition(
        &self,
        id: RelationshipId,
    ) -> StoreResult<Option<DescriptionComposition>> {
        let Some(row) = sqlx::query::<B>(
            "SELECT fields, separator FROM description_compositions WHERE relationship_id = $1",
        )
        .bind_id(id)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        else {
            return Ok(None);
        };
        let fields: String = row.column("fields")?;
        let separator: String = row.column("separator")?;
        composition_from_columns(&fields, separator).map(Some)
    }

    async fn save_description_composition(
        &self,
        id: RelationshipId,
        composition: Option<&DescriptionComposition>,
    ) -> StoreResult<()> {
        let Some(composition) = composition else {
            sqlx::query::<B>("DELETE FROM description_compositions WHERE relationship_id = $1")
                .bind_id(id)
                .execute(self.pool())
                .await
                .map_err(database_error)?;
            return Ok(());
        };
        sqlx::query::<B>(
            "INSERT INTO description_compositions (relationship_id, fields, separator, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (relationship_id) DO UPDATE SET fields = excluded.fields, \
                 separator = excluded.separator, updated_at = excluded.updated_at",
        )
        .bind_id(id)
        .bind_value(composed_fields_json(composition)?)
        .bind_value(composition.separator.as_str())
        .bind_time(now())
        .execute(self.pool())
        .await
        .map_err(|error| insert_error(error, "description composition conflict"))?;
        Ok(())
    }

    async fn relationship_credentials(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Option<PlatformCredentials>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM relationship_credentials \
             WHERE relationship_id = $1 AND org_id = $2"
        )))
        .bind_id(id)
        .bind_id(org)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| credentials_from_row(&row)?.to_public(org))
        .transpose()
    }

    async fn save_relationship_credentials(
        &self,
        id: RelationshipId,
        org: OrgId,
        changed_by: Option<PersonId>,
        update: CredentialsUpdate,
    ) -> StoreResult<PlatformCredentials> {
        let mut transaction = self.begin_write().await?;
        if !is_member(&mut transaction, id, org).await? {
            return Err(StoreError::NotFound);
        }
        let existing = Self::existing_relationship_credentials(&mut transaction, id, org).await?;
        let save = plan_credentials_save(
            &self.key,
            SecretPlace::Relationship(id, org),
            org,
            changed_by,
            existing,
            update,
            now(),
        )?;
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "INSERT INTO relationship_credentials (relationship_id, org_id, {CREDENTIAL_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (relationship_id, org_id) DO UPDATE SET platform = excluded.platform, \
                 api_url = excluded.api_url, username = excluded.username, \
                 secret_ciphertext = excluded.secret_ciphertext, \
                 secret_changed_at = excluded.secret_changed_at, \
                 integration_code_override = excluded.integration_code_override, \
                 updated_at = excluded.updated_at"
        )))
        .bind_id(id)
        .bind_id(org)
        .bind_credentials(&save.row)
        .execute(B::connection(&mut transaction))
        .await
        .map_err(|error| insert_error(error, "relationship credentials conflict"))?;
        for entry in &save.audit {
            sqlx::query::<B>(
                "INSERT INTO relationship_credentials_audit (relationship_id, org_id, person_id, \
                     field, changed_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind_id(id)
            .bind_id(org)
            .bind_optional_id(entry.person_id)
            .bind_value(entry.field.as_str())
            .bind_time(entry.changed_at)
            .execute(B::connection(&mut transaction))
            .await
            .map_err(|error| insert_error(error, "audit entry conflict"))?;
        }
        transaction.commit().await.map_err(database_error)?;
        save.row.to_public(org)
    }

    async fn relationship_secret(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Option<SecretString>> {
        let blob: Option<Option<Vec<u8>>> = sqlx::query::<B>(
            "SELECT secret_ciphertext FROM relationship_credentials \
             WHERE relationship_id = $1 AND org_id = $2",
        )
        .bind_id(id)
        .bind_id(org)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| row.column("secret_ciphertext"))
        .transpose()?;
        blob.flatten()
            .map(|blob| decrypt_api_secret(&self.key, SecretPlace::Relationship(id, org), &blob))
            .transpose()
    }

    async fn relationship_credentials_audit_log(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Vec<CredentialsAuditEntry>> {
        sqlx::query::<B>(
            "SELECT person_id, field, changed_at FROM relationship_credentials_audit \
             WHERE relationship_id = $1 AND org_id = $2 \
             ORDER BY changed_at DESC, id ASC",
        )
        .bind_id(id)
        .bind_id(org)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            let (person_id, field, changed_at) = audit_from_row(row, "field")?;
            Ok(CredentialsAuditEntry {
                org_id: org,
                person_id,
                field,
                changed_at,
            })
        })
        .collect()
    }

    async fn configuration_audit_log(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Vec<ConfigurationAuditEntry>> {
        sqlx::query::<B>(
            "SELECT person_id, change, changed_at FROM configuration_audit \
             WHERE relationship_id = $1 AND org_id = $2 \
             ORDER BY changed_at DESC, id DESC",
        )
        .bind_id(id)
        .bind_id(org)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            let (person_id, change, changed_at) = audit_from_row(row, "change")?;
            Ok(ConfigurationAuditEntry {
                org_id: org,
                person_id,
                change,
                changed_at,
            })
        })
        .collect()
    }

    async fn record_configuration_change(
        &self,
        id: RelationshipId,
        org: OrgId,
        person: Option<PersonId>,
        change: &str,
    ) -> StoreResult<()> {
        sqlx::query::<B>(
            "INSERT INTO configuration_audit (relationship_id, org_id, person_id, change, changed_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind_id(id)
        .bind_id(org)
        .bind_optional_id(person)
        .bind_value(change)
        .bind_time(now())
        .execute(self.pool())
        .await
        .map(drop)
        .map_err(|error| insert_error(error, "the configuration change was recorded twice"))
    }

    async fn relationship_configuration_audit_log(
        &self,
        id: RelationshipId,
    ) -> StoreResult<Vec<ConfigurationAuditEntry>> {
        sqlx::query::<B>(
            "SELECT org_id, person_id, change, changed_at FROM configuration_audit \
             WHERE relationship_id = $1 \
             ORDER BY changed_at DESC, id DESC",
        )
        .bind_id(id)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            let (person_id, change, changed_at) = audit_from_row(row, "change")?;
            Ok(ConfigurationAuditEntry {
                org_id: row.id("org_id")?,
                person_id,
                change,
                changed_at,
            })
        })
        .collect()
    }
}
