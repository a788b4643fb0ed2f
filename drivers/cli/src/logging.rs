//! The `tracing` subscriber behind `-v`: log lines of the core, the drivers and the cache on
//! standard error.
//!
//! Log fields carry server text (URLs, error messages, bodies), and `tracing-subscriber` 0.3
//! escapes terminal sequences only in the message field. Every log line therefore passes
//! through [`EscapedStderr`], which escapes control characters in the whole line.

use std::io::{self, Write};

use tracing::level_filters::LevelFilter;
use tracing::Metadata;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::time::Uptime;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::terminal::{escape_controls, escape_lines};

/// The crates whose logs `-v` shows. Other crates (rustls, hickory) stay silent.
const TARGETS: &[&str] = &[
    "autodiscover",
    "autodiscover_smol",
    "autodiscover_cache",
    "autodiscover_transcript",
    "autodiscover_cli",
];

/// The target of request and response bodies, logged by the smol driver at `trace`.
const WIRE_TARGET: &str = "wire::http";

/// Installs the subscriber for `verbosity` (the number of `-v`):
///
/// - 0: warnings and errors only, such as a cache file that cannot be written.
/// - 1: `debug`, so each action and its result as it happens: the URL requested, the status
///   or failure that came back, DNS answers and cache reads.
/// - 2 or more: `trace`, adding request and response heads and bodies. The smol driver
///   redacts credential headers, and the core never receives a password or token.
pub fn init(verbosity: u8) {
    let level = match verbosity {
        0 => LevelFilter::WARN,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let mut filter = Targets::new().with_targets(TARGETS.iter().map(|target| (*target, level)));
    if verbosity >= 2 {
        filter = filter.with_target(WIRE_TARGET, LevelFilter::TRACE);
    }

    let layer = tracing_subscriber::fmt::layer()
        .with_writer(EscapedStderr)
        .with_ansi(false)
        .with_target(verbosity >= 2)
        // A failed write would otherwise be reported with `eprintln!`, which panics when
        // standard error is a closed pipe. A log line that cannot be written is dropped.
        .log_internal_errors(false);
    // Installing fails only when a subscriber is already set. `main` calls this once, first.
    let _ = if verbosity == 0 {
        // A warning on its own needs no timestamp.
        tracing_subscriber::registry()
            .with(layer.without_time())
            .with(filter)
            .try_init()
    } else {
        // Seconds since start, so that a slow candidate is easy to spot.
        tracing_subscriber::registry()
            .with(layer.with_timer(Uptime::default()))
            .with(filter)
            .try_init()
    };
}

/// Standard error for log lines, with control characters escaped.
struct EscapedStderr;

impl<'a> MakeWriter<'a> for EscapedStderr {
    type Writer = EscapingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter {
            keep_line_breaks: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        EscapingWriter {
            // Request and response bodies stay readable on several lines.
            keep_line_breaks: meta.target() == WIRE_TARGET,
        }
    }
}

/// A writer of one log event to standard error.
struct EscapingWriter {
    keep_line_breaks: bool,
}

impl Write for EscapingWriter {
    /// Writes `buf` whole, escaped, and reports it all written, so that the formatter's one
    /// `write_all` per event reaches this method once and the event ends in one line break.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let line = escape_event(buf, self.keep_line_breaks);
        io::stderr().lock().write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().lock().flush()
    }
}

/// Escapes the control characters of one formatted event but its final line break. Line
/// breaks inside it stay only when `keep_line_breaks` is set.
fn escape_event(buf: &[u8], keep_line_breaks: bool) -> String {
    let text = String::from_utf8_lossy(buf);
    let (content, end) = match text.strip_suffix('\n') {
        Some(content) => (content, "\n"),
        None => (text.as_ref(), ""),
    };
    let mut escaped = if keep_line_breaks {
        escape_lines(content)
    } else {
        escape_controls(content).into_owned()
    };
    escaped.push_str(end);
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_escapes_controls_but_final_break() {
        let event = b"DEBUG attempt result=TLS failed: \x1b]0;pwned\x07 line\r\nforged\n";
        assert_eq!(
            escape_event(event, false),
            "DEBUG attempt result=TLS failed: \\x1b]0;pwned\\x07 line\\r\\nforged\n"
        );
    }

    #[test]
    fn wire_event_keeps_inner_breaks() {
        let event = b"TRACE body=<a>\r\n  <b>\x1b[2J</b>\n</a>\n";
        assert_eq!(
            escape_event(event, true),
            "TRACE body=<a>\\r\n  <b>\\x1b[2J</b>\n</a>\n"
        );
    }
}
