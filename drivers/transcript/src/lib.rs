//! Records and replays Autodiscover discoveries as plain-text transcripts.
//!
//! A transcript lists the actions one discovery performs (HTTP requests, DNS lookups, cache
//! reads and writes) with the answer each one got, and optionally the facts its outcome must
//! show. [`replay`] runs the real [`autodiscover::Discoverer`] against a transcript on a
//! virtual clock and renders a deterministic log for snapshot tests. [`Recorder`] writes a
//! transcript from a live driver's actions and events. Nothing here does IO except reading
//! body files named in a transcript.
//!
//! # Example
//!
//! ```text
//! # Step 1 fails, step 2 answers.
//! email alice@example.com
//! flavor pox
//! strategy sequential
//! cache off
//!
//! DNS A example.com
//!   192.0.2.10
//!
//! POST https://example.com/autodiscover/autodiscover.xml
//!   request_email alice@example.com
//!   status 404
//!   Content-Type: text/html
//!
//! DNS A autodiscover.example.com
//!   192.0.2.11
//!
//! POST https://autodiscover.example.com/autodiscover/autodiscover.xml at +250ms
//!   status 200
//!   Content-Type: text/xml; charset=utf-8
//!   body @bodies/pox-settings.xml
//!
//! expect ews_url https://mail.example.com/EWS/Exchange.asmx
//! expect step 2
//! ```
//!
//! # Format
//!
//! The format is line-based. Lines starting with `#` in the first column are comments, and
//! blank lines separate items. Times are offsets from the start of the discovery written in
//! milliseconds or whole seconds (`+250ms`, `+2s`).
//!
//! **Header lines** come first. `email <address>` is required, and the rest are optional:
//! `flavor soap|pox` (default `soap`), `settings <name>, <name>, ...` (SOAP settings to request),
//! `strategy sequential` or `strategy parallel [stagger <time>] [grace <time>]`,
//! `request_timeout <time>`, `deadline <time>`, `trust <host>` (repeatable, as
//! `Config::trust_host` takes it), `untrusted reject|follow`, `cache off`, `srv_seed <n>` and
//! `max_response_bytes <n>`. Everything not given keeps the value of `Config::default()`, so a
//! transcript without `cache off` must answer the cache lookup, and one without a `strategy`
//! line runs the parallel strategy.
//!
//! **Entries** start in the first column with the key of the action they answer:
//! `POST <url>`, `GET <url>`, `DNS A <host>`, `DNS SRV <name>`, `cache get <domain>`,
//! `cache put <domain> <endpoint>` or `cache delete <domain>`. `optional` before the key marks
//! an action a correct client may or may not perform. `at +<time>` after the key delays the
//! answer until that time (an answer is never earlier than its request). The answer follows
//! on lines indented by two spaces:
//!
//! - HTTP: `status <code>`, header lines `Name: value`, `auth <scheme>` (the scheme the driver
//!   attached), and a body: `body @<file>` (a regular file inside the transcript's folder,
//!   named by a relative path without `..`, of at most [`MAX_BODY_FILE_BYTES`]), `body`
//!   followed by text lines indented by four spaces (each line ends with a newline), the same
//!   with `body (no final newline)`, or `body base64` followed by base64 lines. Instead of a
//!   status: `error <kind>` with a kind of `dns_nxdomain`, `dns_no_records`, `dns_timeout`,
//!   `dns_servfail`, `dns_failed "<message>"`, `connection_refused`, `connect_timeout`,
//!   `tls ["<message>"]`, `timeout`, `truncated ["<message>"]`, `body_too_large`,
//!   `invalid_response "<message>"` or `io "<message>"`. A POST may add
//!   `request_email <address>`: the request body must ask for that address.
//! - DNS A: one address per line, `empty`, or `error nxdomain|no_records|timeout|servfail`
//!   (or `error failed "<message>"`).
//! - DNS SRV: one record per line as `priority weight port target`, or a zone-file line
//!   (`_autodiscover._tcp.example.com. 300 IN SRV 0 0 443 mail.example.com.`), `empty`, or
//!   an error as for DNS A.
//! - cache get: `miss`, or `hit <endpoint> soap|pox [auth <scheme>]`.
//! - cache put and cache delete take no answer: the replay acknowledges them, but each write
//!   the discoverer makes must be listed.
//! - `never` (any entry but a cache write): the action gets no answer, so the discoverer must
//!   give up on it by itself.
//!
//! Comment lines inside an entry's block are indented like its answer lines.
//!
//! **Expectations** are `expect` lines, checked by [`Replay::check`]: `ews_url <url>|none`,
//! `endpoint <url>`, `step cache|1|2|3|4`, `smtp_address <address>`,
//! `redirected_email <address>|none`, `display_name <text>`, `warning <text in a warning>`,
//! `error <kind>` (as `Error::kind` names it), `error_mentions <text in the error>`,
//! `trace <text in one attempt of the trace>`, `max_requests <n>` (HTTP requests),
//! `no_credentials <URL prefix>`, and `finished_by +<time>`.
//!
//! # Replay rules
//!
//! Each action the discoverer emits takes the first unused entry with the same key. An action
//! without one fails the replay, and so does a non-optional entry that was never requested.
//! Answers due at the same time arrive in emission order, before a timer due at that time.
//! The replay gives up after [`MAX_STEPS`] events and timer expiries.

#![warn(missing_docs)]

mod expect;
mod model;
mod parse;
mod record;
mod render;
mod replay;
mod text;

pub use expect::ExpectationFailure;
pub use model::{
    Body, Entry, Expect, Expectation, Header, HttpFailure, HttpReply, Key, Reply, Transcript,
};
pub use parse::{
    ParseError, MAX_BODY_FILES_TOTAL_BYTES, MAX_BODY_FILE_BYTES, MAX_TRANSCRIPT_BYTES,
};
pub use record::{Recorder, REDACTED, REDACTED_HEADERS};
pub use replay::{replay, Replay, ReplayError, ReplayProblem, SentRequest, MAX_STEPS};

#[cfg(test)]
mod tests;
