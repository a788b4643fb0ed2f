//! The `--json` document: one object on standard output, on success and on failure.
//!
//! Every document has `ok` (bool), `exit_code` and `email` (the address asked for, or null).
//! A success adds the discovery's fields, `settings`, `redirects`, `warnings` and `trace`. A
//! failure adds `error` (`kind`, `message`, `details`), `hints` and `trace`. Each trace entry
//! has `step`, `step_label`, `target`, `email`, `result` (a sentence) and `detail` (the
//! result as data).
//!
//! Every name in the data is snake_case. A trace `detail`, a warning's `detail` and the
//! nested errors in them are written the same way: a kind without fields is a string
//! (`"settings"`, `{"transport": "connection_refused"}`), and a kind with fields is an object
//! with one key, the kind, whose value contains the fields (`{"http_status": {"status": 500}}`,
//! `{"transport": {"truncated": "..."}}`, `{"srv_failed": "no_such_name"}`). A server error
//! has `level` (`request` or `user`), `code` (such as `invalid_user`), `raw_code` (the code
//! exactly as the server wrote it), `message` and `debug_data`. The mapping is written out here
//! instead of derived from the core's types, so that the document keeps this shape when the
//! core's serde names change.

use std::path::Path;

use autodiscover::{
    Attempt, AttemptResult, Discovery, DnsError, Error, ErrorCode, ErrorLevel, Redirect,
    ServerError, TransportError, Warning,
};
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
        .map(|warning| {
            json!({ "message": explain::warning_text(warning), "detail": warning_detail(warning) })
        })
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
        } => json!({ "email": email, "url": url, "server_error": server_error(error) }),
        Error::InvalidRequest { url, error, .. } | Error::ServerFailed { url, error, .. } => {
            json!({ "url": url, "server_error": server_error(error) })
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
                "detail": attempt_detail(&attempt.result),
            })
        })
        .collect()
}

/// Returns a trace result as data, in the shape the module documentation describes.
fn attempt_detail(result: &AttemptResult) -> Value {
    match result {
        AttemptResult::DnsFailed(error) => json!({ "dns_failed": dns_error(error) }),
        AttemptResult::SrvFailed(error) => json!({ "srv_failed": dns_error(error) }),
        AttemptResult::SrvNoUsableRecord => json!("srv_no_usable_record"),
        AttemptResult::Transport(error) => json!({ "transport": transport_error(error) }),
        AttemptResult::TimedOut => json!("timed_out"),
        AttemptResult::HttpStatus { status } => json!({ "http_status": { "status": status } }),
        AttemptResult::Unauthorized {
            schemes,
            credentials_allowed,
        } => json!({
            "unauthorized": { "schemes": schemes, "credentials_allowed": credentials_allowed }
        }),
        AttemptResult::NotAutodiscover { reason } => {
            json!({ "not_autodiscover": { "reason": reason } })
        }
        AttemptResult::ServerError(error) => json!({ "server_error": server_error(error) }),
        AttemptResult::InvalidEndpoint { reason } => {
            json!({ "invalid_endpoint": { "reason": reason } })
        }
        AttemptResult::AlreadyTried => json!("already_tried"),
        AttemptResult::BusyRetrying { retry_in_ms } => {
            json!({ "busy_retrying": { "retry_in_ms": retry_in_ms } })
        }
        AttemptResult::ServerBusy => json!("server_busy"),
        AttemptResult::Redirected { to } => json!({ "redirected": { "to": to } }),
        AttemptResult::RedirectRejected { to, reason } => {
            json!({ "redirect_rejected": { "to": to, "reason": reason } })
        }
        AttemptResult::RedirectedAddress { to } => json!({ "redirected_address": { "to": to } }),
        AttemptResult::RedirectToSameAddress => json!("redirect_to_same_address"),
        AttemptResult::Settings => json!("settings"),
        AttemptResult::NoRedirect { status } => json!({ "no_redirect": { "status": status } }),
        AttemptResult::Abandoned => json!("abandoned"),
    }
}

fn transport_error(error: &TransportError) -> Value {
    match error {
        TransportError::Dns(error) => json!({ "dns": dns_error(error) }),
        TransportError::ConnectionRefused => json!("connection_refused"),
        TransportError::ConnectTimeout => json!("connect_timeout"),
        TransportError::Tls(message) => json!({ "tls": message }),
        TransportError::Timeout => json!("timeout"),
        TransportError::Truncated(message) => json!({ "truncated": message }),
        TransportError::BodyTooLarge { limit } => json!({ "body_too_large": { "limit": limit } }),
        TransportError::InvalidResponse(message) => json!({ "invalid_response": message }),
        TransportError::Io(message) => json!({ "io": message }),
    }
}

fn dns_error(error: &DnsError) -> Value {
    match error {
        DnsError::NoSuchName => json!("no_such_name"),
        DnsError::NoRecords => json!("no_records"),
        DnsError::Timeout => json!("timeout"),
        DnsError::Failed(message) => json!({ "failed": message }),
    }
}

fn server_error(error: &ServerError) -> Value {
    let level = match error.level {
        ErrorLevel::Request => "request",
        ErrorLevel::User => "user",
    };
    json!({
        "level": level,
        "code": error_code(error.code),
        "raw_code": error.raw_code,
        "message": error.message,
        "debug_data": error.debug_data,
    })
}

fn error_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NoError => "no_error",
        ErrorCode::RedirectAddress => "redirect_address",
        ErrorCode::RedirectUrl => "redirect_url",
        ErrorCode::InvalidUser => "invalid_user",
        ErrorCode::InvalidRequest => "invalid_request",
        ErrorCode::InvalidSetting => "invalid_setting",
        ErrorCode::SettingIsNotAvailable => "setting_is_not_available",
        ErrorCode::ServerBusy => "server_busy",
        ErrorCode::InvalidDomain => "invalid_domain",
        ErrorCode::NotFederated => "not_federated",
        ErrorCode::InternalServerError => "internal_server_error",
        ErrorCode::Other => "other",
    }
}

fn warning_detail(warning: &Warning) -> Value {
    match warning {
        Warning::InternalEwsUrlOnly => json!("internal_ews_url_only"),
        Warning::UntrustedEndpoint { host } => json!({ "untrusted_endpoint": { "host": host } }),
        Warning::InsecureEwsUrl { setting } => {
            json!({ "insecure_ews_url": { "setting": setting } })
        }
        Warning::NoEwsUrl => json!("no_ews_url"),
        Warning::InvalidEwsUrl { setting, value } => {
            json!({ "invalid_ews_url": { "setting": setting, "value": value } })
        }
        Warning::Setting {
            setting,
            code,
            message,
        } => json!({
            "setting": { "setting": setting, "code": error_code(*code), "message": message }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_detail_is_snake_case() {
        let cases = [
            (
                AttemptResult::Transport(TransportError::Truncated("closed early".to_owned())),
                json!({ "transport": { "truncated": "closed early" } }),
            ),
            (
                AttemptResult::Transport(TransportError::ConnectionRefused),
                json!({ "transport": "connection_refused" }),
            ),
            (
                AttemptResult::Transport(TransportError::Dns(DnsError::Timeout)),
                json!({ "transport": { "dns": "timeout" } }),
            ),
            (
                AttemptResult::Transport(TransportError::BodyTooLarge { limit: 10 }),
                json!({ "transport": { "body_too_large": { "limit": 10 } } }),
            ),
            (
                AttemptResult::SrvFailed(DnsError::NoSuchName),
                json!({ "srv_failed": "no_such_name" }),
            ),
            (
                AttemptResult::DnsFailed(DnsError::Failed("SERVFAIL".to_owned())),
                json!({ "dns_failed": { "failed": "SERVFAIL" } }),
            ),
            (AttemptResult::Settings, json!("settings")),
            (
                AttemptResult::HttpStatus { status: 500 },
                json!({ "http_status": { "status": 500 } }),
            ),
            (
                AttemptResult::ServerError(ServerError {
                    level: ErrorLevel::User,
                    code: ErrorCode::InvalidUser,
                    raw_code: "InvalidUser".to_owned(),
                    message: "No mailbox.".to_owned(),
                    debug_data: None,
                }),
                json!({ "server_error": {
                    "level": "user",
                    "code": "invalid_user",
                    "raw_code": "InvalidUser",
                    "message": "No mailbox.",
                    "debug_data": null,
                } }),
            ),
        ];
        for (result, expected) in cases {
            assert_eq!(attempt_detail(&result), expected, "{result:?}");
        }
    }

    #[test]
    fn warning_detail_is_snake_case() {
        let warning = Warning::Setting {
            setting: "ExternalMailboxServer".to_owned(),
            code: ErrorCode::SettingIsNotAvailable,
            message: String::new(),
        };
        assert_eq!(
            warning_detail(&warning),
            json!({ "setting": {
                "setting": "ExternalMailboxServer",
                "code": "setting_is_not_available",
                "message": "",
            } })
        );
        assert_eq!(warning_detail(&Warning::NoEwsUrl), json!("no_ews_url"));
    }
}
