//! HTTP and HTTPS server, test CA and `World` tests, with hand-written
//! HTTP/1.1 clients over std sockets and rustls, on loopback only.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use autodiscover_testworld::{
    refused_addr, Body, HttpServer, RecordedRequest, Reply, Response, Routes, TestCa, World,
};
use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

const HOST: &str = "autodiscover.example.com";
const PATH: &str = "/autodiscover/autodiscover.xml";
const TIMEOUT: Duration = Duration::from_secs(5);

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

fn connect_tcp(addr: SocketAddr) -> TcpStream {
    assert!(addr.ip().is_loopback());
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// Connects with TLS and completes the handshake, so certificate errors
/// surface here and not on the first read.
fn connect_tls(
    addr: SocketAddr,
    server_name: &str,
    roots: RootCertStore,
) -> Result<StreamOwned<ClientConnection, TcpStream>, rustls::Error> {
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let connection = ClientConnection::new(client_config(roots), name).unwrap();
    let mut stream = StreamOwned::new(connection, connect_tcp(addr));
    while stream.conn.is_handshaking() {
        if let Err(error) = stream.conn.complete_io(&mut stream.sock) {
            let inner = error
                .into_inner()
                .expect("I/O error without a rustls error");
            return Err(*inner.downcast::<rustls::Error>().unwrap());
        }
    }
    Ok(stream)
}

struct ParsedResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl ParsedResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Reads one response head and returns it with the bytes already read past
/// its end.
fn read_head(stream: &mut dyn Stream) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).unwrap();
        assert!(read > 0, "connection closed before the response head ended");
        buffer.extend_from_slice(&chunk[..read]);

        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut fields);
        if let httparse::Status::Complete(len) = response.parse(&buffer).unwrap() {
            let headers = response
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8(h.value.to_vec()).unwrap(),
                    )
                })
                .collect();
            return (response.code.unwrap(), headers, buffer[len..].to_vec());
        }
    }
}

/// Reads one response whose body has a Content-Length.
fn read_response(stream: &mut dyn Stream) -> ParsedResponse {
    let (status, headers, mut body) = read_head(stream);
    let mut response = ParsedResponse {
        status,
        headers,
        body: Vec::new(),
    };
    let length: usize = response.header("Content-Length").unwrap().parse().unwrap();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).unwrap();
        assert!(read > 0, "connection closed inside the body");
        body.extend_from_slice(&chunk[..read]);
    }
    assert_eq!(body.len(), length, "bytes after the body");
    response.body = body;
    response
}

fn exchange(stream: &mut dyn Stream, request: &str) -> ParsedResponse {
    stream.write_all(request.as_bytes()).unwrap();
    stream.flush().unwrap();
    read_response(stream)
}

fn get_request(host: &str, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")
}

fn override_for(world: &World, host: &str, port: u16) -> SocketAddr {
    world
        .connect_overrides()
        .into_iter()
        .find(|(h, p, _)| h == host && *p == port)
        .map(|(_, _, addr)| addr)
        .unwrap_or_else(|| panic!("no connect override for {host}:{port}"))
}

#[test]
fn https_request_with_test_ca_succeeds() {
    let world = World::start().unwrap();
    let reply = Response::new(200)
        .header("Content-Type", "text/xml; charset=utf-8")
        .body("<Autodiscover/>");
    let server = world
        .https(&[HOST], Routes::new().route("POST", PATH, reply))
        .unwrap();
    let addr = override_for(&world, HOST, 443);
    assert_eq!(addr, server.addr());

    let mut stream = connect_tls(addr, HOST, world.ca().root_store()).unwrap();
    let body = "<Request/>";
    let request = format!(
        "POST {PATH}?probe=1 HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = exchange(&mut stream, &request);

    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("Content-Type"),
        Some("text/xml; charset=utf-8")
    );
    assert_eq!(response.body, b"<Autodiscover/>");
    assert_eq!(server.request_count(), 1);
    let recorded = &server.requests()[0];
    assert_eq!(recorded.method, "POST");
    assert_eq!(recorded.target, format!("{PATH}?probe=1"));
    assert_eq!(recorded.path(), PATH);
    assert_eq!(recorded.host(), Some(HOST));
    assert_eq!(recorded.header("content-type"), Some("text/xml"));
    assert_eq!(recorded.body, body.as_bytes());
    assert_eq!(recorded.sni.as_deref(), Some(HOST));
    assert!(recorded.tls);
    assert!(!recorded.has_header("Authorization"));
}

#[test]
fn wrong_host_cert_fails_verification() {
    let world = World::start().unwrap();
    let cert = world.ca().issue(&["wrong.example.net"]).unwrap();
    let server = world
        .https_with_cert(&[HOST], &cert, Reply::status(200))
        .unwrap();

    let error = connect_tls(server.addr(), HOST, world.ca().root_store())
        .expect_err("handshake with a certificate for another name succeeded");

    assert!(
        matches!(
            error,
            rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
        ),
        "unexpected error: {error:?}"
    );
    assert_eq!(server.connection_count(), 1);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn unknown_ca_fails_verification() {
    let world = World::start().unwrap();
    let server = world.https(&[HOST], Reply::status(200)).unwrap();
    let other_ca = TestCa::new().unwrap();

    let error = connect_tls(server.addr(), HOST, other_ca.root_store())
        .expect_err("handshake with an untrusted CA succeeded");

    assert!(
        matches!(
            error,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
        ),
        "unexpected error: {error:?}"
    );
}

#[test]
fn black_hole_never_answers() {
    let world = World::start().unwrap();
    let server = world.https(&[HOST], Reply::BlackHole).unwrap();
    let mut stream = connect_tls(server.addr(), HOST, world.ca().root_store()).unwrap();
    stream
        .sock
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();

    stream
        .write_all(get_request(HOST, PATH).as_bytes())
        .unwrap();
    let mut buffer = [0u8; 64];
    let error = stream.read(&mut buffer).unwrap_err();

    assert!(
        matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "unexpected read result: {error:?}"
    );
    assert_eq!(server.request_count(), 1);

    // Dropping the world must end the black-holed connection promptly.
    let started = Instant::now();
    drop(world);
    assert!(started.elapsed() < Duration::from_secs(2));
    stream
        .sock
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut rest = Vec::new();
    let closed = stream.sock.read_to_end(&mut rest);
    assert!(
        closed.is_ok(),
        "connection not closed at shutdown: {closed:?}"
    );
}

#[test]
fn endless_body_keeps_streaming() {
    const MIN_BYTES_READ: usize = 4 * 1024 * 1024;
    let world = World::start().unwrap();
    let prefix = b"<?xml version=\"1.0\"?><Autodiscover>".to_vec();
    let reply = Response::new(200).body(Body::Endless {
        prefix: prefix.clone(),
    });
    let server = world.https(&[HOST], reply).unwrap();
    let mut stream = connect_tls(server.addr(), HOST, world.ca().root_store()).unwrap();

    stream
        .write_all(get_request(HOST, PATH).as_bytes())
        .unwrap();
    let (status, headers, mut received) = read_head(&mut stream);
    let mut chunk = vec![0u8; 64 * 1024];
    while received.len() < MIN_BYTES_READ {
        let read = stream.read(&mut chunk).unwrap();
        assert!(
            read > 0,
            "endless body ended after {} bytes",
            received.len()
        );
        received.extend_from_slice(&chunk[..read]);
    }

    assert_eq!(status, 200);
    assert!(headers
        .iter()
        .any(|(name, value)| name == "Transfer-Encoding" && value == "chunked"));
    let first_chunk = format!("{:x}\r\n", prefix.len()).into_bytes();
    assert!(received.starts_with(&first_chunk));
    assert_eq!(
        &received[first_chunk.len()..][..prefix.len()],
        prefix.as_slice()
    );

    // The world must stop while the client keeps the connection open.
    let started = Instant::now();
    drop(world);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn large_body_streams_exact_length() {
    const LEN: u64 = 50 * 1024 * 1024;
    let world = World::start().unwrap();
    let server = world.http(&[HOST], Reply::large(LEN)).unwrap();
    let mut stream = connect_tcp(server.addr());

    stream
        .write_all(get_request(HOST, PATH).as_bytes())
        .unwrap();
    let (status, headers, already_read) = read_head(&mut stream);
    let mut total = already_read.len() as u64;
    let mut chunk = vec![0u8; 256 * 1024];
    while total < LEN {
        let read = stream.read(&mut chunk).unwrap();
        assert!(read > 0, "body ended after {total} bytes");
        assert!(chunk[..read].iter().all(|&byte| byte == b' '));
        total += read as u64;
    }

    assert_eq!(status, 200);
    let length = headers
        .iter()
        .find(|(name, _)| name == "Content-Length")
        .map(|(_, value)| value.as_str());
    assert_eq!(length, Some("52428800"));
    assert_eq!(total, LEN);
}

#[test]
fn large_body_starts_with_prefix() {
    let world = World::start().unwrap();
    let body = Body::Large {
        prefix: b"<?xml".to_vec(),
        len: 10,
    };
    let server = world.http(&[HOST], Response::new(200).body(body)).unwrap();
    let mut stream = connect_tcp(server.addr());

    let response = exchange(&mut stream, &get_request(HOST, PATH));

    assert_eq!(response.body, b"<?xml     ");
}

#[test]
fn close_reply_sends_nothing() {
    let world = World::start().unwrap();
    let server = world.http(&[HOST], Reply::Close).unwrap();
    let mut stream = connect_tcp(server.addr());

    stream
        .write_all(get_request(HOST, PATH).as_bytes())
        .unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();

    assert!(received.is_empty());
    assert_eq!(server.request_count(), 1);
}

#[test]
fn refused_addr_refuses_connections() {
    let addr = refused_addr().unwrap();

    let error = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap_err();

    assert!(addr.ip().is_loopback());
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn routes_answer_404_and_405() {
    let world = World::start().unwrap();
    let routes = Routes::new().route("POST", PATH, Reply::status(200)).route(
        "PUT",
        PATH,
        Reply::status(201),
    );
    let server = world.http(&[HOST], routes).unwrap();
    let mut stream = connect_tcp(server.addr());

    let unknown_path = exchange(&mut stream, &get_request(HOST, "/other"));
    let wrong_method = exchange(&mut stream, &get_request(HOST, PATH));

    assert_eq!(unknown_path.status, 404);
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("Allow"), Some("POST, PUT"));
}

#[test]
fn keep_alive_and_chunked_request_body() {
    let world = World::start().unwrap();
    let server = world.http(&[HOST], Reply::status(204)).unwrap();
    let mut stream = connect_tcp(server.addr());

    let head = format!(
        "POST {PATH} HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let (interim_status, _, leftover) = read_head(&mut stream);
    assert!(leftover.is_empty());
    let response = exchange(
        &mut stream,
        "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
    );
    let second = exchange(&mut stream, &get_request(HOST, "/second"));

    assert_eq!(interim_status, 100);
    assert_eq!(response.status, 204);
    assert_eq!(second.status, 204);
    let requests: Vec<RecordedRequest> = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, b"hello world");
    assert_eq!(requests[0].index_on_connection, 0);
    assert_eq!(requests[1].index_on_connection, 1);
    assert_eq!(requests[1].path(), "/second");
    assert_eq!(server.connection_count(), 1);
}

#[test]
fn invalid_request_gets_400() {
    let world = World::start().unwrap();
    let server = world.http(&[HOST], Reply::status(200)).unwrap();
    let mut stream = connect_tcp(server.addr());

    let request = format!("GET {PATH} HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: ten\r\n\r\n");
    let response = exchange(&mut stream, &request);

    assert_eq!(response.status, 400);
    assert_eq!(response.header("Connection"), Some("close"));
    assert_eq!(server.request_count(), 0);
}

#[test]
fn set_handler_replaces_replies() {
    let world = World::start().unwrap();
    let server = world.http(&[HOST], Reply::status(200)).unwrap();
    let mut stream = connect_tcp(server.addr());

    let before = exchange(&mut stream, &get_request(HOST, PATH));
    server.set_handler(|request: &RecordedRequest| {
        Response::redirect(302, &format!("https://{HOST}{}", request.path())).into()
    });
    let after = exchange(&mut stream, &get_request(HOST, PATH));

    assert_eq!(before.status, 200);
    assert_eq!(after.status, 302);
    assert_eq!(
        after.header("Location"),
        Some(format!("https://{HOST}{PATH}").as_str())
    );
}

#[test]
fn world_maps_hosts_to_servers() {
    let world = World::start().unwrap();
    let plain = world.http(&[HOST], Reply::status(302)).unwrap();
    let secure = world
        .https(&[HOST, "example.com"], Reply::status(200))
        .unwrap();
    let srv_target = HttpServer::start_https(
        std::net::Ipv4Addr::new(127, 0, 0, 2),
        &world.ca().issue(&["mail.example.com"]).unwrap(),
        Reply::status(200),
    )
    .unwrap();
    world.map_host("mail.example.com", 443, &srv_target);

    let overrides = world.connect_overrides();

    assert_eq!(
        overrides,
        [
            (HOST.to_owned(), 80, plain.addr()),
            (HOST.to_owned(), 443, secure.addr()),
            ("example.com".to_owned(), 443, secure.addr()),
            ("mail.example.com".to_owned(), 443, srv_target.addr()),
        ]
    );
    assert_eq!(
        srv_target.addr().ip(),
        std::net::Ipv4Addr::new(127, 0, 0, 2)
    );
}

#[test]
fn world_drop_stops_servers() {
    let world = World::start().unwrap();
    let server = world.http(&[HOST], Reply::status(200)).unwrap();
    let mut stream = connect_tcp(server.addr());
    assert_eq!(exchange(&mut stream, &get_request(HOST, PATH)).status, 200);
    let ca_file = world.ca().pem_file().unwrap();
    assert_eq!(
        std::fs::read_to_string(&ca_file).unwrap(),
        world.ca().cert_pem()
    );
    assert!(world
        .ca()
        .cert_pem()
        .starts_with("-----BEGIN CERTIFICATE-----"));

    drop(world);

    // The handle outlives the world, and its record stays readable.
    assert_eq!(server.request_count(), 1);
    let refused = TcpStream::connect_timeout(&server.addr(), TIMEOUT).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    let mut rest = Vec::new();
    assert_eq!(stream.read_to_end(&mut rest).unwrap(), 0);
    assert!(!ca_file.exists());
}

#[test]
fn non_loopback_bind_is_rejected() {
    let error =
        HttpServer::start_http(std::net::Ipv4Addr::UNSPECIFIED, Reply::status(200)).unwrap_err();

    assert!(matches!(
        error,
        autodiscover_testworld::Error::NotLoopback(_)
    ));
}
