//! The SQLite [`RelationshipStore`]: relationships, verification codes, integration configuration,
//! field mappings, the description composition and override credentials.
//!
//! Every read-then-write step runs in a `BEGIN IMMEDIATE` transaction, so it holds SQLite's single
//! write lock from the start: two partners accepting one code are served one after the other, and
//! the second finds the code used.

use async_trait::async_trait;
use fusion_domain::{
    AcceptCodeError, DescriptionComposition, FieldMapping, FieldMappingId, OrgId, PersonId,
    Relationship, RelationshipId, RelationshipState, Role, SideConfig, SyncReadiness,
    VerificationCode,
};
use secrecy::SecretString;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use time::OffsetDateTime;

use super::{SqliteStore, credentials_from_row, id_text, uuid_column};
use crate::credentials::{StoredCredentials, plan_credentials_save};
use crate::crypto::{SecretPlace, decrypt_api_secret};
use crate::database_errors::{database_error, insert_error};
use crate::relationship_rows::{
    FieldMappingColumns, RELATIONSHIP_COLUMNS, RelationshipColumns, StoredRelationship,
    code_digest, composed_fields_json, composition_from_columns, side_config_from_json,
    side_config_json, value_mappings_json,
};
use crate::relationships::RelationshipStore;
use crate::timestamps::{now, to_storage_precision};
use crate::{
    ConfigurationAuditEntry, CredentialsAuditEntry, CredentialsUpdate, PlatformCredentials,
    StoreError, StoreResult,
};

const CODE_COLLISION: &str =
    "another pending connection has the same verification code; issue a new code";

fn relationship_columns(row: &SqliteRow) -> StoreResult<RelationshipColumns> {
    let partner: Option<String> = row.try_get("partner_org_id").map_err(database_error)?;
    Ok(RelationshipColumns {
        id: uuid_column(row, "id")?,
        contract_name: row.try_get("contract_name").map_err(database_error)?,
        initiator: uuid_column(row, "initiator_org_id")?,
        initiator_role: row.try_get("initiator_role").map_err(database_error)?,
        partner: partner
            .map(|text| {
                uuid::Uuid::parse_str(&text).map_err(|_| {
                    StoreError::Backend(format!("malformed id {text:?} in column partner_org_id"))
                })
            })
            .transpose()?,
        state: row.try_get("state").map_err(database_error)?,
        readiness: row.try_get("readiness").map_err(database_error)?,
        code_expires_at: row.try_get("code_expires_at").map_err(database_error)?,
        code_used_at: row.try_get("code_used_at").map_err(database_error)?,
        created_at: row.try_get("created_at").map_err(database_error)?,
        activated_at: row.try_get("activated_at").map_err(database_error)?,
    })
}

fn relationship_from_row(row: &SqliteRow) -> StoreResult<Relationship> {
    relationship_columns(row)?.into_relationship()
}

fn field_mapping_from_row(row: &SqliteRow) -> StoreResult<FieldMapping> {
    FieldMappingColumns {
        id: uuid_column(row, "id")?,
        relationship_id: uuid_column(row, "relationship_id")?,
        ticket_type: row.try_get("ticket_type").map_err(database_error)?,
        source_field: row.try_get("source_field").map_err(database_error)?,
        target_field: row.try_get("target_field").map_err(database_error)?,
        direction: row.try_get("direction").map_err(database_error)?,
        value_mappings: row.try_get("value_mappings").map_err(database_error)?,
    }
    .into_mapping()
}

/// Whether `org` is the initiator or the partner of relationship `id`.
async fn is_member(
    transaction: &mut Transaction<'static, Sqlite>,
    id: RelationshipId,
    org: OrgId,
) -> StoreResult<bool> {
    let org_text = id_text(org.as_uuid());
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM relationships WHERE id = ? \
             AND (initiator_org_id = ? OR partner_org_id = ?))",
    )
    .bind(id_text(id.as_uuid()))
    .bind(&org_text)
    .bind(&org_text)
    .fetch_one(&mut **transaction)
    .await
    .map_err(database_error)
}

async fn insert_field_mapping(
    transaction: &mut Transaction<'static, Sqlite>,
    mapping: &FieldMapping,
) -> StoreResult<u64> {
    let relationship_text = id_text(mapping.relationship_id.as_uuid());
    sqlx::query(
        "INSERT INTO field_mappings (id, relationship_id, position, ticket_type, source_field, \
             target_field, direction, value_mappings) \
         VALUES (?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM field_mappings WHERE relationship_id = ?), \
             ?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET ticket_type = excluded.ticket_type, \
             source_field = excluded.source_field, target_field = excluded.target_field, \
             direction = excluded.direction, value_mappings = excluded.value_mappings \
         WHERE field_mappings.relationship_id = excluded.relationship_id",
    )
    .bind(id_text(mapping.id.as_uuid()))
    .bind(&relationship_text)
    .bind(&relationship_text)
    .bind(&mapping.ticket_type)
    .bind(&mapping.source_field)
    .bind(&mapping.target_field)
    .bind(mapping.direction.as_str())
    .bind(value_mappings_json(mapping)?)
    .execute(&mut **transaction)
    .await
    .map(|done| done.rows_affected())
    .map_err(|error| insert_error(error, "field mapping conflict"))
}

impl SqliteStore {
    async fn begin_immediate(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(database_error)
    }

    async fn existing_relationship_credentials(
        transaction: &mut Transaction<'static, Sqlite>,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Option<StoredCredentials>> {
        sqlx::query(
            "SELECT platform, api_url, username, secret_ciphertext, secret_changed_at, \
                    integration_code_override, updated_at \
             FROM relationship_credentials WHERE relationship_id = ? AND org_id = ?",
        )
        .bind(id_text(id.as_uuid()))
        .bind(id_text(org.as_uuid()))
        .fetch_optional(&mut **transaction)
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
            "UPDATE relationships SET {assignment} = ?, updated_at = ? WHERE id = ? \
             RETURNING {RELATIONSHIP_COLUMNS}"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .bind(now())
            .bind(id_text(id.as_uuid()))
            .fetch_optional(&self.pool)
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
impl RelationshipStore for SqliteStore {
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
        sqlx::query(
            "INSERT INTO relationships (id, contract_name, initiator_org_id, initiator_role, \
                 partner_org_id, state, readiness, code_digest, code_expires_at, code_used_at, \
                 created_at, activated_at, updated_at) \
             VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, NULL, ?, NULL, ?)",
        )
        .bind(id_text(relationship.id.as_uuid()))
        .bind(&relationship.contract_name)
        .bind(id_text(initiator.as_uuid()))
        .bind(initiator_role.as_str())
        .bind(relationship.state.as_str())
        .bind(relationship.readiness.as_str())
        .bind(&code_digest(code)[..])
        .bind(relationship.code_expires_at)
        .bind(created_at)
        .bind(created_at)
        .execute(&self.pool)
        .await
        .map_err(|error| insert_error(error, CODE_COLLISION))?;
        Ok(relationship)
    }

    async fn relationship(&self, id: RelationshipId) -> StoreResult<Option<Relationship>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RELATIONSHIP_COLUMNS} FROM relationships WHERE id = ?"
        )))
        .bind(id_text(id.as_uuid()))
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| relationship_from_row(&row))
        .transpose()
    }

    async fn relationships_of(&self, org: OrgId) -> StoreResult<Vec<Relationship>> {
        let org_text = id_text(org.as_uuid());
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RELATIONSHIP_COLUMNS} FROM relationships \
             WHERE initiator_org_id = ? OR partner_org_id = ? \
             ORDER BY julianday(created_at) DESC, id DESC"
        )))
        .bind(&org_text)
        .bind(&org_text)
        .fetch_all(&self.pool)
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
        let mut transaction = self.begin_immediate().await?;
        // A used or revoked code keeps its digest; a pending one wins if a digest ever repeats.
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RELATIONSHIP_COLUMNS} FROM relationships WHERE code_digest = ? \
             ORDER BY state = 'pending' DESC, julianday(created_at) DESC LIMIT 1"
        )))
        .bind(&code_digest(code)[..])
        .fetch_optional(&mut *transaction)
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
        let accepting_text = id_text(accepting_org.as_uuid());
        let initiator_text = id_text(relationship.initiator.as_uuid());
        let duplicate: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM relationships WHERE id <> ? \
                 AND state IN ('pending', 'active', 'paused') \
                 AND lower(contract_name) = lower(?) \
                 AND ((initiator_org_id = ? AND partner_org_id = ?) \
                      OR (initiator_org_id = ? AND partner_org_id = ?)))",
        )
        .bind(id_text(relationship.id.as_uuid()))
        .bind(&relationship.contract_name)
        .bind(&initiator_text)
        .bind(&accepting_text)
        .bind(&accepting_text)
        .bind(&initiator_text)
        .fetch_one(&mut *transaction)
        .await
        .map_err(database_error)?;
        if duplicate {
            return Ok(Err(AcceptCodeError::Duplicate));
        }
        let accepted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE relationships SET partner_org_id = ?, state = ?, readiness = ?, \
                 activated_at = ?, code_used_at = ?, updated_at = ? \
             WHERE id = ? RETURNING {RELATIONSHIP_COLUMNS}"
        )))
        .bind(&accepting_text)
        .bind(RelationshipState::Active.as_str())
        .bind(SyncReadiness::InitialSyncRequired.as_str())
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(id_text(relationship.id.as_uuid()))
        .fetch_one(&mut *transaction)
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
        let mut transaction = self.begin_immediate().await?;
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM relationships WHERE id = ?")
                .bind(id_text(id.as_uuid()))
                .fetch_optional(&mut *transaction)
                .await
                .map_err(database_error)?;
        let state = state.ok_or(StoreError::NotFound)?;
        if state != RelationshipState::Pending.as_str() {
            return Err(StoreError::Conflict(format!(
                "only a pending connection's verification code can be re-issued; this connection is {state}"
            )));
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE relationships SET code_digest = ?, code_expires_at = ?, code_used_at = NULL, \
                 updated_at = ? \
             WHERE id = ? RETURNING {RELATIONSHIP_COLUMNS}"
        )))
        .bind(&code_digest(code)[..])
        .bind(to_storage_precision(code_expires_at))
        .bind(now())
        .bind(id_text(id.as_uuid()))
        .fetch_one(&mut *transaction)
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
        let json: Option<String> = sqlx::query_scalar(
            "SELECT config FROM integration_configs WHERE relationship_id = ? AND org_id = ?",
        )
        .bind(id_text(id.as_uuid()))
        .bind(id_text(org.as_uuid()))
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?;
        json.as_deref().map(side_config_from_json).transpose()
    }

    async fn save_integration_config(
        &self,
        id: RelationshipId,
        org: OrgId,
        config: &SideConfig,
    ) -> StoreResult<()> {
        let json = side_config_json(config)?;
        let mut transaction = self.begin_immediate().await?;
        if !is_member(&mut transaction, id, org).await? {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO integration_configs (relationship_id, org_id, config, updated_at) \
             VALUES (?, ?, ?, ?) \
             ON CONFLICT (relationship_id, org_id) DO UPDATE SET config = excluded.config, \
                 updated_at = excluded.updated_at",
        )
        .bind(id_text(id.as_uuid()))
        .bind(id_text(org.as_uuid()))
        .bind(json)
        .bind(now())
        .execute(&mut *transaction)
        .await
        .map_err(|error| insert_error(error, "integration configuration conflict"))?;
        transaction.commit().await.map_err(database_error)
    }

    async fn field_mappings(&self, id: RelationshipId) -> StoreResult<Vec<FieldMapping>> {
        sqlx::query(
            "SELECT id, relationship_id, ticket_type, source_field, target_field, direction, \
                    value_mappings \
             FROM field_mappings WHERE relationship_id = ? ORDER BY position, id",
        )
        .bind(id_text(id.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(field_mapping_from_row)
        .collect()
    }

    async fn save_field_mapping(&self, mapping: &FieldMapping) -> StoreResult<()> {
        let mut transaction = self.begin_immediate().await?;
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
            sqlx::query("DELETE FROM field_mappings WHERE relationship_id = ? AND id = ?")
                .bind(id_text(id.as_uuid()))
                .bind(id_text(mapping.as_uuid()))
                .execute(&self.pool)
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
        let mut transaction = self.begin_immediate().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM relationships WHERE id = ?)")
                .bind(id_text(id.as_uuid()))
                .fetch_one(&mut *transaction)
                .await
                .map_err(database_error)?;
        if !exists {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM field_mappings WHERE relationship_id = ?")
            .bind(id_text(id.as_uuid()))
            .execute(&mut *transaction)
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
        let Some(row) = sqlx::query(
            "SELECT fields, separator FROM description_compositions WHERE relationship_id = ?",
        )
        .bind(id_text(id.as_uuid()))
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        else {
            return Ok(None);
        };
        let fields: String = row.try_get("fields").map_err(database_error)?;
        let separator: String = row.try_get("separator").map_err(database_error)?;
        composition_from_columns(&fields, separator).map(Some)
    }

    async fn save_description_composition(
        &self,
        id: RelationshipId,
        composition: Option<&DescriptionComposition>,
    ) -> StoreResult<()> {
        let Some(composition) = composition else {
            sqlx::query("DELETE FROM description_compositions WHERE relationship_id = ?")
                .bind(id_text(id.as_uuid()))
                .execute(&self.pool)
                .await
                .map_err(database_error)?;
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO description_compositions (relationship_id, fields, separator, updated_at) \
             VALUES (?, ?, ?, ?) \
             ON CONFLICT (relationship_id) DO UPDATE SET fields = excluded.fields, \
                 separator = excluded.separator, updated_at = excluded.updated_at",
        )
        .bind(id_text(id.as_uuid()))
        .bind(composed_fields_json(composition)?)
        .bind(&composition.separator)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(|error| insert_error(error, "description composition conflict"))?;
        Ok(())
    }

    async fn relationship_credentials(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Option<PlatformCredentials>> {
        sqlx::query(
            "SELECT platform, api_url, username, secret_ciphertext, secret_changed_at, \
                    integration_code_override, updated_at \
             FROM relationship_credentials WHERE relationship_id = ? AND org_id = ?",
        )
        .bind(id_text(id.as_uuid()))
        .bind(id_text(org.as_uuid()))
        .fetch_optional(&self.pool)
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
        let relationship_text = id_text(id.as_uuid());
        let org_text = id_text(org.as_uuid());
        let mut transaction = self.begin_immediate().await?;
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
        let row = &save.row;
        sqlx::query(
            "INSERT INTO relationship_credentials (relationship_id, org_id, platform, api_url, \
                 username, secret_ciphertext, secret_changed_at, integration_code_override, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (relationship_id, org_id) DO UPDATE SET platform = excluded.platform, \
                 api_url = excluded.api_url, username = excluded.username, \
                 secret_ciphertext = excluded.secret_ciphertext, \
                 secret_changed_at = excluded.secret_changed_at, \
                 integration_code_override = excluded.integration_code_override, \
                 updated_at = excluded.updated_at",
        )
        .bind(&relationship_text)
        .bind(&org_text)
        .bind(&row.platform)
        .bind(&row.api_url)
        .bind(&row.username)
        .bind(row.secret_ciphertext.as_deref())
        .bind(row.secret_changed_at)
        .bind(row.integration_code_override.as_deref())
        .bind(row.updated_at)
        .execute(&mut *transaction)
        .await
        .map_err(|error| insert_error(error, "relationship credentials conflict"))?;
        for entry in &save.audit {
            sqlx::query(
                "INSERT INTO relationship_credentials_audit (relationship_id, org_id, person_id, \
                     field, changed_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&relationship_text)
            .bind(&org_text)
            .bind(entry.person_id.map(|person| id_text(person.as_uuid())))
            .bind(&entry.field)
            .bind(entry.changed_at)
            .execute(&mut *transaction)
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
        let blob: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT secret_ciphertext FROM relationship_credentials \
             WHERE relationship_id = ? AND org_id = ?",
        )
        .bind(id_text(id.as_uuid()))
        .bind(id_text(org.as_uuid()))
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?;
        blob.flatten()
            .map(|blob| decrypt_api_secret(&self.key, SecretPlace::Relationship(id, org), &blob))
            .transpose()
    }

    async fn relationship_credentials_audit_log(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Vec<CredentialsAuditEntry>> {
        let rows = sqlx::query(
            "SELECT person_id, field, changed_at FROM relationship_credentials_audit \
             WHERE relationship_id = ? AND org_id = ? \
             ORDER BY julianday(changed_at) DESC, id ASC",
        )
        .bind(id_text(id.as_uuid()))
        .bind(id_text(org.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?;
        rows.iter()
            .map(|row| {
                let person_id: Option<String> = row.try_get("person_id").map_err(database_error)?;
                let person_id = person_id
                    .map(|text| {
                        uuid::Uuid::parse_str(&text)
                            .map(PersonId::from_uuid)
                            .map_err(|_| {
                                StoreError::Backend(format!(
                                    "malformed person id {text:?} in the audit log"
                                ))
                            })
                    })
                    .transpose()?;
                Ok(CredentialsAuditEntry {
                    org_id: org,
                    person_id,
                    field: row.try_get("field").map_err(database_error)?,
                    changed_at: row.try_get("changed_at").map_err(database_error)?,
                })
            })
            .collect()
    }

    async fn configuration_audit_log(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Vec<ConfigurationAuditEntry>> {
        let rows = sqlx::query(
            "SELECT person_id, change, changed_at FROM configuration_audit \
             WHERE relationship_id = ? AND org_id = ? \
             ORDER BY julianday(changed_at) DESC, id DESC",
        )
        .bind(id_text(id.as_uuid()))
        .bind(id_text(org.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?;
        rows.iter()
            .map(|row| {
                let person_id: Option<String> = row.try_get("person_id").map_err(database_error)?;
                let person_id = person_id
                    .map(|text| {
                        uuid::Uuid::parse_str(&text)
                            .map(PersonId::from_uuid)
                            .map_err(|_| {
                                StoreError::Backend(format!(
                                    "malformed person id {text:?} in the audit log"
                                ))
                            })
                    })
                    .transpose()?;
                Ok(ConfigurationAuditEntry {
                    org_id: org,
                    person_id,
                    change: row.try_get("change").map_err(database_error)?,
                    changed_at: row.try_get("changed_at").map_err(database_error)?,
                })
            })
            .collect()
    }
}
