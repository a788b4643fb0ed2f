//! Small pieces of the text format shared by the parser, the renderer and the replay log:
//! durations, quoted strings and the names of errors.

use std::time::Duration;

use autodiscover::DnsError;

use crate::model::{HttpFailure, DEFAULT_TLS_MESSAGE, DEFAULT_TRUNCATED_MESSAGE};

/// Parses `250ms`, `30s` or `0` into a duration.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!("invalid duration {text:?}; write milliseconds or seconds, such as 250ms or 30s")
    };
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if let Some(millis) = text.strip_suffix("ms") {
        return millis
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| invalid());
    }
    if let Some(seconds) = text.strip_suffix('s') {
        return seconds
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| invalid());
    }
    Err(invalid())
}

/// Writes a duration as whole seconds when it is one, else as milliseconds.
pub(crate) fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis % 1000 == 0 && millis > 0 {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

/// Parses an offset from the start, written `+250ms` or `+2s`.
pub(crate) fn parse_offset(text: &str) -> Result<Duration, String> {
    let Some(duration) = text.strip_prefix('+') else {
        return Err(format!(
            "invalid time {text:?}; write an offset from the start, such as +250ms"
        ));
    };
    parse_duration(duration)
}

/// Writes an offset from the start as `+<ms>ms`, the form the replay log uses.
pub(crate) fn format_offset(offset: Duration) -> String {
    format!("+{}ms", offset.as_millis())
}

/// Splits a line into whitespace-separated words; a word in double quotes may contain spaces,
/// `\"` and `\\`.
pub(crate) fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        let mut word = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err("a quoted string has no closing quote".to_owned()),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(escaped @ ('"' | '\\')) => word.push(escaped),
                        _ => {
                            return Err(
                                "a backslash in a quoted string must be followed by \" or \\"
                                    .to_owned(),
                            )
                        }
                    },
                    Some(other) => word.push(other),
                }
            }
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                return Err(
                    "a quoted string must be followed by a space or the line end".to_owned(),
                );
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
}

/// Writes `text` in double quotes, escaping `"` and `\`.
pub(crate) fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// The DNS error names a transcript uses, with their meaning.
const DNS_ERROR_NAMES: &str = "nxdomain, no_records, timeout, servfail, failed \"message\"";

/// The SERVFAIL message that `servfail` stands for.
const SERVFAIL: &str = "SERVFAIL";

/// Parses a DNS error from its words, such as `nxdomain` or `failed "refused"`.
pub(crate) fn parse_dns_error(words: &[String]) -> Result<DnsError, String> {
    let detail = words.get(1).cloned();
    let error = match words.first().map(String::as_str) {
        Some("nxdomain") => DnsError::NoSuchName,
        Some("no_records") => DnsError::NoRecords,
        Some("timeout") => DnsError::Timeout,
        Some("servfail") => DnsError::Failed(SERVFAIL.to_owned()),
        Some("failed") => match detail {
            Some(message) => return check_arity(words, 2).map(|()| DnsError::Failed(message)),
            None => {
                return Err(
                    "`failed` needs a message in quotes, such as failed \"refused\"".to_owned(),
                )
            }
        },
        Some(other) => {
            return Err(format!(
                "unknown DNS error {other:?}; use one of: {DNS_ERROR_NAMES}"
            ))
        }
        None => return Err(format!("missing DNS error; use one of: {DNS_ERROR_NAMES}")),
    };
    check_arity(words, 1)?;
    Ok(error)
}

/// Writes a DNS error the way [`parse_dns_error`] reads it.
pub(crate) fn format_dns_error(error: &DnsError) -> String {
    match error {
        DnsError::NoSuchName => "nxdomain".to_owned(),
        DnsError::NoRecords => "no_records".to_owned(),
        DnsError::Timeout => "timeout".to_owned(),
        DnsError::Failed(message) if message == SERVFAIL => "servfail".to_owned(),
        DnsError::Failed(message) => format!("failed {}", quote(message)),
    }
}

/// The transport error names a transcript uses.
const HTTP_FAILURE_NAMES: &str = "dns_nxdomain, dns_no_records, dns_timeout, dns_servfail, \
dns_failed \"message\", connection_refused, connect_timeout, tls [\"message\"], timeout, \
truncated [\"message\"], body_too_large, invalid_response \"message\", io \"message\"";

/// Parses a transport error from its words, such as `connection_refused` or `tls "expired"`.
pub(crate) fn parse_http_failure(words: &[String]) -> Result<HttpFailure, String> {
    let Some(name) = words.first() else {
        return Err(format!("missing error; use one of: {HTTP_FAILURE_NAMES}"));
    };
    if let Some(dns) = name.strip_prefix("dns_") {
        let mut dns_words = words.to_vec();
        dns_words[0] = dns.to_owned();
        return parse_dns_error(&dns_words)
            .map(HttpFailure::Dns)
            .map_err(|message| format!("{message} (after the dns_ prefix)"));
    }
    let detail = words.get(1).cloned();
    let needs_detail = |what: &str| {
        format!("`{what}` needs a message in quotes, such as {what} \"reset by peer\"")
    };
    let failure = match name.as_str() {
        "connection_refused" => HttpFailure::ConnectionRefused,
        "connect_timeout" => HttpFailure::ConnectTimeout,
        "timeout" => HttpFailure::Timeout,
        "body_too_large" => HttpFailure::BodyTooLarge,
        "tls" => HttpFailure::Tls(detail.unwrap_or_else(|| DEFAULT_TLS_MESSAGE.to_owned())),
        "truncated" => {
            HttpFailure::Truncated(detail.unwrap_or_else(|| DEFAULT_TRUNCATED_MESSAGE.to_owned()))
        }
        "invalid_response" => {
            HttpFailure::InvalidResponse(detail.ok_or_else(|| needs_detail(name))?)
        }
        "io" => HttpFailure::Io(detail.ok_or_else(|| needs_detail(name))?),
        other => {
            return Err(format!(
                "unknown transport error {other:?}; use one of: {HTTP_FAILURE_NAMES}"
            ))
        }
    };
    let arity = match failure {
        HttpFailure::Tls(_)
        | HttpFailure::Truncated(_)
        | HttpFailure::InvalidResponse(_)
        | HttpFailure::Io(_) => 2,
        _ => 1,
    };
    check_arity(words, arity)?;
    Ok(failure)
}

/// Writes a transport error the way [`parse_http_failure`] reads it.
pub(crate) fn format_http_failure(failure: &HttpFailure) -> String {
    match failure {
        HttpFailure::Dns(error) => format!("dns_{}", format_dns_error(error)),
        HttpFailure::ConnectionRefused => "connection_refused".to_owned(),
        HttpFailure::ConnectTimeout => "connect_timeout".to_owned(),
        HttpFailure::Tls(message) if message == DEFAULT_TLS_MESSAGE => "tls".to_owned(),
        HttpFailure::Tls(message) => format!("tls {}", quote(message)),
        HttpFailure::Timeout => "timeout".to_owned(),
        HttpFailure::Truncated(message) if message == DEFAULT_TRUNCATED_MESSAGE => {
            "truncated".to_owned()
        }
        HttpFailure::Truncated(message) => format!("truncated {}", quote(message)),
        HttpFailure::BodyTooLarge => "body_too_large".to_owned(),
        HttpFailure::InvalidResponse(message) => format!("invalid_response {}", quote(message)),
        HttpFailure::Io(message) => format!("io {}", quote(message)),
    }
}

fn check_arity(words: &[String], max: usize) -> Result<(), String> {
    match words.get(max) {
        Some(extra) => Err(format!("unexpected {extra:?} after the error")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        for (text, millis) in [("0", 0), ("250ms", 250), ("30s", 30_000), ("1500ms", 1500)] {
            let duration = parse_duration(text).unwrap();
            assert_eq!(duration.as_millis(), millis);
            assert_eq!(
                parse_duration(&format_duration(duration)).unwrap(),
                duration
            );
        }
        assert_eq!(format_duration(Duration::from_millis(2000)), "2s");
        assert!(parse_duration("2m").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn words_split_with_quotes() {
        let words = split_words(r#"tls "name \"x\" mismatch"  next"#).unwrap();
        assert_eq!(words, ["tls", "name \"x\" mismatch", "next"]);
        assert!(split_words(r#"tls "open"#).is_err());
        assert!(split_words(r#"tls "a"b"#).is_err());
    }

    #[test]
    fn quoted_text_splits_back() {
        let text = r#"a "quoted" \ text"#;
        assert_eq!(split_words(&quote(text)).unwrap(), [text]);
    }

    #[test]
    fn failures_round_trip() {
        let failures = [
            HttpFailure::Dns(DnsError::NoSuchName),
            HttpFailure::Dns(DnsError::Failed("refused".to_owned())),
            HttpFailure::ConnectionRefused,
            HttpFailure::Tls(DEFAULT_TLS_MESSAGE.to_owned()),
            HttpFailure::Tls("expired".to_owned()),
            HttpFailure::Truncated(DEFAULT_TRUNCATED_MESSAGE.to_owned()),
            HttpFailure::BodyTooLarge,
            HttpFailure::Io("reset".to_owned()),
        ];
        for failure in failures {
            let text = format_http_failure(&failure);
            let words = split_words(&text).unwrap();
            assert_eq!(parse_http_failure(&words).unwrap(), failure, "{text}");
        }
    }

    #[test]
    fn unknown_failure_lists_names() {
        let error = parse_http_failure(&["connect_refused".to_owned()]).unwrap_err();
        assert!(error.contains("connection_refused"), "{error}");
    }
}
