//! The demo's ready-made organisation connection: Contoso Manufacturing (Source, the customer)
//! and Northwind IT (Target, its managed service provider) are connected through the core's
//! `Connections` use cases exactly as two people would connect them on the Connections page (a
//! verification code issued by Contoso and accepted by Northwind), then configured through the
//! core's `ConfigurationService` — the use cases the configuration pages call, with the same
//! checks (the privacy rule, mappings against both tenants' choices) — from each tenant's LIVE
//! choices, loaded with `fusion_autotask::load_choices` from the in-process simulator. Picklist
//! codes are never written here: every value is found by its label (or the tenant's default) in
//! the choices.
//!
//! Re-running the demo on the same data directory finds the connection again instead of making
//! a second one, and leaves a configuration alone once it has been saved (a person may have
//! changed it since). The two side configurations are saved last, so their presence marks a
//! finished setup even if an earlier run stopped half-way.

use std::sync::Arc;

use anyhow::Context;
use fusion_autotask::{
    AutotaskService, AutotaskSettings, AutotaskTenants, ConnectionTester, Credentials,
    TenantChoices, default_field_mappings, load_choices, suggested_value_mappings, ticket_fields,
};
use fusion_domain::{
    ChoiceValue, ClosureSettings, ComposedField, DescriptionComposition, FieldMapping,
    NoteDefaults, OrgId, ReceiveDefaults, Relationship, RelationshipState, Role, SendFilter,
    SideConfig, SyncOptions, SystemClock, TimeArrival, ValueMapping, VerificationCode,
};
use fusion_engine::configuration::{ConfigurationService, MappingDraft};
use fusion_engine::{Connections, LifecycleAction, NewConnection, WrongCodeThrottle};
use fusion_store::Store;
use secrecy::SecretString;

/// The demo tenant whose organisation is the Source (tickets originate here: the customer).
pub const SOURCE_ORGANISATION: &str = "Contoso Manufacturing";
/// The demo tenant whose organisation is the Target (tickets are worked here: the MSP).
pub const TARGET_ORGANISATION: &str = "Northwind IT";
/// The ready-made connection's contract name.
pub const CONTRACT_NAME: &str = "Contoso ⇄ Northwind managed services";

/// One side of the demo connection: its organisation and the API user that reads its tenant.
pub struct DemoSide<'a> {
    pub org_id: OrgId,
    pub name: &'a str,
    pub api_username: &'a str,
    pub api_secret: &'a str,
}

/// What the banner and the ready line say about the connection.
#[derive(Debug, Clone)]
pub struct DemoConnection {
    pub relationship: Relationship,
    /// Whether this run configured it (a fresh connection, or one an earlier run left unfinished).
    pub configured_now: bool,
}

/// Connects and configures the two demo organisations, or finds the connection an earlier run
/// made with this data directory.
pub async fn connect_demo_organisations(
    store: &Arc<dyn Store>,
    autotask: &AutotaskSettings,
    source: &DemoSide<'_>,
    target: &DemoSide<'_>,
) -> anyhow::Result<DemoConnection> {
    let connections = Connections::new(
        store.clone(),
        store.clone(),
        Arc::new(SystemClock),
        WrongCodeThrottle::default(),
    );
    let relationship = find_or_connect(&connections, source.org_id, target.org_id).await?;
    let already_configured = store
        .integration_config(relationship.id, source.org_id)
        .await
        .context("cannot read the demo connection's configuration")?
        .is_some()
        && store
            .integration_config(relationship.id, target.org_id)
            .await
            .context("cannot read the demo connection's configuration")?
            .is_some();
    if already_configured {
        return Ok(DemoConnection {
            relationship,
            configured_now: false,
        });
    }

    let service = AutotaskService::new(autotask.clone())
        .context("cannot set up the Autotask client for the demo")?;
    let source_choices = tenant_choices(&service, source).await?;
    let target_choices = tenant_choices(&service, target).await?;
    let tenants = AutotaskTenants::new(
        ConnectionTester::with_service(service.clone()),
        Arc::new(SystemClock),
    );
    let configuration = ConfigurationService::new(store.clone(), store.clone(), Arc::new(tenants));
    // Contoso (the source) sets up what both share: mappings and the description composition.
    let source_scope = configuration
        .scope(source.org_id, relationship.id)
        .await
        .map_err(|error| {
            anyhow::anyhow!("cannot open the demo connection's configuration: {error}")
        })?;
    if store
        .field_mappings(relationship.id)
        .await
        .context("cannot read the demo field mappings")?
        .is_empty()
    {
        for mapping in field_mappings(&relationship, &source_choices, &target_choices) {
            let field = mapping.source_field.clone();
            configuration
                .create_mapping(
                    &source_scope,
                    MappingDraft {
                        ticket_type: mapping.ticket_type,
                        source_field: mapping.source_field,
                        target_field: mapping.target_field,
                        direction: mapping.direction,
                        value_mappings: mapping.value_mappings,
                    },
                )
                .await
                .map_err(|error| {
                    anyhow::anyhow!("cannot save the demo field mapping of {field}: {error}")
                })?;
        }
    }
    if store
        .description_composition(relationship.id)
        .await
        .context("cannot read the demo description composition")?
        .is_none()
    {
        configuration
            .save_composition(&source_scope, &description_composition())
            .await
            .map_err(|error| {
                anyhow::anyhow!("cannot save the demo description composition: {error}")
            })?;
    }
    for (side, choices, role) in [
        (target, &target_choices, Role::Target),
        (source, &source_choices, Role::Source),
    ] {
        let partner = if role == Role::Source { target } else { source };
        let scope = configuration
            .scope(side.org_id, relationship.id)
            .await
            .map_err(|error| {
                anyhow::anyhow!("cannot open {}'s demo configuration: {error}", side.name)
            })?;
        configuration
            .save_side(&scope, {
                let mut config = side_config(choices, partner.name);
                // The customer (Source) sees the time its provider logs, as notes.
                if role == Role::Source {
                    config.time_entries.arrive_as = TimeArrival::Notes;
                }
                config
            })
            .await
            .map_err(|error| {
                anyhow::anyhow!("cannot save {}'s demo configuration: {error}", side.name)
            })?;
    }
    Ok(DemoConnection {
        relationship,
        configured_now: true,
    })
}

/// The live demo connection between the pair, connecting them first if there is none — through
/// the same use cases as the Connections page: Contoso creates it, Northwind accepts the code.
async fn find_or_connect(
    connections: &Connections,
    source: OrgId,
    target: OrgId,
) -> anyhow::Result<Relationship> {
    let existing = connections
        .list(source)
        .await
        .context("cannot read the demo organisation's connections")?
        .into_iter()
        .map(|seen| seen.relationship)
        .find(|relationship| {
            relationship.contract_name == CONTRACT_NAME
                && relationship.state != RelationshipState::Revoked
                && (relationship.involves(target)
                    || (relationship.state == RelationshipState::Pending
                        && relationship.initiator == source))
        });
    match existing {
        Some(relationship) if relationship.state != RelationshipState::Pending => Ok(relationship),
        // An earlier run stopped between issuing the code and accepting it: the code was never
        // kept (only its digest is stored), so issue a new one and accept that.
        Some(pending) => {
            let reissued = connections
                .perform(source, pending.id, LifecycleAction::Reissue)
                .await
                .context("cannot re-issue the demo connection's code")?;
            let code = reissued
                .new_code
                .context("re-issuing the demo connection's code gave no code")?;
            accept(connections, target, &code).await
        }
        None => {
            let new = NewConnection::new(Role::Source, CONTRACT_NAME)
                .context("the demo connection's contract name is not acceptable")?;
            let issued = connections
                .create(source, new)
                .await
                .context("cannot create the demo connection")?;
            accept(connections, target, &issued.code).await
        }
    }
}

/// The target accepts the code right away; it is never shown.
async fn accept(
    connections: &Connections,
    target: OrgId,
    code: &VerificationCode,
) -> anyhow::Result<Relationship> {
    connections
        .accept(target, code.as_str())
        .await
        .map(|seen| seen.relationship)
        .context("the demo connection was not accepted")
}

async fn tenant_choices(
    service: &AutotaskService,
    side: &DemoSide<'_>,
) -> anyhow::Result<TenantChoices> {
    let client = service.client(Credentials::new(
        side.api_username,
        SecretString::from(side.api_secret.to_owned()),
    ));
    load_choices(&client)
        .await
        .with_context(|| format!("cannot load {}'s choices from the simulator", side.name))
}

/// What one side decides, from its own tenant's choices. Both sides get receive defaults (the
/// Target receives new tickets; the Source receives updates and comments back, and new tickets
/// too should reverse sync be turned on), a send filter, and the closure statuses.
fn side_config(choices: &TenantChoices, partner_name: &str) -> SideConfig {
    let partner_company = labelled(choices, "company", &[partner_name]);
    let public_publish = labelled(choices, "note_publish", &["All Autotask Users"])
        .or_else(|| default_of(choices, "note_publish"));
    let internal_publish_levels: Vec<ChoiceValue> = active(choices, "note_publish")
        .filter(|value| Some(value) != public_publish.as_ref())
        .collect();
    let internal_publish = containing(choices, "note_publish", "internal")
        .or_else(|| internal_publish_levels.first().cloned());
    let complete = labelled(choices, "status", &["Complete"]);
    SideConfig {
        receive: ReceiveDefaults {
            company: partner_company.clone(),
            queue: preferred(
                choices,
                "queue",
                &["Level I Support", "Service Desk", "Triage"],
            ),
            status: labelled(choices, "status", &["New"]),
            priority: preferred(choices, "priority", &["Medium", "Normal"]),
            ticket_type: preferred(choices, "ticket_type", &["Service Request"]),
            ticket_category: default_of(choices, "ticket_category"),
            source: preferred(choices, "source", &["Web Service"]),
            // The customer's own classification arrives through the field mappings.
            issue_type: None,
            sub_issue_type: None,
            public_comment: NoteDefaults {
                note_type: preferred(choices, "note_type", &["Task Notes"]),
                publish: public_publish.clone(),
            },
            internal_comment: NoteDefaults {
                note_type: labelled(choices, "note_type", &["Internal"])
                    .or_else(|| preferred(choices, "note_type", &["Task Notes"])),
                publish: internal_publish,
            },
            attachment_publish: labelled(choices, "attachment_publish", &["All Autotask Users"])
                .or_else(|| default_of(choices, "attachment_publish")),
        },
        send: SendFilter {
            // Every queue: the demo's tickets all belong to the partner's company, which is the
            // filter that matters here.
            queues: Vec::new(),
            // The relationship's company scope (privacy rule): both sides send only tickets of
            // the company that represents the partner.
            partner_company,
            categories: Vec::new(),
            public_publish_levels: public_publish.into_iter().collect(),
            internal_publish_levels,
        },
        options: SyncOptions::default(),
        reverse_sync: Default::default(),
        closure: ClosureSettings {
            closed_statuses: complete.iter().cloned().collect(),
            status_when_partner_closes: complete,
        },
        time_entries: Default::default(),
        override_api_settings: false,
    }
}

/// Label pairs "match by label" cannot find but a person would map: the customer's
/// "With Provider" is the MSP's "In Progress", its "Normal" priority the MSP's "Medium".
/// Applied only where both labels exist in the live choices and the source value is unmapped.
const EQUIVALENT_LABELS: &[(&str, &str, &str)] = &[
    ("status", "With Provider", "In Progress"),
    ("status", "Scheduled", "In Progress"),
    ("priority", "Normal", "Medium"),
    ("priority", "Medium", "Normal"),
];

/// The adapter's default mapping set, each picklist field's values matched by label between the
/// two tenants (plus the [`EQUIVALENT_LABELS`]).
fn field_mappings(
    relationship: &Relationship,
    source: &TenantChoices,
    target: &TenantChoices,
) -> Vec<FieldMapping> {
    let source_fields = ticket_fields(source);
    default_field_mappings(relationship.id)
        .into_iter()
        .map(|mut mapping| {
            let Some(field) = source_fields
                .iter()
                .find(|field| field.name == mapping.source_field)
            else {
                return mapping;
            };
            let Some(list) = field.picklist else {
                return mapping;
            };
            mapping.value_mappings = suggested_value_mappings(field, source, target);
            for (_, source_label, target_label) in EQUIVALENT_LABELS
                .iter()
                .filter(|(equivalent_list, _, _)| *equivalent_list == list)
            {
                let (Some(from), Some(to)) = (
                    labelled(source, list, &[source_label]),
                    labelled(target, list, &[target_label]),
                ) else {
                    continue;
                };
                if mapping.target_for(&from).is_none() {
                    mapping.value_mappings.push(ValueMapping {
                        source: from,
                        target: to,
                    });
                }
            }
            mapping
        })
        .collect()
}

/// "Customer ticket: T2026…", "Contact: Chris Green", "Customer priority: Normal", a separator,
/// then the customer's own description.
fn description_composition() -> DescriptionComposition {
    DescriptionComposition {
        fields: [
            ("ticketNumber", "Customer ticket"),
            ("contactID", "Contact"),
            ("priority", "Customer priority"),
        ]
        .into_iter()
        .map(|(field, label)| ComposedField {
            field: field.to_owned(),
            label: label.to_owned(),
        })
        .collect(),
        ..DescriptionComposition::default()
    }
}

/// Active values of a list.
fn active<'a>(choices: &'a TenantChoices, list: &str) -> impl Iterator<Item = ChoiceValue> + 'a {
    choices
        .list_ref(list)
        .iter()
        .filter(|choice| choice.is_active)
        .map(|choice| choice.value.clone())
}

/// The first active value whose label is one of `labels` (tried in order, case ignored).
fn labelled(choices: &TenantChoices, list: &str, labels: &[&str]) -> Option<ChoiceValue> {
    let options = choices.list_ref(list);
    labels.iter().find_map(|label| {
        options
            .iter()
            .find(|choice| choice.is_active && choice.label.eq_ignore_ascii_case(label.trim()))
            .map(|choice| choice.value.clone())
    })
}

/// The first active value whose label contains `needle` (case ignored).
fn containing(choices: &TenantChoices, list: &str, needle: &str) -> Option<ChoiceValue> {
    choices
        .list_ref(list)
        .iter()
        .find(|choice| choice.is_active && choice.label.to_lowercase().contains(needle))
        .map(|choice| choice.value.clone())
}

/// The tenant's active default value of a list, else its first active value.
fn default_of(choices: &TenantChoices, list: &str) -> Option<ChoiceValue> {
    let options = choices.list_ref(list);
    options
        .iter()
        .find(|choice| choice.is_active && choice.is_default)
        .or_else(|| options.iter().find(|choice| choice.is_active))
        .map(|choice| choice.value.clone())
}

/// A value by label, else the tenant's default, else the first active value.
fn preferred(choices: &TenantChoices, list: &str, labels: &[&str]) -> Option<ChoiceValue> {
    labelled(choices, list, labels).or_else(|| default_of(choices, list))
}

#[cfg(test)]
mod tests {
    use fusion_domain::{Choice, RelationshipId, SyncReadiness};
    use time::OffsetDateTime;

    use super::*;

    fn choice(value: i64, label: &str, is_default: bool) -> Choice {
        Choice {
            value: value.into(),
            label: label.to_owned(),
            is_active: true,
            is_default,
            parent: None,
        }
    }

    fn tenant(statuses: &[(i64, &str)], priorities: &[(i64, &str)]) -> TenantChoices {
        let list = |items: &[(i64, &str)]| {
            items
                .iter()
                .map(|(value, label)| choice(*value, label, false))
                .collect::<Vec<_>>()
        };
        TenantChoices::from_lists(
            [
                ("status", list(statuses)),
                ("priority", list(priorities)),
                (
                    "note_publish",
                    list(&[
                        (1, "All Autotask Users"),
                        (2, "Internal Only"),
                        (4, "Co-Managed"),
                    ]),
                ),
                ("company", list(&[(900, "Partner Ltd"), (901, "Other")])),
                (
                    "queue",
                    vec![choice(70, "Projects", false), choice(71, "Helpdesk", true)],
                ),
            ],
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn relationship() -> Relationship {
        Relationship {
            id: RelationshipId::new(),
            contract_name: CONTRACT_NAME.to_owned(),
            initiator: OrgId::new(),
            initiator_role: Role::Source,
            partner: Some(OrgId::new()),
            state: RelationshipState::Active,
            readiness: SyncReadiness::InitialSyncRequired,
            code_expires_at: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            activated_at: None,
        }
    }

    #[test]
    fn a_side_is_configured_from_labels_and_defaults_of_its_own_tenant() {
        let choices = tenant(&[(3, "New"), (9, "Complete")], &[(4, "Medium")]);
        let config = side_config(&choices, "partner ltd");
        assert_eq!(config.receive.company, Some(900.into()));
        assert_eq!(config.send.partner_company, Some(900.into()));
        assert_eq!(
            config.receive.queue,
            Some(71.into()),
            "no preferred label: the tenant's default queue"
        );
        assert_eq!(config.receive.status, Some(3.into()));
        assert_eq!(config.receive.priority, Some(4.into()));
        assert_eq!(config.closure.closed_statuses, vec![ChoiceValue::from(9)]);
        assert_eq!(config.closure.status_when_partner_closes, Some(9.into()));
        assert_eq!(
            config.send.public_publish_levels,
            vec![ChoiceValue::from(1)]
        );
        assert_eq!(
            config.send.internal_publish_levels,
            vec![ChoiceValue::from(2), ChoiceValue::from(4)]
        );
        assert_eq!(config.receive.internal_comment.publish, Some(2.into()));
        assert!(
            config.warnings(&|list| choices.list(list)).is_empty(),
            "every chosen value exists in the tenant"
        );
    }

    #[test]
    fn the_target_sends_only_tickets_of_the_partners_company_too() {
        let choices = tenant(&[(1, "New")], &[]);
        let config = side_config(&choices, "Partner Ltd");
        assert_eq!(config.receive.company, Some(900.into()));
        assert_eq!(config.company_scope(), Some(&900.into()));
        assert_eq!(config.send.partner_company, Some(900.into()));
        assert_eq!(config.scope_errors(), vec![]);
    }

    #[test]
    fn status_and_priority_values_are_matched_by_label_and_by_known_equivalents() {
        let source = tenant(
            &[
                (1, "New"),
                (5, "Complete"),
                (12, "With Provider"),
                (14, "Odd"),
            ],
            &[(2, "Normal"), (1, "High")],
        );
        let target = tenant(
            &[(10, "new"), (50, "Complete"), (80, "In Progress")],
            &[(7, "Medium"), (6, "High")],
        );
        let mappings = field_mappings(&relationship(), &source, &target);
        let status = mappings
            .iter()
            .find(|mapping| mapping.source_field == "status")
            .expect("status is mapped by default");
        let pairs: Vec<(String, String)> = status
            .value_mappings
            .iter()
            .map(|pair| {
                (
                    pair.source.as_str().to_owned(),
                    pair.target.as_str().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [("1", "10"), ("5", "50"), ("12", "80")]
                .map(|(source, target)| (source.to_owned(), target.to_owned()))
        );
        let priority = mappings
            .iter()
            .find(|mapping| mapping.source_field == "priority")
            .expect("priority is mapped by default");
        assert_eq!(priority.target_for(&2.into()), Some(&7.into()));
        assert_eq!(priority.target_for(&1.into()), Some(&6.into()));
        let title = mappings
            .iter()
            .find(|mapping| mapping.source_field == "title")
            .expect("title is mapped by default");
        assert!(title.value_mappings.is_empty());
    }
}
