//! The report for people: the discovery on standard output, failures on standard error.
//!
//! Every text that a server or a transcript supplied goes through [`escape_controls`]: setting
//! names and values, addresses, URLs, messages and the reasons in the trace. So it cannot move
//! the cursor, recolour the terminal or forge a line of the report. The texts this module adds
//! itself contain no control characters, so whole lines are escaped.

use std::fmt::Write as _;

use autodiscover::settings::{ProtocolConnection, WebClientUrl};
use autodiscover::{Attempt, Discovery, Error, Flavor, SettingValue};

use crate::exit::Failure;
use crate::explain;
use crate::run::Session;
use crate::terminal::escape_controls;

/// Width of the labels of the summary lines, so that the values line up.
const LABEL_WIDTH: usize = 16;

/// Renders what a discovery found.
pub fn discovery(discovery: &Discovery) -> String {
    let mut out = String::new();
    let ews_url = discovery
        .ews_url
        .as_ref()
        .map_or_else(|| "(none)".to_owned(), |url| url.to_string());
    line(&mut out, "EWS URL:", &ews_url);
    line(&mut out, "SMTP address:", &discovery.smtp_address);
    if let Some(redirected) = &discovery.redirected_email {
        line(&mut out, "Address used:", redirected);
    }
    line(
        &mut out,
        "Display name:",
        discovery.display_name.as_deref().unwrap_or("(none)"),
    );
    line(
        &mut out,
        "Server version:",
        discovery.server_version.as_deref().unwrap_or("(none)"),
    );
    let flavor = match discovery.flavor {
        Flavor::Soap => "SOAP",
        Flavor::Pox => "POX",
    };
    line(
        &mut out,
        "Endpoint:",
        &format!("{} ({flavor})", discovery.endpoint),
    );
    let redirects = match discovery.redirects.len() {
        0 => "no redirects".to_owned(),
        1 => "after 1 redirect".to_owned(),
        count => format!("after {count} redirects"),
    };
    line(
        &mut out,
        "Found by:",
        &format!("{}, {redirects}", discovery.step),
    );

    if !discovery.redirects.is_empty() {
        out.push_str("Redirects:\n");
        for (number, redirect) in discovery.redirects.iter().enumerate() {
            let redirect = redirect.to_string();
            let _ = writeln!(out, "  {}. {}", number + 1, escape_controls(&redirect));
        }
    }
    if !discovery.warnings.is_empty() {
        out.push_str("Warnings:\n");
        for warning in &discovery.warnings {
            let warning = explain::warning_text(warning);
            let _ = writeln!(out, "  - {}", escape_controls(&warning));
        }
    }

    let summarized = shown_settings(discovery);
    let others: Vec<(&str, &SettingValue)> = discovery
        .settings
        .iter()
        .filter(|(name, _)| !summarized.contains(name))
        .collect();
    if !others.is_empty() {
        out.push_str("\nOther settings:\n");
        for (name, value) in others {
            setting(&mut out, name, value);
        }
    }
    out
}

/// Renders a failed discovery: what failed, every attempt, and what to check next.
pub fn discovery_failure(session: &Session, error: &Error) -> String {
    let mut out = String::new();
    let summary = explain::summary(error);
    let _ = writeln!(out, "error: {}", escape_controls(&summary));

    let trace = error.trace();
    if !trace.is_empty() {
        out.push_str("Tried:\n");
        for (number, attempt) in trace.iter().enumerate() {
            attempt_lines(&mut out, number + 1, attempt, &session.email);
        }
    }
    hint_lines(&mut out, &explain::hints(error, &session.context));
    out
}

/// Renders a usage or local failure.
pub fn failure(failure: &Failure) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "error: {}", escape_controls(&failure.message));
    hint_lines(&mut out, &failure.hints);
    out
}

fn line(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "{label:<LABEL_WIDTH$}{}", escape_controls(value));
}

fn hint_lines(out: &mut String, hints: &[String]) {
    if hints.is_empty() {
        return;
    }
    out.push_str("Check next:\n");
    for hint in hints {
        let _ = writeln!(out, "  - {}", escape_controls(hint));
    }
}

/// Writes one attempt as two lines: the step and target, then what happened.
fn attempt_lines(out: &mut String, number: usize, attempt: &Attempt, email: &str) {
    let _ = write!(
        out,
        "  {number}. {:<7} {}",
        attempt.step.label(),
        escape_controls(&attempt.target)
    );
    if !attempt.email.eq_ignore_ascii_case(email) {
        let _ = write!(out, " (for {})", escape_controls(&attempt.email));
    }
    let result = attempt.result.to_string();
    let _ = writeln!(out, "\n     {}", escape_controls(&result));
}

/// Returns the names of the settings whose values the summary lines already show, chosen the
/// way the core fills those fields.
fn shown_settings(discovery: &Discovery) -> Vec<&'static str> {
    let settings = &discovery.settings;
    let mut shown = vec!["UserDisplayName", "AutoDiscoverSMTPAddress"];
    if discovery.ews_url.is_some() {
        if discovery.external_ews_url.is_some() {
            shown.push("ExternalEwsUrl");
        } else {
            shown.push("InternalEwsUrl");
        }
    }
    if let Some(version) = ["CasVersion", "ExternalEwsVersion", "ServerVersion"]
        .into_iter()
        .find(|name| settings.text(name).is_some())
    {
        shown.push(version);
    }
    shown
}

/// Writes one setting: text on the name's line, collections as indented lists.
fn setting(out: &mut String, name: &str, value: &SettingValue) {
    let name = escape_controls(name);
    match value {
        SettingValue::Text(text) if text.is_empty() => {
            let _ = writeln!(out, "  {name}: (empty)");
        }
        SettingValue::Text(text) => {
            let _ = writeln!(out, "  {name}: {}", escape_controls(text));
        }
        SettingValue::WebClientUrls(urls) => {
            list_heading(out, &name, urls.is_empty());
            for url in urls {
                let _ = writeln!(out, "    - {}", escape_controls(&web_client_url(url)));
            }
        }
        SettingValue::ProtocolConnections(connections) => {
            list_heading(out, &name, connections.is_empty());
            for connection in connections {
                let text = protocol_connection(connection);
                let _ = writeln!(out, "    - {}", escape_controls(&text));
            }
        }
        SettingValue::Records(records) => {
            list_heading(out, &name, records.is_empty());
            for record in records {
                if record.is_empty() {
                    out.push_str("    - (empty)\n");
                }
                for (index, (field, text)) in record.iter().enumerate() {
                    let bullet = if index == 0 { "- " } else { "  " };
                    let _ = writeln!(
                        out,
                        "    {bullet}{}: {}",
                        escape_controls(field),
                        escape_controls(text)
                    );
                }
            }
        }
    }
}

fn list_heading(out: &mut String, name: &str, empty: bool) {
    if empty {
        let _ = writeln!(out, "  {name}: (none)");
    } else {
        let _ = writeln!(out, "  {name}:");
    }
}

fn web_client_url(url: &WebClientUrl) -> String {
    if url.authentication_methods.is_empty() {
        url.url.clone()
    } else {
        format!("{} (sign-in: {})", url.url, url.authentication_methods)
    }
}

fn protocol_connection(connection: &ProtocolConnection) -> String {
    let mut text = match connection.port {
        Some(port) => format!("{}:{port}", connection.hostname),
        None => format!("{} (no valid port)", connection.hostname),
    };
    if !connection.encryption_method.is_empty() {
        let _ = write!(text, ", encryption {}", connection.encryption_method);
    }
    text
}
