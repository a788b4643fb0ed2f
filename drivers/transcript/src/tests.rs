//! Unit tests of parsing, rendering, replaying and recording.

use std::path::Path;
use std::time::Duration;

use autodiscover::{
    Action, ActionId, Config, DnsError, Event, Flavor, HttpRequest, HttpResponse, Method, Request,
    Strategy, TransportError,
};
use url::Url;

use crate::{replay, Body, Expect, HttpFailure, Key, Recorder, ReplayProblem, Reply, Transcript};
use autodiscover::Discoverer;
use std::time::Instant;

mod files;

/// Exercises every kind of line the format has.
const FULL: &str = r#"# A transcript that uses every line kind.
email alice@example.com
flavor soap
settings ExternalEwsUrl, UserDisplayName
strategy parallel stagger 500ms grace 2s
request_timeout 10s
deadline 60s
trust mail.example.net
trust .hosted.example
untrusted reject
cache off
srv_seed 7
max_response_bytes 65536

# The cache is off, so this entry is never requested.
optional cache get example.com
  hit https://autodiscover.example.com/autodiscover/autodiscover.svc soap auth Basic

DNS A example.com
  192.0.2.1
  2001:db8::1

POST https://example.com/autodiscover/autodiscover.svc at +250ms
  # The first candidate answers with a redirect.
  request_email alice@example.com
  status 302
  Location: https://mail.example.com/autodiscover/autodiscover.svc
  Content-Length: 0

POST https://mail.example.com/autodiscover/autodiscover.svc
  status 200
  Content-Type: text/xml; charset=utf-8
  auth Basic
  body
    <?xml version="1.0"?>

    <Envelope/>

GET http://autodiscover.example.com/autodiscover/autodiscover.xml
  status 200
  body (no final newline)
    no newline here

DNS SRV _autodiscover._tcp.example.com
  10 60 443 ad1.example.com.
  20 0 443 backup.example.com.

DNS A ad1.example.com
  error nxdomain

DNS A backup.example.com
  error failed "refused by \"policy\""

POST https://ad2.example.com/autodiscover/autodiscover.svc
  error tls "certificate expired"

POST https://ad3.example.com/autodiscover/autodiscover.svc
  never

cache put example.com https://mail.example.com/autodiscover/autodiscover.svc

cache delete example.com

expect ews_url https://mail.example.com/EWS/Exchange.asmx
expect endpoint https://mail.example.com/autodiscover/autodiscover.svc
expect step 1
expect smtp_address alice@example.com
expect redirected_email none
expect display_name Alice Ångström
expect warning only the internal EWS URL

# Facts about the run itself.
expect max_requests 4
expect no_credentials http://
expect finished_by +1500ms
expect error_mentions not trusted
expect trace HTTP status 404
expect error not_found

# The end.
"#;

fn parse(text: &str) -> Transcript {
    Transcript::parse(text, Path::new(".")).unwrap_or_else(|error| panic!("{error}"))
}

fn parse_error(text: &str) -> String {
    match Transcript::parse(text, Path::new(".")) {
        Ok(_) => panic!("the transcript parsed:\n{text}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn full_transcript_renders_unchanged() {
    let transcript = parse(FULL);
    assert_eq!(transcript.render(), FULL);
}

#[test]
fn render_parses_back_to_same_data() {
    let first = parse(FULL);
    let second = parse(&first.render());
    let without_lines = |transcript: &Transcript| {
        let mut copy = transcript.clone();
        copy.entries.iter_mut().for_each(|entry| entry.line = 0);
        copy.expectations
            .iter_mut()
            .for_each(|expectation| expectation.line = 0);
        copy
    };
    assert_eq!(without_lines(&first), without_lines(&second));
}

#[test]
fn parse_reads_entries() {
    let transcript = parse(FULL);
    assert_eq!(transcript.header.email, "alice@example.com");
    assert_eq!(
        transcript.header.strategy,
        Some(Strategy::Parallel {
            stagger: Duration::from_millis(500),
            grace: Duration::from_secs(2),
        })
    );
    assert!(!transcript.header.use_cache);
    assert_eq!(transcript.entries.len(), 12);

    let redirect = &transcript.entries[2];
    assert_eq!(redirect.line, 23);
    assert_eq!(redirect.at, Some(Duration::from_millis(250)));
    assert_eq!(redirect.request_email.as_deref(), Some("alice@example.com"));
    let Reply::Http(reply) = &redirect.reply else {
        panic!("not an HTTP reply: {:?}", redirect.reply);
    };
    assert_eq!(reply.status, 302);
    assert_eq!(reply.headers[0].0, "Location");

    let Reply::Http(settings) = &transcript.entries[3].reply else {
        panic!("not an HTTP reply");
    };
    assert_eq!(
        settings.body.bytes,
        b"<?xml version=\"1.0\"?>\n\n<Envelope/>\n"
    );
    let Reply::Http(probe) = &transcript.entries[4].reply else {
        panic!("not an HTTP reply");
    };
    assert_eq!(probe.body.bytes, b"no newline here");

    assert_eq!(
        transcript.entries[7].reply,
        Reply::DnsFailure(DnsError::Failed("refused by \"policy\"".to_owned()))
    );
    assert_eq!(
        transcript.entries[8].reply,
        Reply::HttpFailure(HttpFailure::Tls("certificate expired".to_owned()))
    );
    assert_eq!(transcript.entries[9].reply, Reply::Never);
    assert_eq!(
        transcript.entries[11].key,
        Key::CacheDelete("example.com".to_owned())
    );
    assert_eq!(transcript.expectations.len(), 13);
    assert_eq!(
        transcript.expectations[5].expect,
        Expect::DisplayName("Alice Ångström".to_owned())
    );
    assert_eq!(transcript.trailing_comments, [" The end."]);
}

#[test]
fn zone_file_srv_lines_are_read() {
    let transcript = parse(
        "email a@example.com\n\nDNS SRV _autodiscover._tcp.example.com\n  _autodiscover._tcp.example.com. 300 IN SRV 10 5 443 ad3.example.com.\n",
    );
    let Reply::Records(records) = &transcript.entries[0].reply else {
        panic!("no records");
    };
    assert_eq!(records[0].priority, 10);
    assert_eq!(records[0].weight, 5);
    assert_eq!(records[0].target, "ad3.example.com.");
}

#[test]
fn binary_body_renders_as_base64() {
    let mut transcript = parse("email a@example.com\n\nGET http://example.com/\n  status 200\n");
    let Reply::Http(reply) = &mut transcript.entries[0].reply else {
        panic!("not an HTTP reply");
    };
    let bytes: Vec<u8> = (0..=255).collect();
    reply.body = Body::inline(bytes.clone());
    let text = transcript.render();
    assert!(text.contains("  body base64\n"), "{text}");
    let Reply::Http(parsed) = &parse(&text).entries[0].reply else {
        panic!("not an HTTP reply");
    };
    assert_eq!(parsed.body.bytes, bytes);
}

#[test]
fn awkward_text_bodies_round_trip() {
    for body in [
        "a\n\n",
        "  \nx\n",
        "x\r\n",
        "\nleading blank\n",
        "\tindented\n",
        "last",
    ] {
        let mut transcript =
            parse("email a@example.com\n\nGET http://example.com/\n  status 200\n");
        let Reply::Http(reply) = &mut transcript.entries[0].reply else {
            panic!("not an HTTP reply");
        };
        reply.body = Body::inline(body);
        let Reply::Http(parsed) = &parse(&transcript.render()).entries[0].reply else {
            panic!("not an HTTP reply");
        };
        assert_eq!(parsed.body.bytes, body.as_bytes(), "{body:?}");
    }
}

#[test]
fn body_file_is_read_relative_to_base_dir() {
    let folder = std::env::temp_dir().join(format!("transcript-test-{}", std::process::id()));
    std::fs::create_dir_all(folder.join("bodies")).unwrap();
    std::fs::write(folder.join("bodies/x.xml"), b"<x/>").unwrap();
    let text =
        "email a@example.com\n\nGET http://example.com/\n  status 200\n  body @bodies/x.xml\n";
    let transcript = Transcript::parse(text, &folder).unwrap();
    std::fs::remove_dir_all(&folder).unwrap();

    let Reply::Http(reply) = &transcript.entries[0].reply else {
        panic!("not an HTTP reply");
    };
    assert_eq!(reply.body.bytes, b"<x/>");
    assert_eq!(reply.body.file.as_deref(), Some("bodies/x.xml"));
    assert!(transcript.render().contains("  body @bodies/x.xml\n"));
}

#[test]
fn parse_errors_name_line_and_fix() {
    let cases: &[(&str, &str)] = &[
        ("flavor soap\n", "line 1: the transcript has no `email` line"),
        ("email a@example.com\nemail b@example.com\n", "line 2: `email` is given twice"),
        ("email a@example.com\nfoo bar\n", "line 2: unknown line start `foo`"),
        ("email a@example.com\n  status 200\n", "line 2: this indented line belongs to no entry"),
        (
            "email a@example.com\n\nPOST https://example.com/x\n",
            "line 3: `POST https://example.com/x` has no answer",
        ),
        (
            "email a@example.com\n\nPOST https://example.com/x\n  status 20\n",
            "line 4: invalid status \"20\"",
        ),
        (
            "email a@example.com\n\nPOST https://example.com/x\n  error connect_refused\n",
            "line 4: unknown transport error \"connect_refused\"; use one of: dns_nxdomain",
        ),
        (
            "email a@example.com\n\nPOST https://example.com/x\n  status 200\n  body @missing/file.xml\n",
            "line 5: cannot read the body file missing/file.xml",
        ),
        (
            "email a@example.com\n\nDNS A example.com\n  error nxdomain\ncache off\n",
            "line 5: the header line `cache` must come before the first entry",
        ),
        (
            "email a@example.com\n\nDNS A example.com\n  not-an-address\n",
            "line 4: \"not-an-address\" is not an IP address",
        ),
        (
            "email a@example.com\n\nDNS A example.com\n\terror nxdomain\n",
            "line 4: indent with spaces, not tabs",
        ),
        (
            "email a@example.com\n\nPOST https://example.com/x\n  never\n  status 200\n",
            "line 5: `never` must be the only answer line of its entry",
        ),
        (
            "email a@example.com\n\nGET http://example.com/x\n  request_email a@example.com\n  status 200\n",
            "line 4: `request_email` applies only to POST entries",
        ),
        (
            "email a@example.com\n\ncache put example.com https://x.example.com/a at +1s\n",
            "line 3: cache writes are acknowledged as soon as they are sent",
        ),
        ("email a@example.com\nexpect colour blue\n", "line 2: unknown expectation \"colour\""),
        ("email a@example.com\nexpect step 5\n", "line 2: unknown step \"5\""),
        ("email a@example.com\n\nPUT https://example.com/x\n", "line 3: unknown line start `PUT`"),
        (
            "email a@example.com\n\nDNS MX example.com\n",
            "line 3: invalid entry `DNS MX example.com`",
        ),
        (
            "email a@example.com\n\nPOST https://example.com/x at 250ms\n  never\n",
            "line 3: invalid time \"250ms\"; write an offset from the start",
        ),
    ];
    for (text, expected) in cases {
        let error = parse_error(text);
        assert!(
            error.starts_with(expected),
            "for {text:?}\n  got: {error}\n  expected: {expected}"
        );
    }
}

#[test]
fn load_names_the_file() {
    let path = Path::new("/nonexistent/none.transcript");
    let error = Transcript::load(path).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("/nonexistent/none.transcript: cannot read"),
        "{error}"
    );
}

const STEP_ONE_SETTINGS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <User>
      <DisplayName>Alice</DisplayName>
    </User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <Protocol>
        <Type>EXCH</Type>
        <EwsUrl>https://mail.example.com/EWS/Exchange.asmx</EwsUrl>
      </Protocol>
    </Account>
  </Response>
</Autodiscover>
"#;

fn pox_transcript(entries: &str) -> Transcript {
    let body: String = STEP_ONE_SETTINGS
        .lines()
        .map(|line| format!("    {line}\n"))
        .collect();
    let text = format!(
        "email alice@example.com\nflavor pox\nstrategy sequential\ncache off\n\n{}",
        entries.replace("BODY\n", &format!("  body\n{body}"))
    );
    parse(&text)
}

#[test]
fn replay_answers_and_logs() {
    let transcript = pox_transcript(
        "DNS A example.com\n  192.0.2.1\n\nPOST https://example.com/autodiscover/autodiscover.xml at +300ms\n  request_email alice@example.com\n  status 200\n  Content-Type: text/xml\nBODY\nexpect ews_url https://mail.example.com/EWS/Exchange.asmx\nexpect step 1\nexpect finished_by +300ms\n",
    );
    let replay = replay(&transcript).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        replay.check(&transcript.expectations).is_empty(),
        "{:?}",
        replay.check(&transcript.expectations)
    );
    assert_eq!(replay.finished_at, Duration::from_millis(300));
    let log = replay.log();
    assert!(
        log.starts_with("+0ms -> #1 DNS A example.com\n+0ms <- #1 192.0.2.1\n"),
        "{log}"
    );
    assert!(
        log.contains("+0ms -> #2 POST https://example.com/autodiscover/autodiscover.xml for alice@example.com (credentials allowed)\n"),
        "{log}"
    );
    assert!(log.contains("+300ms <- #2 200 text/xml, "), "{log}");
    assert!(
        log.contains(
            "+300ms outcome: settings from https://example.com/autodiscover/autodiscover.xml"
        ),
        "{log}"
    );
}

#[test]
fn replay_names_unanswered_action() {
    let transcript = pox_transcript("DNS A example.com\n  192.0.2.1\n");
    let error = replay(&transcript).unwrap_err();
    assert_eq!(
        error.problem,
        ReplayProblem::Unanswered {
            at: Duration::ZERO,
            action: "POST https://example.com/autodiscover/autodiscover.xml".to_owned(),
        }
    );
    let text = error.to_string();
    assert!(
        text.starts_with("at +0ms the discoverer sent POST https://example.com/autodiscover/autodiscover.xml, which the transcript does not answer; add an entry for it"),
        "{text}"
    );
    assert!(
        text.contains("log up to the failure:\n+0ms -> #1 DNS A example.com"),
        "{text}"
    );
}

#[test]
fn replay_names_unrequested_entry() {
    let transcript = pox_transcript(
        "DNS A example.com\n  192.0.2.1\n\nPOST https://example.com/autodiscover/autodiscover.xml\n  status 200\n  Content-Type: text/xml\nBODY\nDNS A unused.example.com\n  192.0.2.9\n\noptional DNS A optional.example.com\n  192.0.2.9\n",
    );
    let error = replay(&transcript).unwrap_err();
    let line = transcript.entries[2].line;
    assert_eq!(
        error.problem.to_string(),
        format!("the discoverer never requested `DNS A unused.example.com` (line {line}); remove these entries or mark them `optional`")
    );
}

#[test]
fn replay_checks_request_email() {
    let transcript = pox_transcript(
        "DNS A example.com\n  192.0.2.1\n\nPOST https://example.com/autodiscover/autodiscover.xml\n  request_email bob@example.com\n  never\n",
    );
    let error = replay(&transcript).unwrap_err();
    assert_eq!(transcript.entries[1].line, 9);
    assert_eq!(
        error.problem.to_string(),
        "entry `POST https://example.com/autodiscover/autodiscover.xml` (line 9) expects the request to ask for bob@example.com, but it asked for alice@example.com"
    );
}

#[test]
fn never_answered_request_times_out() {
    let transcript = parse(
        "email alice@example.com\nflavor pox\nstrategy sequential\ncache off\nrequest_timeout 5s\n\nDNS A example.com\n  192.0.2.1\n\nPOST https://example.com/autodiscover/autodiscover.xml\n  never\n\nDNS A autodiscover.example.com\n  error nxdomain\n\nDNS SRV _autodiscover._tcp.example.com\n  error nxdomain\n\nexpect error not_found\nexpect finished_by +5s\n",
    );
    let replay = replay(&transcript).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        replay.check(&transcript.expectations).is_empty(),
        "{}",
        replay.log()
    );
    assert!(replay.log().contains("+5000ms timer\n"), "{}", replay.log());
}

#[test]
fn failed_expectations_explain_themselves() {
    let transcript = pox_transcript(
        "DNS A example.com\n  192.0.2.1\n\nPOST https://example.com/autodiscover/autodiscover.xml at +300ms\n  status 200\n  Content-Type: text/xml\nBODY\nexpect ews_url https://other.example.com/EWS/Exchange.asmx\nexpect error not_found\nexpect max_requests 0\nexpect finished_by +100ms\nexpect step 2\n",
    );
    let replay = replay(&transcript).unwrap_or_else(|error| panic!("{error}"));
    let failures: Vec<String> = replay
        .check(&transcript.expectations)
        .iter()
        .map(ToString::to_string)
        .collect();
    let first = transcript.expectations[0].line;
    assert_eq!(first, 29);
    assert_eq!(
        failures,
        [
            "line 29: expected EWS URL https://other.example.com/EWS/Exchange.asmx, but discovery returned https://mail.example.com/EWS/Exchange.asmx",
            "line 30: expected error not_found, but discovery succeeded with EWS URL https://mail.example.com/EWS/Exchange.asmx",
            "line 31: expected at most 0 HTTP requests, but the discoverer sent 1",
            "line 32: expected the outcome by +100ms, but it arrived at +300ms",
            "line 33: expected step 2, but the endpoint came from step 1 (step 1 (domain))",
        ]
    );
}

fn post(id: u64, url: &str, body: &str) -> Action {
    Action::HttpRequest {
        id: ActionId(id),
        request: HttpRequest {
            method: Method::Post,
            url: Url::parse(url).unwrap(),
            headers: vec![("Authorization".to_owned(), "Basic c2VjcmV0".to_owned())],
            body: body.as_bytes().to_vec(),
            max_response_bytes: 1024,
            credentials_allowed: true,
        },
    }
}

#[test]
fn recorder_writes_replayable_transcript_without_secrets() {
    let request = Request::new("alice@example.com")
        .unwrap()
        .flavor(Flavor::Pox);
    let config = Config::default().strategy(Strategy::Sequential);
    let mut recorder = Recorder::new(&request, &config);

    let body = "<Autodiscover><Request><EMailAddress>alice@example.com</EMailAddress></Request></Autodiscover>";
    recorder.record_action(
        &Action::CacheGet {
            id: ActionId(1),
            domain: "example.com".to_owned(),
        },
        Duration::ZERO,
    );
    recorder.record_event(
        &Event::CacheGet {
            id: ActionId(1),
            entry: None,
        },
        Duration::from_micros(300),
    );
    recorder.record_action(
        &Action::DnsA {
            id: ActionId(2),
            host: "example.com".to_owned(),
        },
        Duration::from_millis(1),
    );
    recorder.record_event(
        &Event::DnsA {
            id: ActionId(2),
            result: Err(DnsError::NoSuchName),
        },
        Duration::from_millis(20),
    );
    recorder.record_action(
        &post(
            3,
            "https://autodiscover.example.com/autodiscover/autodiscover.xml",
            body,
        ),
        Duration::from_millis(21),
    );
    recorder.record_event(
        &Event::HttpResponse {
            id: ActionId(3),
            result: Ok(HttpResponse {
                status: 401,
                headers: vec![
                    (
                        "WWW-Authenticate".to_owned(),
                        "Basic realm=\"x\"".to_owned(),
                    ),
                    ("Set-Cookie".to_owned(), "session=abc".to_owned()),
                ],
                body: Vec::new(),
                auth_scheme: Some("Basic".to_owned()),
            }),
        },
        Duration::from_millis(150),
    );
    recorder.record_action(
        &post(
            4,
            "https://mail.example.com/autodiscover/autodiscover.xml",
            body,
        ),
        Duration::from_millis(151),
    );
    recorder.record_event(
        &Event::HttpResponse {
            id: ActionId(4),
            result: Err(TransportError::BodyTooLarge { limit: 1024 }),
        },
        Duration::from_millis(400),
    );
    recorder.record_action(
        &Action::DnsSrv {
            id: ActionId(5),
            name: "_autodiscover._tcp.example.com".to_owned(),
        },
        Duration::from_millis(401),
    );
    let text = recorder.finish().render();

    assert!(!text.contains("session=abc"), "{text}");
    assert!(!text.contains("c2VjcmV0"), "{text}");
    assert!(text.contains("  Set-Cookie: <redacted>\n"), "{text}");
    assert_eq!(
        text,
        "email alice@example.com\nflavor pox\nstrategy sequential\n\ncache get example.com\n  miss\n\nDNS A example.com at +20ms\n  error nxdomain\n\nPOST https://autodiscover.example.com/autodiscover/autodiscover.xml at +150ms\n  request_email alice@example.com\n  status 401\n  WWW-Authenticate: Basic realm=\"x\"\n  Set-Cookie: <redacted>\n  auth Basic\n\nPOST https://mail.example.com/autodiscover/autodiscover.xml at +400ms\n  request_email alice@example.com\n  error body_too_large\n\nDNS SRV _autodiscover._tcp.example.com\n  never\n"
    );
    parse(&text);
}

/// Drives a discovery with the answers of `transcript`, all given at once, while recording it.
fn record_run(transcript: &Transcript) -> Transcript {
    let request = transcript.header.request().unwrap();
    let config = transcript.header.config();
    let mut recorder = Recorder::new(&request, &config);
    let start = Instant::now();
    let mut discoverer = Discoverer::new(request, config, start);
    let mut used = vec![false; transcript.entries.len()];
    loop {
        let mut events = Vec::new();
        while let Some(action) = discoverer.poll_action() {
            recorder.record_action(&action, Duration::ZERO);
            let key = Key::of_action(&action);
            let index = (0..used.len())
                .find(|index| !used[*index] && transcript.entries[*index].key == key)
                .unwrap_or_else(|| panic!("no entry for {key}"));
            used[index] = true;
            if let Some((event, _)) =
                crate::replay::answer(&transcript.entries[index], &action).unwrap()
            {
                events.push(event);
            }
        }
        if let Some(outcome) = discoverer.poll_outcome() {
            for event in &events {
                recorder.record_event(event, Duration::ZERO);
            }
            recorder.record_outcome(&outcome);
            return recorder.finish();
        }
        assert!(!events.is_empty(), "the discovery waits for a timer");
        for event in events {
            recorder.record_event(&event, Duration::ZERO);
            discoverer.handle_event(event, start);
        }
    }
}

#[test]
fn recorded_run_replays_identically() {
    let original = pox_transcript(
        "cache get example.com\n  miss\n\nDNS A example.com\n  error nxdomain\n\nDNS A autodiscover.example.com\n  192.0.2.2\n\nPOST https://autodiscover.example.com/autodiscover/autodiscover.xml\n  status 302\n  Location: https://mail.example.com/autodiscover/autodiscover.xml\n  Set-Cookie: session=abc\n\nDNS A mail.example.com\n  192.0.2.3\n\nPOST https://mail.example.com/autodiscover/autodiscover.xml\n  status 200\n  Content-Type: text/xml\nBODY\ncache put example.com https://mail.example.com/autodiscover/autodiscover.xml\n",
    );
    let mut original = original;
    original.header.use_cache = true;
    let recorded = record_run(&original);
    let text = recorded.render();
    assert!(text.contains("Set-Cookie: <redacted>"), "{text}");
    assert!(
        text.contains("expect ews_url https://mail.example.com/EWS/Exchange.asmx\nexpect step 2\n"),
        "{text}"
    );

    let reparsed = parse(&text);
    let first = replay(&original).unwrap_or_else(|error| panic!("{error}"));
    let second = replay(&reparsed).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(first.log(), second.log());
    assert!(second.check(&reparsed.expectations).is_empty());
}
