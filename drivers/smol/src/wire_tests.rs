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
use crate::options::{ConnectOverride, Credentials, Roots};
use crate::shared::Shared;

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
    Shared {
        // Never asked: the override sends every connection to `addr`.
        resolver: crate::dns::resolver(Some("127.0.0.1:9".parse().expect("literal address")))
            .expect("resolver"),
        tls: Arc::new(crate::tls::client_config(Roots::WebPki, None).expect("TLS config")),
        overrides: vec![ConnectOverride {
            host: "autodiscover.example.com".to_owned(),
            port: 80,
            addr,
        }],
        pool: Pool::default(),
        cache: None,
    }
}

fn get(limit: usize) -> HttpRequest {
    HttpRequest {
        method: Method::Get,
        url: Url::parse("http://autodiscover.example.com/autodiscover/autodiscover.xml")
            .expect("literal URL"),
        headers: Vec::new(),
        body: Vec::new(),
        max_response_bytes: limit,
        credentials_allowed: false,
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
