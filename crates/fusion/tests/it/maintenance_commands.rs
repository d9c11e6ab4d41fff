//! `fusion migrate`, `backup`, `restore` and `keys rotate` as an operator runs them: the schema
//! version printed, a newer database refused by `migrate` and `serve` (exit 2), a backup → restore
//! round trip keeping organisations, credentials and relationships, the refusals (existing
//! backup, not a database, newer schema), and a rotation after which only the new key opens the
//! stored secrets; for PostgreSQL, `backup` explains `pg_dump`.

use std::path::Path;
use std::sync::Arc;

use fusion_domain::{OrgId, PlatformKind, Role, VERIFICATION_CODE_LIFETIME, VerificationCode};
use fusion_engine::ports::CredentialsUpdate;
use fusion_store::maintenance::binary_schema_version;
use fusion_store::{DatabaseKind, SecretKey, Store, StoreError};
use secrecy::{ExposeSecret, SecretString};
use sqlx::Connection;

use crate::process::{fusion, run};

fn data_dir_args<'a>(command: &'a str, data_dir: &'a Path) -> Vec<&'a str> {
    vec![
        command,
        "--data-dir",
        data_dir.to_str().expect("utf-8 path"),
    ]
}

fn key_in(data_dir: &Path) -> SecretKey {
    SecretKey::from_env_or_file(None, &data_dir.join("fusion.key")).expect("the key file")
}

async fn open_in(data_dir: &Path, key: SecretKey) -> fusion_store::StoreResult<Arc<dyn Store>> {
    fusion_store::open(
        &format!("sqlite://{}", data_dir.join("fusion.db").display()),
        key,
    )
    .await
}

fn credentials(username: &str, api_secret: &str) -> CredentialsUpdate {
    CredentialsUpdate {
        platform: PlatformKind::Autotask,
        api_url: "https://webservices5.autotask.net/".to_owned(),
        username: username.to_owned(),
        secret: Some(SecretString::from(api_secret.to_owned())),
        integration_code_override: None,
    }
}

/// Contoso (with credentials) connected to Northwind IT, in `data_dir`'s database.
async fn populate(data_dir: &Path) -> OrgId {
    let store = open_in(data_dir, key_in(data_dir)).await.expect("opens");
    let contoso = store
        .create_organisation("Contoso")
        .await
        .expect("creates")
        .id;
    let northwind = store
        .create_organisation("Northwind IT")
        .await
        .expect("creates")
        .id;
    store
        .save_platform_credentials(contoso, None, credentials("c@example", "contoso-secret"))
        .await
        .expect("saves");
    let bytes = [
        uuid::Uuid::new_v4().into_bytes(),
        uuid::Uuid::new_v4().into_bytes(),
    ];
    let code = VerificationCode::from_random_bytes(bytes.into_iter().flatten()).expect("a code");
    let now = time::OffsetDateTime::now_utc();
    store
        .create_relationship(
            contoso,
            Role::Source,
            "Managed services",
            &code,
            now,
            now + VERIFICATION_CODE_LIFETIME,
        )
        .await
        .expect("creates");
    store
        .accept_relationship(northwind, &code, now)
        .await
        .expect("answers")
        .expect("accepted");
    contoso
}

async fn write_future_migration(database: &Path) {
    let mut connection =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display()))
            .await
            .expect("connects");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a newer binary', 1, x'00', 0)",
    )
    .execute(&mut connection)
    .await
    .expect("inserts");
    connection.close().await.expect("closes");
}

#[test]
fn migrate_prints_the_schema_version() {
    let folder = tempfile::tempdir().expect("a folder");
    let finished = run(fusion(&data_dir_args("migrate", folder.path()), &[]), None);
    assert_eq!(finished.code, Some(0), "{}", finished.all_output());
    let version = binary_schema_version(DatabaseKind::Sqlite);
    assert!(
        finished
            .stdout
            .contains(&format!("schema version {version}")),
        "{}",
        finished.stdout
    );
    assert!(folder.path().join("fusion.db").is_file());
}

#[tokio::test]
async fn a_database_newer_than_the_binary_is_refused_by_migrate_and_serve() {
    let folder = tempfile::tempdir().expect("a folder");
    let first = run(fusion(&data_dir_args("migrate", folder.path()), &[]), None);
    assert_eq!(first.code, Some(0), "{}", first.all_output());
    write_future_migration(&folder.path().join("fusion.db")).await;

    let migrate = run(fusion(&data_dir_args("migrate", folder.path()), &[]), None);
    assert_eq!(migrate.code, Some(2), "{}", migrate.all_output());
    assert!(
        migrate.stderr.contains("newer than this binary"),
        "{}",
        migrate.stderr
    );
    assert!(
        migrate.stderr.contains("upgrade Support Fusion"),
        "{}",
        migrate.stderr
    );

    let mut serve_args = data_dir_args("serve", folder.path());
    serve_args.extend(["--listen", "127.0.0.1:0"]);
    let serve = run(fusion(&serve_args, &[]), None);
    assert_eq!(serve.code, Some(2), "{}", serve.all_output());
    assert!(
        serve.stderr.contains("newer than this binary"),
        "{}",
        serve.stderr
    );
}

#[tokio::test]
async fn backup_then_restore_keeps_organisations_credentials_and_relationships() {
    let source = tempfile::tempdir().expect("a folder");
    let contoso = populate(source.path()).await;
    let backups = tempfile::tempdir().expect("a folder");
    let backup_file = backups.path().join("fusion-backup.db");
    let backup_path = backup_file.to_str().expect("utf-8");

    let mut args = data_dir_args("backup", source.path());
    args.push(backup_path);
    let backup = run(fusion(&args, &[]), None);
    assert_eq!(backup.code, Some(0), "{}", backup.all_output());
    assert!(
        backup
            .stdout
            .contains(&source.path().join("fusion.key").display().to_string()),
        "the key file's place is named: {}",
        backup.stdout
    );

    // Restore onto another machine's data directory that already has a database and the key.
    let target = tempfile::tempdir().expect("a folder");
    std::fs::copy(
        source.path().join("fusion.key"),
        target.path().join("fusion.key"),
    )
    .expect("copies the key");
    let migrate = run(fusion(&data_dir_args("migrate", target.path()), &[]), None);
    assert_eq!(migrate.code, Some(0), "{}", migrate.all_output());
    let mut args = data_dir_args("restore", target.path());
    args.push(backup_path);
    let restore = run(fusion(&args, &[]), None);
    assert_eq!(restore.code, Some(0), "{}", restore.all_output());
    assert!(target.path().join("fusion.db.before-restore").is_file());

    let store = open_in(target.path(), key_in(target.path()))
        .await
        .expect("opens");
    let names: Vec<String> = store
        .organisations()
        .await
        .expect("reads")
        .into_iter()
        .map(|organisation| organisation.name)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"Northwind IT".to_owned()), "{names:?}");
    let secret = store
        .platform_secret(contoso)
        .await
        .expect("decrypts")
        .expect("set");
    assert_eq!(secret.expose_secret(), "contoso-secret");
    assert_eq!(
        store.relationships_of(contoso).await.expect("reads").len(),
        1
    );
}

#[tokio::test]
async fn backup_refuses_to_overwrite_a_file_unless_forced() {
    let source = tempfile::tempdir().expect("a folder");
    populate(source.path()).await;
    let backup_file = source.path().join("existing.db");
    std::fs::write(&backup_file, "precious").expect("writes");
    let mut args = data_dir_args("backup", source.path());
    args.push(backup_file.to_str().expect("utf-8"));

    let refused = run(fusion(&args, &[]), None);
    assert_eq!(refused.code, Some(2), "{}", refused.all_output());
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read_to_string(&backup_file).expect("reads"),
        "precious"
    );

    args.push("--force");
    let forced = run(fusion(&args, &[]), None);
    assert_eq!(forced.code, Some(0), "{}", forced.all_output());
    assert_ne!(std::fs::read(&backup_file).expect("reads"), b"precious");
}

#[tokio::test]
async fn restore_refuses_a_file_that_is_not_a_database_or_is_too_new() {
    let target = tempfile::tempdir().expect("a folder");
    let not_database = target.path().join("notes.txt");
    std::fs::write(&not_database, "hello, not SQLite").expect("writes");
    let mut args = data_dir_args("restore", target.path());
    args.push(not_database.to_str().expect("utf-8"));
    let refused = run(fusion(&args, &[]), None);
    assert_eq!(refused.code, Some(2), "{}", refused.all_output());
    assert!(
        refused.stderr.contains("not a Support Fusion database"),
        "{}",
        refused.stderr
    );
    assert!(!target.path().join("fusion.db").exists());

    let newer = tempfile::tempdir().expect("a folder");
    let migrate = run(fusion(&data_dir_args("migrate", newer.path()), &[]), None);
    assert_eq!(migrate.code, Some(0), "{}", migrate.all_output());
    write_future_migration(&newer.path().join("fusion.db")).await;
    let newer_file = newer.path().join("fusion.db");
    let mut args = data_dir_args("restore", target.path());
    args.push(newer_file.to_str().expect("utf-8"));
    let refused = run(fusion(&args, &[]), None);
    assert_eq!(refused.code, Some(2), "{}", refused.all_output());
    assert!(
        refused.stderr.contains("newer than this binary"),
        "{}",
        refused.stderr
    );
    assert!(!target.path().join("fusion.db").exists());
}

#[tokio::test]
async fn keys_rotate_reencrypts_so_only_the_new_key_file_opens_the_secrets() {
    let folder = tempfile::tempdir().expect("a folder");
    let contoso = populate(folder.path()).await;
    let old_key_text = std::fs::read_to_string(folder.path().join("fusion.key")).expect("reads");

    let rotate = run(
        fusion(
            &[
                "keys",
                "rotate",
                "--data-dir",
                folder.path().to_str().expect("utf-8"),
            ],
            &[],
        ),
        None,
    );
    assert_eq!(rotate.code, Some(0), "{}", rotate.all_output());
    assert!(
        rotate.stdout.contains("Re-encrypted 1 stored secret"),
        "{}",
        rotate.stdout
    );
    let new_key_text = std::fs::read_to_string(folder.path().join("fusion.key")).expect("reads");
    assert_ne!(new_key_text, old_key_text);
    assert!(
        !rotate.all_output().contains(new_key_text.trim()),
        "the key is not printed unasked"
    );
    assert_eq!(
        std::fs::read_to_string(folder.path().join("fusion.key.before-rotate")).expect("kept"),
        old_key_text
    );
    assert!(!folder.path().join("fusion.key.new").exists());

    let store = open_in(folder.path(), key_in(folder.path()))
        .await
        .expect("opens");
    let secret = store
        .platform_secret(contoso)
        .await
        .expect("decrypts")
        .expect("set");
    assert_eq!(secret.expose_secret(), "contoso-secret");
    let old_key = SecretKey::from_base64(&old_key_text).expect("a key");
    let with_old = open_in(folder.path(), old_key).await.expect("opens");
    assert!(matches!(
        with_old.platform_secret(contoso).await,
        Err(StoreError::Crypto(_))
    ));
}

#[tokio::test]
async fn keys_rotate_with_the_key_in_the_environment_tells_to_update_it_and_prints_only_on_request()
{
    let folder = tempfile::tempdir().expect("a folder");
    let contoso = populate(folder.path()).await;
    let environment_key = std::fs::read_to_string(folder.path().join("fusion.key")).expect("reads");
    std::fs::remove_file(folder.path().join("fusion.key")).expect("removes");

    let rotate = run(
        fusion(
            &[
                "keys",
                "rotate",
                "--print-new-key",
                "--data-dir",
                folder.path().to_str().expect("utf-8"),
            ],
            &[("FUSION_SECRET_KEY", environment_key.trim())],
        ),
        None,
    );
    assert_eq!(rotate.code, Some(0), "{}", rotate.all_output());
    assert!(
        rotate
            .stdout
            .contains("FUSION_SECRET_KEY still holds the OLD key"),
        "{}",
        rotate.stdout
    );
    assert!(!rotate.stderr.contains(environment_key.trim()));
    let printed = rotate
        .stdout
        .lines()
        .last()
        .expect("the new key")
        .trim()
        .to_owned();
    assert_eq!(
        printed,
        std::fs::read_to_string(folder.path().join("fusion.key"))
            .expect("written")
            .trim()
    );
    let store = open_in(
        folder.path(),
        SecretKey::from_base64(&printed).expect("a key"),
    )
    .await
    .expect("opens");
    let secret = store
        .platform_secret(contoso)
        .await
        .expect("decrypts")
        .expect("set");
    assert_eq!(secret.expose_secret(), "contoso-secret");
}

#[test]
fn backup_of_a_postgresql_database_explains_pg_dump_and_the_key() {
    let folder = tempfile::tempdir().expect("a folder");
    let finished = run(
        fusion(
            &[
                "backup",
                "fusion.dump",
                "--database-url",
                "postgres://fusion:hunter2@db.invalid/fusion",
                "--data-dir",
                folder.path().to_str().expect("utf-8"),
            ],
            &[],
        ),
        None,
    );
    assert_eq!(finished.code, Some(2), "{}", finished.all_output());
    assert!(finished.stderr.contains("pg_dump"), "{}", finished.stderr);
    assert!(
        finished.stderr.contains("fusion.key"),
        "{}",
        finished.stderr
    );
    assert!(!finished.all_output().contains("hunter2"));
}

#[tokio::test]
async fn keys_rotate_run_again_after_an_interruption_finishes_with_the_pending_key() {
    let folder = tempfile::tempdir().expect("a folder");
    let contoso = populate(folder.path()).await;
    // As if a rotation wrote fusion.key.new, committed the re-encryption and then died before
    // moving the new key into place.
    let pending = SecretKey::generate();
    std::fs::write(
        folder.path().join("fusion.key.new"),
        format!("{}\n", pending.to_base64().expose_secret()),
    )
    .expect("writes the pending key");
    let store = open_in(folder.path(), key_in(folder.path()))
        .await
        .expect("opens");
    assert_eq!(
        store
            .reencrypt_secrets(&pending)
            .await
            .expect("re-encrypts"),
        1
    );
    drop(store);

    let rotate = run(
        fusion(
            &[
                "keys",
                "rotate",
                "--data-dir",
                folder.path().to_str().expect("utf-8"),
            ],
            &[],
        ),
        None,
    );
    assert_eq!(rotate.code, Some(0), "{}", rotate.all_output());
    assert!(
        rotate.stdout.contains("Finished an interrupted rotation"),
        "{}",
        rotate.stdout
    );
    assert_eq!(
        std::fs::read_to_string(folder.path().join("fusion.key"))
            .expect("reads")
            .trim(),
        pending.to_base64().expose_secret()
    );
    let store = open_in(folder.path(), key_in(folder.path()))
        .await
        .expect("opens");
    let secret = store
        .platform_secret(contoso)
        .await
        .expect("decrypts")
        .expect("set");
    assert_eq!(secret.expose_secret(), "contoso-secret");
}

/// Issue 16, finding 5: a key file other users may read is refused at start (exit 2, saying how
/// to fix it) unless explicitly allowed; the key may live apart from the database
/// (`FUSION_SECRET_KEY_FILE`), and a data directory created on first start is private.
#[cfg(unix)]
#[test]
fn a_key_file_readable_by_others_is_refused_and_the_key_may_live_elsewhere() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| {
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    };
    let folder = tempfile::tempdir().expect("a folder");
    let data_dir = folder.path().join("data");
    let first = run(fusion(&data_dir_args("migrate", &data_dir), &[]), None);
    assert_eq!(first.code, Some(0), "{}", first.all_output());
    assert_eq!(mode(&data_dir), 0o700);
    assert_eq!(mode(&data_dir.join("fusion.db")), 0o600);
    assert_eq!(mode(&data_dir.join("fusion.key")), 0o600);

    let key_file = data_dir.join("fusion.key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let refused = run(fusion(&data_dir_args("migrate", &data_dir), &[]), None);
    assert_eq!(refused.code, Some(2), "{}", refused.all_output());
    assert!(refused.stderr.contains("chmod 600"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("FUSION_ALLOW_READABLE_KEY_FILE"),
        "{}",
        refused.stderr
    );
    let allowed = run(
        fusion(
            &data_dir_args("migrate", &data_dir),
            &[("FUSION_ALLOW_READABLE_KEY_FILE", "true")],
        ),
        None,
    );
    assert_eq!(allowed.code, Some(0), "{}", allowed.all_output());

    // A key kept apart from the database.
    let elsewhere = folder.path().join("secrets").join("fusion.key");
    let other_data = folder.path().join("other-data");
    let apart = run(
        fusion(
            &data_dir_args("migrate", &other_data),
            &[("FUSION_SECRET_KEY_FILE", elsewhere.to_str().expect("utf-8"))],
        ),
        None,
    );
    assert_eq!(apart.code, Some(0), "{}", apart.all_output());
    assert!(elsewhere.is_file());
    assert_eq!(mode(&elsewhere), 0o600);
    assert!(!other_data.join("fusion.key").exists());
}
