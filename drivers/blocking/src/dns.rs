//! A stub resolver: SRV, A and AAAA queries to configured nameservers over UDP, repeated over
//! TCP when the UDP answer is truncated. Messages are encoded and decoded by `hickory-proto`;
//! the system configuration comes from `/etc/resolv.conf` through the `resolv-conf` crate.
//!
//! Queries carry no EDNS record, so UDP answers stop at 512 bytes (RFC 1035 section 4.2.1) and
//! larger ones come back truncated and are fetched again over TCP, as glibc does by default.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use autodiscover::{DnsError, SrvRecord};
use autodiscover_driver::nameserver::{check_nameserver, DNS_PORT};
use autodiscover_driver::{normalize_host, Error};
use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tracing::{debug, trace, warn};

use crate::worker::Cancel;

/// Path of the system's resolver configuration.
pub(crate) const RESOLV_CONF_PATH: &str = "/etc/resolv.conf";

/// Time to wait for one response from one nameserver, unless `resolv.conf` sets `timeout`. This
/// is glibc's default (`RES_TIMEOUT`, 5 seconds).
const DEFAULT_TRY_TIMEOUT: Duration = Duration::from_secs(5);

/// Rounds over the nameserver list, unless `resolv.conf` sets `attempts`. This is glibc's
/// default (`RES_DFLRETRY`, 2).
const DEFAULT_ATTEMPTS: u32 = 2;

/// Largest UDP datagram read. Answers without EDNS are at most 512 bytes, but a server that
/// ignores that limit gets read whole instead of failing to parse.
const UDP_BUFFER_BYTES: usize = 4096;

/// The addresses that a discovery's DNS A actions found, by host, so that connecting to a
/// host the core has just checked needs no second lookup.
#[derive(Debug, Default)]
pub(crate) struct KnownAddresses(Mutex<BTreeMap<String, Vec<IpAddr>>>);

impl KnownAddresses {
    /// Stores the addresses of `host`, replacing earlier ones.
    pub(crate) fn insert(&self, host: &str, addresses: &[IpAddr]) {
        self.lock().insert(normalize_host(host), addresses.to_vec());
    }

    /// Returns the addresses stored for `host`.
    pub(crate) fn get(&self, host: &str) -> Option<Vec<IpAddr>> {
        self.lock().get(&normalize_host(host)).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<IpAddr>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The nameservers to ask and how patiently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolver {
    nameservers: Vec<SocketAddr>,
    try_timeout: Duration,
    attempts: u32,
    tcp_only: bool,
}

impl Resolver {
    /// Creates a resolver that queries only `nameserver`.
    pub(crate) fn with_nameserver(nameserver: SocketAddr) -> Result<Self, Error> {
        check_nameserver(nameserver)?;
        Ok(Self {
            nameservers: vec![nameserver],
            try_timeout: DEFAULT_TRY_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
            tcp_only: false,
        })
    }

    /// Creates a resolver from the system's `/etc/resolv.conf`.
    pub(crate) fn system() -> Result<Self, Error> {
        let text = std::fs::read(RESOLV_CONF_PATH).map_err(|error| Error::SystemDns {
            reason: format!("failed to read {RESOLV_CONF_PATH}: {error}"),
        })?;
        Ok(Self::from_resolv_conf(&text))
    }

    /// Creates a resolver from the text of a `resolv.conf` file. Lines that do not parse are
    /// skipped with a warning, as the C library skips them. Without a `nameserver` line the
    /// local host is queried, as glibc does.
    pub(crate) fn from_resolv_conf(text: &[u8]) -> Self {
        let (config, errors) = resolv_conf::Config::parse_with_errors(text);
        for error in &errors {
            warn!(%error, path = RESOLV_CONF_PATH, "skipping a resolver configuration line");
        }
        let nameservers = config
            .get_nameservers_or_local()
            .iter()
            .map(|ip| SocketAddr::new(IpAddr::from(ip), DNS_PORT))
            .collect();
        // NOTE: an IPv6 nameserver's zone (`fe80::1%eth0`) is dropped, so a link-local
        // nameserver is unreachable; glibc would resolve the interface name.
        Self {
            nameservers,
            try_timeout: Duration::from_secs(u64::from(config.timeout.max(1))),
            attempts: config.attempts.max(1),
            tcp_only: config.use_vc,
        }
    }

    /// Looks up the SRV records of `name`, in the order the nameserver returned them.
    pub(crate) fn lookup_srv(
        &self,
        name: &str,
        deadline: Instant,
        cancel: &Arc<Cancel>,
    ) -> Result<Vec<SrvRecord>, DnsError> {
        let response = self.query(name, RecordType::SRV, deadline, cancel)?;
        let records: Vec<SrvRecord> = response
            .answers
            .iter()
            .filter_map(|record| match &record.data {
                RData::SRV(srv) => Some(SrvRecord {
                    priority: srv.priority,
                    weight: srv.weight,
                    port: srv.port,
                    target: srv.target.to_ascii(),
                }),
                _ => None,
            })
            .collect();
        if records.is_empty() {
            return Err(DnsError::NoRecords);
        }
        Ok(records)
    }

    /// Looks up the addresses of `host`: IPv4 first, and IPv6 only when there is no IPv4
    /// address, as the default `Ipv4thenIpv6` strategy of hickory-resolver 0.24 (the smol
    /// driver's resolver) does.
    ///
    /// Unlike hickory, NXDOMAIN for A ends the lookup, because a name that does not exist has
    /// no records of any type (RFC 8020). When neither query returns an address, the A error
    /// is returned, because some resolvers and servers fail or drop AAAA queries, and such a
    /// failure does not mean the host is missing.
    pub(crate) fn lookup_ip(
        &self,
        host: &str,
        deadline: Instant,
        cancel: &Arc<Cancel>,
    ) -> Result<Vec<IpAddr>, DnsError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let v4_error = match self.addresses(host, RecordType::A, deadline, cancel) {
            Ok(addresses) => return Ok(addresses),
            Err(DnsError::NoSuchName) => return Err(DnsError::NoSuchName),
            Err(error) => error,
        };
        self.addresses(host, RecordType::AAAA, deadline, cancel)
            .map_err(|_| v4_error)
    }

    /// Returns the addresses of one record type, or an error when there are none.
    fn addresses(
        &self,
        host: &str,
        record_type: RecordType,
        deadline: Instant,
        cancel: &Arc<Cancel>,
    ) -> Result<Vec<IpAddr>, DnsError> {
        let response = self.query(host, record_type, deadline, cancel)?;
        let addresses: Vec<IpAddr> = response
            .answers
            .iter()
            .filter_map(|record| match &record.data {
                RData::A(a) if record_type == RecordType::A => Some(IpAddr::V4(a.0)),
                RData::AAAA(aaaa) if record_type == RecordType::AAAA => Some(IpAddr::V6(aaaa.0)),
                _ => None,
            })
            .collect();
        if addresses.is_empty() {
            return Err(DnsError::NoRecords);
        }
        Ok(addresses)
    }

    /// Asks the nameservers in turn, `attempts` rounds, until one gives a definite answer
    /// (NOERROR or NXDOMAIN) or `deadline` passes.
    ///
    /// Returns the answer message for NOERROR, and [`DnsError::NoSuchName`] for NXDOMAIN.
    fn query(
        &self,
        name: &str,
        record_type: RecordType,
        deadline: Instant,
        cancel: &Arc<Cancel>,
    ) -> Result<Message, DnsError> {
        let mut qname = Name::from_ascii(name)
            .map_err(|error| DnsError::Failed(format!("invalid name {name:?}: {error}")))?;
        qname.set_fqdn(true);
        let mut request = Message::query();
        request.add_query(Query::query(qname.clone(), record_type));
        request.metadata.recursion_desired = true;
        let bytes = request
            .to_vec()
            .map_err(|error| DnsError::Failed(format!("failed to encode the query: {error}")))?;
        let question = Question {
            id: request.metadata.id,
            name: qname,
            record_type,
        };

        let mut last_failure = None;
        for _ in 0..self.attempts {
            for &nameserver in &self.nameservers {
                if cancel.is_cancelled() {
                    return Err(DnsError::Failed("the discovery ended".to_owned()));
                }
                let now = Instant::now();
                if now >= deadline {
                    return Err(DnsError::Timeout);
                }
                let try_deadline = now + self.try_timeout.min(deadline - now);

                let result = if self.tcp_only {
                    exchange_tcp(nameserver, &bytes, &question, try_deadline, cancel)
                } else {
                    match exchange_udp(nameserver, &bytes, &question, try_deadline) {
                        Ok(response) if response.metadata.truncation => {
                            trace!(%nameserver, name, "truncated UDP response; querying again over TCP");
                            let now = Instant::now();
                            let tcp_deadline = now
                                + self
                                    .try_timeout
                                    .min(deadline.saturating_duration_since(now));
                            exchange_tcp(nameserver, &bytes, &question, tcp_deadline, cancel)
                        }
                        other => other,
                    }
                };

                match result {
                    Ok(response) => match response.metadata.response_code {
                        ResponseCode::NoError => return Ok(response),
                        ResponseCode::NXDomain => return Err(DnsError::NoSuchName),
                        code => {
                            debug!(%nameserver, name, %code, "nameserver failed the query");
                            last_failure = Some(DnsError::Failed(format!(
                                "nameserver {nameserver} returned {code}"
                            )));
                        }
                    },
                    Err(Exchange::TimedOut) => {
                        debug!(%nameserver, name, "nameserver did not respond in time");
                    }
                    Err(Exchange::Failed(reason)) => {
                        debug!(%nameserver, name, %reason, "query failed");
                        last_failure = Some(DnsError::Failed(format!(
                            "nameserver {nameserver}: {reason}"
                        )));
                    }
                }
            }
        }
        Err(last_failure.unwrap_or(DnsError::Timeout))
    }
}

/// The id and question of a query, which its response must match.
struct Question {
    id: u16,
    name: Name,
    record_type: RecordType,
}

impl Question {
    /// Returns whether `response` answers this question. Anything else on the socket (a late
    /// answer to an earlier try, or a forgery) is ignored.
    fn is_answered_by(&self, response: &Message) -> bool {
        response.metadata.id == self.id
            && response.metadata.message_type == MessageType::Response
            && response.queries.len() == 1
            && response.queries[0].query_type() == self.record_type
            && *response.queries[0].name() == self.name
    }
}

/// The failure of one exchange with one nameserver.
enum Exchange {
    TimedOut,
    Failed(String),
}

impl From<io::Error> for Exchange {
    fn from(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Exchange::TimedOut,
            _ => Exchange::Failed(error.to_string()),
        }
    }
}

fn exchange_udp(
    nameserver: SocketAddr,
    query: &[u8],
    question: &Question,
    deadline: Instant,
) -> Result<Message, Exchange> {
    let local: SocketAddr = match nameserver {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)?;
    // A connected socket receives only from the nameserver, and reports an ICMP
    // port-unreachable as an error instead of a timeout.
    socket.connect(nameserver)?;
    socket.send(query)?;

    let mut buffer = vec![0u8; UDP_BUFFER_BYTES];
    loop {
        socket.set_read_timeout(Some(remaining(deadline)?))?;
        let length = socket.recv(&mut buffer)?;
        match Message::from_vec(&buffer[..length]) {
            Ok(response) if question.is_answered_by(&response) => return Ok(response),
            Ok(_) => trace!(%nameserver, "ignoring a UDP response to another query"),
            Err(error) => trace!(%nameserver, %error, "ignoring an undecodable UDP response"),
        }
    }
}

fn exchange_tcp(
    nameserver: SocketAddr,
    query: &[u8],
    question: &Question,
    deadline: Instant,
    cancel: &Arc<Cancel>,
) -> Result<Message, Exchange> {
    let mut stream = TcpStream::connect_timeout(&nameserver, remaining(deadline)?)?;
    let _registration = cancel.register(&stream)?;
    let length = u16::try_from(query.len())
        .map_err(|_| Exchange::Failed("the query is longer than 65535 bytes".to_owned()))?;

    stream.set_write_timeout(Some(remaining(deadline)?))?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed)?;

    let mut prefix = [0u8; 2];
    read_exact_by(&mut stream, &mut prefix, deadline)?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    read_exact_by(&mut stream, &mut answer, deadline)?;

    let response = Message::from_vec(&answer)
        .map_err(|error| Exchange::Failed(format!("undecodable TCP answer: {error}")))?;
    if !question.is_answered_by(&response) {
        return Err(Exchange::Failed(
            "the TCP answer does not match the query".to_owned(),
        ));
    }
    Ok(response)
}

/// Fills `buffer`, with the read timeout renewed to the time left before `deadline`.
fn read_exact_by(
    stream: &mut TcpStream,
    buffer: &mut [u8],
    deadline: Instant,
) -> Result<(), Exchange> {
    let mut filled = 0;
    while filled < buffer.len() {
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        match stream.read(&mut buffer[filled..]) {
            Ok(0) => {
                return Err(Exchange::Failed(
                    "the nameserver closed the TCP connection mid-answer".to_owned(),
                ))
            }
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// Returns the time left before `deadline`, or a timeout once it has passed. A zero timeout
/// would mean "wait forever" to the socket calls, so it never comes out of here.
fn remaining(deadline: Instant) -> Result<Duration, Exchange> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(Exchange::TimedOut)
    } else {
        Ok(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_nameservers_and_options() {
        let resolver = Resolver::from_resolv_conf(
            b"# comment\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions timeout:2 attempts:3 use-vc\n",
        );
        assert_eq!(
            resolver.nameservers,
            [
                "192.0.2.53:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::53]:53".parse::<SocketAddr>().unwrap(),
            ]
        );
        assert_eq!(resolver.try_timeout, Duration::from_secs(2));
        assert_eq!(resolver.attempts, 3);
        assert!(resolver.tcp_only);
    }

    #[test]
    fn resolv_conf_without_nameserver_asks_local_host() {
        let resolver = Resolver::from_resolv_conf(b"search example.com\n");
        assert_eq!(resolver.nameservers[0], "127.0.0.1:53".parse().unwrap());
        assert_eq!(resolver.try_timeout, DEFAULT_TRY_TIMEOUT);
        assert_eq!(resolver.attempts, DEFAULT_ATTEMPTS);
    }

    #[test]
    fn resolv_conf_skips_bad_lines() {
        let resolver = Resolver::from_resolv_conf(b"nameserver not-an-ip\nnameserver 192.0.2.1\n");
        assert_eq!(resolver.nameservers, ["192.0.2.1:53".parse().unwrap()]);
    }

    #[test]
    fn nameserver_port_zero_is_invalid() {
        let error = Resolver::with_nameserver("127.0.0.1:0".parse().unwrap()).unwrap_err();
        assert!(matches!(error, Error::InvalidNameserver { .. }), "{error}");
    }

    #[test]
    fn ip_literal_needs_no_query() {
        let resolver = Resolver::with_nameserver("127.0.0.1:9".parse().unwrap()).unwrap();
        let cancel = Arc::new(Cancel::default());
        let deadline = Instant::now() + Duration::from_secs(1);
        let addresses = resolver.lookup_ip("127.0.0.7", deadline, &cancel).unwrap();
        assert_eq!(addresses, ["127.0.0.7".parse::<IpAddr>().unwrap()]);
    }
}
