//! `fusion demo`: starts with one JSON ready line, serves the web app, both demo organisations
//! can sign in and their saved Autotask credentials test as "Connection tested", they are
//! already connected (Contoso the Source, Northwind the Target) and each side is configured with
//! values from its own tenant, and it stops on SIGTERM. A second run on the same data directory
//! finds the same connection.

use reqwest::header::{CONTENT_TYPE, COOKIE};

use crate::process::{Served, client, fresh_data_dir, fusion, sign_in};

/// A fresh, empty data directory for one demo run.
#[tokio::test(flavor = "multi_thread")]
async fn demo_starts_both_organisations_sign_in_and_test_their_connection_then_stops_on_sigterm() {
    let data_dir = fresh_data_dir("demo");
    let data_dir_text = data_dir.display().to_string();
    let demo = tokio::task::spawn_blocking(move || {
        Served::start(fusion(
            &[
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                &data_dir_text,
            ],
            &[],
        ))
    })
    .await
    .unwrap();
    assert_eq!(demo.ready["ready"], true, "{}", demo.ready_line);
    let url = demo.ready["url"]
        .as_str()
        .expect("the ready line names the URL")
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );
    let orgs = demo.ready["orgs"]
        .as_array()
        .expect("the ready line lists the organisations")
        .clone();
    assert_eq!(orgs.len(), 2, "{}", demo.ready_line);
    assert!(
        demo.ready["simulator"]["url"].is_string(),
        "{}",
        demo.ready_line
    );
    assert!(
        data_dir.join("fusion.key").exists(),
        "the key file sits in the data directory"
    );

    let client = client();
    let health = client
        .get(format!("{url}healthz"))
        .send()
        .await
        .expect("the app answers");
    assert_eq!(health.status(), 200);

    let mut names = Vec::new();
    for org in &orgs {
        let name = org["name"].as_str().expect("name").to_owned();
        let email = org["email"].as_str().expect("email");
        let password = org["password"].as_str().expect("password");
        let cookie = sign_in(&client, &url, email, password).await;

        let me: serde_json::Value = client
            .get(format!("{url}api/v1/me"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .expect("/api/v1/me answers")
            .json()
            .await
            .expect("/api/v1/me is JSON");
        assert_eq!(me["organisation"]["name"], name.as_str(), "{me}");
        let org_id = me["organisation"]["id"]
            .as_str()
            .expect("organisation id")
            .to_owned();
        let csrf_token = me["csrf_token"]
            .as_str()
            .expect("a session gets a CSRF token")
            .to_owned();

        let settings_page = client
            .get(format!("{url}orgs/{org_id}/settings"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .expect("Settings answers");
        assert_eq!(settings_page.status(), 200);
        let html = settings_page.text().await.expect("Settings has a body");
        assert!(
            html.contains("Save and test"),
            "Settings offers Save and test"
        );
        assert!(
            html.contains("https://webservices"),
            "the demo API URL is already entered"
        );

        let report: serde_json::Value = client
            .post(format!("{url}api/v1/orgs/{org_id}/platform/test"))
            .header(COOKIE, &cookie)
            .header("x-csrf-token", csrf_token)
            .header(CONTENT_TYPE, "application/json")
            .body("{}")
            .send()
            .await
            .expect("the connection test answers")
            .json()
            .await
            .expect("the test result is JSON");
        assert_eq!(report["status"], "Connection tested", "{name}: {report}");
        assert_eq!(report["tested_values"], "saved", "{report}");
        names.push(name);
    }
    assert!(names.contains(&"Northwind IT".to_owned()), "{names:?}");
    assert!(
        names.contains(&"Contoso Manufacturing".to_owned()),
        "{names:?}"
    );

    let (status, rest_of_stdout, stderr) = tokio::task::spawn_blocking(move || demo.terminate())
        .await
        .unwrap();
    assert!(status.success(), "exit {status:?}, stderr:\n{stderr}");
    assert!(
        rest_of_stdout.contains("Support Fusion demo is running"),
        "{rest_of_stdout}"
    );
    assert!(
        rest_of_stdout.contains("Raise a test ticket yourself"),
        "{rest_of_stdout}"
    );
    assert!(
        rest_of_stdout.contains("Settings → Save and test"),
        "{rest_of_stdout}"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn demo_stops_cleanly_on_sigterm_sent_right_after_the_ready_line() {
    let data_dir = fresh_data_dir("demo-quick-stop");
    let data_dir_text = data_dir.display().to_string();
    let demo = Served::start(fusion(
        &[
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &data_dir_text,
        ],
        &[],
    ));
    let (status, rest_of_stdout, stderr) = demo.terminate();
    assert!(status.success(), "exit {status:?}, stderr:\n{stderr}");
    assert!(rest_of_stdout.contains("Demo stopped"), "{rest_of_stdout}");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Starts `fusion demo` on `data_dir` and waits for its ready line.
async fn start_demo(data_dir: &std::path::Path) -> Served {
    let data_dir_text = data_dir.display().to_string();
    tokio::task::spawn_blocking(move || {
        Served::start(fusion(
            &[
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                &data_dir_text,
            ],
            &[],
        ))
    })
    .await
    .unwrap()
}

/// One signed-in demo administrator, talking to `/api/v1` with its session cookie.
struct DemoSession {
    client: reqwest::Client,
    url: String,
    cookie: String,
    org_id: String,
    name: String,
}

impl DemoSession {
    /// Signs in as the organisation called `name` in the ready line.
    async fn sign_in(demo: &Served, name: &str) -> DemoSession {
        let url = demo.ready["url"].as_str().expect("url").to_owned();
        let org = demo.ready["orgs"]
            .as_array()
            .expect("orgs")
            .iter()
            .find(|org| org["name"] == name)
            .unwrap_or_else(|| panic!("{name} is in the ready line: {}", demo.ready_line))
            .clone();
        let client = client();
        let cookie = sign_in(
            &client,
            &url,
            org["email"].as_str().expect("email"),
            org["password"].as_str().expect("password"),
        )
        .await;
        let mut session = DemoSession {
            client,
            url,
            cookie,
            org_id: String::new(),
            name: name.to_owned(),
        };
        let me = session.get("me").await;
        session.org_id = me["organisation"]["id"]
            .as_str()
            .expect("org id")
            .to_owned();
        session
    }

    /// `GET /api/v1/{path}` as JSON; the status must be 200.
    async fn get(&self, path: &str) -> serde_json::Value {
        let response = self
            .client
            .get(format!("{}api/v1/{path}", self.url))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path} answers: {error}"));
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("a JSON body");
        assert_eq!(status, 200, "{}: GET {path}: {body}", self.name);
        body
    }

    /// `GET /api/v1/orgs/{my org}/{path}`.
    async fn get_mine(&self, path: &str) -> serde_json::Value {
        self.get(&format!("orgs/{}/{path}", self.org_id)).await
    }
}

/// The label of `code` in one list of a choices response, if the list has that value.
fn label_in(choices: &serde_json::Value, list: &str, code: &serde_json::Value) -> Option<String> {
    choices["lists"][list]
        .as_array()
        .unwrap_or_else(|| panic!("the choices have a {list} list: {choices}"))
        .iter()
        .find(|choice| &choice["value"] == code)
        .map(|choice| choice["label"].as_str().expect("label").to_owned())
}

/// Asserts that every (setting, list) value of `config` exists in the tenant's own choices and
/// returns their labels by setting.
fn labels_of_configured_values(
    who: &str,
    config: &serde_json::Value,
    choices: &serde_json::Value,
    settings: &[(&str, &str)],
) -> std::collections::BTreeMap<String, String> {
    let mut labels = std::collections::BTreeMap::new();
    for (pointer, list) in settings {
        let code = config
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{who}: {pointer} is configured: {config}"));
        assert!(!code.is_null(), "{who}: {pointer} is configured: {config}");
        let label = label_in(choices, list, code).unwrap_or_else(|| {
            panic!("{who}: {pointer} = {code} is not in its own tenant's {list} list")
        });
        labels.insert((*pointer).to_owned(), label);
    }
    labels
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_starts_with_the_organisations_connected_and_each_side_configured_from_its_own_tenant()
{
    let data_dir = fresh_data_dir("demo-connected");
    let demo = start_demo(&data_dir).await;
    let relationship_id = demo.ready["relationship_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the ready line names the connection: {}", demo.ready_line))
        .to_owned();
    let contoso = DemoSession::sign_in(&demo, "Contoso Manufacturing").await;
    let northwind = DemoSession::sign_in(&demo, "Northwind IT").await;

    // Both see one Active connection, each in its own role, with the other as partner.
    for (session, role, partner) in [
        (&contoso, "source", &northwind),
        (&northwind, "target", &contoso),
    ] {
        let list = session.get_mine("relationships").await;
        let relationships = list["relationships"].as_array().expect("a list");
        assert_eq!(relationships.len(), 1, "{}: {list}", session.name);
        let connection = &relationships[0];
        assert_eq!(connection["id"], relationship_id.as_str(), "{connection}");
        assert_eq!(connection["state"], "active", "{connection}");
        assert_eq!(connection["role"], role, "{}: {connection}", session.name);
        assert_eq!(
            connection["partner"]["name"],
            partner.name.as_str(),
            "{connection}"
        );
        assert_eq!(
            connection["contract_name"], demo.ready["contract_name"],
            "{connection}"
        );
    }

    let base = format!("relationships/{relationship_id}");
    let common_receive = [
        ("/receive/company", "company"),
        ("/receive/queue", "queue"),
        ("/receive/status", "status"),
        ("/receive/priority", "priority"),
        ("/receive/public_comment/note_type", "note_type"),
        ("/receive/public_comment/publish", "note_publish"),
        ("/receive/internal_comment/note_type", "note_type"),
        ("/receive/internal_comment/publish", "note_publish"),
        ("/receive/attachment_publish", "attachment_publish"),
        ("/closure/status_when_partner_closes", "status"),
        ("/closure/closed_statuses/0", "status"),
        ("/send/public_publish_levels/0", "note_publish"),
        ("/send/internal_publish_levels/0", "note_publish"),
    ];
    let mut queues = Vec::new();
    for (session, partner) in [(&northwind, &contoso), (&contoso, &northwind)] {
        let configuration = session.get_mine(&format!("{base}/configuration")).await;
        assert_eq!(configuration["saved"], true, "{configuration}");
        assert_eq!(
            configuration["warnings"],
            serde_json::json!([]),
            "{}: {configuration}",
            session.name
        );
        let config = &configuration["config"];
        let choices = session.get_mine(&format!("{base}/choices")).await;
        let labels = labels_of_configured_values(&session.name, config, &choices, &common_receive);
        assert_eq!(
            labels["/receive/company"], partner.name,
            "{}: the company that represents the partner",
            session.name
        );
        assert_eq!(labels["/receive/status"], "New");
        assert_eq!(labels["/closure/closed_statuses/0"], "Complete");
        assert_eq!(labels["/closure/status_when_partner_closes"], "Complete");
        assert_ne!(
            config["send"]["public_publish_levels"], config["send"]["internal_publish_levels"],
            "{}: public and internal comments are told apart",
            session.name
        );
        queues.push(config["receive"]["queue"].clone());
    }
    assert_ne!(
        queues[0], queues[1],
        "each side's queue is its own tenant's code"
    );

    // Field mappings: status is mapped both ways with value mappings, nothing active is unmapped.
    let mappings = contoso.get_mine(&format!("{base}/mappings")).await;
    let status = mappings["mappings"]
        .as_array()
        .expect("mappings")
        .iter()
        .find(|mapping| mapping["source_field"] == "status")
        .unwrap_or_else(|| panic!("status is mapped: {mappings}"));
    let values = status["values"].as_array().expect("value mappings");
    assert!(
        values
            .iter()
            .any(|value| value["source_label"] == "New" && value["target_label"] == "New"),
        "{status}"
    );
    assert!(
        values.iter().any(|value| value["source_label"] == "Complete"
            && value["target_label"] == "Complete"),
        "{status}"
    );
    assert_eq!(status["unmapped"], serde_json::json!([]), "{status}");
    assert_eq!(
        northwind.get_mine(&format!("{base}/mappings")).await["mappings"],
        mappings["mappings"],
        "both sides see the same mappings"
    );

    // The description composition previews on a real ticket of the source tenant.
    let preview = contoso
        .get_mine(&format!("{base}/description/preview"))
        .await;
    assert_eq!(preview["real_ticket"], true, "{preview}");
    let text = preview["text"].as_str().expect("preview text");
    assert!(text.starts_with("Customer ticket: T"), "{text}");
    assert!(text.contains("\nContact: Chris Green\n"), "{text}");

    let (status, _, stderr) = tokio::task::spawn_blocking(move || demo.terminate())
        .await
        .unwrap();
    assert!(status.success(), "exit {status:?}, stderr:\n{stderr}");

    // A second run on the same data directory finds the same connection.
    let again = start_demo(&data_dir).await;
    assert_eq!(
        again.ready["relationship_id"],
        relationship_id.as_str(),
        "{}",
        again.ready_line
    );
    let contoso = DemoSession::sign_in(&again, "Contoso Manufacturing").await;
    let list = contoso.get_mine("relationships").await;
    assert_eq!(
        list["relationships"].as_array().map(Vec::len),
        Some(1),
        "{list}"
    );
    let (status, rest_of_stdout, stderr) = tokio::task::spawn_blocking(move || again.terminate())
        .await
        .unwrap();
    assert!(status.success(), "exit {status:?}, stderr:\n{stderr}");
    assert!(
        rest_of_stdout.contains("already connected"),
        "{rest_of_stdout}"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}
