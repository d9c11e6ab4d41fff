//! `fusion admin create` then `fusion serve`: the first-run path of a real deployment. The
//! administrator created from the command line can sign in to the server, which announces its
//! address in a JSON log line and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::header::{CONTENT_TYPE, SET_COOKIE};

use crate::postgres_schema::{POSTGRES_URL_VARIABLE, PostgresSchema};
use crate::process::{fresh_data_dir, fusion, run};

const PASSWORD: &str = "correct horse battery staple";

fn admin_create(
    data_dir: &str,
    email: &str,
    env: &[(&str, &str)],
    stdin: Option<&str>,
    extra: &[&str],
) -> crate::process::Finished {
    let mut args = vec![
        "admin",
        "create",
        "--org",
        "Fabrikam",
        "--email",
        email,
        "--data-dir",
        data_dir,
    ];
    args.extend_from_slice(extra);
    run(fusion(&args, env), stdin)
}

#[test]
fn admin_create_refuses_a_missing_or_short_password_and_a_taken_email_with_exit_2() {
    let data_dir = fresh_data_dir("admin");
    let data_dir_text = data_dir.display().to_string();

    let missing = admin_create(&data_dir_text, "ops@fabrikam.example", &[], None, &[]);
    assert_eq!(missing.code, Some(2), "{missing:?}");
    assert!(
        missing.stderr.contains("FUSION_ADMIN_PASSWORD"),
        "{missing:?}"
    );
    assert!(missing.stderr.contains("--password-stdin"), "{missing:?}");

    let short = admin_create(
        &data_dir_text,
        "ops@fabrikam.example",
        &[("FUSION_ADMIN_PASSWORD", "short")],
        None,
        &[],
    );
    assert_eq!(short.code, Some(2), "{short:?}");
    assert!(short.stderr.contains("too short"), "{short:?}");

    let created = admin_create(
        &data_dir_text,
        "ops@fabrikam.example",
        &[],
        Some(&format!("{PASSWORD}\n")),
        &["--password-stdin"],
    );
    assert_eq!(created.code, Some(0), "{created:?}");
    assert!(
        created.stdout.contains("ops@fabrikam.example"),
        "{created:?}"
    );
    assert!(
        !created.all_output().contains(PASSWORD),
        "the password was echoed: {created:?}"
    );

    let taken = admin_create(
        &data_dir_text,
        "OPS@fabrikam.example",
        &[("FUSION_ADMIN_PASSWORD", PASSWORD)],
        None,
        &[],
    );
    assert_eq!(taken.code, Some(2), "{taken:?}");
    assert!(taken.stderr.contains("already exists"), "{taken:?}");
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_on_sqlite_lets_the_administrator_from_admin_create_sign_in_and_stops_on_sigterm() {
    let data_dir = fresh_data_dir("serve");
    std::fs::create_dir_all(&data_dir).expect("the data directory can be created");
    // Both commands find the database through the same configuration file.
    let config_file = data_dir.join("fusion.toml");
    let example = run(fusion(&["config", "example"], &[]), None);
    assert_eq!(example.code, Some(0), "{example:?}");
    let config = example.stdout.replace(
        "data_dir = \".\"",
        &format!("data_dir = {:?}", data_dir.display().to_string()),
    );
    std::fs::write(&config_file, config).expect("the configuration file can be written");
    let config_file_text = config_file.display().to_string();
    first_run(&["--config", &config_file_text], &[]).await;
    assert!(
        data_dir.join("fusion.db").exists(),
        "SQLite lives in the configured data directory"
    );
    assert!(
        data_dir.join("fusion.key").exists(),
        "the key file sits beside the database"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Runs on PostgreSQL when `FUSION_TEST_POSTGRES_URL` is set (CI sets it); else there is nothing
/// to run it on and it passes trivially, like the store's PostgreSQL contract runs.
#[tokio::test(flavor = "multi_thread")]
async fn serve_on_postgres_lets_the_administrator_from_admin_create_sign_in_and_stops_on_sigterm() {
    let Some(schema) = PostgresSchema::create().await else {
        eprintln!("{POSTGRES_URL_VARIABLE} is not set: PostgreSQL not tested here");
        return;
    };
    let data_dir = fresh_data_dir("serve-postgres");
    let data_dir_text = data_dir.display().to_string();
    // Several workers share one PostgreSQL database, so the key comes from the environment.
    let key = "q83vEjRWeJCrze8SNFZ4mp6/BsrS1Mu8qN3vErRWeJA=";
    first_run(
        &["--database-url", &schema.url, "--data-dir", &data_dir_text],
        &[("FUSION_SECRET_KEY", key)],
    )
    .await;
    assert!(
        !data_dir.join("fusion.key").exists(),
        "with FUSION_SECRET_KEY no key file is written"
    );
    schema.drop_schema().await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// `admin create` then `serve` on the same database; signs in; stops the server with SIGTERM.
async fn first_run(database_args: &[&str], env: &[(&str, &str)]) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut admin_args = vec![
        "admin",
        "create",
        "--org",
        "Fabrikam",
        "--email",
        "ops@fabrikam.example",
    ];
    admin_args.extend_from_slice(database_args);
    let mut admin_env = env.to_vec();
    admin_env.push(("FUSION_ADMIN_PASSWORD", PASSWORD));
    let created = run(fusion(&admin_args, &admin_env), None);
    assert_eq!(created.code, Some(0), "{created:?}");

    let mut serve_args = vec!["--log-format", "json", "serve", "--listen", "127.0.0.1:0"];
    serve_args.extend_from_slice(database_args);
    let mut command: Command = fusion(&serve_args, env);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("fusion serve starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    // Readiness: the JSON log line that announces the address.
    let (url, rest_of_log) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let line = line.expect("stderr is readable");
            let parsed: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|error| panic!("log line is not JSON ({error}): {line}"));
            if let Some(url) = parsed["url"].as_str() {
                return (url.to_owned(), lines);
            }
            seen.push(line);
        }
        panic!(
            "fusion serve ended without announcing its address:\n{}",
            seen.join("\n")
        );
    })
    .await
    .unwrap();

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client builds");
    let ready = client
        .get(format!("{url}readyz"))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(ready.status(), 200);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", "ops@fabrikam.example")
        .append_pair("password", PASSWORD)
        .finish();
    let signed_in = client
        .post(format!("{url}sign-in"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("sign-in answers");
    assert!(
        signed_in.status().is_redirection(),
        "{}",
        signed_in.status()
    );
    assert!(
        signed_in
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|cookie| cookie
                .to_str()
                .is_ok_and(|cookie| cookie.starts_with("fusion_session="))),
        "signing in sets the session cookie"
    );

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs")
            .success()
    );
    let status = child.wait().expect("fusion serve exits");
    let log: Vec<String> = rest_of_log.map_while(Result::ok).collect();
    assert!(
        status.success(),
        "exit {status:?}, log:\n{}",
        log.join("\n")
    );
    assert!(
        !log.join("\n").contains(PASSWORD),
        "the password reached the log"
    );
}

#[test]
fn serve_refuses_a_configuration_file_holding_a_secret_with_exit_2_without_echoing_it() {
    let config_file = std::env::temp_dir().join(format!(
        "fusion-it-secret-config-{}.toml",
        std::process::id()
    ));
    std::fs::write(
        &config_file,
        "listen = \"127.0.0.1:0\"\nsecret_key = \"q83vEjRWeJCrze8SNFZ4mp6/BsrS1Mu8qN3vErRWeJA=\"\n",
    )
    .expect("the configuration file can be written");
    let config_file_text = config_file.display().to_string();
    let result = run(fusion(&["serve", "--config", &config_file_text], &[]), None);
    assert_eq!(result.code, Some(2), "{result:?}");
    assert!(result.stderr.contains("secret_key"), "{result:?}");
    assert!(result.stderr.contains("FUSION_SECRET_KEY"), "{result:?}");
    assert!(!result.all_output().contains("q83vEjRW"), "{result:?}");
    let _ = std::fs::remove_file(&config_file);
}

#[test]
fn serve_refuses_a_missing_configuration_file_with_exit_2_and_says_how_to_make_one() {
    let result = run(
        fusion(&["serve", "--config", "/nonexistent/fusion.toml"], &[]),
        None,
    );
    assert_eq!(result.code, Some(2), "{result:?}");
    assert!(
        result.stderr.contains("fusion config example"),
        "{result:?}"
    );
}

#[test]
fn serve_refuses_incomplete_smtp_settings_with_exit_2_and_says_what_is_missing() {
    let data_dir = fresh_data_dir("smtp");
    let data_dir_text = data_dir.display().to_string();
    let without_sender = run(
        fusion(
            &[
                "serve",
                "--data-dir",
                &data_dir_text,
                "--listen",
                "127.0.0.1:0",
            ],
            &[("FUSION_SMTP_HOST", "smtp.example.com")],
        ),
        None,
    );
    assert_eq!(without_sender.code, Some(2), "{without_sender:?}");
    assert!(
        without_sender.stderr.contains("FUSION_SMTP_FROM"),
        "{without_sender:?}"
    );

    let bad_security = run(
        fusion(
            &[
                "serve",
                "--data-dir",
                &data_dir_text,
                "--listen",
                "127.0.0.1:0",
            ],
            &[
                ("FUSION_SMTP_HOST", "smtp.example.com"),
                ("FUSION_SMTP_FROM", "Support Fusion <fusion@example.com>"),
                ("FUSION_SMTP_SECURITY", "ssl3"),
            ],
        ),
        None,
    );
    assert_eq!(bad_security.code, Some(2), "{bad_security:?}");
    assert!(
        bad_security
            .stderr
            .contains("unknown SMTP security \"ssl3\"; use starttls, tls or none"),
        "{bad_security:?}"
    );

    let password_without_user = run(
        fusion(
            &[
                "serve",
                "--data-dir",
                &data_dir_text,
                "--listen",
                "127.0.0.1:0",
            ],
            &[
                ("FUSION_SMTP_HOST", "smtp.example.com"),
                ("FUSION_SMTP_FROM", "fusion@example.com"),
                ("FUSION_SMTP_PASSWORD", "hunter2-smtp-password"),
            ],
        ),
        None,
    );
    assert_eq!(
        password_without_user.code,
        Some(2),
        "{password_without_user:?}"
    );
    assert!(
        password_without_user
            .stderr
            .contains("FUSION_SMTP_USERNAME"),
        "{password_without_user:?}"
    );
    assert!(
        !password_without_user.all_output().contains("hunter2"),
        "the password is never echoed"
    );
}
