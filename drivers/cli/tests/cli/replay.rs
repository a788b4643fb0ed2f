//! `--replay`: recorded transcripts from the repository, run offline.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{transcript, Output, Sandbox};

#[test]
fn replay_prints_report() {
    let sandbox = Sandbox::new();
    let path = transcript("soap-step1-answers.transcript");
    let output = sandbox.run(&["--replay", path.to_str().unwrap()]);

    output.assert_code(0);
    assert_eq!(
        output.field("EWS URL:"),
        Some("https://mail.example.com/EWS/Exchange.asmx")
    );
    assert_eq!(output.field("SMTP address:"), Some("alice@example.com"));
    assert_eq!(output.field("Display name:"), Some("Alice Example"));
    assert_eq!(output.field("Server version:"), Some("15.20.7452.12"));
    assert_eq!(
        output.field("Endpoint:"),
        Some("https://example.com/autodiscover/autodiscover.svc (SOAP)")
    );
    assert_eq!(
        output.field("Found by:"),
        Some("step 1 (domain), no redirects")
    );
    assert_eq!(output.stderr, "", "a success prints nothing on stderr");
}

#[test]
fn replay_prints_json_document() {
    let sandbox = Sandbox::new();
    let path = transcript("soap-step1-answers.transcript");
    let output = sandbox.run(&["--json", "--replay", path.to_str().unwrap()]);

    output.assert_code(0);
    let document = output.json();
    assert_eq!(document["ok"], true);
    assert_eq!(document["exit_code"], 0);
    assert_eq!(document["email"], "alice@example.com");
    assert_eq!(
        document["ews_url"],
        "https://mail.example.com/EWS/Exchange.asmx"
    );
    assert_eq!(
        document["endpoint"],
        "https://example.com/autodiscover/autodiscover.svc"
    );
    assert_eq!(document["flavor"], "soap");
    assert_eq!(document["step"], "domain");
    assert_eq!(document["step_label"], "step 1");
    assert_eq!(document["display_name"], "Alice Example");
    assert!(document["settings"].is_object());
    assert_eq!(document["redirects"].as_array().unwrap().len(), 0);

    let trace = document["trace"].as_array().unwrap();
    assert_eq!(trace.len(), 1, "{trace:?}");
    assert_eq!(trace[0]["result"], "returned settings");
    assert_eq!(
        trace[0]["target"],
        "https://example.com/autodiscover/autodiscover.svc"
    );
}

#[test]
fn replay_shows_redirects_and_collections() {
    let sandbox = Sandbox::new();
    let path = transcript("case-01-pox-redirectaddr-hybrid-o365.transcript");
    let output = sandbox.run(&["--replay", path.to_str().unwrap()]);

    output.assert_code(0);
    assert_eq!(
        output.field("Address used:"),
        Some("alice@contoso.mail.onmicrosoft.com")
    );
    assert_eq!(
        output.field("Found by:"),
        Some("step 3 (http redirect), after 2 redirects")
    );
    assert!(
        output
            .stdout
            .contains("  1. address alice@contoso.com -> alice@contoso.mail.onmicrosoft.com\n"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("\nOther settings:\n"),
        "{}",
        output.stdout
    );
    // POX `Protocol` elements are records: one bulleted block each, fields in name order.
    assert!(
        output.stdout.contains("  Protocols:\n    - ASUrl: "),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("      Type: EXPR\n"),
        "{}",
        output.stdout
    );
}

#[test]
fn replay_failures_map_to_exit_codes() {
    let cases = [
        ("soap-redirect-url-unresolvable.transcript", 1, "not_found"),
        ("soap-only-401s.transcript", 3, "credentials_rejected"),
        (
            "soap-post-301-untrusted-host.transcript",
            3,
            "untrusted_host",
        ),
        ("soap-invalid-user.transcript", 4, "invalid_user"),
        ("pox-invalid-request.transcript", 4, "invalid_request"),
        (
            "soap-redirect-address-circular.transcript",
            5,
            "redirect_loop",
        ),
        (
            "soap-too-many-redirects.transcript",
            5,
            "too_many_redirects",
        ),
        ("soap-deadline-exceeded.transcript", 6, "deadline_exceeded"),
    ];
    let sandbox = Sandbox::new();
    for (name, code, kind) in cases {
        let path = transcript(name);
        let output = sandbox.run(&["--json", "--replay", path.to_str().unwrap()]);
        assert_eq!(output.code, code, "{name}: {}", output.stdout);

        let document = output.json();
        assert_eq!(document["ok"], false, "{name}");
        assert_eq!(document["exit_code"], code, "{name}");
        assert_eq!(document["error"]["kind"], kind, "{name}");
        assert!(
            !document["trace"].as_array().unwrap().is_empty(),
            "{name}: the trace is empty"
        );
    }
}

#[test]
fn replay_failure_lists_every_candidate() {
    let sandbox = Sandbox::new();
    let path = transcript("soap-only-401s.transcript");
    let output = sandbox.run(&["--replay", path.to_str().unwrap()]);

    output.assert_code(3);
    assert_eq!(output.stdout, "", "a failure prints its report on stderr");
    let report = &output.stderr;
    assert!(
        report.starts_with("error: credentials rejected by "),
        "{report}"
    );
    assert!(report.contains("\nTried:\n"), "{report}");
    for line in [
        "  1. step 1  https://example.com/autodiscover/autodiscover.svc\n     HTTP 401, offered schemes: Negotiate, NTLM\n",
        "  2. step 2  https://autodiscover.example.com/autodiscover/autodiscover.svc\n     HTTP 401, offered schemes: Basic\n",
        "  3. step 3  http://autodiscover.example.com/autodiscover/autodiscover.xml\n     connection refused\n",
        "  4. step 4  https://ad1.example.com/autodiscover/autodiscover.svc\n     HTTP 401, offered schemes: Bearer\n",
    ] {
        assert!(report.contains(line), "missing {line:?} in:\n{report}");
    }
    assert!(report.contains("\nCheck next:\n  - "), "{report}");
}

#[test]
fn replay_failure_json_has_details_and_hints() {
    let sandbox = Sandbox::new();
    let path = transcript("soap-only-401s.transcript");
    let output = sandbox.run(&["--json", "--replay", path.to_str().unwrap()]);

    output.assert_code(3);
    let document = output.json();
    let error = &document["error"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("credentials rejected by https://example.com/"),
        "{error}"
    );
    let challenges = error["details"]["challenges"].as_array().unwrap();
    assert_eq!(challenges.len(), 3, "{challenges:?}");
    assert_eq!(challenges[1]["schemes"][0], "Basic");
    assert!(!document["hints"].as_array().unwrap().is_empty());

    let trace = document["trace"].as_array().unwrap();
    assert_eq!(trace.len(), 4, "{trace:?}");
    assert_eq!(trace[2]["step"], "http_redirect");
    assert_eq!(trace[2]["result"], "connection refused");
    assert_eq!(trace[2]["detail"]["transport"], "connection_refused");
    assert_eq!(
        trace[0]["detail"]["unauthorized"]["schemes"][0],
        "Negotiate"
    );
}

#[test]
fn replay_verbose_logs_each_step() {
    let sandbox = Sandbox::new();
    let path = transcript("soap-step1-501-step2-answers.transcript");
    let output = sandbox.run(&["-v", "--replay", path.to_str().unwrap()]);

    output.assert_code(0);
    let log = &output.stderr;
    assert!(
        log.contains("POST https://example.com/autodiscover/autodiscover.svc"),
        "{log}"
    );
    assert!(log.contains("result=HTTP status 501"), "{log}");
    assert!(log.contains("result=returned settings"), "{log}");
}

#[test]
fn replay_rejects_missing_transcript() {
    let sandbox = Sandbox::new();
    let missing = sandbox.path("missing.transcript");
    let output = sandbox.run(&["--replay", missing.to_str().unwrap()]);

    output.assert_code(7);
    assert!(
        output.stderr.contains("cannot read the transcript"),
        "{}",
        output.stderr
    );
}

#[test]
fn replay_rejects_invalid_transcript_line() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("invalid.transcript");
    std::fs::write(&path, "email alice@example.com\n\nTELNET example.com\n").unwrap();
    let output = sandbox.run(&["--json", "--replay", path.to_str().unwrap()]);

    output.assert_code(7);
    let document = output.json();
    assert_eq!(document["error"]["kind"], "transcript_invalid");
    let message = document["error"]["message"].as_str().unwrap();
    assert!(message.contains("invalid.transcript:3:"), "{message}");
}

#[test]
fn replay_rejects_other_email() {
    let sandbox = Sandbox::new();
    let path = transcript("soap-step1-answers.transcript");
    let output = sandbox.run(&["--replay", path.to_str().unwrap(), "bob@example.com"]);

    output.assert_code(2);
    assert!(
        output
            .stderr
            .contains("replays a discovery for alice@example.com, not bob@example.com"),
        "{}",
        output.stderr
    );

    let same = sandbox.run(&["--replay", path.to_str().unwrap(), "Alice@Example.com"]);
    same.assert_code(0);
}

#[test]
fn replay_notes_unmet_expectation() {
    let sandbox = Sandbox::new();
    let original = transcript("soap-step1-answers.transcript");
    // A body file must be inside the transcript's folder, so the body moves along.
    let body = original.parent().unwrap().join("bodies/soap-settings.xml");
    std::fs::create_dir(sandbox.path("bodies")).unwrap();
    std::fs::copy(&body, sandbox.path("bodies/soap-settings.xml")).unwrap();
    let text = std::fs::read_to_string(&original)
        .unwrap()
        .replace("expect step 1", "expect step 2");
    let path = sandbox.path("changed.transcript");
    std::fs::write(&path, text).unwrap();

    let output = sandbox.run(&["--replay", path.to_str().unwrap()]);
    output.assert_code(0);
    assert!(
        output
            .stderr
            .contains("note: the replay does not meet the transcript's expectation at line"),
        "{}",
        output.stderr
    );
}

/// A POX step 1 that reports error 603, the server's own failure; the other steps fail.
const SERVER_FAILED_TRANSCRIPT: &str = r#"email alice@example.com
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
    <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response><Error Time="1" Id="2"><ErrorCode>603</ErrorCode><Message>Internal server error</Message><DebugData /></Error></Response></Autodiscover>

DNS A autodiscover.example.com
  error nxdomain

DNS SRV _autodiscover._tcp.example.com
  error nxdomain
"#;

#[test]
fn replay_server_failure_is_not_found() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("server-failed.transcript");
    std::fs::write(&path, SERVER_FAILED_TRANSCRIPT).unwrap();
    let output = sandbox.run(&["--json", "--replay", path.to_str().unwrap()]);

    output.assert_code(1);
    let document = output.json();
    assert_eq!(document["error"]["kind"], "server_failed");
    assert_eq!(
        document["error"]["details"]["url"],
        "https://example.com/autodiscover/autodiscover.xml"
    );
    assert_eq!(
        document["error"]["details"]["server_error"]["raw_code"],
        "603"
    );
    let hints = document["hints"].as_array().unwrap();
    assert!(
        hints[0].as_str().unwrap().contains("try again later"),
        "{hints:?}"
    );
}

/// Runs the binary and kills it if it has not exited after 10 s, so that a regression that
/// blocks on a FIFO fails the test instead of hanging it.
fn run_within_seconds(sandbox: &Sandbox, args: &[&str]) -> Output {
    let mut child = sandbox
        .command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    while child
        .try_wait()
        .expect("the child can be waited for")
        .is_none()
    {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("autodiscover {args:?} ran for 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().expect("the output is read");
    Output {
        code: output.status.code().expect("the binary exits with a code"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

#[cfg(unix)]
#[test]
fn replay_rejects_special_files() {
    let sandbox = Sandbox::new();
    let fifo = sandbox.path("pipe.transcript");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo failed");
    let folder = sandbox.path("folder.transcript");
    std::fs::create_dir(&folder).unwrap();

    for (path, kind) in [
        (fifo.to_str().unwrap(), "a FIFO"),
        ("/dev/zero", "a character device"),
        (folder.to_str().unwrap(), "a directory"),
    ] {
        let output = run_within_seconds(&sandbox, &["--json", "--replay", path]);

        output.assert_code(7);
        let document = output.json();
        assert_eq!(document["error"]["kind"], "transcript_invalid", "{path}");
        let message = document["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(path), "{message}");
        assert!(
            message.contains(&format!("it is {kind}, not a regular file")),
            "{message}"
        );
    }
}

#[test]
fn replay_rejects_body_outside_folder() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("outside.transcript");
    for (body, reason) in [
        ("/dev/zero", "is an absolute path"),
        ("../escape.xml", "contains `..`"),
    ] {
        std::fs::write(
            &path,
            format!("email alice@example.com\n\nGET http://example.com/\n  status 200\n  body @{body}\n"),
        )
        .unwrap();
        let output = run_within_seconds(&sandbox, &["--replay", path.to_str().unwrap()]);

        output.assert_code(7);
        assert!(
            output.stderr.contains("outside.transcript:5: "),
            "{}",
            output.stderr
        );
        assert!(output.stderr.contains(reason), "{body}: {}", output.stderr);
    }
}

#[test]
fn replay_reads_relative_transcript_path() {
    let sandbox = Sandbox::new();
    let original = transcript("soap-step1-answers.transcript");
    std::fs::create_dir(sandbox.path("bodies")).unwrap();
    std::fs::copy(
        original.parent().unwrap().join("bodies/soap-settings.xml"),
        sandbox.path("bodies/soap-settings.xml"),
    )
    .unwrap();
    std::fs::copy(&original, sandbox.path("run.transcript")).unwrap();

    let output = Output::of(
        sandbox
            .command()
            .current_dir(sandbox.path(""))
            .args(["--replay", "run.transcript"]),
    );
    output.assert_code(0);
}

/// Steps 1 and 2 fail the certificate check, as rustls reports a certificate from a private
/// CA; steps 3 and 4 find nothing.
const UNKNOWN_ISSUER_TRANSCRIPT: &str = r#"email alice@example.com
flavor soap
strategy sequential
cache off

DNS A example.com
  192.0.2.10

POST https://example.com/autodiscover/autodiscover.svc
  error tls "invalid peer certificate: UnknownIssuer"

DNS A autodiscover.example.com
  error nxdomain

DNS SRV _autodiscover._tcp.example.com
  error nxdomain
"#;

#[test]
fn replay_certificate_failure_hints_ca_file() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("unknown-issuer.transcript");
    std::fs::write(&path, UNKNOWN_ISSUER_TRANSCRIPT).unwrap();
    let output = sandbox.run(&["--replay", path.to_str().unwrap()]);

    output.assert_code(1);
    let report = &output.stderr;
    assert!(
        report.contains("\nCheck next:\n  - The TLS certificate of https://example.com/autodiscover/autodiscover.svc was issued by a CA that is not trusted (UnknownIssuer)."),
        "{report}"
    );
    assert!(report.contains("--ca-file PEM"), "{report}");
}
