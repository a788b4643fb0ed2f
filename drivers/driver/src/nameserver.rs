//! Parsing and checking the nameserver a caller passes in place of the system's.

use std::net::{IpAddr, SocketAddr};

use crate::error::Error;

/// Port of DNS over UDP and TCP.
pub const DNS_PORT: u16 = 53;

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
            Ok(ip) => SocketAddr::new(ip, DNS_PORT),
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

/// Rejects addresses that no DNS server can listen on.
///
/// # Errors
/// [`Error::InvalidNameserver`] for port 0, the unspecified address or a multicast address.
pub fn check_nameserver(addr: SocketAddr) -> Result<(), Error> {
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
            parse_nameserver(" [2001:db8::53]:5353 ").unwrap(),
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
    }

    #[test]
    fn nameserver_unusable_addresses() {
        for text in ["127.0.0.1:0", "[::]:53", "224.0.0.251:5353"] {
            let error = parse_nameserver(text).unwrap_err();
            assert!(
                matches!(error, Error::InvalidNameserver { .. }),
                "{text}: {error}"
            );
        }
    }
}
