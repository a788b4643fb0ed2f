//! DNS through hickory's async-std resolver: the SRV and address lookups the core emits, and
//! the address lookup before each connection.

use std::net::{IpAddr, SocketAddr};

use async_std_resolver::config::{
    NameServerConfig, NameServerConfigGroup, Protocol, ResolverConfig, ResolverOpts,
};
use async_std_resolver::proto::error::ProtoErrorKind;
use async_std_resolver::proto::op::ResponseCode;
use async_std_resolver::{AsyncStdResolver, ResolveError};
use autodiscover::{DnsError, SrvRecord};
use hickory_resolver::error::ResolveErrorKind;

use crate::error::Error;

/// Builds the resolver: one nameserver over UDP and TCP when `nameserver` is given, else the
/// system's configuration (`/etc/resolv.conf` on Unix).
///
/// With a given nameserver the hosts file is not read either, so that every record comes from
/// that server.
pub(crate) fn resolver(nameserver: Option<SocketAddr>) -> Result<AsyncStdResolver, Error> {
    let Some(addr) = nameserver else {
        return AsyncStdResolver::from_system_conf(Default::default()).map_err(|error| {
            Error::SystemDns {
                reason: error.to_string(),
            }
        });
    };
    check_nameserver(addr)?;

    let mut group = NameServerConfigGroup::with_capacity(2);
    for protocol in [Protocol::Udp, Protocol::Tcp] {
        let mut server = NameServerConfig::new(addr, protocol);
        // A single configured server is the authority the caller chose, so its NXDOMAIN is
        // final rather than a reason to ask another server.
        server.trust_negative_responses = true;
        group.push(server);
    }
    let config = ResolverConfig::from_parts(None, Vec::new(), group);
    let mut options = ResolverOpts::default();
    options.use_hosts_file = false;
    Ok(AsyncStdResolver::new(config, options, Default::default()))
}

/// Rejects addresses no DNS server can listen on.
fn check_nameserver(addr: SocketAddr) -> Result<(), Error> {
    let reason = if addr.port() == 0 {
        "port 0 is not a valid destination port"
    } else if addr.ip().is_unspecified() {
        "the unspecified address is not a server"
    } else if addr.ip().is_multicast() {
        "a multicast address is not a server"
    } else {
        return Ok(());
    };
    Err(Error::InvalidNameserver { addr, reason })
}

/// Parses a nameserver given as text: an IP address with an optional port (53 by default),
/// such as `192.0.2.53`, `192.0.2.53:5353`, `2001:db8::53` or `[2001:db8::53]:5353`.
///
/// # Errors
/// [`Error::NameserverSyntax`] naming the text, or [`Error::InvalidNameserver`] for an address
/// no server can have.
pub fn parse_nameserver(text: &str) -> Result<SocketAddr, Error> {
    let trimmed = text.trim();
    let addr = match trimmed.parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => match trimmed.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, 53),
            Err(_) => {
                return Err(Error::NameserverSyntax {
                    text: text.to_owned(),
                })
            }
        },
    };
    check_nameserver(addr)?;
    Ok(addr)
}

/// Returns `name` as a fully qualified name, so that no search domain is appended to it.
fn absolute(name: &str) -> String {
    if name.ends_with('.') || name.parse::<IpAddr>().is_ok() {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

/// Looks up the A and AAAA records of `host`.
pub(crate) async fn lookup_addresses(
    resolver: &AsyncStdResolver,
    host: &str,
) -> Result<Vec<IpAddr>, DnsError> {
    let lookup = resolver
        .lookup_ip(absolute(host))
        .await
        .map_err(|error| dns_error(&error))?;
    Ok(lookup.iter().collect())
}

/// Looks up the SRV records of `name`, in the order the server returned them.
pub(crate) async fn lookup_srv(
    resolver: &AsyncStdResolver,
    name: &str,
) -> Result<Vec<SrvRecord>, DnsError> {
    let lookup = resolver
        .srv_lookup(absolute(name))
        .await
        .map_err(|error| dns_error(&error))?;
    Ok(lookup
        .iter()
        .map(|srv| SrvRecord {
            priority: srv.priority(),
            weight: srv.weight(),
            port: srv.port(),
            target: srv.target().to_ascii(),
        })
        .collect())
}

/// Maps hickory's error to the core's: NXDOMAIN is `NoSuchName`, an empty NOERROR response is
/// `NoRecords`, a timeout is `Timeout`, and anything else is `Failed` with hickory's text.
fn dns_error(error: &ResolveError) -> DnsError {
    match error.kind() {
        ResolveErrorKind::NoRecordsFound { response_code, .. } => match *response_code {
            ResponseCode::NXDomain => DnsError::NoSuchName,
            ResponseCode::NoError => DnsError::NoRecords,
            code => DnsError::Failed(format!("the nameserver returned {code}")),
        },
        ResolveErrorKind::Timeout => DnsError::Timeout,
        ResolveErrorKind::Proto(proto) if matches!(proto.kind(), ProtoErrorKind::Timeout) => {
            DnsError::Timeout
        }
        _ => DnsError::Failed(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameserver_text_forms() {
        assert_eq!(
            parse_nameserver("192.0.2.53").unwrap(),
            "192.0.2.53:53".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_nameserver("[2001:db8::53]:5353").unwrap(),
            "[2001:db8::53]:5353".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(parse_nameserver("2001:db8::53").unwrap().port(), 53);
    }

    #[test]
    fn nameserver_errors_name_the_value() {
        let message = parse_nameserver("dns.example.com").unwrap_err().to_string();
        assert!(message.contains("dns.example.com"), "{message}");

        let message = parse_nameserver("0.0.0.0:53").unwrap_err().to_string();
        assert!(message.contains("0.0.0.0:53"), "{message}");
        assert!(message.contains("unspecified"), "{message}");

        assert!(parse_nameserver("127.0.0.1:0").is_err());
    }

    #[test]
    fn names_become_absolute() {
        assert_eq!(absolute("example.com"), "example.com.");
        assert_eq!(absolute("example.com."), "example.com.");
        assert_eq!(absolute("127.0.0.1"), "127.0.0.1");
    }
}
