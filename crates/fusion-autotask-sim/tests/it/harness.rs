//! Test harness: a simulator on 127.0.0.1:0 with the demo world, a reqwest client, and the demo
//! tenants' credentials.

use fusion_autotask_sim::{DEMO_INTEGRATION_CODE, RunningSimulator, SimOptions, Simulator, World};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

pub const NORTHWIND: &str = "Northwind IT";
pub const CONTOSO: &str = "Contoso Manufacturing";
pub const NORTHWIND_USER: &str = "7QKXG2MZ4HPWLRB@NORTHWINDIT.EXAMPLE";
pub const NORTHWIND_INACTIVE_USER: &str = "J3VD8QTY6NCFXAE@NORTHWINDIT.EXAMPLE";
pub const CONTOSO_USER: &str = "M8RZT4WQ2KXHJNC@CONTOSO.EXAMPLE";
/// Demo ticket ids in Northwind IT (printer, VPN, Outlook = complete).
pub const PRINTER_TICKET: i64 = 29_000_300;
pub const VPN_TICKET: i64 = 29_000_301;
pub const OUTLOOK_TICKET: i64 = 29_000_302;
pub const NORTHWIND_CUSTOMER_COMPANY: i64 = 29_000_101;
pub const CONTOSO_CUSTOMER_COMPANY: i64 = 31_000_101;

/// Credentials for the three auth headers.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub secret: String,
    pub integration_code: String,
}

pub struct TestSim {
    pub running: RunningSimulator,
    pub client: reqwest::Client,
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .build()
        .expect("reqwest client builds")
}

impl TestSim {
    pub async fn start() -> TestSim {
        TestSim::with(World::demo(), SimOptions::for_tests()).await
    }

    pub async fn with_options(options: SimOptions) -> TestSim {
        TestSim::with(World::demo(), options).await
    }

    pub async fn with(world: World, options: SimOptions) -> TestSim {
        let simulator = Simulator::new(world, options).expect("world seeds");
        let running = simulator
            .spawn("127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator listens");
        TestSim {
            running,
            client: client(),
        }
    }

    pub fn sim(&self) -> &Simulator {
        self.running.simulator()
    }

    pub fn base(&self) -> &str {
        self.running.base_url()
    }

    /// `http://127.0.0.1:PORT/webservices{zone}.autotask.net/ATServicesRest/V1.0/{path}`.
    pub fn url(&self, zone: u32, path: &str) -> String {
        format!("{}{}", self.running.zone_base(zone), path)
    }

    pub fn credentials(&self, tenant: &str, username: &str) -> Credentials {
        let info = self
            .sim()
            .tenants()
            .into_iter()
            .find(|info| info.name == tenant)
            .expect("tenant exists");
        let user = info
            .api_users
            .iter()
            .find(|user| user.username == username)
            .expect("user exists");
        Credentials {
            username: user.username.clone(),
            secret: user.secret.clone(),
            integration_code: DEMO_INTEGRATION_CODE.to_owned(),
        }
    }

    pub fn northwind(&self) -> Credentials {
        self.credentials(NORTHWIND, NORTHWIND_USER)
    }

    pub fn contoso(&self) -> Credentials {
        self.credentials(CONTOSO, CONTOSO_USER)
    }

    pub fn authed(&self, method: Method, url: &str, credentials: &Credentials) -> RequestBuilder {
        self.client
            .request(method, url)
            .header("ApiIntegrationCode", &credentials.integration_code)
            .header("UserName", &credentials.username)
            .header("Secret", &credentials.secret)
    }

    /// A Northwind IT request (zone 2).
    pub fn nw(&self, method: Method, path: &str) -> RequestBuilder {
        let credentials = self.northwind();
        self.authed(method, &self.url(2, path), &credentials)
    }

    /// A Contoso request (zone 5).
    pub fn ct(&self, method: Method, path: &str) -> RequestBuilder {
        let credentials = self.contoso();
        self.authed(method, &self.url(5, path), &credentials)
    }

    pub async fn nw_query(&self, entity: &str, body: Value) -> Value {
        let response = self
            .nw(Method::POST, &format!("{entity}/query"))
            .json(&body)
            .send()
            .await
            .unwrap();
        expect_ok(response).await
    }

    /// Ids returned by a Northwind ticket query with the given filter.
    pub async fn ticket_ids(&self, filter: Value) -> Vec<i64> {
        let body = self
            .nw_query("Tickets", json!({ "maxRecords": 500, "filter": filter }))
            .await;
        ids(&body)
    }
}

pub fn ids(body: &Value) -> Vec<i64> {
    body["items"]
        .as_array()
        .expect("items array")
        .iter()
        .map(|item| item["id"].as_i64().expect("numeric id"))
        .collect()
}

pub async fn expect_ok(response: Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "expected 200, got {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("body is not JSON ({error}): {text}"))
}

/// Asserts a vendor error: the status and an `errors` entry containing `needle`.
pub async fn expect_error(response: Response, status: u16, needle: &str) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "expected {status}, got {actual}: {text}");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("error body is not JSON: {text}"));
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array: {text}"));
    assert!(
        errors.iter().any(|error| error
            .as_str()
            .is_some_and(|message| message.contains(needle))),
        "no error containing {needle:?} in {text}"
    );
    body
}

/// Everything the 2026 API answers for an authentication failure: 401, empty body, Basic realm.
pub async fn expect_unauthorized(response: Response, zone: u32) {
    assert_eq!(response.status(), 401);
    let realm = response
        .headers()
        .get("www-authenticate")
        .expect("WWW-Authenticate header")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        realm,
        format!("Basic Realm=\"webservices{zone}.autotask.net\"")
    );
    assert_eq!(response.text().await.unwrap(), "", "401 body must be empty");
}

pub fn all_filter() -> Value {
    json!([{ "op": "gte", "field": "id", "value": 0 }])
}
