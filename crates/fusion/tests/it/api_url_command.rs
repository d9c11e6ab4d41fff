//! `fusion autotask api-url`: the API URL for what a user copied from their browser, or the
//! reason and the fix, with exit codes scripts can rely on.

use crate::process::{fusion, run};

fn api_url(input: &str) -> crate::process::Finished {
    run(fusion(&["autotask", "api-url", input], &[]), None)
}

#[test]
fn portal_url_prints_the_api_url_of_the_same_zone() {
    let result = api_url("https://ww5.autotask.net/Mvc/Framework/Navigation.mvc/Landing");
    assert_eq!(result.code, Some(0), "{result:?}");
    assert_eq!(result.stdout, "https://webservices5.autotask.net/\n");
    assert!(result.stderr.contains("portal"), "{result:?}");
}

#[test]
fn api_url_with_a_path_prints_its_canonical_form() {
    let result = api_url("https://webservices14.autotask.net/ATServicesRest/V1.0/");
    assert_eq!(result.code, Some(0), "{result:?}");
    assert_eq!(result.stdout, "https://webservices14.autotask.net/\n");
}

#[test]
fn http_is_refused_with_exit_2_and_the_https_url_named_as_the_fix() {
    let result = api_url("http://webservices2.autotask.net/");
    assert_eq!(result.code, Some(2), "{result:?}");
    assert_eq!(result.stdout, "");
    assert!(result.stderr.contains("https://"), "{result:?}");
    assert!(
        result
            .stderr
            .contains("What to do: Use https://webservices2.autotask.net/"),
        "{result:?}"
    );
}

#[test]
fn lookalike_host_is_refused_with_exit_2_and_a_reason() {
    let result = api_url("https://webservices2.autotask.net.evil.example/");
    assert_eq!(result.code, Some(2), "{result:?}");
    assert_eq!(result.stdout, "");
    assert!(result.stderr.contains("Invalid API URL"), "{result:?}");
    assert!(result.stderr.contains("What to do:"), "{result:?}");
}

#[test]
fn user_info_trick_is_refused_with_exit_2() {
    let result = api_url("https://webservices2.autotask.net@evil.example/");
    assert_eq!(result.code, Some(2), "{result:?}");
    assert_eq!(result.stdout, "");
}

#[test]
fn missing_argument_is_a_usage_error_with_exit_2() {
    let result = run(fusion(&["autotask", "api-url"], &[]), None);
    assert_eq!(result.code, Some(2), "{result:?}");
    assert!(result.stderr.contains("Usage"), "{result:?}");
}
