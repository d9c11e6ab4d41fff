//! The Integration configuration form: its sections of selects and checkboxes, built from my
//! side's `SideConfig` and my tenant's live choices, and the posted form read back into a
//! `SideConfig`.
//!
//! There is no company choice for the send filter or reverse sync: both only ever carry tickets of
//! the company under "Tickets you receive" (the side's `company_scope`), which their sections
//! say in words. The form still reads `send_partner_company` and `reverse_company` when they are
//! posted (an old form, a hand-made post), so that naming another company is refused on saving
//! rather than narrowed silently.

use fusion_domain::{
    Choice, ChoiceValue, NoteDefaults, SideConfig, TimeArrival, TimeEntrySettings, TimeSendFilter,
};
use fusion_engine::configuration::LoadedChoices as Loaded;
use serde::Deserialize;

use super::options::{OptionView, option_label, options_for, value, values};
use crate::page_chrome::PageForm;

/// Options under a heading (sub-issue types under their issue type).
pub(crate) struct GroupView {
    pub label: String,
    pub options: Vec<OptionView>,
}

/// One `<select>` of the configuration form.
pub(crate) struct SelectView {
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub multiple: bool,
    pub options: Vec<OptionView>,
    pub groups: Vec<GroupView>,
}

pub(crate) struct CheckboxView {
    pub name: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// One section of the configuration form.
pub(crate) struct SectionView {
    pub id: &'static str,
    pub title: &'static str,
    pub help: &'static str,
    /// Which company's tickets the section's settings apply to, in words (send and reverse sync).
    pub scope: Option<String>,
    pub checkboxes: Vec<CheckboxView>,
    pub selects: Vec<SelectView>,
}

fn list(choices: &Loaded, name: &str) -> Vec<Choice> {
    choices
        .as_ref()
        .map(|choices| choices.list(name))
        .unwrap_or_default()
}

fn single(
    choices: &Loaded,
    list_name: &str,
    name: &'static str,
    label: &'static str,
    help: &'static str,
    value: &Option<ChoiceValue>,
) -> SelectView {
    let selected: Vec<ChoiceValue> = value.iter().cloned().collect();
    SelectView {
        name,
        label,
        help,
        multiple: false,
        options: options_for(&list(choices, list_name), &selected),
        groups: Vec::new(),
    }
}

fn multiple(
    choices: &Loaded,
    list_name: &str,
    name: &'static str,
    label: &'static str,
    help: &'static str,
    values: &[ChoiceValue],
) -> SelectView {
    SelectView {
        name,
        label,
        help,
        multiple: true,
        options: options_for(&list(choices, list_name), values),
        groups: Vec::new(),
    }
}

/// Sub-issue types grouped by issue type ("Hardware › Printer"), so the choice makes sense
/// without JavaScript filtering.
fn sub_issue_select(choices: &Loaded, value: &Option<ChoiceValue>) -> SelectView {
    let issues = list(choices, "issue_type");
    let subs = list(choices, "sub_issue_type");
    let selected: Vec<ChoiceValue> = value.iter().cloned().collect();
    let groups: Vec<GroupView> = issues
        .iter()
        .map(|issue| GroupView {
            label: issue.label.clone(),
            options: subs
                .iter()
                .filter(|sub| sub.parent.as_ref() == Some(&issue.value))
                .map(|sub| OptionView {
                    value: sub.value.as_str().to_owned(),
                    label: format!("{} › {}", issue.label, option_label(sub)),
                    selected: selected.contains(&sub.value),
                })
                .collect(),
        })
        .filter(|group| !group.options.is_empty())
        .collect();
    let grouped: Vec<&Choice> = subs
        .iter()
        .filter(|sub| {
            sub.parent
                .as_ref()
                .is_some_and(|parent| issues.iter().any(|issue| &issue.value == parent))
        })
        .collect();
    let ungrouped: Vec<Choice> = subs
        .iter()
        .filter(|sub| !grouped.iter().any(|g| g.value == sub.value))
        .cloned()
        .collect();
    let mut options: Vec<OptionView> = options_for(&ungrouped, &[])
        .into_iter()
        .map(|mut option| {
            option.selected = selected.iter().any(|value| value.as_str() == option.value);
            option
        })
        .collect();
    if let Some(value) = value
        && !subs.iter().any(|sub| &sub.value == value)
    {
        options.push(OptionView {
            value: value.as_str().to_owned(),
            label: format!("{} (not in your tenant)", value.as_str()),
            selected: true,
        });
    }
    SelectView {
        name: "sub_issue_type",
        label: "Sub-issue type",
        help: "Listed under its issue type; it must belong to the issue type chosen above.",
        multiple: false,
        options,
        groups,
    }
}

fn note_selects(choices: &Loaded, notes: &NoteDefaults, kind: &'static str) -> [SelectView; 2] {
    let (type_name, type_label, publish_name, publish_label) = if kind == "public" {
        (
            "public_note_type",
            "Note type for public comments",
            "public_note_publish",
            "Publish level for public comments",
        )
    } else {
        (
            "internal_note_type",
            "Note type for internal comments",
            "internal_note_publish",
            "Publish level for internal comments",
        )
    };
    [
        single(
            choices,
            "note_type",
            type_name,
            type_label,
            "",
            &notes.note_type,
        ),
        single(
            choices,
            "note_publish",
            publish_name,
            publish_label,
            "",
            &notes.publish,
        ),
    ]
}

/// The form's sections; `scope_sentence` is the side's company scope in words.
pub(super) fn sections(
    side: &SideConfig,
    choices: &Loaded,
    scope_sentence: &str,
) -> Vec<SectionView> {
    let receive = &side.receive;
    let mut receive_selects = vec![
        single(
            choices,
            "company",
            "company",
            "Company",
            "The company in your Autotask that represents the partner. Only this company's tickets are sent to the partner and kept in step.",
            &receive.company,
        ),
        single(choices, "queue", "queue", "Queue", "", &receive.queue),
        single(
            choices,
            "status",
            "status",
            "Status for new tickets",
            "",
            &receive.status,
        ),
        single(
            choices,
            "priority",
            "priority",
            "Priority",
            "",
            &receive.priority,
        ),
        single(
            choices,
            "ticket_type",
            "ticket_type",
            "Ticket type",
            "",
            &receive.ticket_type,
        ),
        single(
            choices,
            "ticket_category",
            "ticket_category",
            "Ticket category",
            "",
            &receive.ticket_category,
        ),
        single(choices, "source", "source", "Source", "", &receive.source),
        single(
            choices,
            "issue_type",
            "issue_type",
            "Issue type",
            "",
            &receive.issue_type,
        ),
        sub_issue_select(choices, &receive.sub_issue_type),
    ];
    receive_selects.extend(note_selects(choices, &receive.public_comment, "public"));
    receive_selects.extend(note_selects(choices, &receive.internal_comment, "internal"));
    receive_selects.push(single(
        choices,
        "attachment_publish",
        "attachment_publish",
        "Publish level for attachments",
        "",
        &receive.attachment_publish,
    ));
    let send = &side.send;
    vec![
        SectionView {
            id: "receive",
            title: "Tickets you receive",
            help: "What is set on tickets your partner sends you. Leave a box empty to use your tenant's default.",
            scope: None,
            checkboxes: Vec::new(),
            selects: receive_selects,
        },
        SectionView {
            id: "send",
            title: "Tickets you send",
            help: "Which of your tickets and comments go to the partner. No queue or category chosen means all of them.",
            scope: Some(scope_sentence.to_owned()),
            checkboxes: Vec::new(),
            selects: vec![
                multiple(
                    choices,
                    "queue",
                    "send_queues",
                    "Queues",
                    "Tick every queue whose tickets go to the partner; none ticked means all.",
                    &send.queues,
                ),
                multiple(
                    choices,
                    "ticket_category",
                    "send_categories",
                    "Ticket categories",
                    "",
                    &send.categories,
                ),
                multiple(
                    choices,
                    "note_publish",
                    "public_publish_levels",
                    "Note publish levels that count as public comments",
                    "",
                    &send.public_publish_levels,
                ),
                multiple(
                    choices,
                    "note_publish",
                    "internal_publish_levels",
                    "Note publish levels that count as internal comments",
                    "",
                    &send.internal_publish_levels,
                ),
            ],
        },
        SectionView {
            id: "options",
            title: "Sync options",
            help: "What flows besides the ticket itself.",
            scope: None,
            checkboxes: vec![
                CheckboxView {
                    name: "public_comments",
                    label: "Public comments",
                    checked: side.options.public_comments,
                },
                CheckboxView {
                    name: "internal_comments",
                    label: "Internal comments",
                    checked: side.options.internal_comments,
                },
                CheckboxView {
                    name: "attachments",
                    label: "Attachments",
                    checked: side.options.attachments,
                },
            ],
            selects: Vec::new(),
        },
        SectionView {
            id: "time",
            title: "Time entries",
            help: "Time your partner logs on its copy of a synced ticket can arrive here as notes \
                   (who, when, hours and summary, with the note type and publish level for public \
                   comments above; an edit or a deletion arrives as a follow-up note) or as real \
                   time entries on your ticket (logged by the resource with the worker's e-mail, \
                   else the fallback resource, under the role and work type below; an edit or a \
                   deletion changes or deletes it). Internal notes, rates, costs and billing \
                   amounts never cross.",
            scope: None,
            checkboxes: vec![
                CheckboxView {
                    name: "time_billable",
                    label: "The partner's hours are billable here (as time entries)",
                    checked: side.time_entries.billable,
                },
                CheckboxView {
                    name: "time_public_only",
                    label: "Send only my time entries whose summary is public (Show on invoice)",
                    checked: side.time_entries.send == TimeSendFilter::PublicSummaryOnly,
                },
            ],
            selects: vec![
                SelectView {
                    name: "time_arrive_as",
                    label: "The partner's time entries arrive",
                    help: "",
                    multiple: false,
                    options: [
                        TimeArrival::Off,
                        TimeArrival::Notes,
                        TimeArrival::TimeEntries,
                    ]
                    .into_iter()
                    .map(|arrival| OptionView {
                        value: arrival.as_str().to_owned(),
                        label: arrival.label().to_owned(),
                        selected: side.time_entries.arrive_as == arrival,
                    })
                    .collect(),
                    groups: Vec::new(),
                },
                single(
                    choices,
                    "resource",
                    "time_fallback_resource",
                    "Fallback resource (as time entries)",
                    "Logs the partner's time when none of your active resources has the \
                     worker's e-mail address and holds the role.",
                    &side.time_entries.fallback_resource,
                ),
                single(
                    choices,
                    "time_role",
                    "time_role",
                    "Role (as time entries)",
                    "The resource must hold it (Autotask refuses the entry otherwise).",
                    &side.time_entries.role,
                ),
                single(
                    choices,
                    "time_work_type",
                    "time_work_type",
                    "Work type (as time entries)",
                    "An active general allocation code of your tenant.",
                    &side.time_entries.billing_code,
                ),
            ],
        },
        SectionView {
            id: "reverse",
            title: "Reverse sync",
            help: "Send tickets created on the target side back to the source.",
            scope: Some(scope_sentence.to_owned()),
            checkboxes: vec![CheckboxView {
                name: "reverse_enabled",
                label: "Send tickets created on the target side back to the source",
                checked: side.reverse_sync.enabled,
            }],
            selects: vec![multiple(
                choices,
                "queue",
                "reverse_queues",
                "Only these queues",
                "",
                &side.reverse_sync.queues,
            )],
        },
        SectionView {
            id: "closure",
            title: "Closure",
            help: "Which of your statuses mean closed, and what to set when the partner closes its ticket.",
            scope: None,
            checkboxes: Vec::new(),
            selects: vec![
                multiple(
                    choices,
                    "status",
                    "closed_statuses",
                    "Statuses that mean closed",
                    "",
                    &side.closure.closed_statuses,
                ),
                single(
                    choices,
                    "status",
                    "status_when_partner_closes",
                    "Status to set when the partner closes",
                    "",
                    &side.closure.status_when_partner_closes,
                ),
            ],
        },
    ]
}

#[derive(Deserialize, Default)]
pub(super) struct ConfigurationForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    queue: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    ticket_type: String,
    #[serde(default)]
    ticket_category: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    issue_type: String,
    #[serde(default)]
    sub_issue_type: String,
    #[serde(default)]
    public_note_type: String,
    #[serde(default)]
    public_note_publish: String,
    #[serde(default)]
    internal_note_type: String,
    #[serde(default)]
    internal_note_publish: String,
    #[serde(default)]
    attachment_publish: String,
    #[serde(default)]
    send_queues: Vec<String>,
    /// Not offered any more; read so that another company is refused, not dropped.
    #[serde(default)]
    send_partner_company: String,
    #[serde(default)]
    send_categories: Vec<String>,
    #[serde(default)]
    public_publish_levels: Vec<String>,
    #[serde(default)]
    internal_publish_levels: Vec<String>,
    #[serde(default)]
    public_comments: Option<String>,
    #[serde(default)]
    internal_comments: Option<String>,
    #[serde(default)]
    attachments: Option<String>,
    #[serde(default)]
    reverse_enabled: Option<String>,
    #[serde(default)]
    reverse_queues: Vec<String>,
    /// Not offered any more; read so that another company is refused, not dropped.
    #[serde(default)]
    reverse_company: String,
    #[serde(default)]
    closed_statuses: Vec<String>,
    #[serde(default)]
    status_when_partner_closes: String,
    #[serde(default)]
    override_api_settings: Option<String>,
    /// An older form's checkbox ("as notes"); `time_arrive_as` wins when posted.
    #[serde(default)]
    time_as_notes: Option<String>,
    #[serde(default)]
    time_arrive_as: String,
    #[serde(default)]
    time_fallback_resource: String,
    #[serde(default)]
    time_role: String,
    #[serde(default)]
    time_work_type: String,
    #[serde(default)]
    time_billable: Option<String>,
    #[serde(default)]
    time_public_only: Option<String>,
}

impl PageForm for ConfigurationForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl ConfigurationForm {
    pub(super) fn into_side(self) -> SideConfig {
        SideConfig {
            receive: fusion_domain::ReceiveDefaults {
                company: value(&self.company),
                queue: value(&self.queue),
                status: value(&self.status),
                priority: value(&self.priority),
                ticket_type: value(&self.ticket_type),
                ticket_category: value(&self.ticket_category),
                source: value(&self.source),
                issue_type: value(&self.issue_type),
                sub_issue_type: value(&self.sub_issue_type),
                public_comment: NoteDefaults {
                    note_type: value(&self.public_note_type),
                    publish: value(&self.public_note_publish),
                },
                internal_comment: NoteDefaults {
                    note_type: value(&self.internal_note_type),
                    publish: value(&self.internal_note_publish),
                },
                attachment_publish: value(&self.attachment_publish),
            },
            send: fusion_domain::SendFilter {
                queues: values(&self.send_queues),
                partner_company: value(&self.send_partner_company),
                categories: values(&self.send_categories),
                public_publish_levels: values(&self.public_publish_levels),
                internal_publish_levels: values(&self.internal_publish_levels),
            },
            options: fusion_domain::SyncOptions {
                public_comments: self.public_comments.is_some(),
                internal_comments: self.internal_comments.is_some(),
                attachments: self.attachments.is_some(),
            },
            reverse_sync: fusion_domain::ReverseSync {
                enabled: self.reverse_enabled.is_some(),
                queues: values(&self.reverse_queues),
                company: value(&self.reverse_company),
            },
            closure: fusion_domain::ClosureSettings {
                closed_statuses: values(&self.closed_statuses),
                status_when_partner_closes: value(&self.status_when_partner_closes),
            },
            time_entries: TimeEntrySettings {
                arrive_as: match TimeArrival::parse(&self.time_arrive_as) {
                    Some(arrival) => arrival,
                    None if self.time_as_notes.is_some() => TimeArrival::Notes,
                    None => TimeArrival::Off,
                },
                fallback_resource: value(&self.time_fallback_resource),
                role: value(&self.time_role),
                billing_code: value(&self.time_work_type),
                billable: self.time_billable.is_some(),
                send: if self.time_public_only.is_some() {
                    TimeSendFilter::PublicSummaryOnly
                } else {
                    TimeSendFilter::All
                },
            },
            override_api_settings: self.override_api_settings.is_some(),
        }
    }
}
