//! People at work in the demo's simulated tenants, so the automatic sync has something to carry
//! across while someone watches: every little while a person at Contoso raises a ticket for the
//! provider or comments on one, and Northwind's technician answers on the copy and logs the time
//! it took (which reaches the customer as a note). The sync does
//! the rest; the Sync page's history shows it happen.

use std::sync::Arc;
use std::time::Duration;

use fusion_autotask_sim::EntityKind;
use fusion_autotask_sim::Simulator;
use fusion_domain::RelationshipId;
use fusion_domain::Role;
use fusion_domain::sync::TicketId;
use fusion_store::Store;
use serde_json::json;
use tokio::sync::watch;

use super::connection::{SOURCE_ORGANISATION, TARGET_ORGANISATION};

/// A person at the customer, working in the Source tenant.
const CUSTOMER: &str = "alex.morgan@contoso.example";
/// The provider's technician, working the copies in the Target tenant.
const TECHNICIAN: &str = "jane.doe@northwindit.example";
/// Contoso's status "With Provider" and priority "Low", in Contoso's own queue: what the send
/// filter of the demo connection sends.
const WITH_PROVIDER: i64 = 12;
const LOW: i64 = 5;
const CONTOSO_QUEUE: i64 = 30_100_001;
/// The role the technician logs time under in Northwind's tenant (one the technician holds).
const TECHNICIAN_ROLE: i64 = fusion_autotask_sim::TECHNICIAN_ROLE;

const TITLES: &[&str] = &[
    "Label printer on line 2 prints blank labels",
    "VPN drops every 20 minutes for the Leeds office",
    "New starter needs a laptop and an email account",
    "Shared drive S: is read-only since this morning",
    "Barcode scanners in the warehouse do not pair",
    "Quality team cannot open the SPC dashboard",
];

/// Runs until `stopped` turns true, acting every `every`.
pub async fn people_at_work(
    simulator: Simulator,
    store: Arc<dyn Store>,
    relationship: RelationshipId,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    let mut raised: Vec<i64> = Vec::new();
    for step in 0usize.. {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        let outcome = match (step % 3, raised.last().copied()) {
            (1, Some(ticket)) => customer_comments(&simulator, ticket, step),
            (2, Some(ticket)) => {
                technician_answers(&simulator, store.as_ref(), relationship, ticket, step).await
            }
            _ => raise(&simulator, step).map(|ticket| {
                raised.push(ticket);
                format!("a person at {SOURCE_ORGANISATION} raised ticket {ticket}")
            }),
        };
        match outcome {
            Ok(what) => tracing::info!(demo = true, "{what}; the automatic sync carries it across"),
            Err(error) => tracing::warn!(demo = true, %error, "a simulated person could not act"),
        }
    }
}

/// The Sync page's "raise a test ticket" form in the demo: a person at the Source organisation
/// raises a ticket in its simulated tenant with the fields the demo's people use (the provider's
/// company, status "With Provider", priority Low, Contoso's queue), so it is carried across.
pub struct DemoTicketDesk {
    simulator: Simulator,
}

impl DemoTicketDesk {
    pub fn new(simulator: Simulator) -> Self {
        Self { simulator }
    }
}

impl fusion_web::DemoTickets for DemoTicketDesk {
    fn can_raise(&self, organisation: &str) -> bool {
        organisation == SOURCE_ORGANISATION
    }

    fn raise_ticket(&self, organisation: &str, title: &str) -> Result<String, String> {
        if organisation != SOURCE_ORGANISATION {
            return Err(format!(
                "in this demo tickets start at {SOURCE_ORGANISATION}; sign in as it to raise one"
            ));
        }
        let id = raise_titled(&self.simulator, title)?;
        let number = self
            .simulator
            .records(SOURCE_ORGANISATION, EntityKind::Tickets)
            .into_iter()
            .find(|ticket| ticket["id"].as_i64() == Some(id))
            .and_then(|ticket| ticket["ticketNumber"].as_str().map(str::to_owned))
            .unwrap_or_else(|| id.to_string());
        tracing::info!(
            demo = true,
            "a person raised ticket {number} from the Sync page"
        );
        Ok(number)
    }
}

fn raise(simulator: &Simulator, step: usize) -> Result<i64, String> {
    raise_titled(simulator, TITLES[step / 3 % TITLES.len()])
}

fn raise_titled(simulator: &Simulator, title: &str) -> Result<i64, String> {
    let company = simulator
        .records(SOURCE_ORGANISATION, EntityKind::Companies)
        .into_iter()
        .find(|company| company["companyName"] == TARGET_ORGANISATION)
        .and_then(|company| company["id"].as_i64())
        .ok_or_else(|| format!("{SOURCE_ORGANISATION} has no company {TARGET_ORGANISATION}"))?;
    simulator
        .ui_create_ticket(
            SOURCE_ORGANISATION,
            CUSTOMER,
            json!({
                "title": title,
                "description": format!("{title}. Raised while the demo was running."),
                "companyID": company,
                "status": WITH_PROVIDER,
                "priority": LOW,
                "queueID": CONTOSO_QUEUE,
            }),
        )
        .map_err(|error| error.to_string())
}

fn customer_comments(simulator: &Simulator, ticket: i64, step: usize) -> Result<String, String> {
    simulator
        .ui_add_note(
            SOURCE_ORGANISATION,
            CUSTOMER,
            ticket,
            json!({
                "title": "Update",
                "description": format!("Still happening at {} (note {step}).", clock_time()),
                "noteType": 1,
                "publish": 1,
            }),
        )
        .map(|_| format!("the customer commented on ticket {ticket}"))
        .map_err(|error| error.to_string())
}

async fn technician_answers(
    simulator: &Simulator,
    store: &dyn Store,
    relationship: RelationshipId,
    ticket: i64,
    step: usize,
) -> Result<String, String> {
    let link = store
        .link_by_ticket(
            relationship,
            Role::Source,
            &TicketId::new(ticket.to_string()),
        )
        .await
        .map_err(|error| error.to_string())?;
    let Some(link) = link else {
        return Ok(format!(
            "ticket {ticket} is not synced yet; the technician waits"
        ));
    };
    let copy: i64 = link
        .target
        .as_str()
        .parse()
        .map_err(|_| format!("the copy's id {} is not a number", link.target.as_str()))?;
    simulator
        .ui_add_note(
            TARGET_ORGANISATION,
            TECHNICIAN,
            copy,
            json!({
                "title": "Technician update",
                "description": format!("Looking into it now (reply {step})."),
                "noteType": 1,
                "publish": 1,
            }),
        )
        .map_err(|error| error.to_string())?;
    // And logs the time spent: the demo configuration shows it to the customer as a note.
    let now = time::OffsetDateTime::now_utc();
    let quarter_hours = 1 + (step % 4) as u32;
    simulator
        .ui_add_time_entry(
            TARGET_ORGANISATION,
            TECHNICIAN,
            copy,
            json!({
                "dateWorked": format!("{}T00:00:00", now.date()),
                "hoursWorked": f64::from(quarter_hours) * 0.25,
                "roleID": TECHNICIAN_ROLE,
                "summaryNotes": format!("Remote session on the reported problem (reply {step})."),
                "showOnInvoice": true,
            }),
        )
        .map(|_| format!("the technician answered on copy {copy} and logged the time"))
        .map_err(|error| error.to_string())
}

fn clock_time() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:02}:{:02} UTC", now.hour(), now.minute())
}
