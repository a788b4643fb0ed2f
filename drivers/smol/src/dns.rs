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
use autodiscover_driver::nameserver::check_nameserver;
use autodiscover_driver::Error;
use hickory_resolver::error::ResolveErrorKind;

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
    fn names_become_absolute() {
        assert_eq!(absolute("example.com"), "example.com.");
        assert_eq!(absolute("example.com."), "example.com.");
        assert_eq!(absolute("127.0.0.1"), "127.0.0.1");
    }
}
