//! Closed output streams: a reader that exits before the report is written, as in
//! `autodiscover --json --replay FILE | true`. The binary must not panic, and keeps the exit
//! code of the outcome.

use std::process::Stdio;

use crate::common::{transcript, Output, Sandbox};

/// Returns the write end of a pipe whose read end is already closed, so that every write to
/// it fails with a broken pipe.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Stdio::from(writer)
}

#[test]
fn closed_stdout_keeps_exit_code() {
    let sandbox = Sandbox::new();
    let found = transcript("soap-step1-answers.transcript");
    let rejected = transcript("soap-only-401s.transcript");
    let cases = [
        (vec!["--json", "--replay", found.to_str().unwrap()], 0),
        (vec!["--replay", found.to_str().unwrap()], 0),
        (vec!["--json", "--replay", rejected.to_str().unwrap()], 3),
    ];
    for (args, code) in cases {
        let output = Output::of(sandbox.command().args(&args).stdout(closed_pipe()));

        assert_eq!(output.code, code, "{args:?}: {}", output.stderr);
        assert_eq!(output.stderr, "", "{args:?} printed on stderr");
    }
}

#[test]
fn closed_stderr_keeps_exit_code() {
    let sandbox = Sandbox::new();
    let rejected = transcript("soap-only-401s.transcript");
    let found = transcript("soap-step1-answers.transcript");
    let cases = [
        // The failure report goes to standard error.
        (vec!["--replay", rejected.to_str().unwrap()], 3),
        // -v logs every step on standard error.
        (vec!["-v", "--replay", found.to_str().unwrap()], 0),
        (vec!["--replay", "/nonexistent/missing.transcript"], 7),
    ];
    for (args, code) in cases {
        let output = Output::of(sandbox.command().args(&args).stderr(closed_pipe()));

        assert_eq!(output.code, code, "{args:?}: {}", output.stdout);
    }
}

#[test]
fn closed_stdout_and_stderr_keep_exit_code() {
    let sandbox = Sandbox::new();
    let found = transcript("soap-step1-answers.transcript");
    let output = Output::of(
        sandbox
            .command()
            .args(["-v", "--replay", found.to_str().unwrap()])
            .stdout(closed_pipe())
            .stderr(closed_pipe()),
    );

    assert_eq!(output.code, 0);
}

#[cfg(target_os = "linux")]
#[test]
fn full_stdout_is_local_error() {
    // Writes to /dev/full fail with "no space left on device", which is not a broken pipe.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("Linux has /dev/full");
    let sandbox = Sandbox::new();
    let found = transcript("soap-step1-answers.transcript");
    let output = Output::of(
        sandbox
            .command()
            .args(["--json", "--replay", found.to_str().unwrap()])
            .stdout(full),
    );

    output.assert_code(7);
    assert!(
        output
            .stderr
            .starts_with("error: failed to write the report to standard output: "),
        "{}",
        output.stderr
    );
}
