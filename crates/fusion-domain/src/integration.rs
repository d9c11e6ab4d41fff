//! Integration configuration: what one organisation decides, per relationship, about the tickets it
//! receives and sends. Values are the organisation's own platform codes (for Autotask: picklist
//! values and entity ids), held as opaque [`ChoiceValue`]s; which fields exist and what they are
//! called on the wire is the adapter's business, not this crate's.

use crate::ids::{OrgId, RelationshipId};

/// One value of a platform choice list (a picklist value, a company id, a resource id), kept as
/// text so that platforms with string codes fit too. Autotask's integer codes are written in their
/// canonical decimal form, so `"08"` and `"8"` never both appear.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChoiceValue(String);

impl ChoiceValue {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        let trimmed = value.trim();
        // Canonicalise integers so picklist codes compare as numbers, never as strings.
        match trimmed.parse::<i64>() {
            Ok(number) => Self(number.to_string()),
            Err(_) => Self(trimmed.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }
}

impl From<i64> for ChoiceValue {
    fn from(value: i64) -> Self {
        Self(value.to_string())
    }
}

/// One selectable option loaded live from an organisation's tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: ChoiceValue,
    pub label: String,
    pub is_active: bool,
    pub is_default: bool,
    /// For dependent lists (sub-issue type → issue type): the parent's value.
    pub parent: Option<ChoiceValue>,
}

/// Note defaults for comments the organisation receives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoteDefaults {
    pub note_type: Option<ChoiceValue>,
    pub publish: Option<ChoiceValue>,
}

/// What is stamped on tickets this organisation receives from its partner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiveDefaults {
    /// The company (account) on this side that represents the partner.
    pub company: Option<ChoiceValue>,
    pub queue: Option<ChoiceValue>,
    pub status: Option<ChoiceValue>,
    pub priority: Option<ChoiceValue>,
    pub ticket_type: Option<ChoiceValue>,
    pub ticket_category: Option<ChoiceValue>,
    pub source: Option<ChoiceValue>,
    pub issue_type: Option<ChoiceValue>,
    /// Must belong to `issue_type` (its `parent`).
    pub sub_issue_type: Option<ChoiceValue>,
    pub public_comment: NoteDefaults,
    pub internal_comment: NoteDefaults,
    pub attachment_publish: Option<ChoiceValue>,
}

/// Which of this organisation's tickets and comments are sent to the partner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendFilter {
    /// Empty means every queue.
    pub queues: Vec<ChoiceValue>,
    /// Only tickets of this company (typically the company that represents the partner).
    pub partner_company: Option<ChoiceValue>,
    /// Empty means every category.
    pub categories: Vec<ChoiceValue>,
    /// Note publish levels that count as public comments.
    pub public_publish_levels: Vec<ChoiceValue>,
    /// Note publish levels that count as internal comments.
    pub internal_publish_levels: Vec<ChoiceValue>,
}

/// What kinds of content flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    pub public_comments: bool,
    pub internal_comments: bool,
    pub attachments: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            public_comments: true,
            internal_comments: false,
            attachments: true,
        }
    }
}

/// How time entries logged on the partner's copy of a ticket arrive on this side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeArrival {
    /// They do not arrive (the default: time is often private to the side that logged it).
    #[default]
    Off,
    /// One note per time entry (who, when, hours, summary) with the public note defaults; an
    /// edit or a deletion arrives as a follow-up note.
    Notes,
    /// A real time entry on the linked ticket, by the resource with the worker's e-mail (else
    /// the fallback resource), under the chosen role and work type; an edit or a deletion of the
    /// original changes or deletes the copy.
    TimeEntries,
}

impl TimeArrival {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeArrival::Off => "off",
            TimeArrival::Notes => "notes",
            TimeArrival::TimeEntries => "time_entries",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "off" => Some(TimeArrival::Off),
            "notes" => Some(TimeArrival::Notes),
            "time_entries" => Some(TimeArrival::TimeEntries),
            _ => None,
        }
    }

    /// For people: "Off", "As notes", "As time entries".
    pub fn label(self) -> &'static str {
        match self {
            TimeArrival::Off => "Off",
            TimeArrival::Notes => "As notes",
            TimeArrival::TimeEntries => "As time entries",
        }
    }
}

/// Which of this side's time entries are sent to the partner (when the partner receives time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeSendFilter {
    /// Every time entry on a synced ticket (its summary; never its internal notes).
    #[default]
    All,
    /// Only entries whose summary is shown to the customer (Autotask "Show on invoice").
    PublicSummaryOnly,
}

impl TimeSendFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeSendFilter::All => "all",
            TimeSendFilter::PublicSummaryOnly => "public_summary",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "all" => Some(TimeSendFilter::All),
            "public_summary" => Some(TimeSendFilter::PublicSummaryOnly),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TimeSendFilter::All => "All time entries",
            TimeSendFilter::PublicSummaryOnly => "Only entries with a public summary",
        }
    }
}

/// Time entries: how the partner's arrive here, and which of ours are sent. Rates, costs and
/// billing amounts never cross, whatever is chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeEntrySettings {
    pub arrive_as: TimeArrival,
    pub send: TimeSendFilter,
    /// For [`TimeArrival::TimeEntries`]: the resource that logs a partner's entry when no active
    /// resource here has the worker's e-mail (or the one that has it does not hold `role`).
    pub fallback_resource: Option<ChoiceValue>,
    /// The role the copies are logged under (Autotask needs one the resource holds).
    pub role: Option<ChoiceValue>,
    /// The work type (Autotask billing code: an active general allocation code).
    pub billing_code: Option<ChoiceValue>,
    /// Whether the partner's hours count as billable here (off: logged as non-billable).
    pub billable: bool,
}

/// Send tickets created on the target side back to the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReverseSync {
    pub enabled: bool,
    pub queues: Vec<ChoiceValue>,
    pub company: Option<ChoiceValue>,
}

/// Closure: which statuses mean closed here, and what to set when the partner closes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClosureSettings {
    pub closed_statuses: Vec<ChoiceValue>,
    pub status_when_partner_closes: Option<ChoiceValue>,
}

/// One organisation's configuration for one relationship.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SideConfig {
    pub receive: ReceiveDefaults,
    pub send: SendFilter,
    pub options: SyncOptions,
    pub reverse_sync: ReverseSync,
    pub closure: ClosureSettings,
    /// Time entries: received as nothing or notes, and which of this side's are sent.
    pub time_entries: TimeEntrySettings,
    /// Use separate platform credentials for this relationship (stored with the credentials).
    pub override_api_settings: bool,
}

/// A stored side configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationConfig {
    pub relationship_id: RelationshipId,
    pub org_id: OrgId,
    pub side: SideConfig,
}

/// Problems a person should fix before syncing; not errors, since a half-filled form may be saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The setting's name as the UI shows it, e.g. "Sub-issue type".
    pub setting: &'static str,
    pub message: String,
}

/// Why a configuration would break the privacy rule: a relationship carries only tickets of its
/// own company on each side (see [`SideConfig::company_scope`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Reverse sync switched on while no company represents the partner on this side: it would
    /// have nothing to limit itself to.
    #[error(
        "reverse sync needs the company that represents your partner (under \"Tickets you receive\" \
         → Company): only that company's tickets are ever sent back, so choose it first"
    )]
    ReverseSyncWithoutCompany,
    /// A filter names a company other than the partner's.
    #[error(
        "{setting} can only send tickets of the company that represents your partner ({expected}), \
         not of company {found}: a relationship never carries another company's tickets"
    )]
    OtherCompany {
        setting: &'static str,
        expected: String,
        found: String,
    },
}

impl SideConfig {
    /// The one company whose tickets this side sends and keeps in step: the company that
    /// represents the partner in this organisation's tenant, which is also the company tickets
    /// received from the partner are stamped with. `None` until it is chosen, and then nothing is
    /// sent from this side. The planner and the engine both enforce it (privacy between the many
    /// relationships one tenant is in); there is no "every company" setting.
    pub fn company_scope(&self) -> Option<&ChoiceValue> {
        self.receive.company.as_ref()
    }

    /// Whether a ticket of `company` is within this side's scope.
    pub fn in_scope(&self, company: Option<&ChoiceValue>) -> bool {
        self.company_scope().is_some() && company == self.company_scope()
    }

    /// Problems that make this configuration unsafe to save: a filter naming another company, or
    /// reverse sync without the partner's company. Saving (form, API, import) refuses them.
    pub fn scope_errors(&self) -> Vec<ScopeError> {
        let mut errors = Vec::new();
        let scope = self.company_scope();
        if self.reverse_sync.enabled && scope.is_none() {
            errors.push(ScopeError::ReverseSyncWithoutCompany);
        }
        if let Some(scope) = scope {
            for (setting, company) in [
                ("Reverse sync", &self.reverse_sync.company),
                ("The send filter", &self.send.partner_company),
            ] {
                if let Some(company) = company
                    && company != scope
                {
                    errors.push(ScopeError::OtherCompany {
                        setting,
                        expected: scope.as_str().to_owned(),
                        found: company.as_str().to_owned(),
                    });
                }
            }
        }
        errors
    }

    /// The company filters brought in line with the scope (what is stored after a save).
    pub fn with_scope_filters(mut self) -> Self {
        let scope = self.company_scope().cloned();
        self.send.partner_company = scope.clone();
        self.reverse_sync.company = scope;
        self
    }

    /// The scope in words for people, e.g. "Only tickets of Contoso Manufacturing are sent to
    /// Northwind IT." `company_label` is the scope company's name as the tenant shows it.
    pub fn scope_sentence(&self, company_label: Option<&str>, partner_name: &str) -> String {
        match (self.company_scope(), company_label) {
            (None, _) => format!(
                "No tickets are sent to {partner_name} until you choose the company that represents \
                 {partner_name} under \"Tickets you receive\"."
            ),
            (Some(scope), label) => {
                let company =
                    label.map_or_else(|| format!("company {}", scope.as_str()), str::to_owned);
                format!(
                    "Only tickets of {company} are sent to {partner_name}, and only they are kept in step; \
                     tickets of every other company stay in your tenant."
                )
            }
        }
    }

    /// Checks the configuration against the organisation's live choices.
    /// `choices(list)` returns the options of a named list ("queue", "status", "issue_type", …).
    pub fn warnings(&self, choices: &dyn Fn(&str) -> Vec<Choice>) -> Vec<ConfigWarning> {
        let mut warnings = Vec::new();
        let receive = &self.receive;
        let single = [
            ("company", "Company", &receive.company),
            ("queue", "Queue", &receive.queue),
            ("status", "Status", &receive.status),
            ("priority", "Priority", &receive.priority),
            ("ticket_type", "Ticket type", &receive.ticket_type),
            (
                "ticket_category",
                "Ticket category",
                &receive.ticket_category,
            ),
            ("source", "Source", &receive.source),
            ("issue_type", "Issue type", &receive.issue_type),
            ("sub_issue_type", "Sub-issue type", &receive.sub_issue_type),
        ];
        for (list, setting, value) in single {
            let Some(value) = value else { continue };
            let options = choices(list);
            match options.iter().find(|c| &c.value == value) {
                None => warnings.push(ConfigWarning {
                    setting,
                    message: format!("value {} no longer exists in your tenant", value.as_str()),
                }),
                Some(choice) if !choice.is_active => warnings.push(ConfigWarning {
                    setting,
                    message: format!("\"{}\" is inactive in your tenant", choice.label),
                }),
                Some(_) => {}
            }
        }
        if let (Some(issue), Some(sub)) = (&receive.issue_type, &receive.sub_issue_type) {
            let belongs = choices("sub_issue_type")
                .iter()
                .any(|c| &c.value == sub && c.parent.as_ref() == Some(issue));
            if !belongs {
                warnings.push(ConfigWarning {
                    setting: "Sub-issue type",
                    message: "the sub-issue type does not belong to the chosen issue type".into(),
                });
            }
        }
        let time = &self.time_entries;
        if time.arrive_as == TimeArrival::TimeEntries {
            let lists = [
                ("resource", "Fallback resource", &time.fallback_resource),
                ("time_role", "Time entry role", &time.role),
                ("time_work_type", "Time entry work type", &time.billing_code),
            ];
            for (list, setting, value) in lists {
                let Some(value) = value else {
                    warnings.push(ConfigWarning {
                        setting,
                        message: "choose one: time entries received from your partner are \
                                  recorded as failures until then"
                            .into(),
                    });
                    continue;
                };
                let options = choices(list);
                match options.iter().find(|c| &c.value == value) {
                    None => warnings.push(ConfigWarning {
                        setting,
                        message: format!(
                            "value {} no longer exists in your tenant",
                            value.as_str()
                        ),
                    }),
                    Some(choice) if !choice.is_active => warnings.push(ConfigWarning {
                        setting,
                        message: format!("\"{}\" is inactive in your tenant", choice.label),
                    }),
                    Some(_) => {}
                }
            }
        }
        if receive.sub_issue_type.is_some() && receive.issue_type.is_none() {
            warnings.push(ConfigWarning {
                setting: "Sub-issue type",
                message: "choose an issue type first".into(),
            });
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(value: i64, label: &str, parent: Option<i64>) -> Choice {
        Choice {
            value: value.into(),
            label: label.into(),
            is_active: true,
            is_default: false,
            parent: parent.map(ChoiceValue::from),
        }
    }

    #[test]
    fn picklist_codes_compare_as_numbers() {
        assert_eq!(ChoiceValue::new("08"), ChoiceValue::from(8));
        assert_eq!(ChoiceValue::new(" 8 "), ChoiceValue::new("8"));
        assert_eq!(ChoiceValue::new("abc").as_i64(), None);
    }

    #[test]
    fn a_sub_issue_type_of_another_issue_type_is_flagged() {
        let mut side = SideConfig::default();
        side.receive.issue_type = Some(1.into());
        side.receive.sub_issue_type = Some(11.into());
        let lists = |list: &str| match list {
            "issue_type" => vec![choice(1, "Hardware", None), choice(2, "Software", None)],
            "sub_issue_type" => vec![choice(11, "Printer", Some(2))],
            _ => vec![],
        };
        let warnings = side.warnings(&lists);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].setting, "Sub-issue type");
    }

    #[test]
    fn time_as_time_entries_names_each_missing_or_inactive_choice() {
        let mut side = SideConfig::default();
        side.time_entries.arrive_as = TimeArrival::TimeEntries;
        side.time_entries.role = Some(40.into());
        let mut retired = choice(40, "Retired role", None);
        retired.is_active = false;
        let lists = move |list: &str| match list {
            "time_role" => vec![retired.clone()],
            _ => vec![],
        };
        let warnings = side.warnings(&lists);
        let settings: Vec<&str> = warnings.iter().map(|warning| warning.setting).collect();
        assert_eq!(
            settings,
            [
                "Fallback resource",
                "Time entry role",
                "Time entry work type"
            ]
        );
        assert!(warnings[1].message.contains("\"Retired role\" is inactive"));
        assert!(warnings[2].message.contains("choose one"));
        // As notes, none of them is needed.
        side.time_entries.arrive_as = TimeArrival::Notes;
        assert!(side.warnings(&lists).is_empty());
    }

    #[test]
    fn values_missing_from_the_tenant_are_flagged_by_setting() {
        let mut side = SideConfig::default();
        side.receive.queue = Some(99.into());
        let warnings = side.warnings(&|_| vec![choice(1, "Level 1", None)]);
        assert_eq!(warnings[0].setting, "Queue");
        assert!(warnings[0].message.contains("99"));
    }
}
