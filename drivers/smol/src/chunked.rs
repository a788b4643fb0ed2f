//! Decoding a chunked response body (RFC 9112 section 7.1).
//!
//! The decoder reads from any byte stream and copes with every way the stream may be split
//! into reads, down to one byte at a time. Chunk extensions are ignored and trailer fields
//! are parsed and then discarded, which RFC 9112 sections 7.1.1 and 7.1.2 allow. Every part
//! is bounded: the data by the caller's limit, each size line, the trailer section, and the
//! framing bytes in total.

use autodiscover::TransportError;
use smol::io::{AsyncRead, AsyncReadExt};
use tracing::trace;

/// Maximum length of a chunk-size line, extensions and CRLF included, in bytes. Servers send a
/// few hex digits and rarely an extension, so this only stops a line that never ends.
const MAX_SIZE_LINE_BYTES: usize = 4096;

/// Maximum length of the trailer section, in bytes.
const MAX_TRAILER_BYTES: usize = 16 * 1024;

/// Maximum number of trailer fields.
const MAX_TRAILER_FIELDS: usize = 64;

/// Minimum budget for the framing bytes of one body (size lines and the CRLF after each
/// chunk's data). The budget is the larger of this and the body limit, so a server that
/// sends one data byte per chunk cannot make the driver read without end.
const MIN_FRAMING_BUDGET: usize = 64 * 1024;

/// Bytes requested from the stream per read.
const READ_BYTES: usize = 8192;

/// A decoded body and the bytes read past its end.
pub(crate) struct Decoded {
    pub(crate) body: Vec<u8>,
    /// Bytes that followed the trailer section in the last read. A server that waits for the
    /// next request sends none.
    pub(crate) leftover: Vec<u8>,
}

impl std::fmt::Debug for Decoded {
    /// Prints the lengths only, because a body can be megabytes long.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("body_bytes", &self.body.len())
            .field("leftover_bytes", &self.leftover.len())
            .finish()
    }
}

/// Reads one chunked body from `reader`, up to `limit` bytes of data.
///
/// # Errors
/// `BodyTooLarge` when the chunk sizes add up to more than `limit`, before that data is read.
/// `InvalidResponse` for a malformed size line, chunk or trailer section, or one over its
/// bound. `Truncated` when the stream ends before the trailer section does, and `Io` for
/// other read errors.
pub(crate) async fn read_chunked<R>(reader: &mut R, limit: usize) -> Result<Decoded, TransportError>
where
    R: AsyncRead + Unpin,
{
    let mut input = Input::new(reader);
    let mut body = Vec::new();
    let framing_budget = limit.max(MIN_FRAMING_BUDGET);
    let mut framing_bytes = 0usize;

    loop {
        let (line_length, size) = read_size_line(&mut input).await?;
        framing_bytes += line_length;
        if size == 0 {
            break;
        }

        let fits = usize::try_from(size)
            .ok()
            .and_then(|size| body.len().checked_add(size))
            .is_some_and(|total| total <= limit);
        if !fits {
            return Err(TransportError::BodyTooLarge { limit });
        }
        // `fits` checked that the size converts.
        let mut remaining = usize::try_from(size).unwrap_or(usize::MAX);
        while remaining > 0 {
            if input.available().is_empty() {
                input.fill().await?;
            }
            let available = input.available();
            let count = remaining.min(available.len());
            body.extend_from_slice(&available[..count]);
            input.consume(count);
            remaining -= count;
        }

        while input.available().len() < 2 {
            input.fill().await?;
        }
        if &input.available()[..2] != b"\r\n" {
            return Err(invalid("the data of a chunk is not followed by CRLF"));
        }
        input.consume(2);
        framing_bytes += 2;

        if framing_bytes > framing_budget {
            return Err(invalid(&format!(
                "the chunk framing is longer than {framing_budget} bytes; the chunks are too small"
            )));
        }
    }

    skip_trailer_section(&mut input).await?;
    Ok(Decoded {
        body,
        leftover: input.available().to_vec(),
    })
}

/// Reads and consumes one chunk-size line, returning its length in bytes and the chunk size.
async fn read_size_line<R>(input: &mut Input<'_, R>) -> Result<(usize, u64), TransportError>
where
    R: AsyncRead + Unpin,
{
    let (length, size) = loop {
        match httparse::parse_chunk_size(input.available()) {
            Ok(httparse::Status::Complete(parsed)) => break parsed,
            Ok(httparse::Status::Partial) if input.available().len() < MAX_SIZE_LINE_BYTES => {
                input.fill().await?;
            }
            Ok(httparse::Status::Partial) => return Err(size_line_too_long()),
            Err(httparse::InvalidChunkSize) => {
                return Err(invalid("a chunk size is not a valid hexadecimal number"))
            }
        }
    };
    if length > MAX_SIZE_LINE_BYTES {
        return Err(size_line_too_long());
    }

    // httparse reads an empty size as 0 and accepts any byte inside an extension. A size must
    // have at least one digit, and an extension must not hide a control character such as a
    // bare LF.
    let line = &input.available()[..length - 2];
    if !line.first().is_some_and(u8::is_ascii_hexdigit) {
        return Err(invalid(
            "a chunk-size line does not start with a hexadecimal digit",
        ));
    }
    if line
        .iter()
        .any(|&byte| (byte < 0x20 && byte != b'\t') || byte == 0x7f)
    {
        return Err(invalid("a chunk-size line contains a control character"));
    }
    input.consume(length);
    Ok((length, size))
}

/// Reads the trailer section after the last chunk, through its final empty line, and discards
/// its fields.
async fn skip_trailer_section<R>(input: &mut Input<'_, R>) -> Result<(), TransportError>
where
    R: AsyncRead + Unpin,
{
    loop {
        let mut fields = [httparse::EMPTY_HEADER; MAX_TRAILER_FIELDS];
        match httparse::parse_headers(input.available(), &mut fields) {
            Ok(httparse::Status::Complete((length, fields))) => {
                if length > MAX_TRAILER_BYTES {
                    return Err(trailer_too_long());
                }
                if !fields.is_empty() {
                    trace!(fields = fields.len(), "discarding the trailer section");
                }
                input.consume(length);
                return Ok(());
            }
            Ok(httparse::Status::Partial) if input.available().len() < MAX_TRAILER_BYTES => {
                input.fill().await?;
            }
            Ok(httparse::Status::Partial) => return Err(trailer_too_long()),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(invalid(&format!(
                    "the trailer section has more than {MAX_TRAILER_FIELDS} fields"
                )))
            }
            Err(error) => {
                return Err(invalid(&format!(
                    "the trailer section is not valid: {error}"
                )))
            }
        }
    }
}

fn invalid(reason: &str) -> TransportError {
    TransportError::InvalidResponse(format!("invalid chunked body: {reason}"))
}

fn size_line_too_long() -> TransportError {
    invalid(&format!(
        "a chunk-size line is longer than {MAX_SIZE_LINE_BYTES} bytes"
    ))
}

fn trailer_too_long() -> TransportError {
    invalid(&format!(
        "the trailer section is longer than {MAX_TRAILER_BYTES} bytes"
    ))
}

/// The bytes read from a stream and not yet consumed.
struct Input<'r, R> {
    reader: &'r mut R,
    buffer: Vec<u8>,
    /// Index of the first unconsumed byte of `buffer`.
    start: usize,
    scratch: Vec<u8>,
}

impl<'r, R: AsyncRead + Unpin> Input<'r, R> {
    fn new(reader: &'r mut R) -> Self {
        Self {
            reader,
            buffer: Vec::new(),
            start: 0,
            scratch: vec![0; READ_BYTES],
        }
    }

    fn available(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    fn consume(&mut self, count: usize) {
        self.start += count;
    }

    /// Reads at least one more byte from the stream.
    async fn fill(&mut self) -> Result<(), TransportError> {
        self.buffer.drain(..self.start);
        self.start = 0;
        let read =
            self.reader
                .read(&mut self.scratch)
                .await
                .map_err(|error| match error.kind() {
                    std::io::ErrorKind::UnexpectedEof => {
                        TransportError::Truncated(format!("the chunked body ended early: {error}"))
                    }
                    _ => TransportError::Io(format!("reading the chunked body failed: {error}")),
                })?;
        if read == 0 {
            return Err(TransportError::Truncated(
                "the connection closed before the chunked body ended".to_owned(),
            ));
        }
        self.buffer.extend_from_slice(&self.scratch[..read]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// A stream that returns `data` in reads of at most `step` bytes.
    struct Segmented {
        data: Vec<u8>,
        position: usize,
        step: usize,
    }

    impl AsyncRead for Segmented {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<std::io::Result<usize>> {
            let count = self
                .step
                .min(buf.len())
                .min(self.data.len() - self.position);
            let start = self.position;
            buf[..count].copy_from_slice(&self.data[start..start + count]);
            self.position += count;
            Poll::Ready(Ok(count))
        }
    }

    fn decode_in_steps(wire: &[u8], step: usize, limit: usize) -> Result<Decoded, TransportError> {
        let mut reader = Segmented {
            data: wire.to_vec(),
            position: 0,
            step,
        };
        smol::block_on(read_chunked(&mut reader, limit))
    }

    /// Decodes `wire` split every possible way from one byte per read to the whole at once,
    /// and checks that every split gives the same result.
    fn decode(wire: &[u8], limit: usize) -> Result<Decoded, TransportError> {
        let whole = decode_in_steps(wire, wire.len().max(1), limit);
        for step in 1..wire.len() {
            let split = decode_in_steps(wire, step, limit);
            match (&whole, &split) {
                (Ok(whole), Ok(split)) => {
                    assert_eq!(whole.body, split.body, "body with reads of {step} bytes");
                }
                (Err(whole), Err(split)) => {
                    assert_eq!(whole, split, "error with reads of {step} bytes");
                }
                _ => panic!("reads of {step} bytes changed the outcome"),
            }
        }
        whole
    }

    #[test]
    fn chunks_are_joined() {
        let decoded = decode(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 1024).unwrap();
        assert_eq!(decoded.body, b"hello world");
        assert!(decoded.leftover.is_empty());
    }

    #[test]
    fn extensions_are_ignored() {
        let decoded = decode(
            b"5;foo=bar\r\nhello\r\n6 ; name=\"quoted;value\"\r\n world\r\n0;last\r\n\r\n",
            1024,
        )
        .unwrap();
        assert_eq!(decoded.body, b"hello world");
    }

    #[test]
    fn trailers_are_discarded() {
        let decoded = decode(
            b"3\r\nabc\r\n0\r\nX-Checksum: 1234\r\nX-Other: yes\r\n\r\n",
            1024,
        )
        .unwrap();
        assert_eq!(decoded.body, b"abc");
    }

    #[test]
    fn uppercase_hex_sizes() {
        let mut wire = b"1A\r\n".to_vec();
        wire.extend_from_slice(&[b'x'; 26]);
        wire.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(decode(&wire, 1024).unwrap().body.len(), 26);
    }

    #[test]
    fn bytes_after_the_body_are_left_over() {
        let decoded = decode_in_steps(b"2\r\nok\r\n0\r\n\r\nHTTP/1.1", 64, 1024).unwrap();
        assert_eq!(decoded.body, b"ok");
        assert_eq!(decoded.leftover, b"HTTP/1.1");
    }

    #[test]
    fn sizes_over_the_limit_are_rejected_before_reading() {
        let error = decode(b"8\r\n12345678\r\n0\r\n\r\n", 7).unwrap_err();
        assert_eq!(error, TransportError::BodyTooLarge { limit: 7 });

        // Two chunks that fit alone but not together.
        let error = decode(b"4\r\n1234\r\n4\r\n5678\r\n0\r\n\r\n", 7).unwrap_err();
        assert_eq!(error, TransportError::BodyTooLarge { limit: 7 });

        let error = decode(b"ffffffffffffffff\r\n", 1024).unwrap_err();
        assert_eq!(error, TransportError::BodyTooLarge { limit: 1024 });
    }

    #[test]
    fn exact_limit_is_accepted() {
        let decoded = decode(b"4\r\n1234\r\n3\r\n567\r\n0\r\n\r\n", 7).unwrap();
        assert_eq!(decoded.body, b"1234567");
    }

    #[test]
    fn malformed_framing_is_invalid() {
        let cases: [&[u8]; 8] = [
            b"zz\r\n",
            b"\r\n",
            b";ext\r\nabc\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"3\r\nabcX\r\n0\r\n\r\n",
            b"3;a\nb\r\nabc\r\n0\r\n\r\n",
            b"11111111111111111\r\n",
            b"0\r\nnot a field\r\n\r\n",
        ];
        for wire in cases {
            let error = decode(wire, 1024).unwrap_err();
            assert!(
                matches!(error, TransportError::InvalidResponse(_)),
                "{:?} gave {error}",
                String::from_utf8_lossy(wire)
            );
        }
    }

    #[test]
    fn endless_size_line_is_bounded() {
        let mut wire = b"5;".to_vec();
        wire.extend(std::iter::repeat_n(b'x', MAX_SIZE_LINE_BYTES + 10));
        let error = decode_in_steps(&wire, 100, 1024).unwrap_err();
        assert!(
            matches!(error, TransportError::InvalidResponse(_)),
            "{error}"
        );
    }

    #[test]
    fn endless_trailer_section_is_bounded() {
        let mut wire = b"0\r\n".to_vec();
        while wire.len() < MAX_TRAILER_BYTES + 100 {
            wire.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let error = decode_in_steps(&wire, 1000, 1024).unwrap_err();
        assert!(
            matches!(error, TransportError::InvalidResponse(_)),
            "{error}"
        );
    }

    #[test]
    fn too_many_trailer_fields_are_rejected() {
        let mut wire = b"0\r\n".to_vec();
        for index in 0..=MAX_TRAILER_FIELDS {
            wire.extend_from_slice(format!("X-Field-{index}: 1\r\n").as_bytes());
        }
        wire.extend_from_slice(b"\r\n");
        let error = decode_in_steps(&wire, wire.len(), 1024).unwrap_err();
        assert!(
            matches!(error, TransportError::InvalidResponse(_)),
            "{error}"
        );
    }

    #[test]
    fn tiny_chunks_exhaust_the_framing_budget() {
        // Each one-byte chunk carries five framing bytes, so a quarter of the budget in data
        // stays under the limit while its framing goes over the budget.
        let mut wire = Vec::new();
        for _ in 0..MIN_FRAMING_BUDGET / 4 {
            wire.extend_from_slice(b"1\r\nx\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let error = decode_in_steps(&wire, wire.len(), MIN_FRAMING_BUDGET).unwrap_err();
        assert!(
            matches!(error, TransportError::InvalidResponse(_)),
            "{error}"
        );
    }

    #[test]
    fn end_of_stream_is_truncated() {
        let cases: [&[u8]; 6] = [
            b"",
            b"5\r\nhel",
            b"5\r\nhello",
            b"5\r\nhello\r\n",
            b"0\r\n",
            b"0\r\n\r",
        ];
        for wire in cases {
            let error = decode_in_steps(wire, 1, 1024).unwrap_err();
            assert!(
                matches!(error, TransportError::Truncated(_)),
                "{:?} gave {error}",
                String::from_utf8_lossy(wire)
            );
        }
    }
}
