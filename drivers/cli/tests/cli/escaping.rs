//! Server-controlled text with control characters: the human report escapes them, the JSON
//! document keeps them exactly.
//!
//! The settings use the XML character references for CR, LF and tab, which XML 1.0 allows.
//! ESC and BEL cannot appear in well-formed XML, so they reach the report through a transport
//! error message in the transcript instead.

use crate::common::Sandbox;

/// A SOAP step 1 whose settings carry CR, LF and tab in names, values and collections.
const FORGED_SETTINGS_TRANSCRIPT: &str = r#"email alice@example.com
flavor soap
strategy sequential
cache off

DNS A example.com
  192.0.2.10

POST https://example.com/autodiscover/autodiscover.svc
  status 200
  Content-Type: text/xml; charset=utf-8
  body
    <?xml version="1.0" encoding="utf-8"?>
    <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><s:Body>
    <GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover"><Response>
    <ErrorCode>NoError</ErrorCode><ErrorMessage /><UserResponses><UserResponse>
    <ErrorCode>NoError</ErrorCode><ErrorMessage /><UserSettingErrors /><UserSettings>
    <UserSetting i:type="StringSetting"><Name>UserDisplayName</Name><Value>Alice&#13;&#10;EWS URL:        https://evil.example/EWS</Value></UserSetting>
    <UserSetting i:type="StringSetting"><Name>ExternalEwsUrl</Name><Value>https://mail.example.com/EWS/Exchange.asmx</Value></UserSetting>
    <UserSetting i:type="StringSetting"><Name>CasVersion</Name><Value>15.20&#13;Server version: 99</Value></UserSetting>
    <UserSetting i:type="StringSetting"><Name>Forged&#10;Other settings:</Name><Value>a<TAB>b&#9;c</Value></UserSetting>
    <UserSetting i:type="WebClientUrlCollectionSetting"><Name>ExternalWebClientUrls</Name><WebClientUrls>
    <WebClientUrl><AuthenticationMethods>Fba&#10;  - forged</AuthenticationMethods><Url>https://mail.example.com/owa/</Url></WebClientUrl>
    </WebClientUrls></UserSetting>
    </UserSettings></UserResponse></UserResponses></Response></GetUserSettingsResponseMessage>
    </s:Body></s:Envelope>
"#;

#[test]
fn report_escapes_setting_controls() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("forged-settings.transcript");
    std::fs::write(&path, FORGED_SETTINGS_TRANSCRIPT.replace("<TAB>", "\t")).unwrap();
    let output = sandbox.run(&["--replay", path.to_str().unwrap()]);

    output.assert_code(0);
    let report = &output.stdout;
    for forbidden in ['\r', '\t', '\x1b'] {
        assert!(!report.contains(forbidden), "{forbidden:?} in:\n{report}");
    }
    assert_eq!(
        output.field("Display name:"),
        Some("Alice\\r\\nEWS URL:        https://evil.example/EWS")
    );
    assert_eq!(
        output.field("EWS URL:"),
        Some("https://mail.example.com/EWS/Exchange.asmx")
    );
    let ews_lines = report
        .lines()
        .filter(|line| line.starts_with("EWS URL:"))
        .count();
    assert_eq!(ews_lines, 1, "a forged line in:\n{report}");
    assert_eq!(
        output.field("Server version:"),
        Some("15.20\\rServer version: 99")
    );
    assert!(
        report.contains("  Forged\\nOther settings:: a\\tb\\tc\n"),
        "{report}"
    );
    assert!(
        report.contains("    - https://mail.example.com/owa/ (sign-in: Fba\\n  - forged)\n"),
        "{report}"
    );
}

#[test]
fn json_keeps_setting_controls() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("forged-settings.transcript");
    std::fs::write(&path, FORGED_SETTINGS_TRANSCRIPT.replace("<TAB>", "\t")).unwrap();
    let output = sandbox.run(&["--json", "--replay", path.to_str().unwrap()]);

    output.assert_code(0);
    assert!(!output.stdout.contains('\r'), "{}", output.stdout);
    let document = output.json();
    assert_eq!(
        document["display_name"],
        "Alice\r\nEWS URL:        https://evil.example/EWS"
    );
    assert_eq!(document["settings"]["Forged\nOther settings:"], "a\tb\tc");
}

/// A POX discovery whose step 1 reports a server error with CR and LF in its message, and
/// whose step 2 fails the TLS handshake with a message full of terminal sequences.
const FORGED_FAILURE_TRANSCRIPT: &str = r#"email alice@example.com
flavor pox
strategy sequential
cache off

DNS A example.com
  192.0.2.10

POST https://example.com/autodiscover/autodiscover.xml
  status 200
  Content-Type: text/xml
  body
    <?xml version="1.0" encoding="utf-8"?>
    <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response><Error Time="1" Id="2"><ErrorCode>603</ErrorCode><Message>Internal&#13;&#10;error: forged line</Message><DebugData /></Error></Response></Autodiscover>

DNS A autodiscover.example.com
  192.0.2.11

POST https://autodiscover.example.com/autodiscover/autodiscover.xml
  error tls "<ESC>]0;pwned<BEL><ESC>[31mred<ESC>[2J"

GET http://autodiscover.example.com/autodiscover/autodiscover.xml
  error connection_refused

DNS SRV _autodiscover._tcp.example.com
  error nxdomain
"#;

fn forged_failure() -> String {
    FORGED_FAILURE_TRANSCRIPT
        .replace("<ESC>", "\x1b")
        .replace("<BEL>", "\x07")
}

#[test]
fn failure_report_escapes_server_text() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("forged-failure.transcript");
    std::fs::write(&path, forged_failure()).unwrap();
    let output = sandbox.run(&["--replay", path.to_str().unwrap()]);

    output.assert_code(1);
    let report = &output.stderr;
    for forbidden in ['\r', '\x1b', '\x07'] {
        assert!(!report.contains(forbidden), "{forbidden:?} in:\n{report}");
    }
    assert!(
        report.starts_with(
            "error: https://example.com/autodiscover/autodiscover.xml failed: error code 603 (Internal\\r\\nerror: forged line)\n"
        ),
        "{report}"
    );
    assert!(
        report.contains("\n     TLS handshake failed: \\x1b]0;pwned\\x07\\x1b[31mred\\x1b[2J\n"),
        "{report}"
    );
    let error_lines = report
        .lines()
        .filter(|line| line.starts_with("error"))
        .count();
    assert_eq!(error_lines, 1, "a forged line in:\n{report}");
}

#[test]
fn verbose_logs_are_escaped() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("forged-failure.transcript");
    // Without the SRV entry the replay stops, and -v prints its log up to there.
    let text = forged_failure();
    let text = text
        .split("DNS SRV")
        .next()
        .expect("the transcript has an SRV entry");
    std::fs::write(&path, text).unwrap();
    let output = sandbox.run(&["-v", "--replay", path.to_str().unwrap()]);

    output.assert_code(7);
    assert!(
        output.stderr.contains("replay log up to the failure:"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("\\x1b]0;pwned"), "{}", output.stderr);
    for forbidden in ['\r', '\x1b', '\x07'] {
        assert!(
            !output.stderr.contains(forbidden),
            "{forbidden:?} in:\n{}",
            output.stderr
        );
    }
    // The -v log line of step 1 keeps the server's line break escaped.
    assert!(
        output
            .stderr
            .contains("result=error code 603 (Internal\\r\\nerror: forged line)\n"),
        "{}",
        output.stderr
    );
}
