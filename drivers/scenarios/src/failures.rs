//! Candidates that fail: refused everywhere, rejected credentials, oversized bodies and
//! certificates for another host.

use std::io::Write;
use std::time::Instant;

use autodiscover::{AttemptResult, Error, Step, TransportError};
use autodiscover_testworld::{Body, Reply, Response, Routes, Srv};
use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::world::{
    authorizations, expect_discovery, expect_error, soap_settings, xml_response, Setup, SOAP_PATH,
};
use crate::{DriverUnderTest, TestCredentials, REQUEST_TIMEOUT};

/// Size of the oversized bodies, far above the default 1 MiB limit.
const HUGE_BODY_BYTES: u64 = 50 * 1000 * 1000;

/// Decoded size of the gzip bomb. It is smaller than the 50 MB body because compressing it
/// in an unoptimised test build costs time; 16 MiB is still 16 times the limit.
const BOMB_BYTES: usize = 16 * 1024 * 1024;

pub(crate) fn nothing_answers_lists_candidates(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    setup.refuse("example.com", &[443]);
    setup.refuse("autodiscover.example.com", &[443, 80]);

    let error = expect_error(driver.discover(&setup.run("alice@example.com")));

    assert!(
        matches!(error, Error::NotFound { .. }),
        "expected not found, got: {error}"
    );
    let message = error.to_string();
    for target in [
        "https://example.com/autodiscover/autodiscover.svc",
        "https://autodiscover.example.com/autodiscover/autodiscover.svc",
        "http://autodiscover.example.com/autodiscover/autodiscover.xml",
        "_autodiscover._tcp.example.com",
    ] {
        assert!(
            message.contains(target),
            "the error does not name {target}: {message}"
        );
    }
    for step in [
        Step::Domain,
        Step::AutodiscoverHost,
        Step::HttpRedirect,
        Step::Srv,
    ] {
        assert!(
            error.trace().iter().any(|attempt| attempt.step == step),
            "the trace has no attempt of {step}: {message}"
        );
    }
}

pub(crate) fn all_endpoints_reject_credentials(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    let challenge = || {
        Response::new(401)
            .header("WWW-Authenticate", "Negotiate")
            .header("WWW-Authenticate", "Basic realm=\"example.com\"")
    };
    let domain = setup.https(&["example.com"], challenge());
    let autodiscover = setup.https(&["autodiscover.example.com"], challenge());
    let probe = setup.http(&["autodiscover.example.com"], challenge());
    let mut run = setup.run("alice@example.com");
    run.credentials = TestCredentials::Basic {
        username: "alice@example.com".to_owned(),
        password: "correct horse".to_owned(),
    };

    let error = expect_error(driver.discover(&run));

    let Error::CredentialsRejected { challenges, .. } = &error else {
        panic!("expected rejected credentials, got: {error}");
    };
    let urls: Vec<&str> = challenges
        .iter()
        .map(|challenge| challenge.url.as_str())
        .collect();
    assert!(
        urls.contains(&"https://example.com/autodiscover/autodiscover.svc"),
        "{urls:?}"
    );
    assert!(
        urls.contains(&"https://autodiscover.example.com/autodiscover/autodiscover.svc"),
        "{urls:?}"
    );
    let message = error.to_string();
    assert!(message.contains("credentials rejected"), "{message}");

    // Each https endpoint first got the request without credentials, then once with Basic.
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice@example.com:correct horse")
    );
    for server in [&domain, &autodiscover] {
        assert_eq!(
            authorizations(server),
            vec![None, Some(expected.clone())],
            "Basic must follow the challenge, once"
        );
        assert!(server.requests().iter().all(|request| request.tls));
    }
    // The plain-http probe never carries credentials.
    let probes = probe.requests();
    assert!(!probes.is_empty(), "step 3 did not probe");
    for request in &probes {
        assert!(
            !request.has_header("Authorization"),
            "credentials over plain http"
        );
    }
}

pub(crate) fn huge_body_cut_at_limit(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    setup.https(&["example.com"], Reply::large(HUGE_BODY_BYTES));
    setup.https(
        &["autodiscover.example.com"],
        Response::new(200)
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(Body::Endless {
                prefix: b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n".to_vec(),
            }),
    );
    setup.world.dns().set_srv(
        "_autodiscover._tcp.example.com",
        vec![Srv::new(0, 0, 443, "mail.hosted.example.net")],
    );
    setup.soap(&["mail.hosted.example.net"], soap_settings());
    let run = setup.run("alice@example.com");
    let limit = run.config.max_response_bytes;

    let started = Instant::now();
    let discovery = expect_discovery(driver.discover(&run));
    let elapsed = started.elapsed();

    assert_eq!(discovery.step, Step::Srv);
    for step in [Step::Domain, Step::AutodiscoverHost] {
        let attempt = discovery
            .trace
            .iter()
            .find(|attempt| attempt.step == step)
            .unwrap_or_else(|| panic!("the trace has no attempt of {step}"));
        assert_eq!(
            attempt.result,
            AttemptResult::Transport(TransportError::BodyTooLarge { limit }),
            "{step}"
        );
    }
    assert!(
        elapsed < REQUEST_TIMEOUT,
        "cutting the bodies took {elapsed:?}"
    );
}

pub(crate) fn gzip_bomb_cut_at_limit(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    let bomb = gzip(&vec![b' '; BOMB_BYTES]);
    setup.https(
        &["example.com"],
        Routes::new().route(
            "POST",
            SOAP_PATH,
            xml_response(bomb).header("Content-Encoding", "gzip"),
        ),
    );
    setup.https(
        &["autodiscover.example.com"],
        Routes::new().route(
            "POST",
            SOAP_PATH,
            xml_response(gzip(soap_settings().as_bytes())).header("Content-Encoding", "gzip"),
        ),
    );
    let run = setup.run("alice@example.com");
    let limit = run.config.max_response_bytes;

    let discovery = expect_discovery(driver.discover(&run));

    assert_eq!(
        discovery.step,
        Step::AutodiscoverHost,
        "the gzip answer was not decoded"
    );
    let bombed = discovery
        .trace
        .iter()
        .find(|attempt| attempt.step == Step::Domain)
        .expect("the trace has no step 1 attempt");
    assert_eq!(
        bombed.result,
        AttemptResult::Transport(TransportError::BodyTooLarge { limit })
    );
}

pub(crate) fn wrong_host_certificate_fails(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    let cert = setup
        .world
        .ca()
        .issue(&["wrong.example.net"])
        .expect("failed to issue a certificate");
    let impostor = setup
        .world
        .https_with_cert(&["example.com"], &cert, xml_response(soap_settings()))
        .expect("failed to start the impostor");
    setup.soap(&["autodiscover.example.com"], soap_settings());

    let discovery = expect_discovery(driver.discover(&setup.run("alice@example.com")));

    assert_eq!(discovery.step, Step::AutodiscoverHost);
    let failed = discovery
        .trace
        .iter()
        .find(|attempt| attempt.step == Step::Domain)
        .expect("the trace has no step 1 attempt");
    assert!(
        matches!(
            failed.result,
            AttemptResult::Transport(TransportError::Tls(_))
        ),
        "step 1: {}",
        failed.result
    );
    assert!(impostor.connection_count() >= 1, "step 1 never connected");
    assert_eq!(
        impostor.request_count(),
        0,
        "a request crossed a failed handshake"
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}
