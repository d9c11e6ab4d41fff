//! Limits on what a person may enter as Autotask credentials, checked before anything is sent
//! or saved (issue 16, finding 6: a 1 MB secret was sent to Autotask, and a username with a line
//! break was saved).
//!
//! The limits follow Autotask's own fields, with room to spare: a Resource's `userName` (which
//! holds the API username) and `email` are 254 characters in `entityInformation/fields`; the API
//! secret Autotask generates is about 30 characters (128 allowed); the integration code (API
//! tracking identifier) is 27 characters (100 allowed); an API URL is a host name and a path we
//! throw away (2,048, the usual URL limit). Control characters and invisible formatting
//! characters (line breaks, NUL, bidi overrides) are never part of any of them.

use fusion_domain::echo::is_hidden_control;

pub const MAX_API_URL_CHARS: usize = 2_048;
pub const MAX_USERNAME_CHARS: usize = 254;
pub const MAX_SECRET_CHARS: usize = 128;
pub const MAX_INTEGRATION_CODE_CHARS: usize = 100;

/// Which value a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputField {
    ApiUrl,
    Username,
    Secret,
    IntegrationCode,
}

impl InputField {
    pub fn label(self) -> &'static str {
        match self {
            InputField::ApiUrl => "API URL",
            InputField::Username => "API username",
            InputField::Secret => "API secret",
            InputField::IntegrationCode => "integration code",
        }
    }

    pub fn max_chars(self) -> usize {
        match self {
            InputField::ApiUrl => MAX_API_URL_CHARS,
            InputField::Username => MAX_USERNAME_CHARS,
            InputField::Secret => MAX_SECRET_CHARS,
            InputField::IntegrationCode => MAX_INTEGRATION_CODE_CHARS,
        }
    }
}

/// Why a value can never be right. `message` and `fix` never quote a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    pub field: InputField,
    pub message: String,
    pub fix: String,
}

/// Checks one value (already cleaned of pasted whitespace and quotes) against its field.
pub fn check_input(field: InputField, value: &str) -> Result<(), InputProblem> {
    let length = value.chars().count();
    let max = field.max_chars();
    let label = field.label();
    if length > max {
        return Err(InputProblem {
            field,
            message: format!(
                "The {label} is {length} characters long; an Autotask {label} is at most {max}"
            ),
            fix: format!(
                "Copy the {label} again from Autotask: only the {label} itself, nothing around it"
            ),
        });
    }
    if value.chars().any(is_hidden_control) {
        return Err(InputProblem {
            field,
            message: format!(
                "The {label} contains control characters (a line break, NUL or an invisible formatting character); an Autotask {label} never has them"
            ),
            fix: format!("Type or copy the {label} again, on one line, without anything around it"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn values_longer_than_autotasks_fields_or_with_controls_are_refused_without_quoting_them() {
        let huge = "s".repeat(1024 * 1024);
        let problem = check_input(InputField::Secret, &huge).unwrap_err();
        assert!(
            problem.message.contains("1048576 characters"),
            "{problem:?}"
        );
        assert!(problem.message.contains("at most 128"), "{problem:?}");
        for value in ["user\r\nX-Injected: 1", "user\0", "user\u{202E}"] {
            let problem = check_input(InputField::Username, value).unwrap_err();
            assert!(
                problem.message.contains("control characters"),
                "{problem:?}"
            );
        }
        assert!(check_input(InputField::Username, "7QKXG2MZ4HPWLRB@NORTHWINDIT.EXAMPLE").is_ok());
        assert!(check_input(InputField::IntegrationCode, &"C".repeat(27)).is_ok());
        assert!(check_input(InputField::IntegrationCode, "CODE\r\n").is_err());
    }
}
