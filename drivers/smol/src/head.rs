//! Reading a response head with httparse and deciding how its body is framed.
//!
//! async-h1 2.3.4 could parse the head, but it panics on a header value that is UTF-8 but not
//! ASCII, because http-types unwraps that conversion. It also rejects status codes that
//! http-types does not name, limits the head to 8 KiB, and compares `Transfer-Encoding`
//! case-sensitively. So the driver reads and parses the head here and keeps the status and
//! every header for the core, and `http::read_body` reads the body by the framing decided here.

use autodiscover::TransportError;
use smol::io::AsyncReadExt;

use crate::conn::Connection;

/// Largest response head read, in bytes. Real Autodiscover heads are under 4 KiB; the limit
/// leaves room for long cookie and policy headers while bounding a hostile server.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Most header lines in one response head.
const MAX_HEADERS: usize = 128;

/// Maximum number of interim (1xx) responses skipped before the final one. A server sends at most one or
/// two (`100 Continue`, `102 Processing`), so more means it is misbehaving.
const MAX_INTERIM_RESPONSES: usize = 16;

/// The framing of a response body, which decides where the body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// There is no body (1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes follow.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
    /// The body runs until the server closes the connection.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: u16,
    /// Whether the status line names HTTP/1.1 (else HTTP/1.0).
    pub(crate) http11: bool,
    /// Every header line in order, values converted lossily to UTF-8.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) framing: Framing,
}

impl Head {
    /// Returns whether the server allows another request on this connection.
    pub(crate) fn keeps_alive(&self) -> bool {
        let close = self
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("Connection"))
            .flat_map(|(_, value)| value.split(','))
            .any(|option| option.trim().eq_ignore_ascii_case("close"));
        self.http11 && !close && self.framing != Framing::UntilClose
    }

    /// Returns the first header named `name`, compared case-insensitively.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A failure to read a response head.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The connection closed or failed before the first byte of a response, which on a reused
    /// connection means the server closed it while it was idle.
    NothingReceived(TransportError),
    /// Anything else.
    Failed(TransportError),
}

/// Reads the next final (non-1xx) response head from `connection`, and puts any bytes read past
/// it back for the body reader.
///
/// Every interim response is skipped, `101 Switching Protocols` included, because the driver
/// never requests an upgrade. At most [`MAX_INTERIM_RESPONSES`] are skipped.
pub(crate) async fn read_head(connection: &mut Connection) -> Result<Head, HeadError> {
    let mut buffer: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut received_any = false;
    let mut interim_count = 0;
    loop {
        let read = match connection.read(&mut chunk).await {
            Ok(read) => read,
            Err(error) if !received_any => {
                return Err(HeadError::NothingReceived(TransportError::Io(format!(
                    "reading the response failed: {error}"
                ))))
            }
            Err(error) => {
                return Err(HeadError::Failed(TransportError::Truncated(format!(
                    "reading the response head failed: {error}"
                ))))
            }
        };
        if read == 0 {
            let message = "the connection closed before the response head ended".to_owned();
            return Err(if received_any {
                HeadError::Failed(TransportError::Truncated(message))
            } else {
                HeadError::NothingReceived(TransportError::Truncated(
                    "the connection closed before any response".to_owned(),
                ))
            });
        }
        received_any = true;
        buffer.extend_from_slice(&chunk[..read]);

        // Parse every complete head in the buffer, skipping interim 1xx responses.
        while let Some((head, length)) = parse(&buffer).map_err(HeadError::Failed)? {
            buffer.drain(..length);
            if (100..200).contains(&head.status) {
                interim_count += 1;
                if interim_count > MAX_INTERIM_RESPONSES {
                    return Err(HeadError::Failed(TransportError::InvalidResponse(format!(
                        "the server sent more than {MAX_INTERIM_RESPONSES} interim (1xx) responses"
                    ))));
                }
                tracing::trace!(status = head.status, "skipping an interim response");
                continue;
            }
            connection.unread(&buffer);
            return Ok(head);
        }
        if buffer.len() > MAX_HEAD_BYTES {
            return Err(HeadError::Failed(TransportError::InvalidResponse(format!(
                "the response head is longer than {MAX_HEAD_BYTES} bytes"
            ))));
        }
    }
}

/// Parses one head from the start of `buffer`, returning it and its length, or `None` when
/// the buffer does not hold a whole head yet.
fn parse(buffer: &[u8]) -> Result<Option<(Head, usize)>, TransportError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let length = match response.parse(buffer) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => {
            return Err(TransportError::InvalidResponse(format!(
                "the response head is not valid HTTP/1.1: {error}"
            )))
        }
    };
    let status = response
        .code
        .ok_or_else(|| TransportError::InvalidResponse("the status line has no code".to_owned()))?;
    let http11 = response.version == Some(1);
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|header| {
            (
                header.name.to_owned(),
                String::from_utf8_lossy(header.value).trim().to_owned(),
            )
        })
        .collect();
    let framing = framing(status, &headers)?;
    Ok(Some((
        Head {
            status,
            http11,
            headers,
            framing,
        },
        length,
    )))
}

/// Decides how the body ends (RFC 9112 section 6.3). A `Transfer-Encoding` whose last coding is
/// not `chunked` is rejected, because no other transfer coding is requested or supported, and
/// `Transfer-Encoding` wins over `Content-Length`.
fn framing(status: u16, headers: &[(String, String)]) -> Result<Framing, TransportError> {
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::Empty);
    }

    let codings: Vec<&str> = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Transfer-Encoding"))
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|coding| !coding.is_empty())
        .collect();
    if let Some(last) = codings.last() {
        if codings.len() == 1 && last.eq_ignore_ascii_case("chunked") {
            return Ok(Framing::Chunked);
        }
        return Err(TransportError::InvalidResponse(format!(
            "unsupported Transfer-Encoding {:?}; only chunked is supported",
            codings.join(", ")
        )));
    }

    let mut length = None;
    for (_, value) in headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Content-Length"))
    {
        // A list such as `42, 42` is allowed when every member is the same (RFC 9110 8.6).
        // Each member must be digits only: `u64::from_str` would also accept a leading `+`.
        for member in value.split(',') {
            let member = member.trim();
            let invalid =
                || TransportError::InvalidResponse(format!("invalid Content-Length {value:?}"));
            if member.is_empty() || !member.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(invalid());
            }
            let parsed: u64 = member.parse().map_err(|_| invalid())?;
            if length.is_some_and(|previous| previous != parsed) {
                return Err(TransportError::InvalidResponse(
                    "conflicting Content-Length values".to_owned(),
                ));
            }
            length = Some(parsed);
        }
    }
    Ok(match length {
        Some(length) => Framing::Length(length),
        None => Framing::UntilClose,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Head {
        parse(text.as_bytes())
            .expect("valid head")
            .expect("complete head")
            .0
    }

    #[test]
    fn non_ascii_header_value_is_kept() {
        let head = parse_text("HTTP/1.1 200 OK\r\nX-Note: caf\u{e9}\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(head.header("x-note"), Some("caf\u{e9}"));
        assert_eq!(head.framing, Framing::Length(0));
    }

    #[test]
    fn chunked_is_case_insensitive() {
        let head = parse_text("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(head.framing, Framing::Chunked);
    }

    #[test]
    fn transfer_encoding_wins_over_length() {
        let head = parse_text(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        assert_eq!(head.framing, Framing::Chunked);
    }

    #[test]
    fn transfer_coding_other_than_chunked_is_rejected() {
        for value in [
            "gzip",
            "gzip, chunked",
            "chunked, chunked",
            "identity",
            "chunked, gzip",
        ] {
            let text = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {value}\r\n\r\n");
            let result = parse(text.as_bytes());
            assert!(
                matches!(result, Err(TransportError::InvalidResponse(_))),
                "Transfer-Encoding {value:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn conflicting_lengths_are_rejected() {
        assert!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n").is_err()
        );
        let head = parse_text("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n");
        assert_eq!(head.framing, Framing::Length(5));
    }

    #[test]
    fn content_length_must_be_digits() {
        for value in ["+1013", "-5", "0x10", "1_000", "", "5, +5", "1e3"] {
            let text = format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\n");
            let result = parse(text.as_bytes());
            assert!(
                matches!(result, Err(TransportError::InvalidResponse(_))),
                "Content-Length {value:?} gave {result:?}"
            );
        }
        let head = parse_text("HTTP/1.1 200 OK\r\nContent-Length: 1013\r\n\r\n");
        assert_eq!(head.framing, Framing::Length(1013));
    }

    #[test]
    fn content_length_overflow_is_rejected() {
        let result = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n");
        assert!(
            matches!(result, Err(TransportError::InvalidResponse(_))),
            "{result:?}"
        );
    }

    #[test]
    fn http10_without_length_reads_until_close() {
        let head = parse_text("HTTP/1.0 200 OK\r\n\r\n");
        assert_eq!(head.framing, Framing::UntilClose);
        assert!(!head.keeps_alive());
    }

    #[test]
    fn unusual_status_code_is_kept() {
        let head = parse_text("HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(head.status, 599);
        assert!(head.keeps_alive());
    }

    #[test]
    fn no_body_statuses() {
        assert_eq!(
            parse_text("HTTP/1.1 204 No Content\r\n\r\n").framing,
            Framing::Empty
        );
        assert_eq!(
            parse_text("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n").framing,
            Framing::Empty
        );
    }

    #[test]
    fn connection_close_stops_reuse() {
        let head = parse_text(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(!head.keeps_alive());
    }

    #[test]
    fn partial_head_needs_more() {
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap().is_none());
    }
}
