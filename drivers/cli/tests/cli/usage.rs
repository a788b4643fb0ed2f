//! Usage errors: exit code 2 and a message that names the problem, before any network use.

use crate::common::Sandbox;

#[test]
fn missing_email_is_usage_error() {
    let output = Sandbox::new().run(&[]);

    output.assert_code(2);
    assert!(output.stderr.contains("<EMAIL>"), "{}", output.stderr);
}

#[test]
fn invalid_email_is_usage_error() {
    let output = Sandbox::new().run(&["--no-cache", "alice@localhost"]);

    output.assert_code(2);
    assert!(
        output
            .stderr
            .contains("invalid email address \"alice@localhost\""),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("single label"), "{}", output.stderr);
}

#[test]
fn unknown_setting_lists_valid_names() {
    let output = Sandbox::new().run(&[
        "--no-cache",
        "--settings",
        "ExternalEwsUrl,Bogus",
        "alice@example.com",
    ]);

    output.assert_code(2);
    let message = &output.stderr;
    assert!(message.contains("unknown setting \"Bogus\""), "{message}");
    assert!(message.contains("valid settings are:"), "{message}");
    assert!(message.contains("InternalEwsUrl"), "{message}");
    assert!(message.contains("AutoDiscoverSMTPAddress"), "{message}");
}

#[test]
fn unknown_setting_in_json_mode() {
    let output = Sandbox::new().run(&[
        "--json",
        "--no-cache",
        "--settings",
        "Bogus",
        "alice@example.com",
    ]);

    output.assert_code(2);
    let document = output.json();
    assert_eq!(document["ok"], false);
    assert_eq!(document["exit_code"], 2);
    assert_eq!(document["error"]["kind"], "unknown_setting");
}

#[test]
fn settings_with_pox_is_usage_error() {
    let output = Sandbox::new().run(&[
        "--no-cache",
        "--flavor",
        "pox",
        "--settings",
        "ExternalEwsUrl",
        "alice@example.com",
    ]);

    output.assert_code(2);
    assert!(output.stderr.contains("--flavor soap"), "{}", output.stderr);
}

#[test]
fn bad_connect_to_is_usage_error() {
    let sandbox = Sandbox::new();
    for value in [
        "autodiscover.example.com:443",
        "autodiscover.example.com:443:::1:8443",
        "autodiscover.example.com:99999:127.0.0.1:8443",
    ] {
        let output = sandbox.run(&["--no-cache", "--connect-to", value, "alice@example.com"]);
        output.assert_code(2);
        assert!(
            output.stderr.contains("HOST:PORT:ADDR:PORT"),
            "{value}: {}",
            output.stderr
        );
        assert!(output.stderr.contains(value), "{value}: {}", output.stderr);
    }
}

#[test]
fn bad_numbers_are_usage_errors() {
    let sandbox = Sandbox::new();
    for (option, value) in [
        ("--timeout", "0"),
        ("--timeout", "soon"),
        ("--deadline", "-5"),
        ("--nameserver", "dns.example.com"),
        ("--nameserver", "0.0.0.0:53"),
    ] {
        let argument = format!("{option}={value}");
        let output = sandbox.run(&[&argument, "--no-cache", "alice@example.com"]);
        output.assert_code(2);
        assert!(
            output
                .stderr
                .contains(&format!("invalid value '{value}' for '{option}")),
            "{argument}: {}",
            output.stderr
        );
    }
}

#[test]
fn replay_conflicts_with_network_options() {
    let sandbox = Sandbox::new();
    for args in [
        ["--nameserver", "127.0.0.1:53"],
        ["--flavor", "pox"],
        ["--record", "out.transcript"],
        ["--cache-file", "cache.json"],
    ] {
        let output = sandbox.run(&["--replay", "any.transcript", args[0], args[1]]);
        output.assert_code(2);
        assert!(
            output.stderr.contains("cannot be used with"),
            "{args:?}: {}",
            output.stderr
        );
    }
}

#[test]
fn password_on_command_line_is_rejected() {
    let output = Sandbox::new().run(&["--password", "hunter2", "alice@example.com"]);

    output.assert_code(2);
    assert!(
        output.stderr.contains("unexpected argument '--password'"),
        "{}",
        output.stderr
    );
}

#[test]
fn both_password_and_token_is_usage_error() {
    let sandbox = Sandbox::new();
    let output = crate::common::Output::of(
        sandbox
            .command()
            .env("AUTODISCOVER_PASSWORD", "hunter2")
            .env("AUTODISCOVER_TOKEN", "token")
            .args(["--no-cache", "alice@example.com"]),
    );

    output.assert_code(2);
    assert!(
        output
            .stderr
            .contains("both AUTODISCOVER_TOKEN and AUTODISCOVER_PASSWORD are set"),
        "{}",
        output.stderr
    );
}

#[test]
fn basic_upfront_needs_password() {
    let output = Sandbox::new().run(&["--no-cache", "--basic-upfront", "alice@example.com"]);

    output.assert_code(2);
    assert!(
        output.stderr.contains("--basic-upfront needs a password"),
        "{}",
        output.stderr
    );
}

#[test]
fn help_lists_exit_codes() {
    let output = Sandbox::new().run(&["--help"]);

    output.assert_code(0);
    assert!(output.stdout.contains("Exit codes:"), "{}", output.stdout);
    for code in [
        "  0  ", "  1  ", "  2  ", "  3  ", "  4  ", "  5  ", "  6  ", "  7  ",
    ] {
        assert!(output.stdout.contains(code), "{code:?}: {}", output.stdout);
    }
    assert!(output.stdout.contains("in seconds"), "{}", output.stdout);
}

#[test]
fn broad_trust_is_usage_error() {
    let sandbox = Sandbox::new();
    for (value, reason) in [
        (".com", "every host under the top-level domain \"com\""),
        ("*.com", "every host under the top-level domain \"com\""),
        ("com", "single label"),
        ("*", "names no host"),
        ("", "names no host"),
    ] {
        let argument = format!("--trust={value}");
        let output = sandbox.run(&[&argument, "--no-cache", "alice@example.com"]);

        output.assert_code(2);
        assert!(
            output
                .stderr
                .contains(&format!("invalid value '{value}' for '--trust <HOST>'")),
            "{argument}: {}",
            output.stderr
        );
        assert!(
            output.stderr.contains(reason),
            "{argument}: {}",
            output.stderr
        );
    }
}

#[test]
fn bracketed_nameserver_without_port_is_accepted() {
    // The invalid address stops the run before any lookup, so the nameserver is never queried.
    // Reaching that check shows that `--nameserver [::1]` parsed.
    let output = Sandbox::new().run(&[
        "--nameserver",
        "[::1]",
        "--trust",
        ".example.net",
        "--no-cache",
        "alice@localhost",
    ]);

    output.assert_code(2);
    assert!(
        output.stderr.contains("invalid email address"),
        "{}",
        output.stderr
    );
}

#[test]
fn help_states_exit_code_five_precisely() {
    let output = Sandbox::new().run(&["--help"]);

    output.assert_code(0);
    assert!(
        output
            .stdout
            .contains("  5  address redirect loop, or too many redirects\n"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("[2001:db8::53] (port 53 when omitted)"),
        "{}",
        output.stdout
    );
}
