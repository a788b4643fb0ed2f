//! Building a scenario's world, its response bodies, and checks shared by the scenarios.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Mutex, PoisonError};

use autodiscover::{Discovery, Flavor};
use autodiscover_testworld::{refused_addr, Handler, HttpServer, Response, Routes, World};

use crate::{test_config, DriverError, RunResult, ScenarioRun, TestCredentials};

/// The SOAP endpoint path (steps 1, 2 and 4).
pub const SOAP_PATH: &str = "/autodiscover/autodiscover.svc";
/// The POX endpoint path.
pub const POX_PATH: &str = "/autodiscover/autodiscover.xml";
/// The EWS URL in the settings fixtures.
pub const EWS_URL: &str = "https://mail.example.com/EWS/Exchange.asmx";

const SOAP_SETTINGS: &str = include_str!("../../../tests/fixtures/soap-settings-full.xml");
const POX_SETTINGS: &str = include_str!("../../../tests/fixtures/pox-settings-utf8.xml");
const SOAP_REDIRECT_ADDRESS: &str =
    include_str!("../../../tests/fixtures/soap-redirect-address.xml");
const SOAP_REDIRECT_URL: &str = include_str!("../../../tests/fixtures/soap-redirect-url.xml");

/// Returns a SOAP `GetUserSettings` response with every common setting (an Exchange 2019-style
/// response whose `ExternalEwsUrl` is [`EWS_URL`]).
pub fn soap_settings() -> String {
    SOAP_SETTINGS.to_owned()
}

/// Returns a POX (Outlook 2006a) response whose `EwsUrl` is [`EWS_URL`].
pub fn pox_settings() -> String {
    POX_SETTINGS.to_owned()
}

/// Returns a SOAP response that redirects to the address `to`.
pub fn soap_redirect_address(to: &str) -> String {
    SOAP_REDIRECT_ADDRESS.replace("alice@example.org", to)
}

/// Returns a SOAP response that redirects to the endpoint URL `to`.
pub fn soap_redirect_url(to: &str) -> String {
    SOAP_REDIRECT_URL.replace(
        "https://autodiscover.example.org/autodiscover/autodiscover.svc",
        to,
    )
}

/// Returns a 200 response with an XML body.
pub fn xml_response(body: impl Into<autodiscover_testworld::Body>) -> Response {
    Response::new(200)
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(body)
}

/// A test world plus the connect overrides a scenario adds for hosts that refuse connections.
pub struct Setup {
    /// The DNS server, CA and servers.
    pub world: World,
    refused: Mutex<Vec<(String, u16, SocketAddr)>>,
}

impl Default for Setup {
    fn default() -> Self {
        Self::new()
    }
}

impl Setup {
    /// Starts an empty world.
    ///
    /// # Panics
    /// When the DNS server cannot start or the CA cannot be made.
    pub fn new() -> Self {
        Self {
            world: World::start().expect("failed to start the test world"),
            refused: Mutex::new(Vec::new()),
        }
    }

    /// Starts an HTTPS server for `hosts` (A records and port 443 overrides included).
    ///
    /// # Panics
    /// When the server cannot start.
    pub fn https(&self, hosts: &[&str], handler: impl Into<Handler>) -> HttpServer {
        self.world
            .https(hosts, handler)
            .expect("failed to start an HTTPS server")
    }

    /// Starts a plain HTTP server for `hosts` (A records and port 80 overrides included).
    ///
    /// # Panics
    /// When the server cannot start.
    pub fn http(&self, hosts: &[&str], handler: impl Into<Handler>) -> HttpServer {
        self.world
            .http(hosts, handler)
            .expect("failed to start an HTTP server")
    }

    /// Starts an HTTPS server that answers every SOAP POST with `body`.
    pub fn soap(
        &self,
        hosts: &[&str],
        body: impl Into<autodiscover_testworld::Body>,
    ) -> HttpServer {
        self.https(
            hosts,
            Routes::new().route("POST", SOAP_PATH, xml_response(body)),
        )
    }

    /// Gives `host` an A record on 127.0.0.1 and sends its connections on `ports` to a port
    /// where nothing listens, so they are refused.
    ///
    /// # Panics
    /// When no free port can be found.
    pub fn refuse(&self, host: &str, ports: &[u16]) {
        self.world.dns().set_a(host, Ipv4Addr::LOCALHOST);
        let addr = refused_addr().expect("failed to reserve a closed loopback port");
        let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        for port in ports {
            refused.push((host.to_owned(), *port, addr));
        }
    }

    /// Returns a run for `email` with the world's nameserver, CA file and overrides, no
    /// credentials, the SOAP flavour and [`test_config`].
    ///
    /// # Panics
    /// When the CA file cannot be written.
    pub fn run(&self, email: &str) -> ScenarioRun {
        let mut connect_overrides = self.world.connect_overrides();
        connect_overrides.extend(
            self.refused
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .cloned(),
        );
        close_other_ports(&mut connect_overrides);
        ScenarioRun {
            email: email.to_owned(),
            flavor: Flavor::Soap,
            credentials: TestCredentials::None,
            basic_up_front: false,
            config: test_config(),
            nameserver: self.world.dns().addr(),
            ca_file: self
                .world
                .ca()
                .pem_file()
                .expect("failed to write the CA file"),
            connect_overrides,
            cache: None,
            record: false,
        }
    }
}

/// Adds a refused override for port 80 or 443 of every host that has an override for only
/// one of them, so that a driver never connects to whatever else listens on 127.0.0.1.
fn close_other_ports(overrides: &mut Vec<(String, u16, SocketAddr)>) {
    let hosts: Vec<String> = overrides.iter().map(|(host, _, _)| host.clone()).collect();
    for host in hosts {
        for port in [80, 443] {
            let covered = overrides.iter().any(|(other, other_port, _)| {
                other.eq_ignore_ascii_case(&host) && *other_port == port
            });
            if !covered {
                let addr = refused_addr().expect("failed to reserve a closed loopback port");
                overrides.push((host.clone(), port, addr));
            }
        }
    }
}

/// Returns the discovery of `result`, or panics with the driver's error.
pub fn expect_discovery(result: RunResult) -> Discovery {
    match result.outcome {
        Ok(discovery) => discovery,
        Err(error) => panic!("expected a discovery, got: {error}"),
    }
}

/// Returns the core's error of `result`, or panics naming what came instead.
pub fn expect_error(result: RunResult) -> autodiscover::Error {
    match result.outcome {
        Ok(discovery) => panic!(
            "expected a failed discovery, got endpoint {} at {}",
            discovery.endpoint, discovery.step
        ),
        Err(DriverError::Discovery(error)) => error,
        Err(DriverError::Driver(message)) => panic!("expected the core's error, got: {message}"),
    }
}

/// Returns the `Authorization` values of every request `server` received, `None` where the
/// header was absent.
pub fn authorizations(server: &HttpServer) -> Vec<Option<String>> {
    server
        .requests()
        .iter()
        .map(|request| request.header("Authorization").map(str::to_owned))
        .collect()
}
