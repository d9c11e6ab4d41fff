//! Notifications in the binary: the server's SMTP and webhook settings resolved from flags,
//! `FUSION_*` variables and the `[notifications]` section of the configuration file (the SMTP
//! password only from `FUSION_SMTP_PASSWORD` or a file), and the composition of the delivery
//! adapter (`fusion-notify`) with the core's `Notifier`, which `serve` and `demo` hand to the
//! sync service (runs and scheduler ticks) and the web app (settings, connection changes).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fusion_domain::{Clock, SystemClock};
use fusion_engine::PlatformTenants;
use fusion_engine::notify::{NotificationChannels, Notifier, NotifierSettings};
use fusion_notify::{DeliveryChannels, SmtpSecurity, SmtpSettings, WebhookSettings};
use fusion_store::Store;
use secrecy::{ExposeSecret, SecretString};

use crate::cli::NotificationArgs;
use crate::config_file::NotificationsSection;
use crate::exit_status::InvalidInput;

/// How long one email or webhook delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's notification settings.
#[derive(Debug, Clone, Default)]
pub struct NotificationConfig {
    /// `None`: no SMTP server, so no email.
    pub smtp: Option<SmtpSettings>,
    pub webhooks: WebhookSettings,
    pub notifier: NotifierSettings,
}

impl NotificationConfig {
    /// Flags and environment over the file; `password_from_environment` is
    /// `FUSION_SMTP_PASSWORD`.
    pub fn resolve(
        args: NotificationArgs,
        file: &NotificationsSection,
        password_from_environment: Option<SecretString>,
    ) -> Result<Self, InvalidInput> {
        let host = args
            .smtp_host
            .or_else(|| file.smtp_host.clone())
            .map(|host| host.trim().to_owned())
            .filter(|host| !host.is_empty());
        let port = args.smtp_port.or(file.smtp_port);
        let security = args.smtp_security.or_else(|| file.smtp_security.clone());
        let username = args
            .smtp_username
            .or_else(|| file.smtp_username.clone())
            .filter(|user| !user.trim().is_empty());
        let password_file = args
            .smtp_password_file
            .or_else(|| file.smtp_password_file.clone());
        let from = args.smtp_from.or_else(|| file.smtp_from.clone());
        let smtp = match host {
            None => {
                if username.is_some() || from.is_some() || password_file.is_some() {
                    return Err(InvalidInput(
                        "SMTP settings are given but no SMTP host: set FUSION_SMTP_HOST (or \
                         notifications.smtp_host) to send notification email"
                            .to_owned(),
                    ));
                }
                None
            }
            Some(host) => {
                let security = match security {
                    Some(text) => SmtpSecurity::parse(&text).map_err(|problem| {
                        InvalidInput(format!("FUSION_SMTP_SECURITY: {problem}"))
                    })?,
                    None => SmtpSecurity::Starttls,
                };
                let from = from.filter(|from| !from.trim().is_empty()).ok_or_else(|| {
                    InvalidInput(
                        "FUSION_SMTP_FROM (or notifications.smtp_from) is needed with an SMTP \
                         host: the sender of notification email, e.g. \"Support Fusion \
                         <fusion@example.com>\""
                            .to_owned(),
                    )
                })?;
                let password = match (password_from_environment, password_file) {
                    (Some(_), Some(_)) => {
                        return Err(InvalidInput(
                            "both FUSION_SMTP_PASSWORD and an SMTP password file are set; keep one"
                                .to_owned(),
                        ));
                    }
                    (Some(password), None) => Some(password),
                    (None, Some(path)) => Some(read_password_file(&path)?),
                    (None, None) => None,
                };
                if password.is_some() && username.is_none() {
                    return Err(InvalidInput(
                        "an SMTP password is set but no user: set FUSION_SMTP_USERNAME too"
                            .to_owned(),
                    ));
                }
                Some(SmtpSettings {
                    host,
                    port: port.unwrap_or_else(|| security.default_port()),
                    security,
                    username,
                    password,
                    from,
                    timeout: DELIVERY_TIMEOUT,
                })
            }
        };
        let mut allowed_hosts = args.webhook_allow_hosts;
        if allowed_hosts.is_empty() {
            allowed_hosts = file.webhook_allow_hosts.clone().unwrap_or_default();
        }
        let defaults = NotifierSettings::default();
        Ok(Self {
            smtp,
            webhooks: WebhookSettings {
                allowed_hosts: allowed_hosts
                    .into_iter()
                    .map(|host| host.trim().to_owned())
                    .filter(|host| !host.is_empty())
                    .collect(),
                timeout: DELIVERY_TIMEOUT,
            },
            notifier: NotifierSettings {
                not_synced_intervals: args
                    .not_synced_intervals
                    .or(file.not_synced_intervals)
                    .unwrap_or(defaults.not_synced_intervals),
                budget_warning_percent: args
                    .budget_warning_percent
                    .or(file.budget_warning_percent)
                    .unwrap_or(defaults.budget_warning_percent)
                    .clamp(1, 100),
            },
        })
    }
}

/// The password in `path`: its first line, without the line ending.
fn read_password_file(path: &Path) -> Result<SecretString, InvalidInput> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        InvalidInput(format!(
            "cannot read the SMTP password file {}: {error}",
            path.display()
        ))
    })?;
    let password = text.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        return Err(InvalidInput(format!(
            "the SMTP password file {} is empty",
            path.display()
        )));
    }
    Ok(SecretString::from(password))
}

/// What the process notifies with: the delivery channels (for the web's "Send test" and URL
/// checks) and the notifier (for runs, ticks and connection changes).
#[derive(Clone)]
pub struct Notifications {
    pub channels: Arc<dyn NotificationChannels>,
    pub notifier: Notifier,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("notifier", &self.notifier)
            .finish_non_exhaustive()
    }
}

impl Notifications {
    /// Builds the delivery adapter and the notifier over `store`; `tenants` answers the API
    /// budget check.
    pub fn build(
        config: &NotificationConfig,
        store: Arc<dyn Store>,
        tenants: Arc<dyn PlatformTenants>,
    ) -> Result<Self, InvalidInput> {
        let channels: Arc<dyn NotificationChannels> = Arc::new(
            DeliveryChannels::new(config.smtp.as_ref(), config.webhooks.clone())
                .map_err(InvalidInput)?,
        );
        match &config.smtp {
            Some(smtp) => tracing::info!(
                host = %smtp.host,
                port = smtp.port,
                authenticated = smtp.username.is_some() && smtp.password.as_ref().is_some_and(|p| !p.expose_secret().is_empty()),
                "notification email goes through this SMTP server"
            ),
            None => tracing::info!(
                "no SMTP server configured (FUSION_SMTP_HOST): notifications go by webhook only"
            ),
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let notifier = Notifier::new(
            store,
            channels.clone(),
            clock,
            config.notifier,
            Some(tenants),
        );
        Ok(Self { channels, notifier })
    }
}
