//! The benchmark world: the demo's two tenants, with the customer's (Source) tickets replaced by
//! generated ones — every ticket raised for the provider's company, open, with public notes and
//! an attachment on every n-th ticket — and no tickets in the provider's (Target) tenant, so that
//! after a sync the Target must hold exactly one copy of each Source ticket.
//!
//! The demo tickets are used as templates (queue, priority, contact, issue types, UDFs), so the
//! generated tickets map exactly as the demo's do.

use anyhow::Context;
use base64::Engine as _;
use fusion_autotask_sim::World;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::commands::demo::connection::{SOURCE_ORGANISATION, TARGET_ORGANISATION};

/// Wire format of Autotask date-times (UTC, milliseconds, no `Z`).
const WIRE_DATE: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]");

/// Ids of generated records start here, far above the demo's own ids.
const FIRST_TICKET_ID: i64 = 40_000_000;
const FIRST_NOTE_ID: i64 = 50_000_000;
const FIRST_ATTACHMENT_ID: i64 = 60_000_000;

/// Entities the seeded tenants start without (the generated ones replace the Source's).
const CLEARED: &[&str] = &["Tickets", "TicketNotes", "TicketAttachments", "TimeEntries"];

/// What the generated Source tenant holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldShape {
    pub tickets: usize,
    pub notes_per_ticket: usize,
    /// One attachment on every n-th ticket (0: none).
    pub attachment_every: usize,
}

impl WorldShape {
    pub fn notes(&self) -> usize {
        self.tickets * self.notes_per_ticket
    }

    pub fn attachments(&self) -> usize {
        self.tickets.checked_div(self.attachment_every).unwrap_or(0)
    }
}

/// The content of every generated attachment (small: the attachment byte limits of Autotask are
/// not what this benchmark measures).
pub const ATTACHMENT_BYTES: &[u8] =
    b"2026-11-27 03:12 E42 controller offline\n2026-11-27 03:15 E17 retry\n";

/// Builds the world. Fails only if the demo world no longer has what the templates need.
pub fn generated_world(shape: WorldShape) -> anyhow::Result<World> {
    let mut world = World::demo();
    let now = OffsetDateTime::now_utc();
    for tenant in &mut world.tenants {
        for entity in CLEARED {
            tenant.records.insert((*entity).to_owned(), Vec::new());
        }
    }
    let source_seed = World::demo()
        .tenants
        .into_iter()
        .find(|tenant| tenant.name == SOURCE_ORGANISATION)
        .context("the demo world has no Source tenant")?;
    let first_row = |entity: &str| -> anyhow::Result<Map<String, Value>> {
        source_seed
            .records
            .get(entity)
            .and_then(|rows| rows.first())
            .cloned()
            .with_context(|| format!("the demo Source tenant has no {entity} to use as a template"))
    };
    let ticket_template = first_row("Tickets")?;
    let note_template = first_row("TicketNotes")?;
    let attachment_template = first_row("TicketAttachments")?;
    let provider_company = source_seed
        .records
        .get("Companies")
        .and_then(|rows| {
            rows.iter()
                .find(|row| row.get("companyName") == Some(&Value::from(TARGET_ORGANISATION)))
        })
        .and_then(|row| row.get("id"))
        .cloned()
        .context("the demo Source tenant has no company for the provider")?;

    let total = shape.tickets as i64;
    let mut tickets = Vec::with_capacity(shape.tickets);
    let mut notes = Vec::with_capacity(shape.notes());
    let mut attachments = Vec::with_capacity(shape.attachments());
    for index in 0..total {
        let id = FIRST_TICKET_ID + index;
        // Oldest first, one second apart, all in the past.
        let activity = stamp(now - time::Duration::seconds(total - index + 60))?;
        let created = stamp(now - time::Duration::seconds(total - index + 3600))?;
        let mut ticket = ticket_template.clone();
        ticket.insert("id".into(), Value::from(id));
        ticket.insert("title".into(), Value::from(format!("Bench ticket {index}")));
        ticket.insert(
            "description".into(),
            Value::from(format!("Generated ticket {index} for fusion bench.")),
        );
        ticket.insert("companyID".into(), provider_company.clone());
        ticket.insert(
            "ticketNumber".into(),
            Value::from(format!("T20261127.{index:05}")),
        );
        ticket.insert("createDate".into(), Value::from(created.clone()));
        ticket.insert("lastActivityDate".into(), Value::from(activity.clone()));
        ticket.insert("completedDate".into(), Value::Null);
        ticket.insert(
            "userDefinedFields".into(),
            serde_json::json!([{ "name": "Customer Reference", "value": format!("CR-{id}") }]),
        );
        tickets.push(ticket);
        for note in 0..shape.notes_per_ticket as i64 {
            let mut row = note_template.clone();
            row.insert(
                "id".into(),
                Value::from(FIRST_NOTE_ID + index * shape.notes_per_ticket as i64 + note),
            );
            row.insert("ticketID".into(), Value::from(id));
            row.insert("title".into(), Value::from(format!("Note {note}")));
            row.insert(
                "description".into(),
                Value::from(format!("Bench note {note} on ticket {index}.")),
            );
            row.insert("publish".into(), Value::from(1));
            row.insert("createDateTime".into(), Value::from(created.clone()));
            row.insert("lastActivityDate".into(), Value::from(created.clone()));
            notes.push(row);
        }
        if shape.attachment_every > 0 && index % shape.attachment_every as i64 == 0 {
            let mut row = attachment_template.clone();
            row.insert(
                "id".into(),
                Value::from(FIRST_ATTACHMENT_ID + index / shape.attachment_every as i64),
            );
            row.insert("ticketID".into(), Value::from(id));
            let name = format!("bench-{index}.log");
            row.insert("title".into(), Value::from(name.clone()));
            row.insert("fullPath".into(), Value::from(name));
            row.insert(
                "data".into(),
                Value::from(base64::engine::general_purpose::STANDARD.encode(ATTACHMENT_BYTES)),
            );
            row.insert("attachDate".into(), Value::from(created.clone()));
            attachments.push(row);
        }
    }
    let source = world
        .tenants
        .iter_mut()
        .find(|tenant| tenant.name == SOURCE_ORGANISATION)
        .context("the demo world has no Source tenant")?;
    source.records.insert("Tickets".into(), tickets);
    source.records.insert("TicketNotes".into(), notes);
    source
        .records
        .insert("TicketAttachments".into(), attachments);
    Ok(world)
}

fn stamp(at: OffsetDateTime) -> anyhow::Result<String> {
    at.format(WIRE_DATE).context("cannot format a date")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_world_has_the_shape_asked_for() {
        let shape = WorldShape {
            tickets: 12,
            notes_per_ticket: 2,
            attachment_every: 5,
        };
        let world = generated_world(shape).expect("the demo world has the templates");
        let source = world
            .tenants
            .iter()
            .find(|tenant| tenant.name == SOURCE_ORGANISATION)
            .expect("source");
        assert_eq!(source.records["Tickets"].len(), 12);
        assert_eq!(source.records["TicketNotes"].len(), 24);
        assert_eq!(source.records["TicketAttachments"].len(), 3);
        let target = world
            .tenants
            .iter()
            .find(|tenant| tenant.name == TARGET_ORGANISATION)
            .expect("target");
        assert!(target.records["Tickets"].is_empty());
    }
}
