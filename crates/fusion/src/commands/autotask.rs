//! `fusion autotask api-url`, `zone` and `test`: the Autotask setup steps from the command line,
//! with the same rules and the same words as Settings in the web app.

use anyhow::Context;
use fusion_autotask::{
    ApiUrl, ApiUrlError, AutotaskError, AutotaskService, ConnectionInput, ConnectionTester,
    looks_like_person_email, zone_display,
};
use fusion_domain::ConnectionTestReport;
use secrecy::SecretString;
use serde::Serialize;

use crate::cli::{ApiUrlArgs, AutotaskTestArgs, ZoneArgs};
use crate::commands::serve::autotask_settings;
use crate::exit_status::{Completion, InvalidInput};
use crate::secrets_from_environment::read_secret_from_stdin;

/// The message for a secret given on the command line, or not given at all.
pub const SECRET_SOURCES: &str = "Give the API secret through the environment variable FUSION_AUTOTASK_SECRET, \
     or pass --secret-stdin and pipe it in (e.g. `fusion autotask test … --secret-stdin < secret.txt`). \
     Secrets are never accepted as command-line arguments: other users on this machine can read those.";

/// `fusion autotask api-url URL`: prints the API URL (exit 0) for an API URL in any accepted form
/// or for a portal URL, or says why there is none and what to do (exit 2).
pub fn api_url(args: &ApiUrlArgs) -> Completion {
    match ApiUrl::parse(&args.url) {
        Ok(api_url) => {
            println!("{api_url}");
            Completion::Succeeded
        }
        Err(ApiUrlError::PortalUrl {
            portal_host,
            api_url,
        }) => {
            eprintln!(
                "{portal_host} is the Autotask web portal; the API URL for the same zone is:"
            );
            println!("{api_url}");
            Completion::Succeeded
        }
        Err(error) => {
            eprintln!("{error}");
            eprintln!("What to do: {}", error.fix());
            Completion::InputRejected
        }
    }
}

/// `fusion autotask zone --username NAME`: asks Autotask's zone discovery (no credentials needed)
/// where the API user's database lives; prints its API URL (exit 0) or why not (exit 1).
pub async fn zone(args: ZoneArgs) -> anyhow::Result<Completion> {
    let username = args.username.trim();
    if username.is_empty() {
        return Err(InvalidInput(
            "--username is empty: give the API username (integration key)".into(),
        )
        .into());
    }
    let settings = autotask_settings(None, args.autotask_override.as_deref())?;
    let service = AutotaskService::new(settings).context("cannot set up the Autotask client")?;
    match service.zone_information(username).await {
        Ok(zone) => {
            eprintln!(
                "{username} lives in {}; its API URL is:",
                zone_display(zone.zone)
            );
            println!("{}", zone.api_url);
            Ok(Completion::Succeeded)
        }
        Err(AutotaskError::ZoneUnknown) => {
            eprintln!("Autotask does not know the API username {username}.");
            if looks_like_person_email(username) {
                eprintln!(
                    "What to do: this looks like a person's email address. Use the API username (integration key) \
                     shown when the API key was generated, e.g. 7QKXG2MZ4HPWLRB@EXAMPLE.COM."
                );
            } else {
                eprintln!(
                    "What to do: copy the API username again, in full, from the API user in Autotask \
                     (Admin > Resources/Users > the API user > Security)."
                );
            }
            Ok(Completion::CheckFailed)
        }
        Err(error) => {
            eprintln!("Could not ask Autotask: {error}");
            Ok(Completion::CheckFailed)
        }
    }
}

/// `fusion autotask test …`: runs the connection test and prints the verdict.
pub async fn test(
    args: AutotaskTestArgs,
    secret_from_environment: Option<SecretString>,
) -> anyhow::Result<Completion> {
    if args.secret.is_some() {
        return Err(InvalidInput(format!("--secret is not accepted. {SECRET_SOURCES}")).into());
    }
    let secret = if args.secret_stdin {
        read_secret_from_stdin("API secret").map_err(|error| {
            if error.kind() == std::io::ErrorKind::InvalidData {
                anyhow::Error::new(InvalidInput(
                    "The API secret on standard input is not UTF-8 text; an Autotask API secret is plain ASCII. \
                     Pipe in the secret exactly as Autotask showed it."
                        .to_owned(),
                ))
            } else {
                anyhow::Error::new(error).context("cannot read the API secret from standard input")
            }
        })?
    } else if let Some(secret) = secret_from_environment {
        secret
    } else {
        return Err(InvalidInput(format!("No API secret given. {SECRET_SOURCES}")).into());
    };
    let Some(integration_code) = args
        .integration_code
        .map(|code| code.trim().to_owned())
        .filter(|code| !code.is_empty())
    else {
        return Err(InvalidInput(
            "No integration code given. Pass --integration-code CODE or set FUSION_AUTOTASK_INTEGRATION_CODE \
             to the Autotask API tracking identifier this deployment uses."
                .into(),
        )
        .into());
    };
    let settings = autotask_settings(
        Some(integration_code.clone()),
        args.autotask_override.as_deref(),
    )?;
    let tester = ConnectionTester::new(settings);
    let input = ConnectionInput {
        api_url: args.api_url,
        username: args.username,
        secret,
        integration_code: Some(integration_code),
    };
    // Values that can never be right (a malformed URL, an empty or oversized value, control
    // characters) are invalid input: exit 2, as for any other unusable argument.
    if let Err(report) = tester.check_locally(&input) {
        if args.json {
            println!("{}", report_as_json(&report));
        } else {
            print!("{}", report_as_text(&report));
        }
        return Ok(Completion::InputRejected);
    }
    let report = tester.test(input).await;
    if args.json {
        println!("{}", report_as_json(&report));
    } else {
        print!("{}", report_as_text(&report));
    }
    Ok(if report.is_success() {
        Completion::Succeeded
    } else {
        Completion::CheckFailed
    })
}

/// The `--json` shape, in the same words and field names as the web API's test result:
/// `{"status","failure","reason","fix","zone","api_usage","notes"}` (in that order).
#[derive(Serialize)]
struct ReportJson<'a> {
    status: &'static str,
    failure: Option<&'static str>,
    reason: &'a str,
    fix: Option<&'a str>,
    zone: Option<&'a str>,
    api_usage: Option<ApiUsageJson>,
    notes: &'a [String],
}

#[derive(Serialize)]
struct ApiUsageJson {
    requests_used: u32,
    request_limit: u32,
    timeframe_minutes: u32,
}

pub fn report_as_json(report: &ConnectionTestReport) -> String {
    let json = ReportJson {
        status: report.outcome.label(),
        failure: report.failure.map(|kind| kind.as_str()),
        reason: &report.reason,
        fix: report.fix.as_deref(),
        zone: report.zone.as_deref(),
        api_usage: report.api_usage.map(|usage| ApiUsageJson {
            requests_used: usage.requests_used,
            request_limit: usage.request_limit,
            timeframe_minutes: usage.timeframe_minutes,
        }),
        notes: &report.notes,
    };
    // Plain strings, numbers and lists: serialising cannot fail.
    serde_json::to_string(&json).unwrap_or_default()
}

/// The human shape: the verdict first, in the same words as the web app.
pub fn report_as_text(report: &ConnectionTestReport) -> String {
    let mut text = String::new();
    if report.is_success() {
        text.push_str(report.outcome.label());
        text.push('\n');
        if !report.reason.is_empty() && report.reason != report.outcome.label() {
            text.push_str(&format!("  {}\n", report.reason));
        }
    } else {
        text.push_str(&format!("{}: {}\n", report.outcome.label(), report.reason));
        if let Some(fix) = &report.fix {
            text.push_str(&format!("What to do: {fix}\n"));
        }
    }
    if let Some(zone) = &report.zone {
        text.push_str(&format!("Zone: {zone}\n"));
    }
    if let Some(usage) = report.api_usage {
        text.push_str(&format!(
            "API usage: {} of {} requests in the last {} minutes\n",
            usage.requests_used, usage.request_limit, usage.timeframe_minutes
        ));
    }
    for note in &report.notes {
        text.push_str(&format!("Note: {note}\n"));
    }
    text
}
