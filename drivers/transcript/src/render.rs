//! Writing a transcript back in the format [`Transcript::parse`] reads.

use std::fmt::Write as _;

use autodiscover::{Strategy, UntrustedRedirects};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::model::{step_name, Body, Entry, Expect, Expectation, Header, Reply, Transcript};
use crate::parse::NO_FINAL_NEWLINE;
use crate::text::{format_dns_error, format_duration, format_http_failure};

/// Width of the base64 lines of a binary body.
const BASE64_LINE: usize = 76;

impl Transcript {
    /// Writes the transcript in the text format. Parsing the result gives the same transcript
    /// except for line numbers: header lines come in a fixed order after the header comments,
    /// entries before expectations, and comments inside an entry's block first in the block.
    pub fn render(&self) -> String {
        let mut out = String::new();
        render_header(&mut out, &self.header);
        for entry in &self.entries {
            out.push('\n');
            render_entry(&mut out, entry);
        }
        for (index, expectation) in self.expectations.iter().enumerate() {
            if index == 0 || !expectation.comments.is_empty() {
                out.push('\n');
            }
            render_expectation(&mut out, expectation);
        }
        if !self.trailing_comments.is_empty() {
            out.push('\n');
            render_comments(&mut out, "", &self.trailing_comments);
        }
        out
    }
}

fn render_comments(out: &mut String, indent: &str, comments: &[String]) {
    for comment in comments {
        let _ = writeln!(out, "{indent}#{comment}");
    }
}

fn render_header(out: &mut String, header: &Header) {
    render_comments(out, "", &header.comments);
    let _ = writeln!(out, "email {}", header.email);
    let _ = writeln!(out, "flavor {}", header.flavor);
    if !header.settings.is_empty() {
        let _ = writeln!(out, "settings {}", header.settings.join(", "));
    }

    match header.strategy {
        None => {}
        Some(Strategy::Sequential) => out.push_str("strategy sequential\n"),
        Some(Strategy::Parallel { stagger, grace }) => {
            let _ = writeln!(
                out,
                "strategy parallel stagger {} grace {}",
                format_duration(stagger),
                format_duration(grace)
            );
        }
    }
    if let Some(timeout) = header.request_timeout {
        let _ = writeln!(out, "request_timeout {}", format_duration(timeout));
    }
    if let Some(deadline) = header.deadline {
        let _ = writeln!(out, "deadline {}", format_duration(deadline));
    }

    for host in &header.trusted_hosts {
        let _ = writeln!(out, "trust {host}");
    }
    match header.untrusted_redirects {
        None => {}
        Some(UntrustedRedirects::Reject) => out.push_str("untrusted reject\n"),
        Some(UntrustedRedirects::FollowWithoutCredentials) => out.push_str("untrusted follow\n"),
    }

    if !header.use_cache {
        out.push_str("cache off\n");
    }
    if let Some(seed) = header.srv_seed {
        let _ = writeln!(out, "srv_seed {seed}");
    }
    if let Some(limit) = header.max_response_bytes {
        let _ = writeln!(out, "max_response_bytes {limit}");
    }
}

fn render_entry(out: &mut String, entry: &Entry) {
    render_comments(out, "", &entry.comments);
    if entry.optional {
        out.push_str("optional ");
    }
    let _ = write!(out, "{}", entry.key);
    if let Some(at) = entry.at {
        let _ = write!(out, " at +{}", format_duration(at));
    }
    out.push('\n');
    render_comments(out, "  ", &entry.notes);
    if let Some(address) = &entry.request_email {
        let _ = writeln!(out, "  request_email {address}");
    }

    match &entry.reply {
        Reply::Http(reply) => {
            let _ = writeln!(out, "  status {}", reply.status);
            for (name, value) in &reply.headers {
                let _ = writeln!(out, "  {name}: {value}");
            }
            if let Some(scheme) = &reply.auth_scheme {
                let _ = writeln!(out, "  auth {scheme}");
            }
            render_body(out, &reply.body);
        }
        Reply::HttpFailure(failure) => {
            let _ = writeln!(out, "  error {}", format_http_failure(failure));
        }
        Reply::Addresses(addresses) if addresses.is_empty() => out.push_str("  empty\n"),
        Reply::Addresses(addresses) => {
            for address in addresses {
                let _ = writeln!(out, "  {address}");
            }
        }
        Reply::Records(records) if records.is_empty() => out.push_str("  empty\n"),
        Reply::Records(records) => {
            for record in records {
                let _ = writeln!(
                    out,
                    "  {} {} {} {}",
                    record.priority, record.weight, record.port, record.target
                );
            }
        }
        Reply::DnsFailure(error) => {
            let _ = writeln!(out, "  error {}", format_dns_error(error));
        }
        Reply::CacheHit {
            endpoint,
            flavor,
            auth_scheme,
        } => {
            let _ = write!(out, "  hit {endpoint} {flavor}");
            if let Some(scheme) = auth_scheme {
                let _ = write!(out, " auth {scheme}");
            }
            out.push('\n');
        }
        Reply::CacheMiss => out.push_str("  miss\n"),
        Reply::Stored => {}
        Reply::Never => out.push_str("  never\n"),
    }
}

fn render_body(out: &mut String, body: &Body) {
    if let Some(file) = &body.file {
        let _ = writeln!(out, "  body @{file}");
        return;
    }
    if body.bytes.is_empty() {
        return;
    }
    match text_lines(&body.bytes) {
        Some((final_newline, lines)) => {
            if final_newline {
                out.push_str("  body\n");
            } else {
                let _ = writeln!(out, "  body {NO_FINAL_NEWLINE}");
            }
            for line in lines {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        None => {
            out.push_str("  body base64\n");
            let encoded = BASE64.encode(&body.bytes);
            for chunk in encoded.as_bytes().chunks(BASE64_LINE) {
                let _ = writeln!(out, "    {}", String::from_utf8_lossy(chunk));
            }
        }
    }
}

/// Splits a body into the lines of an inline text block, or returns `None` when such a block
/// would not read back as the same bytes (not UTF-8, carriage returns, lines of only spaces, or
/// an empty last line).
fn text_lines(bytes: &[u8]) -> Option<(bool, Vec<&str>)> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.contains('\r') {
        return None;
    }
    let (final_newline, text) = match text.strip_suffix('\n') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let lines: Vec<&str> = text.split('\n').collect();
    let blank_but_not_empty = lines
        .iter()
        .any(|line| !line.is_empty() && line.trim().is_empty());
    let last_empty = lines.last().map_or(true, |line| line.is_empty());
    if blank_but_not_empty || last_empty {
        return None;
    }
    Some((final_newline, lines))
}

fn render_expectation(out: &mut String, expectation: &Expectation) {
    render_comments(out, "", &expectation.comments);
    let text = match &expectation.expect {
        Expect::EwsUrl(Some(url)) => format!("ews_url {url}"),
        Expect::EwsUrl(None) => "ews_url none".to_owned(),
        Expect::Endpoint(url) => format!("endpoint {url}"),
        Expect::Step(step) => format!("step {}", step_name(*step)),
        Expect::SmtpAddress(address) => format!("smtp_address {address}"),
        Expect::RedirectedEmail(Some(address)) => format!("redirected_email {address}"),
        Expect::RedirectedEmail(None) => "redirected_email none".to_owned(),
        Expect::DisplayName(name) => format!("display_name {name}"),
        Expect::Warning(text) => format!("warning {text}"),
        Expect::Error(kind) => format!("error {kind}"),
        Expect::ErrorMentions(text) => format!("error_mentions {text}"),
        Expect::Trace(text) => format!("trace {text}"),
        Expect::MaxRequests(count) => format!("max_requests {count}"),
        Expect::NoCredentials(prefix) => format!("no_credentials {prefix}"),
        Expect::FinishedBy(offset) => format!("finished_by +{}", format_duration(*offset)),
    };
    let _ = writeln!(out, "expect {text}");
}
