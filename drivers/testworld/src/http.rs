//! HTTP/1.1 and HTTPS servers on loopback, one thread per connection.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::{ServerConnection, StreamOwned};

use crate::ca::LeafCert;
use crate::error::Error;
use crate::reply::{Body, Handler, Reply, Response};
use crate::request::{RecordedRequest, RequestError, RequestHead, RequestReader};

/// Bytes written per `write` call for generated bodies.
const FILLER_CHUNK: usize = 64 * 1024;

/// Byte that generated bodies are made of. A space keeps an XML prefix
/// well-formed so far, so a client hits its size limit, not a parse error.
const FILLER_BYTE: u8 = b' ';

/// How long `shutdown` waits for the accept thread to take the wake-up
/// connection.
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// A running HTTP or HTTPS server on a loopback address.
///
/// Each accepted connection gets its own thread, which reads HTTP/1.1
/// requests (keep-alive and chunked request bodies are supported), records
/// each one, calls the [`Handler`] for a [`Reply`] and carries it out.
///
/// Clones share the same server. The server stops when [`HttpServer::shutdown`]
/// is called or the last clone is dropped: it closes the listener and every
/// open connection, black holes included, and joins all of its threads.
/// Recorded requests stay readable after the stop.
#[derive(Clone)]
pub struct HttpServer {
    inner: Arc<Inner>,
}

/// The owner of the threads, dropped with the last `HttpServer` clone.
struct Inner {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

/// State used by the accept thread and every connection thread.
struct Shared {
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: RwLock<Handler>,
    requests: Mutex<Vec<RecordedRequest>>,
    connections_accepted: AtomicUsize,
    stopped: Mutex<bool>,
    stopped_changed: Condvar,
    /// Clones of the open connections' sockets, so `shutdown` can unblock
    /// threads waiting in `read` or `write`.
    open: Mutex<HashMap<u64, TcpStream>>,
    next_connection_id: AtomicU64,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl HttpServer {
    /// Starts a plain HTTP server on `ip` with an ephemeral port.
    ///
    /// Returns [`Error::NotLoopback`] if `ip` is outside 127.0.0.0/8.
    pub fn start_http(ip: Ipv4Addr, handler: impl Into<Handler>) -> Result<Self, Error> {
        Self::start(ip, None, handler.into())
    }

    /// Starts an HTTPS server on `ip` with an ephemeral port, presenting
    /// `cert`.
    ///
    /// Returns [`Error::NotLoopback`] if `ip` is outside 127.0.0.0/8.
    pub fn start_https(
        ip: Ipv4Addr,
        cert: &LeafCert,
        handler: impl Into<Handler>,
    ) -> Result<Self, Error> {
        Self::start(ip, Some(cert.server_config()?), handler.into())
    }

    fn start(
        ip: Ipv4Addr,
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: Handler,
    ) -> Result<Self, Error> {
        if !ip.is_loopback() {
            return Err(Error::NotLoopback(IpAddr::V4(ip)));
        }
        let requested = SocketAddr::from((ip, 0));
        let protocol = if tls.is_some() { "HTTPS" } else { "HTTP" };
        let bind_error = |source| Error::Bind {
            socket: protocol,
            addr: requested,
            source,
        };
        let listener = TcpListener::bind(requested).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;

        let shared = Arc::new(Shared {
            addr,
            tls,
            handler: RwLock::new(handler),
            requests: Mutex::new(Vec::new()),
            connections_accepted: AtomicUsize::new(0),
            stopped: Mutex::new(false),
            stopped_changed: Condvar::new(),
            open: Mutex::new(HashMap::new()),
            next_connection_id: AtomicU64::new(0),
            threads: Mutex::new(Vec::new()),
        });
        let acceptor_shared = Arc::clone(&shared);
        let acceptor = std::thread::Builder::new()
            .name(format!("testworld-{}-{addr}", protocol.to_lowercase()))
            .spawn(move || accept_loop(&acceptor_shared, &listener))
            .map_err(|source| Error::Thread {
                server: protocol,
                source,
            })?;

        tracing::info!(%addr, protocol, "server started");
        Ok(Self {
            inner: Arc::new(Inner {
                addr,
                shared,
                acceptor: Mutex::new(Some(acceptor)),
            }),
        })
    }

    /// Returns the address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Returns whether the server speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.inner.shared.tls.is_some()
    }

    /// Returns the port a URL for this server's scheme implies: 443 for
    /// HTTPS, 80 for HTTP.
    pub fn default_port(&self) -> u16 {
        if self.is_tls() {
            443
        } else {
            80
        }
    }

    /// Replaces the handler. Requests whose handler call has already started
    /// still use the old one.
    ///
    /// A handler that captures a clone of its own server keeps that server
    /// running until [`HttpServer::shutdown`] is called, which
    /// [`World`](crate::World) does when it is dropped.
    pub fn set_handler(&self, handler: impl Into<Handler>) {
        *self
            .inner
            .shared
            .handler
            .write()
            .unwrap_or_else(PoisonError::into_inner) = handler.into();
    }

    /// Returns every request received so far, oldest first.
    ///
    /// A request is recorded once its body is read, before the handler runs,
    /// so a black-holed or closed request is recorded too.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.shared.lock_requests().clone()
    }

    /// Returns the number of requests received so far.
    pub fn request_count(&self) -> usize {
        self.inner.shared.lock_requests().len()
    }

    /// Returns the number of TCP connections accepted so far, including
    /// those whose TLS handshake failed.
    pub fn connection_count(&self) -> usize {
        self.inner
            .shared
            .connections_accepted
            .load(Ordering::SeqCst)
    }

    /// Stops the server: closes the listener and every open connection and
    /// joins all threads. Later calls do nothing.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("addr", &self.inner.addr)
            .field("tls", &self.is_tls())
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn shutdown(&self) {
        let acceptor = self
            .acceptor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(acceptor) = acceptor else {
            return;
        };

        *self.shared.lock_stopped() = true;
        self.shared.stopped_changed.notify_all();

        // The accept thread is blocked in `accept`. A connection wakes it,
        // and it then reads the stop flag and returns.
        if let Err(error) = TcpStream::connect_timeout(&self.addr, WAKE_TIMEOUT) {
            tracing::warn!(addr = %self.addr, %error, "failed to wake the accept thread");
        }
        if acceptor.join().is_err() {
            tracing::error!(addr = %self.addr, "accept thread panicked");
        }

        // No connection can be added now, because the accept thread is gone.
        for stream in self.shared.lock_open().values() {
            // Fails only if the peer already closed, which is fine.
            let _ = stream.shutdown(Shutdown::Both);
        }
        let threads = std::mem::take(&mut *self.shared.lock_threads());
        for thread in threads {
            if thread.join().is_err() {
                tracing::error!(addr = %self.addr, "connection thread panicked");
            }
        }
        tracing::info!(addr = %self.addr, "server stopped");
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Shared {
    fn lock_requests(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_stopped(&self) -> std::sync::MutexGuard<'_, bool> {
        self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_threads(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.threads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_stopped(&self) -> bool {
        *self.lock_stopped()
    }

    /// Blocks until the server stops.
    fn wait_until_stopped(&self) {
        let mut stopped = self.lock_stopped();
        while !*stopped {
            stopped = self
                .stopped_changed
                .wait(stopped)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn handler(&self) -> Handler {
        self.handler
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    loop {
        let accepted = listener.accept();
        if shared.is_stopped() {
            return;
        }
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(addr = %shared.addr, %error, "accept failed");
                continue;
            }
        };
        shared.connections_accepted.fetch_add(1, Ordering::SeqCst);

        // The response head and body go out in separate writes; without TCP_NODELAY the body
        // waits for the client's delayed ACK, which adds about 40 ms to every request.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(addr = %shared.addr, %error, "could not set TCP_NODELAY");
        }

        let id = shared.next_connection_id.fetch_add(1, Ordering::SeqCst);
        match stream.try_clone() {
            Ok(clone) => {
                shared.lock_open().insert(id, clone);
            }
            Err(error) => {
                tracing::warn!(addr = %shared.addr, %peer, %error, "failed to clone an accepted socket");
                continue;
            }
        }

        let connection_shared = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name(format!("testworld-conn-{peer}"))
            .spawn(move || {
                serve_connection(&connection_shared, stream, peer);
                connection_shared.lock_open().remove(&id);
            });
        match spawned {
            Ok(thread) => {
                let mut threads = shared.lock_threads();
                threads.retain(|thread| !thread.is_finished());
                threads.push(thread);
            }
            Err(error) => {
                tracing::warn!(addr = %shared.addr, %peer, %error, "failed to start a connection thread");
                shared.lock_open().remove(&id);
            }
        }
    }
}

/// Facts about a connection that every request on it records.
struct ConnectionInfo {
    peer: SocketAddr,
    local: SocketAddr,
    tls: bool,
    sni: Option<String>,
}

fn serve_connection(shared: &Shared, stream: TcpStream, peer: SocketAddr) {
    let local = stream.local_addr().unwrap_or(shared.addr);
    let Some(config) = &shared.tls else {
        let info = ConnectionInfo {
            peer,
            local,
            tls: false,
            sni: None,
        };
        let mut stream = stream;
        serve_requests(shared, &mut stream, &info);
        return;
    };

    let connection = match ServerConnection::new(Arc::clone(config)) {
        Ok(connection) => connection,
        Err(error) => {
            tracing::error!(%peer, %error, "failed to create a TLS connection");
            return;
        }
    };
    let mut tls = StreamOwned::new(connection, stream);
    while tls.conn.is_handshaking() {
        if let Err(error) = tls.conn.complete_io(&mut tls.sock) {
            // Expected in certificate tests: the client rejects the
            // certificate and aborts the handshake.
            tracing::debug!(%peer, %error, "TLS handshake failed");
            return;
        }
    }
    let info = ConnectionInfo {
        peer,
        local,
        tls: true,
        sni: tls.conn.server_name().map(str::to_owned),
    };
    if serve_requests(shared, &mut tls, &info) == Ending::Orderly {
        tls.conn.send_close_notify();
        // The client may have closed already, and then nothing is left to do.
        let _ = tls.flush();
    }
}

/// End state of a connection's request loop.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// After a complete response or a clean close by the client. A TLS
    /// connection then sends close_notify.
    Orderly,
    /// Abruptly, by [`Reply::Close`] or [`Reply::BlackHole`] or an I/O error.
    Abrupt,
}

fn serve_requests(
    shared: &Shared,
    stream: &mut (impl Read + Write),
    info: &ConnectionInfo,
) -> Ending {
    let mut reader = RequestReader::new();
    let mut index_on_connection = 0;
    loop {
        let request = match read_request(&mut reader, stream, info, index_on_connection) {
            Ok(Some(request)) => request,
            Ok(None) => return Ending::Orderly,
            Err(error) => return answer_request_error(stream, info, error),
        };
        index_on_connection += 1;
        shared.lock_requests().push(request.clone());

        let response = match shared.handler().call(&request) {
            Reply::Respond(response) => response,
            Reply::Close => return Ending::Abrupt,
            Reply::BlackHole => {
                shared.wait_until_stopped();
                return Ending::Abrupt;
            }
        };

        let keep_alive = request.http_minor_version >= 1
            && !request.has_connection_option("close")
            && !has_connection_close(&response.headers);
        let send_body = request.method != "HEAD";
        if let Err(error) = write_response(shared, stream, &response, keep_alive, send_body) {
            tracing::debug!(peer = %info.peer, %error, "failed to send a response");
            return Ending::Abrupt;
        }
        if !keep_alive || matches!(response.body, Body::Endless { .. }) {
            return Ending::Orderly;
        }
    }
}

fn read_request(
    reader: &mut RequestReader,
    stream: &mut (impl Read + Write),
    info: &ConnectionInfo,
    index_on_connection: usize,
) -> Result<Option<RecordedRequest>, RequestError> {
    let Some(head) = reader.read_head(stream)? else {
        return Ok(None);
    };
    if head.expects_continue() {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        stream.flush()?;
    }
    let body = reader.read_body(stream, &head)?;
    let RequestHead {
        method,
        target,
        http_minor_version,
        headers,
    } = head;
    Ok(Some(RecordedRequest {
        method,
        target,
        http_minor_version,
        headers,
        body,
        sni: info.sni.clone(),
        tls: info.tls,
        peer: info.peer,
        local: info.local,
        index_on_connection,
    }))
}

/// Sends the error status that matches a request that could not be read,
/// if the connection still works, and ends the connection.
fn answer_request_error(
    stream: &mut (impl Read + Write),
    info: &ConnectionInfo,
    error: RequestError,
) -> Ending {
    let status = match error {
        RequestError::Io(error) => {
            tracing::debug!(peer = %info.peer, %error, "connection failed while reading a request");
            return Ending::Abrupt;
        }
        RequestError::Invalid(reason) => {
            tracing::warn!(peer = %info.peer, %reason, "invalid request");
            400
        }
        RequestError::HeadTooLarge => {
            tracing::warn!(peer = %info.peer, "request head too large");
            431
        }
        RequestError::BodyTooLarge => {
            tracing::warn!(peer = %info.peer, "request body too large");
            413
        }
    };
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        reason_phrase(status)
    );
    match stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.flush())
    {
        Ok(()) => Ending::Orderly,
        Err(_) => Ending::Abrupt,
    }
}

fn has_connection_close(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Connection"))
        .flat_map(|(_, value)| value.split(','))
        .any(|option| option.trim().eq_ignore_ascii_case("close"))
}

fn has_header(headers: &[(String, String)], name: &str) -> bool {
    headers
        .iter()
        .any(|(field, _)| field.eq_ignore_ascii_case(name))
}

fn write_response(
    shared: &Shared,
    stream: &mut impl Write,
    response: &Response,
    keep_alive: bool,
    send_body: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason_phrase(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let framing_set = has_header(&response.headers, "Content-Length")
        || has_header(&response.headers, "Transfer-Encoding");
    if !framing_set {
        match &response.body {
            Body::Bytes(bytes) => head.push_str(&format!("Content-Length: {}\r\n", bytes.len())),
            Body::Large { len, .. } => head.push_str(&format!("Content-Length: {len}\r\n")),
            Body::Endless { .. } => head.push_str("Transfer-Encoding: chunked\r\n"),
        }
    }
    if !keep_alive && !has_header(&response.headers, "Connection") {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;

    if send_body {
        match &response.body {
            Body::Bytes(bytes) => stream.write_all(bytes)?,
            Body::Large { prefix, len } => write_large(stream, prefix, *len)?,
            Body::Endless { prefix } => write_endless(shared, stream, prefix)?,
        }
    }
    stream.flush()
}

fn write_large(stream: &mut impl Write, prefix: &[u8], len: u64) -> io::Result<()> {
    let prefix_len = usize::try_from(len).map_or(prefix.len(), |len| len.min(prefix.len()));
    stream.write_all(&prefix[..prefix_len])?;

    let filler = [FILLER_BYTE; FILLER_CHUNK];
    let mut remaining = len.saturating_sub(prefix_len as u64);
    while remaining > 0 {
        let step = usize::try_from(remaining).map_or(FILLER_CHUNK, |left| left.min(FILLER_CHUNK));
        stream.write_all(&filler[..step])?;
        remaining -= step as u64;
    }
    Ok(())
}

/// Sends chunks until a write fails, which happens when the client closes
/// the connection or `shutdown` closes the socket, or until the server stops.
fn write_endless(shared: &Shared, stream: &mut impl Write, prefix: &[u8]) -> io::Result<()> {
    if !prefix.is_empty() {
        write_chunk(stream, prefix)?;
    }
    let filler = [FILLER_BYTE; FILLER_CHUNK];
    while !shared.is_stopped() {
        write_chunk(stream, &filler)?;
    }
    Ok(())
}

fn write_chunk(stream: &mut impl Write, data: &[u8]) -> io::Result<()> {
    stream.write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
    stream.write_all(data)?;
    stream.write_all(b"\r\n")?;
    stream.flush()
}

/// Returns the RFC 9110 reason phrase of `status`, or an empty string for
/// codes without one, which RFC 9112 allows.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Returns a loopback address on which nothing listens, so connecting to it
/// is refused.
///
/// It binds 127.0.0.1 on an ephemeral port and closes the listener at once.
///
/// NOTE: another process or test may bind the same port before the caller
/// connects. Linux hands out ephemeral ports in turn, so this is rare, but
/// nothing prevents it.
pub fn refused_addr() -> Result<SocketAddr, Error> {
    let requested = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let bind_error = |source| Error::Bind {
        socket: "refused-port probe",
        addr: requested,
        source,
    };
    let listener = TcpListener::bind(requested).map_err(bind_error)?;
    listener.local_addr().map_err(bind_error)
}
