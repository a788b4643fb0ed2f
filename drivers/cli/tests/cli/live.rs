//! Live discoveries against the test world: a DNS server, a test CA and HTTPS servers, all on
//! loopback. Every run passes `--nameserver` with the world's DNS server, `--ca-file` with its
//! CA and `--connect-to` for each mapped host.

use std::process::Command;

use autodiscover_testworld::{Reply, Response, Routes, World};

use crate::common::{fixture, Output, Sandbox};

const SOAP_PATH: &str = "/autodiscover/autodiscover.svc";
const PASSWORD: &str = "correct-horse-battery-staple";

/// Starts a world where `https://example.com/autodiscover/autodiscover.svc` (step 1) returns
/// every kind of SOAP setting.
fn settings_world() -> (World, autodiscover_testworld::HttpServer) {
    let world = World::start().expect("the test world starts");
    let response = Response::new(200)
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(fixture("soap-settings-full.xml"));
    let server = world
        .https(
            &["example.com"],
            Routes::new().route("POST", SOAP_PATH, response),
        )
        .expect("the HTTPS server starts");
    (world, server)
}

/// Returns the options that point the binary at `world` and nowhere else.
fn world_args(world: &World) -> Vec<String> {
    let ca_file = world.ca().pem_file().expect("the CA file is written");
    let mut args = vec![
        "--nameserver".to_owned(),
        world.dns().addr().to_string(),
        "--ca-file".to_owned(),
        ca_file.display().to_string(),
        "--strategy".to_owned(),
        "sequential".to_owned(),
        "--timeout".to_owned(),
        "10".to_owned(),
    ];
    for (host, port, addr) in world.connect_overrides() {
        args.push("--connect-to".to_owned());
        args.push(format!("{host}:{port}:{addr}"));
    }
    args
}

/// Returns the binary with the world's options, `extra` and the address, with the password in
/// its environment. The deadline is 30 s unless `extra` sets one.
fn discover(sandbox: &Sandbox, world: &World, extra: &[&str]) -> Command {
    let mut command = sandbox.command();
    command
        .env("AUTODISCOVER_PASSWORD", PASSWORD)
        .args(world_args(world))
        .args(extra);
    if !extra.contains(&"--deadline") {
        command.args(["--deadline", "30"]);
    }
    command.arg("alice@example.com");
    command
}

#[test]
fn live_discovery_prints_settings() {
    let (world, server) = settings_world();
    let sandbox = Sandbox::new();
    let output = Output::of(&mut discover(&sandbox, &world, &["--no-cache"]));

    output.assert_code(0);
    assert_eq!(
        output.field("EWS URL:"),
        Some("https://mail.example.com/EWS/Exchange.asmx")
    );
    assert_eq!(output.field("SMTP address:"), Some("alice@example.com"));
    assert_eq!(
        output.field("Display name:"),
        Some("Alice Ångström-Ñúñez & Co")
    );
    assert_eq!(
        output.field("Endpoint:"),
        Some("https://example.com/autodiscover/autodiscover.svc (SOAP)")
    );
    assert_eq!(
        output.field("Found by:"),
        Some("step 1 (domain), no redirects")
    );

    let report = &output.stdout;
    for expected in [
        "Warnings:\n  - setting ExternalMailboxServer not returned: SettingIsNotAvailable",
        "\nOther settings:\n",
        "  ExternalWebClientUrls:\n    - https://mail.example.com/owa/ (sign-in: Fba)\n",
        "  ExternalImap4Connections:\n    - imap.example.com:993, encryption SSL\n    - imap.example.com (no valid port), encryption TLS\n",
        "  AlternateMailboxes:\n    - DisplayName: In-Place Archive - Alice\n",
        "  FutureTextSetting: future value\n",
        "  InternalEwsUrl: (empty)\n",
    ] {
        assert!(report.contains(expected), "missing {expected:?} in:\n{report}");
    }
    assert!(
        !report.contains("  UserDisplayName:"),
        "shown above: {report}"
    );

    // The server sent no challenge, so the password never left the process.
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].sni.as_deref(), Some("example.com"));
    assert!(!requests[0].has_header("Authorization"));
}

#[test]
fn live_json_document_has_settings() {
    let (world, _server) = settings_world();
    let sandbox = Sandbox::new();
    let output = Output::of(&mut discover(&sandbox, &world, &["--no-cache", "--json"]));

    output.assert_code(0);
    let document = output.json();
    assert_eq!(document["ok"], true);
    assert_eq!(
        document["ews_url"],
        "https://mail.example.com/EWS/Exchange.asmx"
    );
    let settings = &document["settings"];
    assert_eq!(settings["ExternalImap4Connections"][0]["port"], 993);
    assert!(settings["ExternalImap4Connections"][1]["port"].is_null());
    assert_eq!(
        settings["ExternalWebClientUrls"][1]["authentication_methods"],
        "Ntlm, WindowsIntegrated"
    );
    assert_eq!(settings["AlternateMailboxes"][0]["Type"], "Archive");
    let warnings = document["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}

#[test]
fn live_record_then_replay_matches() {
    let (world, _server) = settings_world();
    let sandbox = Sandbox::new();
    let transcript = sandbox.path("run.transcript");
    let cache = sandbox.path("endpoints.json");
    let live = Output::of(&mut discover(
        &sandbox,
        &world,
        &[
            "--record",
            transcript.to_str().unwrap(),
            "--cache-file",
            cache.to_str().unwrap(),
        ],
    ));
    live.assert_code(0);

    let text = std::fs::read_to_string(&transcript).expect("--record wrote the transcript");
    assert!(text.contains("email alice@example.com"), "{text}");
    assert!(
        !text.contains(PASSWORD),
        "the transcript contains the password"
    );

    // The world is gone: the replay cannot reach it, and needs nothing from it.
    drop(world);
    let replayed = sandbox.run(&["--replay", transcript.to_str().unwrap()]);
    replayed.assert_code(0);
    assert_eq!(replayed.stdout, live.stdout);
    assert!(
        !replayed.stderr.contains("note:"),
        "the replay meets the recorded expectations: {}",
        replayed.stderr
    );
}

#[test]
fn live_cache_file_remembers_endpoint() {
    let (world, server) = settings_world();
    let sandbox = Sandbox::new();
    let cache = sandbox.path("endpoints.json");
    let args = ["--cache-file", cache.to_str().unwrap()];

    let first = Output::of(&mut discover(&sandbox, &world, &args));
    first.assert_code(0);
    assert_eq!(
        first.field("Found by:"),
        Some("step 1 (domain), no redirects")
    );
    assert!(cache.exists(), "the first run writes the cache file");

    let second = Output::of(&mut discover(&sandbox, &world, &args));
    second.assert_code(0);
    assert_eq!(
        second.field("Found by:"),
        Some("cached endpoint, no redirects")
    );
    assert_eq!(server.request_count(), 2);
}

#[test]
fn live_rejected_credentials_stay_secret() {
    let world = World::start().expect("the test world starts");
    let challenge = Response::new(401).header("WWW-Authenticate", "Basic realm=\"example.com\"");
    let server = world
        .https(
            &["example.com"],
            Routes::new().route("POST", SOAP_PATH, challenge),
        )
        .expect("the HTTPS server starts");
    let sandbox = Sandbox::new();
    let transcript = sandbox.path("rejected.transcript");
    let output = Output::of(&mut discover(
        &sandbox,
        &world,
        &[
            "-vv",
            "--no-cache",
            "--record",
            transcript.to_str().unwrap(),
        ],
    ));

    output.assert_code(3);
    assert!(
        output.stderr.contains("error: credentials rejected by https://example.com/autodiscover/autodiscover.svc (offers Basic)"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("--username, now alice@example.com"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("wire::http"),
        "-vv shows the bodies: {}",
        output.stderr
    );

    let sent = server
        .requests()
        .iter()
        .find_map(|request| request.header("Authorization").map(str::to_owned))
        .expect("the driver answered the Basic challenge");
    let encoded = sent.strip_prefix("Basic ").expect("Basic credentials");
    let recorded = std::fs::read_to_string(&transcript).unwrap();
    for (name, text) in [
        ("stdout", &output.stdout),
        ("stderr", &output.stderr),
        ("transcript", &recorded),
    ] {
        assert!(!text.contains(PASSWORD), "the password is in {name}");
        assert!(
            !text.contains(encoded),
            "the encoded credentials are in {name}"
        );
    }
}

#[test]
fn live_basic_upfront_sends_credentials_first() {
    let (world, server) = settings_world();
    let sandbox = Sandbox::new();
    let output = Output::of(&mut discover(
        &sandbox,
        &world,
        &[
            "--no-cache",
            "--basic-upfront",
            "--username",
            "EXAMPLE\\alice",
        ],
    ));

    output.assert_code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let header = requests[0].header("Authorization").unwrap_or_default();
    assert!(header.starts_with("Basic "), "{header:?}");
}

#[test]
fn live_not_found_lists_candidates() {
    // No host is mapped: every name gets NXDOMAIN from the world's DNS server.
    let world = World::start().expect("the test world starts");
    let sandbox = Sandbox::new();
    let output = Output::of(&mut discover(&sandbox, &world, &["--no-cache", "--json"]));

    output.assert_code(1);
    let document = output.json();
    assert_eq!(document["error"]["kind"], "not_found");
    let steps: Vec<&str> = document["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| attempt["step_label"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["step 1", "step 2", "step 3", "step 4"]);
    let hints = document["hints"].as_array().unwrap();
    assert!(
        hints[0]
            .as_str()
            .unwrap()
            .starts_with("No candidate host resolved"),
        "{hints:?}"
    );
}

#[test]
fn live_deadline_exceeded_exits_6() {
    let world = World::start().expect("the test world starts");
    world
        .https(&["example.com"], Reply::BlackHole)
        .expect("the HTTPS server starts");
    let sandbox = Sandbox::new();
    let output = Output::of(&mut discover(
        &sandbox,
        &world,
        &["--no-cache", "--deadline", "1"],
    ));

    output.assert_code(6);
    assert!(
        output
            .stderr
            .contains("error: discovery did not finish within 1 s"),
        "{}",
        output.stderr
    );
}

#[test]
fn live_unreadable_ca_file_is_local_error() {
    let world = World::start().expect("the test world starts");
    let sandbox = Sandbox::new();
    let garbage = sandbox.path("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = sandbox.path("missing.pem");

    for path in [&missing, &garbage] {
        let mut command = sandbox.command();
        command.args([
            "--json",
            "--no-cache",
            "--nameserver",
            &world.dns().addr().to_string(),
            "--ca-file",
            path.to_str().unwrap(),
            "alice@example.com",
        ]);
        let output = Output::of(&mut command);

        output.assert_code(7);
        let document = output.json();
        assert_eq!(document["error"]["kind"], "ca_file", "{}", path.display());
    }
    assert!(
        world.dns().queries().is_empty(),
        "no lookup before the CA file is read"
    );
}

#[test]
fn live_verbose_shows_requests_and_answers() {
    let (world, _server) = settings_world();
    let sandbox = Sandbox::new();
    let output = Output::of(&mut discover(&sandbox, &world, &["-v", "--no-cache"]));

    output.assert_code(0);
    let log = &output.stderr;
    assert!(log.contains("DNS A example.com"), "{log}");
    assert!(
        log.contains("POST https://example.com/autodiscover/autodiscover.svc"),
        "{log}"
    );
    assert!(log.contains("status=200"), "{log}");
    assert!(log.contains("result=returned settings"), "{log}");
    assert!(!log.contains("wire::http"), "bodies need -vv: {log}");
    assert!(!log.contains("<soap:Envelope"), "bodies need -vv: {log}");
}

#[test]
fn live_unknown_issuer_hints_ca_file() {
    // Without --ca-file the test CA is unknown, so every HTTPS candidate fails its
    // certificate check with rustls' UnknownIssuer.
    let (world, server) = settings_world();
    let sandbox = Sandbox::new();
    let mut args = world_args(&world);
    let at = args
        .iter()
        .position(|arg| arg == "--ca-file")
        .expect("the world's options name the CA file");
    args.drain(at..at + 2);
    let output = Output::of(sandbox.command().args(args).args([
        "--no-cache",
        "--deadline",
        "30",
        "alice@example.com",
    ]));

    output.assert_code(1);
    let report = &output.stderr;
    assert!(
        report.contains("invalid peer certificate: UnknownIssuer"),
        "{report}"
    );
    assert!(
        report.contains("\nCheck next:\n  - The TLS certificate of https://example.com/autodiscover/autodiscover.svc was issued by a CA that is not trusted (UnknownIssuer)."),
        "{report}"
    );
    assert_eq!(
        server.request_count(),
        0,
        "a request crossed a failed handshake"
    );
}
