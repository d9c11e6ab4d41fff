//! The test harness: `TestApp::spawn()` starts the Autotask simulator (demo world), a fresh SQLite
//! store with two organisations, and the web server; `Browser` is a cookie-carrying client that
//! remembers every body it received, so tests can assert what never appeared in one.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use fusion_autotask::{AutotaskSettings, AutotaskTenants, ConnectionTester, TransportOverride};
use fusion_autotask_sim::{RunningSimulator, SimOptions, Simulator, TenantInfo, World};
use fusion_domain::{Clock, OrgId, Organisation, SystemClock};
use fusion_store::{SecretKey, Store, StoreOptions};
use fusion_web::{AppState, WebSettings, router, serve};
use secrecy::SecretString;
use serde_json::Value;

/// Everything logged by the process (every level, every crate except the simulator, which
/// stands in for Autotask and is not part of the product).
static CAPTURED_LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

#[derive(Clone, Copy)]
struct CaptureWriter;

impl Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURED_LOG
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_process_wide_setup() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "trace,fusion_autotask_sim=off",
            ))
            .with_writer(|| CaptureWriter)
            .with_ansi(false)
            .try_init();
    });
}

/// Everything logged so far, as text.
pub fn captured_log() -> String {
    String::from_utf8_lossy(
        &CAPTURED_LOG
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    )
    .into_owned()
}

/// A person who can sign in.
#[derive(Clone)]
pub struct Account {
    pub org: Organisation,
    pub email: String,
    pub password: String,
}

/// The Autotask API user the tests connect with.
#[derive(Clone)]
pub struct AutotaskLogin {
    pub api_url: String,
    pub username: String,
    pub secret: String,
}

pub struct TestApp {
    pub base_url: String,
    pub store: Arc<dyn Store>,
    pub database_path: PathBuf,
    pub simulator: RunningSimulator,
    pub alice: Account,
    pub bob: Account,
    pub autotask: AutotaskLogin,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _directory: tempfile::TempDir,
}

pub struct AppOptions {
    pub org_a_name: String,
    pub web: WebSettings,
    /// The app's clock; the real one when `None`.
    pub clock: Option<Arc<dyn Clock>>,
    /// Serves `/metrics` from this handle when set.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Runs syncs in the server (`AppState::with_sync`, see `sync::sync_service`).
    pub sync: bool,
    /// Delivers notifications through these channels (`AppState::with_notifications`).
    pub notification_channels: Option<Arc<dyn fusion_engine::notify::NotificationChannels>>,
    /// Keeps an API budget as `fusion serve` does (`AppState::with_budget`, the Autotask
    /// service's request gate), on the app's clock.
    pub budget: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            org_a_name: "Contoso Manufacturing".to_owned(),
            web: WebSettings::default(),
            clock: None,
            metrics: None,
            sync: false,
            notification_channels: None,
            budget: false,
        }
    }
}

fn active_login(tenant: &TenantInfo) -> AutotaskLogin {
    let user = tenant
        .api_users
        .iter()
        .find(|user| user.active)
        .expect("the demo tenant has an active API user");
    AutotaskLogin {
        api_url: tenant.api_url.clone(),
        username: user.username.clone(),
        secret: user.secret.clone(),
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(AppOptions::default()).await
    }

    pub async fn spawn_with(options: AppOptions) -> TestApp {
        install_process_wide_setup();
        let simulator = Simulator::new(World::demo(), SimOptions::default())
            .expect("the demo world seeds")
            .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("the simulator starts");
        let tenants = simulator.simulator().tenants();
        let tenant = tenants
            .iter()
            .find(|tenant| tenant.name.contains("Contoso"))
            .unwrap_or(&tenants[0]);
        let autotask = active_login(tenant);

        let directory = tempfile::tempdir().unwrap();
        let database_path = directory.path().join("fusion.db");
        let store = fusion_store::open_with_options(
            &format!("sqlite://{}", database_path.display()),
            SecretKey::generate(),
            StoreOptions::for_tests(),
        )
        .await
        .expect("a fresh SQLite store opens");

        let alice = create_account(&store, &options.org_a_name, "alice@contoso.example").await;
        let bob = create_account(&store, "Northwind IT", "bob@northwind.example").await;

        let settings = AutotaskSettings {
            integration_code: Some(tenant.integration_code.clone()),
            transport_override: Some(TransportOverride::parse(simulator.base_url()).unwrap()),
            ..AutotaskSettings::default()
        };
        let clock = options.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let settings = if options.sync {
            crate::sync::without_retry_waits(settings)
        } else {
            settings
        };
        let budget = options.budget.then(|| {
            Arc::new(fusion_engine::budget::BudgetGovernor::new(
                store.clone(),
                clock.clone(),
                fusion_engine::budget::BudgetSettings::default(),
            ))
        });
        let autotask_service = match &budget {
            Some(budget) => fusion_autotask::AutotaskService::with_gate(settings, budget.clone()),
            None => fusion_autotask::AutotaskService::new(settings),
        }
        .expect("the Autotask service builds");
        let tenants = AutotaskTenants::new(
            ConnectionTester::with_service(autotask_service.clone()),
            clock.clone(),
        );
        let mut state = AppState::with_clock(store.clone(), Arc::new(tenants), options.web, clock);
        if let Some(handle) = options.metrics {
            state = state.with_metrics(handle);
        }
        if let Some(channels) = options.notification_channels {
            state = state.with_notifications(channels, None);
        }
        if let Some(budget) = budget {
            state = state.with_budget(budget);
        }
        if options.sync {
            state = state.with_sync(crate::sync::sync_service(store.clone(), autotask_service));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, shutdown_signal) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router(state), async move {
            let _ = shutdown_signal.await;
        }));
        TestApp {
            base_url,
            store,
            database_path,
            simulator,
            alice,
            bob,
            autotask,
            shutdown: Some(shutdown),
            server: Some(server),
            _directory: directory,
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base_url)
    }

    /// A browser signed in as `account`, with its CSRF token.
    pub async fn signed_in(&self, account: &Account) -> Browser {
        let mut browser = self.browser();
        let response = browser
            .post_form(
                "/sign-in",
                &[("email", &account.email), ("password", &account.password)],
            )
            .await;
        assert_eq!(
            response.status, 303,
            "sign-in should redirect: {}",
            response.body
        );
        let me = browser.get("/api/v1/me").await;
        assert_eq!(me.status, 200);
        browser.csrf_token = me.json()["csrf_token"].as_str().map(str::to_owned);
        browser
    }

    /// Saves the working Autotask credentials for `account`'s organisation through the API.
    pub async fn save_working_credentials(&self, browser: &mut Browser, org_id: OrgId) {
        let response = browser
            .put_json(
                &format!("/api/v1/orgs/{org_id}/platform"),
                &serde_json::json!({
                    "platform": "autotask",
                    "api_url": self.autotask.api_url,
                    "username": self.autotask.username,
                    "secret": self.autotask.secret,
                }),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.body);
    }

    /// Every byte of the SQLite database (main file, WAL and shared memory).
    pub fn database_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.database_path.clone().into_os_string();
            path.push(suffix);
            if let Ok(content) = std::fs::read(PathBuf::from(path)) {
                bytes.extend(content);
            }
        }
        bytes
    }

    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.simulator.shutdown().await;
    }
}

async fn create_account(store: &Arc<dyn Store>, org_name: &str, email: &str) -> Account {
    let org = store.create_organisation(org_name).await.unwrap();
    let password = format!("correct horse battery {}", org.id);
    store
        .create_person(
            org.id,
            email,
            "Test Person",
            &SecretString::from(password.clone()),
        )
        .await
        .unwrap();
    Account {
        org,
        email: email.to_owned(),
        password,
    }
}

/// One response, read fully.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok().map(str::to_owned))
            .collect()
    }
}

/// A minimal browser: keeps the session cookie, sends no JavaScript, follows no redirects, and
/// records every body it receives.
pub struct Browser {
    base_url: String,
    client: reqwest::Client,
    pub session_cookie: Option<String>,
    pub csrf_token: Option<String>,
    pub bearer_token: Option<String>,
    pub seen_bodies: Vec<String>,
}

impl Browser {
    fn new(base_url: &str) -> Browser {
        Browser {
            base_url: base_url.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            session_cookie: None,
            csrf_token: None,
            bearer_token: None,
            seen_bodies: Vec::new(),
        }
    }

    pub fn csrf(&self) -> String {
        self.csrf_token.clone().expect("signed in with a session")
    }

    async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Reply {
        if let Some(cookie) = &self.session_cookie {
            request = request.header("cookie", format!("{}={cookie}", fusion_web::SESSION_COOKIE));
        }
        if let Some(token) = &self.bearer_token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        for cookie in headers.get_all("set-cookie") {
            let cookie = cookie.to_str().unwrap();
            if let Some(rest) = cookie.strip_prefix(&format!("{}=", fusion_web::SESSION_COOKIE)) {
                let value = rest.split(';').next().unwrap_or_default();
                self.session_cookie = (!value.is_empty()).then(|| value.to_owned());
            }
        }
        self.seen_bodies.push(body.clone());
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let request = self.client.get(format!("{}{path}", self.base_url));
        self.send(request).await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// A form POST carrying this session's CSRF token.
    pub async fn submit_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let csrf = self.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &csrf)];
        all.extend_from_slice(fields);
        self.post_form(path, &all).await
    }

    async fn write_json(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        with_csrf: bool,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .header("content-type", "application/json")
            .body(body.to_string());
        if with_csrf && let Some(token) = &self.csrf_token {
            request = request.header("x-csrf-token", token);
        }
        self.send(request).await
    }

    pub async fn put_json(&mut self, path: &str, body: &Value) -> Reply {
        self.write_json(reqwest::Method::PUT, path, body, true)
            .await
    }

    pub async fn post_json(&mut self, path: &str, body: &Value) -> Reply {
        self.write_json(reqwest::Method::POST, path, body, true)
            .await
    }

    /// A write with any body and `Content-Type` (or none), carrying the CSRF header and any
    /// extra headers.
    pub async fn send_raw(
        &mut self,
        method: reqwest::Method,
        path: &str,
        content_type: Option<&str>,
        body: &str,
        extra_headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .body(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(token) = &self.csrf_token {
            request = request.header("x-csrf-token", token);
        }
        for (name, value) in extra_headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    pub async fn put_json_without_csrf(&mut self, path: &str, body: &Value) -> Reply {
        self.write_json(reqwest::Method::PUT, path, body, false)
            .await
    }

    pub async fn post_json_without_csrf(&mut self, path: &str, body: &Value) -> Reply {
        self.write_json(reqwest::Method::POST, path, body, false)
            .await
    }
}
