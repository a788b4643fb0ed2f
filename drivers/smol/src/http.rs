//! Performing one [`HttpRequest`] action: connection, credentials, the exchange (async-h1's
//! request encoder, the driver's own response reader), the body limit and the content decoding.

use std::time::Instant;

use autodiscover::{HttpRequest, HttpResponse, Method, TransportError};
use autodiscover_driver::auth::{self, AuthHeaders};
use autodiscover_driver::header::check_header;
use autodiscover_driver::{normalize_host, Credentials};
use autodiscover_transcript::{REDACTED, REDACTED_HEADERS};
use http_types::headers::{HeaderName, HeaderValue};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::Timer;
use tracing::{debug, enabled, trace, Level};

use crate::chunked;
use crate::conn::{self, Connection, Origin};
use crate::decode::{decode_body, ACCEPT_ENCODING};
use crate::head::{self, Framing, Head, HeadError};
use crate::shared::Shared;

/// The `User-Agent` sent with every request.
const USER_AGENT: &str = concat!("autodiscover-rs/", env!("CARGO_PKG_VERSION"), " (smol)");

/// The credentials one request may carry, and the mailbox for `X-AnchorMailbox`.
pub(crate) struct Auth<'a> {
    pub(crate) credentials: &'a Credentials,
    pub(crate) basic_up_front: bool,
    /// The address of the current request, sent as `X-AnchorMailbox` with a bearer token.
    pub(crate) mailbox: String,
}

/// Performs `request` within `deadline`: the whole of it, including a second round trip with
/// Basic credentials after a challenge, counts against the one request timeout.
///
/// Credentials are attached only when the core allows them for this request. A bearer token
/// goes with the first request. Basic goes with the first request only when the caller asked
/// for that, and otherwise after a 401 whose `WWW-Authenticate` offers Basic, as a retry of the
/// same request within this action.
pub(crate) async fn perform(
    shared: &Shared,
    request: &HttpRequest,
    auth: &Auth<'_>,
    deadline: Instant,
) -> Result<HttpResponse, TransportError> {
    let origin = origin_of(request)?;

    let first = auth::first_attempt(
        request,
        auth.credentials,
        auth.basic_up_front,
        &auth.mailbox,
    );
    let mut response = send(shared, &origin, request, first.as_ref(), deadline).await?;

    let retry = auth::basic_retry(request, auth.credentials, first.as_ref(), &response);
    if let Some(basic) = retry {
        response = send(shared, &origin, request, Some(&basic), deadline).await?;
    }
    Ok(response)
}

fn origin_of(request: &HttpRequest) -> Result<Origin, TransportError> {
    let url = &request.url;
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        other => {
            return Err(TransportError::Io(format!(
                "unsupported URL scheme {other:?}; only http and https are supported"
            )))
        }
    };
    let host = url
        .host_str()
        .ok_or_else(|| TransportError::Io(format!("the URL {url} has no host")))?;
    let port = url
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    Ok(Origin {
        https,
        host: normalize_host(host),
        port,
    })
}

/// Sends one request on an idle connection or a new one and reads the response.
///
/// The headers are checked before any connection is opened. A reused connection that the
/// server closed while it sat idle fails before any response byte. The request is then sent
/// once more on a new connection, which is harmless because Autodiscover requests only read
/// settings.
///
/// Running out of time while resolving the host fails with `Dns(Timeout)`, while opening the
/// TCP connection with `ConnectTimeout`, and during the TLS handshake or the exchange with
/// `Timeout`.
async fn send(
    shared: &Shared,
    origin: &Origin,
    request: &HttpRequest,
    auth: Option<&AuthHeaders>,
    deadline: Instant,
) -> Result<HttpResponse, TransportError> {
    request_headers(request, auth)?;

    if let Some(connection) = shared.pool.take(origin) {
        let id = connection.id;
        match until(
            deadline,
            exchange(shared, origin, connection, request, auth),
            TransportError::Timeout,
        )
        .await
        {
            Err(Failure::NothingReceived(error)) => {
                debug!(connection = id, %error, "idle connection was closed by the server; reconnecting");
            }
            other => return other.map_err(Failure::into_error),
        }
    }

    let connection = conn::connect(shared, origin, deadline).await?;
    until(
        deadline,
        exchange(shared, origin, connection, request, auth),
        TransportError::Timeout,
    )
    .await
    .map_err(Failure::into_error)
}

/// A failed exchange, split by whether a retry on a new connection may help.
enum Failure {
    /// Nothing came back: on a reused connection, the server had closed it.
    NothingReceived(TransportError),
    Other(TransportError),
}

impl Failure {
    fn into_error(self) -> TransportError {
        match self {
            Failure::NothingReceived(error) | Failure::Other(error) => error,
        }
    }
}

/// Runs `work` until `deadline`, failing with `on_timeout` when it passes first.
async fn until<T>(
    deadline: Instant,
    work: impl std::future::Future<Output = Result<T, Failure>>,
    on_timeout: TransportError,
) -> Result<T, Failure> {
    smol::future::or(work, async {
        Timer::at(deadline).await;
        Err(Failure::Other(on_timeout))
    })
    .await
}

/// Writes the request, reads the response, and returns the connection to the pool when the
/// server keeps it open and the body was read to its end.
async fn exchange(
    shared: &Shared,
    origin: &Origin,
    mut connection: Connection,
    request: &HttpRequest,
    auth: Option<&AuthHeaders>,
) -> Result<HttpResponse, Failure> {
    let outgoing = build_request(request, auth).map_err(Failure::Other)?;
    log_request(connection.id, request, auth);

    // The encoder is used directly instead of `async_h1::client::connect`, because `connect`
    // logs the whole request, `Authorization` included, through the `log` crate.
    let mut encoder = async_h1::client::Encoder::new(outgoing);
    let written = smol::io::copy(&mut encoder, &mut connection).await;
    let written = match written {
        Ok(_) => connection.flush().await,
        Err(error) => Err(error),
    };
    if let Err(error) = written {
        return Err(Failure::NothingReceived(TransportError::Io(format!(
            "sending the request failed: {error}"
        ))));
    }

    let head = match head::read_head(&mut connection).await {
        Ok(head) => head,
        Err(HeadError::NothingReceived(error)) => return Err(Failure::NothingReceived(error)),
        Err(HeadError::Failed(error)) => return Err(Failure::Other(error)),
    };
    if enabled!(Level::TRACE) {
        trace!(
            connection = connection.id,
            status = head.status,
            headers = ?redacted(&head.headers),
            framing = ?head.framing,
            "response head"
        );
    }

    let limit = request.max_response_bytes;
    let body = read_body(&connection, &head, limit)
        .await
        .map_err(Failure::Other)?;
    // Bytes past the end of the body belong to no request, so such a connection is dropped.
    if head.keeps_alive() && !connection.has_unread() {
        shared.pool.put(origin.clone(), connection);
    }

    let body = decode_body(body, head.header("Content-Encoding"), limit).map_err(Failure::Other)?;
    if enabled!(target: "wire::http", Level::TRACE) {
        trace!(target: "wire::http", url = %request.url, body = %String::from_utf8_lossy(&body), "response body");
    }

    let auth_scheme = auth.map(|auth| auth.scheme.to_owned());
    Ok(HttpResponse {
        status: head.status,
        headers: head.headers,
        body,
        auth_scheme,
    })
}

/// Builds the async-h1 request from the core's headers, the driver's own and the credential
/// headers, each checked by [`check_header`].
fn build_request(
    request: &HttpRequest,
    auth: Option<&AuthHeaders>,
) -> Result<http_types::Request, TransportError> {
    let method = match request.method {
        Method::Get => http_types::Method::Get,
        Method::Post => http_types::Method::Post,
    };
    let mut outgoing = http_types::Request::new(method, request.url.clone());

    for (name, value) in request_headers(request, auth)? {
        // `check_header` accepted both, so neither parse can fail.
        let invalid = || TransportError::Io(format!("the request header {name:?} is invalid"));
        let name = name.parse::<HeaderName>().map_err(|_| invalid())?;
        let value = value.parse::<HeaderValue>().map_err(|_| invalid())?;
        outgoing.append_header(name, value);
    }

    if request.method == Method::Post || !request.body.is_empty() {
        outgoing.set_body(request.body.clone());
    }
    Ok(outgoing)
}

/// Returns every header line the driver sends for `request`, after checking each with
/// [`check_header`].
fn request_headers<'a>(
    request: &'a HttpRequest,
    auth: Option<&'a AuthHeaders>,
) -> Result<Vec<(&'a str, &'a str)>, TransportError> {
    let mut headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    headers.push(("User-Agent", USER_AGENT));
    headers.push(("Accept-Encoding", ACCEPT_ENCODING));
    if let Some(auth) = auth {
        for (name, value) in &auth.headers {
            headers.push((name, value.as_str()));
        }
    }
    for (name, value) in &headers {
        check_header(name, value)?;
    }
    Ok(headers)
}

/// Logs the request line and headers at trace level, with every credential header redacted.
fn log_request(connection: u64, request: &HttpRequest, auth: Option<&AuthHeaders>) {
    if !enabled!(Level::TRACE) {
        return;
    }
    let mut headers: Vec<(String, String)> = request.headers.clone();
    if let Some(auth) = auth {
        for (name, value) in &auth.headers {
            let shown = if name.eq_ignore_ascii_case("Authorization") {
                format!("{} [redacted]", auth.scheme)
            } else {
                value.clone()
            };
            headers.push(((*name).to_owned(), shown));
        }
    }
    trace!(connection, method = %request.method, url = %request.url, ?headers, body_bytes = request.body.len(), "request");
    if enabled!(target: "wire::http", Level::TRACE) {
        trace!(target: "wire::http", url = %request.url, body = %String::from_utf8_lossy(&request.body), "request body");
    }
}

/// Returns `headers` with the values of cookie and credential headers replaced, for logs.
fn redacted(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(name, value)| {
            let secret = REDACTED_HEADERS
                .iter()
                .any(|secret| secret.eq_ignore_ascii_case(name));
            (
                name.as_str(),
                if secret { REDACTED } else { value.as_str() },
            )
        })
        .collect()
}

/// Reads the raw body after `head`, at most `limit` bytes.
///
/// `Content-Length` and close-delimited bodies are read from the connection directly, and
/// chunked bodies through [`chunked::read_chunked`], which discards any trailer fields.
/// async-h1's body decoder is not used, because version 2.3.4 rejects chunk extensions and
/// can stall until the request timeout when the end of the body arrives in pieces.
///
/// A close-delimited body over TLS must end with the server's close_notify alert. A TCP close
/// without it fails as `Truncated`, because an attacker on the path could have cut the body.
async fn read_body(
    connection: &Connection,
    head: &Head,
    limit: usize,
) -> Result<Vec<u8>, TransportError> {
    // Reading one byte past the limit distinguishes a body of exactly `limit` bytes from a
    // larger one.
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut body = Vec::new();
    let read = match head.framing {
        Framing::Empty => return Ok(body),
        Framing::Chunked => {
            let decoded = chunked::read_chunked(&mut connection.clone(), limit).await?;
            connection.unread(&decoded.leftover);
            return Ok(decoded.body);
        }
        Framing::Length(length) if length > cap => {
            return Err(TransportError::BodyTooLarge { limit });
        }
        Framing::Length(length) => {
            let mut reader = connection.clone().take(length);
            reader.read_to_end(&mut body).await
        }
        Framing::UntilClose => {
            let mut reader = connection.clone().take(cap);
            reader.read_to_end(&mut body).await
        }
    };
    if let Err(error) = read {
        return Err(match error.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                TransportError::Truncated(format!("the body ended early: {error}"))
            }
            _ => TransportError::Io(format!("reading the body failed: {error}")),
        });
    }

    if body.len() > limit {
        return Err(TransportError::BodyTooLarge { limit });
    }
    if let Framing::Length(length) = head.framing {
        if (body.len() as u64) < length {
            return Err(TransportError::Truncated(format!(
                "the connection closed after {} of {length} body bytes",
                body.len()
            )));
        }
    }
    Ok(body)
}
