//! `fusion demo`: the whole product on one machine with nothing to set up. Starts the Autotask
//! simulator in-process with the demo world, a SQLite database in a data directory, and the web
//! app pointed at the simulator; registers both demo organisations (the MSP and its customer)
//! with an administrator each and their Autotask credentials already entered, and connects and
//! configures them (see [`connection`]). Prints one JSON ready line (for scripts and tests), then
//! a banner for people, and serves until Ctrl-C.

mod activity;
mod check;
pub(crate) mod connection;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use fusion_autotask::AutotaskService;
use fusion_autotask_sim::{SimOptions, Simulator, TenantInfo, World};
use fusion_domain::sync::{RunStatus, SyncSchedule};
use fusion_domain::{Clock, SyncReadiness, SystemClock};
use fusion_domain::{OrgId, Organisation, PlatformKind};
use fusion_engine::SyncMode;
use fusion_engine::ports::CredentialsUpdate;
use fusion_store::{Store, StoreError};
use secrecy::SecretString;
use serde::Serialize;
use tokio::net::TcpListener;

use crate::cli::DemoArgs;
use crate::commands::serve::{DEFAULT_LISTEN, autotask_settings, open_store, stop_sync_on};
use crate::database_location::DatabaseLocation;
use crate::exit_status::Completion;
use crate::scheduler::{SchedulerSettings, SyncRuntime, sync_with_webhooks_using};
use crate::shutdown::shutdown_signal;

use self::connection::{DemoConnection, DemoSide};

/// One demo organisation as the banner and the ready line show it.
#[derive(Debug, Clone)]
pub(crate) struct DemoOrganisation {
    org_id: OrgId,
    name: String,
    email: String,
    /// A fixed, printed password: this is a demo on loopback with simulated data.
    password: String,
    tenant: TenantInfo,
    api_username: String,
    api_secret: String,
}

pub async fn run(
    args: DemoArgs,
    secret_key_from_environment: Option<SecretString>,
    smtp_password: Option<SecretString>,
) -> anyhow::Result<Completion> {
    if args.check {
        return check::run().await;
    }
    let data_dir_is_temporary = args.data_dir.is_none();
    let data_dir = match args.data_dir {
        Some(directory) => directory,
        None => fresh_temporary_directory()
            .context("cannot create a temporary directory for the demo")?,
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;

    let simulator = Simulator::new(World::demo(), SimOptions::default())
        .map_err(|error| anyhow::anyhow!("the demo world is invalid: {error}"))?;
    let running_simulator = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("cannot start the Autotask simulator")?;
    let tenants = simulator.tenants();
    let integration_code = tenants
        .first()
        .map(|tenant| tenant.integration_code.clone())
        .context("the demo world has no tenants")?;

    let location = DatabaseLocation::sqlite_in(&data_dir);
    let store = open_store(&location, secret_key_from_environment.as_ref()).await?;
    let mut organisations = Vec::new();
    for tenant in &tenants {
        organisations.push(register(store.as_ref(), tenant).await?);
    }

    let autotask = autotask_settings(
        Some(integration_code.clone()),
        Some(running_simulator.base_url()),
    )?;
    let connection = connect(&store, &autotask, &organisations).await?;
    // The demo keeps the API budget as `serve` does (the default share of each tenant).
    let budget = crate::scheduler::budget_governor(
        store.clone(),
        fusion_engine::budget::BudgetSettings::default(),
    );
    let autotask_service = AutotaskService::with_gate(autotask, budget.clone())
        .context("cannot set up the Autotask client")?;
    let notification_config = crate::notifications::NotificationConfig::resolve(
        args.notifications.clone(),
        &crate::config_file::NotificationsSection::default(),
        smtp_password,
    )?;
    let notifications = crate::notifications::Notifications::build(
        &notification_config,
        store.clone(),
        crate::commands::web_app::tenants(autotask_service.clone()),
    )?;
    // The web listener first: its address is where the simulated Autotask sends webhooks.
    let listener = bind_web_listener(args.listen).await?;
    let address = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let url = format!("http://{address}/");
    let webhook_settings = crate::commands::serve::webhook_settings(
        Some(&format!("http://{address}")),
        !args.no_webhooks,
        None,
    )?;
    let (sync, webhooks) = sync_with_webhooks_using(
        store.clone(),
        autotask_service.clone(),
        fusion_engine::EngineSettings::default(),
        Some(budget),
        webhook_settings,
        Some(Arc::new(notifications.notifier.clone())),
    );
    let webhooks_on = webhooks.enabled();
    let runtime = SyncRuntime::start(
        sync,
        store.clone(),
        SchedulerSettings {
            tick: DEMO_SCHEDULER_TICK,
            ..SchedulerSettings::default()
        },
        Some(webhooks),
    );
    let first_sync = if args.manual_sync {
        FirstSync::LeftToYou
    } else {
        start_syncing(store.as_ref(), &runtime, &connection).await
    };

    let router = crate::commands::web_app::router(
        store.clone(),
        autotask_service,
        crate::commands::web_app::WebOptions {
            metrics_on_main_listener: true,
            ..Default::default()
        },
        &runtime,
        Some(Arc::new(activity::DemoTicketDesk::new(simulator.clone()))),
        Some(&notifications),
    );
    let shutdown = stop_sync_on(shutdown_signal(), runtime.service().clone());
    let (stop_people, people_stopped) = tokio::sync::watch::channel(false);
    let people = (!args.manual_sync).then(|| {
        tokio::spawn(activity::people_at_work(
            simulator.clone(),
            store.clone(),
            connection.relationship.id,
            DEMO_ACTIVITY_EVERY,
            people_stopped,
        ))
    });
    let ready = ready_line(
        &url,
        &data_dir,
        running_simulator.base_url(),
        &integration_code,
        &organisations,
        &connection,
    )?;
    print_to_stdout(&format!(
        "{ready}\n{}\n",
        banner(
            &url,
            &data_dir,
            data_dir_is_temporary,
            &organisations,
            &connection,
            &first_sync,
            webhooks_on,
        )
    ));

    let served = fusion_web::serve(listener, router, shutdown).await;
    let _ = stop_people.send(true);
    if let Some(people) = people {
        let _ = people.await;
    }
    runtime.shut_down().await;
    running_simulator.shutdown().await;
    store.close().await;
    served.context("the web server stopped with an error")?;
    print_to_stdout(&format!(
        "Demo stopped. Its data stays in {}\n",
        data_dir.display()
    ));
    Ok(Completion::Succeeded)
}

/// How often the demo's scheduler looks for due connections (the product's default is 15 s).
const DEMO_SCHEDULER_TICK: std::time::Duration = std::time::Duration::from_secs(5);
/// How often a simulated person does something in a demo tenant.
const DEMO_ACTIVITY_EVERY: std::time::Duration = std::time::Duration::from_secs(45);
/// The demo connection's automatic sync interval: the shortest allowed, so changes show quickly.
const DEMO_SYNC_INTERVAL: time::Duration = SyncSchedule::MIN_INTERVAL;
/// The demo's first sync reads from here: before every ticket of the demo world.
const DEMO_INITIAL_SINCE_UNIX: i64 = 946_684_800;

/// What the demo's first sync did, for the banner.
#[derive(Debug)]
pub(crate) enum FirstSync {
    /// The initial sync ran now.
    Ran { status: RunStatus, created: u32 },
    /// An earlier run with this data directory already set the baseline.
    AlreadyDone,
    /// It could not run (the reason is shown; the demo still serves).
    Failed(String),
    /// `--manual-sync`: the person runs it from the Sync page.
    LeftToYou,
}

/// Runs the initial sync of the demo connection if it has none yet, then switches its automatic
/// sync on (every minute), as a person would on the Sync page.
async fn start_syncing(
    store: &dyn Store,
    runtime: &SyncRuntime,
    connection: &DemoConnection,
) -> FirstSync {
    let relationship = connection.relationship.id;
    let first = match store.relationship(relationship).await {
        Ok(Some(stored)) if stored.readiness == SyncReadiness::ReadyForAutomaticSync => {
            FirstSync::AlreadyDone
        }
        Ok(_) => {
            let since = time::OffsetDateTime::from_unix_timestamp(DEMO_INITIAL_SINCE_UNIX)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            match runtime
                .service()
                .run(relationship, SyncMode::Manual { since })
                .await
            {
                Ok(summary) => FirstSync::Ran {
                    status: summary.status,
                    created: summary.counts.created,
                },
                Err(error) => FirstSync::Failed(error.to_string()),
            }
        }
        Err(error) => FirstSync::Failed(error.to_string()),
    };
    if let Ok(schedule) = SyncSchedule::new(true, DEMO_SYNC_INTERVAL)
        && let Err(error) = store
            .set_sync_schedule(relationship, &schedule, SystemClock.now())
            .await
    {
        tracing::warn!(%error, "cannot switch the demo connection's automatic sync on");
    }
    first
}

/// Writes to stdout and flushes. A reader that went away (e.g. a script that read the ready
/// line and closed the pipe) must not stop the demo, so write errors are ignored.
pub(crate) fn print_to_stdout(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Binds the web app's address. An explicit `--listen` must work as given; the default port
/// 8080 falls back to a free port, so the first `cargo run -- demo` works even when something
/// else already uses 8080.
async fn bind_web_listener(listen: Option<SocketAddr>) -> anyhow::Result<TcpListener> {
    if let Some(address) = listen {
        return TcpListener::bind(address).await.with_context(|| {
            format!("cannot listen on {address} (another program may be using it; try --listen 127.0.0.1:0)")
        });
    }
    match TcpListener::bind(DEFAULT_LISTEN).await {
        Ok(listener) => Ok(listener),
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
            tracing::warn!("{DEFAULT_LISTEN} is in use; the demo listens on a free port instead");
            TcpListener::bind(SocketAddr::new(DEFAULT_LISTEN.ip(), 0))
                .await
                .context("cannot listen on a free port of 127.0.0.1")
        }
        Err(error) => {
            Err(anyhow::Error::new(error).context(format!("cannot listen on {DEFAULT_LISTEN}")))
        }
    }
}

/// Connects Contoso Manufacturing (Source) and Northwind IT (Target), or finds the connection a
/// previous run with this data directory made.
pub(crate) async fn connect(
    store: &Arc<dyn Store>,
    autotask: &fusion_autotask::AutotaskSettings,
    organisations: &[DemoOrganisation],
) -> anyhow::Result<DemoConnection> {
    let side = |name: &str| {
        organisations
            .iter()
            .find(|organisation| organisation.name == name)
            .map(|organisation| DemoSide {
                org_id: organisation.org_id,
                name: &organisation.name,
                api_username: &organisation.api_username,
                api_secret: &organisation.api_secret,
            })
            .with_context(|| format!("the demo world has no tenant called {name}"))
    };
    let source = side(connection::SOURCE_ORGANISATION)?;
    let target = side(connection::TARGET_ORGANISATION)?;
    connection::connect_demo_organisations(store, autotask, &source, &target).await
}

/// Creates (or, on a second run with the same data directory, finds) the organisation for one
/// simulated tenant, its administrator, and its Autotask credentials.
pub(crate) async fn register(
    store: &dyn Store,
    tenant: &TenantInfo,
) -> anyhow::Result<DemoOrganisation> {
    let slug: String = tenant
        .name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let email = format!("admin@{slug}.example");
    let password = format!("{slug}-demo-password");
    let api_user = tenant
        .api_users
        .iter()
        .find(|user| user.active)
        .with_context(|| format!("the demo tenant {} has no active API user", tenant.name))?;

    let organisation = find_or_create_organisation(store, &tenant.name).await?;
    let demo_password = SecretString::from(password.clone());
    let administrator = match store
        .create_person(organisation.id, &email, "Demo administrator", &demo_password)
        .await
    {
        Ok(person) => person,
        // A second run with the same data directory: the administrator is already there.
        Err(StoreError::Conflict(_)) => store
            .verify_password(&email, &demo_password)
            .await
            .context("cannot check the demo administrator")?
            .with_context(|| format!("{email} exists in this data directory with another password; use a fresh --data-dir"))?,
        Err(error) => return Err(anyhow::Error::new(error).context("cannot create the demo administrator")),
    };
    store
        .save_platform_credentials(
            organisation.id,
            Some(administrator.id),
            CredentialsUpdate {
                platform: PlatformKind::Autotask,
                api_url: tenant.api_url.clone(),
                username: api_user.username.clone(),
                secret: Some(SecretString::from(api_user.secret.clone())),
                integration_code_override: None,
            },
        )
        .await
        .context("cannot save the demo Autotask credentials")?;
    Ok(DemoOrganisation {
        org_id: organisation.id,
        name: tenant.name.clone(),
        email,
        password,
        tenant: tenant.clone(),
        api_username: api_user.username.clone(),
        api_secret: api_user.secret.clone(),
    })
}

async fn find_or_create_organisation(
    store: &dyn Store,
    name: &str,
) -> anyhow::Result<Organisation> {
    let existing = store
        .organisations()
        .await
        .context("cannot read organisations")?;
    if let Some(organisation) = existing
        .into_iter()
        .find(|organisation| organisation.name == name)
    {
        return Ok(organisation);
    }
    store
        .create_organisation(name)
        .await
        .with_context(|| format!("cannot create the demo organisation {name}"))
}

/// A new directory under the system temp directory, named so that runs never collide.
pub(crate) fn fresh_temporary_directory() -> std::io::Result<PathBuf> {
    let directory =
        std::env::temp_dir().join(format!("fusion-demo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&directory)?;
    Ok(directory)
}

/// The one machine-readable line: `{"ready":true,"url":…,"orgs":[…],"relationship_id":…,
/// "contract_name":…,"simulator":…}`. Structs
/// rather than `json!` so the keys keep this order (`ready` first) for people reading it too.
#[derive(Serialize)]
struct ReadyLine<'a> {
    ready: bool,
    url: &'a str,
    orgs: Vec<ReadyOrganisation<'a>>,
    /// The ready-made connection between the two organisations.
    relationship_id: String,
    contract_name: &'a str,
    simulator: ReadySimulator<'a>,
    data_dir: String,
}

#[derive(Serialize)]
struct ReadyOrganisation<'a> {
    name: &'a str,
    email: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct ReadySimulator<'a> {
    url: &'a str,
    integration_code: &'a str,
    tenants: Vec<ReadyTenant<'a>>,
}

/// The Autotask values a person would copy into Settings for one organisation.
#[derive(Serialize)]
struct ReadyTenant<'a> {
    name: &'a str,
    org: &'a str,
    zone: u32,
    zone_name: &'a str,
    api_url: &'a str,
    username: &'a str,
    secret: &'a str,
}

fn ready_line(
    url: &str,
    data_dir: &Path,
    simulator_url: &str,
    integration_code: &str,
    organisations: &[DemoOrganisation],
    connection: &DemoConnection,
) -> anyhow::Result<String> {
    let line = ReadyLine {
        ready: true,
        url,
        orgs: organisations
            .iter()
            .map(|organisation| ReadyOrganisation {
                name: &organisation.name,
                email: &organisation.email,
                password: &organisation.password,
            })
            .collect(),
        relationship_id: connection.relationship.id.to_string(),
        contract_name: &connection.relationship.contract_name,
        simulator: ReadySimulator {
            url: simulator_url,
            integration_code,
            tenants: organisations
                .iter()
                .map(|organisation| ReadyTenant {
                    name: &organisation.tenant.name,
                    org: &organisation.name,
                    zone: organisation.tenant.zone,
                    zone_name: &organisation.tenant.zone_name,
                    api_url: &organisation.tenant.api_url,
                    username: &organisation.api_username,
                    secret: &organisation.api_secret,
                })
                .collect(),
        },
        data_dir: data_dir.display().to_string(),
    };
    serde_json::to_string(&line).context("cannot write the ready line")
}

/// What a person reads after `cargo run --release -- demo`.
fn banner(
    url: &str,
    data_dir: &Path,
    data_dir_is_temporary: bool,
    organisations: &[DemoOrganisation],
    connection: &DemoConnection,
    first_sync: &FirstSync,
    webhooks_on: bool,
) -> String {
    let mut text = String::new();
    text.push('\n');
    text.push_str("  Support Fusion demo is running\n");
    text.push_str("  ==============================\n\n");
    text.push_str(&format!(
        "  Open {url} in your browser and sign in as either organisation:\n\n"
    ));
    for organisation in organisations {
        text.push_str(&format!(
            "    {}  (Autotask zone: {})\n      email:    {}\n      password: {}\n\n",
            organisation.name,
            organisation.tenant.zone_name,
            organisation.email,
            organisation.password
        ));
    }
    text.push_str(
        "  Both organisations already have their Autotask credentials entered, against a\n",
    );
    text.push_str(
        "  simulated Autotask running inside this process, and they are already connected:\n\n",
    );
    text.push_str(&format!(
        "    \"{}\"  ({})\n      {} is the Source (the customer: tickets start there)\n      {} is the Target (the provider: tickets are worked there)\n\n",
        connection.relationship.contract_name,
        connection.relationship.state.label(),
        connection::SOURCE_ORGANISATION,
        connection::TARGET_ORGANISATION,
    ));
    if connection.configured_now {
        text.push_str(
            "  Each side is configured from its own tenant's live choices. Things to try:\n\n",
        );
    } else {
        text.push_str(
            "  Its configuration is as this data directory last saved it. Things to try:\n\n",
        );
    }
    match first_sync {
        FirstSync::Ran { status, created } => text.push_str(&format!(
            "    - Sync: the first sync has run ({}: {} created at {}), and automatic\n      sync is on every minute. Simulated people at work raise tickets and comment every\n      45 s: open the connection's Sync page and watch the history carry them across.\n",
            status.label(),
            if *created == 1 { "1 ticket".to_owned() } else { format!("{created} tickets") },
            connection::TARGET_ORGANISATION
        )),
        FirstSync::AlreadyDone => text.push_str(
            "    - Sync: this data directory already synced; automatic sync is on every minute and\n      simulated people raise tickets and comment every 45 s. See the connection's Sync page.\n",
        ),
        FirstSync::LeftToYou => text.push_str(
            "    - Sync: the first sync is yours (--manual-sync): open the connection's Sync page, pick\n      a start date and press \"Sync now\"; then switch automatic sync on.\n",
        ),
        FirstSync::Failed(reason) => text.push_str(&format!(
            "    - Sync: the first sync could not run ({reason}); run it from the Sync page.\n"
        )),
    }
    if webhooks_on {
        text.push_str(
            "    - Webhooks are on: the simulated Autotask calls this server on every ticket and note\n      change, so a change reaches the other tenant within seconds (runs marked \"Webhook\");\n      polling stays as the safety net. The Dashboard shows events and delays.\n",
        );
    }
    text.push_str(&format!(
        "    - Raise a test ticket yourself: sign in as {}, open Sync and use \"Raise test\n      ticket\" (just a title); the sync carries it to {} — watch it arrive in the history.\n",
        connection::SOURCE_ORGANISATION,
        connection::TARGET_ORGANISATION
    ));
    text.push_str(
        "    - Connections → the connection → Integration configuration: what each side\n",
    );
    text.push_str(
        "      stamps on tickets it receives (company, queue, status \"New\", priority, note\n",
    );
    text.push_str("      types) and which statuses mean closed.\n");
    text.push_str(
        "    - Field mappings: status and priority values mapped between the two tenants,\n",
    );
    text.push_str("      whose codes differ; \"Match by label\" fills in more.\n");
    text.push_str("    - Description composition: \"Customer ticket: …\" lines, previewed on a real ticket.\n");
    text.push_str("    - Settings → Save and test: it reads \"Connection tested\".\n");
    text.push_str(
        "    - To see a failure, replace the API secret with anything else and Save and test:\n",
    );
    text.push_str("      \"Test failed\", with the reason and what to do.\n");
    if let Some(first) = organisations.first() {
        text.push_str(&format!(
            "    - Enter the portal URL (https://ww{}.autotask.net/ for {}) as the API URL and Save:\n      Settings offers the API URL to use instead.\n",
            first.tenant.zone, first.name
        ));
    }
    text.push('\n');
    text.push_str(&format!("  Data: {}\n", data_dir.display()));
    if data_dir_is_temporary {
        text.push_str(
            "  (a fresh temporary directory; pass --data-dir DIR to keep a demo between runs)\n",
        );
    }
    text.push_str("  Press Ctrl-C to stop.\n");
    text
}
