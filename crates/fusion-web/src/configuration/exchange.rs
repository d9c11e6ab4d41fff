//! Configuration files in and out: the core's export written in the file format (`config_file`,
//! TOML with my tenant's labels in comments, or JSON) with its download name, and a file read back
//! into the core's document for its import. What is exported and what an import accepts are the
//! core's rules (`ConfigurationService::export`, `ConfigurationService::import`); this module only
//! converts between text and documents.

use fusion_engine::configuration::{ConfigurationError as CoreError, ImportOutcome};

use crate::AppState;
use crate::configuration::config_file::{self, ConfigDocument, FileFormat, parse};
use crate::configuration::{ConfigurationError, Scope};
use crate::error::ApiError;

/// The partner as the exported scope sentence names it.
async fn partner_name(state: &AppState, scope: &Scope) -> Result<String, ConfigurationError> {
    Ok(match scope.relationship.partner_of(scope.org_id) {
        Some(partner) => state
            .store()
            .organisation(partner)
            .await?
            .map_or_else(|| "your partner".to_owned(), |partner| partner.name),
        None => "your partner".to_owned(),
    })
}

/// The download's file name: `support-fusion-<contract>-<role>.<extension>`.
fn file_name(scope: &Scope, format: FileFormat) -> String {
    let slug: String = scope
        .relationship
        .contract_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!(
        "support-fusion-{}-{}.{}",
        if slug.is_empty() { "connection" } else { &slug },
        scope.role.as_str(),
        format.extension()
    )
}

/// The whole configuration as a file: (file name, content type, text).
pub(crate) async fn export(
    state: &AppState,
    scope: &Scope,
    format: FileFormat,
) -> Result<(String, &'static str, String), ConfigurationError> {
    let partner_name = partner_name(state, scope).await?;
    let export = state
        .configuration()
        .export(scope, &partner_name, format == FileFormat::Toml)
        .await?;
    let document = ConfigDocument::new(
        scope.role,
        &export.document.side,
        &export.document.mappings,
        export.document.composition.as_ref(),
    )
    .with_scope(export.scope_sentence);
    let heading = format!(
        "Support Fusion configuration of \"{}\" ({} side).\nCodes are your Autotask tenant's; labels in comments are for people and are ignored on import.",
        scope.relationship.contract_name.replace(['\n', '\r'], " "),
        scope.role.label()
    );
    let text = config_file::export(&document, format, &heading, &export.labels)
        .map_err(|error| ConfigurationError::Api(ApiError::Internal(error.to_string())))?;
    Ok((file_name(scope, format), format.content_type(), text))
}

/// Reads a file and has the core replace my side's configuration, the mappings and the
/// composition with it (all or nothing). A side outside its company scope is refused as a broken
/// file naming the file's key (`side.…`).
pub(crate) async fn import(
    state: &AppState,
    scope: &Scope,
    text: &str,
    format: Option<FileFormat>,
) -> Result<ImportOutcome, ConfigurationError> {
    let format = format.unwrap_or_else(|| FileFormat::sniff(text));
    let document = parse(text, format).map_err(ConfigurationError::InvalidFile)?;
    state
        .configuration()
        .import(scope, document.into_imported(scope.relationship.id))
        .await
        .map_err(|error| match error {
            CoreError::OutsideScope(problems) => {
                ConfigurationError::outside_scope_in_file(&problems)
            }
            other => other.into(),
        })
}
