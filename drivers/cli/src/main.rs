//! `autodiscover`: finds the EWS URL and settings of an Exchange mailbox from its address.
//!
//! ```text
//! autodiscover alice@example.com                  # report for people
//! autodiscover --json alice@example.com           # one JSON document for scripts
//! autodiscover -v --record run.transcript alice@example.com
//! autodiscover --replay run.transcript            # offline, no network at all
//! ```
//!
//! The program runs the sans-IO [`autodiscover`] core on the smol driver
//! ([`autodiscover_smol`]), or, with `--replay`, on a recorded transcript through
//! [`autodiscover_transcript::replay`]. `--help` lists every option with its unit.
//!
//! # Output
//!
//! On success standard output gets the EWS URL, the SMTP address, the display name, the
//! server version, the endpoint that returned them and the step that found it, the redirects
//! followed, the warnings, and then the other settings. On failure standard error gets the
//! error, every candidate tried with the reason it failed, and what to check next. `--json`
//! prints one JSON document on standard output instead, in both cases. The one exception is an
//! error that the argument parser finds (an unknown option, a missing EMAIL, an invalid
//! value), which is always printed as text on standard error, with exit code 2.
//!
//! # Credentials
//!
//! The password comes from `AUTODISCOVER_PASSWORD`, or from a prompt without echo when
//! standard input is a terminal; a bearer token comes from `AUTODISCOVER_TOKEN`. Neither is
//! ever read from the command line. The driver sends them only over https to trusted hosts
//! (the email domain, its subdomains, Microsoft 365's hosts and each `--trust HOST`).
//!
//! # Exit codes
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | settings found (or, with `--clear-cache` alone, the cache cleared) |
//! | 1 | not found: no Autodiscover endpoint returned settings, or the server failed |
//! | 2 | usage error: invalid option, email address or setting name |
//! | 3 | credentials rejected, or the endpoint is on a host not trusted with credentials |
//! | 4 | the server reports that the user or the request is invalid |
//! | 5 | address redirect loop, or too many redirects |
//! | 6 | timed out: the deadline passed, or every candidate timed out |
//! | 7 | local error: CA file, cache, transcript or system DNS configuration unusable |
//!
//! A discovery that ends because the server reported a failure of its own (`server_failed`)
//! or at the core's safety bound on actions (`action_limit`) exits with 1.
//! When `--record` cannot write its file the exit code is 7, after the report. A URL redirect
//! loop is not code 5: the core does not request a URL twice for one address, so the loop ends
//! that candidate and discovery goes on, ending as not found (1) when no other candidate
//! returns settings.
//!
//! A closed pipe on standard output or standard error (`autodiscover --json ... | head -c1`)
//! keeps the exit code of the outcome, and nothing more is printed. Any other failure to write
//! standard output, such as a full disk, is reported on standard error with exit code 7.

mod cli;
mod credentials;
mod exit;
mod explain;
mod human;
mod json;
mod logging;
mod output;
mod run;
mod terminal;

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::exit::{Exit, Failure};
use crate::output::Report;
use crate::run::{Finished, Session};
use crate::terminal::escape_controls;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose);

    let mut report = Report::default();
    let exit = match run::execute(&cli) {
        Ok(Finished::Session(session)) => report_session(&cli, &session, &mut report),
        Ok(Finished::CacheCleared(path)) => {
            if cli.json {
                push_json(&json::cache_cleared(&path), &mut report);
            } else {
                let path = path.display().to_string();
                let _ = writeln!(
                    report.stdout,
                    "Cleared the endpoint cache at {}.",
                    escape_controls(&path)
                );
            }
            Exit::Found
        }
        Err(failure) => report_failure(&cli, &failure, &mut report),
    };
    ExitCode::from(output::emit(&report, exit).code())
}

/// Renders a discovery's outcome into `report` and returns the exit code.
fn report_session(cli: &Cli, session: &Session, report: &mut Report) -> Exit {
    let exit = match (&session.outcome, &session.record_failure) {
        (_, Some(failure)) => failure.exit,
        (Ok(_), None) => Exit::Found,
        (Err(error), None) => Exit::of_error(error),
    };

    if cli.json {
        push_json(&json::session(session, exit), report);
        return exit;
    }

    match &session.outcome {
        Ok(discovery) => report.stdout.push_str(&human::discovery(discovery)),
        Err(error) => report
            .stderr
            .push_str(&human::discovery_failure(session, error)),
    }
    for note in &session.notes {
        let _ = writeln!(report.stderr, "note: {}", escape_controls(note));
    }
    if let Some(failure) = &session.record_failure {
        report.stderr.push_str(&human::failure(failure));
    }
    exit
}

/// Renders a usage or local failure into `report` and returns its exit code.
fn report_failure(cli: &Cli, failure: &Failure, report: &mut Report) -> Exit {
    if cli.json {
        push_json(&json::failure(cli.email.as_deref(), failure), report);
    } else {
        report.stderr.push_str(&human::failure(failure));
    }
    failure.exit
}

fn push_json(document: &serde_json::Value, report: &mut Report) {
    match serde_json::to_string_pretty(document) {
        Ok(text) => {
            report.stdout.push_str(&text);
            report.stdout.push('\n');
        }
        // Only a map with non-string keys fails to serialize, and the documents have none.
        Err(error) => {
            let _ = writeln!(
                report.stderr,
                "error: failed to write the JSON document: {error}"
            );
        }
    }
}
