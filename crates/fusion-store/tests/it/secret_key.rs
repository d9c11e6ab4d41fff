//! Where the encryption key comes from: `FUSION_SECRET_KEY`, else a key file created once with
//! owner-only permissions and then reused; a bad value is refused with a clear message.

use std::path::Path;

use fusion_store::{SecretKey, SecretKeyError};
use secrecy::ExposeSecret;

fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("the key file exists")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_missing_key_file_is_created_with_owner_only_permissions_and_then_reused() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let key_file = folder.path().join("keys").join("secret.key");

    let created = SecretKey::from_env_or_file(None, &key_file).expect("creates a key");
    assert_eq!(file_mode(&key_file), 0o600);
    let content = std::fs::read_to_string(&key_file).expect("readable");
    assert_eq!(content.trim(), created.to_base64().expose_secret());

    let reused = SecretKey::from_env_or_file(None, &key_file).expect("reads the key");
    assert_eq!(
        reused.to_base64().expose_secret(),
        created.to_base64().expose_secret()
    );
}

#[test]
fn the_environment_value_wins_over_the_key_file() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let key_file = folder.path().join("secret.key");
    let from_file = SecretKey::from_env_or_file(None, &key_file).expect("creates a key");
    let configured = SecretKey::generate();

    let chosen =
        SecretKey::from_env_or_file(Some(configured.to_base64().expose_secret()), &key_file)
            .expect("uses the environment value");
    assert_eq!(
        chosen.to_base64().expose_secret(),
        configured.to_base64().expose_secret()
    );
    assert_ne!(
        chosen.to_base64().expose_secret(),
        from_file.to_base64().expose_secret()
    );
}

#[test]
fn a_malformed_environment_value_is_refused_and_names_the_variable() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let key_file = folder.path().join("secret.key");
    for bad in ["not base64!", "c2hvcnQ=", ""] {
        let error = SecretKey::from_env_or_file(Some(bad), &key_file).expect_err("refused");
        let message = error.to_string();
        assert!(message.contains("FUSION_SECRET_KEY"), "{message}");
        if !bad.is_empty() {
            assert!(
                !message.contains(bad),
                "the message echoes the value: {message}"
            );
        }
    }
    assert!(
        !key_file.exists(),
        "no key file may be created when the variable is set"
    );
}

#[test]
fn a_malformed_key_file_is_refused_and_never_overwritten() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let key_file = folder.path().join("secret.key");
    std::fs::write(&key_file, "this is not a key\n").expect("writes");

    let error = SecretKey::from_env_or_file(None, &key_file).expect_err("refused");
    assert!(
        matches!(error, SecretKeyError::NotBase64 { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&key_file.display().to_string()),
        "{error}"
    );
    assert_eq!(
        std::fs::read_to_string(&key_file).expect("readable"),
        "this is not a key\n"
    );
}
