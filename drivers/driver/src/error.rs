//! The error type of both drivers.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// An error building a driver's `Client` or running a discovery.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The discovery ran and failed, or the request was invalid (an email address that cannot
    /// start a discovery, an unknown setting name). The core's error carries the trace of
    /// every attempt.
    #[error(transparent)]
    Discovery(#[from] autodiscover::Error),

    /// A credential contains characters that cannot be sent in an HTTP header. The message
    /// names the field and the problem but never contains the value.
    #[error("invalid {field}: {reason}")]
    InvalidCredentials {
        /// The field: `Basic user name`, `Basic password` or `bearer token`.
        field: &'static str,
        /// The problem with the value and its fix.
        reason: &'static str,
    },

    /// The CA file could not be read.
    #[error("failed to read CA file {}: {source}; pass a readable PEM file to Options::ca_file", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// The error from the operating system.
        source: io::Error,
    },

    /// The CA file is not PEM, or one of its certificates is not usable as a root.
    #[error("invalid CA file {}: {reason}; pass a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)", path.display())]
    InvalidCaFile {
        /// The file.
        path: PathBuf,
        /// The reason it is invalid.
        reason: String,
    },

    /// No root certificate is trusted at all.
    #[error("no trusted root certificates: {reason}; choose Roots::WebPki or add a CA file with Options::ca_file")]
    NoRoots {
        /// The reason the root store is empty.
        reason: String,
    },

    /// The TLS client could not be configured.
    #[error("failed to configure TLS: {0}")]
    Tls(String),

    /// The nameserver address cannot be queried.
    #[error("invalid nameserver {addr}: {reason}; pass an address such as 192.0.2.53:53 to Options::nameserver")]
    InvalidNameserver {
        /// The address as given.
        addr: SocketAddr,
        /// The reason it is invalid.
        reason: &'static str,
    },

    /// A nameserver given as text did not parse.
    #[error("invalid nameserver {text:?}: expected an IP address with an optional port, such as 192.0.2.53 or [2001:db8::53]:5353")]
    NameserverSyntax {
        /// The text as given.
        text: String,
    },

    /// The system's DNS configuration could not be read.
    #[error("failed to read the system DNS configuration: {reason}; pass a nameserver with Options::nameserver")]
    SystemDns {
        /// The resolver's error.
        reason: String,
    },

    /// The default cache file has no location.
    #[error("failed to open the default cache: {reason}; choose CacheChoice::File with a path, CacheChoice::Memory or CacheChoice::None")]
    Cache {
        /// The cache crate's error.
        reason: String,
    },

    /// The transcript could not be written.
    #[error("failed to write the transcript to {}: {source}; check that its directory exists and is writable", path.display())]
    Recording {
        /// The file.
        path: PathBuf,
        /// The error from the operating system.
        source: io::Error,
    },
}

impl Error {
    /// Returns the core's error when the discovery itself failed.
    pub fn discovery(&self) -> Option<&autodiscover::Error> {
        match self {
            Error::Discovery(error) => Some(error),
            _ => None,
        }
    }
}
