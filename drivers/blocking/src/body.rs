//! Reading an HTTP/1.1 response body: its framing (RFC 9112 section 6), its content codings
//! (gzip and deflate, through `flate2`), and the size limit on both the bytes received and the
//! decoded body.
//!
//! Errors travel through `std::io::Read` as `io::Error`s that carry a [`TransportError`], so
//! that the decoders pass a timeout or a truncation through unchanged. [`transport_error`]
//! takes the `TransportError` back out.

use std::io::{self, BufRead, BufReader, Read};

use autodiscover::TransportError;
use flate2::bufread::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};

/// Maximum length of a chunk-size line, extensions included. A size is at most 16 hex digits,
/// so anything near this long is hostile.
const MAX_CHUNK_LINE_BYTES: usize = 4096;

/// Maximum bytes of trailer fields after the last chunk, which are read and dropped.
const MAX_TRAILER_BYTES: usize = 16 * 1024;

/// Maximum number of content codings (other than `identity`) a response may list. Each one
/// adds a decoder layer, so without a bound a head that lists thousands of `gzip` elements
/// overflows the stack or takes memory in proportion to the count. Real servers send one
/// coding, and two leave room for a proxy that compresses once more.
const MAX_CONTENT_CODINGS: usize = 2;

/// The framing of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body (1xx, 204 and 304 responses).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// A content coding that the body must be decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// `gzip` or `x-gzip`.
    Gzip,
    /// `deflate`: zlib (RFC 1950) as the HTTP specification defines it, or raw deflate (RFC 1951)
    /// as some servers send it. The first two bytes tell them apart.
    Deflate,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }
}

/// Decides the framing of a response from its status and headers (RFC 9112 section 6.3).
pub(crate) fn framing(
    status: u16,
    headers: &[(String, String)],
) -> Result<Framing, TransportError> {
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::Empty);
    }

    // Transfer-Encoding overrides Content-Length. No transfer coding but chunked is requested
    // or decoded, so any other list, even one that ends in chunked, is rejected.
    let codings = header_list(headers, "Transfer-Encoding");
    if !codings.is_empty() {
        if codings != ["chunked"] {
            return Err(TransportError::InvalidResponse(format!(
                "unsupported Transfer-Encoding {:?}; only chunked is supported",
                codings.join(", ")
            )));
        }
        return Ok(Framing::Chunked);
    }

    let lengths = header_list(headers, "Content-Length");
    let Some(first) = lengths.first() else {
        return Ok(Framing::UntilClose);
    };
    let invalid = || {
        TransportError::InvalidResponse(format!("invalid Content-Length {:?}", lengths.join(", ")))
    };
    if !first.bytes().all(|b| b.is_ascii_digit()) || lengths.iter().any(|length| length != first) {
        return Err(invalid());
    }
    let length = first.parse::<u64>().map_err(|_| invalid())?;
    Ok(Framing::Length(length))
}

/// Returns the content codings to undo, in the order they were applied.
///
/// # Errors
/// [`TransportError::InvalidResponse`] for a coding other than gzip and deflate, or for more
/// than [`MAX_CONTENT_CODINGS`] codings.
pub(crate) fn content_codings(headers: &[(String, String)]) -> Result<Vec<Coding>, TransportError> {
    let names: Vec<String> = header_list(headers, "Content-Encoding")
        .into_iter()
        .filter(|coding| coding != "identity")
        .collect();
    if names.len() > MAX_CONTENT_CODINGS {
        return Err(TransportError::InvalidResponse(format!(
            "Content-Encoding lists {} codings; at most {MAX_CONTENT_CODINGS} are decoded",
            names.len()
        )));
    }
    names
        .iter()
        .map(|coding| match coding.as_str() {
            "gzip" | "x-gzip" => Ok(Coding::Gzip),
            "deflate" => Ok(Coding::Deflate),
            other => Err(TransportError::InvalidResponse(format!(
                "unsupported Content-Encoding {other:?}; only gzip and deflate are decoded"
            ))),
        })
        .collect()
}

/// Returns the comma-separated elements of every header named `name`, trimmed and
/// lowercased, without empty elements.
fn header_list(headers: &[(String, String)], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .flat_map(|(_, value)| value.split(','))
        .map(|element| element.trim().to_ascii_lowercase())
        .filter(|element| !element.is_empty())
        .collect()
}

/// Reads and decodes a whole body of at most `limit` decoded bytes.
///
/// The bytes received are bounded too: by `limit` for a body without content coding, and by
/// [`raw_limit`] for a coded one, so an endless compressed stream that decodes to nothing
/// still stops.
///
/// # Errors
/// - [`TransportError::BodyTooLarge`] past either bound.
/// - [`TransportError::Truncated`] when the connection closes early.
/// - [`TransportError::InvalidResponse`] for broken framing or a body that does not decode.
/// - The connection's own errors, such as [`TransportError::Timeout`], as they come.
pub(crate) fn read_body<R: BufRead>(
    reader: R,
    framing: Framing,
    codings: &[Coding],
    limit: usize,
) -> Result<Vec<u8>, TransportError> {
    let too_large = TransportError::BodyTooLarge { limit };
    if let Framing::Length(length) = framing {
        if codings.is_empty() && length > limit as u64 {
            return Err(too_large);
        }
    }

    let framed: Box<dyn BufRead + '_> = match framing {
        Framing::Empty => return Ok(Vec::new()),
        Framing::Length(length) => Box::new(BufReader::new(LengthBody::new(reader, length))),
        Framing::Chunked => Box::new(BufReader::new(ChunkedBody::new(reader))),
        Framing::UntilClose => Box::new(BufReader::new(UntilClose(reader))),
    };
    let received_limit = if codings.is_empty() {
        limit
    } else {
        raw_limit(limit)
    };
    let mut decoded: Box<dyn Read + '_> = Box::new(Bounded {
        inner: framed,
        left: received_limit as u64,
        limit,
    });
    for &coding in codings.iter().rev() {
        decoded = Box::new(Decoding {
            inner: decoder(coding, BufReader::new(decoded)),
            coding,
        });
    }

    let mut body = Vec::new();
    decoded
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|error| transport_error(&error))?;
    if body.len() > limit {
        return Err(too_large);
    }
    Ok(body)
}

/// Returns the maximum number of coded body bytes received for a decoded limit of `limit`:
/// the limit plus an eighth plus 64 KiB. Stored deflate blocks (RFC 1951 section 3.2.4) add
/// 5 bytes per block of up to 65535 bytes, and the gzip and zlib wrappers usually a few dozen, so
/// any honest body that decodes within the limit fits.
pub(crate) fn raw_limit(limit: usize) -> usize {
    limit.saturating_add(limit / 8).saturating_add(64 * 1024)
}

fn decoder<'a, R: BufRead + 'a>(coding: Coding, mut reader: R) -> Box<dyn Read + 'a> {
    match coding {
        Coding::Gzip => Box::new(MultiGzDecoder::new(reader)),
        Coding::Deflate => {
            // A zlib stream starts with a header whose compression method is 8 (deflate) and
            // whose two bytes, read big-endian, are a multiple of 31 (RFC 1950 section 2.2).
            let is_zlib = match reader.fill_buf() {
                Ok([cmf, flg, ..]) => {
                    cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
                }
                _ => false,
            };
            if is_zlib {
                Box::new(ZlibDecoder::new(reader))
            } else {
                Box::new(DeflateDecoder::new(reader))
            }
        }
    }
}

/// Takes the [`TransportError`] out of an `io::Error` made by this module, or classifies an
/// error of the connection.
pub(crate) fn transport_error(error: &io::Error) -> TransportError {
    if let Some(inner) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TransportError>())
    {
        return inner.clone();
    }
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportError::Timeout,
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => TransportError::Truncated(error.to_string()),
        _ => TransportError::Io(error.to_string()),
    }
}

/// Wraps `error` so that it passes through readers unchanged.
fn carry(error: TransportError) -> io::Error {
    io::Error::other(error)
}

/// Marks a connection error as classified, so a decoder above cannot mistake it for a
/// decoding error.
fn classified(error: io::Error) -> io::Error {
    carry(transport_error(&error))
}

/// A body of exactly `length` bytes.
struct LengthBody<R> {
    inner: R,
    left: u64,
    length: u64,
}

impl<R> LengthBody<R> {
    fn new(inner: R, length: u64) -> Self {
        Self {
            inner,
            left: length,
            length,
        }
    }
}

impl<R: Read> Read for LengthBody<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let wanted = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..wanted]).map_err(classified)?;
        if read == 0 {
            return Err(carry(TransportError::Truncated(format!(
                "the connection closed after {} of {} body bytes",
                self.length - self.left,
                self.length
            ))));
        }
        self.left -= read as u64;
        Ok(read)
    }
}

/// A body read until the connection closes.
struct UntilClose<R>(R);

impl<R: Read> Read for UntilClose<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // NOTE: over TLS, rustls reports a close without close_notify as `UnexpectedEof`, which
        // becomes `Truncated` here, because an attacker on the path can cut such a body by
        // closing the TCP connection. Exchange frames its bodies, so only a server that ends a
        // close-delimited body without close_notify fails. Over plain TCP a close is the end.
        self.0.read(buf).map_err(classified)
    }
}

/// The state of a [`ChunkedBody`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Before a chunk-size line.
    Size,
    /// Inside chunk data, with this many bytes left.
    Data(u64),
    /// After chunk data, before its CRLF.
    DataEnd,
    /// After the last chunk and the trailer section.
    Done,
}

/// A body in the chunked transfer coding (RFC 9112 section 7.1). Chunk extensions and
/// trailer fields are read and dropped.
struct ChunkedBody<R> {
    inner: R,
    state: Chunk,
}

impl<R> ChunkedBody<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            state: Chunk::Size,
        }
    }
}

impl<R: BufRead> Read for ChunkedBody<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.state {
                Chunk::Done => return Ok(0),
                Chunk::Size => {
                    let line = read_line(&mut self.inner, MAX_CHUNK_LINE_BYTES)?;
                    if line.is_empty() {
                        return Err(truncated_chunked());
                    }
                    let size = match httparse::parse_chunk_size(&line) {
                        Ok(httparse::Status::Complete((_, size))) => size,
                        _ => {
                            return Err(carry(TransportError::InvalidResponse(format!(
                                "invalid chunk size line {:?}",
                                String::from_utf8_lossy(&line).trim_end()
                            ))))
                        }
                    };
                    if size == 0 {
                        self.skip_trailers()?;
                        self.state = Chunk::Done;
                    } else {
                        self.state = Chunk::Data(size);
                    }
                }
                Chunk::Data(left) => {
                    if buf.is_empty() {
                        return Ok(0);
                    }
                    let wanted = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let read = self.inner.read(&mut buf[..wanted]).map_err(classified)?;
                    if read == 0 {
                        return Err(truncated_chunked());
                    }
                    let left = left - read as u64;
                    self.state = if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    };
                    return Ok(read);
                }
                Chunk::DataEnd => {
                    let line = read_line(&mut self.inner, MAX_CHUNK_LINE_BYTES)?;
                    if line.is_empty() {
                        return Err(truncated_chunked());
                    }
                    if line != b"\r\n" && line != b"\n" {
                        return Err(carry(TransportError::InvalidResponse(
                            "chunk data is not followed by CRLF".to_owned(),
                        )));
                    }
                    self.state = Chunk::Size;
                }
            }
        }
    }
}

impl<R: BufRead> ChunkedBody<R> {
    /// Reads the trailer section up to its empty line. A connection closed before that line
    /// still ends the body, because every chunk has arrived.
    fn skip_trailers(&mut self) -> io::Result<()> {
        let mut total = 0;
        loop {
            let line = read_line(&mut self.inner, MAX_TRAILER_BYTES)?;
            if line.is_empty() || line == b"\r\n" || line == b"\n" {
                return Ok(());
            }
            total += line.len();
            if total > MAX_TRAILER_BYTES {
                return Err(carry(TransportError::InvalidResponse(format!(
                    "trailer fields longer than {MAX_TRAILER_BYTES} bytes"
                ))));
            }
        }
    }
}

fn truncated_chunked() -> io::Error {
    carry(TransportError::Truncated(
        "the connection closed inside the chunked body".to_owned(),
    ))
}

/// Reads one line including its `\n`, or what is left before the end of the stream (empty at
/// the end). A line longer than `max` bytes is an invalid response.
fn read_line<R: BufRead>(reader: &mut R, max: usize) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    loop {
        let available = reader.fill_buf().map_err(classified)?;
        if available.is_empty() {
            return Ok(line);
        }
        let (taken, complete) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if line.len() > max {
            return Err(carry(TransportError::InvalidResponse(format!(
                "a line of the chunked body is longer than {max} bytes"
            ))));
        }
        if complete {
            return Ok(line);
        }
    }
}

/// Passes at most `left` bytes through, then fails with [`TransportError::BodyTooLarge`]
/// naming the caller's decoded `limit`.
struct Bounded<R> {
    inner: R,
    left: u64,
    limit: usize,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // One byte more than allowed is read, to tell "exactly at the bound" from "over it".
        let wanted = buf
            .len()
            .min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..wanted])?;
        if read as u64 > self.left {
            return Err(carry(TransportError::BodyTooLarge { limit: self.limit }));
        }
        self.left -= read as u64;
        Ok(read)
    }
}

/// Turns a decoder's own errors into [`TransportError::InvalidResponse`], and passes the
/// errors of the layers below through.
struct Decoding<R> {
    inner: R,
    coding: Coding,
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|error| {
            let carries_transport_error = error
                .get_ref()
                .is_some_and(|inner| inner.is::<TransportError>());
            if carries_transport_error {
                error
            } else {
                carry(TransportError::InvalidResponse(format!(
                    "the {} body does not decode: {error}",
                    self.coding.name()
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn read(
        bytes: &[u8],
        framing: Framing,
        codings: &[Coding],
        limit: usize,
    ) -> Result<Vec<u8>, TransportError> {
        read_body(bytes, framing, codings, limit)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn framing_rules() {
        assert_eq!(
            framing(204, &headers(&[("Content-Length", "5")])),
            Ok(Framing::Empty)
        );
        assert_eq!(
            framing(200, &headers(&[("Content-Length", "5")])),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            framing(
                200,
                &headers(&[("Content-Length", "5"), ("Transfer-Encoding", "Chunked")])
            ),
            Ok(Framing::Chunked)
        );
        assert_eq!(framing(200, &[]), Ok(Framing::UntilClose));
        assert_eq!(
            framing(200, &headers(&[("Content-Length", "5, 5")])),
            Ok(Framing::Length(5))
        );
    }

    #[test]
    fn framing_rejects_conflicting_lengths() {
        for value in [
            "5, 6",
            "-1",
            "+1013",
            "0x10",
            " 5 x",
            "99999999999999999999999",
        ] {
            let result = framing(200, &headers(&[("Content-Length", value)]));
            assert!(
                matches!(result, Err(TransportError::InvalidResponse(_))),
                "{value}: {result:?}"
            );
        }
    }

    #[test]
    fn framing_rejects_transfer_codings_but_chunked() {
        for value in ["gzip", "gzip, chunked", "chunked, chunked", "identity"] {
            let result = framing(200, &headers(&[("Transfer-Encoding", value)]));
            let Err(TransportError::InvalidResponse(message)) = result else {
                panic!("{value}: {result:?}");
            };
            assert!(message.contains("Transfer-Encoding"), "{message}");
        }
        let split = headers(&[
            ("Transfer-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),
        ]);
        assert!(matches!(
            framing(200, &split),
            Err(TransportError::InvalidResponse(_))
        ));
    }

    #[test]
    fn codings_bounded_in_number() {
        let two = content_codings(&headers(&[("Content-Encoding", "gzip, identity, gzip")]));
        assert_eq!(two, Ok(vec![Coding::Gzip, Coding::Gzip]));

        let many = vec!["gzip"; 5000].join(",");
        let result = content_codings(&headers(&[("Content-Encoding", &many)]));
        let Err(TransportError::InvalidResponse(message)) = result else {
            panic!("{result:?}");
        };
        assert!(message.contains("5000 codings"), "{message}");

        let three = content_codings(&headers(&[
            ("Content-Encoding", "gzip, deflate"),
            ("Content-Encoding", "gzip"),
        ]));
        assert!(matches!(three, Err(TransportError::InvalidResponse(_))));
    }

    #[test]
    fn codings_in_order() {
        let codings = content_codings(&headers(&[
            ("Content-Encoding", "deflate"),
            ("content-encoding", "identity, X-Gzip"),
        ]));
        assert_eq!(codings, Ok(vec![Coding::Deflate, Coding::Gzip]));
        let unsupported = content_codings(&headers(&[("Content-Encoding", "br")]));
        assert!(matches!(
            unsupported,
            Err(TransportError::InvalidResponse(_))
        ));
    }

    #[test]
    fn length_body_reads_exactly() {
        let body = read(b"hello, trailing", Framing::Length(5), &[], 100).unwrap();
        assert_eq!(body, b"hello");
    }

    #[test]
    fn length_body_truncated() {
        let error = read(b"hel", Framing::Length(5), &[], 100).unwrap_err();
        assert!(matches!(error, TransportError::Truncated(_)), "{error:?}");
    }

    #[test]
    fn length_over_limit_fails_before_reading() {
        let error = read(b"", Framing::Length(101), &[], 100).unwrap_err();
        assert_eq!(error, TransportError::BodyTooLarge { limit: 100 });
    }

    #[test]
    fn body_at_limit_passes() {
        let data = vec![b'x'; 100];
        assert_eq!(
            read(&data, Framing::UntilClose, &[], 100).unwrap().len(),
            100
        );
        let data = vec![b'x'; 101];
        let error = read(&data, Framing::UntilClose, &[], 100).unwrap_err();
        assert_eq!(error, TransportError::BodyTooLarge { limit: 100 });
    }

    #[test]
    fn unbounded_limit_does_not_overflow() {
        let body = read(b"hello", Framing::UntilClose, &[], usize::MAX).unwrap();
        assert_eq!(body, b"hello");
        let wire = gzip(b"hello");
        let body = read(&wire, Framing::UntilClose, &[Coding::Gzip], usize::MAX).unwrap();
        assert_eq!(body, b"hello");
    }

    /// A reader that returns its bytes and then fails as rustls does when the peer closes
    /// without close_notify.
    struct CutWithoutCloseNotify<'a>(&'a [u8]);

    impl Read for CutWithoutCloseNotify<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "peer closed connection without sending TLS close_notify",
                ));
            }
            let read = self.0.read(buf)?;
            Ok(read)
        }
    }

    #[test]
    fn unframed_body_cut_is_truncated() {
        let reader = BufReader::new(CutWithoutCloseNotify(b"<Autodiscover>"));
        let error = read_body(reader, Framing::UntilClose, &[], 100).unwrap_err();
        assert!(matches!(error, TransportError::Truncated(_)), "{error:?}");

        let wire = gzip(b"<Autodiscover/>");
        let reader = BufReader::new(CutWithoutCloseNotify(&wire));
        let error = read_body(reader, Framing::UntilClose, &[Coding::Gzip], 100).unwrap_err();
        assert!(matches!(error, TransportError::Truncated(_)), "{error:?}");
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers() {
        let wire = b"5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nExpires: never\r\n\r\nnext";
        let body = read(wire, Framing::Chunked, &[], 100).unwrap();
        assert_eq!(body, b"hello, world");
    }

    #[test]
    fn chunked_body_truncated() {
        for wire in [&b"5\r\nhel"[..], b"5\r\nhello\r\n", b"5\r\nhello"] {
            let error = read(wire, Framing::Chunked, &[], 100).unwrap_err();
            assert!(
                matches!(error, TransportError::Truncated(_)),
                "{wire:?}: {error:?}"
            );
        }
    }

    #[test]
    fn chunked_body_invalid_size() {
        let error = read(b"zz\r\nhello\r\n0\r\n\r\n", Framing::Chunked, &[], 100).unwrap_err();
        assert!(
            matches!(error, TransportError::InvalidResponse(_)),
            "{error:?}"
        );
    }

    #[test]
    fn chunked_body_over_limit() {
        let wire = b"a\r\n0123456789\r\n0\r\n\r\n";
        let error = read(wire, Framing::Chunked, &[], 5).unwrap_err();
        assert_eq!(error, TransportError::BodyTooLarge { limit: 5 });
    }

    #[test]
    fn gzip_body_decodes() {
        let wire = gzip(b"<Autodiscover/>");
        let body = read(
            &wire,
            Framing::Length(wire.len() as u64),
            &[Coding::Gzip],
            100,
        )
        .unwrap();
        assert_eq!(body, b"<Autodiscover/>");
    }

    #[test]
    fn deflate_body_decodes_zlib_and_raw() {
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(b"<Autodiscover/>").unwrap();
        let zlib = zlib.finish().unwrap();
        assert_eq!(
            read(&zlib, Framing::UntilClose, &[Coding::Deflate], 100).unwrap(),
            b"<Autodiscover/>"
        );

        let mut raw = DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(b"<Autodiscover/>").unwrap();
        let raw = raw.finish().unwrap();
        assert_eq!(
            read(&raw, Framing::UntilClose, &[Coding::Deflate], 100).unwrap(),
            b"<Autodiscover/>"
        );
    }

    #[test]
    fn gzip_bomb_stops_at_decoded_limit() {
        let wire = gzip(&vec![b' '; 10 * 1024 * 1024]);
        assert!(wire.len() < 100 * 1024, "the bomb compresses well");
        let error = read(
            &wire,
            Framing::Length(wire.len() as u64),
            &[Coding::Gzip],
            1024 * 1024,
        )
        .unwrap_err();
        assert_eq!(error, TransportError::BodyTooLarge { limit: 1024 * 1024 });
    }

    #[test]
    fn corrupt_gzip_is_invalid_response() {
        let error = read(
            b"\x1f\x8b\x08\x00garbage-garbage",
            Framing::UntilClose,
            &[Coding::Gzip],
            100,
        )
        .unwrap_err();
        assert!(
            matches!(error, TransportError::InvalidResponse(_)),
            "{error:?}"
        );
    }

    #[test]
    fn truncated_gzip_keeps_truncation() {
        let wire = gzip(b"<Autodiscover>some settings</Autodiscover>");
        let error = read(
            &wire[..wire.len() / 2],
            Framing::Length(wire.len() as u64),
            &[Coding::Gzip],
            100,
        )
        .unwrap_err();
        assert!(matches!(error, TransportError::Truncated(_)), "{error:?}");
    }
}
