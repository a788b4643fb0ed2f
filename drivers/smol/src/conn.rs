//! Connections: TCP or TLS streams that can be shared between the request writer and the
//! response reader, opened through connect overrides or DNS, and kept alive in a pool.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use autodiscover::{DnsError, TransportError};
use futures_rustls::client::TlsStream;
use futures_rustls::TlsConnector;
use rustls::pki_types::ServerName;
use smol::io::{AsyncRead, AsyncWrite};
use smol::net::TcpStream;
use tracing::{debug, trace};

use crate::dns;
use crate::shared::Shared;

/// Most idle connections kept per origin. Discovery sends at most a few requests to one host
/// (a retry after a 401, a busy retry), so two cover it without hoarding sockets.
const MAX_IDLE_PER_ORIGIN: usize = 2;

/// How long an idle connection is kept. IIS, which serves Exchange, closes idle connections
/// after 120 s by default; a shorter time leaves a margin for load balancers in front of it.
/// A connection the server closed anyway is detected on use and replaced.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The destination of a connection: the scheme, host and port of a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// A plain TCP stream or a TLS stream over TCP.
enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// The stream of one connection plus bytes read ahead of the current reader.
struct Inner {
    transport: Transport,
    /// Bytes read past the end of a response head or a chunked body, which reads return before
    /// new ones.
    pushback: Vec<u8>,
}

/// One connection, cloneable so that a body reader can own a handle while the exchange keeps
/// its own.
///
/// Only one exchange uses a connection at a time, so the mutex is never contended; it is
/// locked for the length of one `poll_*` call.
#[derive(Clone)]
pub(crate) struct Connection {
    inner: Arc<Mutex<Inner>>,
    /// A number for logs, unique within the process.
    pub(crate) id: u64,
}

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

impl Connection {
    fn new(transport: Transport) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                transport,
                pushback: Vec::new(),
            })),
            id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns whether bytes read from the stream are waiting for the next read.
    pub(crate) fn has_unread(&self) -> bool {
        !self.lock().pushback.is_empty()
    }

    /// Puts bytes back in front of the stream, for the next read.
    pub(crate) fn unread(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut inner = self.lock();
        let mut joined = bytes.to_vec();
        joined.extend_from_slice(&inner.pushback);
        inner.pushback = joined;
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut inner = self.lock();
        if !inner.pushback.is_empty() {
            let count = buf.len().min(inner.pushback.len());
            buf[..count].copy_from_slice(&inner.pushback[..count]);
            inner.pushback.drain(..count);
            return Poll::Ready(Ok(count));
        }
        match &mut inner.transport {
            Transport::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.lock().transport {
            Transport::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.lock().transport {
            Transport::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.lock().transport {
            Transport::Plain(stream) => Pin::new(stream).poll_close(cx),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_close(cx),
        }
    }
}

/// Opens a connection to `origin` by `deadline`. It connects to the connect override if there
/// is one, else to the addresses DNS returns, in order. For https it then runs the TLS
/// handshake, with SNI and the certificate check on the URL's host.
///
/// # Errors
/// `Dns` when the host does not resolve, `Dns(Timeout)` when the lookup runs out of time,
/// `ConnectionRefused` or `ConnectTimeout` from TCP, `Tls` when the handshake fails, `Timeout`
/// when the handshake runs out of time, and `Io` for other socket errors.
pub(crate) async fn connect(
    shared: &Shared,
    origin: &Origin,
    deadline: Instant,
) -> Result<Connection, TransportError> {
    let addrs: Vec<SocketAddr> = match shared.connect_override(&origin.host, origin.port) {
        Some(addr) => {
            trace!(host = %origin.host, port = origin.port, %addr, "connect override");
            vec![addr]
        }
        None => {
            let lookup = async {
                dns::lookup_addresses(&shared.resolver, &origin.host)
                    .await
                    .map_err(TransportError::Dns)
            };
            within(deadline, lookup, TransportError::Dns(DnsError::Timeout))
                .await?
                .into_iter()
                .map(|ip| SocketAddr::new(ip, origin.port))
                .collect()
        }
    };
    let tcp = within(
        deadline,
        connect_tcp(&addrs),
        TransportError::ConnectTimeout,
    )
    .await?;
    // Requests are small and written at once; waiting for ACKs would only add latency.
    if let Err(error) = tcp.set_nodelay(true) {
        trace!(%error, "failed to disable Nagle's algorithm");
    }

    let transport = if origin.https {
        // The TCP connection is up, so a handshake that stalls is a slow server, not an
        // unreachable one, and times out as the request does.
        let stream = within(
            deadline,
            handshake(shared, origin, tcp),
            TransportError::Timeout,
        )
        .await?;
        Transport::Tls(Box::new(stream))
    } else {
        Transport::Plain(tcp)
    };
    let connection = Connection::new(transport);
    debug!(connection = connection.id, host = %origin.host, port = origin.port, https = origin.https, "connected");
    Ok(connection)
}

/// Runs `work` until `deadline`, failing with `on_timeout` when it passes first.
async fn within<T>(
    deadline: Instant,
    work: impl std::future::Future<Output = Result<T, TransportError>>,
    on_timeout: TransportError,
) -> Result<T, TransportError> {
    smol::future::or(work, async {
        smol::Timer::at(deadline).await;
        Err(on_timeout)
    })
    .await
}

/// Runs the TLS handshake on `tcp`, with SNI and the certificate check on `origin`'s host.
async fn handshake(
    shared: &Shared,
    origin: &Origin,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, TransportError> {
    let name = ServerName::try_from(origin.host.clone()).map_err(|_| {
        TransportError::Tls(format!("{:?} is not a valid TLS server name", origin.host))
    })?;
    let connector = TlsConnector::from(Arc::clone(&shared.tls));
    connector
        .connect(name, tcp)
        .await
        .map_err(|error| tls_error(&error))
}

/// Connects to the first address that accepts, returning the last address's error when none
/// does.
async fn connect_tcp(addrs: &[SocketAddr]) -> Result<TcpStream, TransportError> {
    let mut last_error = TransportError::Dns(autodiscover::DnsError::NoRecords);
    for addr in addrs {
        match TcpStream::connect(*addr).await {
            Ok(stream) => return Ok(stream),
            Err(error) => {
                trace!(%addr, %error, "TCP connect failed");
                last_error = match error.kind() {
                    io::ErrorKind::ConnectionRefused => TransportError::ConnectionRefused,
                    io::ErrorKind::TimedOut => TransportError::ConnectTimeout,
                    _ => TransportError::Io(format!("connecting to {addr}: {error}")),
                };
            }
        }
    }
    Err(last_error)
}

/// Maps a handshake failure: rustls' own error (a certificate for another host, an unknown
/// issuer, an alert) keeps its text, and a socket error during the handshake is named as one.
fn tls_error(error: &io::Error) -> TransportError {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(inner) => TransportError::Tls(inner.to_string()),
        None => TransportError::Tls(format!("connection failed during the handshake: {error}")),
    }
}

/// Idle keep-alive connections, by origin.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<HashMap<Origin, Vec<(Connection, Instant)>>>,
}

impl Pool {
    /// Takes the most recently used idle connection to `origin` that has not expired.
    pub(crate) fn take(&self, origin: &Origin) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let connections = idle.get_mut(origin)?;
        let now = Instant::now();
        connections.retain(|(_, since)| now.duration_since(*since) < IDLE_TIMEOUT);
        let (connection, _) = connections.pop()?;
        trace!(connection = connection.id, host = %origin.host, "reusing an idle connection");
        Some(connection)
    }

    /// Keeps `connection` for the next request to `origin`, dropping the oldest one beyond
    /// the limit.
    pub(crate) fn put(&self, origin: Origin, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let connections = idle.entry(origin).or_default();
        connections.push((connection, Instant::now()));
        if connections.len() > MAX_IDLE_PER_ORIGIN {
            connections.remove(0);
        }
    }

    /// Drops every idle connection, which closes them.
    pub(crate) fn clear(&self) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Returns the number of idle connections.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(Vec::len)
            .sum()
    }
}
