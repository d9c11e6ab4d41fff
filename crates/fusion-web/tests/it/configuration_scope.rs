//! Privacy between relationships on the configuration screens: a side carries only tickets of the
//! company that represents the partner in its own tenant (`receive.company`). Every way of saving a
//! side — the page, `PUT …/configuration`, an imported file — refuses one that names another
//! company or turns reverse sync on without a company, and stores the company filters equal to
//! that company; the screens say the scope in words instead of offering a company choice.

use serde_json::{Value, json};

use crate::configuration::{Connected, choice_value};

/// A company code that is not the partner's (any code will do: the rule is about which company,
/// not whether it exists).
const ANOTHER_COMPANY: i64 = 987_654;

const NEEDS_COMPANY: &str = "reverse sync needs the company that represents your partner";
const SEND_FILTER_OTHER: &str =
    "The send filter can only send tickets of the company that represents your partner";
const REVERSE_OTHER: &str =
    "Reverse sync can only send tickets of the company that represents your partner";

/// Bob's (Northwind, Target) code for the company that represents Contoso in his tenant.
async fn bob_partner_company(
    connected: &Connected,
    browser: &mut crate::support::Browser,
) -> Value {
    let choices = browser
        .get(&connected.api(&connected.app.bob.org, "choices"))
        .await
        .json();
    choice_value(&choices, "company", "Contoso Manufacturing")
}

/// Alice's (Contoso, Source) code for the company that represents Northwind in her tenant.
async fn alice_partner_company(
    connected: &Connected,
    browser: &mut crate::support::Browser,
) -> String {
    let choices = browser
        .get(&connected.api(&connected.app.alice.org, "choices"))
        .await
        .json();
    choice_value(&choices, "company", "Northwind IT").to_string()
}

fn error_of(reply: &crate::support::Reply) -> Value {
    reply.json()["error"].clone()
}

#[tokio::test]
async fn the_api_refuses_a_side_outside_its_company_and_stores_filters_equal_to_it() {
    let connected = Connected::spawn().await;
    let bob = &connected.app.bob.org;
    let mut browser = connected.bob().await;
    let company = bob_partner_company(&connected, &mut browser).await;
    let path = connected.api(bob, "configuration");

    let no_company = browser
        .put_json(
            &path,
            &json!({"receive": {"queue": 29683355}, "reverse_sync": {"enabled": true}}),
        )
        .await;
    assert_eq!(no_company.status, 422, "{}", no_company.body);
    let error = error_of(&no_company);
    assert_eq!(error["code"], "outside_company_scope", "{error}");
    assert_eq!(error["field"], "reverse_sync.enabled", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains(NEEDS_COMPANY),
        "{error}"
    );

    let other = browser
        .put_json(
            &path,
            &json!({"receive": {"company": company},
                    "send": {"partner_company": ANOTHER_COMPANY},
                    "reverse_sync": {"enabled": true, "company": ANOTHER_COMPANY}}),
        )
        .await;
    assert_eq!(other.status, 422, "{}", other.body);
    let error = error_of(&other);
    assert_eq!(error["field"], "reverse_sync.company", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(SEND_FILTER_OTHER), "{error}");
    assert!(message.contains(REVERSE_OTHER), "{error}");
    assert!(message.contains(&ANOTHER_COMPANY.to_string()), "{error}");

    let refused = browser.get(&path).await.json();
    assert_eq!(refused["saved"], false, "nothing was saved: {refused}");

    let saved = browser
        .put_json(
            &path,
            &json!({"receive": {"company": company}, "reverse_sync": {"enabled": true}}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let stored = browser.get(&path).await.json();
    assert_eq!(stored["config"]["send"]["partner_company"], company);
    assert_eq!(stored["config"]["reverse_sync"]["company"], company);
    assert_eq!(stored["config"]["reverse_sync"]["enabled"], true);
    connected.stop().await;
}

#[tokio::test]
async fn the_page_refuses_a_side_outside_its_company_keeping_what_was_entered() {
    let connected = Connected::spawn().await;
    let alice = &connected.app.alice.org;
    let mut browser = connected.alice().await;
    let company = alice_partner_company(&connected, &mut browser).await;
    let page = connected.page(alice, "configuration");

    let no_company = browser
        .submit_form(
            &page,
            &[
                ("queue", "30100002"),
                ("reverse_enabled", "on"),
                ("public_comments", "on"),
            ],
        )
        .await;
    assert_eq!(no_company.status, 422, "{}", no_company.body);
    assert!(no_company.body.contains("Not saved"), "{}", no_company.body);
    assert!(
        no_company
            .body
            .contains("Reverse sync needs the company that represents your partner"),
        "{}",
        no_company.body
    );
    assert!(
        no_company
            .body
            .contains("<option value=\"30100002\" selected>Escalations</option>"),
        "the form keeps what was entered: {}",
        no_company.body
    );
    assert!(
        no_company.body.contains(
            "id=\"reverse_enabled\" name=\"reverse_enabled\" type=\"checkbox\" value=\"on\" checked"
        ),
        "{}",
        no_company.body
    );

    // A form from before the company choice went away (or a hand-made post) naming another
    // company is refused too, never narrowed silently.
    let another = ANOTHER_COMPANY.to_string();
    let other = browser
        .submit_form(
            &page,
            &[("company", &company), ("send_partner_company", &another)],
        )
        .await;
    assert_eq!(other.status, 422, "{}", other.body);
    assert!(other.body.contains(SEND_FILTER_OTHER), "{}", other.body);

    let config = browser
        .get(&connected.api(alice, "configuration"))
        .await
        .json();
    assert_eq!(config["saved"], false, "nothing was saved: {config}");

    let saved = browser
        .submit_form(&page, &[("company", &company), ("reverse_enabled", "on")])
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.body.contains("Saved"), "{}", saved.body);
    let config = browser
        .get(&connected.api(alice, "configuration"))
        .await
        .json();
    assert_eq!(
        config["config"]["send"]["partner_company"].to_string(),
        company
    );
    assert_eq!(
        config["config"]["reverse_sync"]["company"].to_string(),
        company
    );
    connected.stop().await;
}

#[tokio::test]
async fn an_import_outside_its_company_is_refused_naming_the_key_and_changes_nothing() {
    let connected = Connected::spawn().await;
    let bob = &connected.app.bob.org;
    let mut browser = connected.bob().await;
    let company = bob_partner_company(&connected, &mut browser).await;
    let import = connected.api(bob, "import");

    let cases = [
        (
            "version = 1\n[side]\nrole = \"target\"\n[side.reverse_sync]\nenabled = true\n"
                .to_owned(),
            "side.reverse_sync.enabled",
            NEEDS_COMPANY,
        ),
        (
            format!(
                "version = 1\n[side]\nrole = \"target\"\n[side.receive]\ncompany = {company}\n\
                 [side.send]\npartner_company = {ANOTHER_COMPANY}\n"
            ),
            "side.send.partner_company",
            SEND_FILTER_OTHER,
        ),
        (
            format!(
                "version = 1\n[side]\nrole = \"target\"\n[side.receive]\ncompany = {company}\n\
                 [side.reverse_sync]\nenabled = true\ncompany = {ANOTHER_COMPANY}\n"
            ),
            "side.reverse_sync.company",
            REVERSE_OTHER,
        ),
    ];
    for (text, field, message) in cases {
        let refused = connected
            .post_text(&mut browser, &import, "application/toml", &text)
            .await;
        assert_eq!(refused.status, 422, "{text}: {}", refused.body);
        let error = error_of(&refused);
        assert_eq!(error["code"], "invalid_file", "{error}");
        assert_eq!(error["field"], field, "{error}");
        let said = error["message"].as_str().unwrap();
        assert!(said.contains(message), "{error}");
        assert!(said.contains(&format!("field `{field}`")), "{error}");
    }
    let json_file = json!({"version": 1, "side": {"role": "target",
        "reverse_sync": {"enabled": true}}});
    let refused = connected
        .post_text(
            &mut browser,
            &import,
            "application/json",
            &json_file.to_string(),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let config = browser
        .get(&connected.api(bob, "configuration"))
        .await
        .json();
    assert_eq!(config["saved"], false, "nothing was changed: {config}");

    let good = format!(
        "version = 1\n[side]\nrole = \"target\"\n[side.receive]\ncompany = {company}\n\
         [side.reverse_sync]\nenabled = true\n"
    );
    let imported = connected
        .post_text(&mut browser, &import, "application/toml", &good)
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    let config = browser
        .get(&connected.api(bob, "configuration"))
        .await
        .json();
    assert_eq!(config["config"]["send"]["partner_company"], company);
    assert_eq!(config["config"]["reverse_sync"]["company"], company);
    connected.stop().await;
}

#[tokio::test]
async fn the_configuration_page_says_which_company_each_side_carries_instead_of_offering_one() {
    let connected = Connected::spawn().await;
    let (alice, bob) = (&connected.app.alice.org, &connected.app.bob.org);
    let mut browser = connected.alice().await;
    let page = connected.page(alice, "configuration");

    let before = browser.get(&page).await;
    assert_eq!(before.status, 200, "{}", before.body);
    for gone in ["name=\"send_partner_company\"", "name=\"reverse_company\""] {
        assert!(!before.body.contains(gone), "{gone} is still offered");
    }
    assert!(before.body.contains("Your side:"), "{}", before.body);
    assert!(
        before
            .body
            .contains("No tickets are sent to Northwind IT until you choose the company"),
        "{}",
        before.body
    );
    assert!(
        before
            .body
            .contains("No tickets come from Northwind IT until they choose the company"),
        "{}",
        before.body
    );

    let company = alice_partner_company(&connected, &mut browser).await;
    let saved = browser
        .submit_form(&page, &[("company", &company), ("reverse_enabled", "on")])
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let sentence =
        "Only tickets of Northwind IT are sent to Northwind IT, and only they are kept in step";
    assert_eq!(
        saved.body.matches(sentence).count(),
        3,
        "at the top, under Tickets you send and under Reverse sync: {}",
        saved.body
    );

    let mut bob_browser = connected.bob().await;
    let bob_company = bob_partner_company(&connected, &mut bob_browser).await;
    let bob_saved = bob_browser
        .put_json(
            &connected.api(bob, "configuration"),
            &json!({"receive": {"company": bob_company}}),
        )
        .await;
    assert_eq!(bob_saved.status, 200, "{}", bob_saved.body);
    let after = browser.get(&page).await;
    assert!(
        after.body.contains(&format!(
            "Only tickets of company {bob_company} in Northwind IT"
        )),
        "{}",
        after.body
    );
    let bob_page = bob_browser.get(&connected.page(bob, "configuration")).await;
    assert!(
        bob_page.body.contains(
            "Only tickets of Contoso Manufacturing are sent to Contoso Manufacturing, and only they are kept in step"
        ),
        "{}",
        bob_page.body
    );
    connected.stop().await;
}

#[tokio::test]
async fn the_exported_file_says_the_scope_in_words_and_import_ignores_those_words() {
    let connected = Connected::spawn().await;
    let bob = &connected.app.bob.org;
    let mut browser = connected.bob().await;
    let company = bob_partner_company(&connected, &mut browser).await;
    let saved = browser
        .put_json(
            &connected.api(bob, "configuration"),
            &json!({"receive": {"company": company, "queue": 29683355},
                    "reverse_sync": {"enabled": true}}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let sentence = "Only tickets of Contoso Manufacturing are sent to Contoso Manufacturing, and only they are kept in step";

    let toml_text = browser.get(&connected.api(bob, "export")).await.body;
    assert!(
        toml_text.contains(&format!("scope = \"{sentence}")),
        "{toml_text}"
    );
    let json_file = browser
        .get(&connected.api(bob, "export?format=json"))
        .await
        .json();
    assert!(
        json_file["scope"].as_str().unwrap().starts_with(sentence),
        "{json_file}"
    );
    let before = browser
        .get(&connected.api(bob, "configuration"))
        .await
        .json();

    // Words edited by hand change nothing: the company is `receive.company`.
    let edited = toml_text.replace(sentence, "Every company's tickets are sent");
    let imported = connected
        .post_text(
            &mut browser,
            &connected.api(bob, "import"),
            "application/toml",
            &edited,
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    let after = browser
        .get(&connected.api(bob, "configuration"))
        .await
        .json();
    assert_eq!(after["config"], before["config"]);
    assert_eq!(after["config"]["send"]["partner_company"], company);
    connected.stop().await;
}
