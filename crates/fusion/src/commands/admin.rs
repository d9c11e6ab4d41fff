//! `fusion admin create`: the first-run bootstrap. Creates an organisation (or reuses the one
//! with that name) and an administrator who can sign in, with the password taken from
//! `FUSION_ADMIN_PASSWORD` or standard input, never from the command line.

use anyhow::Context;
use fusion_store::StoreError;
use secrecy::{ExposeSecret, SecretString};

use crate::cli::AdminCreateArgs;
use crate::config_file::ConfigFile;
use crate::database_location::DatabaseLocation;
use crate::exit_status::{Completion, InvalidInput};
use crate::secrets_from_environment::read_secret_from_stdin;

/// Long enough to resist guessing when the sign-in page is reachable from a network.
pub const MINIMUM_PASSWORD_LENGTH: usize = 12;

pub async fn create(
    args: AdminCreateArgs,
    password_from_environment: Option<SecretString>,
    secret_key_from_environment: Option<SecretString>,
) -> anyhow::Result<Completion> {
    let organisation_name = args.org.trim();
    if organisation_name.is_empty() {
        return Err(InvalidInput(
            "--org must name the organisation, e.g. --org \"Northwind IT\"".into(),
        )
        .into());
    }
    let email = args.email.trim().to_lowercase();
    if !looks_like_email(&email) {
        return Err(InvalidInput(format!(
            "--email {email:?} is not an email address; it is the administrator's sign-in name, e.g. --email admin@example.com"
        ))
        .into());
    }
    let password = if args.password_stdin {
        read_secret_from_stdin("Password for the new administrator")
            .context("cannot read the password from standard input")?
    } else if let Some(password) = password_from_environment {
        password
    } else {
        return Err(InvalidInput(
            "No password given. Set FUSION_ADMIN_PASSWORD, or pass --password-stdin and type or pipe it in. \
             Passwords are never accepted as command-line arguments."
                .into(),
        )
        .into());
    };
    if password.expose_secret().chars().count() < MINIMUM_PASSWORD_LENGTH {
        return Err(InvalidInput(format!(
            "The password is too short: use at least {MINIMUM_PASSWORD_LENGTH} characters."
        ))
        .into());
    }
    let display_name = args
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());

    let file = ConfigFile::load(args.config.file.as_deref())?;
    let location = DatabaseLocation::resolve(&file.database_args(&args.database))?;
    let store =
        crate::commands::serve::open_store(&location, secret_key_from_environment.as_ref()).await?;

    let existing = store
        .organisations()
        .await
        .context("cannot read organisations")?
        .into_iter()
        .find(|organisation| organisation.name == organisation_name);
    let (organisation, reused) = match existing {
        Some(organisation) => (organisation, true),
        None => (
            store
                .create_organisation(organisation_name)
                .await
                .context("cannot create the organisation")?,
            false,
        ),
    };
    match store
        .create_person(organisation.id, &email, &display_name, &password)
        .await
    {
        Ok(person) => {
            let how = if reused {
                "existing organisation"
            } else {
                "new organisation"
            };
            println!(
                "Created administrator {} for the {how} {:?}. They can now sign in with that email and password.",
                person.email, organisation.name
            );
            Ok(Completion::Succeeded)
        }
        Err(StoreError::Conflict(_)) => Err(InvalidInput(format!(
            "A person with the email {email} already exists; choose another email."
        ))
        .into()),
        Err(error) => Err(anyhow::Error::new(error).context("cannot create the administrator")),
    }
}

fn looks_like_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    }
}
