//! The Dashboard's pictures: server-rendered SVG charts drawn with `plotters` (its SVG backend
//! only, no fonts or bitmaps), so they show without JavaScript and scale with their card. Each
//! chart comes with a sentence saying what it shows, used as its accessible name, and never carries
//! text a person typed (only dates and numbers), so its markup is safe to put into the page as is.

use plotters::prelude::*;
use time::{Date, Duration, OffsetDateTime};

use crate::wording::thousands;

/// One drawn chart: its SVG markup and what it shows in words.
pub(crate) struct Chart {
    pub svg: String,
    pub description: String,
}

const SYNCED: RGBColor = RGBColor(0x1f, 0x5f, 0xae);
const FAILED: RGBColor = RGBColor(0xa4, 0x26, 0x2c);
const BUDGET: RGBColor = RGBColor(0x6b, 0x4e, 0x00);
const AXIS_TEXT: RGBColor = RGBColor(0x56, 0x61, 0x73);

fn short_day(day: Date) -> String {
    format!("{} {}", day.day(), &day.month().to_string()[..3])
}

/// Makes the SVG scale with its container and names it for assistive technology.
fn accessible(svg: String, id: &str, description: &str) -> String {
    let label = description
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" id=\"{id}\" aria-label=\"{label}\" focusable=\"false\" "),
        1,
    )
}

/// Bars per day: tickets synced (blue) and failed (red) side by side, for the days from
/// `first_day`.
pub(crate) fn daily_tickets(id: &str, first_day: Date, days: &[(u64, u64)]) -> Chart {
    let synced: u64 = days.iter().map(|day| day.0).sum();
    let failed: u64 = days.iter().map(|day| day.1).sum();
    let description = format!(
        "Tickets synced and failed per day, {} to {}: {} synced, {} failed. {}",
        short_day(first_day),
        short_day(first_day + Duration::days(days.len().saturating_sub(1) as i64)),
        thousands_u64(synced),
        thousands_u64(failed),
        days.iter()
            .enumerate()
            .map(|(index, (synced, failed))| format!(
                "{}: {synced} synced, {failed} failed",
                short_day(first_day + Duration::days(index as i64))
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let top = days
        .iter()
        .map(|(synced, failed)| (*synced).max(*failed))
        .max()
        .unwrap_or(0)
        .max(4);
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (560, 240)).into_drawing_area();
        root.fill(&WHITE)?;
        let count = days.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(44)
            .build_cartesian_2d(-0.5..(count - 0.5), 0f64..(top as f64 * 1.15))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(days.len())
            .x_label_formatter(&|x| {
                let index = x.round();
                if (x - index).abs() < 0.01 && index >= 0.0 {
                    short_day(first_day + Duration::days(index as i64))
                } else {
                    String::new()
                }
            })
            .y_labels(5)
            .y_label_formatter(&|y| format!("{}", y.round() as u64))
            .label_style(("sans-serif", 13).into_font().color(&AXIS_TEXT))
            .axis_style(AXIS_TEXT)
            .draw()?;
        chart.draw_series(days.iter().enumerate().map(|(index, (synced, _))| {
            let x = index as f64;
            Rectangle::new([(x - 0.36, 0.0), (x, *synced as f64)], SYNCED.filled())
        }))?;
        chart.draw_series(days.iter().enumerate().map(|(index, (_, failed))| {
            let x = index as f64;
            Rectangle::new([(x, 0.0), (x + 0.36, *failed as f64)], FAILED.filled())
        }))?;
        root.present()?;
        Ok(())
    })();
    if let Err(error) = drawn {
        tracing::warn!(%error, "a dashboard chart could not be drawn");
    }
    Chart {
        svg: accessible(svg, id, &description),
        description,
    }
}

/// A line of requests per hour from `first_hour`, against this server's hourly budget (dashed)
/// and Autotask's allowance for the database.
pub(crate) fn hourly_requests(
    id: &str,
    first_hour: OffsetDateTime,
    hours: &[u64],
    budget: Option<u32>,
    allowance: u32,
) -> Chart {
    let peak = hours.iter().copied().max().unwrap_or(0);
    let total: u64 = hours.iter().sum();
    let budget_words = match budget {
        Some(budget) => format!(
            "this server keeps to {} an hour of Autotask's {}",
            thousands(budget),
            thousands(allowance)
        ),
        None => format!("Autotask allows {} an hour", thousands(allowance)),
    };
    let share = match budget {
        Some(budget) if budget > 0 => format!(
            " The busiest hour used {}% of this server's budget.",
            (peak * 100).div_ceil(u64::from(budget))
        ),
        _ => String::new(),
    };
    let description = format!(
        "Autotask requests per hour over the last 7 days: {} in all, at most {} in one hour; {budget_words}.{share}",
        thousands_u64(total),
        thousands_u64(peak)
    );
    // Scaled to the busiest hour, so the hours can be told apart; the budget line shows when it
    // is within reach, and the caption says how much of it the busiest hour used either way.
    let ceiling = (peak + peak / 4).max(10);
    let day_count = (hours.len() as f64 / 24.0).max(1.0);
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (560, 240)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .margin_right(22)
            .x_label_area_size(28)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..day_count, 0f64..ceiling as f64)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xe3, 0xe7, 0xec))
            .x_labels(day_count as usize + 1)
            .x_label_formatter(&|x| {
                let hour = first_hour + Duration::hours((x * 24.0).round() as i64);
                short_day(hour.date())
            })
            .y_labels(5)
            .y_label_formatter(&|y| thousands_u64(y.round() as u64))
            .label_style(("sans-serif", 13).into_font().color(&AXIS_TEXT))
            .axis_style(AXIS_TEXT)
            .draw()?;
        if let Some(budget) = budget.filter(|budget| u64::from(*budget) <= ceiling) {
            let y = f64::from(budget);
            chart.draw_series(DashedLineSeries::new(
                [(0.0, y), (day_count, y)],
                6,
                4,
                BUDGET.stroke_width(2),
            ))?;
        }
        let points = || {
            hours
                .iter()
                .enumerate()
                .map(|(index, calls)| ((index as f64 + 0.5) / 24.0, *calls as f64))
        };
        chart.draw_series(AreaSeries::new(points(), 0.0, SYNCED.mix(0.25)))?;
        chart.draw_series(LineSeries::new(points(), SYNCED.stroke_width(2)))?;
        root.present()?;
        Ok(())
    })();
    if let Err(error) = drawn {
        tracing::warn!(%error, "a dashboard chart could not be drawn");
    }
    Chart {
        svg: accessible(svg, id, &description),
        description,
    }
}

fn thousands_u64(value: u64) -> String {
    u32::try_from(value).map_or_else(|_| value.to_string(), thousands)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_bars_are_an_accessible_svg_with_one_bar_per_count() {
        let first = time::macros::date!(2026 - 11 - 28);
        let days = [(3, 0), (0, 0), (5, 1), (0, 0), (0, 0), (2, 2), (1, 0)];
        let chart = daily_tickets("chart-1", first, &days);
        assert!(chart.svg.starts_with("<svg role=\"img\" id=\"chart-1\""));
        assert!(chart.svg.contains("28 Nov"), "{}", chart.svg);
        assert!(chart.description.contains("11 synced, 3 failed"));
        assert!(chart.description.contains("30 Nov: 5 synced, 1 failed"));
        assert!(!chart.svg.contains("<script"));
    }

    #[test]
    fn the_request_line_shows_the_budget_and_says_it_in_words() {
        let first = time::macros::datetime!(2026-11-28 00:00 UTC);
        let mut hours = vec![0; 168];
        hours[5] = 120;
        let chart = hourly_requests("chart-2", first, &hours, Some(5_000), 10_000);
        assert!(
            chart
                .description
                .contains("120 in all, at most 120 in one hour")
        );
        assert!(
            chart
                .description
                .contains("this server keeps to 5,000 an hour of Autotask's 10,000")
        );
        assert!(chart.svg.contains("<polyline") || chart.svg.contains("<path"));
        assert!(
            chart
                .description
                .contains("The busiest hour used 3% of this server's budget.")
        );
    }
}
