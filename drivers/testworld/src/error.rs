use std::io;
use std::net::{IpAddr, SocketAddr};

/// Errors raised while setting up the test world.
///
/// Servers that are already running never return errors to the test. They
/// log a failure on a connection with `tracing` and drop that connection.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket could not be bound or configured.
    #[error("failed to bind the {socket} socket on {addr}: {source}")]
    Bind {
        /// Role of the socket that failed, for example "DNS over UDP".
        socket: &'static str,
        /// The address that was requested.
        addr: SocketAddr,
        /// The error from the operating system.
        source: io::Error,
    },

    /// A server was asked to bind an address outside 127.0.0.0/8.
    #[error("{0} is not an IPv4 loopback address; the test world binds only 127.0.0.0/8")]
    NotLoopback(IpAddr),

    /// The background thread of a server could not be started.
    #[error("failed to start the {server} server thread: {source}")]
    Thread {
        /// The server whose thread failed, for example "DNS".
        server: &'static str,
        /// The error from the operating system or the runtime.
        source: io::Error,
    },

    /// rcgen failed to generate a key or certificate.
    #[error("failed to generate a test certificate: {0}")]
    Certificate(#[from] rcgen::Error),

    /// rustls rejected the TLS server configuration.
    #[error("failed to build the TLS server configuration: {0}")]
    Tls(#[from] rustls::Error),

    /// The CA certificate could not be written to a temporary file.
    #[error("failed to write the CA certificate file: {0}")]
    CaFile(io::Error),
}
