//! A live session recorded as a transcript replays to the same result.

use std::path::Path;

use autodiscover::Step;
use autodiscover_testworld::{Handler, Reply, Response};
use autodiscover_transcript::{replay, Transcript};
use base64::Engine as _;

use crate::world::{expect_discovery, soap_settings, xml_response, Setup, SOAP_PATH};
use crate::{DriverUnderTest, TestCredentials};

const PASSWORD: &str = "recorded-secret-7d1e";

pub(crate) fn recorded_session_replays(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    setup.refuse("example.com", &[443]);
    // Step 2 wants Basic credentials, so the session includes a challenge and a retry.
    setup.https(
        &["autodiscover.example.com"],
        Handler::new(|request| {
            if request.path() != SOAP_PATH {
                Reply::status(404)
            } else if request.has_header("Authorization") {
                xml_response(soap_settings()).into()
            } else {
                Response::new(401)
                    .header("WWW-Authenticate", "Basic realm=\"example.com\"")
                    .into()
            }
        }),
    );
    let mut run = setup.run("alice@example.com");
    run.credentials = TestCredentials::Basic {
        username: "alice@example.com".to_owned(),
        password: PASSWORD.to_owned(),
    };
    run.record = true;

    let result = driver.discover(&run);
    let transcript = result
        .transcript
        .clone()
        .expect("the driver returned no transcript");
    let live = expect_discovery(result);
    assert_eq!(live.step, Step::AutodiscoverHost);

    let text = transcript.render();
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("alice@example.com:{PASSWORD}"));
    assert!(
        !text.contains(PASSWORD),
        "the transcript contains the password:\n{text}"
    );
    assert!(
        !text.contains(&encoded),
        "the transcript contains the Basic token:\n{text}"
    );
    assert!(
        text.contains("auth Basic"),
        "the transcript does not name the scheme:\n{text}"
    );

    let replayed = replay(&transcript).unwrap_or_else(|error| panic!("replay failed: {error}"));
    let replayed = replayed_discovery(&replayed.outcome);
    assert_eq!(replayed.ews_url, live.ews_url);
    assert_eq!(replayed.endpoint, live.endpoint);
    assert_eq!(replayed.step, live.step);
    assert_eq!(replayed.settings, live.settings);
    assert_eq!(replayed.trace, live.trace);

    // The text form parses back to a transcript that replays the same way.
    let parsed = Transcript::parse(&text, Path::new("."))
        .unwrap_or_else(|error| panic!("the rendered transcript does not parse: {error}\n{text}"));
    let reparsed =
        replay(&parsed).unwrap_or_else(|error| panic!("replay of the text failed: {error}"));
    let failures = reparsed.check(&parsed.expectations);
    assert!(
        failures.is_empty(),
        "expectations failed: {failures:?}\n{text}"
    );
    let reparsed = replayed_discovery(&reparsed.outcome);
    assert_eq!(reparsed.ews_url, live.ews_url);
    assert_eq!(reparsed.trace, live.trace);
}

fn replayed_discovery(
    outcome: &Result<autodiscover::Discovery, autodiscover::Error>,
) -> autodiscover::Discovery {
    match outcome {
        Ok(discovery) => discovery.clone(),
        Err(error) => panic!("the replay failed where the live run succeeded: {error}"),
    }
}
