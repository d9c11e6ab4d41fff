//! `fusion autotask zone`: which API URL an API username belongs to, asked of the zone discovery
//! host (through FUSION_AUTOTASK_OVERRIDE to an in-process simulator), without any secret.

use fusion_autotask_sim::{SimOptions, Simulator, World};

use crate::process::{Finished, fusion, run};

async fn zone_of(username: &str) -> Finished {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let simulator =
        Simulator::new(World::demo(), SimOptions::default()).expect("the demo world is valid");
    let running = simulator
        .spawn(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("the simulator starts");
    let base_url = running.base_url().to_owned();
    let username = username.to_owned();
    tokio::task::spawn_blocking(move || {
        run(
            fusion(
                &["autotask", "zone", "--username", &username],
                &[("FUSION_AUTOTASK_OVERRIDE", &base_url)],
            ),
            None,
        )
    })
    .await
    .expect("the command runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn zone_prints_the_api_url_of_the_users_zone() {
    let tenants = Simulator::new(World::demo(), SimOptions::default())
        .expect("the demo world is valid")
        .tenants();
    let contoso = tenants
        .iter()
        .find(|tenant| tenant.zone == 5)
        .expect("a demo tenant lives in zone 5");
    let result = zone_of(&contoso.api_users[0].username).await;
    assert_eq!(result.code, Some(0), "{result:?}");
    assert_eq!(result.stdout, "https://webservices5.autotask.net/\n");
    assert!(result.stderr.contains("America West"), "{result:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn zone_of_a_persons_email_exits_1_and_asks_for_the_api_username() {
    let result = zone_of("jane.doe@contoso.example").await;
    assert_eq!(result.code, Some(1), "{result:?}");
    assert_eq!(result.stdout, "");
    assert!(result.stderr.contains("does not know"), "{result:?}");
    assert!(result.stderr.contains("integration key"), "{result:?}");
}
