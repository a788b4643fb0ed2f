//! Checks that no credential reaches the logs, even at trace level. This file contains one
//! test so that it can install the process's global subscriber.

mod common;

use autodiscover_scenarios::world::{soap_settings, Setup};
use autodiscover_smol::{Client, Credentials};
use base64::Engine as _;

use common::{basic_protected, options, SharedBuffer, SESSION_COOKIE};

const PASSWORD: &str = "log-check-secret-91b2";
const TOKEN: &str = "log-check-token-5e0a";

#[test]
fn logs_contain_no_credentials() {
    let setup = Setup::new();
    setup.https(&["example.com"], basic_protected());
    let bearer_server = setup.soap(&["example.org"], soap_settings());
    let run = setup.run("alice@example.com");
    let logs = SharedBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();

    // The global default, not a scoped one: with `tracing::subscriber::with_default`, this
    // test missed trace events now and then while other tests ran on other threads.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let basic =
        Client::new(options(&run).credentials(Credentials::basic("alice@example.com", PASSWORD)))
            .expect("client");
    smol::block_on(basic.discover("alice@example.com")).expect("Basic discovery");

    let bearer =
        Client::new(options(&run).credentials(Credentials::bearer(TOKEN))).expect("client");
    smol::block_on(bearer.discover("alice@example.org")).expect("bearer discovery");

    assert_eq!(
        bearer_server.requests()[0].header("Authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let text = logs.text();
    assert!(
        text.contains("[redacted]"),
        "the request headers were not logged at trace level"
    );
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("alice@example.com:{PASSWORD}"));
    for secret in [PASSWORD, TOKEN, encoded.as_str(), SESSION_COOKIE] {
        assert!(!text.contains(secret), "the logs contain {secret:?}");
    }
}
