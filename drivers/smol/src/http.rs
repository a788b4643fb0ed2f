//! Performing one [`HttpRequest`] action: connection, credentials, the exchange through
//! async-h1, the body limit and the content decoding.

use std::time::Instant;

use autodiscover::{HttpRequest, HttpResponse, Method, TransportError};
use autodiscover_transcript::{REDACTED, REDACTED_HEADERS};
use http_types::headers::{HeaderName, HeaderValue};
use smol::io::{AsyncReadExt, AsyncWriteExt, Cursor};
use smol::Timer;
use tracing::{debug, enabled, trace, Level};

use crate::auth::{self, AuthHeaders};
use crate::conn::{self, Connection, Origin};
use crate::decode::{decode_body, ACCEPT_ENCODING};
use crate::head::{self, Framing, Head, HeadError};
use crate::options::Credentials;
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
    let allowed = request.credentials_allowed;

    let first = match auth.credentials {
        Credentials::Bearer { .. } if allowed => auth::bearer(auth.credentials, &auth.mailbox),
        Credentials::Basic { .. } if allowed && auth.basic_up_front => {
            auth::basic(auth.credentials)
        }
        _ => None,
    };
    let mut response = send(shared, &origin, request, first.as_ref(), deadline).await?;

    let retry_with_basic = response.status == 401
        && allowed
        && first.is_none()
        && matches!(auth.credentials, Credentials::Basic { .. })
        && auth::offers_basic(response.headers_named("WWW-Authenticate"));
    if retry_with_basic {
        debug!(url = %request.url, "401 offers Basic; resending with credentials");
        let basic = auth::basic(auth.credentials);
        response = send(shared, &origin, request, basic.as_ref(), deadline).await?;
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
        host: crate::options::normalize_host(host),
        port,
    })
}

/// Sends one request on an idle connection or a new one and reads the response.
///
/// A reused connection that the server closed while it sat idle fails before any response
/// byte. The request is then sent once more on a new connection, which is harmless because
/// Autodiscover requests only read settings.
async fn send(
    shared: &Shared,
    origin: &Origin,
    request: &HttpRequest,
    auth: Option<&AuthHeaders>,
    deadline: Instant,
) -> Result<HttpResponse, TransportError> {
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

    let connection = until(
        deadline,
        async { conn::connect(shared, origin).await.map_err(Failure::Other) },
        TransportError::ConnectTimeout,
    )
    .await
    .map_err(Failure::into_error)?;
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
    if head.keeps_alive() {
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

/// Builds the async-h1 request. Header names and values from the core are ASCII; a value that
/// is not fails the request instead of reaching http-types, which would panic on it.
fn build_request(
    request: &HttpRequest,
    auth: Option<&AuthHeaders>,
) -> Result<http_types::Request, TransportError> {
    let method = match request.method {
        Method::Get => http_types::Method::Get,
        Method::Post => http_types::Method::Post,
    };
    let mut outgoing = http_types::Request::new(method, request.url.clone());

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
    for (name, value) in headers {
        let invalid = || TransportError::Io(format!("the request header {name:?} is not ASCII"));
        let name = name.parse::<HeaderName>().map_err(|_| invalid())?;
        let value = value.parse::<HeaderValue>().map_err(|_| invalid())?;
        outgoing.append_header(name, value);
    }

    if request.method == Method::Post || !request.body.is_empty() {
        outgoing.set_body(request.body.clone());
    }
    Ok(outgoing)
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
/// async-h1 decodes `Content-Length` and chunked framing from a head that carries only the
/// framing. A body that runs until the connection closes is read here directly.
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
        Framing::Length(length) if length > cap => {
            return Err(TransportError::BodyTooLarge { limit });
        }
        Framing::UntilClose => {
            let mut reader = connection.clone().take(cap);
            reader.read_to_end(&mut body).await
        }
        Framing::Length(_) | Framing::Chunked => {
            // NOTE: async-h1 2.3.4's chunked decoder rejects chunk extensions (`5;name=x`), and
            // it returns `Pending` without arranging a wake-up when a trailer section arrives
            // split across reads. Such a response fails, or ends at the request timeout.
            let framing = Cursor::new(head.framing_head());
            let stream = framing.chain(connection.clone());
            let mut response = async_h1::client::decode(stream)
                .await
                .map_err(|error| TransportError::InvalidResponse(error.to_string()))?;
            let mut reader = (&mut response).take(cap);
            reader.read_to_end(&mut body).await
        }
    };
    if let Err(error) = read {
        return Err(match error.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                TransportError::Truncated(format!("the body ended early: {error}"))
            }
            std::io::ErrorKind::InvalidData => {
                TransportError::InvalidResponse(format!("invalid chunked body: {error}"))
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
