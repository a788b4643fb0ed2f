//! Tests of one HTTP exchange against servers on loopback that misbehave on purpose: bodies
//! cut without TLS close_notify, hostile content codings and handshakes that never finish.
//! They drive [`Transport::exchange`] directly, so each can check the exact transport error.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use autodiscover::{HttpRequest, HttpResponse, Method, TransportError};
use autodiscover_testworld::TestCa;
use rustls::{ServerConnection, StreamOwned};
use url::Url;

use crate::dns::{KnownAddresses, Resolver};
use crate::http::{RequestScope, Transport};
use crate::worker::Cancel;
use autodiscover_driver::{ConnectOverride, Roots};

const HOST: &str = "example.com";
const URL: &str = "https://example.com/autodiscover/autodiscover.xml";

/// How the test server ends a TLS connection after its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Sends close_notify, then closes the TCP connection.
    CloseNotify,
    /// Closes the TCP connection without close_notify, as an attacker on the path could.
    TcpClose,
}

/// Starts a TLS server on loopback that accepts one connection, reads the request head, sends
/// `response` and ends the connection as `ending` selects.
fn serve_once(ca: &TestCa, response: Vec<u8>, ending: Ending) -> (SocketAddr, JoinHandle<()>) {
    let config = ca
        .issue(&[HOST])
        .and_then(|leaf| leaf.server_config())
        .expect("the test certificate is issued");
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port is free");
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("the client connects");
        let connection = ServerConnection::new(config).unwrap();
        let mut tls = StreamOwned::new(connection, tcp);

        // The requests are GETs without a body, so the head is all there is to read, and no
        // unread byte makes the kernel reset the connection on close.
        let mut request = Vec::new();
        let mut chunk = [0u8; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            let read = tls.read(&mut chunk).expect("the request arrives");
            assert!(read > 0, "the client closed before its request ended");
            request.extend_from_slice(&chunk[..read]);
        }

        // The client may stop reading early (an invalid head), so write errors are expected.
        let _ = tls.write_all(&response).and_then(|()| tls.flush());
        if ending == Ending::CloseNotify {
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (addr, handle)
}

/// Returns a transport that trusts only `ca` and connects `example.com:443` to `addr`.
fn transport(ca: &TestCa, addr: SocketAddr) -> Transport {
    let ca_file = ca.pem_file().expect("the CA file is written");
    let tls = autodiscover_driver::tls::client_config(Roots::None, Some(&ca_file)).unwrap();
    Transport {
        tls: Arc::new(tls),
        // Never queried, because the connect override covers the only host.
        resolver: Resolver::with_nameserver(addr).unwrap(),
        overrides: vec![ConnectOverride {
            host: HOST.to_owned(),
            port: 443,
            addr,
        }],
    }
}

/// Sends a GET for [`URL`] through `transport`, which must finish by `deadline`.
fn get(transport: &Transport, deadline: Instant) -> Result<HttpResponse, TransportError> {
    let request = HttpRequest {
        method: Method::Get,
        url: Url::parse(URL).unwrap(),
        headers: Vec::new(),
        body: Vec::new(),
        max_response_bytes: 64 * 1024,
        credentials_allowed: false,
    };
    let cancel = Arc::new(Cancel::default());
    let known = KnownAddresses::default();
    let scope = RequestScope {
        deadline,
        cancel: &cancel,
        known: &known,
    };
    transport.exchange(&request, &[], &scope)
}

/// Serves `response` once, ended as `ending` selects, and returns the client's result.
fn exchange_once(response: &[u8], ending: Ending) -> Result<HttpResponse, TransportError> {
    let ca = TestCa::new().unwrap();
    let (addr, server) = serve_once(&ca, response.to_vec(), ending);
    let result = get(
        &transport(&ca, addr),
        Instant::now() + Duration::from_secs(5),
    );
    server.join().expect("the test server panicked");
    result
}

#[test]
fn unframed_body_without_close_notify_truncated() {
    let responses: [&[u8]; 2] = [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n<Autodiscover/>",
        b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n<Autodiscover/>",
    ];
    for response in responses {
        let result = exchange_once(response, Ending::TcpClose);
        assert!(
            matches!(result, Err(TransportError::Truncated(_))),
            "{}: {result:?}",
            String::from_utf8_lossy(response)
        );
    }
}

#[test]
fn unframed_body_with_close_notify_read() {
    let response = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n<Autodiscover/>";
    let result = exchange_once(response, Ending::CloseNotify);
    let response = result.expect("close_notify ends the body");
    assert_eq!(response.body, b"<Autodiscover/>");
}

#[test]
fn framed_body_without_close_notify_read() {
    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n<Autodiscover/>";
    let result = exchange_once(response, Ending::TcpClose);
    let response = result.expect("the Content-Length ends the body");
    assert_eq!(response.body, b"<Autodiscover/>");
}

#[test]
fn thousands_of_content_codings_rejected() {
    // 5000 codings make a head of about 25 KiB, inside the head limit.
    let codings = vec!["gzip"; 5000].join(",");
    let response =
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: {codings}\r\nContent-Length: 0\r\n\r\n");
    let result = exchange_once(response.as_bytes(), Ending::CloseNotify);
    let Err(TransportError::InvalidResponse(message)) = result else {
        panic!("{result:?}");
    };
    assert!(message.contains("5000 codings"), "{message}");
}

#[test]
fn stalled_tls_handshake_is_timeout() {
    let ca = TestCa::new().unwrap();
    // The kernel completes the TCP handshake for a listener that never accepts, so only the
    // TLS handshake stalls.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let transport = transport(&ca, listener.local_addr().unwrap());
    let timeout = Duration::from_millis(300);

    let started = Instant::now();
    let result = get(&transport, started + timeout);
    let elapsed = started.elapsed();

    assert!(matches!(result, Err(TransportError::Timeout)), "{result:?}");
    assert!(elapsed >= timeout, "gave up early: {elapsed:?}");
    assert!(elapsed < timeout * 5, "took {elapsed:?}");
    drop(listener);
}

#[test]
fn deadline_before_connect_is_connect_timeout() {
    let ca = TestCa::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let transport = transport(&ca, listener.local_addr().unwrap());

    let result = get(&transport, Instant::now());

    assert!(
        matches!(result, Err(TransportError::ConnectTimeout)),
        "{result:?}"
    );
}
