//! One HTTP/1.1 exchange over a blocking TCP or TLS connection.
//!
//! Each request opens its own connection and sends `Connection: close`: discovery sends a
//! handful of requests to different hosts, so keeping connections alive would save little.
//! The response head is parsed by `httparse`; [`crate::body`] reads the body. Redirects are
//! never followed here: the core decides what to do with a 3xx.

use std::io::{self, BufReader, Cursor, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use autodiscover::{HttpRequest, HttpResponse, Method, TransportError};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use tracing::{enabled, trace, Level};
use url::{Host, Position, Url};

use crate::body::{self, transport_error};
use crate::dns::{KnownAddresses, Resolver};
use crate::worker::Cancel;
use autodiscover_driver::header::check_header;
use autodiscover_driver::{normalize_host, ConnectOverride};

/// The `User-Agent` of every request.
pub(crate) const USER_AGENT: &str =
    concat!("autodiscover-rs/", env!("CARGO_PKG_VERSION"), " (blocking)");

/// Maximum size of a response head (status line and header fields), a chosen bound.
/// Exchange's response heads are around 1 KiB (an estimate), so 64 KiB leaves wide room while
/// bounding a hostile server.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Maximum number of header fields in a response head.
const MAX_HEADERS: usize = 128;

/// Maximum number of interim (1xx) responses skipped before the final response. A server sends
/// at most a `100 Continue` and a few `103 Early Hints`, so more than this is hostile: without a
/// bound, a server could keep a request alive on interim heads alone until its deadline.
const MAX_INTERIM_RESPONSES: usize = 16;

/// Bytes read from the connection at a time while looking for the end of the head.
const READ_CHUNK_BYTES: usize = 8 * 1024;

/// Minimum time given to one connection attempt when a host has several addresses, so that
/// splitting the remaining time never yields a zero timeout.
const MIN_CONNECT_SHARE: Duration = Duration::from_millis(1);

/// The per-request limits and the discovery's state that one exchange uses.
pub(crate) struct RequestScope<'a> {
    /// When the request must be complete, because the core gives up on it then.
    pub(crate) deadline: Instant,
    /// The cancellation of the discovery the request belongs to.
    pub(crate) cancel: &'a Arc<Cancel>,
    /// The addresses the discovery's own DNS A actions found.
    pub(crate) known: &'a KnownAddresses,
}

/// The state shared by every request of a client: the TLS configuration, the resolver and
/// the connect overrides.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) tls: Arc<ClientConfig>,
    pub(crate) resolver: Resolver,
    pub(crate) overrides: Vec<ConnectOverride>,
}

impl Transport {
    /// Sends `request` with the headers of `extra` added, and reads the whole response,
    /// everything before the scope's deadline.
    ///
    /// The returned response has no `auth_scheme`, because the caller knows what it attached.
    pub(crate) fn exchange(
        &self,
        request: &HttpRequest,
        extra: &[(&str, String)],
        scope: &RequestScope<'_>,
    ) -> Result<HttpResponse, TransportError> {
        let target = Target::of(&request.url)?;
        let head = request_head(request, &target, extra)?;

        let tcp = self.connect(&target, scope)?;
        let _registration = scope
            .cancel
            .register(&tcp)
            .map_err(|error| transport_error(&error))?;
        // Nagle's algorithm could hold the last TLS record of the request back until the first
        // one is acknowledged.
        let _ = tcp.set_nodelay(true);
        let stream = Timed {
            tcp,
            deadline: scope.deadline,
        };
        let mut connection = if target.https {
            Connection::Tls(Box::new(handshake(&self.tls, &target, stream)?))
        } else {
            Connection::Plain(stream)
        };

        let mut message = head;
        message.extend_from_slice(&request.body);
        connection
            .write_all(&message)
            .and_then(|()| connection.flush())
            .map_err(|error| transport_error(&error))?;

        read_response(&mut connection, request.max_response_bytes)
    }

    /// Opens a TCP connection to the target: its connect override if there is one, else
    /// every address of its host, in turn, until one accepts.
    fn connect(
        &self,
        target: &Target,
        scope: &RequestScope<'_>,
    ) -> Result<TcpStream, TransportError> {
        let addresses = self.addresses(target, scope)?;
        let mut last_error = TransportError::ConnectTimeout;
        for (index, address) in addresses.iter().enumerate() {
            if scope.cancel.is_cancelled() {
                return Err(TransportError::Io("the discovery ended".to_owned()));
            }
            let left = scope.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(TransportError::ConnectTimeout);
            }
            let untried = u32::try_from(addresses.len() - index).unwrap_or(u32::MAX);
            let share = (left / untried).max(MIN_CONNECT_SHARE);
            match TcpStream::connect_timeout(address, share) {
                Ok(stream) => return Ok(stream),
                Err(error) => {
                    trace!(%address, %error, "connection attempt failed");
                    last_error = match error.kind() {
                        io::ErrorKind::ConnectionRefused => TransportError::ConnectionRefused,
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                            TransportError::ConnectTimeout
                        }
                        _ => TransportError::Io(error.to_string()),
                    };
                }
            }
        }
        Err(last_error)
    }

    /// Returns the addresses to try: the connect override, the addresses the discovery's DNS
    /// A action found for the host, or a fresh lookup, in that order of preference.
    fn addresses(
        &self,
        target: &Target,
        scope: &RequestScope<'_>,
    ) -> Result<Vec<SocketAddr>, TransportError> {
        if let Host::Domain(name) = &target.host {
            let name = normalize_host(name);
            if let Some(found) = self
                .overrides
                .iter()
                .find(|candidate| candidate.host == name && candidate.port == target.port)
            {
                trace!(host = %name, port = target.port, addr = %found.addr, "connect override");
                return Ok(vec![found.addr]);
            }
            let ips = match scope.known.get(&name) {
                Some(ips) => ips,
                None => self
                    .resolver
                    .lookup_ip(&name, scope.deadline, scope.cancel)
                    .map_err(TransportError::Dns)?,
            };
            return Ok(ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip, target.port))
                .collect());
        }
        let ip = match target.host {
            Host::Ipv4(ip) => IpAddr::V4(ip),
            Host::Ipv6(ip) => IpAddr::V6(ip),
            Host::Domain(_) => unreachable!("domains are handled above"),
        };
        Ok(vec![SocketAddr::new(ip, target.port)])
    }
}

/// The scheme, host, port and request target of a URL.
struct Target {
    https: bool,
    host: Host<String>,
    port: u16,
    /// The `Host` header value: the host, with the port when it is not the scheme's default.
    authority: String,
    /// The request target: the path and the query.
    path: String,
}

impl Target {
    fn of(url: &Url) -> Result<Self, TransportError> {
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(TransportError::Io(format!(
                    "unsupported URL scheme {other:?} in {url}; only http and https are sent"
                )))
            }
        };
        let (Some(host), Some(port), Some(host_text)) =
            (url.host(), url.port_or_known_default(), url.host_str())
        else {
            return Err(TransportError::Io(format!("the URL {url} has no host")));
        };
        let authority = match url.port() {
            Some(port) => format!("{host_text}:{port}"),
            None => host_text.to_owned(),
        };
        Ok(Self {
            https,
            host: host.to_owned(),
            port,
            authority,
            path: url[Position::BeforePath..Position::AfterQuery].to_owned(),
        })
    }
}

/// Writes the request line and header section.
fn request_head(
    request: &HttpRequest,
    target: &Target,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, TransportError> {
    let method = match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    };
    let mut headers: Vec<(&str, &str)> = vec![("Host", &target.authority)];
    headers.extend(
        request
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    );
    headers.extend(extra.iter().map(|(name, value)| (*name, value.as_str())));
    let has = |headers: &[(&str, &str)], name: &str| {
        headers
            .iter()
            .any(|(key, _)| key.eq_ignore_ascii_case(name))
    };
    if !has(&headers, "User-Agent") {
        headers.push(("User-Agent", USER_AGENT));
    }
    headers.push(("Accept-Encoding", "gzip, deflate"));
    headers.push(("Connection", "close"));
    let length = request.body.len().to_string();
    if request.method == Method::Post || !request.body.is_empty() {
        headers.push(("Content-Length", &length));
    }

    let mut head = format!("{method} {} HTTP/1.1\r\n", target.path).into_bytes();
    for (name, value) in headers {
        check_header(name, value)?;
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    Ok(head)
}

/// Completes the TLS handshake, so that its failures are reported as TLS errors.
fn handshake(
    tls: &Arc<ClientConfig>,
    target: &Target,
    mut stream: Timed,
) -> Result<StreamOwned<ClientConnection, Timed>, TransportError> {
    let server_name = match &target.host {
        Host::Domain(name) => ServerName::try_from(normalize_host(name)).map_err(|error| {
            TransportError::Tls(format!("invalid server name {name:?}: {error}"))
        })?,
        Host::Ipv4(ip) => ServerName::from(IpAddr::V4(*ip)),
        Host::Ipv6(ip) => ServerName::from(IpAddr::V6(*ip)),
    };
    let mut connection = ClientConnection::new(Arc::clone(tls), server_name)
        .map_err(|error| TransportError::Tls(error.to_string()))?;
    while connection.is_handshaking() {
        if let Err(error) = connection.complete_io(&mut stream) {
            return Err(match error.kind() {
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportError::Timeout,
                io::ErrorKind::UnexpectedEof => TransportError::Tls(
                    "the server closed the connection during the handshake".to_owned(),
                ),
                _ => TransportError::Tls(error.to_string()),
            });
        }
    }
    Ok(StreamOwned::new(connection, stream))
}

/// Reads the response head, skipping interim 1xx responses, then the body.
fn read_response<R: Read>(
    connection: &mut R,
    limit: usize,
) -> Result<HttpResponse, TransportError> {
    let mut buffer = Vec::new();
    let mut interim = 0;
    let (status, headers) = loop {
        let (status, headers) = read_head(connection, &mut buffer)?;
        if !(100..200).contains(&status) {
            break (status, headers);
        }
        // A 101 is skipped like any other 1xx, as in the smol driver. The request asked for no
        // upgrade, so what follows must still be an HTTP response.
        interim += 1;
        if interim > MAX_INTERIM_RESPONSES {
            return Err(TransportError::InvalidResponse(format!(
                "more than {MAX_INTERIM_RESPONSES} interim (1xx) responses before the final one"
            )));
        }
        trace!(status, "skipping an interim response");
    };
    trace!(status, headers = headers.len(), "response head");

    let framing = body::framing(status, &headers)?;
    let codings = body::content_codings(&headers)?;
    let reader = BufReader::new(Cursor::new(buffer).chain(connection));
    let body = body::read_body(reader, framing, &codings, limit)?;
    if enabled!(target: "wire::http", Level::TRACE) {
        trace!(target: "wire::http", status, body = %String::from_utf8_lossy(&body), "response body");
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
        auth_scheme: None,
    })
}

/// Reads until `buffer` contains a whole response head, parses it and removes it from `buffer`,
/// which keeps whatever body bytes came with it.
fn read_head<R: Read>(
    connection: &mut R,
    buffer: &mut Vec<u8>,
) -> Result<(u16, Vec<(String, String)>), TransportError> {
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    loop {
        if !buffer.is_empty() {
            let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut fields);
            match response.parse(buffer) {
                Ok(httparse::Status::Complete(length)) => {
                    let status = response.code.unwrap_or_default();
                    let headers = response
                        .headers
                        .iter()
                        .map(|field| {
                            (
                                field.name.to_owned(),
                                String::from_utf8_lossy(field.value).into_owned(),
                            )
                        })
                        .collect();
                    buffer.drain(..length);
                    return Ok((status, headers));
                }
                Ok(httparse::Status::Partial) => {}
                Err(error) => {
                    return Err(TransportError::InvalidResponse(format!(
                        "invalid response head: {error}"
                    )));
                }
            }
        }
        if buffer.len() >= MAX_HEAD_BYTES {
            return Err(TransportError::InvalidResponse(format!(
                "the response head is longer than {MAX_HEAD_BYTES} bytes"
            )));
        }

        let read = match connection.read(&mut chunk) {
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(transport_error(&error)),
        };
        if read == 0 {
            return Err(TransportError::Truncated(if buffer.is_empty() {
                "the connection closed before a response arrived".to_owned()
            } else {
                "the connection closed inside the response head".to_owned()
            }));
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// A TCP stream whose every read and write times out at one deadline.
#[derive(Debug)]
struct Timed {
    tcp: TcpStream,
    deadline: Instant,
}

impl Timed {
    /// Returns the time left, never zero, because a zero timeout means "wait forever" to the
    /// socket calls.
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request deadline passed",
            ))
        } else {
            Ok(left)
        }
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(self.left()?))?;
        self.tcp.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.set_write_timeout(Some(self.left()?))?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// A plain or TLS connection.
enum Connection {
    Plain(Timed),
    Tls(Box<StreamOwned<ClientConnection, Timed>>),
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Connection::Plain(stream) => stream.read(buf),
            Connection::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Connection::Plain(stream) => stream.write(buf),
            Connection::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Connection::Plain(stream) => stream.flush(),
            Connection::Tls(stream) => stream.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(url: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            url: Url::parse(url).unwrap(),
            headers: vec![(
                "Content-Type".to_owned(),
                "text/xml; charset=utf-8".to_owned(),
            )],
            body: b"<x/>".to_vec(),
            max_response_bytes: 1024,
            credentials_allowed: true,
        }
    }

    #[test]
    fn head_has_host_length_and_close() {
        let request = post("https://Mail.Example.com:8443/autodiscover/autodiscover.svc?x=1");
        let target = Target::of(&request.url).unwrap();
        let head = request_head(
            &request,
            &target,
            &[("X-AnchorMailbox", "a@example.com".to_owned())],
        )
        .unwrap();
        let head = String::from_utf8(head).unwrap();
        assert!(
            head.starts_with("POST /autodiscover/autodiscover.svc?x=1 HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(
            head.contains("\r\nHost: mail.example.com:8443\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nContent-Length: 4\r\n"), "{head}");
        assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
        assert!(
            head.contains("\r\nX-AnchorMailbox: a@example.com\r\n"),
            "{head}"
        );
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        assert_eq!(target.port, 8443);
        assert!(target.https);
    }

    #[test]
    fn head_omits_default_port() {
        let request = post("http://example.com/autodiscover/autodiscover.xml");
        let target = Target::of(&request.url).unwrap();
        let head = String::from_utf8(request_head(&request, &target, &[]).unwrap()).unwrap();
        assert!(head.contains("\r\nHost: example.com\r\n"), "{head}");
        assert_eq!(target.port, 80);
    }

    #[test]
    fn head_rejects_line_break_in_value() {
        let request = post("https://example.com/");
        let target = Target::of(&request.url).unwrap();
        let result = request_head(
            &request,
            &target,
            &[("X-Test", "a\r\nInjected: yes".to_owned())],
        );
        assert!(matches!(result, Err(TransportError::Io(_))), "{result:?}");
    }

    #[test]
    fn response_keeps_repeated_headers_in_order() {
        let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\nContent-Length: 0\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\r\n";
        let response = read_response(&mut &wire[..], 100).unwrap();
        assert_eq!(response.status, 401);
        let schemes: Vec<&str> = response.headers_named("www-authenticate").collect();
        assert_eq!(schemes, ["Negotiate", "Basic realm=\"x\""]);
        assert!(response.body.is_empty());
    }

    #[test]
    fn response_after_switching_protocols_is_read() {
        let wire = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let response = read_response(&mut &wire[..], 100).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"ok");
    }

    #[test]
    fn interim_responses_are_bounded() {
        let mut at_bound = b"HTTP/1.1 103 Early Hints\r\n\r\n".repeat(MAX_INTERIM_RESPONSES);
        at_bound.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
        let response = read_response(&mut &at_bound[..], 100).unwrap();
        assert_eq!(response.status, 204);

        let mut over_bound = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(MAX_INTERIM_RESPONSES + 1);
        over_bound.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
        let error = read_response(&mut &over_bound[..], 100).unwrap_err();
        let TransportError::InvalidResponse(message) = error else {
            panic!("{error:?}");
        };
        assert!(message.contains("interim"), "{message}");
    }

    #[test]
    fn response_framing_errors_are_invalid() {
        let cases: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip, gzip\r\n\r\n",
        ];
        for wire in cases {
            let result = read_response(&mut &wire[..], 100);
            assert!(
                matches!(result, Err(TransportError::InvalidResponse(_))),
                "{}: {result:?}",
                String::from_utf8_lossy(wire)
            );
        }
    }

    #[test]
    fn response_closed_early_is_truncated() {
        let error = read_response(&mut &b""[..], 100).unwrap_err();
        assert!(matches!(error, TransportError::Truncated(_)), "{error:?}");
        let error = read_response(&mut &b"HTTP/1.1 200 OK\r\nContent-"[..], 100).unwrap_err();
        assert!(matches!(error, TransportError::Truncated(_)), "{error:?}");
    }

    #[test]
    fn response_garbage_is_invalid() {
        let error = read_response(&mut &b"SSH-2.0-OpenSSH_9.6\r\n\r\n"[..], 100).unwrap_err();
        assert!(
            matches!(error, TransportError::InvalidResponse(_)),
            "{error:?}"
        );
    }

    #[test]
    fn response_head_size_is_bounded() {
        let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
        while wire.len() < MAX_HEAD_BYTES + 1024 {
            wire.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let error = read_response(&mut &wire[..], 100).unwrap_err();
        assert!(
            matches!(error, TransportError::InvalidResponse(_)),
            "{error:?}"
        );
    }
}
