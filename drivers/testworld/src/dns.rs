//! Authoritative DNS server on loopback, built on `hickory-server`.
//!
//! The server runs a current-thread tokio runtime on its own thread, so
//! blocking tests and tests on any async runtime can use it alike.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::{mpsc, Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_proto::op::{Edns, Header, HeaderCounts, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA, SRV};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use hickory_server::Server;
use tokio::sync::oneshot;

use crate::error::Error;

/// Time to live of every record served, in seconds.
///
/// Resolvers must not cache a record with a TTL of zero, so a record changed
/// during a test takes effect at the next lookup.
const TTL: u32 = 0;

/// How long the server keeps an idle DNS-over-TCP connection open.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Size, in messages, of the outgoing response buffer of one TCP connection.
const TCP_RESPONSE_BUFFER: usize = 16;

/// How many ephemeral UDP ports to try before giving up on finding one whose
/// TCP port with the same number is also free.
const PORT_ATTEMPTS: usize = 32;

/// One SRV record (RFC 2782) served by [`DnsServer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Srv {
    /// Priority of the target host. Clients try lower values first.
    pub priority: u16,
    /// Relative weight among records of the same priority.
    pub weight: u16,
    /// TCP port of the service on the target host.
    pub port: u16,
    /// Host name of the target, for example "mail.example.com".
    pub target: String,
}

impl Srv {
    /// Creates an SRV record value.
    pub fn new(priority: u16, weight: u16, port: u16, target: &str) -> Self {
        Self {
            priority,
            weight,
            port,
            target: target.to_owned(),
        }
    }
}

/// Transport on which a DNS query arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsTransport {
    /// DNS over UDP.
    Udp,
    /// DNS over TCP.
    Tcp,
}

/// One DNS question received by [`DnsServer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedQuery {
    /// Queried name in lower case, with the trailing dot, for example
    /// "_autodiscover._tcp.example.com.".
    pub name: String,
    /// Queried record type in its standard mnemonic, for example "A" or "SRV".
    pub record_type: String,
    /// Transport the query arrived on.
    pub transport: DnsTransport,
}

/// Records stored for one owner name.
#[derive(Default)]
struct Node {
    a: Vec<Ipv4Addr>,
    srv: Vec<Srv>,
}

/// State shared between the test thread and the DNS server thread.
#[derive(Default)]
struct Shared {
    zone: RwLock<HashMap<LowerName, Node>>,
    queries: Mutex<Vec<RecordedQuery>>,
}

/// A running authoritative DNS server on 127.0.0.1, serving UDP and TCP on
/// the same ephemeral port.
///
/// It answers A and SRV questions from a zone that tests change while it
/// runs. A name with no records, and no records below it, gets NXDOMAIN.
/// A name that exists but has no record of the requested type gets an empty
/// NOERROR answer. Both negative answers carry an SOA record in the
/// authority section. All answers have the AA flag set and a TTL of 0.
///
/// Dropping the server stops its thread and closes both sockets.
pub struct DnsServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl DnsServer {
    /// Binds 127.0.0.1 on an ephemeral port for both UDP and TCP and starts
    /// serving an empty zone.
    ///
    /// Returns once both sockets accept queries.
    pub fn start() -> Result<Self, Error> {
        let (udp, tcp) = bind_udp_and_tcp()?;
        let addr = udp.local_addr().map_err(|source| Error::Bind {
            socket: "DNS over UDP",
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            source,
        })?;

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Thread {
                server: "DNS",
                source,
            })?;
        let shared = Arc::new(Shared::default());
        let handler = ZoneHandler {
            shared: Arc::clone(&shared),
        };
        let (ready_tx, ready_rx) = mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel();

        let thread = std::thread::Builder::new()
            .name(format!("testworld-dns-{addr}"))
            .spawn(move || {
                runtime.block_on(serve(udp, tcp, handler, ready_tx, shutdown_rx));
            })
            .map_err(|source| Error::Thread {
                server: "DNS",
                source,
            })?;

        let mut server = Self {
            addr,
            shared,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        };
        let ready = ready_rx.recv().unwrap_or_else(|_| {
            Err(io::Error::other(
                "the DNS thread exited before registering its sockets",
            ))
        });
        if let Err(source) = ready {
            server.stop();
            return Err(Error::Bind {
                socket: "DNS",
                addr,
                source,
            });
        }
        tracing::info!(%addr, "DNS server started");
        Ok(server)
    }

    /// Returns the address that serves both UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the A records of `name` with one record for `ip`.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid DNS name or `ip` is outside 127.0.0.0/8, so
    /// that no test can send a driver to a real host.
    pub fn set_a(&self, name: &str, ip: Ipv4Addr) {
        assert!(
            ip.is_loopback(),
            "A record {name} -> {ip} rejected: the test world serves only 127.0.0.0/8 addresses"
        );
        let mut zone = self.write_zone();
        zone.entry(parse_name(name)).or_default().a = vec![ip];
    }

    /// Replaces the SRV records of `name` with `records`.
    ///
    /// An empty `records` leaves the name existing with no SRV records, so
    /// SRV questions for it get an empty NOERROR answer.
    ///
    /// # Panics
    ///
    /// If `name` or a target is not a valid DNS name.
    pub fn set_srv(&self, name: &str, records: Vec<Srv>) {
        for record in &records {
            parse_name(&record.target);
        }
        let mut zone = self.write_zone();
        zone.entry(parse_name(name)).or_default().srv = records;
    }

    /// Removes every record of `name`, which then gets NXDOMAIN unless a
    /// name below it still has records.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid DNS name.
    pub fn remove(&self, name: &str) {
        self.write_zone().remove(&parse_name(name));
    }

    /// Returns every question received so far, oldest first.
    pub fn queries(&self) -> Vec<RecordedQuery> {
        self.shared
            .queries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn write_zone(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<LowerName, Node>> {
        self.shared
            .zone
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // An error means the thread already exited, which is the goal.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!(addr = %self.addr, "DNS server thread panicked");
            }
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop();
        tracing::info!(addr = %self.addr, "DNS server stopped");
    }
}

impl std::fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Binds a UDP socket on an ephemeral port of 127.0.0.1 and a TCP listener
/// on the same port number, both non-blocking for tokio.
fn bind_udp_and_tcp() -> Result<(UdpSocket, TcpListener), Error> {
    let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut last_error = None;

    for _ in 0..PORT_ATTEMPTS {
        let udp = UdpSocket::bind(any_port).map_err(|source| Error::Bind {
            socket: "DNS over UDP",
            addr: any_port,
            source,
        })?;
        let addr = udp.local_addr().map_err(|source| Error::Bind {
            socket: "DNS over UDP",
            addr: any_port,
            source,
        })?;
        match TcpListener::bind(addr) {
            Ok(tcp) => {
                let nonblocking = udp
                    .set_nonblocking(true)
                    .and_then(|()| tcp.set_nonblocking(true));
                return match nonblocking {
                    Ok(()) => Ok((udp, tcp)),
                    Err(source) => Err(Error::Bind {
                        socket: "DNS",
                        addr,
                        source,
                    }),
                };
            }
            // The TCP port with this number is taken, so try another UDP port.
            Err(error) => last_error = Some((addr, error)),
        }
    }

    let (addr, source) = last_error.unwrap_or_else(|| {
        let error = io::Error::other("no port was tried");
        (any_port, error)
    });
    Err(Error::Bind {
        socket: "DNS over TCP",
        addr,
        source,
    })
}

/// Runs the DNS server until `shutdown` fires or its sender is dropped.
async fn serve(
    udp: UdpSocket,
    tcp: TcpListener,
    handler: ZoneHandler,
    ready: mpsc::Sender<io::Result<()>>,
    shutdown: oneshot::Receiver<()>,
) {
    let sockets = tokio::net::UdpSocket::from_std(udp)
        .and_then(|udp| Ok((udp, tokio::net::TcpListener::from_std(tcp)?)));
    let (udp, tcp) = match sockets {
        Ok(sockets) => sockets,
        Err(error) => {
            // The receiver is gone only if `start` already returned.
            let _ = ready.send(Err(error));
            return;
        }
    };

    let mut server = Server::new(handler);
    server.register_socket(udp);
    server.register_listener(tcp, TCP_IDLE_TIMEOUT, TCP_RESPONSE_BUFFER);
    let _ = ready.send(Ok(()));

    let _ = shutdown.await;
    // Dropping the server aborts its listener and connection tasks, so no
    // open TCP connection can delay the shutdown.
    drop(server);
}

/// Parses a name given by a test into the lower-case, fully qualified key
/// of the zone map.
fn parse_name(name: &str) -> LowerName {
    let mut parsed = match Name::from_ascii(name) {
        Ok(parsed) => parsed,
        Err(error) => panic!("invalid DNS name {name:?}: {error}"),
    };
    parsed.set_fqdn(true);
    LowerName::new(&parsed)
}

/// Answers questions from the shared zone.
struct ZoneHandler {
    shared: Arc<Shared>,
}

/// Records for one response, before they are borrowed by the encoder.
struct Answer {
    code: ResponseCode,
    answers: Vec<Record>,
    additionals: Vec<Record>,
}

impl ZoneHandler {
    fn lookup(&self, name: &LowerName, owner: &Name, record_type: RecordType) -> Answer {
        let zone = self
            .shared
            .zone
            .read()
            .unwrap_or_else(PoisonError::into_inner);

        let Some(node) = zone.get(name) else {
            // A name with records below it exists (an empty non-terminal,
            // for example "_tcp.example.com."), so it gets NOERROR.
            let has_children = zone.keys().any(|stored| name.zone_of(stored));
            let code = if has_children {
                ResponseCode::NoError
            } else {
                ResponseCode::NXDomain
            };
            return Answer {
                code,
                answers: Vec::new(),
                additionals: Vec::new(),
            };
        };

        let mut answers = Vec::new();
        let mut additionals = Vec::new();
        if matches!(record_type, RecordType::A | RecordType::ANY) {
            answers.extend(a_records(owner, &node.a));
        }
        if matches!(record_type, RecordType::SRV | RecordType::ANY) {
            for srv in &node.srv {
                let target = parse_name(&srv.target);
                let data = SRV::new(srv.priority, srv.weight, srv.port, Name::from(&target));
                answers.push(Record::from_rdata(owner.clone(), TTL, RData::SRV(data)));
                // Like most authoritative servers, add the target's
                // addresses so a resolver can skip one lookup.
                if let Some(target_node) = zone.get(&target) {
                    additionals.extend(a_records(&Name::from(&target), &target_node.a));
                }
            }
        }
        Answer {
            code: ResponseCode::NoError,
            answers,
            additionals,
        }
    }

    fn record_query(&self, name: &LowerName, record_type: RecordType, protocol: Protocol) {
        let transport = match protocol {
            Protocol::Udp => DnsTransport::Udp,
            _ => DnsTransport::Tcp,
        };
        let query = RecordedQuery {
            name: name.to_string(),
            record_type: record_type.to_string(),
            transport,
        };
        self.shared
            .queries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(query);
    }
}

fn a_records<'a>(owner: &'a Name, addresses: &'a [Ipv4Addr]) -> impl Iterator<Item = Record> + 'a {
    addresses
        .iter()
        .map(|ip| Record::from_rdata(owner.clone(), TTL, RData::A(A(*ip))))
}

/// The SOA record sent in the authority section of negative answers, so
/// resolvers can apply RFC 2308 negative caching (here: none, minimum 0).
fn negative_soa() -> Record {
    let server = Name::from_ascii("ns.testworld.invalid.").unwrap_or_else(|_| Name::root());
    let mailbox =
        Name::from_ascii("hostmaster.testworld.invalid.").unwrap_or_else(|_| Name::root());
    let soa = SOA::new(server, mailbox, 1, 3600, 600, 86400, TTL);
    Record::from_rdata(Name::root(), TTL, RData::SOA(soa))
}

#[async_trait::async_trait]
impl RequestHandler for ZoneHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = true;
        metadata.recursion_available = false;

        // RFC 6891: a response to a query with an OPT record carries one too.
        let response_edns = request.edns.as_ref().map(|_| {
            let mut edns = Edns::new();
            edns.set_max_payload(request.max_payload());
            edns
        });
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(edns) = &response_edns {
            builder.edns(edns);
        }

        let answer = match request.queries.queries() {
            _ if request.metadata.op_code != OpCode::Query => Answer {
                code: ResponseCode::NotImp,
                answers: Vec::new(),
                additionals: Vec::new(),
            },
            [query] => {
                self.record_query(query.name(), query.query_type(), request.protocol());
                self.lookup(query.name(), query.original().name(), query.query_type())
            }
            _ => Answer {
                code: ResponseCode::FormErr,
                answers: Vec::new(),
                additionals: Vec::new(),
            },
        };

        metadata.response_code = answer.code;
        let negative = matches!(answer.code, ResponseCode::NoError | ResponseCode::NXDomain);
        let soa = if negative && answer.answers.is_empty() {
            vec![negative_soa()]
        } else {
            Vec::new()
        };
        let response = builder.build(
            metadata,
            answer.answers.iter(),
            std::iter::empty(),
            soa.iter(),
            answer.additionals.iter(),
        );

        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(error) => {
                tracing::warn!(%error, src = %request.src(), "failed to send DNS response");
                metadata.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata,
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}
