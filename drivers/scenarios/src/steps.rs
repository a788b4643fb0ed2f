//! The protocol's candidate steps, each leading to the server in turn.

use std::time::Instant;

use autodiscover::{AttemptResult, Flavor, Step, TransportError};
use autodiscover_testworld::{Reply, Response, Routes, Srv};

use crate::world::{
    expect_discovery, pox_settings, soap_settings, xml_response, Setup, EWS_URL, POX_PATH,
    SOAP_PATH,
};
use crate::{DriverUnderTest, REQUEST_TIMEOUT};

pub(crate) fn step_one_answers_soap(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    let server = setup.soap(&["example.com"], soap_settings());

    let discovery = expect_discovery(driver.discover(&setup.run("alice@example.com")));

    assert_eq!(
        discovery.ews_url.as_ref().map(|url| url.as_str()),
        Some(EWS_URL)
    );
    assert_eq!(discovery.step, Step::Domain);
    assert_eq!(discovery.flavor, Flavor::Soap);
    assert_eq!(
        discovery.endpoint.as_str(),
        "https://example.com/autodiscover/autodiscover.svc"
    );
    assert_eq!(
        discovery.display_name.as_deref(),
        Some("Alice Ångström-Ñúñez & Co")
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "requests: {requests:#?}");
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path(), SOAP_PATH);
    assert!(request.tls);
    assert_eq!(request.sni.as_deref(), Some("example.com"));
    assert_eq!(request.host(), Some("example.com"));
    let content_type = request.header("Content-Type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/xml"),
        "Content-Type {content_type:?}"
    );
    assert!(request.has_header("SOAPAction"), "no SOAPAction header");
    let body = String::from_utf8_lossy(&request.body);
    assert!(body.contains("alice@example.com"), "body: {body}");
    assert!(
        body.contains("GetUserSettingsRequestMessage"),
        "body: {body}"
    );
}

pub(crate) fn step_one_answers_pox(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    let server = setup.https(
        &["example.com"],
        Routes::new().route("POST", POX_PATH, xml_response(pox_settings())),
    );
    let mut run = setup.run("alice@example.com");
    run.flavor = Flavor::Pox;

    let discovery = expect_discovery(driver.discover(&run));

    assert_eq!(
        discovery.ews_url.as_ref().map(|url| url.as_str()),
        Some(EWS_URL)
    );
    assert_eq!(discovery.flavor, Flavor::Pox);
    assert_eq!(discovery.step, Step::Domain);
    assert_eq!(discovery.smtp_address, "alice@example.com");

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "requests: {requests:#?}");
    assert_eq!(requests[0].path(), POX_PATH);
    assert!(
        !requests[0].has_header("SOAPAction"),
        "a POX request carried SOAPAction"
    );
    let body = String::from_utf8_lossy(&requests[0].body);
    assert!(
        body.contains("<EMailAddress>alice@example.com</EMailAddress>"),
        "body: {body}"
    );
}

pub(crate) fn step_one_refused_step_two_answers(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    setup.refuse("example.com", &[443]);
    let server = setup.soap(&["autodiscover.example.com"], soap_settings());

    let discovery = expect_discovery(driver.discover(&setup.run("alice@example.com")));

    assert_eq!(discovery.step, Step::AutodiscoverHost);
    assert_eq!(
        discovery.endpoint.as_str(),
        "https://autodiscover.example.com/autodiscover/autodiscover.svc"
    );
    let refused = discovery
        .trace
        .iter()
        .find(|attempt| attempt.step == Step::Domain)
        .expect("the trace has no step 1 attempt");
    assert_eq!(
        refused.result,
        AttemptResult::Transport(TransportError::ConnectionRefused)
    );
    assert_eq!(server.request_count(), 1);
}

pub(crate) fn black_hole_parallel_finds_step_two(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    let black_hole = setup.https(&["example.com"], Reply::BlackHole);
    let server = setup.soap(&["autodiscover.example.com"], soap_settings());

    let started = Instant::now();
    let discovery = expect_discovery(driver.discover(&setup.run("alice@example.com")));
    let elapsed = started.elapsed();

    assert_eq!(discovery.step, Step::AutodiscoverHost);
    assert_eq!(black_hole.request_count(), 1, "step 1 was not asked");
    assert_eq!(server.request_count(), 1);
    // Step 2 starts one stagger after step 1 and responds in one round trip. Its settings are
    // taken one grace period later, because step 1 is still open. That stays well below the
    // request timeout that the sequential strategy would wait for step 1.
    println!("black hole: step 2 found after {elapsed:?}");
    assert!(
        elapsed < REQUEST_TIMEOUT,
        "step 2 took {elapsed:?}, not less than the request timeout {REQUEST_TIMEOUT:?}"
    );
}

pub(crate) fn http_redirect_leads_to_https_host(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    setup.refuse("autodiscover.example.com", &[443]);
    let redirector = setup.http(
        &["autodiscover.example.com"],
        Routes::new().route(
            "GET",
            POX_PATH,
            Response::redirect(
                302,
                "https://mail.hosted.example.net/autodiscover/autodiscover.xml",
            ),
        ),
    );
    let server = setup.soap(&["mail.hosted.example.net"], soap_settings());
    let mut run = setup.run("alice@example.com");
    run.config = run.config.trust_host("mail.hosted.example.net");

    let discovery = expect_discovery(driver.discover(&run));

    assert_eq!(discovery.step, Step::HttpRedirect);
    assert_eq!(
        discovery.endpoint.as_str(),
        "https://mail.hosted.example.net/autodiscover/autodiscover.svc"
    );
    let probes = redirector.requests();
    assert_eq!(probes.len(), 1, "probes: {probes:#?}");
    assert_eq!(probes[0].method, "GET");
    assert!(!probes[0].tls);
    assert_eq!(server.request_count(), 1);
}

pub(crate) fn srv_record_only(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    setup.world.dns().set_srv(
        "_autodiscover._tcp.example.com",
        vec![Srv::new(0, 0, 443, "mail.hosted.example.net")],
    );
    let server = setup.soap(&["mail.hosted.example.net"], soap_settings());

    let discovery = expect_discovery(driver.discover(&setup.run("alice@example.com")));

    assert_eq!(discovery.step, Step::Srv);
    assert_eq!(
        discovery.endpoint.as_str(),
        "https://mail.hosted.example.net/autodiscover/autodiscover.svc"
    );
    assert_eq!(server.request_count(), 1);
    for step in [Step::Domain, Step::AutodiscoverHost, Step::HttpRedirect] {
        let attempt = discovery
            .trace
            .iter()
            .find(|attempt| attempt.step == step)
            .unwrap_or_else(|| panic!("the trace has no attempt of {step}"));
        assert!(
            matches!(attempt.result, AttemptResult::DnsFailed(_)),
            "{step}: {}",
            attempt.result
        );
    }
}
