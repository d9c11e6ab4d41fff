//! The API secret never appears in a report, a log line (at TRACE, including the HTTP stack's)
//! or Debug output.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use fusion_autotask::{AutotaskError, ConnectionInput, Credentials};
use fusion_domain::ConnectionTestReport;
use secrecy::SecretString;
use tracing_subscriber::fmt::MakeWriter;

use crate::{CONTOSO, Harness, NORTHWIND};

#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

/// A process-wide TRACE subscriber for this test binary. A scoped (`set_default`) subscriber is
/// not reliable here: other tests running at the same time register and drop their own, and
/// tracing's cached callsite interest and global max level can then filter this test's events
/// out. A global one sees every test's logs, which only makes the check stricter.
fn trace_capture() -> CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(logs.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
        logs
    })
    .clone()
}

fn report_text(report: &ConnectionTestReport) -> String {
    let mut text = format!("{report:?}\n{}\n", report.reason);
    text.push_str(report.fix.as_deref().unwrap_or_default());
    for note in &report.notes {
        text.push_str(note);
    }
    text.push_str(report.zone.as_deref().unwrap_or_default());
    text
}

#[tokio::test]
async fn the_secret_appears_in_no_report_field_no_debug_output_and_no_trace_log() {
    let harness = Harness::demo().await;
    let logs = trace_capture();

    let (username, secret) = harness.active_user(NORTHWIND);
    let tester = harness.tester();
    let good = harness.correct_input(NORTHWIND);
    let with_newline = ConnectionInput {
        secret: SecretString::from(format!("{secret}\n")),
        ..good.clone()
    };
    let wrong_zone = ConnectionInput {
        api_url: "https://webservices5.autotask.net/".into(),
        ..good.clone()
    };
    let wrong_secret_text = "Wr0ng-But-Secret-Looking-Value";
    let wrong_secret = ConnectionInput {
        secret: SecretString::from(wrong_secret_text.to_owned()),
        ..good.clone()
    };
    let (contoso_user, contoso_secret) = harness.active_user(CONTOSO);
    harness
        .simulator()
        .set_entity_permission(CONTOSO, &contoso_user, "Contacts", false);
    let no_permission = harness.correct_input(CONTOSO);

    let mut texts = vec![format!("{good:?}"), format!("{tester:?}")];
    for input in [good, with_newline, wrong_zone, wrong_secret, no_permission] {
        let report = tester.test(input).await;
        texts.push(report_text(&report));
    }

    let client = harness.service().client(Credentials::new(
        username,
        SecretString::from(secret.clone()),
    ));
    texts.push(format!("{client:?}"));
    harness.simulator().inject_fault(
        fusion_autotask_sim::FaultRule::new(fusion_autotask_sim::FaultKind::ServerError)
            .on_endpoint("Tickets"),
    );
    let error: AutotaskError = client
        .query_all::<fusion_autotask::wire::Ticket>(vec![])
        .await
        .expect_err("fault");
    texts.push(format!("{error:?} {error}"));

    let logged = logs.text();
    assert!(
        logged.contains("autotask_request"),
        "TRACE logging was captured"
    );
    for (name, text) in texts
        .iter()
        .map(|text| ("output", text))
        .chain([("logs", &logged)])
    {
        assert!(
            !text.contains(&secret),
            "the secret leaked into {name}: {text}"
        );
        assert!(
            !text.contains(wrong_secret_text),
            "the entered secret leaked into {name}"
        );
        assert!(
            !text.contains(&contoso_secret),
            "the Contoso secret leaked into {name}"
        );
        assert!(
            !text.contains(fusion_autotask_sim::DEMO_INTEGRATION_CODE),
            "the integration code leaked into {name}"
        );
    }
}
