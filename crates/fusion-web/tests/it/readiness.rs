//! `/readyz`: ready (200, every check listed as ok) with a reachable, current database and
//! passing registered checks; 503 naming the failing check when the database is gone or a
//! registered check (e.g. the sync scheduler's heartbeat) fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fusion_autotask::{AutotaskSettings, AutotaskTenants, ConnectionTester};
use fusion_domain::SystemClock;
use fusion_store::{SecretKey, Store, StoreOptions};
use fusion_web::{AppState, WebSettings, router};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn memory_store() -> Arc<dyn Store> {
    fusion_store::open_with_options(
        "sqlite::memory:",
        SecretKey::generate(),
        StoreOptions::for_tests(),
    )
    .await
    .expect("opens an in-memory store")
}

fn state(store: Arc<dyn Store>) -> AppState {
    AppState::new(
        store,
        Arc::new(AutotaskTenants::new(
            ConnectionTester::new(AutotaskSettings::default()),
            Arc::new(SystemClock),
        )),
        WebSettings::default(),
    )
}

async fn readyz(state: AppState) -> (StatusCode, Value) {
    let response = router(state)
        .oneshot(
            Request::get("/readyz")
                .body(Body::empty())
                .expect("a request"),
        )
        .await
        .expect("an answer");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .expect("a body");
    (status, serde_json::from_slice(&bytes).expect("a JSON body"))
}

fn check<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["checks"]
        .as_array()
        .expect("a list of checks")
        .iter()
        .find(|check| check["name"] == name)
        .unwrap_or_else(|| panic!("no check named {name} in {body}"))
}

#[tokio::test]
async fn readyz_is_ready_with_a_reachable_current_database_and_passing_checks() {
    let state = state(memory_store().await).with_readiness_check("scheduler", Arc::new(|| Ok(())));
    let (status, body) = readyz(state).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"ready": true, "checks": [
            {"name": "database", "ok": true},
            {"name": "migrations", "ok": true},
            {"name": "scheduler", "ok": true},
        ]})
    );
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_database_is_gone() {
    let store = memory_store().await;
    store.close().await;
    let (status, body) = readyz(state(store)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(check(&body, "database")["ok"], false);
    assert_eq!(check(&body, "migrations")["ok"], false);
    let reason = check(&body, "database")["reason"]
        .as_str()
        .expect("a reason");
    assert!(reason.contains("not reachable"), "{reason}");
}

#[tokio::test]
async fn readyz_is_unavailable_while_a_registered_check_fails_and_ready_again_after() {
    let heartbeat_recent = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&heartbeat_recent);
    let state = state(memory_store().await).with_readiness_check(
        "scheduler",
        Arc::new(move || {
            if flag.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err("the sync scheduler has not run for 5 minutes".to_owned())
            }
        }),
    );

    let (status, body) = readyz(state.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(check(&body, "database")["ok"], true);
    assert_eq!(
        check(&body, "scheduler"),
        &json!({"name": "scheduler", "ok": false, "reason": "the sync scheduler has not run for 5 minutes"})
    );

    heartbeat_recent.store(true, Ordering::SeqCst);
    let (status, body) = readyz(state).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn registering_a_check_twice_under_one_name_replaces_it() {
    let state = state(memory_store().await)
        .with_readiness_check("scheduler", Arc::new(|| Err("stale".to_owned())))
        .with_readiness_check("scheduler", Arc::new(|| Ok(())));
    let (status, body) = readyz(state).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["checks"].as_array().map(Vec::len), Some(3));
}
