//! Issue 16, "Also": thousands of generated values thrown at every parser of this crate that
//! takes user or Autotask input — the API URL rules, credential cleaning and limits, the local
//! checks of the connection test, the classification of Autotask's error answers, and the
//! decoding of its JSON — asserting that none panics and each refusal is a specific error with
//! words for people (and never shows an invisible control character as is).

use proptest::prelude::*;
use secrecy::SecretString;

use crate::api_url::ApiUrl;
use crate::client::decode;
use crate::connection_test::{ConnectionInput, ConnectionTester};
use crate::credential::clean_credential;
use crate::error::{AutotaskError, classify_response};
use crate::input_checks::{InputField, check_input};
use crate::settings::AutotaskSettings;
use crate::wire::{
    FieldInformationResult, ItemResponse, QueryResponse, ThresholdInformation, Ticket, TicketNote,
    ZoneInformation,
};

/// Text a person or a hostile client might send: anything, URL-ish pieces, controls and bidi
/// characters, long runs.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<String>(),
        Just("https://".to_owned()),
        Just("webservices".to_owned()),
        Just(".autotask.net".to_owned()),
        Just("javascript:".to_owned()),
        Just("@".to_owned()),
        Just(":443".to_owned()),
        Just("\r\n".to_owned()),
        Just("\0".to_owned()),
        Just("\u{202E}".to_owned()),
        Just("\u{2066}".to_owned()),
        Just("\u{200B}".to_owned()),
        Just("\"".to_owned()),
        "[0-9]{1,4}",
        "[a-zA-Z0-9.@_-]{0,40}",
        Just("x".repeat(3000)),
    ];
    proptest::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

/// Bodies Autotask (or something pretending to be it) might answer with.
fn hostile_body() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just(String::new()),
        Just("<html><body>Service Unavailable</body></html>".to_owned()),
        Just(r#"{"errors":["Thread Threshold Exceeded"]}"#.to_owned()),
        Just(r#"{"errors":[null, 5, {"x":1}]}"#.to_owned()),
        Just(r#"{"items":null,"pageDetails":{"count":"x"}}"#.to_owned()),
        Just(r#"{"item":{"id":"not-a-number"}}"#.to_owned()),
        Just(r#"{"items":[{"id":1e400}]}"#.to_owned()),
        Just(r#"{"zoneName":5,"url":"javascript:alert(1)","ci":"x"}"#.to_owned()),
        Just("[".repeat(200)),
        "\\{\"[a-zA-Z]{1,10}\":(null|[0-9]{1,20}|\"[^\"]{0,20}\"|\\[\\]|\\{\\})\\}",
    ]
}

fn has_raw_controls(text: &str) -> bool {
    text.chars()
        .any(|c| matches!(c, '\u{0}' | '\r' | '\n' | '\u{202E}' | '\u{2066}'))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_api_url_rules_answer_every_string_with_a_url_or_a_specific_refusal(input in hostile_text()) {
        match ApiUrl::parse(&input) {
            Ok(url) => {
                prop_assert!(url.as_str().starts_with("https://webservices"));
                prop_assert!(url.as_str().ends_with(".autotask.net/"));
            }
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.starts_with("Invalid API URL"), "{message}");
                prop_assert!(!has_raw_controls(&message), "{message:?}");
                prop_assert!(!error.fix().is_empty());
            }
        }
    }

    #[test]
    fn credential_cleaning_and_limits_never_panic_and_accept_only_clean_short_values(
        input in hostile_text(),
    ) {
        let cleaned = clean_credential(&input);
        for field in [InputField::Username, InputField::Secret, InputField::IntegrationCode, InputField::ApiUrl] {
            match check_input(field, &cleaned.value) {
                Ok(()) => {
                    prop_assert!(cleaned.value.chars().count() <= field.max_chars());
                    prop_assert!(!fusion_domain::has_hidden_controls(&cleaned.value));
                }
                Err(problem) => {
                    prop_assert!(!problem.message.is_empty() && !problem.fix.is_empty());
                    // A refusal never quotes the value (it may be a secret).
                    if cleaned.value.chars().count() > 3 {
                        prop_assert!(!problem.message.contains(&cleaned.value));
                    }
                }
            }
        }
    }

    #[test]
    fn the_connection_tests_local_checks_refuse_with_a_kind_and_a_reason(
        api_url in hostile_text(),
        username in hostile_text(),
        secret in hostile_text(),
        code in proptest::option::of(hostile_text()),
    ) {
        let tester = ConnectionTester::new(AutotaskSettings::default());
        let input = ConnectionInput {
            api_url,
            username,
            // A mark only the secret carries: no message may show it.
            secret: SecretString::from(format!("{secret}Zq9SECRETMARK")),
            integration_code: code,
        };
        if let Err(report) = tester.check_locally(&input) {
            prop_assert!(report.failure.is_some());
            prop_assert!(!report.reason.is_empty());
            prop_assert!(!has_raw_controls(&report.reason), "{:?}", report.reason);
            prop_assert!(!report.reason.contains("SECRETMARK"));
            prop_assert!(!report.fix.unwrap_or_default().contains("SECRETMARK"));
        }
    }

    #[test]
    fn every_error_answer_from_autotask_is_classified(
        status in 100u16..600,
        body in hostile_body(),
        entity in "[A-Za-z]{0,20}",
    ) {
        let error = classify_response(status, &body, &entity);
        prop_assert!(!error.kind_name().is_empty());
        prop_assert!(!error.to_string().is_empty());
        // The message keeps at most an excerpt of the body.
        prop_assert!(error.to_string().chars().count() < 2_000);
    }

    #[test]
    fn autotask_json_of_any_shape_decodes_or_is_a_decode_error(body in hostile_body()) {
        fn check<T: serde::de::DeserializeOwned>(body: &str) -> Result<(), TestCaseError> {
            match decode::<T>(200, body) {
                Ok(_) => Ok(()),
                Err(AutotaskError::Decode { status, detail }) => {
                    prop_assert_eq!(status, 200);
                    prop_assert!(!detail.is_empty());
                    Ok(())
                }
                Err(other) => Err(TestCaseError::fail(format!("not a decode error: {other}"))),
            }
        }
        check::<QueryResponse<Ticket>>(&body)?;
        check::<QueryResponse<TicketNote>>(&body)?;
        check::<ItemResponse<Ticket>>(&body)?;
        check::<ZoneInformation>(&body)?;
        check::<ThresholdInformation>(&body)?;
        check::<FieldInformationResult>(&body)?;
    }
}
