//! Integration configuration per relationship: the two demo tenants (Contoso = Source, alice;
//! Northwind = Target, bob) as two organisations already connected through the store, each with
//! its own working Autotask credentials. Forms and API are filled from each tenant's own codes
//! (the tenants' codes differ), and neither side sees the other's configuration, credentials or
//! tenant data beyond one mapping's picklist.

use std::net::SocketAddr;
use std::sync::Arc;

use fusion_autotask::{
    AutotaskService, AutotaskSettings, AutotaskTenants, ConnectionTester, TransportOverride,
};
use fusion_autotask_sim::TenantInfo;
use fusion_domain::{ManualClock, PlatformKind, RelationshipId, Role, VerificationCode};
use fusion_engine::ports::CredentialsUpdate;
use fusion_web::{AppState, WebSettings, router, serve};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::{Browser, Reply, TestApp};

/// A TestApp whose web server shares one Autotask service (simulator transport, demo integration
/// code) with the configuration screens, plus a connection Contoso (Source) ↔ Northwind (Target).
pub(crate) struct Connected {
    pub(crate) app: TestApp,
    pub(crate) relationship: RelationshipId,
    contoso: TenantInfo,
    northwind: TenantInfo,
    clock: Arc<ManualClock>,
    _server: ServerGuard,
}

/// Northwind IT's company in Contoso's demo tenant: the company Alice's side of the connection
/// carries (its demo tickets belong to it).
const NORTHWIND_IN_CONTOSO: i64 = 31_000_101;

/// Alice (Contoso, the source) chooses the company that represents Northwind, so the connection
/// carries its tickets and a preview may show one.
async fn alice_carries_northwind(connected: &Connected, browser: &mut Browser) {
    let saved = browser
        .put_json(
            &connected.api(&connected.app.alice.org, "configuration"),
            &json!({"receive": {"company": NORTHWIND_IN_CONTOSO}}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
}

struct ServerGuard(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            let _ = stop.send(());
        }
    }
}

fn tenant(tenants: &[TenantInfo], name: &str) -> TenantInfo {
    tenants
        .iter()
        .find(|tenant| tenant.name.contains(name))
        .cloned()
        .expect("demo tenant")
}

async fn save_credentials(app: &TestApp, org: fusion_domain::OrgId, tenant: &TenantInfo) {
    let user = tenant
        .api_users
        .iter()
        .find(|user| user.active)
        .expect("an active API user");
    app.store
        .save_platform_credentials(
            org,
            None,
            CredentialsUpdate {
                platform: PlatformKind::Autotask,
                api_url: tenant.api_url.clone(),
                username: user.username.clone(),
                secret: Some(SecretString::from(user.secret.clone())),
                integration_code_override: None,
            },
        )
        .await
        .expect("credentials saved");
}

impl Connected {
    pub(crate) async fn spawn() -> Connected {
        Connected::spawn_with(None).await
    }

    /// With an API budget on the app's clock (`AppState::with_budget`, the Autotask service's
    /// request gate) when `budget` is set.
    pub(crate) async fn spawn_with(
        budget: Option<fusion_engine::budget::BudgetSettings>,
    ) -> Connected {
        let mut app = TestApp::spawn().await;
        let tenants = app.simulator.simulator().tenants();
        let contoso = tenant(&tenants, "Contoso");
        let northwind = tenant(&tenants, "Northwind");
        save_credentials(&app, app.alice.org.id, &contoso).await;
        save_credentials(&app, app.bob.org.id, &northwind).await;

        let now = time::OffsetDateTime::now_utc();
        let code = VerificationCode::from_random_bytes((0u8..=255).cycle().skip(7).take(64))
            .expect("enough bytes for a code");
        let pending = app
            .store
            .create_relationship(
                app.alice.org.id,
                Role::Source,
                "Contoso ⇄ Northwind support",
                &code,
                now,
                now + time::Duration::days(7),
            )
            .await
            .unwrap();
        let relationship = app
            .store
            .accept_relationship(app.bob.org.id, &code, now)
            .await
            .unwrap()
            .expect("the code is accepted");
        assert_eq!(relationship.id, pending.id);

        let settings = AutotaskSettings {
            integration_code: Some(contoso.integration_code.clone()),
            transport_override: Some(TransportOverride::parse(app.simulator.base_url()).unwrap()),
            ..AutotaskSettings::default()
        };
        let clock = Arc::new(ManualClock::new(now));
        let governor = budget.map(|budget| {
            Arc::new(fusion_engine::budget::BudgetGovernor::new(
                app.store.clone(),
                clock.clone(),
                budget,
            ))
        });
        let service = match &governor {
            Some(governor) => AutotaskService::with_gate(settings, governor.clone()),
            None => AutotaskService::new(settings),
        }
        .unwrap();
        let tenants = AutotaskTenants::new(ConnectionTester::with_service(service), clock.clone());
        let mut state = AppState::with_clock(
            app.store.clone(),
            Arc::new(tenants),
            WebSettings::default(),
            clock.clone(),
        );
        if let Some(governor) = governor {
            state = state.with_budget(governor);
        }
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        app.base_url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, router(state), async move {
            let _ = stopped.await;
        }));
        Connected {
            app,
            relationship: relationship.id,
            contoso,
            northwind,
            clock,
            _server: ServerGuard(Some(stop)),
        }
    }

    pub(crate) fn api(&self, org: &fusion_domain::Organisation, rest: &str) -> String {
        format!(
            "/api/v1/orgs/{}/relationships/{}/{rest}",
            org.id, self.relationship
        )
    }

    /// Moves the app's clock (the choices cache and the API budget follow it).
    pub(crate) fn clock_advance(&self, by: time::Duration) {
        self.clock.advance(by);
    }

    pub(crate) fn page(&self, org: &fusion_domain::Organisation, rest: &str) -> String {
        format!("/orgs/{}/connections/{}/{rest}", org.id, self.relationship)
    }

    pub(crate) async fn alice(&self) -> Browser {
        self.app.signed_in(&self.app.alice).await
    }

    pub(crate) async fn bob(&self) -> Browser {
        self.app.signed_in(&self.app.bob).await
    }

    /// Every secret either organisation has: must never appear in a response.
    fn secrets(&self) -> Vec<String> {
        [&self.contoso, &self.northwind]
            .iter()
            .flat_map(|tenant| tenant.api_users.iter().map(|user| user.secret.clone()))
            .collect()
    }

    async fn raw(
        &self,
        browser: &mut Browser,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, &str)>,
        with_csrf: bool,
    ) -> Reply {
        let mut request =
            reqwest::Client::new().request(method, format!("{}{path}", self.app.base_url));
        if let Some(cookie) = &browser.session_cookie {
            request = request.header("cookie", format!("{}={cookie}", fusion_web::SESSION_COOKIE));
        }
        if with_csrf && let Some(token) = &browser.csrf_token {
            request = request.header("x-csrf-token", token);
        }
        if let Some((content_type, text)) = body {
            request = request
                .header("content-type", content_type)
                .body(text.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        browser.seen_bodies.push(body.clone());
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn delete(&self, browser: &mut Browser, path: &str) -> Reply {
        self.raw(browser, reqwest::Method::DELETE, path, None, true)
            .await
    }

    async fn delete_without_csrf(&self, browser: &mut Browser, path: &str) -> Reply {
        self.raw(browser, reqwest::Method::DELETE, path, None, false)
            .await
    }

    pub(crate) async fn post_text(
        &self,
        browser: &mut Browser,
        path: &str,
        content_type: &str,
        text: &str,
    ) -> Reply {
        self.raw(
            browser,
            reqwest::Method::POST,
            path,
            Some((content_type, text)),
            true,
        )
        .await
    }

    pub(crate) async fn stop(self) {
        drop(self._server);
        self.app.stop().await;
    }
}

pub(crate) fn choice_value(choices: &Value, list: &str, label: &str) -> Value {
    choices["lists"][list]
        .as_array()
        .unwrap_or_else(|| panic!("list {list}: {choices}"))
        .iter()
        .find(|choice| choice["label"] == label)
        .unwrap_or_else(|| panic!("{label} in {list}: {choices}"))["value"]
        .clone()
}

fn labels(choices: &Value, list: &str) -> Vec<String> {
    choices["lists"][list]
        .as_array()
        .unwrap()
        .iter()
        .map(|choice| choice["label"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_side_gets_choices_from_its_own_tenant_and_saved_values_come_back_equal() {
    let connected = Connected::spawn().await;
    let (alice, bob) = (&connected.app.alice.org, &connected.app.bob.org);
    let mut alice_browser = connected.alice().await;
    let mut bob_browser = connected.bob().await;

    let alice_choices = alice_browser.get(&connected.api(alice, "choices")).await;
    assert_eq!(alice_choices.status, 200, "{}", alice_choices.body);
    let alice_choices = alice_choices.json();
    let bob_choices = bob_browser.get(&connected.api(bob, "choices")).await.json();
    // The tenants differ: Contoso's queues and statuses are not Northwind's.
    assert!(labels(&alice_choices, "queue").contains(&"Service Desk".to_owned()));
    assert!(labels(&bob_choices, "queue").contains(&"Level I Support".to_owned()));
    assert!(!labels(&alice_choices, "queue").contains(&"Level I Support".to_owned()));
    assert!(labels(&alice_choices, "status").contains(&"With Provider".to_owned()));
    assert!(labels(&bob_choices, "status").contains(&"Escalated".to_owned()));
    assert_eq!(
        choice_value(&alice_choices, "status", "Waiting Customer"),
        7
    );
    assert_eq!(choice_value(&bob_choices, "status", "Waiting Customer"), 13);
    assert!(
        labels(&bob_choices, "company").contains(&"Contoso Manufacturing".to_owned()),
        "Northwind's company list names its customer"
    );
    assert!(
        alice_choices["ticket_fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|field| field["name"] == "status" && field["picklist"] == "status")
    );

    // Bob (Target) configures what he receives, with Northwind's own codes.
    let queue = choice_value(&bob_choices, "queue", "Level II Support");
    let company = choice_value(&bob_choices, "company", "Contoso Manufacturing");
    let issue = choice_value(&bob_choices, "issue_type", "Hardware");
    let sub_issue = choice_value(&bob_choices, "sub_issue_type", "Printer");
    let config = json!({
        "receive": {
            "company": company, "queue": queue,
            "status": choice_value(&bob_choices, "status", "New"),
            "priority": choice_value(&bob_choices, "priority", "Medium"),
            "issue_type": issue, "sub_issue_type": sub_issue,
            "public_comment": {"note_type": choice_value(&bob_choices, "note_type", "Task Notes"),
                                "publish": choice_value(&bob_choices, "note_publish", "All Autotask Users")},
            "attachment_publish": choice_value(&bob_choices, "attachment_publish", "All Autotask Users")
        },
        "send": {"queues": [choice_value(&bob_choices, "queue", "Level I Support"), queue],
                 "public_publish_levels": [1], "internal_publish_levels": [2]},
        "options": {"public_comments": true, "internal_comments": true, "attachments": false},
        "reverse_sync": {"enabled": true, "company": company},
        "closure": {"closed_statuses": [5], "status_when_partner_closes": 5}
    });
    let saved = bob_browser
        .put_json(&connected.api(bob, "configuration"), &config)
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let saved = saved.json();
    assert_eq!(saved["warnings"], json!([]), "{saved}");
    assert_eq!(saved["relationship"]["my_role"], "target");

    let reloaded = bob_browser
        .get(&connected.api(bob, "configuration"))
        .await
        .json();
    assert_eq!(reloaded["saved"], true);
    assert_eq!(reloaded["config"], saved["config"]);
    assert_eq!(reloaded["config"]["receive"]["queue"], queue);
    assert_eq!(reloaded["config"]["options"]["internal_comments"], true);
    assert_eq!(
        reloaded["config"]["send"]["queues"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Alice has her own side, untouched by Bob's save.
    let alice_side = alice_browser
        .get(&connected.api(alice, "configuration"))
        .await
        .json();
    assert_eq!(alice_side["saved"], false);
    assert_eq!(alice_side["relationship"]["my_role"], "source");
    assert_eq!(
        alice_side["config"]["receive"],
        json!({"public_comment": {}, "internal_comment": {}})
    );
    connected.stop().await;
}

#[tokio::test]
async fn a_sub_issue_type_of_another_issue_type_is_saved_with_a_warning() {
    let connected = Connected::spawn().await;
    let alice = &connected.app.alice.org;
    let mut browser = connected.alice().await;
    let choices = browser.get(&connected.api(alice, "choices")).await.json();
    let config = json!({"receive": {
        "issue_type": choice_value(&choices, "issue_type", "Software"),
        "sub_issue_type": choice_value(&choices, "sub_issue_type", "Printer"),
        "queue": 99999
    }});
    let saved = browser
        .put_json(&connected.api(alice, "configuration"), &config)
        .await;
    assert_eq!(
        saved.status, 200,
        "saving is allowed with warnings: {}",
        saved.body
    );
    let warnings = saved.json()["warnings"].clone();
    let settings: Vec<&str> = warnings
        .as_array()
        .unwrap()
        .iter()
        .map(|warning| warning["setting"].as_str().unwrap())
        .collect();
    assert!(settings.contains(&"Sub-issue type"), "{warnings}");
    assert!(settings.contains(&"Queue"), "{warnings}");
    assert!(
        warnings.to_string().contains("does not belong"),
        "{warnings}"
    );
    connected.stop().await;
}

#[tokio::test]
async fn organisations_outside_the_relationship_get_404_and_the_partner_gets_its_own_side() {
    let connected = Connected::spawn().await;
    let (alice, bob) = (&connected.app.alice.org, &connected.app.bob.org);
    let outsider_org = connected
        .app
        .store
        .create_organisation("Fabrikam")
        .await
        .unwrap();
    let password = "outsider password long enough".to_owned();
    connected
        .app
        .store
        .create_person(
            outsider_org.id,
            "eve@fabrikam.example",
            "Eve",
            &SecretString::from(password.clone()),
        )
        .await
        .unwrap();
    let outsider = crate::support::Account {
        org: outsider_org.clone(),
        email: "eve@fabrikam.example".to_owned(),
        password,
    };
    let mut eve = connected.app.signed_in(&outsider).await;
    for rest in [
        "configuration",
        "choices",
        "mappings",
        "description",
        "description/preview",
        "export",
    ] {
        let own_path = connected.api(&outsider_org, rest);
        assert_eq!(eve.get(&own_path).await.status, 404, "{rest}");
        assert_eq!(
            eve.get(&connected.api(alice, rest)).await.status,
            404,
            "{rest}"
        );
    }
    for page in [
        "configuration",
        "mappings",
        "description",
        "configuration/import",
    ] {
        let reply = eve.get(&connected.page(&outsider_org, page)).await;
        assert_eq!(reply.status, 404, "{page}");
    }
    let write = eve
        .put_json(&connected.api(&outsider_org, "configuration"), &json!({}))
        .await;
    assert_eq!(write.status, 404);

    // Bob may not use Alice's organisation path, only his own, where he sees his own side.
    let mut bob_browser = connected.bob().await;
    assert_eq!(
        bob_browser
            .get(&connected.api(alice, "configuration"))
            .await
            .status,
        404
    );
    assert_eq!(
        bob_browser
            .get(&connected.page(alice, "configuration"))
            .await
            .status,
        404
    );
    let mut alice_browser = connected.alice().await;
    alice_browser
        .put_json(
            &connected.api(alice, "configuration"),
            &json!({"receive": {"queue": 30100002}}),
        )
        .await;
    let bob_side = bob_browser
        .get(&connected.api(bob, "configuration"))
        .await
        .json();
    assert_eq!(bob_side["relationship"]["my_role"], "target");
    assert!(
        bob_side["config"]["receive"].get("queue").is_none(),
        "{bob_side}"
    );
    assert!(!bob_side.to_string().contains("30100002"));
    connected.stop().await;
}

async fn mappings_of(browser: &mut Browser, path: &str) -> Value {
    let reply = browser.get(path).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn mapping_for<'a>(mappings: &'a Value, field: &str) -> &'a Value {
    mappings["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|mapping| mapping["source_field"] == field)
        .unwrap_or_else(|| panic!("{field}: {mappings}"))
}

#[tokio::test]
async fn mappings_can_be_created_edited_and_deleted_and_defaults_come_once() {
    let connected = Connected::spawn().await;
    let (alice, bob) = (&connected.app.alice.org, &connected.app.bob.org);
    let mut browser = connected.alice().await;
    let path = connected.api(alice, "mappings");

    let created = browser
        .post_json(
            &path,
            &json!({"source_field": "queueID", "target_field": "queueID", "direction": "Source to target",
                     "values": [{"source": 30100001, "target": 29683354}]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    assert_eq!(created["direction"], "Source to target");
    assert_eq!(created["values"][0]["source_label"], "Service Desk");
    assert_eq!(created["values"][0]["target_label"], "Level I Support");
    let id = created["id"].as_str().unwrap().to_owned();

    let edited = browser
        .put_json(
            &format!("{path}/{id}"),
            &json!({"source_field": "queueID", "target_field": "queueID", "direction": "Both", "values": []}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(edited.json()["direction"], "Both");

    let unknown = browser
        .post_json(
            &path,
            &json!({"source_field": "noSuchField", "target_field": "status", "direction": "Both"}),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(unknown.json()["error"]["field"], "source_field");

    // Defaults only when there are none.
    let refused = browser
        .post_json(&format!("{path}/defaults"), &json!({}))
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(
        connected
            .delete(&mut browser, &format!("{path}/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        connected
            .delete(&mut browser, &format!("{path}/{id}"))
            .await
            .status,
        404,
        "already gone"
    );
    let defaults = browser
        .post_json(&format!("{path}/defaults"), &json!({}))
        .await;
    assert_eq!(defaults.status, 201, "{}", defaults.body);
    let defaults = defaults.json();
    let fields: Vec<&str> = defaults["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mapping| mapping["source_field"].as_str().unwrap())
        .collect();
    for field in ["title", "description", "status", "priority", "dueDateTime"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    // The partner sees (and may edit) the same mappings.
    let mut bob_browser = connected.bob().await;
    let seen_by_bob = mappings_of(&mut bob_browser, &connected.api(bob, "mappings")).await;
    assert_eq!(
        seen_by_bob["mappings"].as_array().unwrap().len(),
        fields.len()
    );
    connected.stop().await;
}

#[tokio::test]
async fn match_by_label_maps_statuses_across_different_codes_and_unmapped_values_are_listed() {
    let connected = Connected::spawn().await;
    let bob = &connected.app.bob.org;
    // Bob is the target: the source values are Contoso's, loaded with Contoso's credentials.
    let mut browser = connected.bob().await;
    let path = connected.api(bob, "mappings");
    let created = browser
        .post_json(
            &path,
            &json!({"source_field": "status", "target_field": "status", "direction": "Both"}),
        )
        .await
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    let unmapped: Vec<&str> = created["unmapped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value["label"].as_str().unwrap())
        .collect();
    assert!(unmapped.contains(&"Complete"), "{created}");
    assert!(unmapped.contains(&"With Provider"), "{created}");

    let suggested = browser.get(&format!("{path}/{id}/suggest")).await.json();
    let pairs: Vec<(String, Value, Value)> = suggested["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| {
            (
                value["source_label"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                value["source"].clone(),
                value["target"].clone(),
            )
        })
        .collect();
    assert!(
        pairs.contains(&("Complete".to_owned(), json!(5), json!(5))),
        "{suggested}"
    );
    assert!(
        pairs.contains(&("Waiting Customer".to_owned(), json!(7), json!(13))),
        "different codes, same label: {suggested}"
    );
    // Suggestions are only suggestions until applied.
    let still = mappings_of(&mut browser, &path).await;
    assert_eq!(mapping_for(&still, "status")["values"], json!([]));

    let applied = browser
        .post_json(&format!("{path}/{id}/suggest"), &json!({}))
        .await;
    assert_eq!(applied.status, 200, "{}", applied.body);
    let applied = applied.json();
    assert!(applied["added"].as_u64().unwrap() >= 3, "{applied}");
    let unmapped: Vec<&str> = applied["mapping"]["unmapped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value["label"].as_str().unwrap())
        .collect();
    assert_eq!(unmapped, vec!["Scheduled", "With Provider"], "{applied}");

    // Only the mapped picklist of the partner is exposed: none of its queues or companies.
    let listing = mappings_of(&mut browser, &path).await.to_string();
    assert!(!listing.contains("Service Desk"));
    for secret in connected.secrets() {
        assert!(!listing.contains(&secret));
    }
    connected.stop().await;
}

#[tokio::test]
async fn the_description_preview_renders_label_lines_on_a_real_source_ticket() {
    let connected = Connected::spawn().await;
    let (alice, bob) = (&connected.app.alice.org, &connected.app.bob.org);
    let mut browser = connected.alice().await;
    // No company chosen yet: the connection carries no tickets, so none can be previewed.
    let refused = browser
        .get(&connected.api(alice, "description/preview?ticket_id=31000300"))
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("represents your partner"),
        "{}",
        refused.body
    );
    alice_carries_northwind(&connected, &mut browser).await;
    let composition = json!({
        "separator": "-----",
        "fields": [
            {"field": "ticketNumber", "label": "Customer ticket"},
            {"field": "status", "label": "Status"},
            {"field": "queueID", "label": "Queue"},
            {"field": "contactID", "label": "Contact"}
        ]
    });
    let saved = browser
        .put_json(&connected.api(alice, "description"), &composition)
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);

    let ticket_id = 31_000_300;
    let preview = browser
        .get(&connected.api(alice, &format!("description/preview?ticket_id={ticket_id}")))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let preview = preview.json();
    let text = preview["text"].as_str().unwrap();
    assert!(text.contains("Status: New\n"), "{text}");
    assert!(text.contains("Queue: Service Desk\n"), "{text}");
    assert!(text.contains("Contact: Chris Green\n"), "{text}");
    assert!(
        text.contains("-----\nPrinter on floor 2 jams constantly."),
        "{text}"
    );
    assert_eq!(preview["real_ticket"], true);

    // The target sees the same composition but never reads the source's tickets.
    let mut bob_browser = connected.bob().await;
    let bob_preview = bob_browser
        .get(&connected.api(bob, &format!("description/preview?ticket_id={ticket_id}")))
        .await
        .json();
    assert_eq!(bob_preview["real_ticket"], false);
    assert!(
        !bob_preview.to_string().contains("Printer"),
        "{bob_preview}"
    );
    assert!(
        bob_preview["text"]
            .as_str()
            .unwrap()
            .contains("Status: <Status>")
    );

    assert_eq!(
        connected
            .delete(&mut browser, &connected.api(alice, "description"))
            .await
            .status,
        204
    );
    let gone = browser
        .get(&connected.api(alice, "description"))
        .await
        .json();
    assert_eq!(gone["composition"], Value::Null);
    connected.stop().await;
}

#[tokio::test]
async fn export_then_import_over_http_round_trips_and_broken_files_name_line_and_field() {
    let connected = Connected::spawn().await;
    let bob = &connected.app.bob.org;
    let mut browser = connected.bob().await;
    browser
        .put_json(
            &connected.api(bob, "configuration"),
            &json!({"receive": {"queue": 29683355, "status": 1}, "send": {"queues": [29683354]},
                    "closure": {"closed_statuses": [5]}}),
        )
        .await;
    browser
        .post_json(
            &connected.api(bob, "mappings"),
            &json!({"source_field": "status", "target_field": "status", "direction": "Both",
                     "values": [{"source": 5, "target": 5}, {"source": 7, "target": 13}]}),
        )
        .await;
    browser
        .put_json(
            &connected.api(bob, "description"),
            &json!({"separator": "==", "fields": [{"field": "ticketNumber", "label": "Customer ticket"}]}),
        )
        .await;

    let exported = browser.get(&connected.api(bob, "export")).await;
    assert_eq!(exported.status, 200, "{}", exported.body);
    assert!(
        exported
            .header("content-disposition")
            .unwrap()
            .contains(".toml"),
    );
    let toml_text = exported.body.clone();
    assert!(toml_text.contains("version = 1"), "{toml_text}");
    assert!(
        toml_text.contains("queue = 29683355  # Level II Support"),
        "{toml_text}"
    );
    assert!(toml_text.contains("# Waiting Customer"), "{toml_text}");
    assert!(toml_text.contains("direction = \"Both\""), "{toml_text}");
    let json_export = browser.get(&connected.api(bob, "export?format=json")).await;
    assert_eq!(json_export.status, 200);
    let before_config = browser
        .get(&connected.api(bob, "configuration"))
        .await
        .json();
    let before_mappings = browser.get(&connected.api(bob, "mappings")).await.json();

    // Change everything, then import the TOML back: everything is as exported.
    browser
        .put_json(&connected.api(bob, "configuration"), &json!({}))
        .await;
    connected
        .delete(&mut browser, &connected.api(bob, "description"))
        .await;
    let imported = connected
        .post_text(
            &mut browser,
            &connected.api(bob, "import"),
            "application/toml",
            &toml_text,
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(imported.json()["mappings"], 1);
    let after_config = browser
        .get(&connected.api(bob, "configuration"))
        .await
        .json();
    assert_eq!(after_config["config"], before_config["config"]);
    let after_mappings = browser.get(&connected.api(bob, "mappings")).await.json();
    let strip = |mappings: &Value| {
        let mut mappings = mappings["mappings"].clone();
        for mapping in mappings.as_array_mut().unwrap() {
            mapping.as_object_mut().unwrap().remove("id");
        }
        mappings
    };
    assert_eq!(strip(&after_mappings), strip(&before_mappings));
    let description = browser.get(&connected.api(bob, "description")).await.json();
    assert_eq!(description["composition"]["separator"], "==");

    // JSON round trip too.
    let imported = connected
        .post_text(
            &mut browser,
            &connected.api(bob, "import"),
            "application/json",
            &json_export.body,
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    let again = browser
        .get(&connected.api(bob, "configuration"))
        .await
        .json();
    assert_eq!(again["config"], before_config["config"]);

    // Broken files: 422 naming the line and the field, nothing changed.
    let cases = [
        ("version = 1\n[side\n", Some(2), None),
        (
            "version = 1\n[side]\nrole = \"target\"\nsurprise = 1\n",
            Some(4),
            Some("side.surprise"),
        ),
        (
            "version = 1\n[side.options]\nattachments = \"yes\"\n",
            Some(3),
            Some("side.options.attachments"),
        ),
        (
            "version = 1\n[side]\n[[mappings]]\nsource_field = \"status\"\ntarget_field = \"status\"\ndirection = \"Sideways\"\n",
            Some(6),
            Some("mappings[0].direction"),
        ),
    ];
    for (text, line, field) in cases {
        let refused = connected
            .post_text(
                &mut browser,
                &connected.api(bob, "import"),
                "application/toml",
                text,
            )
            .await;
        assert_eq!(refused.status, 422, "{text}: {}", refused.body);
        let error = refused.json()["error"].clone();
        assert_eq!(error["code"], "invalid_file", "{error}");
        assert_eq!(
            error["line"].as_u64(),
            line.map(|l: u64| l),
            "{text}: {error}"
        );
        if let Some(field) = field {
            assert_eq!(error["field"], field, "{error}");
            assert!(
                error["message"].as_str().unwrap().contains(field),
                "{error}"
            );
        }
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains(&format!("line {}", line.unwrap_or_default())),
            "{error}"
        );
    }
    let wrong_side = connected
        .post_text(
            &mut browser,
            &connected.api(bob, "import"),
            "application/toml",
            "version = 1\n[side]\nrole = \"source\"\n",
        )
        .await;
    assert_eq!(wrong_side.status, 422);
    let unchanged = browser
        .get(&connected.api(bob, "configuration"))
        .await
        .json();
    assert_eq!(unchanged["config"], before_config["config"]);
    connected.stop().await;
}

#[tokio::test]
async fn choices_are_kept_ten_minutes_refresh_loads_them_again_and_failures_are_explained() {
    let connected = Connected::spawn().await;
    let alice = &connected.app.alice.org;
    let mut browser = connected.alice().await;
    let path = connected.api(alice, "choices");
    let count = |app: &TestApp| {
        app.simulator
            .simulator()
            .request_log()
            .iter()
            .filter(|request| {
                request
                    .path
                    .contains("TicketNotes/entityInformation/fields")
            })
            .count()
    };
    assert_eq!(browser.get(&path).await.status, 200);
    let after_first = count(&connected.app);
    assert_eq!(browser.get(&path).await.status, 200);
    assert_eq!(count(&connected.app), after_first, "served from the cache");
    connected.clock.advance(time::Duration::minutes(9));
    assert_eq!(browser.get(&path).await.status, 200);
    assert_eq!(
        count(&connected.app),
        after_first,
        "still fresh after 9 minutes"
    );
    connected.clock.advance(time::Duration::minutes(2));
    assert_eq!(browser.get(&path).await.status, 200);
    assert_eq!(
        count(&connected.app),
        after_first + 1,
        "loaded again after 10 minutes"
    );
    let after_expiry = count(&connected.app);
    let refreshed = browser
        .post_json(&connected.api(alice, "choices/refresh"), &json!({}))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(count(&connected.app), after_expiry + 1, "loaded again");

    // A refresh that fails says why, and the page still renders.
    let user = connected
        .contoso
        .api_users
        .iter()
        .find(|user| user.active)
        .unwrap();
    connected.app.simulator.simulator().set_api_user_active(
        &connected.contoso.name,
        &user.username,
        false,
    );
    let failed = browser
        .post_json(&connected.api(alice, "choices/refresh"), &json!({}))
        .await;
    assert_eq!(failed.status, 502, "{}", failed.body);
    assert_eq!(failed.json()["error"]["code"], "autotask_unavailable");
    assert!(
        failed.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Could not load the choices")
    );
    let page = browser
        .submit_form(&connected.page(alice, "configuration/choices/refresh"), &[])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Could not load the choices"),
        "{}",
        page.body
    );
    connected.stop().await;
}

#[tokio::test]
async fn every_configuration_write_needs_the_csrf_token() {
    let connected = Connected::spawn().await;
    let alice = &connected.app.alice.org;
    let mut browser = connected.alice().await;
    let api_writes = [
        ("PUT", "configuration"),
        ("POST", "choices/refresh"),
        ("POST", "mappings"),
        ("POST", "mappings/defaults"),
        ("PUT", "description"),
        ("POST", "import"),
        ("PUT", "mappings/0190f0a0-0000-7000-8000-000000000000"),
        (
            "POST",
            "mappings/0190f0a0-0000-7000-8000-000000000000/suggest",
        ),
    ];
    for (method, rest) in api_writes {
        let path = connected.api(alice, rest);
        let reply = if method == "PUT" {
            browser.put_json_without_csrf(&path, &json!({})).await
        } else {
            browser.post_json_without_csrf(&path, &json!({})).await
        };
        assert_eq!(reply.status, 403, "{method} {rest}: {}", reply.body);
    }
    let delete = connected
        .delete_without_csrf(&mut browser, &connected.api(alice, "description"))
        .await;
    assert_eq!(delete.status, 403);
    let delete_mapping = connected
        .delete_without_csrf(
            &mut browser,
            &connected.api(alice, "mappings/0190f0a0-0000-7000-8000-000000000000"),
        )
        .await;
    assert_eq!(delete_mapping.status, 403);
    for rest in [
        "configuration",
        "configuration/choices/refresh",
        "configuration/credentials",
        "configuration/credentials/test",
        "configuration/import",
        "mappings",
        "mappings/defaults",
        "description",
        "description/remove",
        "mappings/0190f0a0-0000-7000-8000-000000000000",
        "mappings/0190f0a0-0000-7000-8000-000000000000/delete",
        "mappings/0190f0a0-0000-7000-8000-000000000000/match",
    ] {
        let reply = browser
            .post_form(&connected.page(alice, rest), &[("csrf_token", "wrong")])
            .await;
        assert_eq!(reply.status, 403, "{rest}: {}", reply.body);
    }
    let mappings = browser.get(&connected.api(alice, "mappings")).await.json();
    assert_eq!(mappings["mappings"], json!([]), "nothing was created");
    connected.stop().await;
}

#[tokio::test]
async fn the_configuration_page_offers_each_tenants_own_values_and_saved_choices_come_back_selected()
 {
    let connected = Connected::spawn().await;
    let (alice, bob) = (&connected.app.alice.org, &connected.app.bob.org);
    let mut browser = connected.alice().await;
    let page = browser.get(&connected.page(alice, "configuration")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        "Tickets you receive",
        "Tickets you send",
        "Sync options",
        "Reverse sync",
        "Closure",
        "Override API settings for this relationship",
        "Initial sync required",
        "Service Desk",
        "With Provider",
        "<optgroup label=\"Hardware\">",
        "Hardware › Printer",
        "Refresh choices",
    ] {
        assert!(page.body.contains(text), "{text} missing");
    }
    assert!(!page.body.contains("Level I Support"), "Northwind's queue");
    let mut bob_browser = connected.bob().await;
    let bob_page = bob_browser.get(&connected.page(bob, "configuration")).await;
    assert!(bob_page.body.contains("Level I Support"));
    assert!(!bob_page.body.contains("With Provider"), "Contoso's status");

    let saved = browser
        .submit_form(
            &connected.page(alice, "configuration"),
            &[
                ("queue", "30100002"),
                ("status", "7"),
                ("issue_type", "1"),
                ("sub_issue_type", "11"),
                ("send_queues", "30100001"),
                ("send_queues", "30100002"),
                ("public_comments", "on"),
                ("attachments", "on"),
                ("closed_statuses", "5"),
                ("status_when_partner_closes", "5"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.body.contains("Saved."), "{}", saved.body);
    assert!(
        saved
            .body
            .contains("<option value=\"30100002\" selected>Escalations</option>"),
        "{}",
        saved.body
    );
    let config = browser
        .get(&connected.api(alice, "configuration"))
        .await
        .json();
    assert_eq!(config["config"]["receive"]["queue"], 30100002);
    assert_eq!(config["config"]["receive"]["sub_issue_type"], 11);
    assert_eq!(
        config["config"]["send"]["queues"],
        json!([30100001, 30100002])
    );
    assert_eq!(config["config"]["options"]["internal_comments"], false);
    assert_eq!(config["config"]["options"]["attachments"], true);
    assert_eq!(config["warnings"], json!([]));

    // A sub-issue type of another issue type is saved, with the warning on the page.
    let warned = browser
        .submit_form(
            &connected.page(alice, "configuration"),
            &[("issue_type", "2"), ("sub_issue_type", "11")],
        )
        .await;
    assert_eq!(warned.status, 200);
    assert!(
        warned.body.contains("Saved, with warnings"),
        "{}",
        warned.body
    );
    // The warning links to the field to fix.
    assert!(
        warned
            .body
            .contains("<a href=\"#sub_issue_type\">Sub-issue type</a>:"),
        "{}",
        warned.body
    );
    assert!(warned.body.contains("id=\"sub_issue_type\""));
    connected.stop().await;
}

#[tokio::test]
async fn override_api_settings_are_saved_per_relationship_tested_and_used_for_choices() {
    let connected = Connected::spawn().await;
    let alice = &connected.app.alice.org;
    let mut browser = connected.alice().await;
    let active = connected
        .contoso
        .api_users
        .iter()
        .find(|user| user.active)
        .unwrap()
        .clone();
    let inactive = connected
        .contoso
        .api_users
        .iter()
        .find(|user| !user.active)
        .unwrap()
        .clone();

    let saved = browser
        .submit_form(
            &connected.page(alice, "configuration/credentials"),
            &[
                ("api_url", connected.contoso.api_url.as_str()),
                ("username", inactive.username.as_str()),
                ("secret", inactive.secret.as_str()),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(
        saved
            .body
            .contains("Saved the API settings for this relationship")
    );
    assert!(saved.body.contains("Set — last changed"));
    let tested = browser
        .submit_form(
            &connected.page(alice, "configuration/credentials/test"),
            &[],
        )
        .await;
    assert!(tested.body.contains("Test failed"), "{}", tested.body);

    // With the override on, choices come from the relationship's (inactive) API user.
    browser
        .put_json(
            &connected.api(alice, "configuration"),
            &json!({"override_api_settings": true}),
        )
        .await;
    let failed = browser.get(&connected.api(alice, "choices")).await;
    assert_eq!(failed.status, 502, "{}", failed.body);
    let page = browser.get(&connected.page(alice, "configuration")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("the choices could not be loaded"),
        "{}",
        page.body
    );

    // Fix the override with the active user: Test passes and the choices load again.
    browser
        .submit_form(
            &connected.page(alice, "configuration/credentials"),
            &[
                ("api_url", connected.contoso.api_url.as_str()),
                ("username", active.username.as_str()),
                ("secret", active.secret.as_str()),
            ],
        )
        .await;
    let tested = browser
        .submit_form(
            &connected.page(alice, "configuration/credentials/test"),
            &[],
        )
        .await;
    assert!(tested.body.contains("Connection tested"), "{}", tested.body);
    assert_eq!(
        browser.get(&connected.api(alice, "choices")).await.status,
        200
    );
    // Bob's side does not use Alice's override.
    let mut bob_browser = connected.bob().await;
    let bob_page = bob_browser
        .get(&connected.page(&connected.app.bob.org, "configuration"))
        .await;
    assert!(
        !bob_page.body.contains("data-testid=\"override-card\""),
        "the override fields show only once chosen"
    );
    assert!(bob_page.body.contains("Tick it and save"));
    assert!(!bob_page.body.contains(&active.username));
    connected.stop().await;
}

#[tokio::test]
async fn mapping_pages_create_edit_and_match_by_label_without_javascript() {
    let connected = Connected::spawn().await;
    let bob = &connected.app.bob.org;
    let mut browser = connected.bob().await;
    let empty = browser.get(&connected.page(bob, "mappings")).await;
    assert!(empty.body.contains("Create the default set"));
    let created = browser
        .submit_form(
            &connected.page(bob, "mappings"),
            &[
                ("source_field", "status"),
                ("target_field", "status"),
                ("direction", "both"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let edit_path = created.header("location").unwrap();
    let edit = browser.get(&edit_path).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    // Source values are Contoso's (the source), targets Northwind's (Bob's own tenant).
    assert!(edit.body.contains("With Provider"), "{}", edit.body);
    assert!(edit.body.contains(">Escalated</option>"));
    assert!(edit.body.contains("Active source values with no mapping"));
    assert!(edit.body.contains("Match by label"));

    let matched = browser
        .submit_form(&format!("{edit_path}/match"), &[])
        .await;
    assert_eq!(matched.status, 200, "{}", matched.body);
    assert!(
        matched.body.contains("Matched 3 values by label"),
        "{}",
        matched.body
    );
    assert!(
        matched
            .body
            .contains("<option value=\"13\" selected>Waiting Customer</option>"),
        "{}",
        matched.body
    );

    // Both ways, two source values onto one target value: the way back is shown, flagged, and
    // the person chooses what the target value becomes at the source.
    let both = browser
        .submit_form(
            &edit_path,
            &[
                ("source_field", "status"),
                ("target_field", "status"),
                ("direction", "both"),
                ("value_source", "10"),
                ("value_target", "15"),
                ("value_source", "12"),
                ("value_target", "15"),
            ],
        )
        .await;
    assert_eq!(both.status, 200, "{}", both.body);
    assert!(both.body.contains("On the way back"), "{}", both.body);
    assert!(
        both.body.contains("2 source values map here"),
        "{}",
        both.body
    );
    assert!(
        both.body
            .contains("<option value=\"10\" selected>Scheduled</option>"),
        "the first pair decides until a person chooses: {}",
        both.body
    );
    let chosen = browser
        .submit_form(
            &edit_path,
            &[
                ("source_field", "status"),
                ("target_field", "status"),
                ("direction", "both"),
                ("value_source", "10"),
                ("value_target", "15"),
                ("value_source", "12"),
                ("value_target", "15"),
                ("way_back_target", "15"),
                ("way_back_source", "12"),
            ],
        )
        .await;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    let mappings = browser.get(&connected.api(bob, "mappings")).await.json();
    assert_eq!(
        mapping_for(&mappings, "status")["values"][0]["source"],
        12,
        "the chosen way back comes first (it is what Escalated becomes at the source)"
    );
    let list = browser.get(&connected.page(bob, "mappings")).await;
    assert!(
        list.body
            .contains("Escalated goes back as With Provider (also mapped from: Scheduled)"),
        "{}",
        list.body
    );

    let saved = browser
        .submit_form(
            &edit_path,
            &[
                ("source_field", "status"),
                ("target_field", "status"),
                ("direction", "source_to_target"),
                ("value_source", "10"),
                ("value_target", "15"),
                ("value_source", "12"),
                ("value_target", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let mappings = browser.get(&connected.api(bob, "mappings")).await.json();
    let status = mapping_for(&mappings, "status");
    assert_eq!(status["direction"], "Source to target");
    assert_eq!(
        status["values"],
        json!([{"source": 10, "source_label": "Scheduled", "target": 15, "target_label": "Escalated"}])
    );
    let list = browser.get(&connected.page(bob, "mappings")).await;
    assert!(list.body.contains("Not mapped: New"), "{}", list.body);

    let deleted = browser
        .submit_form(&format!("{edit_path}/delete"), &[])
        .await;
    assert_eq!(
        deleted.status, 303,
        "the delete redirects, so a reload does not repeat it"
    );
    let location = deleted.headers["location"].to_str().unwrap().to_owned();
    assert!(location.ends_with("/mappings?removed=1"), "{location}");
    let deleted = browser.get(&location).await;
    assert!(deleted.body.contains("Mapping removed."));
    let defaults = browser
        .submit_form(&connected.page(bob, "mappings/defaults"), &[])
        .await;
    assert!(
        defaults.body.contains("Created 7 default mappings"),
        "{}",
        defaults.body
    );
    connected.stop().await;
}

#[tokio::test]
async fn the_description_page_adds_orders_previews_and_removes_lines() {
    let connected = Connected::spawn().await;
    let alice = &connected.app.alice.org;
    let mut browser = connected.alice().await;
    alice_carries_northwind(&connected, &mut browser).await;
    let path = connected.page(alice, "description");
    let first = browser.get(&path).await;
    assert!(
        first.body.contains("No description composition"),
        "{}",
        first.body
    );
    for (field, label) in [("status", ""), ("queueID", "Queue")] {
        let added = browser
            .submit_form(
                &path,
                &[("action", "add"), ("field", field), ("label", label)],
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.body);
    }
    let moved = browser
        .submit_form(&path, &[("action", "up"), ("index", "1")])
        .await;
    assert!(moved.body.contains("Moved up."));
    let preview = browser.get(&format!("{path}?ticket_id=31000300")).await;
    assert!(
        preview.body.contains("Queue: Service Desk\nStatus: New\n"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("Printer on floor 2 jams constantly"));
    // The ticket number people quote works as well as the id, in any case; lines show labels.
    let number = preview
        .body
        .split("On ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the preview names its ticket")
        .to_owned();
    assert!(number.starts_with('T'), "{number}");
    let by_number = browser
        .get(&format!("{path}?ticket_id={}", number.to_lowercase()))
        .await;
    assert!(
        by_number
            .body
            .contains("Queue: Service Desk\nStatus: New\n"),
        "{}",
        by_number.body
    );
    assert!(
        !by_number.body.contains("(queueID)"),
        "labels, not API names"
    );
    let unreadable = browser.get(&format!("{path}?ticket_id=ticket-7")).await;
    assert!(
        unreadable.body.contains("e.g. T20261204.0001"),
        "{}",
        unreadable.body
    );
    let stored = browser
        .get(&connected.api(alice, "description"))
        .await
        .json();
    assert_eq!(
        stored["composition"]["fields"][1],
        json!({"field": "status", "label": "Status"})
    );

    let removed = browser
        .submit_form(&connected.page(alice, "description/remove"), &[])
        .await;
    assert!(removed.body.contains("Description composition removed"));
    let stored = browser
        .get(&connected.api(alice, "description"))
        .await
        .json();
    assert_eq!(stored["composition"], Value::Null);
    connected.stop().await;
}

#[tokio::test]
async fn the_import_page_names_the_line_and_field_and_changes_nothing_on_error() {
    let connected = Connected::spawn().await;
    let alice = &connected.app.alice.org;
    let mut browser = connected.alice().await;
    browser
        .put_json(
            &connected.api(alice, "configuration"),
            &json!({"receive": {"queue": 30100001}}),
        )
        .await;
    let page = browser
        .get(&connected.page(alice, "configuration/import"))
        .await;
    assert!(page.body.contains("Download TOML"));
    let download = browser
        .get(&connected.page(alice, "configuration/export?format=json"))
        .await;
    assert_eq!(download.status, 200);
    assert!(
        download
            .header("content-disposition")
            .unwrap()
            .contains(".json")
    );
    assert_eq!(download.json()["side"]["receive"]["queue"], 30100001);

    let broken = "version = 1\n[side]\nrole = \"source\"\nsurprise = true\n";
    let refused = browser
        .submit_form(
            &connected.page(alice, "configuration/import"),
            &[("file", broken)],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("line 4"), "{}", refused.body);
    assert!(refused.body.contains("side.surprise"), "{}", refused.body);
    assert!(refused.body.contains("nothing was changed"));
    let config = browser
        .get(&connected.api(alice, "configuration"))
        .await
        .json();
    assert_eq!(config["config"]["receive"]["queue"], 30100001);

    let good =
        "version = 1\n[side]\nrole = \"source\"\n[side.receive]\nqueue = 30100002 # Escalations\n";
    let imported = browser
        .submit_form(
            &connected.page(alice, "configuration/import"),
            &[("file", good)],
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert!(imported.body.contains("Imported"), "{}", imported.body);
    let config = browser
        .get(&connected.api(alice, "configuration"))
        .await
        .json();
    assert_eq!(config["config"]["receive"]["queue"], 30100002);
    connected.stop().await;
}

#[tokio::test]
async fn no_secret_of_either_organisation_appears_in_any_response_or_the_log() {
    let connected = Connected::spawn().await;
    let (alice, bob) = (&connected.app.alice.org, &connected.app.bob.org);
    let mut browsers = vec![
        (connected.alice().await, alice.clone()),
        (connected.bob().await, bob.clone()),
    ];
    alice_carries_northwind(&connected, &mut browsers[0].0).await;
    for (browser, org) in &mut browsers {
        browser
            .post_json(&connected.api(org, "mappings/defaults"), &json!({}))
            .await;
        browser
            .put_json(
                &connected.api(org, "description"),
                &json!({"fields": [{"field": "status", "label": "Status"}]}),
            )
            .await;
        for rest in [
            "configuration",
            "choices",
            "mappings",
            "description",
            "description/preview",
            "export",
            "export?format=json",
        ] {
            let reply = browser.get(&connected.api(org, rest)).await;
            assert_eq!(reply.status, 200, "{rest}: {}", reply.body);
        }
        for page in [
            "configuration",
            "mappings",
            "description",
            "configuration/import",
        ] {
            let reply = browser.get(&connected.page(org, page)).await;
            assert_eq!(reply.status, 200, "{page}: {}", reply.body);
        }
        let tested = browser
            .submit_form(&connected.page(org, "configuration/credentials/test"), &[])
            .await;
        assert_eq!(tested.status, 200);
    }
    let log = crate::support::captured_log();
    for secret in connected.secrets() {
        for (browser, _) in &browsers {
            for body in &browser.seen_bodies {
                assert!(!body.contains(&secret), "a secret in a response");
            }
        }
        assert!(!log.contains(&secret), "a secret in the log");
    }
    connected.stop().await;
}

#[tokio::test]
async fn time_entries_can_arrive_as_time_entries_with_a_role_work_type_and_fallback_from_the_tenant()
 {
    let connected = Connected::spawn().await;
    let alice = &connected.app.alice.org;
    let mut browser = connected.alice().await;
    // The choices come live from Contoso's tenant: its active roles and work types only.
    let choices = browser.get(&connected.api(alice, "choices")).await.json();
    assert_eq!(
        labels(&choices, "time_role"),
        ["Senior Engineer", "Technician"]
    );
    assert_eq!(
        labels(&choices, "time_work_type"),
        ["On-site Support", "Remote Support"]
    );
    let page = browser.get(&connected.page(alice, "configuration")).await;
    for text in [
        "time entries arrive</label>",
        "<option value=\"time_entries\">As time entries</option>",
        "Role (as time entries)",
        "Remote Support",
        "Alex Morgan",
    ] {
        assert!(page.body.contains(text), "{text} missing");
    }

    // The form: as time entries, Technician, Remote Support, Alex as fallback, billable.
    let text = |value: Value| {
        value
            .as_i64()
            .map(|number| number.to_string())
            .or_else(|| value.as_str().map(str::to_owned))
            .expect("a code")
    };
    let role = text(choice_value(&choices, "time_role", "Technician"));
    let work_type = text(choice_value(&choices, "time_work_type", "Remote Support"));
    let alex = text(choice_value(&choices, "resource", "Alex Morgan"));
    let saved = browser
        .submit_form(
            &connected.page(alice, "configuration"),
            &[
                ("time_arrive_as", "time_entries"),
                ("time_role", &role),
                ("time_work_type", &work_type),
                ("time_fallback_resource", &alex),
                ("time_billable", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(
        saved
            .body
            .contains("<option value=\"time_entries\" selected>As time entries</option>"),
        "{}",
        saved.body
    );
    let config = browser
        .get(&connected.api(alice, "configuration"))
        .await
        .json();
    assert_eq!(
        config["config"]["time_entries"],
        json!({"arrive_as": "time_entries", "send": "all", "fallback_resource": alex.parse::<i64>().unwrap(),
               "role": role.parse::<i64>().unwrap(), "billing_code": work_type.parse::<i64>().unwrap(), "billable": true})
    );
    assert_eq!(config["warnings"], json!([]));

    // Through the API, without a work type: saved, with a warning saying what is missing.
    let saved = browser
        .put_json(
            &connected.api(alice, "configuration"),
            &json!({"time_entries": {"arrive_as": "time_entries", "role": 424242}}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let warnings = saved.json()["warnings"].to_string();
    assert!(warnings.contains("Time entry work type"), "{warnings}");
    assert!(warnings.contains("Fallback resource"), "{warnings}");
    assert!(
        warnings.contains("value 424242 no longer exists"),
        "{warnings}"
    );
    // An unknown way to arrive is refused with the ways there are.
    let refused = browser
        .put_json(
            &connected.api(alice, "configuration"),
            &json!({"time_entries": {"arrive_as": "invoices"}}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("time_entries"), "{}", refused.body);
    connected.stop().await;
}
