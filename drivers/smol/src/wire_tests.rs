//! Tests of the HTTP layer against a raw loopback server that writes exact bytes, for response
//! shapes the test world's servers never produce.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use autodiscover::{HttpRequest, Method, TransportError};
use url::Url;

use crate::conn::Pool;
use crate::http::{perform, Auth};
use crate::shared::Shared;
use autodiscover_driver::tls::client_config;
use autodiscover_driver::{ConnectOverride, Credentials, Roots};

/// Starts a server on 127.0.0.1 that sends each of `responses` on its own connection, in
/// order. It reads one request head and body, writes the bytes, and closes the connection.
fn raw_server(responses: Vec<Vec<u8>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    thread::spawn(move || {
        for response in responses {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            read_request(&mut stream);
            let _ = stream.write_all(&response);
        }
    });
    addr
}

/// Reads one request: the head, then `Content-Length` bytes of body.
fn read_request(stream: &mut std::net::TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("set a read timeout");
    read_request_from(stream);
}

/// Reads one request from any stream, as [`read_request`] does.
fn read_request_from(stream: &mut impl Read) {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => received.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&received).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = stream.read_exact(&mut body);
}

fn shared_for(addr: SocketAddr) -> Shared {
    let tls = client_config(Roots::WebPki, None).expect("TLS config");
    shared_with_tls(addr, 80, tls)
}

/// Returns client state that sends connections for `autodiscover.example.com:port` to `addr`
/// and verifies servers with `tls`.
fn shared_with_tls(addr: SocketAddr, port: u16, tls: rustls::ClientConfig) -> Shared {
    Shared {
        // Never asked: the override sends every connection to `addr`.
        resolver: crate::dns::resolver(Some("127.0.0.1:9".parse().expect("literal address")))
            .expect("resolver"),
        tls: Arc::new(tls),
        overrides: vec![ConnectOverride {
            host: "autodiscover.example.com".to_owned(),
            port,
            addr,
        }],
        pool: Pool::default(),
        cache: None,
    }
}

fn get(limit: usize) -> HttpRequest {
    request_to(
        "http://autodiscover.example.com/autodiscover/autodiscover.xml",
        limit,
    )
}

fn request_to(url: &str, limit: usize) -> HttpRequest {
    HttpRequest {
        method: Method::Get,
        url: Url::parse(url).expect("literal URL"),
        headers: Vec::new(),
        body: Vec::new(),
        max_response_bytes: limit,
        credentials_allowed: false,
    }
}

fn no_credentials() -> Auth<'static> {
    Auth {
        credentials: &Credentials::None,
        basic_up_front: false,
        mailbox: "alice@example.com".to_owned(),
    }
}

fn fetch(shared: &Shared, limit: usize) -> Result<autodiscover::HttpResponse, TransportError> {
    let auth = Auth {
        credentials: &Credentials::None,
        basic_up_front: false,
        mailbox: "alice@example.com".to_owned(),
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    smol::block_on(perform(shared, &get(limit), &auth, deadline))
}

fn fetch_one(response: &[u8], limit: usize) -> Result<autodiscover::HttpResponse, TransportError> {
    let shared = shared_for(raw_server(vec![response.to_vec()]));
    fetch(&shared, limit)
}

#[test]
fn body_until_close() {
    let response = fetch_one(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n<a>closed</a>",
        1024,
    )
    .expect("response");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"<a>closed</a>");
}

#[test]
fn http10_response_is_read() {
    let response = fetch_one(
        b"HTTP/1.0 302 Found\r\nLocation: https://mail.example.com/\r\n\r\n",
        1024,
    )
    .expect("response");
    assert_eq!(response.status, 302);
    assert_eq!(
        response.header("location"),
        Some("https://mail.example.com/")
    );
}

#[test]
fn non_ascii_header_does_not_panic() {
    let response = fetch_one(
        "HTTP/1.1 200 OK\r\nX-Server-Note: caf\u{e9}\r\nContent-Length: 2\r\n\r\nok".as_bytes(),
        1024,
    )
    .expect("response");
    assert_eq!(response.header("X-Server-Note"), Some("caf\u{e9}"));
    assert_eq!(response.body, b"ok");
}

#[test]
fn interim_response_is_skipped() {
    let response = fetch_one(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone",
        1024,
    )
    .expect("response");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"done");
}

#[test]
fn chunked_body_with_trailer() {
    let response = fetch_one(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
        1024,
    )
    .expect("response");
    assert_eq!(response.body, b"hello world");
}

#[test]
fn short_body_is_truncated() {
    let error = fetch_one(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
        1024,
    )
    .expect_err("the body is short");
    assert!(matches!(error, TransportError::Truncated(_)), "{error}");
}

#[test]
fn invalid_chunk_is_invalid_response() {
    let error = fetch_one(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        1024,
    )
    .expect_err("the chunk size is not hex");
    assert!(
        matches!(error, TransportError::InvalidResponse(_)),
        "{error}"
    );
}

#[test]
fn garbage_head_is_invalid_response() {
    let error = fetch_one(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", 1024).expect_err("not HTTP");
    assert!(
        matches!(error, TransportError::InvalidResponse(_)),
        "{error}"
    );
}

#[test]
fn closed_without_response_is_truncated() {
    let error = fetch_one(b"", 1024).expect_err("no response");
    assert!(matches!(error, TransportError::Truncated(_)), "{error}");
}

#[test]
fn close_delimited_body_over_limit() {
    let mut response = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    response.extend(std::iter::repeat_n(b'x', 5000));
    let error = fetch_one(&response, 1000).expect_err("over the limit");
    assert_eq!(error, TransportError::BodyTooLarge { limit: 1000 });
}

#[test]
fn declared_length_over_limit_is_not_read() {
    let error = fetch_one(
        b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n",
        1000,
    )
    .expect_err("over the limit");
    assert_eq!(error, TransportError::BodyTooLarge { limit: 1000 });
}

#[test]
fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let shared = shared_for(listener.local_addr().expect("local address"));
    let auth = Auth {
        credentials: &Credentials::None,
        basic_up_front: false,
        mailbox: "alice@example.com".to_owned(),
    };
    let started = Instant::now();
    let deadline = started + Duration::from_millis(300);
    let error =
        smol::block_on(perform(&shared, &get(1024), &auth, deadline)).expect_err("nothing answers");
    assert_eq!(error, TransportError::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    drop(listener);
}

#[test]
fn kept_alive_connection_is_reused() {
    // One connection that responds to two requests, then closes.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        for body in ["one", "two"] {
            read_request(&mut stream);
            let response = format!("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{body}");
            stream.write_all(response.as_bytes()).expect("write");
        }
    });
    let shared = shared_for(addr);

    let first = fetch(&shared, 1024).expect("first response");
    assert_eq!(shared.pool.idle_count(), 1);
    let second = fetch(&shared, 1024).expect("second response on the same connection");
    assert_eq!(first.body, b"one");
    assert_eq!(second.body, b"two");
    server.join().expect("server thread");
}

#[test]
fn switching_protocols_interim_is_skipped() {
    let response = fetch_one(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        1024,
    )
    .expect("response");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"ok");
}

#[test]
fn endless_interim_responses_are_bounded() {
    let response = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n".repeat(1000);
    let error = fetch_one(&response, 1024).expect_err("no final response");
    assert!(
        matches!(error, TransportError::InvalidResponse(_)),
        "{error}"
    );
}

#[test]
fn plus_signed_content_length_is_invalid() {
    let error = fetch_one(
        b"HTTP/1.1 200 OK\r\nContent-Length: +13\r\n\r\n<a>thirteen</a>",
        1024,
    )
    .expect_err("a signed length");
    assert!(
        matches!(error, TransportError::InvalidResponse(_)),
        "{error}"
    );
}

#[test]
fn gzip_transfer_encoding_is_invalid() {
    let error = fetch_one(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx",
        1024,
    )
    .expect_err("an unsupported transfer coding");
    assert!(
        matches!(error, TransportError::InvalidResponse(_)),
        "{error}"
    );
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let response = fetch_one(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;foo=bar\r\nhello\r\n6;a;b=\"c\"\r\n world\r\n0;end\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n",
        1024,
    )
    .expect("response");
    assert_eq!(response.body, b"hello world");
    assert_eq!(
        response.header("X-Checksum"),
        None,
        "trailer fields are not headers"
    );
}

/// Writes `head` at once, then `body` one byte at a time with a pause before each, and keeps
/// the connection open afterwards so that only the body's own framing can end it.
fn drip_server(head: &'static [u8], body: &'static [u8], pause: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        read_request(&mut stream);
        stream.set_nodelay(true).expect("disable Nagle's algorithm");
        let _ = stream.write_all(head);
        for byte in body {
            thread::sleep(pause);
            if stream.write_all(&[*byte]).is_err() {
                return;
            }
        }
        // Hold the connection until the client closes it.
        let _ = stream.read(&mut [0u8; 1]);
    });
    addr
}

#[test]
fn chunked_body_dripped_byte_by_byte() {
    let addr = drip_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"5;foo=bar\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n",
        Duration::from_millis(2),
    );
    let shared = shared_for(addr);
    let started = Instant::now();
    let response = fetch(&shared, 1024).expect("response");
    assert_eq!(response.body, b"hello world");
    // The deadline is 5 s; async-h1's decoder waited for all of it when the last LF came late.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(shared.pool.idle_count(), 1, "the connection was not kept");
}

#[test]
fn final_lf_of_chunked_body_arrives_late() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        read_request(&mut stream);
        stream.set_nodelay(true).expect("disable Nagle's algorithm");
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r");
        thread::sleep(Duration::from_millis(50));
        let _ = stream.write_all(b"\n");
        let _ = stream.read(&mut [0u8; 1]);
    });
    let shared = shared_for(addr);
    let started = Instant::now();
    let response = fetch(&shared, 1024).expect("response");
    assert_eq!(response.body, b"ok");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn chunked_gzip_body_is_decoded() {
    use flate2::write::GzEncoder;

    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(b"<Autodiscover>chunked and gzipped</Autodiscover>")
        .expect("compress");
    let compressed = encoder.finish().expect("compress");
    let (first, second) = compressed.split_at(compressed.len() / 2);

    let mut wire =
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for part in [first, second] {
        wire.extend_from_slice(format!("{:x};ext=1\r\n", part.len()).as_bytes());
        wire.extend_from_slice(part);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");

    let response = fetch_one(&wire, 1024).expect("response");
    assert_eq!(
        response.body,
        b"<Autodiscover>chunked and gzipped</Autodiscover>"
    );
}

#[test]
fn chunked_body_over_limit() {
    let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        wire.extend_from_slice(b"200\r\n");
        wire.extend(std::iter::repeat_n(b'x', 0x200));
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    let error = fetch_one(&wire, 1000).expect_err("over the limit");
    assert_eq!(error, TransportError::BodyTooLarge { limit: 1000 });
}

#[test]
fn chunked_responses_share_a_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        for body in ["one", "two"] {
            read_request(&mut stream);
            let response = format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;n=1\r\n{body}\r\n0\r\nX-T: 1\r\n\r\n"
            );
            stream.write_all(response.as_bytes()).expect("write");
        }
    });
    let shared = shared_for(addr);

    let first = fetch(&shared, 1024).expect("first response");
    assert_eq!(shared.pool.idle_count(), 1);
    let second = fetch(&shared, 1024).expect("second response on the same connection");
    assert_eq!(first.body, b"one");
    assert_eq!(second.body, b"two");
    server.join().expect("server thread");
}

#[test]
fn bytes_after_the_body_stop_reuse() {
    let response = fetch_one(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",
        1024,
    );
    assert_eq!(response.expect("response").body, b"ok");

    let shared = shared_for(raw_server(vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokextra".to_vec(),
    ]));
    fetch(&shared, 1024).expect("response");
    assert_eq!(shared.pool.idle_count(), 0);
}

#[test]
fn header_injection_never_reaches_the_wire() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener
        .set_nonblocking(true)
        .expect("make the listener non-blocking");
    let shared = shared_for(listener.local_addr().expect("local address"));
    // Credentials that skipped `Credentials::validate`, as from a caller of the driver's
    // internals.
    let credentials = Credentials::bearer("secret-91\r\nX-Injected: yes");
    let auth = Auth {
        credentials: &credentials,
        basic_up_front: false,
        mailbox: "alice@example.com".to_owned(),
    };
    let mut request = get(1024);
    request.credentials_allowed = true;

    let error = smol::block_on(perform(
        &shared,
        &request,
        &auth,
        Instant::now() + Duration::from_secs(5),
    ))
    .expect_err("the header is invalid");

    let message = error.to_string();
    assert!(matches!(error, TransportError::Io(_)), "{message}");
    assert!(message.contains("Authorization"), "{message}");
    assert!(!message.contains("secret-91"), "{message}");
    assert!(!message.contains("X-Injected"), "{message}");
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(error) if error.kind() == std::io::ErrorKind::WouldBlock),
        "the driver connected: {accepted:?}"
    );
}

#[test]
fn header_values_with_control_characters_are_rejected() {
    for value in [
        "a\r\nX-Injected: yes",
        "a\nb",
        "a\rb",
        "a\0b",
        "a\u{1b}b",
        "a\u{7f}b",
        "caf\u{e9}",
    ] {
        let mut request = get(1024);
        request
            .headers
            .push(("SOAPAction".to_owned(), value.to_owned()));
        let shared = shared_for("127.0.0.1:9".parse().expect("literal address"));
        let error = smol::block_on(perform(
            &shared,
            &request,
            &no_credentials(),
            Instant::now() + Duration::from_secs(1),
        ))
        .expect_err("invalid header value");
        let message = error.to_string();
        assert!(message.contains("SOAPAction"), "{value:?}: {message}");
        assert!(message.contains("not sent"), "{value:?}: {message}");
    }
}

#[test]
fn header_value_with_tab_is_sent() {
    let mut request = get(1024);
    request
        .headers
        .push(("X-Note".to_owned(), "a\tb".to_owned()));
    let shared = shared_for(raw_server(vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
    ]));
    smol::block_on(perform(
        &shared,
        &request,
        &no_credentials(),
        Instant::now() + Duration::from_secs(5),
    ))
    .expect("a tab is allowed in a header value");
}

#[test]
fn invalid_header_name_is_rejected() {
    let mut request = get(1024);
    request
        .headers
        .push(("X Bad:".to_owned(), "value".to_owned()));
    let shared = shared_for("127.0.0.1:9".parse().expect("literal address"));
    let error = smol::block_on(perform(
        &shared,
        &request,
        &no_credentials(),
        Instant::now() + Duration::from_secs(1),
    ))
    .expect_err("invalid header name");
    assert!(
        error.to_string().contains("not a valid HTTP token"),
        "{error}"
    );
}

/// Starts a TLS server for `autodiscover.example.com` that sends `response` on one connection
/// and then closes it, with a close_notify alert only when `close_notify` is set. Returns its
/// address and a client configuration that trusts it.
fn tls_server(response: &'static [u8], close_notify: bool) -> (SocketAddr, rustls::ClientConfig) {
    let ca = autodiscover_testworld::TestCa::new().expect("test CA");
    let leaf = ca
        .issue(&["autodiscover.example.com"])
        .expect("server certificate");
    let server_config = leaf.server_config().expect("server TLS config");
    let client_config = client_config(Roots::None, Some(&ca.pem_file().expect("CA file")))
        .expect("client TLS config");

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    thread::spawn(move || {
        // The CA's temporary PEM file lives as long as `ca`.
        let _ca = ca;
        let Ok((tcp, _)) = listener.accept() else {
            return;
        };
        tcp.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set a read timeout");
        let connection = rustls::ServerConnection::new(server_config).expect("TLS session");
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        read_request_from(&mut tls);
        let _ = tls.write_all(response);
        let _ = tls.flush();
        if close_notify {
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        // Dropping the stream closes the TCP connection.
    });
    (addr, client_config)
}

fn fetch_https(
    addr: SocketAddr,
    tls: rustls::ClientConfig,
) -> Result<autodiscover::HttpResponse, TransportError> {
    let shared = shared_with_tls(addr, 443, tls);
    let request = request_to(
        "https://autodiscover.example.com/autodiscover/autodiscover.xml",
        1024,
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    smol::block_on(perform(&shared, &request, &no_credentials(), deadline))
}

#[test]
fn tls_close_without_notify_is_truncated() {
    let (addr, tls) = tls_server(b"HTTP/1.1 200 OK\r\n\r\n<Autodiscover>cut", false);
    let error = fetch_https(addr, tls).expect_err("no close_notify");
    assert!(matches!(error, TransportError::Truncated(_)), "{error}");
}

#[test]
fn tls_close_with_notify_is_read() {
    let (addr, tls) = tls_server(b"HTTP/1.1 200 OK\r\n\r\n<Autodiscover/>", true);
    let response = fetch_https(addr, tls).expect("response");
    assert_eq!(response.body, b"<Autodiscover/>");
}

#[test]
fn stalled_tls_handshake_is_timeout() {
    // The kernel completes the TCP handshake from the listen backlog, but nothing ever
    // responds to the ClientHello.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let shared = shared_with_tls(
        listener.local_addr().expect("local address"),
        443,
        client_config(Roots::WebPki, None).expect("TLS config"),
    );
    let request = request_to(
        "https://autodiscover.example.com/autodiscover/autodiscover.xml",
        1024,
    );
    let started = Instant::now();
    let deadline = started + Duration::from_millis(300);
    let error = smol::block_on(perform(&shared, &request, &no_credentials(), deadline))
        .expect_err("the handshake never finishes");
    assert_eq!(error, TransportError::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    drop(listener);
}

/// Linux drops a SYN while the listen backlog is full, so a connect to a listener that never
/// accepts hangs once the backlog has filled.
#[cfg(target_os = "linux")]
#[test]
fn stalled_tcp_connect_is_connect_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let mut backlog_connections = Vec::new();
    loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50)) {
            Ok(stream) => backlog_connections.push(stream),
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => break,
            Err(error) => panic!("filling the backlog failed: {error}"),
        }
        assert!(
            backlog_connections.len() < 10_000,
            "the listen backlog never filled; the kernel accepts every connection"
        );
    }

    let shared = shared_for(addr);
    let started = Instant::now();
    let deadline = started + Duration::from_millis(200);
    let error = smol::block_on(perform(&shared, &get(1024), &no_credentials(), deadline))
        .expect_err("the connection is never established");
    assert_eq!(error, TransportError::ConnectTimeout);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    drop(backlog_connections);
}
