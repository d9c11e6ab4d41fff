//! `fusion keys rotate` while a server runs (the demo, which opens its store like `serve`): the
//! running server keeps testing connections with the stored secrets without a restart, saves a
//! new secret under the new key, and afterwards the new key file alone opens every secret.

use std::path::Path;

use fusion_domain::OrgId;
use fusion_store::SecretKey;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::process::{Served, fresh_data_dir, fusion, run};

fn key_in(file: &Path) -> SecretKey {
    SecretKey::from_env_or_file(None, file).expect("a key file")
}

/// A signed-in organisation: its id, session cookie and CSRF token.
struct SignedIn {
    org_id: String,
    cookie: String,
    csrf: String,
}

async fn sign_in(client: &reqwest::Client, url: &str, organisation: &Value) -> SignedIn {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", organisation["email"].as_str().expect("email"))
        .append_pair(
            "password",
            organisation["password"].as_str().expect("password"),
        )
        .finish();
    let response = client
        .post(format!("{url}sign-in"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("sign-in answers");
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("fusion_session="))
        .and_then(|value| value.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let me: Value = client
        .get(format!("{url}api/v1/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("/api/v1/me answers")
        .json()
        .await
        .expect("JSON");
    SignedIn {
        org_id: me["organisation"]["id"]
            .as_str()
            .expect("org id")
            .to_owned(),
        csrf: me["csrf_token"].as_str().expect("csrf").to_owned(),
        cookie,
    }
}

async fn test_saved_connection(client: &reqwest::Client, url: &str, signed_in: &SignedIn) -> Value {
    client
        .post(format!(
            "{url}api/v1/orgs/{}/platform/test",
            signed_in.org_id
        ))
        .header(COOKIE, &signed_in.cookie)
        .header("x-csrf-token", &signed_in.csrf)
        .send()
        .await
        .expect("the test answers")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_server_follows_keys_rotate_without_a_restart() {
    let data_dir = fresh_data_dir("live-rotation");
    let data_dir_text = data_dir.display().to_string();
    let demo_dir = data_dir_text.clone();
    let demo = tokio::task::spawn_blocking(move || {
        Served::start(fusion(
            &["demo", "--listen", "127.0.0.1:0", "--data-dir", &demo_dir],
            &[],
        ))
    })
    .await
    .expect("the demo starts");
    let url = demo.ready["url"].as_str().expect("url").to_owned();
    let simulator_url = demo.ready["simulator"]["url"]
        .as_str()
        .expect("simulator url")
        .to_owned();
    let key_file = data_dir.join("fusion.key");
    let old_key = key_in(&key_file);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let organisations = demo.ready["orgs"].as_array().expect("orgs").clone();
    let mut signed_in = Vec::new();
    for organisation in &organisations {
        signed_in.push(sign_in(&client, &url, organisation).await);
    }

    let rotate_dir = data_dir_text.clone();
    let rotated = tokio::task::spawn_blocking(move || {
        run(
            fusion(&["keys", "rotate", "--data-dir", &rotate_dir], &[]),
            None,
        )
    })
    .await
    .expect("rotate runs");
    assert_eq!(rotated.code, Some(0), "{}", rotated.all_output());
    assert!(
        rotated.stdout.contains("picks the new key up by itself"),
        "{}",
        rotated.stdout
    );
    let new_key = key_in(&key_file);
    assert!(!new_key.same_key_as(&old_key));

    // Every stored secret is now sealed under a key the server did not start with.
    for organisation in &signed_in {
        let tested = test_saved_connection(&client, &url, organisation).await;
        assert_eq!(tested["status"], "Connection tested", "{tested}");
    }

    // A secret saved after the rotation: a regenerated one for the first organisation.
    let tenant = demo.ready["simulator"]["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .find(|tenant| tenant["org"] == organisations[0]["name"])
        .expect("the tenant")
        .clone();
    let mut regenerate = url::Url::parse(&simulator_url).expect("the simulator URL");
    regenerate
        .path_segments_mut()
        .expect("a base URL")
        .pop_if_empty()
        .extend([
            "_sim",
            "tenants",
            tenant["name"].as_str().expect("name"),
            "api-users",
            tenant["username"].as_str().expect("username"),
            "regenerate-secret",
        ]);
    let regenerated: Value = client
        .post(regenerate)
        .send()
        .await
        .expect("the simulator answers")
        .json()
        .await
        .expect("JSON");
    let saved = client
        .put(format!("{url}api/v1/orgs/{}/platform", signed_in[0].org_id))
        .header(COOKIE, &signed_in[0].cookie)
        .header("x-csrf-token", &signed_in[0].csrf)
        .json(&json!({
            "platform": "autotask",
            "api_url": tenant["api_url"],
            "username": tenant["username"],
            "secret": regenerated["secret"],
        }))
        .send()
        .await
        .expect("save answers");
    assert_eq!(saved.status(), 200);
    let tested = test_saved_connection(&client, &url, &signed_in[0]).await;
    assert_eq!(tested["status"], "Connection tested", "{tested}");

    let (status, _, stderr) = tokio::task::spawn_blocking(move || demo.terminate())
        .await
        .expect("the demo stops");
    assert!(status.success(), "{stderr}");

    // The new key alone opens every secret, including the one saved after the rotation.
    let store = fusion_store::open(
        &format!("sqlite://{}", data_dir.join("fusion.db").display()),
        new_key,
    )
    .await
    .expect("the store opens");
    for organisation in &signed_in {
        let org_id = OrgId::from_uuid(organisation.org_id.parse().expect("a uuid"));
        let secret = store
            .platform_secret(org_id)
            .await
            .expect("opens with the new key alone")
            .expect("set");
        assert!(!secret.expose_secret().is_empty());
    }
    assert_eq!(
        store
            .platform_secret(OrgId::from_uuid(signed_in[0].org_id.parse().expect("uuid")))
            .await
            .expect("opens")
            .expect("set")
            .expose_secret(),
        regenerated["secret"].as_str().expect("secret")
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&data_dir);
}
