//! Organisation connections through the real server: create → accept → Active for both, the
//! verification code's expiry (injected clock), single use, revocation, re-issue, own and
//! duplicate codes, throttling of wrong codes, the pause/resume/end rules, 404 for an
//! organisation outside the connection, CSRF, and the page working without JavaScript.

use std::sync::Arc;

use fusion_domain::{ManualClock, VERIFICATION_CODE_LIFETIME};
use secrecy::SecretString;
use serde_json::{Value, json};
use time::Duration;
use time::macros::datetime;

use crate::support::{Account, AppOptions, Browser, Reply, TestApp, captured_log};

const START: time::OffsetDateTime = datetime!(2026-11-27 09:00 UTC);

/// The app with a clock the test moves.
async fn spawn_with_clock() -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    let app = TestApp::spawn_with(AppOptions {
        clock: Some(clock.clone()),
        ..AppOptions::default()
    })
    .await;
    (app, clock)
}

/// A third organisation ("C"), part of no connection.
async fn outsider(app: &TestApp) -> Account {
    let org = app
        .store
        .create_organisation("Fabrikam Outsiders")
        .await
        .unwrap();
    let email = "carol@fabrikam.example".to_owned();
    let password = format!("carol's long password {}", org.id);
    app.store
        .create_person(
            org.id,
            &email,
            "Carol Outsider",
            &SecretString::from(password.clone()),
        )
        .await
        .unwrap();
    Account {
        org,
        email,
        password,
    }
}

fn relationships_path(account: &Account) -> String {
    format!("/api/v1/orgs/{}/relationships", account.org.id)
}

fn connections_path(account: &Account) -> String {
    format!("/orgs/{}/connections", account.org.id)
}

/// Creates a connection through the API; returns (relationship id, verification code, body).
async fn create(
    browser: &mut Browser,
    account: &Account,
    role: &str,
    contract_name: &str,
) -> (String, String, Value) {
    let reply = browser
        .post_json(
            &relationships_path(account),
            &json!({"role": role, "contract_name": contract_name}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    let id = body["relationship"]["id"].as_str().unwrap().to_owned();
    let code = body["verification_code"].as_str().unwrap().to_owned();
    (id, code, body)
}

async fn accept(browser: &mut Browser, account: &Account, code: &str) -> Reply {
    browser
        .post_json(
            &format!("{}/accept", relationships_path(account)),
            &json!({ "code": code }),
        )
        .await
}

async fn act(browser: &mut Browser, account: &Account, id: &str, action: &str) -> Reply {
    browser
        .post_json(
            &format!("{}/{id}/{action}", relationships_path(account)),
            &json!({}),
        )
        .await
}

async fn list(browser: &mut Browser, account: &Account) -> Vec<Value> {
    let reply = browser.get(&relationships_path(account)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["relationships"].as_array().unwrap().clone()
}

fn error_code(reply: &Reply) -> String {
    reply.json()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn assert_refused(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(error_code(reply), code, "{}", reply.body);
}

fn api_timestamp(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn a_connection_created_by_one_organisation_and_accepted_by_the_other_is_active_for_both() {
    let (app, _clock) = spawn_with_clock().await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;

    let (id, code, created) = create(&mut alice, &app.alice, "source", "Managed services").await;
    assert_eq!(code.len(), 14, "three groups of four: {code}");
    assert_eq!(code.split('-').count(), 3);
    assert_eq!(
        created["code_expires_at"],
        api_timestamp(START + VERIFICATION_CODE_LIFETIME)
    );
    assert!(created["note"].as_str().unwrap().contains(
        "Give this code to your partner; it expires on 4 Dec 2026, 09:00 UTC and works once"
    ));
    assert_eq!(created["relationship"]["state"], "pending");
    assert_eq!(created["relationship"]["role"], "source");

    // Pending: the initiator sees it with its expiry, nobody else sees it yet.
    let pending = list(&mut alice, &app.alice).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["state_label"], "Pending");
    assert_eq!(pending[0]["partner"], Value::Null);
    assert_eq!(
        pending[0]["code_expires_at"],
        api_timestamp(START + VERIFICATION_CODE_LIFETIME)
    );
    assert_eq!(pending[0]["actions"], json!(["reissue", "revoke"]));
    assert!(list(&mut bob, &app.bob).await.is_empty());

    // Typed loosely (lower case, spaces instead of dashes) it still works.
    let typed = code.to_lowercase().replace('-', " ");
    let accepted = accept(&mut bob, &app.bob, &typed).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let accepted = accepted.json();
    assert_eq!(accepted["id"], id);
    assert_eq!(accepted["state"], "active");
    assert_eq!(accepted["role"], "target");
    assert_eq!(accepted["partner"]["name"], "Contoso Manufacturing");

    let seen_by_alice = list(&mut alice, &app.alice).await;
    let seen_by_bob = list(&mut bob, &app.bob).await;
    for (seen, role, partner) in [
        (&seen_by_alice, "source", "Northwind IT"),
        (&seen_by_bob, "target", "Contoso Manufacturing"),
    ] {
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0]["id"], id);
        assert_eq!(seen[0]["state"], "active");
        assert_eq!(seen[0]["role"], role);
        assert_eq!(seen[0]["partner"]["name"], partner);
        assert_eq!(seen[0]["contract_name"], "Managed services");
        assert_eq!(seen[0]["readiness_label"], "Initial sync required");
        assert_eq!(seen[0]["code_expires_at"], Value::Null);
        assert_eq!(seen[0]["actions"], json!(["pause", "end"]));
    }
    let one = bob
        .get(&format!("{}/{id}", relationships_path(&app.bob)))
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["role"], "target");

    // The code was in exactly one response: the one that created it.
    let with_code = alice
        .seen_bodies
        .iter()
        .chain(bob.seen_bodies.iter())
        .filter(|body| body.contains(&code))
        .count();
    assert_eq!(with_code, 1);
    // Stored only as a digest, and never logged.
    let database = String::from_utf8_lossy(&app.database_bytes()).into_owned();
    assert!(!database.contains(&code));
    assert!(!database.contains(&code.replace('-', "")));
    assert!(!captured_log().contains(&code));
    app.stop().await;
}

#[tokio::test]
async fn a_code_stops_working_seven_days_after_it_was_issued() {
    let (app, clock) = spawn_with_clock().await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let (_, late_code, _) = create(&mut alice, &app.alice, "source", "Late").await;
    let (_, timely_code, _) = create(&mut alice, &app.alice, "source", "Timely").await;

    clock.advance(VERIFICATION_CODE_LIFETIME - Duration::minutes(1));
    assert_eq!(accept(&mut bob, &app.bob, &timely_code).await.status, 200);

    clock.advance(Duration::minutes(2));
    let expired = accept(&mut bob, &app.bob, &late_code).await;
    assert_refused(&expired, 422, "code_expired");
    assert!(
        expired.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    let listed = list(&mut alice, &app.alice).await;
    let late = listed
        .iter()
        .find(|connection| connection["contract_name"] == "Late")
        .unwrap();
    assert_eq!(late["state"], "pending");
    assert_eq!(late["code_expired"], true);
    let page = alice.get(&connections_path(&app.alice)).await;
    assert!(page.body.contains("Code expired on 4 Dec 2026, 09:00 UTC"));
    app.stop().await;
}

#[tokio::test]
async fn a_code_works_once_and_an_outsider_cannot_use_it_afterwards() {
    let (app, _clock) = spawn_with_clock().await;
    let carol_account = outsider(&app).await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let mut carol = app.signed_in(&carol_account).await;
    let (id, code, _) = create(&mut alice, &app.alice, "target", "Helpdesk").await;

    assert_eq!(accept(&mut bob, &app.bob, &code).await.status, 200);
    assert_refused(&accept(&mut bob, &app.bob, &code).await, 422, "code_used");
    assert_refused(
        &accept(&mut carol, &carol_account, &code).await,
        422,
        "code_used",
    );

    assert!(list(&mut carol, &carol_account).await.is_empty());
    let seen_by_alice = list(&mut alice, &app.alice).await;
    assert_eq!(seen_by_alice.len(), 1);
    assert_eq!(seen_by_alice[0]["id"], id);
    assert_eq!(seen_by_alice[0]["partner"]["name"], "Northwind IT");
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_code_is_refused_and_a_revoked_connection_stays_revoked() {
    let (app, _clock) = spawn_with_clock().await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let (id, code, _) = create(&mut alice, &app.alice, "source", "Cancelled deal").await;

    let revoked = act(&mut alice, &app.alice, &id, "revoke").await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.json()["state"], "revoked");
    assert_refused(
        &accept(&mut bob, &app.bob, &code).await,
        422,
        "code_revoked",
    );
    assert_refused(
        &act(&mut alice, &app.alice, &id, "revoke").await,
        409,
        "invalid_state_change",
    );
    assert_refused(
        &act(&mut alice, &app.alice, &id, "reissue").await,
        409,
        "invalid_state_change",
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_malformed_and_own_codes_are_refused_with_their_own_errors() {
    let (app, _clock) = spawn_with_clock().await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let (_, code, _) = create(&mut alice, &app.alice, "source", "Support").await;

    let unknown = accept(&mut bob, &app.bob, "2345-6789-ABCD").await;
    assert_refused(&unknown, 422, "code_unknown");
    assert!(
        unknown.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("No pending connection has that verification code")
    );
    assert_refused(
        &accept(&mut bob, &app.bob, "hello").await,
        422,
        "code_malformed",
    );
    let own = accept(&mut alice, &app.alice, &code).await;
    assert_refused(&own, 422, "own_code");
    assert!(
        own.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("issued by your own organisation")
    );
    // None of that used the code up.
    assert_eq!(accept(&mut bob, &app.bob, &code).await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_second_connection_duplicating_a_live_one_is_refused() {
    let (app, _clock) = spawn_with_clock().await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let (_, first, _) = create(&mut alice, &app.alice, "source", "Managed services").await;
    assert_eq!(accept(&mut bob, &app.bob, &first).await.status, 200);

    let (_, again, _) = create(&mut alice, &app.alice, "source", "Managed services").await;
    assert_refused(
        &accept(&mut bob, &app.bob, &again).await,
        422,
        "duplicate_relationship",
    );
    // Another contract between the same two organisations is a different connection.
    let (_, other, _) = create(&mut alice, &app.alice, "source", "Projects").await;
    assert_eq!(accept(&mut bob, &app.bob, &other).await.status, 200);
    let live: Vec<_> = list(&mut bob, &app.bob)
        .await
        .into_iter()
        .filter(|connection| connection["state"] == "active")
        .collect();
    assert_eq!(live.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn repeated_wrong_codes_lock_accepting_for_that_organisation_only() {
    let (app, clock) = spawn_with_clock().await;
    let carol_account = outsider(&app).await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let mut carol = app.signed_in(&carol_account).await;
    let (_, code, _) = create(&mut alice, &app.alice, "source", "Support").await;

    for guess in [
        "2345-6789-ABCD",
        "2345-6789-ABCE",
        "2345-6789-ABCF",
        "2345-6789-ABCG",
        "2345-6789-ABCH",
    ] {
        assert_refused(
            &accept(&mut bob, &app.bob, guess).await,
            422,
            "code_unknown",
        );
    }
    // Locked: even the right code is not looked at now.
    let locked = accept(&mut bob, &app.bob, &code).await;
    assert_refused(&locked, 429, "code_throttled");
    assert!(locked.header("retry-after").is_some());
    assert!(
        locked.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("15 minutes")
    );
    let page = bob
        .submit_form(
            &format!("{}/accept", connections_path(&app.bob)),
            &[("code", code.as_str())],
        )
        .await;
    assert_eq!(page.status, 429);
    assert!(page.body.contains("Too many wrong codes"));
    assert!(list(&mut bob, &app.bob).await.is_empty());

    // Another organisation is not affected.
    assert_refused(
        &accept(&mut carol, &carol_account, "2345-6789-ABCD").await,
        422,
        "code_unknown",
    );
    // The lock lasts 15 minutes, then the right code works.
    clock.advance(Duration::minutes(14));
    assert_refused(
        &accept(&mut bob, &app.bob, &code).await,
        429,
        "code_throttled",
    );
    clock.advance(Duration::minutes(1));
    let accepted = accept(&mut bob, &app.bob, &code).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    app.stop().await;
}

#[tokio::test]
async fn reissuing_a_code_invalidates_the_old_one_and_restarts_the_seven_days() {
    let (app, clock) = spawn_with_clock().await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let (id, old_code, _) = create(&mut alice, &app.alice, "source", "Support").await;

    // Even after the first code has expired it can be re-issued.
    clock.advance(Duration::days(8));
    let reissued = act(&mut alice, &app.alice, &id, "reissue").await;
    assert_eq!(reissued.status, 200, "{}", reissued.body);
    let reissued = reissued.json();
    let new_code = reissued["verification_code"].as_str().unwrap().to_owned();
    assert_ne!(new_code, old_code);
    assert_eq!(reissued["state"], "pending");
    assert_eq!(
        reissued["code_expires_at"],
        api_timestamp(START + Duration::days(8) + VERIFICATION_CODE_LIFETIME)
    );
    assert_eq!(reissued["code_expired"], false);

    let old = accept(&mut bob, &app.bob, &old_code).await;
    assert_refused(&old, 422, "code_unknown");
    let accepted = accept(&mut bob, &app.bob, &new_code).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.json()["id"], id);
    app.stop().await;
}

#[tokio::test]
async fn either_side_may_pause_resume_and_end_an_active_connection_within_the_lifecycle_rules() {
    let (app, _clock) = spawn_with_clock().await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let (id, code, _) = create(&mut alice, &app.alice, "source", "Support").await;

    // While Pending nothing but revoke and re-issue applies.
    for action in ["pause", "resume", "end"] {
        let refused = act(&mut alice, &app.alice, &id, action).await;
        assert_refused(&refused, 409, "invalid_state_change");
    }
    let pending_pause = act(&mut alice, &app.alice, &id, "pause").await;
    assert_eq!(
        pending_pause.json()["error"]["message"],
        "a pending connection cannot be paused"
    );

    assert_eq!(accept(&mut bob, &app.bob, &code).await.status, 200);
    for action in ["resume", "revoke", "reissue"] {
        assert_refused(
            &act(&mut alice, &app.alice, &id, action).await,
            409,
            "invalid_state_change",
        );
    }

    let paused = act(&mut bob, &app.bob, &id, "pause").await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(list(&mut alice, &app.alice).await[0]["state"], "paused");
    let again = act(&mut alice, &app.alice, &id, "pause").await;
    assert_refused(&again, 409, "invalid_state_change");
    assert_eq!(
        again.json()["error"]["message"],
        "a paused connection cannot be paused"
    );

    let resumed = act(&mut alice, &app.alice, &id, "resume").await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    assert_eq!(list(&mut bob, &app.bob).await[0]["state"], "active");

    let ended = act(&mut alice, &app.alice, &id, "end").await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert_eq!(ended.json()["actions"], json!([]));
    for action in ["pause", "resume", "end", "revoke", "reissue"] {
        assert_refused(
            &act(&mut bob, &app.bob, &id, action).await,
            409,
            "invalid_state_change",
        );
    }
    assert_eq!(list(&mut bob, &app.bob).await[0]["state"], "ended");
    app.stop().await;
}

#[tokio::test]
async fn an_organisation_outside_a_connection_gets_404_on_every_relationship_route() {
    let (app, _clock) = spawn_with_clock().await;
    let carol_account = outsider(&app).await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let mut carol = app.signed_in(&carol_account).await;
    let (active_id, code, _) = create(&mut alice, &app.alice, "source", "Active one").await;
    assert_eq!(accept(&mut bob, &app.bob, &code).await.status, 200);
    let (pending_id, _, _) = create(&mut alice, &app.alice, "source", "Pending one").await;

    let unknown_id = "01900000-0000-7000-8000-000000000000";
    let unknown_reply = carol
        .get(&format!(
            "{}/{unknown_id}",
            relationships_path(&carol_account)
        ))
        .await;
    assert_eq!(unknown_reply.status, 404);

    for id in [&active_id, &pending_id] {
        // Through carol's own organisation's routes…
        let own = relationships_path(&carol_account);
        let reply = carol.get(&format!("{own}/{id}")).await;
        assert_eq!(reply.status, 404, "GET {id}");
        assert_eq!(reply.body, unknown_reply.body, "exactly like an unknown id");
        for action in ["revoke", "reissue", "pause", "resume", "end"] {
            let reply = act(&mut carol, &carol_account, id, action).await;
            assert_eq!(reply.status, 404, "API {action} {id}: {}", reply.body);
            assert_eq!(reply.body, unknown_reply.body);
            let page = carol
                .submit_form(
                    &format!("{}/{id}/{action}", connections_path(&carol_account)),
                    &[],
                )
                .await;
            assert_eq!(page.status, 404, "page {action} {id}");
            assert!(page.body.contains("Page not found"));
        }
        // …and through the partners' organisation routes.
        for owner in [&app.alice, &app.bob] {
            let theirs = relationships_path(owner);
            assert_eq!(carol.get(&format!("{theirs}/{id}")).await.status, 404);
            assert_eq!(carol.get(&theirs).await.status, 404);
            for action in ["revoke", "reissue", "pause", "resume", "end"] {
                assert_eq!(
                    act(&mut carol, owner, id, action).await.status,
                    404,
                    "API {action} via {}",
                    owner.org.name
                );
                let page = carol
                    .submit_form(&format!("{}/{id}/{action}", connections_path(owner)), &[])
                    .await;
                assert_eq!(page.status, 404);
            }
            assert_eq!(carol.get(&connections_path(owner)).await.status, 404);
        }
    }
    // Bob, the partner of the active one, cannot see alice's pending one either.
    assert_eq!(
        bob.get(&format!("{}/{pending_id}", relationships_path(&app.bob)))
            .await
            .status,
        404
    );
    assert_eq!(
        act(&mut bob, &app.bob, &pending_id, "revoke").await.status,
        404
    );

    // Nothing changed, and no page carol saw names the connections.
    let states: Vec<_> = list(&mut alice, &app.alice)
        .await
        .into_iter()
        .map(|connection| connection["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, vec!["pending", "active"]);
    assert!(list(&mut carol, &carol_account).await.is_empty());
    assert!(
        carol
            .seen_bodies
            .iter()
            .all(|body| !body.contains("Active one") && !body.contains("Pending one"))
    );
    app.stop().await;
}

#[tokio::test]
async fn the_connections_page_works_without_javascript_shows_the_code_once_and_escapes_the_contract_name()
 {
    let (app, _clock) = spawn_with_clock().await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let hostile_name = "<script>alert(1)</script> & \"Co\"";

    let empty = alice.get(&connections_path(&app.alice)).await;
    assert_eq!(empty.status, 200);
    assert!(!empty.body.contains("<script"));
    assert!(
        empty
            .body
            .contains("Source — tickets originate here, typically the customer")
    );
    assert!(
        empty
            .body
            .contains("Target — tickets are received here, typically the provider")
    );
    assert!(
        empty
            .body
            .contains(&format!("href=\"{}\"", connections_path(&app.alice)))
    );
    assert!(empty.body.contains(">Connections</a>"));

    let created = alice
        .submit_form(
            &connections_path(&app.alice),
            &[("role", "target"), ("contract_name", hostile_name)],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(!created.body.contains("<script>alert(1)</script>"));
    assert!(
        created
            .body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
    );
    assert!(created.body.contains(
        "Give this code to your partner; it expires on 4 Dec 2026, 09:00 UTC and works once."
    ));
    let code = created
        .body
        .split("<p class=\"verification-code\" aria-label=\"Verification code\"><code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the code is shown big on the page")
        .to_owned();
    assert_eq!(code.len(), 14);

    // Reloading the page does not show the code again.
    let reloaded = alice.get(&connections_path(&app.alice)).await;
    assert!(!reloaded.body.contains(&code));
    assert!(reloaded.body.contains("Pending"));
    assert!(
        reloaded
            .body
            .contains("Code expires on 4 Dec 2026, 09:00 UTC")
    );
    assert!(reloaded.body.contains("Re-issue code"));
    // Revoke asks to confirm first.
    assert!(reloaded.body.contains(">Revoke…</summary>"));
    assert!(reloaded.body.contains("Yes, revoke the code</button>"));

    // Bob accepts through his page.
    let wrong = bob
        .submit_form(
            &format!("{}/accept", connections_path(&app.bob)),
            &[("code", "2345-6789-ABCD")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong
            .body
            .contains("No pending connection has that verification code")
    );
    let accepted = bob
        .submit_form(
            &format!("{}/accept", connections_path(&app.bob)),
            &[("code", &code)],
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert!(
        accepted
            .body
            .contains("Connected with Contoso Manufacturing as Source")
    );
    assert!(accepted.body.contains("Initial sync required"));
    assert!(accepted.body.contains("&#60;script&#62;alert(1)"));
    assert!(!accepted.body.contains("<script>alert(1)</script>"));
    let id = list(&mut bob, &app.bob).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = format!("{}/{id}", connections_path(&app.bob));
    assert!(
        accepted
            .body
            .contains(&format!("href=\"{base}/configuration\""))
    );
    assert!(accepted.body.contains(&format!("action=\"{base}/pause\"")));
    assert!(accepted.body.contains(&format!("action=\"{base}/end\"")));

    // Each connection links to its Sync page, and the readiness badge leads to where it is resolved.
    let sync_page = format!("/orgs/{}/sync?relationship={id}", app.bob.org.id);
    assert!(accepted.body.contains(&format!("href=\"{sync_page}\"")));
    assert!(
        accepted
            .body
            .contains(&format!("href=\"{sync_page}#sync-now\""))
    );

    // A lifecycle action redirects back to the list (a reload does not repeat it).
    let redirected = bob.submit_form(&format!("{base}/pause"), &[]).await;
    assert_eq!(redirected.status, 303, "{}", redirected.body);
    let location = redirected.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!("{}?done=pause&connection={id}", connections_path(&app.bob))
    );
    let paused = bob.get(&location).await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert!(paused.body.contains("Connection paused"));
    assert!(paused.body.contains(&format!("action=\"{base}/resume\"")));
    let refused = bob.submit_form(&format!("{base}/pause"), &[]).await;
    assert_eq!(refused.status, 409);
    assert!(
        refused
            .body
            .contains("A paused connection cannot be paused.")
    );

    for body in alice.seen_bodies.iter().chain(bob.seen_bodies.iter()) {
        if body.starts_with("<!doctype html>") {
            assert!(!body.contains("<script"), "no JavaScript on any page");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn every_connection_form_and_json_write_needs_the_csrf_token() {
    let (app, _clock) = spawn_with_clock().await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let (id, code, _) = create(&mut alice, &app.alice, "source", "Support").await;

    let api = relationships_path(&app.alice);
    let writes = [
        (
            api.clone(),
            json!({"role": "source", "contract_name": "Forged"}),
        ),
        (format!("{api}/accept"), json!({"code": code})),
        (format!("{api}/{id}/revoke"), json!({})),
        (format!("{api}/{id}/reissue"), json!({})),
        (format!("{api}/{id}/pause"), json!({})),
        (format!("{api}/{id}/resume"), json!({})),
        (format!("{api}/{id}/end"), json!({})),
    ];
    for (path, body) in &writes {
        let reply = alice.post_json_without_csrf(path, body).await;
        assert_refused(&reply, 403, "csrf_rejected");
    }
    let pages = connections_path(&app.alice);
    let forms = [
        (
            pages.clone(),
            vec![("role", "source"), ("contract_name", "Forged")],
        ),
        (format!("{pages}/accept"), vec![("code", code.as_str())]),
        (format!("{pages}/{id}/revoke"), vec![]),
        (format!("{pages}/{id}/reissue"), vec![]),
        (format!("{pages}/{id}/pause"), vec![]),
        (format!("{pages}/{id}/resume"), vec![]),
        (format!("{pages}/{id}/end"), vec![]),
    ];
    for (path, fields) in &forms {
        let without = alice.post_form(path, fields).await;
        assert_eq!(without.status, 403, "{path}");
        assert!(without.body.contains("Form expired"));
        let mut wrong = vec![("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")];
        wrong.extend(fields.iter().copied());
        assert_eq!(alice.post_form(path, &wrong).await.status, 403, "{path}");
    }

    // Nothing happened: still one Pending connection, and its code still works.
    let listed = list(&mut alice, &app.alice).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["state"], "pending");
    assert_eq!(accept(&mut bob, &app.bob, &code).await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_new_connection_needs_a_role_and_a_contract_name() {
    let (app, _clock) = spawn_with_clock().await;
    let mut alice = app.signed_in(&app.alice).await;
    let path = relationships_path(&app.alice);

    let no_role = alice
        .post_json(&path, &json!({"contract_name": "Support"}))
        .await;
    assert_refused(&no_role, 422, "missing_value");
    assert_eq!(no_role.json()["error"]["field"], "role");
    let bad_role = alice
        .post_json(
            &path,
            &json!({"role": "provider", "contract_name": "Support"}),
        )
        .await;
    assert_refused(&bad_role, 422, "invalid_value");
    let no_name = alice
        .post_json(&path, &json!({"role": "source", "contract_name": "  "}))
        .await;
    assert_refused(&no_name, 422, "missing_value");
    assert_eq!(no_name.json()["error"]["field"], "contract_name");
    let unknown_field = alice
        .post_json(
            &path,
            &json!({"role": "source", "contract_name": "x", "partner": "y"}),
        )
        .await;
    assert_refused(&unknown_field, 400, "invalid_body");

    let page = alice
        .submit_form(
            &connections_path(&app.alice),
            &[("contract_name", "Kept <b>")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Choose your role"));
    assert!(page.body.contains("value=\"Kept &#60;b&#62;\""));
    assert!(list(&mut alice, &app.alice).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn scripts_with_an_api_token_manage_connections_without_a_csrf_header() {
    let (app, _clock) = spawn_with_clock().await;
    let mut alice = app.signed_in(&app.alice).await;
    let token = alice
        .post_json(
            "/api/v1/me/api-tokens",
            &json!({"label": "connections script"}),
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut script = app.browser();
    script.bearer_token = Some(token);
    let created = script
        .post_json_without_csrf(
            &relationships_path(&app.alice),
            &json!({"role": "target", "contract_name": "Scripted"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["relationship"]["role"], "target");
    app.stop().await;
}
