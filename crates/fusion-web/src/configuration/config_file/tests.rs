//! Unit tests of the configuration file format: round trips, the scope words, and errors that
//! name the line and field without echoing values.

use proptest::prelude::*;

use super::*;

fn arb_code() -> impl Strategy<Value = ChoiceValue> {
    prop_oneof![
        any::<i64>().prop_map(ChoiceValue::from),
        (0i64..40_000_000).prop_map(ChoiceValue::from),
        "(?s).{0,12}".prop_map(ChoiceValue::new),
    ]
}

fn arb_option() -> impl Strategy<Value = Option<ChoiceValue>> {
    proptest::option::of(arb_code())
}

fn arb_codes() -> impl Strategy<Value = Vec<ChoiceValue>> {
    proptest::collection::vec(arb_code(), 0..4)
}

fn arb_text() -> impl Strategy<Value = String> {
    "(?s).{0,16}"
}

fn arb_side() -> impl Strategy<Value = SideConfig> {
    let receive = (
        (
            arb_option(),
            arb_option(),
            arb_option(),
            arb_option(),
            arb_option(),
            arb_option(),
        ),
        (
            arb_option(),
            arb_option(),
            arb_option(),
            (arb_option(), arb_option()),
            (arb_option(), arb_option()),
            arb_option(),
        ),
    )
        .prop_map(
            |(
                (company, queue, status, priority, ticket_type, ticket_category),
                (source, issue_type, sub_issue_type, public, internal, attachment_publish),
            )| ReceiveDefaults {
                company,
                queue,
                status,
                priority,
                ticket_type,
                ticket_category,
                source,
                issue_type,
                sub_issue_type,
                public_comment: NoteDefaults {
                    note_type: public.0,
                    publish: public.1,
                },
                internal_comment: NoteDefaults {
                    note_type: internal.0,
                    publish: internal.1,
                },
                attachment_publish,
            },
        );
    let send = (
        arb_codes(),
        arb_option(),
        arb_codes(),
        arb_codes(),
        arb_codes(),
    )
        .prop_map(
            |(queues, partner_company, categories, public, internal)| SendFilter {
                queues,
                partner_company,
                categories,
                public_publish_levels: public,
                internal_publish_levels: internal,
            },
        );
    let options =
        any::<(bool, bool, bool)>().prop_map(|(public, internal, attachments)| SyncOptions {
            public_comments: public,
            internal_comments: internal,
            attachments,
        });
    let reverse =
        (any::<bool>(), arb_codes(), arb_option()).prop_map(|(enabled, queues, company)| {
            ReverseSync {
                enabled,
                queues,
                company,
            }
        });
    let closure = (arb_codes(), arb_option()).prop_map(|(closed, status)| ClosureSettings {
        closed_statuses: closed,
        status_when_partner_closes: status,
    });
    let time_entries = (
        0..3_u8,
        any::<bool>(),
        (arb_option(), arb_option(), arb_option()),
        any::<bool>(),
    )
        .prop_map(
            |(arrival, public_only, (fallback_resource, role, billing_code), billable)| {
                fusion_domain::TimeEntrySettings {
                    arrive_as: match arrival {
                        0 => fusion_domain::TimeArrival::Off,
                        1 => fusion_domain::TimeArrival::Notes,
                        _ => fusion_domain::TimeArrival::TimeEntries,
                    },
                    send: if public_only {
                        fusion_domain::TimeSendFilter::PublicSummaryOnly
                    } else {
                        fusion_domain::TimeSendFilter::All
                    },
                    fallback_resource,
                    role,
                    billing_code,
                    billable,
                }
            },
        );
    (
        receive,
        send,
        options,
        reverse,
        closure,
        (time_entries, any::<bool>()),
    )
        .prop_map(
            |(
                receive,
                send,
                options,
                reverse_sync,
                closure,
                (time_entries, override_api_settings),
            )| {
                SideConfig {
                    receive,
                    send,
                    options,
                    reverse_sync,
                    closure,
                    time_entries,
                    override_api_settings,
                }
            },
        )
}

fn arb_direction() -> impl Strategy<Value = MappingDirection> {
    prop_oneof![
        Just(MappingDirection::SourceToTarget),
        Just(MappingDirection::TargetToSource),
        Just(MappingDirection::Both),
    ]
}

fn arb_mappings(relationship: RelationshipId) -> impl Strategy<Value = Vec<FieldMapping>> {
    let mapping = (
        arb_text(),
        arb_text(),
        arb_text(),
        arb_direction(),
        proptest::collection::vec((arb_code(), arb_code()), 0..4),
    )
        .prop_map(
            move |(ticket_type, source, target, direction, values)| FieldMapping {
                id: FieldMappingId::new(),
                relationship_id: relationship,
                ticket_type,
                source_field: source,
                target_field: target,
                direction,
                value_mappings: values
                    .into_iter()
                    .map(|(source, target)| ValueMapping { source, target })
                    .collect(),
            },
        );
    proptest::collection::vec(mapping, 0..4)
}

fn arb_composition() -> impl Strategy<Value = Option<DescriptionComposition>> {
    proptest::option::of(
        (
            arb_text(),
            proptest::collection::vec((arb_text(), arb_text()), 0..4),
        )
            .prop_map(|(separator, fields)| DescriptionComposition {
                separator,
                fields: fields
                    .into_iter()
                    .map(|(field, label)| ComposedField { field, label })
                    .collect(),
            }),
    )
}

fn labels_for(side: &SideConfig, mappings: &[FieldMapping]) -> ExportLabels {
    // Label every code so the comments are exercised on every line.
    let mut all = HashMap::new();
    let section = SideSection::from_config(None, side);
    let text = serde_json::to_string(&section).unwrap_or_default();
    for word in text.split(|c: char| !c.is_ascii_digit() && c != '-') {
        if let Ok(number) = word.parse::<i64>() {
            all.insert(ChoiceValue::from(number), format!("Label # {number} \" ]"));
        }
    }
    let mut side_labels = HashMap::new();
    for list in [
        "company",
        "queue",
        "status",
        "priority",
        "ticket_type",
        "ticket_category",
        "source",
        "issue_type",
        "sub_issue_type",
        "note_publish",
        "note_type",
        "attachment_publish",
    ] {
        side_labels.insert(list, all.clone());
    }
    ExportLabels {
        side: side_labels,
        mapping_values: mappings
            .iter()
            .map(|mapping| {
                let source = mapping
                    .value_mappings
                    .iter()
                    .map(|value| (value.source.clone(), "Source\nlabel".to_owned()))
                    .collect();
                let target = mapping
                    .value_mappings
                    .iter()
                    .map(|value| (value.target.clone(), "Target label".to_owned()))
                    .collect();
                (source, target)
            })
            .collect(),
    }
}

fn without_ids(mappings: &[FieldMapping]) -> Vec<FieldMapping> {
    let fixed = FieldMappingId::from_uuid(uuid::Uuid::nil());
    mappings
        .iter()
        .cloned()
        .map(|mut mapping| {
            mapping.id = fixed;
            mapping
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn export_then_import_gives_back_exactly_the_same_configuration(
        side in arb_side(),
        role in prop_oneof![Just(Role::Source), Just(Role::Target)],
        (relationship, mappings) in Just(RelationshipId::new()).prop_flat_map(|id| (Just(id), arb_mappings(id))),
        composition in arb_composition(),
        scope in proptest::option::of(arb_text()),
    ) {
        let mut document = ConfigDocument::new(role, &side, &mappings, composition.as_ref());
        document.scope = scope;
        let labels = labels_for(&side, &mappings);
        for format in [FileFormat::Toml, FileFormat::Json] {
            let text = export(&document, format, "Exported by a test\nsecond line", &labels)
                .map_err(|error| TestCaseError::fail(error.to_string()))?;
            let parsed = parse(&text, format)
                .map_err(|problem| TestCaseError::fail(format!("{problem}\n{text}")))?;
            prop_assert_eq!(FileFormat::sniff(&text), format);
            let imported = parsed.into_imported(relationship);
            prop_assert_eq!(imported.role, Some(role));
            prop_assert_eq!(&imported.side, &side);
            prop_assert_eq!(without_ids(&imported.mappings), without_ids(&mappings));
            prop_assert_eq!(&imported.composition, &composition);
        }
    }
}

#[test]
fn toml_export_names_codes_by_their_labels_in_comments() {
    let mut side = SideConfig::default();
    side.receive.queue = Some(29683354.into());
    side.send.queues = vec![29683354.into(), 29683355.into()];
    let mut labels = ExportLabels::default();
    labels.side.insert(
        "queue",
        HashMap::from([
            (ChoiceValue::from(29683354), "Level I Support".to_owned()),
            (ChoiceValue::from(29683355), "Level II Support".to_owned()),
        ]),
    );
    let document = ConfigDocument::new(Role::Target, &side, &[], None);
    let text = export(&document, FileFormat::Toml, "heading", &labels).unwrap_or_default();
    assert!(
        text.contains("queue = 29683354  # Level I Support"),
        "{text}"
    );
    assert!(
        text.contains("# Level I Support, Level II Support"),
        "{text}"
    );
    assert!(text.starts_with("# heading\n"), "{text}");
}

#[test]
fn the_scope_is_written_for_people_and_ignored_on_import() {
    let mut side = SideConfig::default();
    side.receive.company = Some(29_000_001.into());
    let side = side.with_scope_filters();
    let sentence = side.scope_sentence(Some("Contoso Manufacturing"), "Northwind IT");
    let document = ConfigDocument::new(Role::Target, &side, &[], None).with_scope(sentence);
    for format in [FileFormat::Toml, FileFormat::Json] {
        let text =
            export(&document, format, "heading", &ExportLabels::default()).unwrap_or_default();
        assert!(
            text.contains("Only tickets of Contoso Manufacturing are sent to Northwind IT"),
            "{text}"
        );
        let edited = text.replace("Contoso Manufacturing", "Fabrikam");
        let imported = parse(&edited, format)
            .map(|document| document.into_imported(RelationshipId::new()))
            .map_err(|problem| problem.to_string());
        assert_eq!(imported.map(|imported| imported.side), Ok(side.clone()));
    }
    let toml = export(
        &document,
        FileFormat::Toml,
        "heading",
        &ExportLabels::default(),
    )
    .unwrap_or_default();
    assert!(
        toml.contains("version = 1\nscope = \"Only tickets of"),
        "next to the version, before the side: {toml}"
    );
}

fn problem(text: &str, format: FileFormat) -> ImportProblem {
    match parse(text, format) {
        Ok(document) => panic!("accepted: {document:?}"),
        Err(problem) => problem,
    }
}

#[test]
fn an_unknown_key_is_refused_naming_its_line_and_field() {
    let text = "version = 1\n\n[side]\nrole = \"target\"\n\n[side.options]\npublic_comments = true\nsend_everything = true\n";
    let found = problem(text, FileFormat::Toml);
    assert_eq!(found.line, Some(8), "{found}");
    assert_eq!(found.field.as_deref(), Some("side.options.send_everything"));
}

#[test]
fn an_unknown_direction_is_refused_naming_its_line_and_field() {
    let text = "version = 1\n[side]\n\n[[mappings]]\nsource_field = \"status\"\ntarget_field = \"status\"\ndirection = \"Sideways\"\n";
    let found = problem(text, FileFormat::Toml);
    assert_eq!(found.line, Some(7), "{found}");
    assert_eq!(found.field.as_deref(), Some("mappings[0].direction"));
    assert!(found.message.contains("Sideways"), "{found}");
}

#[test]
fn a_wrong_type_and_broken_syntax_are_refused_with_their_line() {
    let wrong = problem(
        "version = 1\n[side.options]\nattachments = \"yes\"\n",
        FileFormat::Toml,
    );
    assert_eq!(wrong.line, Some(3), "{wrong}");
    assert_eq!(wrong.field.as_deref(), Some("side.options.attachments"));
    let broken = problem("version = 1\n[side\nrole = 1\n", FileFormat::Toml);
    assert_eq!(broken.line, Some(2), "{broken}");
    let json = problem(
        "{\n  \"version\": 1,\n  \"side\": {\n    \"options\": {\"attachments\": 3}\n  }\n}",
        FileFormat::Json,
    );
    assert_eq!(json.line, Some(4), "{json}");
    assert_eq!(json.field.as_deref(), Some("side.options.attachments"));
    let version = problem("version = 2\n[side]\n", FileFormat::Toml);
    assert_eq!(version.field.as_deref(), Some("version"));
    assert_eq!(version.line, Some(1));
}

/// Issue 16, "Also": any text at all, as TOML or JSON or sniffed, is either a configuration or a
/// refusal that says where and what (never a panic).
fn hostile_file() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<String>(),
        Just("format_version = 1\n".to_owned()),
        Just("[side]\n".to_owned()),
        Just("[[mappings]]\nsource_field = \"status\"\n".to_owned()),
        Just("direction = \"Both\"\n".to_owned()),
        Just("values = [{ source = 1, target = \"x\" }]\n".to_owned()),
        Just("{\"format_version\": 1, \"mappings\": [".to_owned()),
        Just("\u{202E}\r\n\0".to_owned()),
        Just("[".repeat(100)),
        Just("9".repeat(400)),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn any_file_is_read_or_refused_with_a_message(text in hostile_file()) {
        for format in [FileFormat::Toml, FileFormat::Json, FileFormat::sniff(&text)] {
            if let Err(problem) = parse(&text, format) {
                prop_assert!(!problem.to_string().trim().is_empty());
            }
        }
    }
}
