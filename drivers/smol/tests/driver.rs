//! Tests of what the smol driver does beyond the shared scenarios: keep-alive, recording to a
//! file, setup errors and `Send` futures.

mod common;

use std::path::PathBuf;

use autodiscover_scenarios::world::{soap_settings, xml_response, Setup};
use autodiscover_smol::{CacheChoice, Client, Credentials, Error, Options};
use autodiscover_testworld::{Handler, RecordedRequest, Reply};

use common::{basic_protected, options};

const PASSWORD: &str = "retry-secret-91b2";

#[test]
fn basic_retry_reuses_connection() {
    let setup = Setup::new();
    let server = setup.https(&["example.com"], basic_protected());
    let run = setup.run("alice@example.com");
    let client =
        Client::new(options(&run).credentials(Credentials::basic("alice@example.com", PASSWORD)))
            .expect("client");

    let discovery = smol::block_on(client.discover("alice@example.com")).expect("discovery");

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "requests: {requests:#?}");
    assert_eq!(
        requests[1].index_on_connection, 1,
        "the retry opened a new connection"
    );
    assert_eq!(server.connection_count(), 1);
    assert_eq!(
        discovery.endpoint.as_str(),
        "https://example.com/autodiscover/autodiscover.svc"
    );
}

#[test]
fn basic_up_front_skips_challenge() {
    let setup = Setup::new();
    let server = setup.https(&["example.com"], basic_protected());
    let run = setup.run("alice@example.com");
    let client = Client::new(
        options(&run)
            .credentials(Credentials::basic("alice@example.com", PASSWORD))
            .basic_up_front(true),
    )
    .expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("discovery");

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "requests: {requests:#?}");
    let authorization = requests[0].header("Authorization").unwrap_or_default();
    assert!(
        authorization.starts_with("Basic "),
        "Authorization {authorization:?}"
    );
}

#[test]
fn requested_settings_reach_the_body() {
    let setup = Setup::new();
    let server = setup.soap(&["example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let client =
        Client::new(options(&run).settings(["ExternalEwsUrl", "UserDisplayName"])).expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("discovery");

    let body = String::from_utf8_lossy(&server.requests()[0].body).into_owned();
    assert!(
        body.contains("<a:Setting>ExternalEwsUrl</a:Setting>"),
        "body: {body}"
    );
    assert!(
        body.contains("<a:Setting>UserDisplayName</a:Setting>"),
        "body: {body}"
    );
    assert!(!body.contains("InternalEwsUrl"), "body: {body}");
}

#[test]
fn unknown_setting_is_discovery_error() {
    let setup = Setup::new();
    let run = setup.run("alice@example.com");
    let client = Client::new(options(&run).settings(["NoSuchSetting"])).expect("client");

    let error = smol::block_on(client.discover("alice@example.com")).expect_err("unknown name");

    assert!(
        matches!(
            error.discovery(),
            Some(autodiscover::Error::UnknownSetting { .. })
        ),
        "{error}"
    );
}

#[test]
fn second_discovery_reuses_connection() {
    let setup = Setup::new();
    let server = setup.soap(&["example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let client = Client::new(options(&run)).expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("first discovery");
    assert_eq!(client.idle_connections(), 1);
    smol::block_on(client.discover("bob@example.com")).expect("second discovery");

    assert_eq!(server.request_count(), 2);
    assert_eq!(
        server.connection_count(),
        1,
        "the second discovery opened a new connection"
    );

    client.close();
    assert_eq!(client.idle_connections(), 0);
    smol::block_on(client.discover("carol@example.com")).expect("discovery after close");
    assert_eq!(server.connection_count(), 2);
}

#[test]
fn idle_connection_closed_by_server_is_replaced() {
    let setup = Setup::new();
    // The second request on any connection gets no response and the connection closes, as
    // when a server closes a keep-alive connection just as the client reuses it.
    let server = setup.https(
        &["example.com"],
        Handler::new(|request: &RecordedRequest| {
            if request.index_on_connection > 0 {
                Reply::Close
            } else {
                xml_response(soap_settings()).into()
            }
        }),
    );
    let run = setup.run("alice@example.com");
    let client = Client::new(options(&run)).expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("first discovery");
    let discovery = smol::block_on(client.discover("alice@example.com"))
        .expect("the second discovery must retry on a new connection");

    assert_eq!(discovery.step, autodiscover::Step::Domain);
    assert_eq!(server.connection_count(), 2);
    assert_eq!(server.request_count(), 3);
}

#[test]
fn record_to_writes_transcript() {
    let setup = Setup::new();
    setup.soap(&["example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let path = temp_path("transcript.txt");
    let client = Client::new(options(&run).record_to(&path)).expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("discovery");

    let text = std::fs::read_to_string(&path).expect("the transcript file");
    std::fs::remove_file(&path).expect("remove the transcript");
    assert!(text.contains("email alice@example.com"), "{text}");
    assert!(
        text.contains("POST https://example.com/autodiscover/autodiscover.svc"),
        "{text}"
    );
    assert!(text.contains("expect step 1"), "{text}");
}

#[test]
fn missing_ca_file_is_setup_error() {
    let error = Client::new(Options::new().ca_file("/nonexistent/autodiscover-ca.pem"))
        .expect_err("the CA file does not exist");
    assert!(matches!(error, Error::CaFile { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("/nonexistent/autodiscover-ca.pem"),
        "{error}"
    );
}

#[test]
fn unspecified_nameserver_is_setup_error() {
    let error = Client::new(
        Options::new()
            .nameserver("0.0.0.0:53".parse().unwrap())
            .cache(CacheChoice::None),
    )
    .expect_err("0.0.0.0 is no server");
    assert!(matches!(error, Error::InvalidNameserver { .. }), "{error}");
}

#[test]
fn invalid_email_is_discovery_error() {
    let setup = Setup::new();
    let run = setup.run("alice@example.com");
    let client = Client::new(options(&run)).expect("client");
    let error = smol::block_on(client.discover("not-an-address")).expect_err("no @");
    let Some(autodiscover::Error::InvalidEmail { address, .. }) = error.discovery() else {
        panic!("expected an invalid email error, got: {error}");
    };
    assert_eq!(address, "not-an-address");
}

#[test]
fn client_and_discovery_are_send() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: T) {}

    let client = Client::new(
        Options::new()
            .cache(CacheChoice::None)
            .nameserver("127.0.0.1:53".parse().unwrap()),
    )
    .expect("client");
    assert_send_sync(&client);
    // A discovery can be spawned on a multi-threaded executor.
    assert_send(client.discover("alice@example.com"));
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("autodiscover-smol-{}-{name}", std::process::id()))
}
