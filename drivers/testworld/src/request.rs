//! Reading HTTP/1.1 requests with `httparse`, and the record kept of each.

use std::io::{self, Read};
use std::net::SocketAddr;

/// Maximum size of a request line plus header fields, in bytes.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Maximum number of header fields in one request.
const MAX_HEADERS: usize = 100;

/// Maximum size of a request body, in bytes. Autodiscover requests are a few
/// kilobytes, so anything near this is a bug in the client under test.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Size of one `read` from the connection.
const READ_CHUNK: usize = 16 * 1024;

/// One HTTP request received by an [`HttpServer`](crate::HttpServer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Request method as sent, for example "POST".
    pub method: String,
    /// Request target as sent, for example "/autodiscover/autodiscover.xml?x=1".
    pub target: String,
    /// Minor HTTP version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub http_minor_version: u8,
    /// Header fields in the order received. Names keep their case and values
    /// that are not UTF-8 are converted lossily.
    pub headers: Vec<(String, String)>,
    /// Body after removing any chunked transfer coding.
    pub body: Vec<u8>,
    /// Server name the client sent in the TLS SNI extension, or `None` on
    /// plain HTTP and when the client sent none.
    pub sni: Option<String>,
    /// Whether the request arrived over TLS.
    pub tls: bool,
    /// Address of the client.
    pub peer: SocketAddr,
    /// Address of the server socket that accepted the connection.
    pub local: SocketAddr,
    /// Zero-based index of this request on its connection. A value above
    /// zero means the client reused a kept-alive connection.
    pub index_on_connection: usize,
}

impl RecordedRequest {
    /// Returns the request target without its query string.
    pub fn path(&self) -> &str {
        match self.target.split_once('?') {
            Some((path, _query)) => path,
            None => &self.target,
        }
    }

    /// Returns the value of the first header field named `name`, compared
    /// without regard to ASCII case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Returns whether a header field named `name` was sent, compared without
    /// regard to ASCII case.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// Returns the `Host` header value.
    pub fn host(&self) -> Option<&str> {
        self.header("Host")
    }

    /// Returns whether any `Connection` header lists the `token` option, for
    /// example "close".
    pub(crate) fn has_connection_option(&self, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(field, _)| field.eq_ignore_ascii_case("Connection"))
            .flat_map(|(_, value)| value.split(','))
            .any(|option| option.trim().eq_ignore_ascii_case(token))
    }
}

/// The request line and header fields of a request whose body is not read
/// yet.
pub(crate) struct RequestHead {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) http_minor_version: u8,
    pub(crate) headers: Vec<(String, String)>,
}

impl RequestHead {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Returns whether the client asked for a 100 Continue interim response.
    pub(crate) fn expects_continue(&self) -> bool {
        self.http_minor_version >= 1
            && self
                .header_values("Expect")
                .any(|value| value.trim().eq_ignore_ascii_case("100-continue"))
    }

    fn framing(&self) -> Result<Framing, RequestError> {
        let codings: Vec<&str> = self
            .header_values("Transfer-Encoding")
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|coding| !coding.is_empty())
            .collect();
        if let Some(last) = codings.last() {
            // RFC 9112, section 6.3: chunked must be the final coding of a
            // request, and it overrides any Content-Length.
            return if last.eq_ignore_ascii_case("chunked") {
                Ok(Framing::Chunked)
            } else {
                Err(RequestError::Invalid(format!(
                    "unsupported Transfer-Encoding {last:?}; only chunked is accepted"
                )))
            };
        }

        let mut length = None;
        for value in self.header_values("Content-Length") {
            let parsed: usize = value
                .trim()
                .parse()
                .map_err(|_| RequestError::Invalid(format!("invalid Content-Length {value:?}")))?;
            if length.is_some_and(|previous| previous != parsed) {
                return Err(RequestError::Invalid(
                    "conflicting Content-Length values".to_owned(),
                ));
            }
            length = Some(parsed);
        }
        Ok(Framing::Length(length.unwrap_or(0)))
    }
}

/// Framing of a request body: a fixed length or the chunked coding.
enum Framing {
    Length(usize),
    Chunked,
}

/// Failure to read a request.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// The connection failed or closed in the middle of a request.
    Io(io::Error),
    /// The request is not valid HTTP/1.1, so the server responds with 400.
    Invalid(String),
    /// The request line and header fields exceed the limits, so the server
    /// responds with 431.
    HeadTooLarge,
    /// The body exceeds the limit, so the server responds with 413.
    BodyTooLarge,
}

impl From<io::Error> for RequestError {
    fn from(error: io::Error) -> Self {
        RequestError::Io(error)
    }
}

/// Reads requests one after another from one connection, keeping bytes that
/// arrived after the end of a request for the next one.
pub(crate) struct RequestReader {
    buffer: Vec<u8>,
}

impl RequestReader {
    pub(crate) fn new() -> Self {
        Self { buffer: Vec::new() }
    }

    /// Reads the next request line and header fields, or returns `None` if
    /// the client closed the connection between requests.
    pub(crate) fn read_head(
        &mut self,
        stream: &mut impl Read,
    ) -> Result<Option<RequestHead>, RequestError> {
        loop {
            if !self.buffer.is_empty() {
                if let Some((head, consumed)) = parse_head(&self.buffer)? {
                    self.buffer.drain(..consumed);
                    return Ok(Some(head));
                }
                if self.buffer.len() > MAX_HEAD_BYTES {
                    return Err(RequestError::HeadTooLarge);
                }
            }
            if self.fill(stream)? == 0 {
                if self.buffer.is_empty() {
                    return Ok(None);
                }
                return Err(unexpected_eof("request header"));
            }
        }
    }

    /// Reads the body that belongs to `head`.
    pub(crate) fn read_body(
        &mut self,
        stream: &mut impl Read,
        head: &RequestHead,
    ) -> Result<Vec<u8>, RequestError> {
        match head.framing()? {
            Framing::Length(length) => {
                if length > MAX_BODY_BYTES {
                    return Err(RequestError::BodyTooLarge);
                }
                self.fill_to(stream, length, "request body")?;
                Ok(self.buffer.drain(..length).collect())
            }
            Framing::Chunked => self.read_chunked(stream),
        }
    }

    fn read_chunked(&mut self, stream: &mut impl Read) -> Result<Vec<u8>, RequestError> {
        let mut body = Vec::new();
        loop {
            let (consumed, size) = loop {
                match httparse::parse_chunk_size(&self.buffer) {
                    Ok(httparse::Status::Complete(parsed)) => break parsed,
                    Ok(httparse::Status::Partial) => {
                        if self.fill(stream)? == 0 {
                            return Err(unexpected_eof("chunk size line"));
                        }
                    }
                    Err(httparse::InvalidChunkSize) => {
                        return Err(RequestError::Invalid("invalid chunk size line".to_owned()));
                    }
                }
            };
            self.buffer.drain(..consumed);

            if size == 0 {
                self.skip_trailers(stream)?;
                return Ok(body);
            }
            let size = usize::try_from(size).map_err(|_| RequestError::BodyTooLarge)?;
            if body.len().saturating_add(size) > MAX_BODY_BYTES {
                return Err(RequestError::BodyTooLarge);
            }

            // The chunk data is followed by CRLF.
            self.fill_to(stream, size + 2, "chunk data")?;
            if &self.buffer[size..size + 2] != b"\r\n" {
                return Err(RequestError::Invalid(
                    "chunk data not followed by CRLF".to_owned(),
                ));
            }
            body.extend(self.buffer.drain(..size));
            self.buffer.drain(..2);
        }
    }

    /// Discards the trailer section after the last chunk, up to and
    /// including the empty line that ends it.
    fn skip_trailers(&mut self, stream: &mut impl Read) -> Result<(), RequestError> {
        loop {
            match find_crlf(&self.buffer) {
                Some(0) => {
                    self.buffer.drain(..2);
                    return Ok(());
                }
                Some(end) => {
                    self.buffer.drain(..end + 2);
                }
                None => {
                    if self.buffer.len() > MAX_HEAD_BYTES {
                        return Err(RequestError::HeadTooLarge);
                    }
                    if self.fill(stream)? == 0 {
                        return Err(unexpected_eof("chunked trailer section"));
                    }
                }
            }
        }
    }

    /// Reads until the buffer contains at least `length` bytes.
    fn fill_to(
        &mut self,
        stream: &mut impl Read,
        length: usize,
        part: &str,
    ) -> Result<(), RequestError> {
        while self.buffer.len() < length {
            if self.fill(stream)? == 0 {
                return Err(unexpected_eof(part));
            }
        }
        Ok(())
    }

    /// Appends one read to the buffer and returns the number of bytes read.
    fn fill(&mut self, stream: &mut impl Read) -> io::Result<usize> {
        let mut chunk = [0u8; READ_CHUNK];
        let read = loop {
            match stream.read(&mut chunk) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                result => break result?,
            }
        };
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(read)
    }
}

/// Parses a request head at the start of `buffer`, returning it with its
/// length in bytes, or `None` if more bytes are needed.
fn parse_head(buffer: &[u8]) -> Result<Option<(RequestHead, usize)>, RequestError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut fields);
    let consumed = match request.parse(buffer) {
        Ok(httparse::Status::Complete(consumed)) => consumed,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::HeadTooLarge),
        Err(error) => {
            return Err(RequestError::Invalid(format!(
                "invalid request head: {error}"
            )))
        }
    };

    // httparse fills these three for every complete request.
    let (Some(method), Some(target), Some(version)) =
        (request.method, request.path, request.version)
    else {
        return Err(RequestError::Invalid("incomplete request line".to_owned()));
    };
    let headers = request
        .headers
        .iter()
        .map(|field| {
            let value = String::from_utf8_lossy(field.value).into_owned();
            (field.name.to_owned(), value)
        })
        .collect();
    let head = RequestHead {
        method: method.to_owned(),
        target: target.to_owned(),
        http_minor_version: version,
        headers,
    };
    Ok(Some((head, consumed)))
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|pair| pair == b"\r\n")
}

fn unexpected_eof(part: &str) -> RequestError {
    RequestError::Io(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("connection closed in the middle of the {part}"),
    ))
}
