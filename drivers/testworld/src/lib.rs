//! An in-process test world of real servers on loopback, for end-to-end
//! tests of the autodiscover drivers.
//!
//! A [`World`] contains an authoritative DNS server ([`DnsServer`], built on
//! hickory-server), a certificate authority made at run time ([`TestCa`],
//! built with rcgen) and any number of HTTP and HTTPS servers
//! ([`HttpServer`], rustls over `std::net`). Every socket is bound on
//! 127.0.0.0/8, and no server ever opens a connection of its own, except
//! [`HttpServer::shutdown`] connecting to its own listener to wake it.
//!
//! The HTTP servers listen on ephemeral ports while Autodiscover URLs use
//! ports 443 and 80. A driver under test therefore needs a connect override
//! in the manner of curl's `--connect-to`, and
//! [`World::connect_overrides`] lists one for every host name mapped to a
//! server.
//!
//! ```no_run
//! use autodiscover_testworld::{Reply, Response, Routes, World};
//!
//! let world = World::start()?;
//! let server = world.https(
//!     &["autodiscover.example.com"],
//!     Routes::new().route(
//!         "POST",
//!         "/autodiscover/autodiscover.xml",
//!         Response::new(200).header("Content-Type", "text/xml").body("<Autodiscover/>"),
//!     ),
//! )?;
//! // Run the driver with world.dns().addr(), world.ca().pem_file()? and
//! // world.connect_overrides(), then check what it sent:
//! assert!(server.requests().iter().all(|r| !r.has_header("Authorization")));
//! # Ok::<(), autodiscover_testworld::Error>(())
//! ```
//!
//! Everything stops when the `World` is dropped.

#![warn(missing_docs)]

mod ca;
mod dns;
mod error;
mod http;
mod reply;
mod request;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Mutex, PoisonError};

pub use crate::ca::{LeafCert, TestCa};
pub use crate::dns::{DnsServer, DnsTransport, RecordedQuery, Srv};
pub use crate::error::Error;
pub use crate::http::{refused_addr, HttpServer};
pub use crate::reply::{Body, Handler, Reply, Response, Routes};
pub use crate::request::RecordedRequest;

/// A DNS server, a test CA and the HTTP and HTTPS servers started through
/// it, with the host-to-server mappings a driver needs.
///
/// All methods take `&self`, so one `World` can be shared by the threads of
/// a test. Dropping it stops every server it started, even while clones of
/// their [`HttpServer`] handles live on, and then the DNS server.
pub struct World {
    // Field order is drop order: HTTP servers stop before DNS.
    servers: Mutex<Vec<HttpServer>>,
    overrides: Mutex<Vec<(String, u16, SocketAddr)>>,
    ca: TestCa,
    dns: DnsServer,
}

impl World {
    /// Starts the DNS server and creates the CA, with no HTTP server yet.
    pub fn start() -> Result<Self, Error> {
        Ok(Self {
            servers: Mutex::new(Vec::new()),
            overrides: Mutex::new(Vec::new()),
            ca: TestCa::new()?,
            dns: DnsServer::start()?,
        })
    }

    /// Returns the DNS server, to read its address or change its zone.
    pub fn dns(&self) -> &DnsServer {
        &self.dns
    }

    /// Returns the test CA, whose certificate the driver must trust.
    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// Starts an HTTPS server on 127.0.0.1 with a certificate issued for
    /// `hosts`, and maps every host to it on port 443 (see
    /// [`World::map_host`]).
    pub fn https(&self, hosts: &[&str], handler: impl Into<Handler>) -> Result<HttpServer, Error> {
        let cert = self.ca.issue(hosts)?;
        self.https_with_cert(hosts, &cert, handler)
    }

    /// Starts an HTTPS server on 127.0.0.1 that presents `cert`, and maps
    /// every host in `hosts` to it on port 443.
    ///
    /// With a certificate issued for other names than `hosts`, a client that
    /// verifies the server name must fail the handshake.
    pub fn https_with_cert(
        &self,
        hosts: &[&str],
        cert: &LeafCert,
        handler: impl Into<Handler>,
    ) -> Result<HttpServer, Error> {
        let server = HttpServer::start_https(Ipv4Addr::LOCALHOST, cert, handler)?;
        self.adopt(hosts, &server);
        Ok(server)
    }

    /// Starts a plain HTTP server on 127.0.0.1 and maps every host in
    /// `hosts` to it on port 80.
    pub fn http(&self, hosts: &[&str], handler: impl Into<Handler>) -> Result<HttpServer, Error> {
        let server = HttpServer::start_http(Ipv4Addr::LOCALHOST, handler)?;
        self.adopt(hosts, &server);
        Ok(server)
    }

    /// Points `host` at `server`: sets the A record of `host` to the
    /// server's IP address and adds the connect override
    /// `(host, port) -> server.addr()`, replacing any earlier override for
    /// the same host and port.
    ///
    /// The server is stopped when the world is dropped.
    ///
    /// # Panics
    ///
    /// If `host` is not a valid DNS name or the server is not on an IPv4
    /// loopback address.
    pub fn map_host(&self, host: &str, port: u16, server: &HttpServer) {
        let addr = server.addr();
        let ip = match addr.ip() {
            std::net::IpAddr::V4(ip) => ip,
            std::net::IpAddr::V6(ip) => panic!("server address {ip} is not IPv4"),
        };
        self.dns.set_a(host, ip);

        let mut overrides = self
            .overrides
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        overrides.retain(|(h, p, _)| !(h.eq_ignore_ascii_case(host) && *p == port));
        overrides.push((host.to_owned(), port, addr));
        drop(overrides);

        self.keep(server);
    }

    /// Returns the connect overrides `(host, port, address)` in the order
    /// they were added: a driver that connects to `host:port` must connect
    /// to `address` instead.
    pub fn connect_overrides(&self) -> Vec<(String, u16, SocketAddr)> {
        self.overrides
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn adopt(&self, hosts: &[&str], server: &HttpServer) {
        self.keep(server);
        for host in hosts {
            self.map_host(host, server.default_port(), server);
        }
    }

    /// Adds `server` to the servers stopped on drop, once.
    fn keep(&self, server: &HttpServer) {
        let mut servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        if !servers.iter().any(|kept| kept.addr() == server.addr()) {
            servers.push(server.clone());
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let servers =
            std::mem::take(&mut *self.servers.lock().unwrap_or_else(PoisonError::into_inner));
        for server in &servers {
            server.shutdown();
        }
    }
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("dns", &self.dns)
            .field("connect_overrides", &self.connect_overrides())
            .finish_non_exhaustive()
    }
}
