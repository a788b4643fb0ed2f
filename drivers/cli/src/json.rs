//! The `--json` document: one object on standard output, on success and on failure.
//!
//! Every document has `ok` (bool), `exit_code` and `email` (the address asked for, or null).
//! A success adds the discovery's fields, `settings`, `redirects`, `warnings` and `trace`. A
//! failure adds `error` (`kind`, `message`, `details`), `hints` and `trace`. Each trace entry
//! has `step`, `step_label`, `target`, `email`, `result` (a sentence) and `detail` (the
//! result as data).

use std::path::Path;

use autodiscover::{Attempt, Discovery, Error, Redirect};
use serde_json::{json, Map, Value};

use crate::exit::{Exit, Failure};
use crate::explain;
use crate::run::Session;

/// Builds the document of a discovery that ran.
pub fn session(session: &Session, exit: Exit) -> Value {
    let mut document = match &session.outcome {
        Ok(discovery) => found(discovery),
        Err(error) => failed(error, &explain::hints(error, &session.context)),
    };
    let object = document
        .as_object_mut()
        .expect("found and failed build objects");
    object.insert("exit_code".to_owned(), json!(exit.code()));
    object.insert("email".to_owned(), json!(session.email));
    if !session.notes.is_empty() {
        object.insert("notes".to_owned(), json!(session.notes));
    }
    if let Some(failure) = &session.record_failure {
        object.insert("record_error".to_owned(), failure_object(failure));
    }
    document
}

/// Builds the document of a usage or local failure.
pub fn failure(email: Option<&str>, failure: &Failure) -> Value {
    json!({
        "ok": false,
        "exit_code": failure.exit.code(),
        "email": email,
        "error": failure_object(failure),
        "hints": failure.hints,
        "trace": [],
    })
}

/// Builds the document of `--clear-cache` without an address.
pub fn cache_cleared(path: &Path) -> Value {
    json!({
        "ok": true,
        "exit_code": Exit::Found.code(),
        "email": null,
        "cache_cleared": path.display().to_string(),
    })
}

fn failure_object(failure: &Failure) -> Value {
    json!({
        "kind": failure.kind,
        "message": failure.message,
    })
}

fn found(discovery: &Discovery) -> Value {
    let warnings: Vec<Value> = discovery
        .warnings
        .iter()
        .map(|warning| json!({ "message": explain::warning_text(warning), "detail": warning }))
        .collect();
    json!({
        "ok": true,
        "ews_url": discovery.ews_url,
        "external_ews_url": discovery.external_ews_url,
        "internal_ews_url": discovery.internal_ews_url,
        "smtp_address": discovery.smtp_address,
        "redirected_email": discovery.redirected_email,
        "display_name": discovery.display_name,
        "server_version": discovery.server_version,
        "endpoint": discovery.endpoint,
        "flavor": discovery.flavor,
        "step": discovery.step,
        "step_label": discovery.step.label(),
        "redirects": discovery.redirects.iter().map(redirect).collect::<Vec<_>>(),
        "warnings": warnings,
        "settings": discovery.settings,
        "trace": trace(&discovery.trace),
    })
}

fn failed(error: &Error, hints: &[String]) -> Value {
    json!({
        "ok": false,
        "error": {
            "kind": error.kind(),
            "message": explain::summary(error),
            "details": details(error),
        },
        "hints": hints,
        "trace": trace(error.trace()),
    })
}

/// Returns the variant's fields other than the trace, as data.
fn details(error: &Error) -> Value {
    match error {
        Error::NotFound { email, .. } => json!({ "email": email }),
        Error::CredentialsRejected { challenges, .. } => json!({ "challenges": challenges }),
        Error::UntrustedHost { host, url, .. } => json!({ "host": host, "url": url }),
        Error::InvalidUser {
            email, url, error, ..
        } => json!({ "email": email, "url": url, "server_error": error }),
        Error::InvalidRequest { url, error, .. } | Error::ServerFailed { url, error, .. } => {
            json!({ "url": url, "server_error": error })
        }
        Error::RedirectLoop { addresses, .. } => json!({ "addresses": addresses }),
        Error::TooManyRedirects { limit, .. } | Error::ActionLimit { limit, .. } => {
            json!({ "limit": limit })
        }
        Error::DeadlineExceeded { milliseconds, .. } => json!({ "milliseconds": milliseconds }),
        _ => Value::Object(Map::new()),
    }
}

fn redirect(redirect: &Redirect) -> Value {
    match redirect {
        Redirect::Url { from, to } => json!({ "kind": "url", "from": from, "to": to }),
        Redirect::Address { from, to } => json!({ "kind": "address", "from": from, "to": to }),
    }
}

fn trace(attempts: &[Attempt]) -> Vec<Value> {
    attempts
        .iter()
        .map(|attempt| {
            json!({
                "step": attempt.step,
                "step_label": attempt.step.label(),
                "target": attempt.target,
                "email": attempt.email,
                "result": attempt.result.to_string(),
                "detail": attempt.result,
            })
        })
        .collect()
}
