//! The OpenAPI document (`openapi.json`) against the code: the (path, method) pairs of the
//! `/api/v1` route tables in `src/` and of the document agree both ways, the server serves the
//! committed document without authentication, and every GET route answers — on a real server with
//! a live connection between two organisations — a status the document lists, with a body the
//! document's schema accepts (a small validator for the subset of JSON Schema the document uses).

use std::collections::BTreeSet;

use fusion_autotask_sim::TenantInfo;
use fusion_domain::{OrgId, PlatformKind};
use fusion_engine::ports::CredentialsUpdate;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::TestApp;

const DOCUMENT: &str = include_str!("../../openapi.json");

/// The source files holding the `/api/v1` route tables (nested under `/api/v1` in `lib.rs`).
const ROUTE_TABLES: [(&str, &str); 10] = [
    ("src/api_budget.rs", include_str!("../../src/api_budget.rs")),
    ("src/hooks.rs", include_str!("../../src/hooks.rs")),
    ("src/api.rs", include_str!("../../src/api.rs")),
    ("src/api_tokens.rs", include_str!("../../src/api_tokens.rs")),
    (
        "src/relationships/api.rs",
        include_str!("../../src/relationships/api.rs"),
    ),
    (
        "src/configuration/api.rs",
        include_str!("../../src/configuration/api.rs"),
    ),
    ("src/openapi.rs", include_str!("../../src/openapi.rs")),
    ("src/sync/api.rs", include_str!("../../src/sync/api.rs")),
    (
        "src/sync/tickets.rs",
        include_str!("../../src/sync/tickets.rs"),
    ),
    (
        "src/notifications/api.rs",
        include_str!("../../src/notifications/api.rs"),
    ),
];

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

pub(crate) fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
}

/// The text of the call starting at `open` (just after an opening parenthesis) up to its
/// matching closing parenthesis.
fn call_arguments(text: &str, open: usize) -> &str {
    let mut depth = 1;
    for (offset, character) in text[open..].char_indices() {
        match character {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open..open + offset];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses in a route table")
}

/// The method router functions (`get(`, `.post(` …) called in `text`, as whole words.
fn methods_called(text: &str) -> BTreeSet<&'static str> {
    let mut found = BTreeSet::new();
    for method in METHODS {
        let pattern = format!("{method}(");
        for (at, _) in text.match_indices(&pattern) {
            let before = text[..at].chars().next_back();
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                found.insert(method);
            }
        }
    }
    found
}

/// (path, method) pairs of one route table: every `.route(PATH, METHODS)` call, with
/// `format!("{BASE}…")` resolved from the file's `const BASE` and local closures that wrap a
/// method router (`let action = |…| post(…)`) followed.
fn routes_in_source(file: &str, text: &str) -> BTreeSet<(String, String)> {
    let base = text.find("const BASE: &str = \"").map(|at| {
        let start = at + "const BASE: &str = \"".len();
        let end = text[start..].find('"').expect("BASE ends") + start;
        text[start..end].to_owned()
    });
    let mut routes = BTreeSet::new();
    for (at, _) in text.match_indices(".route(") {
        let arguments = call_arguments(text, at + ".route(".len());
        let quote = arguments.find('"').expect("a route path literal");
        let end = arguments[quote + 1..].find('"').expect("path ends") + quote + 1;
        let mut path = arguments[quote + 1..end].to_owned();
        if let Some(base) = &base {
            path = path.replace("{BASE}", base);
        }
        let path = path.replace("{{", "{").replace("}}", "}");
        let handlers = &arguments[end + 1..];
        let mut methods = methods_called(handlers);
        if methods.is_empty() {
            // A local closure that builds the method router, e.g. `action(LifecycleAction::Pause)`.
            let name: String = handlers
                .trim_start_matches([',', ' ', '\n'])
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let definition = format!("let {name} = ");
            let start = text
                .find(&definition)
                .unwrap_or_else(|| panic!("{file}: no methods for {path}"));
            let body_end = text[start..].find(";\n").expect("closure ends") + start;
            methods = methods_called(&text[start..body_end]);
        }
        assert!(!methods.is_empty(), "{file}: no methods for {path}");
        for method in methods {
            routes.insert((path.clone(), method.to_owned()));
        }
    }
    routes
}

fn routes_in_code() -> BTreeSet<(String, String)> {
    ROUTE_TABLES
        .iter()
        .flat_map(|(file, text)| routes_in_source(file, text))
        .collect()
}

fn routes_in_document(document: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if METHODS.contains(&method.as_str()) {
                routes.insert((path.clone(), method.clone()));
            }
        }
    }
    routes
}

#[test]
fn every_api_route_in_the_code_is_in_the_document_and_nothing_else_is() {
    let code = routes_in_code();
    let documented = routes_in_document(&document());
    assert!(code.len() >= 30, "the route tables were not read: {code:?}");
    let undocumented: Vec<_> = code.difference(&documented).collect();
    let missing_from_code: Vec<_> = documented.difference(&code).collect();
    assert!(
        undocumented.is_empty(),
        "routes served but not in openapi.json: {undocumented:?}"
    );
    assert!(
        missing_from_code.is_empty(),
        "routes in openapi.json that the server does not have: {missing_from_code:?}"
    );
}

#[test]
fn the_drift_check_notices_a_route_the_document_lacks() {
    let table = "Router::new().route(\"/orgs/{org_id}/secret-door\", get(open).delete(close))";
    let routes = routes_in_source("example.rs", table);
    let expected: BTreeSet<(String, String)> = [
        ("/orgs/{org_id}/secret-door".to_owned(), "delete".to_owned()),
        ("/orgs/{org_id}/secret-door".to_owned(), "get".to_owned()),
    ]
    .into();
    assert_eq!(routes, expected);
    assert!(routes.is_disjoint(&routes_in_document(&document())));
}

#[test]
fn every_path_parameter_is_declared_and_every_reference_resolves() {
    let document = document();
    for (path, item) in document["paths"].as_object().expect("paths") {
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, operation) in item.as_object().expect("path item") {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let declared: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .filter(|parameter| parameter["in"] == "path")
                        .filter_map(|parameter| parameter["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(in_path, declared, "{method} {path}: path parameters");
        }
    }
    let mut references = Vec::new();
    collect_references(&document, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        resolve(&document, &reference);
    }
}

fn collect_references(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                into.push(reference.clone());
            }
            map.values()
                .for_each(|inner| collect_references(inner, into));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|inner| collect_references(inner, into)),
        _ => {}
    }
}

fn resolve<'a>(document: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("only local references: {reference}"));
    document
        .pointer(pointer)
        .unwrap_or_else(|| panic!("unresolved reference {reference}"))
}

/// Checks `value` against `schema` for the subset of OpenAPI 3.0 schemas the document uses
/// (`$ref`, `allOf`, `anyOf`, `nullable`, `type`, `enum`, `properties`, `required`,
/// `additionalProperties: false`, `items`, `minimum`); problems are pushed with their JSON path.
pub(crate) fn validate(
    document: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    problems: &mut Vec<String>,
) {
    if let Some(reference) = schema["$ref"].as_str() {
        return validate(document, resolve(document, reference), value, at, problems);
    }
    if value.is_null() {
        if schema["nullable"] != true {
            problems.push(format!("{at}: null where the document does not allow it"));
        }
        return;
    }
    if let Some(any) = schema["anyOf"].as_array() {
        let matches = any.iter().any(|inner| {
            let mut inner_problems = Vec::new();
            validate(document, inner, value, at, &mut inner_problems);
            inner_problems.is_empty()
        });
        if !matches {
            problems.push(format!("{at}: {value} matches none of the anyOf schemas"));
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        for inner in all {
            validate(document, inner, value, at, problems);
        }
    }
    let type_ok = match schema["type"].as_str() {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some(other) => panic!("{at}: schema type {other} is not supported by this validator"),
    };
    if !type_ok {
        problems.push(format!("{at}: expected {}, got {value}", schema["type"]));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        problems.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let (Some(minimum), Some(number)) = (schema["minimum"].as_f64(), value.as_f64())
        && number < minimum
    {
        problems.push(format!("{at}: {number} is below {minimum}"));
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"].as_object();
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().expect("required names are strings");
            if !object.contains_key(name) {
                problems.push(format!("{at}: missing required field `{name}`"));
            }
        }
        for (name, inner) in object {
            match properties.and_then(|properties| properties.get(name)) {
                Some(property) => {
                    validate(document, property, inner, &format!("{at}.{name}"), problems)
                }
                None if schema["additionalProperties"] == false => {
                    problems.push(format!("{at}: field `{name}` is not in the document"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, inner) in array.iter().enumerate() {
            validate(document, items, inner, &format!("{at}[{index}]"), problems);
        }
    }
}

#[test]
fn the_validator_rejects_what_the_document_does_not_describe() {
    let document = document();
    let me = json!({"$ref": "#/components/schemas/Me"});
    let mut problems = Vec::new();
    validate(
        &document,
        &me,
        &json!({"person": {"id": "p", "email": "e", "display_name": 3},
                "organisation": {"id": "o", "name": "n", "platform": null},
                "auth": "password", "extra": true}),
        "$",
        &mut problems,
    );
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("person.display_name")));
    assert!(problems.iter().any(|p| p.contains("\"password\"")));
    assert!(problems.iter().any(|p| p.contains("`extra`")));
}

fn tenant(tenants: &[TenantInfo], name: &str) -> TenantInfo {
    tenants
        .iter()
        .find(|tenant| tenant.name.contains(name))
        .cloned()
        .expect("a demo tenant")
}

async fn save_credentials(app: &TestApp, org: OrgId, tenant: &TenantInfo) {
    let user = tenant
        .api_users
        .iter()
        .find(|user| user.active)
        .expect("an active API user");
    app.store
        .save_platform_credentials(
            org,
            None,
            CredentialsUpdate {
                platform: PlatformKind::Autotask,
                api_url: tenant.api_url.clone(),
                username: user.username.clone(),
                secret: Some(SecretString::from(user.secret.clone())),
                integration_code_override: None,
            },
        )
        .await
        .expect("credentials saved");
}

#[tokio::test]
async fn every_get_route_answers_a_documented_status_with_a_body_the_document_describes() {
    let app = TestApp::spawn().await;
    let document = document();

    let mut anonymous = app.browser();
    let served = anonymous.get("/api/v1/openapi.json").await;
    assert_eq!(served.status, 200, "served without authentication");
    assert_eq!(
        served.body, DOCUMENT,
        "the committed document, byte for byte"
    );
    assert!(
        served
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/json"))
    );

    // A live connection between the two organisations, with credentials and default mappings.
    let tenants = app.simulator.simulator().tenants();
    save_credentials(&app, app.alice.org.id, &tenant(&tenants, "Contoso")).await;
    save_credentials(&app, app.bob.org.id, &tenant(&tenants, "Northwind")).await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let org_id = app.alice.org.id.to_string();
    let created = alice
        .post_json(
            &format!("/api/v1/orgs/{org_id}/relationships"),
            &json!({"role": "source", "contract_name": "Contoso ⇄ Northwind"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let relationship_id = created.json()["relationship"]["id"]
        .as_str()
        .expect("relationship id")
        .to_owned();
    let code = created.json()["verification_code"]
        .as_str()
        .expect("code")
        .to_owned();
    let accepted = bob
        .post_json(
            &format!("/api/v1/orgs/{}/relationships/accept", app.bob.org.id),
            &json!({"code": code}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let base = format!("/api/v1/orgs/{org_id}/relationships/{relationship_id}");
    // Alice's side carries Northwind IT's tickets (its company in Contoso's demo tenant), so the
    // description preview has tickets to show.
    let configured = alice
        .put_json(
            &format!("{base}/configuration"),
            &json!({"receive": {"company": 31_000_101}}),
        )
        .await;
    assert_eq!(configured.status, 200, "{}", configured.body);
    let defaults = alice
        .post_json(&format!("{base}/mappings/defaults"), &json!({}))
        .await;
    assert!([200, 201].contains(&defaults.status), "{}", defaults.body);
    let mappings = alice.get(&format!("{base}/mappings")).await;
    let mapping_id = first_string_id(&mappings.json()).expect("a default mapping has an id");

    let mut checked = 0;
    let mut problems = Vec::new();
    let mut not_ok = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        let Some(operation) = item.get("get") else {
            continue;
        };
        let url = format!(
            "/api/v1{}",
            path.replace("{org_id}", &org_id)
                .replace("{id}", &relationship_id)
                .replace("{mapping_id}", &mapping_id)
        );
        let reply = alice.get(&url).await;
        checked += 1;
        // No sync has run on this connection, so there is no run to read (`sync.rs` checks a
        // real run's details against the document).
        let no_such_run = path.contains("{run_id}") && reply.status == 404;
        if reply.status != 200 && !no_such_run {
            not_ok.push(format!("GET {path}: {} {}", reply.status, reply.body));
        }
        let Some(response) = operation["responses"].get(reply.status.to_string()) else {
            problems.push(format!(
                "GET {path}: status {} is not documented: {}",
                reply.status, reply.body
            ));
            continue;
        };
        assert!(
            reply.status < 500,
            "GET {path}: server error {}",
            reply.body
        );
        let content_type = reply.header("content-type").unwrap_or_default();
        let Some(schema) = response["content"]["application/json"].get("schema") else {
            continue;
        };
        if !content_type.starts_with("application/json") {
            continue;
        }
        let body: Value = serde_json::from_str(&reply.body)
            .unwrap_or_else(|_| panic!("GET {path}: not JSON: {}", reply.body));
        validate(
            &document,
            schema,
            &body,
            &format!("GET {path} {}", reply.status),
            &mut problems,
        );
    }
    assert!(checked >= 12, "only {checked} GET routes were called");
    // Every GET works on a live, configured connection, so every success schema was exercised.
    assert!(not_ok.is_empty(), "{}", not_ok.join("\n"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Errors have the documented shape too.
    let unauthenticated = app.browser().get("/api/v1/me").await;
    assert_eq!(unauthenticated.status, 401);
    let mut error_problems = Vec::new();
    validate(
        &document,
        &json!({"$ref": "#/components/schemas/Error"}),
        &unauthenticated.json(),
        "401",
        &mut error_problems,
    );
    assert!(error_problems.is_empty(), "{error_problems:?}");
}

/// The `id` of the first mapping in a `GET …/mappings` body, wherever the list sits.
fn first_string_id(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => map
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| map.values().find_map(first_string_id)),
        Value::Array(items) => items.iter().find_map(first_string_id),
        _ => None,
    }
}
