//! Address and URL redirects, and where credentials may follow them.

use autodiscover::{Error, Redirect, Step};
use autodiscover_testworld::{Response, Routes};

use crate::world::{
    authorizations, expect_discovery, expect_error, soap_redirect_address, soap_redirect_url,
    soap_settings, xml_response, Setup, EWS_URL, POX_PATH, SOAP_PATH,
};
use crate::{DriverUnderTest, TestCredentials};

const TOKEN: &str = "scenario-token-4f9c";

pub(crate) fn email_redirect_to_other_domain(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    let first = setup.soap(&["example.com"], soap_redirect_address("alice@example.org"));
    let second = setup.soap(&["example.org"], soap_settings());

    let discovery = expect_discovery(driver.discover(&setup.run("alice@example.com")));

    assert_eq!(
        discovery.ews_url.as_ref().map(|url| url.as_str()),
        Some(EWS_URL)
    );
    assert_eq!(
        discovery.redirected_email.as_deref(),
        Some("alice@example.org")
    );
    assert_eq!(
        discovery.endpoint.as_str(),
        "https://example.org/autodiscover/autodiscover.svc"
    );
    assert!(
        discovery.redirects.contains(&Redirect::Address {
            from: "alice@example.com".to_owned(),
            to: "alice@example.org".to_owned(),
        }),
        "redirects: {:?}",
        discovery.redirects
    );
    assert_eq!(first.request_count(), 1);
    let asked = second.requests();
    assert_eq!(asked.len(), 1, "requests to example.org: {asked:#?}");
    let body = String::from_utf8_lossy(&asked[0].body);
    assert!(
        body.contains("alice@example.org"),
        "the redirected request asked: {body}"
    );
}

pub(crate) fn circular_email_redirect(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    setup.soap(&["example.com"], soap_redirect_address("alice@example.org"));
    setup.soap(&["example.org"], soap_redirect_address("alice@example.com"));

    let error = expect_error(driver.discover(&setup.run("alice@example.com")));

    let Error::RedirectLoop { addresses, .. } = &error else {
        panic!("expected a redirect loop, got: {error}");
    };
    assert_eq!(
        addresses,
        &[
            "alice@example.com",
            "alice@example.org",
            "alice@example.com"
        ]
    );
    let message = error.to_string();
    assert!(message.contains("circular address redirect"), "{message}");
}

pub(crate) fn untrusted_redirect_gets_no_credentials(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    let target = "https://mail.untrusted.example.net/autodiscover/autodiscover.svc";
    let trusted = setup.soap(&["example.com"], soap_redirect_url(target));
    let untrusted = setup.https(
        &["mail.untrusted.example.net"],
        Response::new(401).header("WWW-Authenticate", "Bearer realm=\"untrusted\""),
    );
    let mut run = setup.run("alice@example.com");
    run.credentials = TestCredentials::Bearer {
        token: TOKEN.to_owned(),
    };

    let error = expect_error(driver.discover(&run));

    let Error::UntrustedHost { host, .. } = &error else {
        panic!("expected an untrusted host error, got: {error}");
    };
    assert_eq!(host, "mail.untrusted.example.net");

    let sent = trusted.requests();
    assert_eq!(sent.len(), 1, "requests to example.com: {sent:#?}");
    assert_eq!(
        sent[0].header("Authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the trusted host did not get the token"
    );
    assert_eq!(sent[0].header("X-AnchorMailbox"), Some("alice@example.com"));

    let leaked = untrusted.requests();
    assert!(!leaked.is_empty(), "the redirect was not followed");
    for request in &leaked {
        assert!(
            !request.has_header("Authorization"),
            "credentials sent to the untrusted host"
        );
        assert!(
            !request.has_header("X-AnchorMailbox"),
            "X-AnchorMailbox sent to the untrusted host"
        );
    }
}

pub(crate) fn http_get_has_no_authorization(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    setup.refuse("autodiscover.example.com", &[443]);
    let redirector = setup.http(
        &["autodiscover.example.com"],
        Routes::new().route(
            "GET",
            POX_PATH,
            Response::redirect(
                302,
                "https://mail.example.com/autodiscover/autodiscover.xml",
            ),
        ),
    );
    let server = setup.https(
        &["mail.example.com"],
        Routes::new().route("POST", SOAP_PATH, xml_response(soap_settings())),
    );
    let mut run = setup.run("alice@example.com");
    run.credentials = TestCredentials::Bearer {
        token: TOKEN.to_owned(),
    };

    let discovery = expect_discovery(driver.discover(&run));

    assert_eq!(discovery.step, Step::HttpRedirect);
    let probes = redirector.requests();
    assert_eq!(probes.len(), 1, "probes: {probes:#?}");
    assert!(
        !probes[0].has_header("Authorization"),
        "credentials on the http GET"
    );
    assert!(
        !probes[0].has_header("X-AnchorMailbox"),
        "X-AnchorMailbox on the http GET"
    );
    assert_eq!(
        authorizations(&server),
        vec![Some(format!("Bearer {TOKEN}"))],
        "the trusted https target must get the token"
    );
}
