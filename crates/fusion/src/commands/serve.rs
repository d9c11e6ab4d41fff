//! `fusion serve`: the web app and API against a real database, until SIGINT or SIGTERM.
//! Also home of the pieces `demo` and `admin` share with it: opening the store with its key, and
//! building the Autotask settings.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use std::future::Future;

use fusion_autotask::{AutotaskService, AutotaskSettings, TransportOverride};
use fusion_store::{KeyRing, SecretKeyError, Store};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;

use crate::cli::ServeArgs;
use crate::config_file::ConfigFile;
use crate::database_location::DatabaseLocation;
use crate::exit_status::{Completion, InvalidInput};
use crate::notifications::{NotificationConfig, Notifications};
use crate::scheduler::{SchedulerSettings, SyncRuntime, sync_with_webhooks_using};
use crate::shutdown::shutdown_signal;
use fusion_engine::budget::BudgetSettings;
use fusion_engine::webhooks::WebhookSettings;

/// How long one Autotask request may take before the test or sync gives up on it.
pub const AUTOTASK_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything `serve` needs, resolved from flags and environment.
#[derive(Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub database: DatabaseLocation,
    pub autotask: AutotaskSettings,
    pub secure_cookies: bool,
    /// `FUSION_PUBLIC_URL`'s origin (`https://fusion.example.com`).
    pub public_origin: Option<String>,
    pub trusted_proxies: Vec<fusion_web::TrustedProxy>,
    /// `FUSION_METRICS_LISTEN`: `/metrics` on its own listener.
    pub metrics_listen: Option<SocketAddr>,
    pub scheduler: SchedulerSettings,
    pub notifications: NotificationConfig,
    /// Webhooks on (with the public address) or off (with the reason).
    pub webhooks: WebhookSettings,
    /// The API budget's default share (`FUSION_API_BUDGET_PERCENT`).
    pub budget: BudgetSettings,
}

/// Where the web app listens unless told otherwise: loopback only, so a first start exposes
/// nothing to the network.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

impl ServeConfig {
    /// Flags and environment (already merged by clap) over the configuration file over defaults.
    pub fn from_args(
        args: ServeArgs,
        smtp_password: Option<SecretString>,
    ) -> Result<Self, InvalidInput> {
        let file = ConfigFile::load(args.config.file.as_deref())?;
        Ok(Self {
            notifications: NotificationConfig::resolve(
                args.notifications,
                &file.notifications,
                smtp_password,
            )?,
            listen: args.listen.or(file.listen).unwrap_or(DEFAULT_LISTEN),
            database: DatabaseLocation::resolve(&file.database_args(&args.database))?,
            autotask: autotask_settings(
                args.integration_code.or(file.autotask.integration_code),
                args.autotask_override.as_deref(),
            )?,
            secure_cookies: args.secure_cookies.or(file.secure_cookies).unwrap_or(false),
            public_origin: args.public_url.as_deref().map(public_origin).transpose()?,
            webhooks: webhook_settings(
                args.public_url.as_deref(),
                args.webhooks.unwrap_or(true),
                args.webhook_safety_poll_minutes,
            )?,
            trusted_proxies: args
                .trusted_proxies
                .as_deref()
                .map(trusted_proxies)
                .transpose()?
                .unwrap_or_default(),
            metrics_listen: args
                .metrics_listen
                .as_deref()
                .map(metrics_listen)
                .transpose()?,
            budget: BudgetSettings {
                default_percent: args
                    .api_budget_percent
                    .unwrap_or(BudgetSettings::default().default_percent),
                ..BudgetSettings::default()
            },
            scheduler: SchedulerSettings {
                tick: args
                    .scheduler_tick_seconds
                    .map_or(crate::scheduler::DEFAULT_TICK, Duration::from_secs),
                lease_ttl: args
                    .lease_seconds
                    .map_or(crate::scheduler::DEFAULT_LEASE_TTL, |seconds| {
                        time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
                    }),
                history_retention: time::Duration::days(i64::from(
                    args.history_retention_days
                        .unwrap_or(crate::scheduler::DEFAULT_HISTORY_RETENTION_DAYS),
                )),
                ..SchedulerSettings::default()
            },
        })
    }
}

/// `FUSION_PUBLIC_URL` → its origin, `scheme://host[:port]`.
pub fn public_origin(raw: &str) -> Result<String, InvalidInput> {
    let refused = || {
        InvalidInput(format!(
            "FUSION_PUBLIC_URL {:?} is not a web address; set it to the address people open, e.g. https://fusion.example.com",
            raw.escape_debug().to_string()
        ))
    };
    let url = url::Url::parse(raw.trim()).map_err(|_| refused())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(refused());
    }
    Ok(url.origin().ascii_serialization())
}

/// Webhooks from `FUSION_PUBLIC_URL`, `FUSION_WEBHOOKS` and the safety-net interval: on for an
/// https address (or a loopback one, which only a local simulator can call), off with the reason
/// people see on Settings and the Dashboard otherwise.
pub fn webhook_settings(
    public_url: Option<&str>,
    enabled: bool,
    safety_poll_minutes: Option<u32>,
) -> Result<WebhookSettings, InvalidInput> {
    let mut settings = if !enabled {
        WebhookSettings::off(
            "webhooks are switched off on this server (FUSION_WEBHOOKS=false); connections poll",
        )
    } else {
        match public_url.map(str::trim).filter(|url| !url.is_empty()) {
            None => WebhookSettings::off(
                "this server has no public address: set FUSION_PUBLIC_URL to the https address \
                 Autotask can reach (e.g. https://fusion.example.com) to receive changes in \
                 seconds; until then connections poll",
            ),
            Some(raw) => {
                let url = url::Url::parse(raw).map_err(|_| {
                    InvalidInput(format!(
                        "FUSION_PUBLIC_URL {:?} is not a web address; set it to the address people open, e.g. https://fusion.example.com",
                        raw.escape_debug().to_string()
                    ))
                })?;
                let loopback = url.host_str().is_some_and(|host| {
                    host == "localhost"
                        || host
                            .trim_matches(['[', ']'])
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                });
                if url.scheme() == "https" || loopback {
                    WebhookSettings::on(url.as_str().to_owned())
                } else {
                    WebhookSettings::off(
                        "FUSION_PUBLIC_URL is not https: Autotask's callouts carry ticket changes \
                         and are only sent to an https address; connections poll",
                    )
                }
            }
        }
    };
    if let Some(minutes) = safety_poll_minutes {
        settings.safety_interval = time::Duration::minutes(i64::from(minutes));
    }
    Ok(settings)
}

/// `FUSION_TRUSTED_PROXIES`: comma-separated addresses or networks.
pub fn trusted_proxies(raw: &str) -> Result<Vec<fusion_web::TrustedProxy>, InvalidInput> {
    raw.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            fusion_web::TrustedProxy::parse(entry).map_err(|reason| {
                InvalidInput(format!(
                    "FUSION_TRUSTED_PROXIES: {reason}; list the proxies' addresses or networks, e.g. 127.0.0.1,10.0.0.0/8"
                ))
            })
        })
        .collect()
}

/// `FUSION_METRICS_LISTEN`: `HOST:PORT`, or a port alone for loopback.
pub fn metrics_listen(raw: &str) -> Result<SocketAddr, InvalidInput> {
    let raw = raw.trim();
    if let Ok(port) = raw.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    raw.parse().map_err(|_| {
        InvalidInput(format!(
            "FUSION_METRICS_LISTEN {:?} is not an address; use a port (9464, meaning 127.0.0.1:9464) or HOST:PORT",
            raw.escape_debug().to_string()
        ))
    })
}

/// The deployment's Autotask settings: integration code and, for tests and demos only, the
/// transport override.
pub fn autotask_settings(
    integration_code: Option<String>,
    transport_override: Option<&str>,
) -> Result<AutotaskSettings, InvalidInput> {
    let transport_override = match transport_override.map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(TransportOverride::parse(raw).map_err(|error| {
            InvalidInput(format!(
                "{error}. The override is for tests and demos only: set it to http://127.0.0.1:PORT of a \
                 running `fusion sim`, or unset it to talk to Autotask."
            ))
        })?),
    };
    Ok(AutotaskSettings {
        integration_code: integration_code
            .map(|code| code.trim().to_owned())
            .filter(|code| !code.is_empty()),
        transport_override,
        request_timeout: AUTOTASK_REQUEST_TIMEOUT,
        ..AutotaskSettings::default()
    })
}

/// Opens (and migrates) the store, with the key from `FUSION_SECRET_KEY` or the key file.
pub async fn open_store(
    location: &DatabaseLocation,
    secret_key_from_environment: Option<&SecretString>,
) -> anyhow::Result<Arc<dyn Store>> {
    location
        .prepare()
        .with_context(|| format!("cannot create the directory for {}", location.display_url()))?;
    if secret_key_from_environment.is_none() {
        location.check_key_file_permissions()?;
    }
    // A ring that watches the key file: a running server follows `fusion keys rotate`.
    let key = KeyRing::watching_key_file(
        secret_key_from_environment.map(|key| key.expose_secret()),
        &location.key_file,
    )
    .map_err(|error| match error {
        SecretKeyError::KeyFile { .. } => anyhow::Error::new(error),
        other => InvalidInput(other.to_string()).into(),
    })?;
    fusion_store::open(&location.database_url, key)
        .await
        .map_err(|error| match error {
            // Not a failure of this run but of the deployment: say it plainly and exit 2.
            fusion_store::StoreError::SchemaTooNew { .. } => {
                InvalidInput(format!("the database {}: {error}", location.display_url())).into()
            }
            other => anyhow::Error::new(other).context(format!(
                "cannot open the database {}",
                location.display_url()
            )),
        })
}

pub async fn run(
    args: ServeArgs,
    secret_key_from_environment: Option<SecretString>,
    metrics_token: Option<SecretString>,
    smtp_password: Option<SecretString>,
) -> anyhow::Result<Completion> {
    let config = ServeConfig::from_args(args, smtp_password)?;
    let store = open_store(&config.database, secret_key_from_environment.as_ref()).await?;
    if config.autotask.integration_code.is_none() {
        tracing::warn!(
            "no Autotask integration code is configured: connection tests and syncs fail until \
             FUSION_AUTOTASK_INTEGRATION_CODE (or [autotask] integration_code) is set, or an organisation enters its own"
        );
    }
    if config.autotask.transport_override.is_some() {
        tracing::warn!(
            "FUSION_AUTOTASK_OVERRIDE is set: Autotask calls go to the simulator, not to Autotask"
        );
    }
    if store
        .organisations()
        .await
        .context("cannot read organisations")?
        .is_empty()
    {
        tracing::warn!(
            "no organisation exists yet; create the first one with: FUSION_ADMIN_PASSWORD=… fusion admin create --org NAME --email EMAIL"
        );
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the listening address")?;
    if !config.secure_cookies && !address.ip().is_loopback() {
        tracing::warn!(
            "listening beyond this machine with FUSION_SECURE_COOKIES=false: when users reach the app over HTTPS \
             (directly or through a proxy), set FUSION_SECURE_COOKIES=true"
        );
    }
    let budget = crate::scheduler::budget_governor(store.clone(), config.budget);
    let autotask = AutotaskService::with_gate(config.autotask, budget.clone())
        .context("cannot set up the Autotask client")?;
    let notifications = Notifications::build(
        &config.notifications,
        store.clone(),
        crate::commands::web_app::tenants(autotask.clone()),
    )?;
    let (sync, webhooks) = sync_with_webhooks_using(
        store.clone(),
        autotask.clone(),
        config.scheduler.engine_settings(),
        Some(budget),
        config.webhooks,
        Some(Arc::new(notifications.notifier.clone())),
    );
    if !webhooks.enabled() {
        tracing::info!(reason = %webhooks.settings().off_reason, "webhooks are off");
    }
    let runtime = SyncRuntime::start(sync, store.clone(), config.scheduler, Some(webhooks));
    let web = crate::commands::web_app::WebOptions {
        secure_cookies: config.secure_cookies,
        public_origin: config.public_origin.clone(),
        trusted_proxies: config.trusted_proxies.clone(),
        metrics_on_main_listener: config.metrics_listen.is_none(),
        metrics_token: metrics_token.clone(),
    };
    let router = crate::commands::web_app::router(
        store.clone(),
        autotask,
        web,
        &runtime,
        None,
        Some(&notifications),
    );
    let metrics_server = match config.metrics_listen {
        None => None,
        Some(metrics_address) => {
            let handle = fusion_web::metrics::install_global_recorder()
                .context("cannot set up the metrics recorder")?;
            let metrics_listener = TcpListener::bind(metrics_address)
                .await
                .with_context(|| format!("cannot listen for /metrics on {metrics_address}"))?;
            if !metrics_address.ip().is_loopback() && metrics_token.is_none() {
                tracing::warn!(
                    %metrics_address,
                    "/metrics is served beyond this machine without FUSION_METRICS_TOKEN: it names each tenant's Autotask database and its budget use"
                );
            }
            tracing::info!(%metrics_address, "serving /metrics on its own listener");
            Some(tokio::spawn(fusion_web::serve(
                metrics_listener,
                fusion_web::metrics_router(handle, metrics_token),
                shutdown_signal(),
            )))
        }
    };
    let shutdown = stop_sync_on(shutdown_signal(), runtime.service().clone());
    tracing::info!(url = %format!("http://{address}/"), database = %config.database.display_url(), "Support Fusion is serving");
    let served = fusion_web::serve(listener, router, shutdown).await;
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    runtime.shut_down().await;
    store.close().await;
    served.context("the web server stopped with an error")?;
    tracing::info!("stopped");
    Ok(Completion::Succeeded)
}

/// `signal`, and as soon as it fires the sync stops taking work (while the web server drains
/// its requests), so a shutdown does not wait for a new run to start.
pub async fn stop_sync_on(
    signal: impl Future<Output = ()> + Send + 'static,
    sync: fusion_engine::SyncService,
) {
    signal.await;
    sync.stop_all();
}
