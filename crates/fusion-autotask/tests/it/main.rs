//! Integration tests of the Autotask adapter through the real HTTP client against the simulator
//! (`fusion-autotask-sim`), reached through the transport override exactly as in a demo.
#![allow(clippy::unwrap_used)]

mod choices;
mod client;
mod connection;
mod own_activity;
mod platform;
mod secrets;
mod tenants;
mod webhooks;

use std::time::Duration;

use fusion_autotask::{
    AutotaskService, AutotaskSettings, ConnectionInput, ConnectionTester, Credentials, RetryPolicy,
    TransportOverride,
};
use fusion_autotask_sim::{
    DEMO_INTEGRATION_CODE, RunningSimulator, SimOptions, Simulator, TenantInfo, World,
};
use secrecy::SecretString;

pub const NORTHWIND: &str = "Northwind IT";
pub const CONTOSO: &str = "Contoso Manufacturing";

/// A running simulator plus adapter settings pointing at it.
#[derive(Debug)]
pub struct Harness {
    pub running: RunningSimulator,
    pub settings: AutotaskSettings,
}

impl Harness {
    pub async fn demo() -> Harness {
        Harness::with_world(World::demo()).await
    }

    pub async fn with_world(world: World) -> Harness {
        Harness::with(world, SimOptions::for_tests()).await
    }

    pub async fn with(world: World, options: SimOptions) -> Harness {
        let simulator = Simulator::new(world, options).expect("the world seeds");
        let running = simulator
            .spawn("127.0.0.1:0".parse().expect("address"))
            .await
            .expect("the simulator listens");
        let settings = test_settings(running.base_url());
        Harness { running, settings }
    }

    pub fn simulator(&self) -> &Simulator {
        self.running.simulator()
    }

    pub fn tenant(&self, name: &str) -> TenantInfo {
        self.simulator()
            .tenants()
            .into_iter()
            .find(|tenant| tenant.name == name)
            .expect("tenant exists")
    }

    /// The active API user's (username, secret) of a tenant.
    pub fn active_user(&self, tenant: &str) -> (String, String) {
        let user = self
            .tenant(tenant)
            .api_users
            .into_iter()
            .find(|user| user.active)
            .expect("an active API user");
        (user.username, user.secret)
    }

    pub fn inactive_user(&self, tenant: &str) -> (String, String) {
        let user = self
            .tenant(tenant)
            .api_users
            .into_iter()
            .find(|user| !user.active)
            .expect("an inactive API user");
        (user.username, user.secret)
    }

    /// The correct settings-page input for a tenant's active API user.
    pub fn correct_input(&self, tenant: &str) -> ConnectionInput {
        let (username, secret) = self.active_user(tenant);
        ConnectionInput {
            api_url: self.tenant(tenant).api_url,
            username,
            secret: SecretString::from(secret),
            integration_code: None,
        }
    }

    pub fn tester(&self) -> ConnectionTester {
        ConnectionTester::new(self.settings.clone())
    }

    pub fn service(&self) -> AutotaskService {
        AutotaskService::new(self.settings.clone()).expect("the service builds")
    }

    pub fn client_for(&self, tenant: &str) -> fusion_autotask::AutotaskClient {
        let (username, secret) = self.active_user(tenant);
        self.service()
            .client(Credentials::new(username, SecretString::from(secret)))
    }
}

/// Settings as a demo deployment would have them, with fast retries.
pub fn test_settings(base_url: &str) -> AutotaskSettings {
    AutotaskSettings {
        integration_code: Some(DEMO_INTEGRATION_CODE.to_owned()),
        transport_override: Some(TransportOverride::parse(base_url).expect("loopback override")),
        request_timeout: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 4,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        ..AutotaskSettings::default()
    }
}
